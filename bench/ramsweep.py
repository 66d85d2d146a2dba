# SPDX-License-Identifier: GPL-2.0
"""Cost of the linear-map modes against RAM (the bench-sweep runs).

From the linmap-cost object of every boot (bench/report.py collects them):
page-table bytes against the exact model (RAM/512 for 4K pages), MemTotal
and MemFree deltas reconciled with the tables the kernel reports, repaint
time, time to init, least-squares fits per mode with R^2, and the repaint
time against the same guest's memset() of the same number of table bytes
(linmap-cost's write_tables metric, same boot). Boots under -icount shift=0
are kept apart and labelled instruction time.
"""
import os
import re

import benchstats
from benchstats import median

GRANULE = 4096
SZ_2M = 2 << 20
RUN_INIT = re.compile(r"^\[\s*(\d+\.\d+)\] Run /init as init process", re.M)
MODE_ORDER = ["none", "off", "assume", "assume-repaint", "repaint"]
CLOCKS = {"tcg": "host time (QEMU TCG, shared host)",
          "icount": "instruction time (QEMU -icount shift=0: 1 ns per instruction, "
                    "not hardware time)"}


def clock_of(obj):
    """'icount' if the boot ran under -icount (sweep metadata or the
    rendered device), else 'tcg' for an emulated platform, else 'hw'."""
    opts = " ".join(((obj.get("order_record") or {}).get("qemu_options")) or [])
    if "-icount" in opts:
        return "icount"
    dev = os.path.join(os.path.dirname(obj["console"]), "device.yaml")
    try:
        with open(dev, encoding="utf-8") as f:
            if "-icount" in f.read():
                return "icount"
    except OSError:
        pass
    return "tcg" if obj["platform"].get("emulated") else "hw"


def init_seconds(console_path):
    """Kernel timestamp of 'Run /init as init process' (time to init), or None."""
    try:
        with open(console_path, encoding="utf-8", errors="replace") as f:
            m = RUN_INIT.search(f.read())
    except OSError:
        return None
    return float(m.group(1)) if m else None


def boot_points(ds):
    """One dict per boot with a linmap-cost object: mode, mem, clock and
    the facts the sweep needs."""
    boots = {b["boot"]: b for b in ds["boots"]}
    wt = {}
    for r in ds["records"]:
        if r["bench"] == "linmap-cost" and r["metric"] == "write_tables":
            wt.setdefault(r["boot"], []).append(r["ns_per_op"])
    out = []
    for o in ds["objects"]:
        if o["bench"] != "linmap-cost" or o["status"] != "ok":
            continue
        b = boots.get(o["boot"].split("#")[0], {})
        snap, lm = o["snapshot"], o["mode_proof"].get("linear_map") or {}
        pt = snap.get("ptdump") if isinstance(snap.get("ptdump"), dict) else {}
        ram_kb = snap.get("boot_total_kb")
        mem_mb = (b.get("spec") or {}).get("mem_mb") or (ram_kb // 1024 if ram_kb else None)
        mapmem = {k: v for k, v in lm.items() if "map_mem" in k}
        out.append({
            "boot": o["boot"], "run": o["run"], "mode": o["mode"], "mem_mb": mem_mb,
            "started": (b.get("run_started") or "", b.get("started") or "", o["boot"]),
            "clock": clock_of(dict(o, order_record=b.get("order_record"))),
            "ram_kb": ram_kb, "mem_total_kb": snap.get("mem_total_kb"),
            "mem_free_kb": snap.get("mem_free_kb"), "page_tables_kb": snap.get("page_tables_kb"),
            "pte_tables": pt.get("pte_tables") if pt.get("ok") else None,
            "pmd_tables": pt.get("pmd_tables") if pt.get("ok") else None,
            "bytes": pt.get("bytes") if pt.get("ok") else None,
            # linmap-cost records it; snapshots from before it did are 4K.
            "page_size": pt.get("page_size") or 4096,
            "repainted": lm.get("repainted"), "repaint_ns": lm.get("repaint_ns"),
            # the preparation before the window (kernels before it: None)
            "prep_ns": lm.get("repaint_prep_ns"),
            "stop_machine_ns": lm.get("repaint_stop_machine_ns"),
            "repaint_tables": ((lm.get("repaint_tables_pmd") or 0)
                               + (lm.get("repaint_tables_pte") or 0)),
            "write_ns_per_page": median(wt[o["boot"]]) if o["boot"] in wt else None,
            "init_s": init_seconds(o["console"]), "map_mem": mapmem or None,
            "map_mem_ns": mapmem.get("map_mem_ns")})
    return out


def _med(points, key):
    vals = [p[key] for p in points if isinstance(p.get(key), (int, float))]
    return median(vals) if vals else None


def _range(points, key):
    vals = [p[key] for p in points if isinstance(p.get(key), (int, float))]
    return [min(vals), max(vals)] if vals else None


def _spread(points, key):
    """(max - min) / median in %, over boots with a non-zero value."""
    vals = [p[key] for p in points if isinstance(p.get(key), (int, float)) and p[key]]
    if len(vals) < 2:
        return None
    return 100.0 * (max(vals) - min(vals)) / median(vals)


def _page_size(points):
    """The granule the boots of one group ran with (a table is one page),
    None if they differ: table sizes of mixed granules are not added up."""
    sizes = {p.get("page_size") or GRANULE for p in points}
    return sizes.pop() if len(sizes) == 1 else None


def model_check(p):
    """The exact model for one boot: one PTE table per PMD-size window
    (2M with 4K pages, 32M with 16K, 512M with 64K) when every window is
    PTE-mapped, less one per window mapped at a higher level (the kernel
    alias keeps its blocks). Returns (model tables, measured, residual)."""
    if not p["ram_kb"] or p["pte_tables"] is None or not p["bytes"]:
        return None
    ram = p["ram_kb"] * 1024
    ps = p.get("page_size") or 4096
    pmd = ps * (ps // 8) if ps != 4096 else SZ_2M
    above = sum(p["bytes"].get(k, 0) for k in ("pud", "cont_pmd", "pmd"))
    model = (ram - above) // pmd
    return {"ram_over_512_kb": ram // 512 // 1024, "model_pte_tables": model,
            "measured_pte_tables": p["pte_tables"], "residual": p["pte_tables"] - model,
            "above_pte_kb": above // 1024}


def fit(points, key, scale=1.0):
    """Least squares of key (scaled) against GiB over every boot."""
    xy = [(p["mem_mb"] / 1024, p[key] * scale) for p in points
          if p.get("mem_mb") and isinstance(p.get(key), (int, float))]
    if len({x for x, _ in xy}) < 2:
        return None
    a, b, r2 = benchstats.linear_fit([x for x, _ in xy], [y for _, y in xy])
    return {"intercept": a, "slope_per_gib": b, "r2": r2, "n": len(xy)}


def analyse(ds):
    """The sweep, per clock and mode: points per memory size, fits,
    reconciliations. None when no boot has a linmap-cost object."""
    pts = boot_points(ds)
    if not pts:
        return None
    out = {"clocks": {}, "map_mem": "not instrumented"}
    if any(p["map_mem"] for p in pts):
        out["map_mem"] = "instrumented: " + ", ".join(sorted({k for p in pts if p["map_mem"]
                                                               for k in p["map_mem"]}))
    for clock in sorted({p["clock"] for p in pts}):
        cp = [p for p in pts if p["clock"] == clock]
        modes = sorted({p["mode"] for p in cp}, key=lambda m: (
            MODE_ORDER.index(m) if m in MODE_ORDER else len(MODE_ORDER), m))
        mems = sorted({p["mem_mb"] for p in cp if p["mem_mb"]})
        rows, fits = [], {}
        for mode in modes:
            mp = [p for p in cp if p["mode"] == mode]
            fits[mode] = {
                "repaint_ms": fit(mp, "repaint_ns", 1e-6) if any(p["repainted"] for p in mp)
                else None,
                "stop_machine_ms": fit(mp, "stop_machine_ns", 1e-6)
                if any(p["repainted"] for p in mp) else None,
                "prep_ms": fit(mp, "prep_ns", 1e-6)
                if any(p["repainted"] for p in mp) else None,
                "init_ms": fit(mp, "init_s", 1e3),
                "map_mem_ms": fit(mp, "map_mem_ns", 1e-6),
                "pte_table_kb": fit(mp, "pte_tables", _page_size(mp) / 1024)
                if _page_size(mp) else None}
            for mem in mems:
                g = [p for p in mp if p["mem_mb"] == mem]
                if not g:
                    continue
                checks = [c for c in map(model_check, g) if c]
                ratios = [p["repaint_ns"] / (p["write_ns_per_page"] * p["repaint_tables"])
                          for p in g if p["repainted"] and p["write_ns_per_page"]
                          and p["repaint_tables"]]
                # the whole repaint: preparation + window (the tables'
                # allocation before both is not in either)
                whole = [(p["repaint_ns"] + p["prep_ns"])
                         / (p["write_ns_per_page"] * p["repaint_tables"])
                         for p in g if p["repainted"] and p["write_ns_per_page"]
                         and p["repaint_tables"] and isinstance(p.get("prep_ns"), int)]
                rows.append({
                    "mode": mode, "mem_mb": mem, "boots": len(g),
                    "repaint_ms": (_med(g, "repaint_ns") or 0) / 1e6
                    if any(p["repainted"] for p in g) else None,
                    "repaint_ms_range": [v / 1e6 for v in _range(g, "repaint_ns")]
                    if any(p["repainted"] for p in g) else None,
                    "stop_machine_ms": (_med(g, "stop_machine_ns") or 0) / 1e6
                    if any(p["repainted"] for p in g) else None,
                    "repaint_tables": _med(g, "repaint_tables"),
                    "map_mem_ms": _med(g, "map_mem_ns") / 1e6
                    if _med(g, "map_mem_ns") is not None else None,
                    "init_ms": (_med(g, "init_s") or 0) * 1e3 if _med(g, "init_s") else None,
                    "init_ms_range": [v * 1e3 for v in _range(g, "init_s")]
                    if _range(g, "init_s") else None,
                    "write_ns_per_page": _med(g, "write_ns_per_page"),
                    "repaint_over_memset": median(ratios) if ratios else None,
                    "prep_ms": _med(g, "prep_ns") / 1e6
                    if any(p["repainted"] for p in g) and _med(g, "prep_ns") is not None
                    else None,
                    "whole_over_memset": median(whole) if whole else None,
                    "mem_total_kb": _med(g, "mem_total_kb"), "mem_free_kb": _med(g, "mem_free_kb"),
                    "tables_kb": ((_med(g, "pte_tables") or 0) + (_med(g, "pmd_tables") or 0))
                    * _page_size(g) / 1024
                    if _med(g, "pte_tables") is not None and _page_size(g) else None,
                    "page_size": _page_size(g),
                    "model": checks[0] if checks else None,
                    "model_exact": bool(checks) and all(c["residual"] == 0 for c in checks),
                    "model_residuals": sorted({c["residual"] for c in checks}),
                    "mem_free_range_kb": _range(g, "mem_free_kb"),
                    "repaint_spread_pct": _spread(g, "repaint_ns")})
        out["clocks"][clock] = {"label": CLOCKS.get(clock, "hardware time"), "modes": modes,
                                "mems": mems, "rows": rows, "fits": fits,
                                "reconcile": reconcile(rows), "aa": aa_controls(cp)}
    return out


AA_QUANTITIES = (("repaint_ns", "repaint", 1e-6), ("map_mem_ns", "map_mem()", 1e-6),
                 ("init_s", "time to init", 1e3))
AA_MIN_BOOTS = 4
# A difference by the rule the page flags regressions with (bench/page.py
# REGRESSION_PCT, ALPHA): more than 5 %, the 95 % CI of the change
# excluding 0, and p < 0.05.
AA_DIFF_PCT = 5.0
AA_ALPHA = 0.05


def aa_controls(points):
    """The A/A control of every timed quantity: the boots of one mode and
    memory size, in the order they ran, split alternately in two halves
    and compared as if they were two configurations (boot medians,
    bootstrap CI). Same kernel, same mode: a difference here is the
    method's false-positive, and its MDE the smallest effect it can see."""
    out = []
    groups = {}
    for p in points:
        groups.setdefault((p["mode"], p["mem_mb"]), []).append(p)
    for (mode, mem), g in sorted(groups.items(), key=lambda kv: (
            MODE_ORDER.index(kv[0][0]) if kv[0][0] in MODE_ORDER else len(MODE_ORDER),
            kv[0][1] or 0)):
        g = sorted(g, key=lambda p: p.get("started") or ("", "", p["boot"]))
        for key, name, scale in AA_QUANTITIES:
            vals = [p[key] * scale for p in g if isinstance(p.get(key), (int, float))
                    and p[key]]
            if len(vals) < AA_MIN_BOOTS:
                continue
            a, b = benchstats.split_aa(vals)
            c = benchstats.compare_boots(a, b)
            out.append({"mode": mode, "mem_mb": mem, "quantity": name, "boots": len(vals),
                        "a_median": c["baseline_median"], "b_median": c["median"],
                        "delta_pct": c["delta_pct"], "delta_ci95": c["delta_ci95"],
                        "p_mwu": c["p_mwu"], "min_p": c["min_p"], "mde_pct": c["mde_pct"],
                        "ci_excludes_zero": c["ci_excludes_zero"],
                        "can_differ": c["min_p"] < AA_ALPHA,
                        "difference": bool(c["ci_excludes_zero"] and c["p_mwu"] < AA_ALPHA
                                           and abs(c["delta_pct"] or 0) > AA_DIFF_PCT)})
    return out


def aa_summary(aa):
    """One line: the A/A comparisons, how many differ by the flag rule,
    how many could at all with their boot counts, and the largest shift."""
    if not aa:
        return (f"no A/A control: no mode and size has {AA_MIN_BOOTS} or more boots of a "
                "timed quantity")
    diff = [a for a in aa if a["difference"]]
    able = sum(a["can_differ"] for a in aa)
    big = max(aa, key=lambda a: abs(a["delta_pct"] or 0))
    return (f"A/A control: {len(aa)} comparisons (same mode and size, boots split "
            f"alternately), {len(diff)} differ by the flag rule (> {AA_DIFF_PCT:g} %, 95 % CI "
            f"excluding 0, p < {AA_ALPHA:g}; {able} of {len(aa)} have the boots to reach that p)"
            + ("" if not diff else ": " + ", ".join(
                f"{a['mode']} {a['mem_mb']} MiB {a['quantity']} {a['delta_pct']:+.1f} %"
                for a in diff))
            + f"; largest shift {big['delta_pct']:+.2f} % ({big['mode']} {big['mem_mb']} MiB "
            f"{big['quantity']})")


def reconcile(rows):
    """Per memory size: MemTotal(assume) - MemTotal(off) against the boot
    tables they differ by (from ptdump), and MemFree(assume) -
    MemFree(assume-repaint) against the tables the repaint allocated."""
    by = {(r["mode"], r["mem_mb"]): r for r in rows}
    out = []
    for mem in sorted({r["mem_mb"] for r in rows}):
        off, blk, rep = by.get(("off", mem)), by.get(("assume", mem)), by.get(("assume-repaint", mem))
        row = {"mem_mb": mem}
        if off and blk and off["tables_kb"] is not None and blk["tables_kb"] is not None:
            d = blk["mem_total_kb"] - off["mem_total_kb"]
            t = off["tables_kb"] - blk["tables_kb"]
            row.update({"mem_total_delta_kb": d, "boot_tables_delta_kb": t,
                        "mem_total_residual_kb": d - t})
        if blk and rep and rep["repaint_tables"] is not None and rep["page_size"]:
            d = blk["mem_free_kb"] - rep["mem_free_kb"]
            t = rep["repaint_tables"] * rep["page_size"] / 1024
            spread = max((r["mem_free_range_kb"][1] - r["mem_free_range_kb"][0])
                         for r in (blk, rep) if r["mem_free_range_kb"])
            row.update({"mem_free_delta_kb": d, "repaint_tables_kb": t,
                        "mem_free_residual_kb": d - t, "mem_free_spread_kb": spread})
        out.append(row)
    return out


def _f(v, d=1):
    if v is None:
        return "–"
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1000:
        v = int(v)
    if isinstance(v, float):
        return f"{v:,.{d}f}".replace(",", " ")
    return f"{v:,}".replace(",", " ")


def _ratio(v):
    """A ratio to memset: one decimal from 1×, two below (the window's
    goal is 0.2×)."""
    return f"{v:.1f}×" if v >= 1 else f"{v:.2f}×"


def render_md(sw, plots=None):
    """Markdown section for the sweep (plots: {name: file} to link)."""
    lines = ["## Cost against RAM (linear-map modes)", ""]
    add = lines.append
    add("Per memory size the median over boots (range in brackets). Page-table model for "
        "4K pages: **RAM/512** bytes when all of RAM is PTE-mapped; exactly, one 4K PTE "
        "table per 2 MiB mapped at PTE level, so `model PTE tables = (RAM - bytes mapped by "
        "PMD/PUD blocks) / 2 MiB` (after a repaint the kernel image alias keeps its "
        "blocks). *repaint / memset* is `repaint_ns` (the stop_machine() window) over the time "
        "the same guest, in the same boot, takes to memset() as many 4K pages as the repaint "
        "allocated (linmap-cost `write_tables`): the distance to the write-bandwidth limit. "
        "*whole / memset* adds the preparation before the window (`repaint_prep_ns`: filling "
        "the new tables; kernels that fill them inside the window have none); the tables' "
        f"allocation before both is in neither. map_mem(): **{sw['map_mem']}** "
        "in this kernel" + (" (debugfs `map_mem_ns`, timed with the virtual counter)."
                            if "map_mem_ns" in sw["map_mem"] else " (no timing of it is exposed)."))
    add("")
    add("Findings:")
    add("")
    for clock, c in sw["clocks"].items():
        rows = c["rows"]
        n = sum(r["boots"] for r in rows if r["model"])
        exact = sum(r["boots"] for r in rows if r["model_exact"])
        mt = [r["mem_total_residual_kb"] for r in c["reconcile"] if "mem_total_residual_kb" in r]
        add(f"* **{clock}** ({c['label']}): page-table bytes equal the exact model in "
            f"{exact} of {n} boots; MemTotal(assume) − MemTotal(off) minus the boot tables: "
            + (f"{_f(min(mt))} to {_f(max(mt))} kB over {len(mt)} sizes" if mt else "–") + "; "
            + aa_summary(c.get("aa")) + ".")
        for mode, fs in c["fits"].items():
            f = fs.get("repaint_ms")
            ratios = [r["repaint_over_memset"] for r in rows
                      if r["mode"] == mode and r["repaint_over_memset"]]
            whole = [r["whole_over_memset"] for r in rows
                     if r["mode"] == mode and r.get("whole_over_memset")]
            if f:
                add(f"  * {mode}: repaint window {f['slope_per_gib']:.3f} ms/GiB "
                    f"{f['intercept']:+.3f} ms, R² = "
                    f"{'–' if f['r2'] is None else format(f['r2'], '.5f')} over {f['n']} boots; "
                    "window / memset of the same bytes "
                    + (f"{_ratio(min(ratios))} to {_ratio(max(ratios))}" if ratios else "–")
                    + "; whole repaint (preparation + window) / memset "
                    + (f"{_ratio(min(whole))} to {_ratio(max(whole))}" if whole
                       else "– (no preparation in this kernel)") + ".")
            f = fs.get("map_mem_ms")
            if f:
                add(f"  * {mode}: map_mem() {f['slope_per_gib']:.3f} ms/GiB "
                    f"{f['intercept']:+.3f} ms, R² = "
                    f"{'–' if f['r2'] is None else format(f['r2'], '.5f')} over {f['n']} boots.")
    add("")
    for clock, c in sw["clocks"].items():
        add(f"### Clock: {c['label']}")
        add("")
        head = ["mode", "RAM", "boots", "RAM/512 kB", "model PTE tables", "ptdump PTE tables",
                "exact", "map_mem ms", "repaint ms", "spread", "stop_machine ms", "repaint / memset",
                "preparation ms", "whole / memset", "time to init ms", "MemTotal kB"]
        add("| " + " | ".join(head) + " |")
        add("|" + "---|" * len(head))
        for r in c["rows"]:
            m = r["model"] or {}
            rng = r["repaint_ms_range"]
            irng = r["init_ms_range"]
            add("| " + " | ".join([
                r["mode"], f"{r['mem_mb'] // 1024} GiB" if r["mem_mb"] >= 1024 else f"{r['mem_mb']} MiB",
                str(r["boots"]), _f(m.get("ram_over_512_kb")), _f(m.get("model_pte_tables")),
                _f(m.get("measured_pte_tables")),
                "yes" if r["model_exact"] else f"no ({r['model_residuals']})",
                _f(r.get("map_mem_ms"), 2),
                (f"{_f(r['repaint_ms'], 2)} [{_f(rng[0], 2)}–{_f(rng[1], 2)}]"
                 if r["repaint_ms"] is not None else "–"),
                (f"{r['repaint_spread_pct']:.3g} %" if r["repaint_spread_pct"] is not None
                 else "–"),
                _f(r["stop_machine_ms"], 2),
                _ratio(r["repaint_over_memset"]) if r["repaint_over_memset"] else "–",
                _f(r.get("prep_ms"), 2),
                _ratio(r["whole_over_memset"]) if r.get("whole_over_memset") else "–",
                (f"{_f(r['init_ms'], 1)} [{_f(irng[0], 1)}–{_f(irng[1], 1)}]"
                 if r["init_ms"] is not None else "–"),
                _f(r["mem_total_kb"])]) + " |")
        add("")
        add("Least-squares fits over every boot (y = a + b × GiB):")
        add("")
        add("| mode | quantity | b per GiB | a | R² | boots |")
        add("|---|---|---:|---:|---:|---:|")
        for mode, fs in c["fits"].items():
            for q, unit in (("map_mem_ms", "ms"), ("repaint_ms", "ms"), ("prep_ms", "ms"),
                            ("stop_machine_ms", "ms"),
                            ("init_ms", "ms"), ("pte_table_kb", "kB")):
                f = fs.get(q)
                if f:
                    add(f"| {mode} | {q} | {f['slope_per_gib']:.3f} {unit} | "
                        f"{f['intercept']:.3f} | "
                        f"{'–' if f['r2'] is None else format(f['r2'], '.5f')} | {f['n']} |")
        add("")
        if c.get("aa"):
            add("A/A control: the boots of one mode and size split alternately into two halves "
                "(same kernel, same mode), delta % = (A − B) / A of the boot medians, 95 % CI by "
                "bootstrap over boots, p by Mann-Whitney U over boots, MDE the smallest delta "
                "these boots could show. *differs* applies the report's flag rule "
                f"(> {AA_DIFF_PCT:g} %, CI excluding 0, p < {AA_ALPHA:g}); a bootstrap CI over "
                "2-3 boots alone is too narrow to call a difference.")
            add("")
            add("| mode | RAM | quantity | boots | A median | B median | delta % | 95 % CI | p "
                "| MDE % | differs |")
            add("|---|---|---|---:|---:|---:|---:|---|---:|---:|---|")
            for a in c["aa"]:
                lo, hi = a["delta_ci95"]
                add(f"| {a['mode']} | {a['mem_mb']} MiB | {a['quantity']} | {a['boots']} | "
                    f"{a['a_median']:.4g} | {a['b_median']:.4g} | {a['delta_pct']:+.2f} | "
                    + (f"[{lo:+.2f}, {hi:+.2f}]" if lo is not None else "–") + " | "
                    + (f"{a['p_mwu']:.2g}" if a.get("p_mwu") is not None else "–") + " | "
                    + (f"{a['mde_pct']:.1f}" if a["mde_pct"] is not None else "–") + " | "
                    + ("yes" if a["difference"] else "no") + " |")
            add("")
        rec = [r for r in c["reconcile"] if len(r) > 1]
        if rec:
            add("Memory reconciled with the tables (kB): MemTotal(assume) − MemTotal(off) "
                "against the boot-time tables off needs more (ptdump PTE + PMD tables × 4 KiB; "
                "memblock, so MemTotal); MemFree(assume) − MemFree(assume-repaint) against "
                "the tables the repaint allocated (page allocator, so MemFree, which also "
                "moves with everything else the boot allocated):")
            add("")
            add("| RAM | ΔMemTotal | boot tables | residual | ΔMemFree | repaint tables | residual "
                "| MemFree spread over boots |")
            add("|---|---:|---:|---:|---:|---:|---:|---:|")
            for r in rec:
                add(f"| {r['mem_mb'] // 1024 if r['mem_mb'] >= 1024 else r['mem_mb']}"
                    f"{' GiB' if r['mem_mb'] >= 1024 else ' MiB'} | "
                    f"{_f(r.get('mem_total_delta_kb'))} | {_f(r.get('boot_tables_delta_kb'))} | "
                    f"{_f(r.get('mem_total_residual_kb'))} | {_f(r.get('mem_free_delta_kb'))} | "
                    f"{_f(r.get('repaint_tables_kb'))} | {_f(r.get('mem_free_residual_kb'))} | "
                    f"{_f(r.get('mem_free_spread_kb'))} |")
            add("")
    for name, path in (plots or {}).items():
        add(f"![{name}]({path})")
        add("")
    return "\n".join(lines)


def plot(sw, out_dir, plt):
    """RAM-scaling plot (PNG and SVG): repaint time and PTE-table kB against
    RAM, per clock and mode. Returns {name: file name}."""
    files = {}
    for clock, c in sw["clocks"].items():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for mode in c["modes"]:
            rs = [r for r in c["rows"] if r["mode"] == mode]
            x = [r["mem_mb"] / 1024 for r in rs]
            if any(r["repaint_ms"] is not None for r in rs):
                ax1.plot(x, [r["repaint_ms"] for r in rs], "o-", label=f"{mode} repaint")
                f = c["fits"][mode]["repaint_ms"]
                if f and f["r2"] is not None:
                    ax1.plot(x, [f["intercept"] + f["slope_per_gib"] * v for v in x], ":",
                             color="grey")
                    ax1.annotate(f"{f['slope_per_gib']:.1f} ms/GiB, R²={f['r2']:.4f}",
                                 (x[-1], f["intercept"] + f["slope_per_gib"] * x[-1]),
                                 textcoords="offset points", xytext=(-150, 8), fontsize=8)
            if any(r["init_ms"] is not None for r in rs):
                ax1.plot(x, [r["init_ms"] for r in rs], "s--", alpha=0.6,
                         label=f"{mode} time to init")
            if any(r.get("map_mem_ms") for r in rs):
                ax1.plot(x, [r.get("map_mem_ms") for r in rs], "^-.",
                         label=f"{mode} map_mem()")
            if any(r["model"] for r in rs):
                ax2.plot(x, [(r["model"] or {}).get("measured_pte_tables", 0)
                             * (r.get("page_size") or GRANULE) / 1024 for r in rs],
                         "o-", label=f"{mode} ptdump PTE tables")
        xs = sorted({r["mem_mb"] / 1024 for r in c["rows"]})
        ax2.plot(xs, [v * 1024 * 1024 / 512 for v in xs], "k:", label="model RAM/512")
        ax1.set(xlabel="RAM (GiB)", ylabel="ms",
                title=f"map_mem(), repaint and time to init ({clock})")
        ax2.set(xlabel="RAM (GiB)", ylabel="kB", title="linear-map PTE table bytes")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(c["label"], fontsize=9)
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out_dir, f"ram-scaling-{clock}.{ext}"), dpi=110)
        plt.close(fig)
        files[f"RAM scaling, {clock}"] = f"ram-scaling-{clock}.png"
    return files
