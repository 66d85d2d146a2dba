# SPDX-License-Identifier: GPL-2.0
"""Tests for make report (bench/page.py), the RAM sweep analysis
(bench/ramsweep.py) and verdicts across runs (bench/verdicts.py)."""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import page  # noqa: E402
import ramsweep  # noqa: E402
import report  # noqa: E402
import verdicts  # noqa: E402
from test_report import bench_obj, console  # noqa: E402

GIB = 1 << 30


def write_run(root, name, started, jobs, status="complete", results=None, plan="bench"):
    """A run directory as lab/run.py leaves it. jobs: {job: (spec, console)}."""
    run = root / name
    (run / "jobs").mkdir(parents=True)
    for i, (job, (spec, text)) in enumerate(jobs.items()):
        d = run / "jobs" / job
        d.mkdir()
        (d / "console.log").write_text(text)
        (d / "metadata.json").write_text(json.dumps({
            "spec": {"board": "qemu-virt", "cpus": 4, **spec},
            "started": f"{started[:10]}T00:{i // 60:02d}:{i % 60:02d}+00:00",
            "git": {"revision": None, "dirty": False},
            "kernel": {"image_sha256": "ab" * 32}}))
    meta = {"run_id": name, "status": status, "plan": plan, "started": started,
            "jobs_planned": list(jobs), "git": {"revision": None, "dirty": False}}
    (run / "metadata.json").write_text(json.dumps(meta))
    if results is not None:
        (run / "results.json").write_text(json.dumps(results))
    return str(run)


def timed_jobs(mode_meds, metric="scatter", mem=2048):
    jobs = {}
    for mode, (bbml2, lmap, meds) in mode_meds.items():
        for i, m in enumerate(meds):
            jobs[f"bench-{mode}-r{i + 1:02d}"] = ({"mode": mode, "mem_mb": mem}, console(
                bench_obj(bbml2=bbml2, linear_map=lmap, metric=metric,
                          values=(m - 1, m, m + 1))))
    return jobs


# --------------------------------------------------------------------------
# verdicts

def res(job, name, result):
    return {"job": job, "name": name, "result": result}


def test_verdicts_across_runs_use_the_nightly_comparison():
    n1 = [res("a", "t1", "pass"), res("a", "t2", "fail"), res("a", "t3", "pass"),
          res("a", "t5", "pass")]
    n2 = [res("a", "t1", "fail"), res("a", "t2", "pass"), res("a", "t5", "fail"),
          res("b", "t9", "fail")]
    n3 = [res("a", "t1", "pass"), res("a", "t2", "pass"), res("a", "t5", "fail"),
          res("b", "t9", "fail")]
    (i0, j0, d1), (i1, j1, d2) = verdicts.series([n1, n2, n3])
    assert (i0, j0, i1, j1) == (0, 1, 1, 2)
    key = lambda items: sorted((x["job"], x["name"]) for x in items)  # noqa: E731
    assert key(d1["new_failures"]) == [("a", "t1"), ("a", "t5"), ("b", "t9")]
    assert key(d1["fixed"]) == [("a", "t2")] and key(d1["missing"]) == [("a", "t3")]
    assert d1["new_tests"] == 1
    # t1 went pass -> fail -> pass over three nights: fixed tonight; "flaky"
    # is only a test that failed and passed within one night (compare.py)
    assert key(d2["fixed"]) == [("a", "t1")] and d2["flaky"] == []
    assert d2["new_failures"] == [] and d2["missing"] == []


def test_page_lists_verdict_changes(tmp_path):
    r1 = write_run(tmp_path, "20261201T000000Z-nightly-a", "2026-12-01T00:00:00+00:00", {},
                   results=[res("k", "kselftest.x", "pass"), res("k", "kselftest.y", "pass")],
                   plan="nightly")
    r2 = write_run(tmp_path, "20261202T000000Z-nightly-b", "2026-12-02T00:00:00+00:00", {},
                   results=[res("k", "kselftest.x", "fail")], plan="nightly")
    out = tmp_path / "p"
    page.build([r2, r1], str(out))
    md = (out / "report.md").read_text()
    assert ("**nightly: 20261201T000000Z-nightly-a → 20261202T000000Z-nightly-b**: "
            "1 new failures, 0 fixed, 0 flaky, 1 missing") in md
    assert "* new failures: `k` `kselftest.x` fail (was pass)" in md
    assert "* missing: `k` `kselftest.y` not reported (was pass)" in md


def test_load_results_problems(tmp_path):
    assert verdicts.load_results(str(tmp_path))[1].endswith("missing (the run never wrote "
                                                              "results: crashed at setup?)")
    (tmp_path / "results.json").write_text('[{"name": "x", "result": "pass"}, 3]')
    good, err = verdicts.load_results(str(tmp_path))
    assert len(good) == 1 and "1 malformed" in err


# --------------------------------------------------------------------------
# the page

def test_partial_and_failed_runs_still_give_a_page(tmp_path):
    ok = write_run(tmp_path, "20261201T000000Z-bench-aaaaaa", "2026-12-01T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [100, 101, 99, 100])}),
                   results=[res("j", "bench.boot", "pass")])
    # a run killed mid-way: status running, no results.json, one planned job missing
    cut = write_run(tmp_path, "20261202T000000Z-bench-bbbbbb", "2026-12-02T00:00:00+00:00",
                    timed_jobs({"off": ("off", "pte", [100, 102])}), status="running")
    meta = json.loads(open(os.path.join(cut, "metadata.json")).read())
    meta["jobs_planned"].append("bench-off-r03")
    open(os.path.join(cut, "metadata.json"), "w").write(json.dumps(meta))
    empty = tmp_path / "20261203T000000Z-setup-cccccc"
    empty.mkdir()
    out = tmp_path / "page"
    code, line = page.build([ok, cut, str(empty)], str(out))
    assert code == 1 and "3 runs" in line
    md = (out / "report.md").read_text()
    assert "run status 'running'" in md and "results.json: missing" in md
    assert "| 20261202T000000Z-bench-bbbbbb | bench | 2026-12-02 |" in md
    assert "2 (1 missing)" in md
    assert (out / "index.html").read_text().startswith("<!DOCTYPE html>")
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == page.SCHEMA and len(data["runs"]) == 3


def test_nothing_usable_exits_2(tmp_path, capsys):
    assert page.main(["-o", str(tmp_path / "p"), str(tmp_path / "nope")]) == 2
    assert "no run directory" in capsys.readouterr().err


def test_regression_against_previous_night(tmp_path):
    n1 = write_run(tmp_path, "20261201T000000Z-bench-a", "2026-12-01T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [100, 101, 99, 100.5, 102])}))
    n2 = write_run(tmp_path, "20261202T000000Z-bench-b", "2026-12-02T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [120, 121, 119, 120.5, 122])}))
    n3 = write_run(tmp_path, "20261203T000000Z-bench-c", "2026-12-03T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [121, 119, 120, 120.5, 122.5])}))
    ds = report.collect([n1, n2, n3])
    nights = page.night_comparisons(page.configurations(ds))
    assert len(nights) == 2
    first, second = nights
    assert first["before"].startswith("2026-12-01") and first["after"].startswith("2026-12-02")
    assert first["delta_pct"] == pytest.approx(-20.0, abs=0.1)
    assert first["regression"] and not first["improvement"]
    assert not second["regression"] and not second["improvement"]     # same level
    # the same slowdown on a control metric is never a regression
    c1 = write_run(tmp_path, "20261204T000000Z-bench-d", "2026-12-04T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [100, 101, 99, 100.5, 102])},
                              metric="single_page"))
    c2 = write_run(tmp_path, "20261205T000000Z-bench-e", "2026-12-05T00:00:00+00:00",
                   timed_jobs({"off": ("off", "pte", [120, 121, 119, 120.5, 122])},
                              metric="single_page"))
    (c,) = page.night_comparisons(page.configurations(report.collect([c1, c2])))
    assert c["control"] and not c["regression"]


def lm_console(mode, mem_mb, repaint_ns=0, ptdump_pte_tables=None, write_ns=500.0,
               mem_total_kb=None, mem_free_kb=None, extra_lm=None):
    ram = mem_mb << 20
    blocks = mode == "assume"
    alias = 4 << 20
    pt = ({"pud": 0, "cont_pmd": 0, "pmd": ram - (2 << 20), "cont_pte": 0, "pte": 2 << 20}
          if blocks else {"pud": 0, "cont_pmd": 0, "pmd": alias, "cont_pte": 0,
                          "pte": ram - alias})
    pte_tables = 1 if blocks else (ram - alias) // (2 << 20)
    if ptdump_pte_tables is not None:
        pte_tables = ptdump_pte_tables
    pmd_tables = 1 if blocks else mem_mb // 1024 or 1
    snap = {"mem_total_kb": mem_total_kb or (ram >> 10) - 100000,
            "mem_free_kb": mem_free_kb or (ram >> 10) - 150000, "page_tables_kb": 100,
            "boot_total_kb": ram >> 10, "boot_reserved_kb": 50000,
            "ptdump": {"ok": True, "bytes": pt, "pte_tables": pte_tables,
                       "pmd_tables": pmd_tables}}
    obj = bench_obj(bench="linmap-cost", metric="write_tables",
                    bbml2={"off": "off", "assume": "assume",
                           "assume-repaint": "assume,repaint"}[mode],
                    linear_map="blocks" if blocks else "pte",
                    repainted=int(mode == "assume-repaint"),
                    values=(write_ns, write_ns, write_ns), snapshot=snap)
    lm = obj["mode"]["linear_map"]
    lm["repaint_ns"] = repaint_ns
    lm["repaint_tables_pte"] = (ram - alias) // (2 << 20) - 1 if repaint_ns else 0
    lm["repaint_tables_pmd"] = mem_mb // 1024 - 1 if repaint_ns else 0
    lm.update(extra_lm or {})
    text = console(obj).replace("bbml2-lab: suite bench begin",
                                "[    0.750000] Run /init as init process\r\n"
                                "bbml2-lab: suite bench begin")
    return text


def sweep_run(tmp_path, name="20261201T000000Z-bench-sweep-x", extra_lm=None, icount=True):
    jobs = {}
    for mem in (1024, 2048, 4096):
        for r in (1, 2):
            for mode in ("off", "assume", "assume-repaint"):
                rep = 1_000_000 + 20_000_000 * (mem // 1024) if mode == "assume-repaint" else 0
                jobs[f"sweep-{mode}-4c-{mem}m-r{r}"] = ({"mode": mode, "mem_mb": mem}, lm_console(
                    mode, mem, repaint_ns=rep, extra_lm=extra_lm))
    run = write_run(tmp_path, name, "2026-12-01T00:00:00+00:00", jobs, plan="bench-sweep",
                    results=[])
    meta = json.loads(open(os.path.join(run, "metadata.json")).read())
    meta["bench"] = {"seed": 7, "qemu_options": ["-icount shift=0"] if icount else []}
    open(os.path.join(run, "metadata.json"), "w").write(json.dumps(meta))
    return run


def test_ram_sweep_model_fit_and_ratio(tmp_path):
    ds = report.collect([sweep_run(tmp_path)])
    sw = ramsweep.analyse(ds)
    assert sw["map_mem"] == "not instrumented"
    (clock,) = sw["clocks"]
    assert clock == "icount" and "instruction time" in sw["clocks"]["icount"]["label"]
    c = sw["clocks"]["icount"]
    assert c["modes"] == ["off", "assume", "assume-repaint"]
    rows = {(r["mode"], r["mem_mb"]): r for r in c["rows"]}
    off2 = rows[("off", 2048)]
    assert off2["model"]["ram_over_512_kb"] == 4096
    assert off2["model"]["model_pte_tables"] == 1022 and off2["model_exact"]
    assert rows[("assume", 4096)]["model_exact"]
    rep = rows[("assume-repaint", 2048)]
    assert rep["repaint_ms"] == pytest.approx(41.0) and rep["repaint_spread_pct"] == 0
    # repaint_ns / (write ns per page x tables): 41e6 / (500 x (1021 + 1))
    assert rep["repaint_over_memset"] == pytest.approx(41e6 / (500 * 1022))
    f = c["fits"]["assume-repaint"]["repaint_ms"]
    assert f["slope_per_gib"] == pytest.approx(20.0) and f["intercept"] == pytest.approx(1.0)
    assert f["r2"] == pytest.approx(1.0)
    assert c["fits"]["off"]["repaint_ms"] is None
    assert rows[("off", 1024)]["init_ms"] == pytest.approx(750.0)
    md = ramsweep.render_md(sw)
    assert "map_mem(): **not instrumented**" in md and "instruction time" in md


def test_ram_sweep_preparation_and_whole_ratio(tmp_path):
    # a kernel that fills the repaint's tables before the window reports the
    # preparation apart: window and whole repaint each get their memset ratio
    prep = {"repaint_prep_ns": 600_000}
    ds = report.collect([sweep_run(tmp_path, extra_lm=prep)])
    c = ramsweep.analyse(ds)["clocks"]["icount"]
    rows = {(r["mode"], r["mem_mb"]): r for r in c["rows"]}
    rep = rows[("assume-repaint", 2048)]
    assert rep["prep_ms"] == pytest.approx(0.6)
    assert rep["repaint_over_memset"] == pytest.approx(41e6 / (500 * 1022))
    assert rep["whole_over_memset"] == pytest.approx((41e6 + 600_000) / (500 * 1022))
    assert rows[("off", 2048)]["prep_ms"] is None
    assert c["fits"]["assume-repaint"]["prep_ms"]["intercept"] == pytest.approx(0.6)
    md = ramsweep.render_md({"clocks": {"icount": c}, "map_mem": "not instrumented"})
    assert "whole repaint (preparation + window) / memset" in md
    assert "| preparation ms | whole / memset |" in md
    # the runs of kernels without the key stay readable: no whole ratio
    ds = report.collect([sweep_run(tmp_path, name="20261201T000000Z-bench-sweep-y")])
    c = ramsweep.analyse(ds)["clocks"]["icount"]
    rep = {(r["mode"], r["mem_mb"]): r for r in c["rows"]}[("assume-repaint", 2048)]
    assert rep["prep_ms"] is None and rep["whole_over_memset"] is None
    assert "no preparation in this kernel" in ramsweep.render_md(
        {"clocks": {"icount": c}, "map_mem": "not instrumented"})


def test_ram_sweep_model_mismatch_and_map_mem(tmp_path):
    ds = report.collect([sweep_run(tmp_path, extra_lm={"map_mem_ns": 123}, icount=False)])
    for o in ds["objects"]:
        if o["mode"] == "off" and "1024m" in o["job"]:
            o["snapshot"]["ptdump"]["pte_tables"] += 1          # one table too many
    sw = ramsweep.analyse(ds)
    assert sw["map_mem"] == "instrumented: map_mem_ns"
    c = sw["clocks"]["tcg"]
    rows = {(r["mode"], r["mem_mb"]): r for r in c["rows"]}
    assert not rows[("off", 1024)]["model_exact"] and rows[("off", 1024)]["model_residuals"] == [1]
    assert rows[("off", 2048)]["model_exact"]
    # map_mem_ns (debugfs, the virtual counter): per size and fitted per mode
    assert rows[("off", 1024)]["map_mem_ms"] == pytest.approx(123e-6)
    f = c["fits"]["off"]["map_mem_ms"]
    assert f["slope_per_gib"] == pytest.approx(0.0) and f["intercept"] == pytest.approx(123e-6)
    md = ramsweep.render_md(sw)
    assert "| exact | map_mem ms | repaint ms |" in md
    assert "debugfs `map_mem_ns`" in md


def test_page_with_sweep_plots_and_cover_letter(tmp_path):
    pytest.importorskip("matplotlib", reason="python3-matplotlib not installed "
                        "(DEPS_REPORT=1 scripts/deps.sh)")
    out = tmp_path / "page"
    code, line = page.build([sweep_run(tmp_path)], str(out))
    assert code == 0, line
    for f in ("ram-scaling-icount.png", "ram-scaling-icount.svg", "verdicts.png"):
        assert (out / f).stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "![RAM scaling, icount](ram-scaling-icount.png)" in md
    assert "## Cover-letter table" in md
    row = next(line for line in md.splitlines()
               if "linear-map page tables (off → assume)" in line and "2 GiB" in line)
    # off: 1022 PTE + 2 PMD tables; assume: 1 + 1 -> 4096 kB vs 8 kB
    assert "| 4 096.0 kB | 8.0 kB | -4 088.0 kB (-99.8 %) |" in row
    htm = (out / "index.html").read_text()
    assert '<img src="ram-scaling-icount.png"' in htm and "<table>" in htm


def test_md_to_html_subset():
    h = page.md_to_html("# T\n\n> **warn** x\n\n| a | b |\n|---|---|\n| 1 \\| 2 | `c` |\n\n"
                        "* item *em*\n\n![cap](p.png)\n", "t")
    assert "<h1>T</h1>" in h and "<blockquote><p><strong>warn</strong> x</p></blockquote>" in h
    assert "<td>1 | 2</td><td><code>c</code></td>" in h
    assert "<li>item <em>em</em></li>" in h and '<img src="p.png" alt="cap">' in h


def chase_console(mode, bbml2, lmap, ns_by_ws, emulated=True, events=None, walks=None,
                  per_load=None):
    """per_load: {working set: {event: count per load}} beyond walks."""
    objs = []
    base = bench_obj(bench="linmap-chase", bbml2=bbml2, linear_map=lmap, values=(),
                     emulated=emulated, events=events)
    base["metrics"] = []
    for name, ns in ns_by_ws.items():
        counts = {ev: v * 1000 for ev, v in (per_load or {}).get(name, {}).items()}
        counts["dtlb_walk"] = (walks or {}).get(name, 0) * 1000
        m = bench_obj(bench="linmap-chase", metric=name, values=(ns, ns, ns),
                      emulated=emulated, events=events, counters=counts)["metrics"][0]
        base["metrics"].append(m)
    objs.append(base)
    return console(*objs)


def test_tlb_reach_table_and_knee(tmp_path):
    jobs = {}
    for r in (1, 2):
        jobs[f"chase-off-r{r}"] = ({"mode": "off", "mem_mb": 2048}, chase_console(
            "off", "off", "pte", {"ws_64k": 5.0, "ws_1m": 6.0, "ws_64m": 30.0}))
        jobs[f"chase-assume-r{r}"] = ({"mode": "assume", "mem_mb": 2048}, chase_console(
            "assume", "assume", "blocks", {"ws_64k": 5.0, "ws_1m": 5.5, "ws_64m": 8.0}))
    run = write_run(tmp_path, "20261201T000000Z-chase-x", "2026-12-01T00:00:00+00:00", jobs,
                    results=[])
    ds = report.collect([run])
    reach = page.tlb_reach(page.configurations(ds))
    (key,) = reach
    assert [p[:2] for p in reach[key]["off"]] == [(64, 5.0), (1024, 6.0), (65536, 30.0)]
    assert reach[key]["assume"][-1][1] == 8.0 and reach[key]["assume"][-1][3] == 2
    assert reach[key]["off"][0][2] is None                  # no TLB events under TCG
    md = page.render_tlb(reach, emulated=True)
    assert "| 64 MiB | 30.0 | 8.0 | n/a (emulated) | n/a (emulated) |" in md
    assert page.ws_kib("ws_2g") == 2 << 20 and page.ws_kib("scatter") is None


def test_hardware_counters_and_platform_class(tmp_path):
    avail = {ev: {"code": "0x34", "listed": True, "available": ev == "dtlb_walk",
                  "reason": None if ev == "dtlb_walk" else "not listed"}
             for ev in report.EVENTS}
    text = chase_console("off", "off", "pte", {"ws_64k": 5.0, "ws_64m": 30.0}, emulated=False,
                         events=avail, walks={"ws_64k": 0.01, "ws_64m": 0.9})
    text = text.replace('"emulated":false', '"emulated":false,"class":"virtual machine",'
                        '"class_why":"SMCCC: KVM hypervisor services detected","midr_cpu":3')
    run = write_run(tmp_path, "20261201T000000Z-chase-y", "2026-12-01T00:00:00+00:00",
                    {"chase-off-r1": ({"mode": "off", "mem_mb": 2048}, text)}, results=[])
    ds = report.collect([run])
    reach = page.tlb_reach(page.configurations(ds))
    (pts,) = [v["off"] for v in reach.values()]
    assert [p[2] for p in pts] == [pytest.approx(0.01), pytest.approx(0.9)]
    md = page.render_tlb(reach, emulated=False)
    assert "| 64 KiB | 5.0 | 0.010 |" in md
    an = report.analyse(ds)
    rmd = report.render_md(ds, an, "t", [run])
    assert "* virtual machine [SMCCC: KVM hypervisor services detected]: MIDR 0x410fd0c1 " \
           "of CPU 3 (implementer 65)" in rmd


def test_configuration_warnings_are_on_the_page(tmp_path):
    # two boots of the baseline: too few for an A/A control, and the page says so
    run = write_run(tmp_path, "20261201T000000Z-bench-aa", "2026-12-01T00:00:00+00:00",
                    timed_jobs({"off": ("off", "pte", [100, 101])}), results=[])
    out = tmp_path / "p"
    page.build([run], str(out))
    md = (out / "report.md").read_text()
    section = md.split("## Benchmarks per configuration")[1].split("\n## ")[0]
    assert "* ⚠ **Warning:** no A/A control: the baseline off has 2 boot(s)" in section
    htm = (out / "index.html").read_text()
    assert "<li>⚠ <strong>Warning:</strong> no A/A control: the baseline off has 2 boot(s)" \
        in htm
    (conf,) = json.loads((out / "report.json").read_text())["configurations"].values()
    assert any(w.startswith("no A/A control") for w in conf["warnings"])


def hw_chase_run(tmp_path, name="20261201T000000Z-chase-hw", events=None):
    text = chase_console("off", "off", "pte", {"ws_64k": 5.0, "ws_64m": 30.0}, emulated=False,
                         events=events, walks={"ws_64k": 0.01, "ws_64m": 0.9},
                         per_load={"ws_64k": {"l1d_tlb_refill": 0.02, "l2d_tlb_refill": 0.005},
                                   "ws_64m": {"l1d_tlb_refill": 1.0, "l2d_tlb_refill": 0.95}})
    text = text.replace('"emulated":false', '"emulated":false,"class":"virtual machine",'
                        '"class_why":"SMCCC: KVM hypervisor services detected","midr_cpu":3')
    text = text.replace('"cpu":3}', '"cpu":3,"cpu_why":"largest cpu_capacity (1024) of the '
                        'online CPUs"}')
    return write_run(tmp_path, name, "2026-12-01T00:00:00+00:00",
                     {"chase-off-r1": ({"mode": "off", "mem_mb": 2048}, text)}, results=[])


PLATFORM = ("* Platform: virtual machine [SMCCC: KVM hypervisor services detected]; pinned to "
            "CPU 3 (largest cpu_capacity (1024) of the online CPUs), MIDR 0x410fd0c1")


def test_platform_line_per_configuration(tmp_path):
    out = tmp_path / "p"
    page.build([hw_chase_run(tmp_path)], str(out))
    md = (out / "report.md").read_text()
    bench = md.split("## Benchmarks per configuration")[1].split("\n## ")[0]
    tlb = md.split("## TLB reach")[1].split("\n## ")[0]
    for section in (bench, tlb):
        assert PLATFORM + "\n" in section
    assert "<li>Platform: virtual machine [SMCCC: KVM hypervisor services detected]; " \
        "pinned to CPU 3" in (out / "index.html").read_text()


def test_platform_line_says_whose_midr():
    o = {"platform": {"class": "emulated", "class_why": "MIDR implementer 0 (QEMU TCG -cpu max)",
                      "midr": "0x000f0510", "midr_cpu": 0}, "params": {"cpu": 3}}
    assert page.platform_line(o) == ("emulated [MIDR implementer 0 (QEMU TCG -cpu max)]; "
                                     "pinned to CPU 3, MIDR 0x000f0510 (of CPU 0, not the "
                                     "pinned CPU)")
    # an old object: no class, no pinned CPU
    assert page.platform_line({"platform": {"emulated": True, "midr": "0x000f0510"}}) == \
        "emulated; pinned CPU not recorded, MIDR 0x000f0510"


def test_tlb_reach_shows_the_refill_counters(tmp_path):
    # dtlb_walk and l1d_tlb_refill counted, l2d_tlb_refill not on this core
    avail = {ev: {"code": "0x34", "listed": True,
                  "available": ev in ("dtlb_walk", "l1d_tlb_refill"),
                  "reason": None if ev in ("dtlb_walk", "l1d_tlb_refill") else "not listed"}
             for ev in report.EVENTS}
    reach = page.tlb_reach(page.configurations(report.collect([hw_chase_run(tmp_path,
                                                                            events=avail)])))
    (pts,) = [v["off"] for v in reach.values()]
    assert [p[4] for p in pts] == [pytest.approx(0.02), pytest.approx(1.0)]
    assert [p[5] for p in pts] == [None, None]
    md = page.render_tlb(reach, emulated=False)
    assert "| working set | off ns/load | off dtlb_walk/load | off l1d_tlb_refill/load | " \
        "off l2d_tlb_refill/load |" in md
    assert "| 64 MiB | 30.0 | 0.900 | 1.000 | unsupported |" in md
    # the existing convention: emulated, a missing counter is n/a, not unsupported
    assert "| 64 MiB | 30.0 | 0.900 | 1.000 | n/a (emulated) |" in \
        page.render_tlb(reach, emulated=True)


def sweep_verdict_run(tmp_path, name, started, results, icount):
    run = write_run(tmp_path, name, started, {}, results=results, plan="bench-sweep")
    meta = json.loads(open(os.path.join(run, "metadata.json")).read())
    meta["bench"] = {"seed": 1, "qemu_options": ["-icount shift=0"] if icount else [],
                     "clock": "instructions (-icount shift=0)" if icount
                     else "host time (TCG)"}
    open(os.path.join(run, "metadata.json"), "w").write(json.dumps(meta))
    return run


def test_verdicts_compare_only_runs_of_the_same_clock(tmp_path):
    # one night's sweep under TCG and under -icount: different jobs, never compared
    tcg = sweep_verdict_run(tmp_path, "20261201T000000Z-bench-sweep", "2026-12-01T00:00:00+00:00",
                            [res("sweep-off-r1", "bench.boot", "pass")], icount=False)
    ic = sweep_verdict_run(tmp_path, "20261201T020000Z-bench-sweep-icount",
                           "2026-12-01T02:00:00+00:00",
                           [res("sweep-off-r1-icount", "bench.boot", "pass")], icount=True)
    out = tmp_path / "p"
    page.build([tcg, ic], str(out))
    md = (out / "report.md").read_text()
    assert "missing" not in md.split("## Test verdicts across runs")[1].split("\n## ")[0]
    assert "One run per plan and clock: nothing to compare against" in md
    # the next night's -icount run is compared with the previous -icount run only
    ic2 = sweep_verdict_run(tmp_path, "20261202T020000Z-bench-sweep-icount",
                            "2026-12-02T02:00:00+00:00",
                            [res("sweep-off-r1-icount", "bench.boot", "fail")], icount=True)
    page.build([tcg, ic, ic2], str(out))
    md = (out / "report.md").read_text()
    assert ("**bench-sweep, icount: 20261201T020000Z-bench-sweep-icount → "
            "20261202T020000Z-bench-sweep-icount**: 1 new failures, 0 fixed, 0 flaky, "
            "0 missing") in md
    assert "20261201T000000Z-bench-sweep →" not in md
    assert page.run_clock({}) == "host time"
    assert page.run_clock({"bench": {"clock": "instructions (-icount shift=0)"}}) == "icount"


def test_cover_letter_sorts_working_sets_by_size(tmp_path):
    sizes = {"ws_16m": 9.0, "ws_128k": 5.0, "ws_2m": 6.0, "ws_1g": 20.0}
    jobs = {}
    for r in (1, 2):
        jobs[f"chase-off-r{r}"] = ({"mode": "off", "mem_mb": 2048},
                                   chase_console("off", "off", "pte", sizes))
        jobs[f"chase-assume-r{r}"] = ({"mode": "assume", "mem_mb": 2048},
                                      chase_console("assume", "assume", "blocks", sizes))
    run = write_run(tmp_path, "20261201T000000Z-chase-z", "2026-12-01T00:00:00+00:00", jobs,
                    results=[])
    rows = page.cover_letter(page.configurations(report.collect([run])))
    assert [r[1] for r in rows if r[1].startswith("linmap-chase")] == [
        f"linmap-chase {m} ns/op" for m in ("ws_128k", "ws_2m", "ws_16m", "ws_1g")]
    key = page._metric_order
    assert sorted([(("b", "ws_1m", "off"), 0), (("b", "scatter", "off"), 0),
                   (("b", "ws_64k", "off"), 0), (("a", "x", "off"), 0)], key=key) == [
        (("a", "x", "off"), 0), (("b", "scatter", "off"), 0), (("b", "ws_64k", "off"), 0),
        (("b", "ws_1m", "off"), 0)]
