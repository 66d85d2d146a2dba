# SPDX-License-Identifier: GPL-2.0
"""The report's modelled-TLB section (bench/tlbpage.py, bench/tlbdata.py):
per-op figures from the plugin's records, the knee, the MPKI change and
its preset range, repeat identity, invalid windows kept out of the
figures but shown, and a run directory read end to end into the page."""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import page  # noqa: E402
import tlbdata  # noqa: E402
import tlbpage  # noqa: E402

PRESETS = [{"name": "n1", "core": "N1", "l1_entries": 48, "l2_entries": 1280, "l2_ways": 5,
            "coalesce": 0, "source": "TRM", "confidence": "good"},
           {"name": "a72", "core": "A72", "l1_entries": 32, "l2_entries": 1024, "l2_ways": 4,
            "coalesce": 0, "source": "TRM", "confidence": "good"}]
HEADER = {"type": "header", "plugin": "tlbmodel", "version": "1", "presets": PRESETS}


def model(lin, kwalk, kref=0):
    return {"l1_refill": {"user_insn": 0, "kernel_insn": kref},
            "walk": {"user_insn": 0, "kernel_insn": kwalk},
            "l1_refill_by_region": {"linear": kref},
            "walk_by_region": {"linear": lin, "vmalloc": kwalk - lin},
            "walk_by_leaf_shift": {"12": lin}}


def window(seq, label, models, kinsn=1000000, valid=True, after="same", others=None):
    w = {"type": "window", "seq": seq, "label": label, "vcpu": 3, "valid": valid,
         "layout_after": after, "insns": {"user": 10, "kernel": kinsn},
         "accesses": {"user_insn": 1, "kernel_insn": 2},
         "accesses_by_region": {"linear": 100, "vmalloc": 10, "user": 5},
         "unmodelled": {"kernel_no_leaf": 1, "dc_zva": 2, "tlbi_va": 3, "tlbi_other": 0},
         "tlbi": {"all": 0, "asid": 0}, "models": models,
         "other_vcpus": others or {"insns": {"user": 0, "kernel": 0},
                                   "models": {k: model(0, 0) for k in models}}}
    if not valid:
        w["invalid_reason"] = "a layout block was refused inside the window"
    return w


def test_per_op_and_mpki():
    recs = [HEADER, window(1, "pcache-rand-pread scatter ops=1000 samples=2",
                           {"n1": model(1500, 2000, 4000), "a72": model(1800, 2400)})]
    header, wins = tlbdata.windows(recs)
    w = wins[0]
    assert (w["bench"], w["metric"], w["ops"]) == ("pcache-rand-pread", "scatter", 2000)
    n1 = w["presets"]["n1"]
    assert n1["linear_walks_per_op"] == 0.75 and n1["walks_per_op"] == 1.0
    assert n1["l1_refills_per_op"] == 2.0 and n1["kernel_walk_mpki"] == 2.0
    assert n1["label"] == "modelled (QEMU TCG + tlbmodel n1), not measured"
    assert n1["walks_by_leaf"] == {"4K": 1500}


def test_knee_interpolates_half_plateau():
    pts = [(1024, 0.0), (2048, 0.0), (4096, 0.2), (6144, 0.8), (8192, 1.0), (65536, 1.0)]
    k = tlbpage.knee(pts)
    assert 4096 < k < 6144
    assert k == pytest.approx((4096 * 6144) ** 0.5)  # half-way in log2 of the size
    assert tlbpage.knee([(1024, 0.0), (2048, 0.01), (4096, 0.0)]) is None  # no rise
    assert tlbpage.knee([(1024, 0.5), (2048, 1.0)]) is None  # too few points


def boot(tmp_path, run, jobs):
    d = tmp_path / run
    (d / "tlbmodel").mkdir(parents=True)
    meta = {"plan": "bench-tlb", "status": "complete", "jobs": []}
    for name, mode, recs in jobs:
        meta["jobs"].append({"name": name, "mode": mode, "board": "qemu-virt"})
        (d / "tlbmodel" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in recs))
    (d / "metadata.json").write_text(json.dumps(meta))
    return str(d)


def sweep_recs(reach_pages, plateau=1.0, blocks=False, extra=()):
    recs, seq = [HEADER], 0
    for kib in (1024, 2048, 4096, 5120, 6144, 8192, 16384, 65536):
        seq += 1
        pages = kib // 4
        v = 0.0 if blocks else (plateau if pages > reach_pages else 0.0)
        ops = 1000
        recs.append(window(seq, f"linmap-chase ws_{kib // 1024}m ops={ops} samples=1",
                           {"n1": model(int(v * ops), int(v * ops)),
                            "a72": model(int(v * ops), int(v * ops))}))
    for label, lin in (("memcached-mix mix", 400), ("memcached-mix same", 0)):
        seq += 1
        recs.append(window(seq, f"{label} ops=1000 samples=1",
                           {"n1": model(0 if blocks else lin, (0 if blocks else lin) + 600),
                            "a72": model(0 if blocks else lin, (0 if blocks else lin) + 900)}))
    return recs + list(extra)


def test_analyse_knees_changes_repeats(tmp_path):
    bad = window(99, "unix-scatter scatter ops=10 samples=1", {"n1": model(5, 5),
                                                              "a72": model(5, 5)}, valid=False)
    run = boot(tmp_path, "20261205T000000Z-bench-tlb-x", [
        ("tlb-off-r1", "off", sweep_recs(1280, extra=[bad])),
        ("tlb-off-r2", "off", sweep_recs(1280)),
        ("tlb-assume-r1", "assume", sweep_recs(1280, blocks=True))])
    boots, problems = tlbpage.collect([page.load_run(run)])
    assert not problems and len(boots) == 3
    data = tlbpage.analyse(boots, page.ws_kib)
    knees = {(k["mode"], k["preset"]): k for k in data["knees"]}
    assert set(knees) == {("off", "n1"), ("off", "a72")}    # page-mapped modes only
    k = knees[("off", "n1")]
    assert k["reach_kib"] == 5120 and 4096 < k["knee_kib"] <= 6144 and k["within"]
    ch = {c["metric"]: c for c in data["changes"]}
    # memcached: 1000 vs 600 (n1), 1300 vs 900 (a72) walks in 1M kernel insns
    assert ch["mix"]["change_pct"]["n1"] == pytest.approx(-40.0)
    assert ch["mix"]["change_pct"]["a72"] == pytest.approx(-100 * 400 / 1300)
    assert ch["mix"]["min"] == pytest.approx(-40.0) and ch["mix"]["headline"] == pytest.approx(-40)
    rep = {(r["bench"], r["metric"]): r for r in data["repeats"] if r["mode"] == "off"}
    assert all(r["identical"] and r["boots"] == 2 for r in rep.values())
    assert len(data["invalid"]) == 1 and "refused" in data["invalid"][0]
    off1 = next(u for u in data["unmodelled"] if u["boot"] == "tlb-off-r1")
    assert off1["invalid"] == 1 and off1["dc_zva"] == 2 * 11
    md = tlbpage.render_md(data, {}, page._table)
    assert "## Modelled TLB (QEMU TCG + tlbmodel), not measured" in md
    assert "-28.5 %" in md and "no known leaf" in md


def test_repeat_difference_is_reported(tmp_path):
    r2 = sweep_recs(1280)
    r2[3]["models"]["n1"]["walk_by_region"]["linear"] += 1
    run = boot(tmp_path, "20261205T000000Z-bench-tlb-y", [
        ("a", "off", sweep_recs(1280)), ("b", "off", r2)])
    data = tlbpage.analyse(tlbpage.collect([page.load_run(run)])[0], page.ws_kib)
    assert [r["metric"] for r in data["repeats"] if not r["identical"]] == ["ws_4m"]


def test_broken_file_is_a_problem_not_a_crash(tmp_path):
    run = boot(tmp_path, "20261205T000000Z-bench-tlb-z", [("a", "off", sweep_recs(1280))])
    with open(os.path.join(run, "tlbmodel", "a.jsonl"), "a") as f:
        f.write("{not json\n{\"type\": \"summary\"}\n")
    (tmp_path / "20261205T000000Z-bench-tlb-z" / "tlbmodel" / "ghost.jsonl").write_text("")
    boots, problems = tlbpage.collect([page.load_run(run)])
    assert boots == [] and len(problems) == 2
    assert any("not a JSON record" in p for p in problems)
    assert any("no job ghost" in p for p in problems)
