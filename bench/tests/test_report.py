# SPDX-License-Identifier: GPL-2.0
"""Tests for bench/report.py: statistics on known inputs, console
extraction, unavailable counters, bad inputs that must not hide good ones,
and the rendered report."""
import json
import math
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import report  # noqa: E402

DATA = os.path.join(HERE, "data")
REAL_CONSOLE = os.path.join(DATA, "qemu-repaint.console")


# --------------------------------------------------------------------------
# fixtures: benchmark objects as bench/common.c prints them

EVENTS_UNAVAILABLE = {ev: {"code": "0x00", "listed": False, "available": False,
                           "reason": "not listed in armv8_pmuv3/events (PMCEID bit clear)"}
                      for ev in report.EVENTS}


def bench_obj(bench="pcache-rand-pread", bbml2=None, linear_map="pte", repainted=0,
              values=(100.0, 101.0, 99.0), metric="scatter", emulated=True,
              events=None, counters=None, ops=1000, snapshot=None):
    cmd = "console=ttyAMA0 rodata=full" + (f" arm64.bbml2={bbml2}" if bbml2 else "")
    events = events or EVENTS_UNAVAILABLE
    samples = []
    for v in values:
        s = {"ns": v * ops, "ns_per_op": v, "counters": {}, "pmu_running": 1.0}
        for ev, e in events.items():
            if e["available"]:
                s["counters"][ev] = (counters or {}).get(ev, 0)
        samples.append(s)
    return {
        "schema": "bbml2-bench/1", "bench": bench, "id": "B2", "status": "ok",
        "reason": None, "summary": "test",
        "params": {"samples": len(values), "seed": 1, "cpu": 3},
        "platform": {"midr": "0x000f0510" if emulated else "0x410fd0c1",
                     "implementer": 0 if emulated else 0x41, "emulated": emulated,
                     "cpus_online": 4, "mem_total_kb": 2048000, "page_size": 4096,
                     "release": "6.12.117", "version": "#1"},
        "mode": {"cmdline": cmd, "bbml2": bbml2,
                 "linear_map": {"options": bbml2 or "none", "linear_map": linear_map,
                                "repainted": repainted, "repaint_ns": 5000000 if repainted else 0,
                                "repaint_tables_pte": 1021 if repainted else 0},
                 "linear_map_error": None},
        "pmu": {"name": "armv8_pmuv3", "type": 8, "events": events},
        "snapshot": snapshot or {},
        "metrics": [{"name": metric, "op": "pread 64 B", "ops": ops, "samples": samples}]
        if values else [],
    }


def console(*objs, raw=None):
    """A console log like the lab's: kernel lines, markers, the JSON split
    over lines between tokens (as common.c does)."""
    lines = ["[    0.000000] Booting Linux on physical CPU 0x0",
             "bbml2-lab: suite bench begin", "KTAP version 1", f"1..{len(objs)}"]
    for i, o in enumerate(objs, 1):
        lines.append(f"bbml2-bench: json begin {o['bench']}")
        text = json.dumps(o, separators=(",", ":"))
        # break after every '},' like the C writer does for samples
        lines += text.replace("},{", "},\n{").split("\n")
        lines.append(f"bbml2-bench: json end {o['bench']}")
        lines.append(f"ok {i} {o['bench']}")
    if raw:
        lines += raw
    lines += ["bbml2-lab: suite bench end rc=0", "bbml2-lab: poweroff"]
    return "\r\n".join(lines) + "\r\n"


def make_run(tmp_path, name, jobs):
    """results/<name>/jobs/<job>/{console.log,metadata.json}; jobs is
    {job: (mode, console text)}."""
    run = tmp_path / name
    for job, (mode, text) in jobs.items():
        d = run / "jobs" / job
        d.mkdir(parents=True)
        (d / "console.log").write_text(text)
        (d / "metadata.json").write_text(json.dumps({"spec": {"mode": mode}}))
    (run / "metadata.json").write_text(json.dumps({"tools": {"qemu": "QEMU emulator version 7.2.22"}}))
    return str(run)


# --------------------------------------------------------------------------
# statistics

def test_descriptive_known_values():
    xs = [2, 4, 4, 4, 5, 5, 7, 9]
    assert report.median(xs) == 4.5
    assert report.median([3, 1, 2]) == 2
    assert report.mean(xs) == 5
    assert report.stddev(xs) == pytest.approx(math.sqrt(32 / 7))
    assert report.cov_pct(xs) == pytest.approx(100 * math.sqrt(32 / 7) / 5)
    assert report.stddev([7]) == 0.0
    with pytest.raises(ValueError):
        report.median([])


def test_bootstrap_ci_is_deterministic_and_bounded():
    xs = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5, 11.5, 12.5, 9.5, 14.0]
    lo, hi = report.bootstrap_median_ci(xs)
    assert (lo, hi) == report.bootstrap_median_ci(xs)        # fixed seed
    assert min(xs) <= lo <= report.median(xs) <= hi <= max(xs)
    assert report.bootstrap_median_ci([5.0] * 6) == (5.0, 5.0)
    assert report.bootstrap_median_ci([3.0]) == (3.0, 3.0)


def test_mann_whitney_exact_complete_separation():
    u, p, method = report.mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert method == "exact" and u == 0
    assert p == pytest.approx(2 / 252)                     # 2 / C(10, 5)
    u, p, _ = report.mann_whitney_u(list(range(10)), list(range(10, 20)))
    assert p == pytest.approx(2 / 184756)                  # 2 / C(20, 10)


def test_mann_whitney_exact_known_table_value():
    # n1 = n2 = 4: the U distribution is 1 1 2 3 5 5 7 7 8 7 7 5 5 3 2 1 1 (/70)
    u, p, method = report.mann_whitney_u([1, 2, 4, 7], [3, 5, 6, 8])
    assert method == "exact"
    assert u == 4                        # pairs with x > y: 4>3, 7>3, 7>5, 7>6
    counts = report._mwu_exact_cdf(4, 4)
    assert counts == [1, 1, 2, 3, 5, 5, 7, 7, 8, 7, 7, 5, 5, 3, 2, 1, 1]
    assert p == pytest.approx(2 * 12 / 70)


def test_mann_whitney_ties_and_identical():
    u, p, method = report.mann_whitney_u([1, 1, 2, 2, 3], [1, 2, 2, 3, 3])
    assert method == "normal" and 0.3 < p <= 1.0
    _, p, _ = report.mann_whitney_u([5.0] * 8, [5.0] * 8)
    assert p == 1.0
    # symmetric in its arguments
    a, b = [3.1, 4.2, 5.0, 6.3], [1.0, 2.2, 2.9, 7.7, 8.1]
    assert report.mann_whitney_u(a, b)[1] == pytest.approx(report.mann_whitney_u(b, a)[1])


def test_t_distribution_closed_forms():
    for t in (0.5, 1.0, 3.0, 12.0):
        # df = 1 is Cauchy, df = 2 has a closed form
        assert report.t_two_sided_p(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), rel=1e-9)
        assert report.t_two_sided_p(t, 2) == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-9)
    assert report.t_two_sided_p(1.959964, 1e6) == pytest.approx(0.05, abs=1e-4)
    assert report.t_two_sided_p(0.0, 7) == pytest.approx(1.0)


def _t_pdf(x, df):
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    return c * (1 + x * x / df) ** (-(df + 1) / 2)


def test_welch_known_example():
    x, y = [1, 2, 3, 4, 5], [2, 4, 6, 8, 10]
    t, df, p = report.welch_t(x, y)
    assert t == pytest.approx(-3 / math.sqrt(2.5))
    assert df == pytest.approx(6.25 / (0.0625 + 1.0))
    # independent check: integrate the t density (Simpson) from |t| to 60
    a, b, n = abs(t), 60.0, 20000
    h = (b - a) / n
    s = _t_pdf(a, df) + _t_pdf(b, df) + sum((4 if i % 2 else 2) * _t_pdf(a + i * h, df)
                                          for i in range(1, n))
    assert p == pytest.approx(2 * s * h / 3, abs=2e-4)
    assert 0.10 < p < 0.115


def test_welch_degenerate():
    assert report.welch_t([1.0, 1.0], [1.0, 1.0])[2] == 1.0
    assert report.welch_t([1.0, 1.0], [2.0, 2.0])[2] == 0.0
    with pytest.raises(ValueError):
        report.welch_t([1.0], [2.0, 3.0])


def test_holm():
    assert report.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert report.holm([]) == []
    assert report.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


# --------------------------------------------------------------------------
# console extraction

def test_extract_repairs_spliced_kernel_lines():
    text = console(bench_obj())
    # a kernel message spliced into the middle of a JSON line
    lines = text.split("\r\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("{\"ns\""))
    cut = len(lines[i]) // 2
    lines[i:i + 1] = [lines[i][:cut] + "[   12.345678] random: crng init done",
                      "[   12.345679] another kernel line", lines[i][cut:]]
    objs, errors = report.extract("\r\n".join(lines), "c.log")
    assert errors == []
    assert len(objs) == 1 and objs[0][0] == "pcache-rand-pread"
    assert [s["ns_per_op"] for s in objs[0][1]["metrics"][0]["samples"]] == [100.0, 101.0, 99.0]


def test_extract_real_qemu_console():
    with open(REAL_CONSOLE) as f:
        objs, errors = report.extract(f.read(), "qemu-repaint.console")
    assert errors == []
    benches = [b for b, _, _ in objs]
    assert benches == ["linmap-cost", "pcache-rand-pread", "dentry-scatter-stat", "unix-scatter"]
    lm = objs[0][1]
    assert lm["mode"]["linear_map"]["linear_map"] == "pte"
    assert lm["mode"]["linear_map"]["repainted"] == 1
    assert lm["snapshot"]["ptdump"]["pte_tables"] > 1000
    for _, o, _ in objs[1:]:
        assert o["platform"]["emulated"] is True
        assert o["pmu"]["events"]["dtlb_walk"]["available"] is False
        assert all(len(m["samples"]) == 10 for m in o["metrics"])


def test_malformed_json_does_not_hide_other_objects():
    good = bench_obj(bench="dentry-scatter-stat", metric="scatter")
    text = console(bench_obj(), good)
    text = text.replace('"ns_per_op":100.0', '"ns_per_op":100.0,,', 1)
    objs, errors = report.extract(text, "x/console.log")
    assert [b for b, _, _ in objs] == ["dentry-scatter-stat"]
    assert len(errors) == 1
    assert "x/console.log:" in errors[0] and "invalid JSON for pcache-rand-pread" in errors[0]


def test_cut_stream_and_stray_markers():
    text = console(bench_obj(bench="unix-scatter"))
    text += "bbml2-bench: json begin pcache-rand-pread\r\n{\"schema\":\"bbml2-bench/1\",\r\n"
    objs, errors = report.extract(text, "c")
    assert [b for b, _, _ in objs] == ["unix-scatter"]
    assert any("not terminated" in e for e in errors)
    objs, errors = report.extract("bbml2-bench: json end foo\n", "c")
    assert objs == [] and "without a begin" in errors[0]


def test_validation_errors():
    bad = bench_obj()
    bad["metrics"][0]["samples"][1]["ns_per_op"] = "fast"
    objs, errors = report.extract(console(bad), "c")
    assert objs == [] and "positive ns_per_op" in errors[0]
    other = bench_obj()
    other["schema"] = "something-else/9"
    objs, errors = report.extract(console(other), "c")
    assert objs == [] and "unknown schema" in errors[0]


def test_mode_mapping_and_expectations():
    assert report.mode_from_bbml2(None) == "none"
    assert report.mode_from_bbml2("off") == "off"
    assert report.mode_from_bbml2("assume") == "assume"
    assert report.mode_from_bbml2("assume,repaint") == "assume-repaint"
    assert report.mode_from_bbml2("repaint") == "repaint"
    # result directories from before the rename keep reading right
    assert report.run_mode("repaint", "assume,repaint") == "assume-repaint"
    assert report.run_mode("repaint", "repaint") == "repaint"
    assert report.run_mode(None, "assume") == "assume"
    assert report.mode_from_bbml2("off,assume") == "off"
    assert report.expected_map("assume") == ("blocks", 0)
    assert report.expected_map("none") is None


# --------------------------------------------------------------------------
# datasets, analysis and rendering

def two_mode_run(tmp_path, name="run1", base_vals=(100, 102, 98, 101, 99, 100.5, 103, 97),
                 blk_vals=(80, 82, 79, 81, 80.5, 78, 83, 79.5)):
    return make_run(tmp_path, name, {
        "bench-none": ("none", console(bench_obj(values=base_vals))),
        "bench-assume": ("assume", console(bench_obj(bbml2="assume", linear_map="blocks",
                                                     values=blk_vals))),
    })


def test_one_boot_per_mode_is_untestable(tmp_path):
    # 8 samples per mode but one boot each: samples are not boots, so no
    # p value can be small and no mark is given, however clear the samples.
    ds = report.collect([two_mode_run(tmp_path)])
    assert ds["errors"] == []
    an = report.analyse(ds)
    assert an["baseline"] == "none"
    (c,) = an["comparisons"]
    assert c["mode"] == "assume" and c["kind"] == "test"
    # one boot each: the boot medians are the sample medians 100.25 and 80.25
    assert c["delta_pct"] == pytest.approx(100 * (100.25 - 80.25) / 100.25)
    assert c["ratio"] == pytest.approx(80.25 / 100.25)
    assert c["p_mwu"] == 1.0 and c["min_p"] == 1.0 and c["mde_pct"] is None
    assert not c["significant"] and c["verdict"].startswith("untestable")
    st = {s["mode"]: s for s in an["stats"]}
    assert st["none"]["n"] == 8 and st["none"]["boots"] == 1
    assert st["none"]["median"] == 100.25
    assert st["none"]["counters_per_op"]["dtlb_walk"]["available"] is False
    assert any("no A/A control" in w for w in ds["warnings"])


def multi_boot_run(tmp_path, modes, name="multi"):
    """modes: {mode: (bbml2, linear_map, [boot medians])}; each boot has
    three samples around its median (-1, 0, +1)."""
    jobs = {}
    for mode, (bbml2, lmap, meds) in modes.items():
        for i, m in enumerate(meds):
            jobs[f"bench-{mode}-r{i + 1:02d}"] = (mode, console(bench_obj(
                bbml2=bbml2, linear_map=lmap, repainted=int(mode == "assume-repaint"),
                values=(m - 1, m, m + 1))))
    return make_run(tmp_path, name, jobs)


def test_boot_level_comparison_significant(tmp_path):
    base = [100, 102, 98, 101, 99, 100.5]
    blk = [80, 82, 79, 81, 80.5, 78]
    ds = report.collect([multi_boot_run(tmp_path, {
        "off": ("off", "pte", base), "assume": ("assume", "blocks", blk)})])
    an = report.analyse(ds)
    c = next(c for c in an["comparisons"] if c["mode"] == "assume")
    assert c["kind"] == "test" and c["boots"] == 6 and c["baseline_boots"] == 6
    assert c["median"] == 80.25 and c["baseline_median"] == 100.25
    assert c["delta_pct"] == pytest.approx(100 * 20 / 100.25)
    # complete separation of 6 + 6 boots: exact p = 2 / C(12, 6)
    assert c["mwu_method"] == "exact" and c["p_mwu"] == pytest.approx(2 / 924)
    lo, hi = c["delta_ci95"]
    assert 15 < lo < c["delta_pct"] < hi < 23
    assert c["significant"] and c["verdict"] == "faster"
    assert 0 < c["mde_pct"] < 5                 # CoV ~1.4 %: a few % detectable
    st = {s["mode"]: s for s in an["stats"]}
    assert st["off"]["median"] == 100.25 and st["off"]["boots"] == 6
    assert st["off"]["within_boot_cov_pct"] == pytest.approx(1.0, rel=0.02)


def test_aa_control_present_and_unmarked(tmp_path):
    # the baseline's 6 boots split into 3 + 3 alternating in run order
    ds = report.collect([multi_boot_run(tmp_path, {
        "off": ("off", "pte", [100, 130, 101, 131, 99, 129]),
        "assume": ("assume", "blocks", [80, 81, 79, 80, 82, 78])})])
    an = report.analyse(ds)
    (aa,) = [c for c in an["comparisons"] if c["kind"] == "aa"]
    assert aa["mode"] == "off A/A" and aa["baseline_boots"] == 3 and aa["boots"] == 3
    # jobs run in name order here: r1 r3 r5 (100, 101, 99) vs r2 r4 r6 (130, 131, 129)
    assert aa["baseline_median"] == 100 and aa["median"] == 130
    assert aa["min_p"] == pytest.approx(0.1) and aa["p_mwu"] == pytest.approx(0.1)
    assert not aa["significant"] and not aa["significant_holm"]
    assert aa["verdict"] == "A/A control: no difference (but 3+3 boots cannot reach p < 0.05)"
    md = report.render_md(ds, an, "t", [])
    row = next(line for line in md.splitlines() if line.startswith("| off A/A"))
    assert "*" not in row.split("|")[2]


def test_aa_control_that_differs_is_flagged(tmp_path):
    # 10 boots: a drifting host puts 5 + 5 far apart -> the control fails loudly
    ds = report.collect([multi_boot_run(tmp_path, {
        "off": ("off", "pte", [100, 150, 101, 151, 99, 149, 100, 152, 98, 150])})])
    an = report.analyse(ds)
    (aa,) = [c for c in an["comparisons"] if c["kind"] == "aa"]
    assert aa["p_mwu"] < 0.05 and aa["ci_excludes_zero"]
    assert not aa["significant"]                # never a mark on a control
    assert "DIFFERS" in aa["verdict"]
    assert any("A/A" in w and "DIFFERS" in w for w in ds["warnings"])


def test_identical_page_tables_get_no_marks(tmp_path):
    # off and assume-repaint are both PTE maps: same layout, however big the
    # difference, no mark and an identical-layout verdict; assume is tested.
    ds = report.collect([multi_boot_run(tmp_path, {
        "off": ("off", "pte", [100, 101, 99, 100, 102, 98]),
        "assume": ("assume", "blocks", [100, 101, 99, 100, 102, 98]),
        "assume-repaint": ("assume,repaint", "pte", [130, 131, 129, 132, 128, 130])})])
    an = report.analyse(ds)
    c = {x["mode"]: x for x in an["comparisons"]}
    rep = c["assume-repaint"]
    assert rep["kind"] == "identical" and rep["same_layout"] is True
    assert rep["p_mwu"] < 0.01 and not rep["significant"] and not rep["significant_holm"]
    assert rep["verdict"].startswith("identical page tables: DIFFERS")
    assert c["assume"]["kind"] == "test" and c["assume"]["verdict"] == "no difference shown"
    # Holm counts only tested comparisons
    assert c["assume"]["p_holm"] == pytest.approx(c["assume"]["p_mwu"])
    assert rep["p_holm"] is None and an["geomean"]["assume"]["metrics"] == 1
    assert "assume-repaint" not in an["geomean"]


def test_layout_identity_from_ptdump():
    from benchstats import layout_of, same_layout
    gib = 1 << 30
    off = layout_of({"pte": 2 * gib})
    repainted = layout_of({"pte": 2 * gib - (4 << 20), "pmd": 4 << 20})   # alias keeps blocks
    blocks = layout_of({"pmd": 2 * gib - (8 << 20), "cont_pte": 8 << 20})
    assert same_layout(off, repainted) is True
    assert same_layout(off, blocks) is False
    assert same_layout(off, "pte") is True and same_layout(blocks, "pte") is False
    assert same_layout("pte", "blocks") is False and same_layout(None, "pte") is None


def test_mde_and_min_p_known_values():
    from benchstats import mde_pct, min_mwu_p, linear_fit
    assert min_mwu_p(3, 3) == pytest.approx(0.1)
    assert min_mwu_p(5, 5) == pytest.approx(2 / 252)
    # CoV 10 % in both groups, 4 + 4 boots: (1.95996 + 0.84162) * 10 * sqrt(1/2)
    xs = [90, 100, 110, 100]
    c = 100 * report.stddev(xs) / report.mean(xs)
    assert mde_pct(xs, xs) == pytest.approx(2.80158 * c * math.sqrt(0.5), rel=1e-4)
    assert mde_pct([1], xs) is None
    a, b, r2 = linear_fit([1, 2, 4, 8], [3, 5, 9, 17])
    assert (a, b, r2) == (pytest.approx(1), pytest.approx(2), pytest.approx(1))
    a, b, r2 = linear_fit([1, 2, 3, 4], [1, 3, 2, 4])
    assert r2 == pytest.approx(0.64)
    with pytest.raises(ValueError):
        linear_fit([1, 1], [2, 3])


def test_randomised_order_is_reported(tmp_path):
    run = multi_boot_run(tmp_path, {"off": ("off", "pte", [100, 101, 99, 100])})
    meta = json.loads(open(os.path.join(run, "metadata.json")).read())
    meta["bench"] = {"seed": 42, "order": ["x"]}
    open(os.path.join(run, "metadata.json"), "w").write(json.dumps(meta))
    for i, job in enumerate(["bench-off-r03", "bench-off-r01", "bench-off-r04", "bench-off-r02"]):
        mp = os.path.join(run, "jobs", job, "metadata.json")
        m = json.loads(open(mp).read())
        m["started"] = f"2026-12-01T00:00:0{i}+00:00"
        m["git"] = {"revision": None, "dirty": True}
        open(mp, "w").write(json.dumps(m))
    ds = report.collect([run])
    an = report.analyse(ds)
    assert [b.split("/")[-1] for b in an["boot_order"]] == [
        "bench-off-r03", "bench-off-r01", "bench-off-r04", "bench-off-r02"]
    assert an["order"].startswith("randomised") and "42" in an["order"]
    flags = " ".join(an["provenance"]["flags"])
    assert "4 of 4 boots ran from a dirty tree" in flags
    assert "no git revision" in flags
    md = report.render_md(ds, an, "t", [run])
    assert "Input flag:** 4 of 4 boots ran from a dirty tree" in md


def test_unavailable_counters_render_as_na_never_zero(tmp_path):
    avail = {ev: {"code": "0x00", "listed": True, "available": ev == "dtlb_walk", "reason": None}
             for ev in report.EVENTS}
    for ev in report.EVENTS:
        if ev != "dtlb_walk":
            avail[ev]["reason"] = "perf_event_open: Operation not supported (EOPNOTSUPP)"
    hw = bench_obj(emulated=False, events=avail, counters={"dtlb_walk": 0})
    emu = bench_obj(bbml2="assume", linear_map="blocks")
    run = make_run(tmp_path, "r", {"a": ("off", console(hw)), "b": ("assume", console(emu))})
    ds = report.collect([run])
    an = report.analyse(ds)
    st = {s["mode"]: s for s in an["stats"]}
    # available and really zero: a number, not n/a
    assert st["off"]["counters_per_op"]["dtlb_walk"]["median"] == 0
    assert st["off"]["counters_per_op"]["l1d_tlb_refill"]["available"] is False
    assert all(r["per_op"]["l2d_tlb_refill"] is None for r in ds["records"])
    md = report.render_md(ds, an, "t", [run])
    off_row = next(line for line in md.splitlines() if line.startswith("| off | 0.000"))
    assert "n/a (perf_event_open: Operation not supported (EOPNOTSUPP))" in off_row
    assume_row = next(line for line in md.splitlines()
                      if line.startswith("| assume | n/a (emulated)"))
    assert "0.000" not in assume_row


def test_main_writes_reports_and_keeps_good_runs(tmp_path, capsys):
    good = two_mode_run(tmp_path, "good")
    broken = make_run(tmp_path, "broken", {
        "bench-none": ("none", console(bench_obj()).replace('"ns_per_op":99.0', '"ns_per_op":99.0}', 1)),
    })
    missing = str(tmp_path / "does-not-exist")
    out = tmp_path / "rep"
    rc = report.main(["-o", str(out), good, broken, missing])
    assert rc == 1                                   # written, but inputs had errors
    err = capsys.readouterr().err
    assert "invalid JSON for pcache-rand-pread" in err and "does-not-exist" in err
    rep = json.loads((out / "report.json").read_text())
    assert rep["schema"] == report.SCHEMA
    assert len(rep["records"]) == 16                 # both modes of the good run
    assert {r["run"] for r in rep["records"]} == {"good"}
    assert len(rep["errors"]) == 2
    md = (out / "report.md").read_text()
    assert "## Input problems" in md and "does-not-exist" in md
    assert "QEMU TCG — emulated, no TLB events; times are not hardware numbers" in md
    assert "Mann-Whitney U" in md and "Holm" in md
    svg = (out / "report.svg").read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_main_without_usable_data_exits_2(tmp_path, capsys):
    run = make_run(tmp_path, "empty", {"smoke": ("none", "bbml2-lab: suite smoke begin\nok 1 x\n")})
    rc = report.main(["-o", str(tmp_path / "rep"), run])
    assert rc == 2
    assert "no usable benchmark data" in capsys.readouterr().err
    assert not (tmp_path / "rep" / "report.md").exists()


def test_baseline_choice(tmp_path):
    run = make_run(tmp_path, "r", {
        "n": ("none", console(bench_obj())),
        "o": ("off", console(bench_obj(bbml2="off"))),
        "a": ("assume", console(bench_obj(bbml2="assume", linear_map="blocks"))),
    })
    ds = report.collect([run])
    assert report.analyse(ds)["baseline"] == "off"
    assert report.analyse(ds, baseline="assume")["baseline"] == "assume"
    with pytest.raises(report.InputError):
        report.analyse(ds, baseline="repaint")
    assert report.main(["-o", str(tmp_path / "x"), "--baseline", "repaint", run]) == 2


def test_mode_proof_mismatch_is_a_warning(tmp_path):
    run = make_run(tmp_path, "r", {"a": ("assume", console(bench_obj(bbml2="assume")))})
    ds = report.collect([run])
    assert any("expects linear_map=blocks" in w for w in ds["warnings"])


def test_shape_table_memory_deltas(tmp_path):
    def lm(mode, bbml2, lmap, rep, total, free, pt):
        snap = {"mem_total_kb": total, "mem_free_kb": free, "page_tables_kb": pt,
                "boot_total_kb": 2097152, "boot_reserved_kb": 52196 - (total - 2048176),
                "ptdump": {"ok": True, "bytes": {"pte": 100, "pmd": 0, "pud": 0,
                                                 "cont_pmd": 0, "cont_pte": 0},
                           "pte_tables": 1022 if lmap == "pte" else 1, "pmd_tables": 2}}
        return console(bench_obj(bench="linmap-cost", bbml2=bbml2, linear_map=lmap,
                                 repainted=rep, values=(), snapshot=snap))
    run = make_run(tmp_path, "r", {
        "n": ("none", lm("none", None, "pte", 0, 2048176, 2022616, 72)),
        "a": ("assume", lm("assume", "assume", "blocks", 0, 2052264, 2028188, 72)),
        "r": ("repaint", lm("repaint", "assume,repaint", "pte", 1, 2052264, 2018052, 148)),
    })
    ds = report.collect([run])
    assert ds["errors"] == [] and ds["records"] == []
    an = report.analyse(ds)
    sh = an["shape"]
    assert sh["assume"]["delta_mem_total_kb"] == 4088
    assert sh["assume-repaint"]["delta_mem_free_kb"] == 2018052 - 2022616
    assert sh["none"]["model_pte_tables_kb"] == 4096
    assert sh["assume-repaint"]["repaint_tables_pte"] == 1021
    md = report.render_md(ds, an, "t", [run])
    assert "| assume | 2 052 264 | +4 088 kB |" in md


def test_shape_table_model_follows_the_page_size(tmp_path):
    """The RAM/512 model is 4K's: with 16K pages one table of 2048 PTEs maps
    32M, so the model is RAM/2048 (linmap-cost records ptdump.page_size)."""
    def lm(page_size):
        pt = {"ok": True, "bytes": {"pte": 100}, "pte_tables": 64, "pmd_tables": 1}
        if page_size:
            pt["page_size"] = page_size
        snap = {"mem_total_kb": 2048176, "mem_free_kb": 2022616, "page_tables_kb": 72,
                "boot_total_kb": 2097152, "boot_reserved_kb": 52196, "ptdump": pt}
        return console(bench_obj(bench="linmap-cost", bbml2=None, linear_map="pte",
                                 repainted=0, values=(), snapshot=snap))
    for page_size, model in ((16384, 1024), (65536, 256), (4096, 4096), (None, 4096)):
        run = make_run(tmp_path / str(page_size), "r", {"n": ("none", lm(page_size))})
        an = report.analyse(report.collect([run]))
        assert an["shape"]["none"]["model_pte_tables_kb"] == model, page_size


def test_real_console_end_to_end(tmp_path):
    d = tmp_path / "run" / "jobs" / "bench-repaint-4c-2048m"
    d.mkdir(parents=True)
    with open(REAL_CONSOLE) as f:
        (d / "console.log").write_text(f.read())
    out = tmp_path / "rep"
    assert report.main(["-o", str(out), str(tmp_path / "run")]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["modes"] == ["assume-repaint"]        # an old run: "repaint" was assume,repaint
    assert rep["emulated"] is True
    assert len(rep["records"]) == 70                 # 7 metrics x 10 samples
    assert rep["shape"]["assume-repaint"]["linear_map"] == ["pte"]


def _git_repo(tmp_path):
    """A scratch checkout with three commits: kernel/ changes between the
    first two, only docs in the third."""
    repo = tmp_path / "repo"
    (repo / "kernel").mkdir(parents=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")

    def commit(path, text):
        (repo / path).write_text(text)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "-m", path], cwd=repo, check=True, env=env)
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, env=env,
                              capture_output=True, text=True).stdout.strip()

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    old = commit("kernel/series", "0001-a.patch\n")
    mid = commit("kernel/series", "0001-a.patch\n0002-b.patch\n")
    head = commit("README", "docs only\n")
    return str(repo), old, mid, head


def test_older_kernel_and_unknown_revision_are_flagged(tmp_path):
    repo, old, mid, head = _git_repo(tmp_path)
    ds = {"boots": [{"boot": "a", "git": {"revision": old, "dirty": False}},
                    {"boot": "b", "git": {"revision": mid, "dirty": False}},
                    {"boot": "c", "git": {"revision": head, "dirty": False}},
                    {"boot": "d", "git": {"revision": "f" * 40, "dirty": False}}]}
    prov = report.provenance(ds, repo=repo)
    flags = prov["flags"]
    assert prov["head"] == head
    # old's kernel/ differs from HEAD's: flagged; mid differs only in docs.
    assert [f for f in flags if old[:12] in f] == [
        f"1 boots ran revision {old[:12]}, whose kernel/ differs from HEAD {head[:12]}: "
        "an older (or other) kernel series"]
    assert not [f for f in flags if mid[:12] in f]
    assert any("f" * 12 in f and "unknown to this checkout" in f for f in flags)
    assert len(flags) == 2


def test_several_kernel_images_are_flagged(tmp_path):
    repo, _, _, head = _git_repo(tmp_path)
    ds = {"boots": [{"boot": b, "git": {"revision": head}, "kernel": {"image_sha256": img}}
                    for b, img in (("a", "1" * 64), ("b", "1" * 64), ("c", "2" * 64))]}
    flags = report.provenance(ds, repo=repo)["flags"]
    assert flags == ["2 different kernel Images in this report: 111111111111… (2 boots); "
                     "222222222222… (1 boots)"]
