# SPDX-License-Identifier: GPL-2.0
"""The "modelled TLB" section of `make report`: runs of `make bench-tlb`
(bench/sweep.py --tlb-model) in, per preset and mode: linear-map walks
per operation against the working set, the page-mapped knee beside the
preset's L2 reach, kernel walk MPKI per workload with the preset range as
its spread, and the unmodelled counts. Every number is labelled modelled;
nothing here is mixed with PMU columns.
"""
import math
import os

import tlbdata

# Modes whose linear map is page-mapped while the benchmarks run.
PAGE_MAPPED = ("off", "assume-repaint", "repaint")
SWEPT = ("linmap-chase", "pcache-rand-pread")
KNEE_TOLERANCE = 0.25
# Below this kernel walk MPKI with pages a relative change says nothing.
MIN_MPKI = 0.005


def _mode_key(boot):
    """The mode as a reader knows it: the mixed board with no option is
    its own row ("mixed, none")."""
    return boot["mode"] if boot["board"].startswith("qemu-virt") else \
        f"{boot['mode']} ({boot['board']})"


def collect(runs):
    """runs: page.load_run() dicts. Boots with a tlbmodel file, and the
    problems found (a run without the files, a broken file)."""
    boots, problems = [], []
    for run in runs:
        tdir = os.path.join(run["dir"], "tlbmodel")
        if not os.path.isdir(tdir):
            continue
        jobs = {j.get("name"): j for j in (run["meta"].get("jobs") or [])}
        for f in sorted(os.listdir(tdir)):
            if not f.endswith(".jsonl"):
                continue
            name = f[:-len(".jsonl")]
            job = jobs.get(name)
            if job is None:
                problems.append(f"{tdir}/{f}: no job {name} in the run's metadata")
                continue
            try:
                header, wins = tlbdata.windows(tlbdata.read_records(os.path.join(tdir, f)))
            except (OSError, tlbdata.ModelError, KeyError) as e:
                problems.append(f"{tdir}/{f}: {e}")
                continue
            if not header:
                problems.append(f"{tdir}/{f}: no header record (QEMU did not load the plugin?)")
                continue
            boots.append({"run": run["id"], "job": name, "mode": job.get("mode"),
                          "board": job.get("board") or "?", "header": header,
                          "windows": wins})
    return boots, problems


def reach_kib(preset, page_kib=4):
    """The L2 reach with base pages: entries x page (x the coalesced pages)."""
    return preset["l2_entries"] * page_kib * (1 << preset.get("coalesce", 0))


def knee(points):
    """points: [(kib, walks/op)] ascending. The working set where walks/op
    first reaches half the plateau (the value at the largest set),
    interpolated in log2 of the size; None without a rise."""
    if len(points) < 3:
        return None
    plateau = points[-1][1]
    if plateau is None or plateau < 0.2:
        return None
    half = plateau / 2
    for (k0, v0), (k1, v1) in zip(points, points[1:]):
        if v0 is None or v1 is None:
            continue
        if v0 < half <= v1:
            f = (half - v0) / (v1 - v0)
            return 2 ** (math.log2(k0) + f * (math.log2(k1) - math.log2(k0)))
    return None


def analyse(boots, ws_kib):
    """Everything the section shows, machine-readable first. ws_kib: the
    report's parser of ws_<size> metric names."""
    if not boots:
        return None
    presets = {p["name"]: p for b in boots for p in b["header"]["presets"]}
    curves, workloads, unmodelled, invalid, repeats = {}, {}, [], [], {}
    for b in boots:
        mode = _mode_key(b)
        um = {"boot": b["job"], "mode": mode, "windows": len(b["windows"]),
              "invalid": 0, "split_in_window": 0}
        for w in b["windows"]:
            for k, v in w["unmodelled"].items():
                um[k] = um.get(k, 0) + v
            um["kernel_accesses"] = um.get("kernel_accesses", 0) + w["kernel_accesses"]
            if not w["valid"]:
                um["invalid"] += 1
                invalid.append(f"{b['job']} {w['label']}: {w['invalid_reason']}")
                continue
            um["split_in_window"] += w["split_in_window"]
            if w["bench"] is None:
                continue
            key = (w["bench"], w["metric"], mode)
            repeats.setdefault((b["run"],) + key, []).append(
                {p: v["linear_walks_per_op"] for p, v in w["presets"].items()})
            kib = ws_kib(w["metric"]) if w["bench"] in SWEPT else None
            for p, v in w["presets"].items():
                if kib is not None:
                    curves.setdefault((w["bench"], p, mode), {}).setdefault(kib, []).append(
                        v["linear_walks_per_op"])
                else:
                    workloads.setdefault((w["bench"], w["metric"], mode, p), []).append(v)
        unmodelled.append(um)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    curve_out = {}
    for (bench, p, mode), pts in curves.items():
        curve_out.setdefault(bench, {}).setdefault(p, {})[mode] = \
            [(k, med(v)) for k, v in sorted(pts.items())]
    knees = []
    for bench, per_p in curve_out.items():
        for p, per_mode in per_p.items():
            for mode, pts in per_mode.items():
                if not any(mode.startswith(m) for m in PAGE_MAPPED) and "none (" not in mode:
                    continue
                k = knee(pts)
                r = reach_kib(presets[p])
                note = ("coalescing: the nominal reach counts every entry's four pages "
                        "as used; with the pages of a group visited at different times "
                        "in the random order the curve is gradual and its half point lies "
                        "beyond it" if presets[p].get("coalesce") else "")
                knees.append({"bench": bench, "preset": p, "mode": mode, "knee_kib": k,
                              "reach_kib": r, "within": (k is not None and
                                                         abs(k - r) <= KNEE_TOLERANCE * r),
                              "note": note})
    mpki = []
    for (bench, metric, mode, p), vals in sorted(workloads.items()):
        mpki.append({"bench": bench, "metric": metric, "mode": mode, "preset": p,
                     "kernel_walk_mpki": med([v["system_kernel_walk_mpki"] or 0 for v in vals]),
                     "own_kernel_walk_mpki": med([v["kernel_walk_mpki"] or 0 for v in vals]),
                     "walks_per_op": med([v["walks_per_op"] or 0 for v in vals]),
                     "linear_walks_per_op": med([v["linear_walks_per_op"] or 0 for v in vals]),
                     "walks_by_region": vals[0]["walks_by_region"],
                     "walks_by_leaf": vals[0]["walks_by_leaf"]})
    changes = []
    groups = {}
    for m in mpki:
        groups.setdefault((m["bench"], m["metric"]), {}).setdefault(m["preset"], {})[
            m["mode"]] = m["kernel_walk_mpki"]
    for (bench, metric), per_p in groups.items():
        rel = {p: 100 * (v["assume"] - v["off"]) / v["off"]
               for p, v in per_p.items()
               if (v.get("off") or 0) >= MIN_MPKI and "assume" in v}
        if any("assume" in v and "off" in v for v in per_p.values()):
            changes.append({"bench": bench, "metric": metric, "change_pct": rel,
                            "min": min(rel.values()) if rel else None,
                            "max": max(rel.values()) if rel else None,
                            "headline": rel.get("n1"),
                            "presets_below": sorted(p for p in per_p if p not in rel)})
    # Boots of the same run and point (bench/sweep.py --repeat) must agree
    # exactly under -icount.
    identical = [{"run": k[0], "bench": k[1], "metric": k[2], "mode": k[3], "boots": len(v),
                  "identical": all(x == v[0] for x in v)}
                 for k, v in repeats.items() if len(v) > 1]
    return {"label": tlbdata.LABEL, "presets": presets, "curves": curve_out, "knees": knees,
            "mpki": mpki, "changes": changes, "unmodelled": unmodelled, "invalid": invalid,
            "repeats": identical, "boots": [b["job"] for b in boots],
            "plugin": boots[0]["header"].get("version"), "anchor_pct": -28.5}


def plot(data, out, plt):
    files = {}
    for bench, per_p in data["curves"].items():
        fig, axes = plt.subplots(1, len(per_p), figsize=(3.2 * len(per_p), 3.4), sharey=True)
        axes = axes if hasattr(axes, "__len__") else [axes]
        for ax, (p, per_mode) in zip(axes, sorted(per_p.items())):
            for mode, pts in sorted(per_mode.items()):
                ax.plot([k / 1024 for k, _ in pts], [v for _, v in pts], "o-", ms=3, label=mode)
            ax.axvline(reach_kib(data["presets"][p]) / 1024, color="grey", ls=":", lw=1)
            ax.set_xscale("log", base=2)
            ax.set(title=p, xlabel="working set (MiB)")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("linear-map walks / op")
        axes[-1].legend(fontsize=6)
        fig.suptitle(f"{bench}: modelled (QEMU TCG + tlbmodel), not measured; "
                     "dotted: the preset's L2 reach", fontsize=8)
        fig.tight_layout()
        name = f"tlb-model-{bench}"
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=110)
        plt.close(fig)
        files[f"Modelled TLB {bench}"] = f"{name}.png"
    return files


def _f(v, d=3):
    return "–" if v is None else f"{v:.{d}f}"


def _size(kib):
    if kib is None:
        return "–"
    return f"{kib / 1024:.1f} MiB" if kib >= 1024 else f"{kib:.0f} KiB"


def render_md(data, plots, table):
    L = ["## Modelled TLB (QEMU TCG + tlbmodel), not measured", ""]
    L.append("> Every number in this section is **" + data["label"].format(preset="<preset>")
             + "**: the guest's own access stream under QEMU TCG, fed to models of the data "
             "TLBs of the presets below (bench/tlbmodel). Geometry and replacement are "
             "assumptions from the TRMs; walks are counted, not costed; speculative accesses, "
             "DC ZVA and by-VA TLBIs are not seen (counted below). Board runs keep their PMU "
             "columns elsewhere in this report.")
    L.append("")
    L.append(table(["preset", "core", "L1 (FA)", "L2", "4K L2 reach", "source", "confidence"],
                   [[p, v["core"], v["l1_entries"], f"{v['l2_entries']} x {v['l2_ways']}-way",
                     _size(reach_kib(v)), v["source"], v["confidence"]]
                    for p, v in data["presets"].items()]))
    L.append("")
    for bench, per_p in data["curves"].items():
        L.append(f"### {bench}: linear-map walks per operation against the working set")
        L.append("")
        p = "n1" if "n1" in per_p else sorted(per_p)[0]
        modes = sorted(per_p[p])
        sizes = sorted({k for pts in per_p[p].values() for k, _ in pts})
        vals = {m: dict(per_p[p][m]) for m in modes}
        L.append(f"Preset {p} ({data['label'].format(preset=p)}):")
        L.append("")
        L.append(table(["working set"] + modes,
                       [[_size(k)] + [_f(vals[m].get(k)) for m in modes] for k in sizes]))
        L.append("")
        key = f"Modelled TLB {bench}"
        if key in plots:
            L.append(f"![{key}]({plots[key]})")
            L.append("")
    if data["knees"]:
        L.append("### The page-mapped knee per preset (half the plateau) beside the L2 reach")
        L.append("")
        L.append(table(["benchmark", "mode", "preset", "knee", "L2 reach (4K x entries)",
                        f"within {KNEE_TOLERANCE:.0%}", "note"],
                       [[k["bench"], k["mode"], k["preset"], _size(k["knee_kib"]),
                         _size(k["reach_kib"]), "yes" if k["within"] else "no",
                         k.get("note", "")]
                        for k in data["knees"]]))
        L.append("")
    if data["changes"]:
        L.append("### Kernel walk MPKI per workload: blocks (assume) against pages (off)")
        L.append("")
        L.append("Kernel walks (by the instruction's exception level, as perf's `:k` counts) per "
                 "1000 kernel instructions, all vCPUs of the window (memcached's server runs "
                 "on the others); the range is over the presets. Published anchor (AmpereOne, memcached, a PMU measurement): "
                 f"**{data['anchor_pct']:+.1f} %** kernel TLB MPKI with blocks. A comparison, "
                 "not a target: the micro-benchmarks remove nearly every linear-map walk by "
                 "construction.")
        L.append("")
        L.append(table(["workload", "change (n1)", "range over presets",
                        f"presets with pages' MPKI < {MIN_MPKI} (no %)"],
                       [[f"{c['bench']} {c['metric']}",
                         f"{c['headline']:+.1f} %" if c["headline"] is not None else "–",
                         f"{c['min']:+.1f} … {c['max']:+.1f} %" if c["min"] is not None
                         else "–", ", ".join(c["presets_below"]) or "none"]
                        for c in data["changes"]]))
        L.append("")
        rows = [[f"{m['bench']} {m['metric']}", m["mode"], m["preset"],
                 _f(m["kernel_walk_mpki"]), _f(m["walks_per_op"]), _f(m["linear_walks_per_op"]),
                 ", ".join(f"{k} {v}" for k, v in m["walks_by_region"].items() if v) or "–",
                 ", ".join(f"{k} {v}" for k, v in m["walks_by_leaf"].items()) or "–"]
                for m in data["mpki"] if m["preset"] == "n1"]
        L.append("Per mode, preset n1 (walks of the whole window by region and leaf size):")
        L.append("")
        L.append(table(["workload", "mode", "preset", "kernel walk MPKI", "walks/op",
                        "linear walks/op", "walks by region", "walks by leaf"], rows))
        L.append("")
    if data["repeats"]:
        same = sum(r["identical"] for r in data["repeats"])
        L.append(f"Repeated boots: {same} of {len(data['repeats'])} points gave identical "
                 "linear-map walk counts in every preset.")
        L.append("")
    L.append("### Unmodelled, per boot")
    L.append("")
    L.append(table(["boot", "mode", "windows", "invalid", "split in window", "kernel accesses",
                    "no known leaf", "DC ZVA", "by-VA TLBI", "other TLBI"],
                   [[u["boot"], u["mode"], u["windows"], u["invalid"], u["split_in_window"],
                     u.get("kernel_accesses", 0), u.get("kernel_no_leaf", 0),
                     u.get("dc_zva", 0), u.get("tlbi_va", 0), u.get("tlbi_other", 0)]
                    for u in data["unmodelled"]]))
    L.append("")
    for i in data["invalid"][:20]:
        L.append(f"* ⚠ invalid window: {i}")
    if data["invalid"]:
        L.append("")
    return "\n".join(L)
