#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The repaint against memset and against mainline, per RAM size (issue 21):

    bench/repaintcmp.py --series FT.jsonl --mainline FT.jsonl \\
        --sweep results/<icount bench-sweep run> [--sweep ...] -o DIR

--series and --mainline are bench/functime.py records of the two kernels on
the el2shim mixed board with no option (the only way upstream repaints),
counting linear_map_split_to_ptes() (the stop_machine() callback: the
window in both kernels; upstream also allocates and fills there). The
series' own boot line adds repaint_prep_ns, its preparation before the
window. The denominator is a memset() of the same table bytes: the
instructions per 4K page of linmap-cost's write_tables in the -icount
bench-sweep of the same series kernel (bench/ramsweep.py), times the
tables the series' repaint used at that size. Writes repaint-vs-mainline.md
and .json. Everything is QEMU 7.2 TCG under -icount shift=0: guest
instructions, not hardware time.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ramsweep  # noqa: E402
import report  # noqa: E402

FN = "linear_map_split_to_ptes"
LABEL = ("QEMU 7.2 TCG, -icount shift=0: guest instructions (all vCPUs), not hardware time; "
         "el2shim mixed board (Cortex-X4 r0p3 + 3 x A720), no option")
GOALS = {"window": 0.2, "whole": 2.0}


def load(path):
    recs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            raise SystemExit(f"repaintcmp: {path}:{n}: not a functime record ({e})")
    return recs


def by_mem(recs):
    """{MiB: {'window': median count, 'prep': median repaint_prep_ns,
    'tables': the repaint's tables, 'boots': n}} over boots that reached
    the no-root panic (a boot that did not is left out and counted)."""
    out, bad = {}, 0
    for r in recs:
        calls = ((r.get("functions") or {}).get(FN) or {}).get("calls") or []
        if not r.get("panic_no_root") or len(calls) != 1:
            bad += 1
            continue
        line = r.get("series_line") or {}
        d = out.setdefault(r["mem_mb"], {"window": [], "prep": [], "tables": []})
        d["window"].append(calls[0]["insns"])
        if str(line.get("repaint_prep_ns", "")).isdigit():
            d["prep"].append(int(line["repaint_prep_ns"]))
        if str(line.get("repaint_pte_tables", "")).isdigit():
            d["tables"].append(int(line["repaint_pte_tables"])
                               + int(line.get("repaint_pmd_tables") or 0))
    res = {}
    for mem, d in out.items():
        res[mem] = {"boots": len(d["window"]),
                    "window": statistics.median(d["window"]),
                    "window_range": [min(d["window"]), max(d["window"])],
                    "prep": statistics.median(d["prep"]) if d["prep"] else None,
                    "tables": statistics.median(d["tables"]) if d["tables"] else None}
    return res, bad


def memset_per_page(sweeps):
    """Median memset() instructions per 4K page (linmap-cost write_tables)
    over the -icount boots of the sweep runs, per MiB and overall."""
    ds = report.collect(sweeps)
    pts = [p for p in ramsweep.boot_points(ds)
           if p["clock"] == "icount" and p["write_ns_per_page"]]
    if not pts:
        raise SystemExit("repaintcmp: no -icount linmap-cost boot in " + ", ".join(sweeps))
    per = {}
    for p in pts:
        per.setdefault(p["mem_mb"], []).append(p["write_ns_per_page"])
    return ({m: statistics.median(v) for m, v in per.items()},
            statistics.median([p["write_ns_per_page"] for p in pts]))


def compare(series, mainline, memset, overall):
    rows = []
    for mem in sorted(series):
        s, m = series[mem], mainline.get(mem)
        per_page = memset.get(mem, overall)
        ms = per_page * s["tables"] if s["tables"] else None
        whole = s["window"] + s["prep"] if s["prep"] is not None else None
        row = {"mem_mb": mem, "boots": s["boots"], "tables": s["tables"],
               "memset_insns": ms, "memset_per_page": per_page,
               "window": s["window"], "window_range": s["window_range"], "prep": s["prep"],
               "whole": whole, "mainline": m["window"] if m else None,
               "mainline_boots": m["boots"] if m else 0}
        row["window_over_memset"] = s["window"] / ms if ms else None
        row["whole_over_memset"] = whole / ms if ms and whole is not None else None
        row["mainline_over_memset"] = row["mainline"] / ms if ms and m else None
        row["window_over_mainline"] = s["window"] / row["mainline"] if m else None
        row["whole_over_mainline"] = whole / row["mainline"] if m and whole else None
        rows.append(row)
    return rows


def _n(v):
    return "–" if v is None else f"{v:,.0f}".replace(",", " ")


def _r(v):
    return "–" if v is None else (f"{v:.2f}×" if v < 10 else f"{v:.1f}×")


def render(rows):
    out = [f"{LABEL}; medians over boots.", "",
           "| RAM | tables | memset of their bytes | series window | series preparation | "
           "series whole | window / memset | whole / memset | 7.3 repaint | 7.3 / memset | "
           "series whole / 7.3 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['mem_mb'] // 1024} GiB | {_n(r['tables'])} | {_n(r['memset_insns'])} | "
                   f"{_n(r['window'])} | {_n(r['prep'])} | {_n(r['whole'])} | "
                   f"{_r(r['window_over_memset'])} | {_r(r['whole_over_memset'])} | "
                   f"{_n(r['mainline'])} | {_r(r['mainline_over_memset'])} | "
                   f"{_r(r['whole_over_mainline'])} |")
    ok_w = all(r["window_over_memset"] is not None
               and r["window_over_memset"] <= GOALS["window"] for r in rows)
    ok_h = all(r["whole_over_memset"] is not None
               and r["whole_over_memset"] <= GOALS["whole"] for r in rows)
    below = all(r["mainline"] and r["whole"] and r["whole"] < r["mainline"] for r in rows)
    out += ["", f"Goal window <= {GOALS['window']}x memset: {'met' if ok_w else 'NOT met'} at "
            f"every size; whole <= {GOALS['whole']}x: {'met' if ok_h else 'NOT met'} at every "
            f"size; both below 7.3's repaint: {'yes' if below else 'no'}.", ""]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", required=True, action="append")
    ap.add_argument("--mainline", required=True, action="append")
    ap.add_argument("--sweep", required=True, action="append")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    series, sbad = by_mem([r for f in a.series for r in load(f)])
    mainline, mbad = by_mem([r for f in a.mainline for r in load(f)])
    if not series:
        raise SystemExit("repaintcmp: no series boot reached the no-root panic")
    memset, overall = memset_per_page(a.sweep)
    rows = compare(series, mainline, memset, overall)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    text = render(rows)
    if sbad or mbad:
        text += f"\nLeft out: {sbad} series and {mbad} mainline boots that did not end at the no-root panic.\n"
    (out / "repaint-vs-mainline.md").write_text(text)
    (out / "repaint-vs-mainline.json").write_text(json.dumps(
        {"label": LABEL, "function": FN, "goals": GOALS, "rows": rows}, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
