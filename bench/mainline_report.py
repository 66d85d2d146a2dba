#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Tables of the mainline side by side (issue 19), for
results/reports/mainline-<date>/:

    bench/mainline_report.py --run mainline=results/<run> --run series=results/<run> \\
        --functime FILE.jsonl --series-build build/kernel-qemu \\
        --mainline-build build/kernel-mainline -o DIR

- suite.md: per job (board) of each run, pass/fail/skip counts, the mode
  check's verdict and detail, the failed tests, and every distinct skip
  reason (what the kernel lacks);
- tlb.md, tlb.json (--tlb LABEL=results/<run>[:JOB], once per boot to
  compare): the TLB model's linear-map walks per operation of the chase
  and the pread at the working sets every boot has, per preset, and each
  page-mapped boot's knee (bench/tlbpage.py's, on those sets); modelled
  (QEMU TCG + tlbmodel <preset>), never measured;
- cost.md, cost.json, cost.svg: per MiB the guest instructions (all vCPUs,
  -icount shift=0, bench/functime.py) while the boot CPU is inside the
  repaint and inside the linear map's build, for each kernel, the series /
  mainline ratios, and the series' own repaint_ns next to its count.
Everything here is QEMU emulation: instruction counts, not hardware time.
"""
import argparse
import json
import re
import statistics
from pathlib import Path

LABEL = "QEMU 7.2 TCG, -icount shift=0: guest instructions (all vCPUs), not hardware time"


def program_skips(console):
    """{program: reason} of the kselftest programs that skipped as a whole
    ("# selftests: arm64/bbml2: P" then "# 1..0 # SKIP reason")."""
    out, prog = {}, None
    try:
        text = Path(console).read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"# selftests: arm64/bbml2: (\w+)$", line)
        if m:
            prog = m[1]
            continue
        m = re.match(r"# 1\.\.0 # SKIP (.*)$", line)
        if m and prog:
            out[prog] = m[1].strip()
    return out


def suite_table(name, run):
    run = Path(run)
    out = [f"### {name}: `{run.name}`", "",
           "| job | board | pass | fail | skip | mode check | failed |", "|---|---|---|---|---|---|---|"]
    skips = {}
    for jd in sorted((run / "jobs").iterdir()):
        try:
            res = json.loads((jd / "results.json").read_text())
            meta = json.loads((jd / "metadata.json").read_text())
        except (OSError, ValueError):
            out.append(f"| {jd.name} | ? | | | | no results | |")
            continue
        if isinstance(res, dict):
            res = res.get("results", [])
        n = {k: sum(r["result"] == k for r in res) for k in ("pass", "fail", "skip", "error")}
        mc = [r for r in res if r["name"].endswith("kernel.mode_matches_board")]
        mcs = "-"
        if mc:
            exp = re.search(r"expected (\w+) \(bbml2=(\w+)", mc[0].get("detail", ""))
            how = re.search(r"(\S+) checked the map from (ptdump[^:]*)", mc[0].get("detail", ""))
            mcs = mc[0]["result"] + (f": expected {exp[1]} (class {exp[2]})" if exp else "") + \
                (f", the guest's {how[1]} passed" if how else "")
        reasons = program_skips(jd / "console.log")
        failed = ", ".join(r["name"] for r in res if r["result"] in ("fail", "error"))
        board = (meta.get("spec") or {}).get("board", "?")
        out.append(f"| {jd.name} | {board} | {n['pass']} | {n['fail'] + n['error']} | {n['skip']} "
                   f"| {mcs.replace('|', '/')} | {failed or '-'} |")
        for r in res:
            if r["result"] == "skip" and not r["name"].endswith("mode_matches_board"):
                prog = r["name"].split("_bbml2_")[-1].split(".")[0]
                why = (r.get("detail") or "").strip() or reasons.get(prog, "(no reason given)")
                skips.setdefault(why, set()).add(r["name"].split(".")[1] if "." in r["name"]
                                                 else r["name"])
    out += ["", f"Skip reasons in {name} ({len(skips)} distinct):", ""]
    for why, names in sorted(skips.items()):
        out.append(f"- {why} ({len(names)}: {', '.join(sorted(names)[:6])}"
                   f"{', ...' if len(names) > 6 else ''})")
    return "\n".join(out) + "\n"


def cost(records, series_build, mainline_build):
    kern = {str(Path(series_build).resolve()): "series", str(Path(mainline_build).resolve()): "mainline"}
    rows = {}
    for r in records:
        k = kern.get(r["kernel"])
        if not k:
            continue
        row = rows.setdefault(r["mem_mb"], {})
        for fn, f in r["functions"].items():
            calls = [c["insns"] for c in f["calls"]]
            if calls:
                row.setdefault((k, fn), []).append(calls[0])
        if k == "series" and "repaint_ns" in r:
            row.setdefault(("series", "repaint_ns"), []).append(r["repaint_ns"])
    return rows


def med(v):
    return statistics.median(v) if v else None


def cost_tables(rows, fns):
    repaint, build = fns
    hdr = ["| MiB | mainline repaint | series repaint | series repaint_ns | count / repaint_ns | "
           "series / mainline (repaint) | mainline build | series build | series / mainline (build) |",
           "|---|---|---|---|---|---|---|---|---|"]
    out, js = list(hdr), []
    for mem in sorted(rows):
        row = rows[mem]
        mr, sr = med(row.get(("mainline", repaint))), med(row.get(("series", repaint)))
        ns = med(row.get(("series", "repaint_ns")))
        mb, sb = med(row.get(("mainline", build))), med(row.get(("series", build)))

        def f(x):
            return "-" if x is None else f"{x:,.0f}"

        def ratio(a, b):
            return "-" if a is None or not b else f"{a / b:.3f}"
        n = len(row.get(("mainline", repaint), [])) or len(row.get(("series", repaint), []))
        out.append(f"| {mem} | {f(mr)} | {f(sr)} | {f(ns)} | {ratio(sr, ns)} | {ratio(sr, mr)} "
                   f"| {f(mb)} | {f(sb)} | {ratio(sb, mb)} |")
        js.append({"mem_mb": mem, "boots": n, "mainline_repaint": mr, "series_repaint": sr,
                   "series_repaint_ns": ns, "mainline_build": mb, "series_build": sb,
                   "samples": {f"{k}:{fn}": v for (k, fn), v in row.items()}})
    return "\n".join(out) + "\n", js


def svg(js, fns):
    """A log-free line plot: instructions (millions) against MiB."""
    W, H, L, B = 640, 360, 70, 40
    series = [("mainline_repaint", "mainline repaint", "#d62728", ""),
              ("series_repaint", "series repaint", "#1f77b4", ""),
              ("mainline_build", f"mainline {fns[1]}", "#d62728", "6,4"),
              ("series_build", f"series {fns[1]}", "#1f77b4", "6,4")]
    pts = [(d["mem_mb"], d[k]) for d in js for k, *_ in series if d.get(k)]
    if not pts:
        return None
    xmax = max(p[0] for p in pts)
    ymax = max(p[1] for p in pts) / 1e6 * 1.1

    def X(x):
        return L + (W - L - 20) * x / xmax

    def Y(y):
        return H - B - (H - B - 30) * (y / 1e6) / ymax
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
         f'font-size="11"><rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="16">{LABEL}</text>',
         f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{L}" y1="30" x2="{L}" y2="{H - B}" stroke="black"/>',
         f'<text x="{W / 2}" y="{H - 8}">RAM (MiB)</text>',
         f'<text x="8" y="{H / 2}" transform="rotate(-90 12 {H / 2})">million instructions</text>']
    for d in js:
        s.append(f'<text x="{X(d["mem_mb"]) - 10}" y="{H - B + 14}">{d["mem_mb"]}</text>')
    for i in range(5):
        v = ymax * i / 4
        s.append(f'<text x="{L - 45}" y="{Y(v * 1e6) + 4}">{v:.1f}</text>')
    for n, (k, label, color, dash) in enumerate(series):
        p = [(X(d["mem_mb"]), Y(d[k])) for d in js if d.get(k)]
        if not p:
            continue
        s.append(f'<polyline fill="none" stroke="{color}" stroke-dasharray="{dash}" stroke-width="2" '
                 f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in p)}"/>')
        s.append(f'<text x="{L + 10}" y="{40 + 14 * n}" fill="{color}">{label}</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"


def tlb_boot(spec):
    """LABEL=RUN[:JOB] -> (label, the boot's bench/tlbpage.collect() record)."""
    import tlbpage
    label, _, rest = spec.rpartition("=")
    run, _, job = rest.partition(":")
    if not label or not run:
        raise SystemExit(f"--tlb {spec}: expected LABEL=results/<run>[:JOB]")
    try:
        meta = json.loads((Path(run) / "metadata.json").read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"--tlb {spec}: {e}") from None
    boots, problems = tlbpage.collect([{"dir": run, "id": Path(run).name, "meta": meta}])
    boots = [b for b in boots if not job or b["job"] == job]
    if problems or len(boots) != 1:
        raise SystemExit(f"--tlb {spec}: " + ("; ".join(problems) or
                                              f"{len(boots)} boots with a TLB model file "
                                              "(name one as :JOB)"))
    return label, boots[0]


def tlb_compare(specs):
    """Walks/op of the swept benchmarks per preset, one column per boot, at
    the working sets all of them have; knees of the page-mapped ones."""
    import page
    import tlbdata
    import tlbpage
    cols = [tlb_boot(s) for s in specs]
    curves = []
    for label, b in cols:
        data = tlbpage.analyse([b], page.ws_kib)
        c = {bench: {p: dict(next(iter(modes.values()))) for p, modes in per_p.items()}
             for bench, per_p in data["curves"].items()}
        um = data["unmodelled"][0]
        curves.append({"label": label, "run": b["run"], "job": b["job"], "board": b["board"],
                       "mode": b["mode"], "curves": c,
                       "windows": um["windows"], "invalid": um["invalid"],
                       "split_in_window": um["split_in_window"]})
    presets = cols[0][1]["header"]["presets"]
    out = [f"Every number here is {tlbdata.LABEL.format(preset='<preset>')}: linear-map walks "
           "per operation (one load per page in the chase, one 4 KiB pread in the pread).", "",
           "| column | run | boot | board, mode | windows (invalid, split inside) |",
           "|---|---|---|---|---|"]
    for c in curves:
        out.append(f"| {c['label']} | `{c['run']}` | {c['job']} | {c['board']}, {c['mode']} "
                   f"| {c['windows']} ({c['invalid']}, {c['split_in_window']}) |")
    js = {"label": tlbdata.LABEL, "columns": curves, "tables": {}, "knees": []}
    for bench in tlbpage.SWEPT:
        sizes = None
        for c in curves:
            have = set(k for p in c["curves"].get(bench, {}).values() for k in p)
            sizes = have if sizes is None else sizes & have
        sizes = sorted(sizes or ())
        if not sizes:
            continue
        for p in (p["name"] for p in presets):
            rows = [[k] + [c["curves"].get(bench, {}).get(p, {}).get(k) for c in curves]
                    for k in sizes]
            js["tables"][f"{bench} {p}"] = rows
            out += ["", f"### {bench}, linear-map walks/op, {tlbdata.LABEL.format(preset=p)}", "",
                    "| working set | " + " | ".join(c["label"] for c in curves) + " |",
                    "|---" * (len(curves) + 1) + "|"]
            for k, *vals in rows:
                size = f"{k // 1024} MiB" if k >= 1024 else f"{k} KiB"
                out.append(f"| {size} | " + " | ".join("–" if v is None else f"{v:.3f}"
                                                      for v in vals) + " |")
            for c, (label, b) in zip(curves, cols):
                pts = [(k, c["curves"].get(bench, {}).get(p, {}).get(k)) for k in sizes]
                k = tlbpage.knee(pts)
                pre = next(x for x in presets if x["name"] == p)
                js["knees"].append({"bench": bench, "preset": p, "column": label,
                                    "knee_kib": k, "reach_kib": tlbpage.reach_kib(pre)})
    out += ["", "### Knees (working set where walks/op reach half the value at the largest set, "
            "on the sets above; – where walks/op never rise), "
            + tlbdata.LABEL.format(preset="<preset>"), "",
            "| benchmark | preset | L2 reach | " + " | ".join(c["label"] for c in curves) + " |",
            "|---" * (len(curves) + 3) + "|"]
    for bench in tlbpage.SWEPT:
        for p in (p["name"] for p in presets):
            ks = [k for k in js["knees"] if k["bench"] == bench and k["preset"] == p]
            if not ks:
                continue
            out.append(f"| {bench} | {p} | {ks[0]['reach_kib'] / 1024:.0f} MiB | " +
                       " | ".join("–" if k["knee_kib"] is None else f"{k['knee_kib'] / 1024:.1f} MiB"
                                  for k in ks) + " |")
    return "\n".join(out) + "\n", js


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="append", default=[], help="NAME=results/<run>")
    ap.add_argument("--functime", action="append", default=[])
    ap.add_argument("--series-build", default="build/kernel-qemu")
    ap.add_argument("--mainline-build", default="build/kernel-mainline")
    ap.add_argument("--fn", action="append", help="repaint function, build function")
    ap.add_argument("--tlb", action="append", default=[],
                    help="LABEL=results/<run>[:JOB]: a TLB-model boot to compare (tlb.md)")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.run:
        (out / "suite.md").write_text("\n".join(suite_table(*r.split("=", 1)) for r in a.run))
    if a.tlb:
        text, js = tlb_compare(a.tlb)
        (out / "tlb.md").write_text(text)
        (out / "tlb.json").write_text(json.dumps(js, indent=1) + "\n")
    if a.functime:
        fns = a.fn or ["linear_map_split_to_ptes", "map_mem"]
        recs = [json.loads(line) for f in a.functime for line in Path(f).read_text().splitlines()
                if line.strip()]
        text, js = cost_tables(cost(recs, a.series_build, a.mainline_build), fns)
        (out / "cost.md").write_text(f"{LABEL}; medians over boots.\n\n{text}")
        (out / "cost.json").write_text(json.dumps({"label": LABEL, "functions": fns, "rows": js},
                                                  indent=1) + "\n")
        plot = svg(js, fns)
        if plot:
            (out / "cost.svg").write_text(plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
