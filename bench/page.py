#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""`make report`: one page comparing runs across modes, kernels, boards and nights.

    bench/page.py -o results/reports/<name> results/<run> [results/<run> ...]

Reads every run directory as the lab runner leaves it, finished or not:
metadata.json, results.json and jobs/*/{metadata.json,console.log}. Writes
report.md, index.html (static, the same content), report.json and the plots
(PNG + SVG, matplotlib when installed; without it the page says so):

  * runs: plan, start, git revision (dirty flagged), status, counts;
  * test verdicts across runs: new failures / fixed / flaky / missing against
    the previous run of the same plan (lab/bbml2lab/compare.py, the nightly's
    comparison, through bench/verdicts.py);
  * benchmarks: per configuration (board, kernel, RAM, night) the modes
    against the baseline with the boot as the unit (bench/report.py), and
    each mode against the previous night's, with regression flags;
  * cost against RAM (bench/ramsweep.py) and the RAM-scaling plot;
  * a cover-letter table: before (page-mapped) / after (blocks) / change.

Exit status: 0 written; 1 written, but some input had problems (listed on
the page and on stderr); 2 nothing usable or bad arguments.
"""
import argparse
import datetime
import html
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchstats  # noqa: E402
import ramsweep  # noqa: E402
import report  # noqa: E402
import tlbpage  # noqa: E402
import verdicts  # noqa: E402

SCHEMA = "bbml2-page/1"
# Regression: slower by more than this, with the 95 % CI of the change
# entirely on the slower side and p < alpha over boots.
REGRESSION_PCT = 5.0
ALPHA = 0.05


def _load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except FileNotFoundError:
        return None, f"{path}: missing"
    except (OSError, ValueError) as e:
        return None, f"{path}: unreadable: {e}"


def run_clock(meta):
    """'icount' for a run under -icount (bench/sweep.py --icount records its
    QEMU options and clock in metadata.json's bench member), else 'host
    time'; verdicts of the two are never compared."""
    bench = meta.get("bench") if isinstance(meta.get("bench"), dict) else {}
    opts = " ".join(str(o) for o in bench.get("qemu_options") or [])
    return "icount" if "-icount" in opts or "icount" in str(bench.get("clock") or "") \
        else "host time"


def load_run(path):
    """Facts of one run directory, with its problems (never raises)."""
    run = {"dir": path, "id": os.path.basename(os.path.normpath(path)), "problems": []}
    meta, err = _load(os.path.join(path, "metadata.json"))
    if err:
        run["problems"].append(err)
    meta = meta if isinstance(meta, dict) else {}
    run["meta"] = meta
    m = re.match(r"(\d{8}T\d{6}Z)", run["id"])
    started = meta.get("started") or (datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ")
                                      .replace(tzinfo=datetime.timezone.utc).isoformat()
                                      if m else None)
    run["started"] = started
    run["night"] = started[:10] if started else "unknown"
    run["plan"] = meta.get("plan") or "unknown"
    run["clock"] = run_clock(meta)
    run["status"] = meta.get("status") or "unknown"
    results, err = verdicts.load_results(path)
    if err:
        run["problems"].append(err)
    run["results"] = results
    run["counts"] = {k: sum(1 for r in results if r["result"] == k)
                     for k in ("pass", "fail", "skip", "error")}
    planned = meta.get("jobs_planned") or []
    jobs_dir = os.path.join(path, "jobs")
    have = sorted(os.listdir(jobs_dir)) if os.path.isdir(jobs_dir) else []
    run["jobs"] = have
    run["missing_jobs"] = [j for j in planned if j not in have]
    if run["status"] not in ("complete",):
        run["problems"].append(f"{path}: run status {run['status']!r}"
                               + (f" ({meta.get('error')})" if meta.get("error") else "")
                               + f"; {len(have)} of {len(planned) or len(have)} jobs present")
    elif run["missing_jobs"]:
        run["problems"].append(f"{path}: {len(run['missing_jobs'])} planned jobs never ran")
    git = meta.get("git") or {}
    run["git"] = (str(git.get("revision"))[:12] if git.get("revision") else "unknown") + \
        (" (dirty)" if git.get("dirty") else "")
    return run


# --------------------------------------------------------------------------
# benchmark configurations

def config_key(ds, boot, clocks=None):
    """(board, kernel, RAM MiB, night, clock) of one boot; clock is tcg,
    icount (instruction time) or hw, which are never mixed."""
    b = boot
    spec = b.get("spec") or {}
    k = b.get("kernel") or {}
    kern = (k.get("image_sha256") or "")[:12] or k.get("console_version") or "unknown"
    night = (b.get("run_started") or b.get("started") or "unknown")[:10]
    clock = (clocks or {}).get(b["boot"], "unknown")
    return (spec.get("board") or "unknown", kern, spec.get("mem_mb") or 0, night, clock)


def label(key):
    """'qemu-virt, 2 GiB, 2026-12-01, tcg' for a configuration key."""
    mem = f"{key[2] // 1024} GiB" if key[2] >= 1024 else f"{key[2]} MiB"
    return f"{key[0]}, {mem}, {key[3]}, {key[4]}"


def subset(ds, boots):
    """A dataset with only these boots (ids without the #n suffix)."""
    keep = set(boots)

    def mine(x):
        return x["boot"].split("#")[0] in keep
    return {"boots": [b for b in ds["boots"] if b["boot"] in keep],
            "records": [r for r in ds["records"] if mine(r)],
            "snapshots": [s for s in ds["snapshots"] if mine(s)],
            "objects": [o for o in ds["objects"] if mine(o)],
            "errors": [], "warnings": []}


def configurations(ds):
    """{config key: dataset}, only configurations with timed records."""
    boots = {b["boot"]: b for b in ds["boots"]}
    clocks = {}
    for o in ds["objects"]:
        bid = o["boot"].split("#")[0]
        if bid not in clocks:
            clocks[bid] = ramsweep.clock_of(
                dict(o, order_record=(boots.get(bid) or {}).get("order_record")))
    groups = {}
    for b in ds["boots"]:
        groups.setdefault(config_key(ds, b, clocks), []).append(b["boot"])
    return {k: subset(ds, v) for k, v in sorted(groups.items())}


def night_comparisons(confs):
    """The same board, kernel-independent, RAM and mode on consecutive
    nights: each metric's boot medians against the previous night's."""
    out = []
    series = {}
    for (board, kern, mem, night, clock), sub in confs.items():
        series.setdefault((board, mem, clock), []).append((night, kern, sub))
    for (board, mem, clock), items in series.items():
        items.sort(key=lambda t: t[0])
        for (n0, k0, s0), (n1, k1, s1) in zip(items, items[1:]):
            m0, m1 = _boot_medians(s0), _boot_medians(s1)
            for key in sorted(set(m0) & set(m1)):
                c = benchstats.compare_boots(m0[key], m1[key], ALPHA)
                bench, metric, mode = key
                slower = c["delta_pct"] is not None and c["delta_pct"] < -REGRESSION_PCT
                lo, hi = c["delta_ci95"]
                c.update({"board": board, "mem_mb": mem, "clock": clock, "bench": bench,
                          "metric": metric,
                          "mode": mode, "before": f"{n0} {k0}", "after": f"{n1} {k1}",
                          "control": (bench, metric) in report.CONTROL_METRICS})
                c["regression"] = (not c["control"] and slower and hi is not None and hi < 0
                                   and c["p_mwu"] < ALPHA)
                c["improvement"] = (not c["control"] and c["delta_pct"] > REGRESSION_PCT
                                    and lo is not None and lo > 0 and c["p_mwu"] < ALPHA)
                out.append(c)
    return out


def _boot_medians(sub):
    per = {}
    for r in sub["records"]:
        per.setdefault((r["bench"], r["metric"], r["mode"]), {}).setdefault(
            r["boot"], []).append(r["ns_per_op"])
    return {k: [benchstats.median(v) for v in d.values()] for k, d in per.items()}


def platform_line(o):
    """'virtual machine [why]; pinned to CPU 3 (why), MIDR 0x… (of CPU 3)'
    for one benchmark object: the class the benchmark derived and the
    MIDR it read for the CPU it ran on."""
    p, params = o["platform"], o.get("params") or {}
    cls = p.get("class") or ("emulated" if p.get("emulated") else "class not recorded")
    why = f" [{p['class_why']}]" if p.get("class_why") else ""
    cpu = params.get("cpu")
    pinned = "pinned CPU not recorded" if cpu is None else f"pinned to CPU {cpu}" + (
        f" ({params['cpu_why']})" if params.get("cpu_why") else "")
    mcpu = p.get("midr_cpu")
    of = ("" if mcpu is None or mcpu == cpu else " (unreadable)" if mcpu < 0 else
          f" (of CPU {mcpu}" + (", not the pinned CPU)" if cpu is not None else ")"))
    return f"{cls}{why}; {pinned}, MIDR {p.get('midr') or 'unknown'}{of}"


def platform_lines(sub):
    """The distinct platform lines of a configuration's boots, with how
    many boots gave each."""
    boots = {}
    for o in sub["objects"]:
        boots.setdefault(platform_line(o), set()).add(o["boot"].split("#")[0])
    return [f"* Platform: {line}" + (f" ({len(b)} boots)" if len(boots) > 1 else "")
            for line, b in sorted(boots.items())]


# --------------------------------------------------------------------------
# the cover-letter table

BEFORE, AFTER = ("off", "none"), ("assume", "none")


def cover_letter(confs):
    """Rows (config, quantity, before, after, change) in the shape upstream
    cover letters use: before = the page-mapped mode, after = the block
    mode, per configuration."""
    rows = []
    for key, sub in confs.items():
        modes = {o["mode"] for o in sub["objects"]}
        maps = {}
        for o in sub["objects"]:
            maps.setdefault(o["mode"], set()).add(
                (o["mode_proof"].get("linear_map") or {}).get("linear_map"))
        before = next((m for m in BEFORE if m in modes and maps.get(m) == {"pte"}), None)
        after = next((m for m in AFTER if m in modes and maps.get(m) == {"blocks"}), None)
        if not before or not after:
            continue
        where = label(key)

        def snap(mode, k):
            vals = [s["values"].get(k) for s in sub["snapshots"] if s["mode"] == mode
                    and isinstance(s["values"].get(k), (int, float))]
            return benchstats.median(vals) if vals else None

        def tables(mode):
            # Table pages in kB: one page each (4K unless recorded).
            vals = [(s["values"]["ptdump"].get("pte_tables", 0)
                     + s["values"]["ptdump"].get("pmd_tables", 0))
                    * (s["values"]["ptdump"].get("page_size") or 4096) // 1024
                    for s in sub["snapshots"] if s["mode"] == mode
                    and isinstance(s["values"].get("ptdump"), dict)
                    and s["values"]["ptdump"].get("ok")]
            return benchstats.median(vals) if vals else None
        for q, fb, fa, unit in (
                ("linear-map page tables", tables(before), tables(after), "kB"),
                ("MemTotal", snap(before, "mem_total_kb"), snap(after, "mem_total_kb"), "kB")):
            if fb is not None and fa is not None:
                rows.append([where, f"{q} ({before} → {after})", fb, fa, unit])
        med = _boot_medians(sub)
        for (bench, metric, mode), vals in sorted(med.items(), key=_metric_order):
            if mode != before or (bench, metric, after) not in med \
                    or (bench, metric) in report.CONTROL_METRICS:
                continue
            rows.append([where, f"{bench} {metric} ns/op", benchstats.median(vals),
                         benchstats.median(med[(bench, metric, after)]), "ns"])
    return rows


def _metric_order(item):
    """Sort key of a ((bench, metric, mode), values) item: working sets
    (ws_128k, ws_16m, ...) by size, other metrics by name."""
    (bench, metric, mode), _ = item
    kib = ws_kib(metric)
    return (bench, ("ws_", kib) if kib is not None else (metric, 0), mode)


# --------------------------------------------------------------------------
# TLB reach (linmap-chase's working-set sweep)

WS = re.compile(r"^ws_(\d+)([kmg])$")


def ws_kib(metric):
    m = WS.match(metric)
    return int(m.group(1)) * {"k": 1, "m": 1024, "g": 1 << 20}[m.group(2)] if m else None


# Counters per load in the TLB-reach table, and their place in a point.
TLB_EVENTS = {"dtlb_walk": 2, "l1d_tlb_refill": 4, "l2d_tlb_refill": 5}


def tlb_reach(confs):
    """Per configuration and mode: [(KiB, ns/load median of boots,
    dtlb_walk/load, boots, l1d_tlb_refill/load, l2d_tlb_refill/load)]
    from linmap-chase; a counter is the median over samples, None where
    unsupported."""
    out = {}
    for key, sub in confs.items():
        per = {}
        for r in sub["records"]:
            kib = ws_kib(r["metric"]) if r["bench"] == "linmap-chase" else None
            if kib is None:
                continue
            d = per.setdefault((r["mode"], kib), {})
            d.setdefault(r["boot"], []).append(r)
        for (mode, kib), boots in sorted(per.items()):
            ns = benchstats.median([benchstats.median([r["ns_per_op"] for r in b])
                                    for b in boots.values()])
            ev = {e: _per_load(boots, e) for e in TLB_EVENTS}
            out.setdefault(key, {}).setdefault(mode, []).append(
                (kib, ns, ev["dtlb_walk"], len(boots), ev["l1d_tlb_refill"],
                 ev["l2d_tlb_refill"]))
    return out


def _per_load(boots, ev):
    vals = [r["per_op"].get(ev) for b in boots.values() for r in b]
    vals = [v for v in vals if v is not None]
    return benchstats.median(vals) if vals else None


def plot_tlb(reach, out, plt):
    files = {}
    for i, (key, modes) in enumerate(reach.items()):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for mode, pts in sorted(modes.items(), key=lambda t: report.mode_sort_key(t[0])):
            ax.plot([p[0] / 1024 for p in pts], [p[1] for p in pts], "o-", label=mode)
        ax.set_xscale("log", base=2)
        ax.set(xlabel="working set (MiB, one line per 4K page)", ylabel="ns per load",
               title=f"linear-map pointer chase: {label(key)}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"tlb-reach-{i + 1}"
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=110)
        plt.close(fig)
        files[f"TLB reach {label(key)}"] = f"{name}.png"
    return files


def render_tlb(reach, emulated, platforms=None):
    """platforms: {config key: platform lines} (platform_lines)."""
    L = ["## TLB reach (linmap-chase)", ""]
    L.append("Dependent loads through the linear map, one cache line per 4K page from the page "
             "allocator, in a random cycle (bench/linmap-chase.c, module "
             "bench/linmap-chase/). On hardware the knee of ns/load and DTLB_WALK/load is the "
             "TLB reach (L1D_TLB_REFILL and L2D_TLB_REFILL/load: which TLB level misses); "
             + ("**under QEMU TCG there is no TLB event and QEMU's softmmu TLB caches 4K "
                "translations whatever the guest maps: these numbers show the mechanics, not "
                "a TLB reach.**" if emulated else "kernel-only counters, pinned to the "
                "biggest core."))
    L.append("")
    for key, modes in reach.items():
        sizes = sorted({p[0] for pts in modes.values() for p in pts})
        order = sorted(modes, key=report.mode_sort_key)
        head = ["working set"] + [f"{m} ns/load" for m in order] + \
            [f"{m} {ev}/load" for ev in TLB_EVENTS for m in order]
        rows = []
        vals = {m: {p[0]: p for p in modes[m]} for m in order}
        for kib in sizes:
            row = [f"{kib // 1024} MiB" if kib >= 1024 else f"{kib} KiB"]
            row += [_fmt(vals[m][kib][1]) if kib in vals[m] else "–" for m in order]
            row += [_counter_cell(vals[m].get(kib), i, emulated)
                    for i in TLB_EVENTS.values() for m in order]
            rows.append(row)
        L.append(f"**{label(key)}, kernel {key[1]}**")
        L.append("")
        if (platforms or {}).get(key):
            L += platforms[key] + [""]
        L.append(_table(head, rows))
        L.append("")
    return "\n".join(L)


def _counter_cell(point, i, emulated):
    if point is None:
        return "–"
    v = point[i] if i < len(point) else None
    if v is not None:
        return _fmt(v, 3)
    return "n/a (emulated)" if emulated else "unsupported"


# --------------------------------------------------------------------------
# plots

def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt, None
    except ImportError as e:
        return None, f"no plots: matplotlib is not installed ({e}); `make report` installs " \
            "python3-matplotlib (DEPS_REPORT=1 scripts/deps.sh)"


def plot_trends(runs, confs, out, plt):
    """Verdict counts per run, and benchmark medians per night and mode."""
    files = {}
    fig, ax = plt.subplots(figsize=(9, 3.2))
    xs = list(range(len(runs)))
    bottom = [0] * len(runs)
    for k, col in (("pass", "#2ca02c"), ("fail", "#d62728"), ("error", "#9467bd"),
                   ("skip", "#bbbbbb")):
        vals = [r["counts"][k] for r in runs]
        ax.bar(xs, vals, bottom=bottom, color=col, label=k)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(xs, [f"{r['night']}\n{r['plan']}" for r in runs], fontsize=7)
    ax.set(ylabel="results", title="test verdicts per run")
    ax.legend(fontsize=7)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"verdicts.{ext}"), dpi=110)
    plt.close(fig)
    files["test verdicts per run"] = "verdicts.png"

    series = {}
    for (board, kern, mem, night, clock), sub in confs.items():
        for (bench, metric, mode), vals in _boot_medians(sub).items():
            series.setdefault((board, mem, clock, bench, metric), {}).setdefault(mode, []).append(
                (night, benchstats.median(vals), min(vals), max(vals)))
    series = {k: v for k, v in series.items() if v}
    if series:
        n = len(series)
        cols = min(3, n)
        rows = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
        for ax, ((board, mem, clock, bench, metric), modes) in zip(
                [a for row in axes for a in row], sorted(series.items())):
            for mode, pts in sorted(modes.items(), key=lambda t: report.mode_sort_key(t[0])):
                pts.sort()
                x = [p[0] for p in pts]
                ax.errorbar(x, [p[1] for p in pts],
                            yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                            marker="o", capsize=3, label=mode)
            ax.set_title(f"{bench} {metric} ({mem} MiB, {clock})", fontsize=8)
            ax.set_ylabel("ns/op (median of boots)", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(fontsize=6)
            ax.grid(alpha=0.3)
        for ax in [a for row in axes for a in row][n:]:
            ax.axis("off")
        fig.suptitle("benchmarks across nights (bars: range of boot medians)", fontsize=9)
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out, f"trends.{ext}"), dpi=100)
        plt.close(fig)
        files["benchmarks across nights"] = "trends.png"
    return files


# --------------------------------------------------------------------------
# rendering

def _fmt(v, d=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{d}f}".replace(",", " ")
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ")
    return str(v)


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def verdict_series(run):
    """The runs whose verdicts are compared in turn: the same plan and
    clock (a sweep's -icount run is not the next night of its TCG run)."""
    return run["plan"] if run["clock"] == "host time" else f"{run['plan']}, {run['clock']}"


def render(runs, ds, confs, analyses, nights, sweep, cover, plots, problems, name, emulated,
           reach=None, model=None):
    L = []
    add = L.append
    add(f"# bbml2-lab report: {name}")
    add("")
    if emulated:
        add(f"> **{report.EMULATED_LABEL}.** Times under QEMU TCG are host time on a shared "
            "host; under `-icount shift=0` they are instruction counts. Neither is hardware "
            "time.")
        add("")
    add(f"Generated {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} "
        f"from {len(runs)} run(s). Regression flag: a mode slower than the previous night's "
        f"by more than **{REGRESSION_PCT:g} %**, with the 95 % CI of the change entirely on "
        f"the slower side and p < {ALPHA} (Mann-Whitney U over boot medians); control "
        "metrics are never flagged.")
    add("")
    add("## Runs")
    add("")
    add(_table(["run", "plan", "night", "git", "status", "passed", "failed", "skipped", "jobs"],
               [[r["id"], r["plan"], r["night"], r["git"], r["status"], r["counts"]["pass"],
                 r["counts"]["fail"] + r["counts"]["error"], r["counts"]["skip"],
                 f"{len(r['jobs'])}" + (f" ({len(r['missing_jobs'])} missing)"
                                        if r["missing_jobs"] else "")] for r in runs]))
    add("")
    add("## Test verdicts across runs")
    add("")
    by_plan = {}
    for r in runs:
        by_plan.setdefault(verdict_series(r), []).append(r)
    any_diff = False
    for plan, rs in by_plan.items():
        for i, j, d in verdicts.series([r["results"] for r in rs]):
            any_diff = True
            prev, cur = rs[i], rs[j]
            add(f"**{plan}: {prev['id']} → {cur['id']}**: {len(d['new_failures'])} new failures, "
                f"{len(d['fixed'])} fixed, {len(d['flaky'])} flaky, {len(d['missing'])} missing, "
                f"{d['new_tests']} new tests ({d['tests']} tests, {d['previous_tests']} before)")
            add("")
            for what in ("new_failures", "fixed", "flaky", "missing"):
                for item in d[what][:20]:
                    was = f" (was {item['previous']})" if item.get("previous") else ""
                    add(f"* {what.replace('_', ' ')}: `{item['job']}` `{item['name']}` "
                        f"{item.get('result', 'not reported')}{was}")
                if len(d[what]) > 20:
                    add(f"* … {len(d[what]) - 20} more {what.replace('_', ' ')}")
            add("")
    if not any_diff:
        add("One run per plan and clock: nothing to compare against (give the previous "
            "night's run too).")
        add("")
    if analyses:
        add("## Benchmarks per configuration (modes against the baseline, boots as the unit)")
        add("")
        add("Each configuration is a (board, kernel Image, RAM, night, clock: tcg = host "
            "time, icount = instruction time, hw). Δ% + = fewer ns/op "
            "than the baseline; CI over boots; `*` only for tested pairs (not A/A, not "
            "identical page tables, not control metrics). Full statistics: bench/report.py "
            "on the run.")
        add("")
        for key, an in analyses.items():
            add(f"### {label(key)}, kernel {key[1]}")
            add("")
            L += platform_lines(confs[key]) + [""]
            rows = []
            for c in an["comparisons"]:
                mark = "**" if c["significant_holm"] else "*" if c["significant"] else ""
                lo, hi = c["delta_ci95"]
                rows.append([f"{c['bench']} {c['metric']}", f"{c['mode']} vs {c['baseline']}",
                             c["kind"], f"{c['baseline_boots']}+{c['boots']}",
                             f"{c['delta_pct']:+.1f} %{mark}",
                             f"{lo:+.1f} … {hi:+.1f}" if lo is not None else "–",
                             report.fmt_p(c["p_mwu"]),
                             f"{c['mde_pct']:.1f} %" if c["mde_pct"] is not None else "–",
                             c["verdict"]])
            add(_table(["metric", "comparison", "kind", "boots", "Δ%", "95% CI", "p", "MDE",
                        "verdict"], rows) if rows else "No timed comparison.")
            add("")
            for flag in an["provenance"]["flags"]:
                add(f"* ⚠ **Input flag:** {flag}")
            for w in confs[key]["warnings"]:
                add(f"* ⚠ **Warning:** {w}")
            add(f"* Boot order: {an['order']}")
            add("")
    if nights:
        add("## Against the previous night")
        add("")
        add(_table(["board", "RAM", "clock", "metric", "mode", "before", "after", "Δ%", "95% CI",
                    "p", "flag"],
                   [[c["board"], c["mem_mb"], c["clock"], f"{c['bench']} {c['metric']}", c["mode"],
                     c["before"], c["after"], f"{c['delta_pct']:+.1f} %",
                     f"{c['delta_ci95'][0]:+.1f} … {c['delta_ci95'][1]:+.1f}",
                     report.fmt_p(c["p_mwu"]),
                     "REGRESSION" if c["regression"] else "improvement" if c["improvement"]
                     else "control" if c["control"] else ""] for c in nights]))
        add("")
    if sweep:
        sweep_plots = {k: v for k, v in plots.items() if k.startswith("RAM scaling")}
        add(ramsweep.render_md(sweep, sweep_plots))
        add("")
    if reach:
        add(render_tlb(reach, emulated, {k: platform_lines(confs[k]) for k in reach}))
        for k, v in plots.items():
            if k.startswith("TLB reach"):
                add(f"![{k}]({v})")
                add("")
    if model:
        add(tlbpage.render_md(model, plots, _table))
        add("")
    if cover:
        add("## Cover-letter table")
        add("")
        add("Before: the page-mapped linear map (`arm64.bbml2=off`, or `none` where the "
            "kernel maps pages); after: blocks (`assume` under emulation, `none` on an "
            "allow-listed board). Medians over boots.")
        add("")
        add(_table(["configuration", "quantity", "before", "after", "change"],
                   [[r[0], r[1], f"{_fmt(r[2])} {r[4]}", f"{_fmt(r[3])} {r[4]}",
                     f"{r[3] - r[2]:+,.1f} {r[4]} ({100 * (r[3] - r[2]) / r[2]:+.1f} %)"
                     .replace(",", " ") if r[2] else "–"] for r in cover]))
        add("")
    other = {k: v for k, v in plots.items()
             if not k.startswith(("RAM scaling", "TLB reach", "Modelled TLB"))}
    if other:
        add("## Trends")
        add("")
        for k, v in other.items():
            add(f"![{k}]({v})")
            add("")
    if problems:
        add("## Input problems")
        add("")
        for p in problems:
            add(f"* {p}")
        add("")
    return "\n".join(L) + "\n"


INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
          (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
          (re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])"), r"<em>\1</em>")]


def _inline(text):
    t = html.escape(text, quote=False)
    for rx, rep in INLINE:
        t = rx.sub(rep, t)
    return t


def md_to_html(md, title):
    """The subset of Markdown this page writes (headings, paragraphs,
    block quotes, lists, tables, images) as a static HTML page."""
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}"
           "table{border-collapse:collapse;margin:.5em 0;font-size:13px}"
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
           "td:first-child,th:first-child{text-align:left}"
           "blockquote{background:#fff4e0;border-left:4px solid #f0a000;margin:0;padding:.3em 1em}"
           "img{max-width:100%;border:1px solid #ddd}code{background:#f4f4f4}</style>",
           "</head><body>"]
    lines = md.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = re.match(r"^(#{1,4}) (.*)$", line)
        if m:
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
            i += 1
            continue
        m = re.match(r"^!\[(.*)\]\((.*)\)$", line)
        if m:
            out.append(f"<figure><img src=\"{html.escape(m.group(2))}\" "
                       f"alt=\"{html.escape(m.group(1))}\"><figcaption>"
                       f"{html.escape(m.group(1))}</figcaption></figure>")
            i += 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            cells = [[c.strip().replace("\\|", "|")
                      for c in re.split(r"(?<!\\)\|", r.strip()[1:-1])] for r in rows]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
                       + "</tr></thead><tbody>")
            for r in cells[2:]:
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>")
            out.append("</tbody></table>")
            continue
        if line.startswith("* "):
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("* "):
                out.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        quote = line.startswith("> ")
        para = []
        while i < len(lines) and lines[i].strip() and not re.match(r"^(#|\||\* |!\[)", lines[i]):
            para.append(lines[i][2:] if quote and lines[i].startswith("> ") else lines[i])
            i += 1
        text = f"<p>{_inline(' '.join(para))}</p>"
        out.append(f"<blockquote>{text}</blockquote>" if quote else text)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def build(inputs, out, name=None):
    """Write the page; returns (exit code, summary line)."""
    runs, problems = [], []
    for inp in inputs:
        if not os.path.isdir(inp):
            problems.append(f"{inp}: not a directory")
            continue
        r = load_run(inp)
        runs.append(r)
        problems += r["problems"]
    if not runs:
        return 2, "report: no run directory among the inputs (" + "; ".join(problems) + ")"
    runs.sort(key=lambda r: r["started"] or "")
    dirs = [r["dir"] for r in runs if os.path.isdir(os.path.join(r["dir"], "jobs"))]
    ds = report.collect(dirs) if dirs else {"boots": [], "records": [], "snapshots": [],
                                            "objects": [], "errors": [], "warnings": []}
    problems += ds["errors"]
    confs = configurations(ds)
    analyses = {}
    for key, sub in confs.items():
        if not sub["records"]:
            continue
        try:
            analyses[key] = report.analyse(sub, alpha=ALPHA)
        except report.InputError as e:
            problems.append(f"{key}: {e}")
    nights = night_comparisons(confs)
    sweep = ramsweep.analyse(ds)
    cover = cover_letter(confs)
    reach = tlb_reach(confs)
    model_boots, model_problems = tlbpage.collect(runs)
    problems += model_problems
    model = tlbpage.analyse(model_boots, ws_kib)
    emulated = any(o["platform"].get("emulated") for o in ds["objects"])
    os.makedirs(out, exist_ok=True)
    plt, why = _pyplot()
    plots = {}
    if plt is None:
        problems.append(why)
    else:
        plots.update(plot_trends(runs, confs, out, plt))
        if sweep:
            plots.update(ramsweep.plot(sweep, out, plt))
        if reach:
            plots.update(plot_tlb(reach, out, plt))
        if model:
            plots.update(tlbpage.plot(model, out, plt))
    name = name or os.path.basename(os.path.abspath(out))
    md = render(runs, ds, confs, analyses, nights, sweep, cover, plots, problems, name,
                emulated, reach, model)
    report._write(os.path.join(out, "report.md"), md)
    report._write(os.path.join(out, "index.html"), md_to_html(md, f"bbml2-lab report: {name}"))
    data = {"schema": SCHEMA, "name": name, "inputs": inputs,
            "runs": [{k: v for k, v in r.items() if k not in ("results", "meta")} for r in runs],
            "configurations": {" | ".join(map(str, k)): {
                "comparisons": a["comparisons"], "order": a["order"],
                "provenance": a["provenance"], "warnings": confs[k]["warnings"]}
                for k, a in analyses.items()},
            "nights": nights, "sweep": sweep, "cover_letter": cover, "plots": plots,
            "tlb_reach": {" | ".join(map(str, k)): v for k, v in reach.items()},
            "tlb_model": model,
            "problems": problems, "regression_pct": REGRESSION_PCT, "alpha": ALPHA}
    report._write(os.path.join(out, "report.json"),
                  json.dumps(report._clean(data), indent=1, default=str) + "\n")
    nreg = sum(1 for c in nights if c["regression"])
    return (1 if problems else 0), (f"report: {out}: {len(runs)} runs, {len(ds['boots'])} boots, "
                                    f"{len(analyses)} configurations, {nreg} regressions, "
                                    f"{len(plots)} plots, {len(problems)} input problems")


def main(argv=None):
    ap = argparse.ArgumentParser(description="One page comparing bbml2-lab runs.")
    ap.add_argument("runs", nargs="+", metavar="RUN", help="results/<run> directory")
    ap.add_argument("-o", "--out", required=True, help="output directory (created)")
    ap.add_argument("--name", help="title (default: the output directory name)")
    args = ap.parse_args(argv)
    code, line = build(args.runs, args.out, args.name)
    if code == 2:
        print(line, file=sys.stderr)
        return 2
    data = json.load(open(os.path.join(args.out, "report.json"), encoding="utf-8"))
    for p in data["problems"]:
        print(f"report: problem: {p}", file=sys.stderr)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
