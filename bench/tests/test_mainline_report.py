# SPDX-License-Identifier: GPL-2.0
"""bench/mainline_report.py --tlb: the TLB model's walks/op of two boots side
by side at the working sets both have, each page-mapped boot's knee on
those sets, every figure labelled modelled, and one clear error for a run
that is not a TLB-model run or a boot that is not named."""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import mainline_report  # noqa: E402
from test_tlbpage import HEADER, model, window  # noqa: E402


def run_dir(tmp_path, name, boots):
    """boots: {job: {size_mib: linear walks per op}} -> a run directory."""
    d = tmp_path / name
    (d / "tlbmodel").mkdir(parents=True)
    jobs = []
    for job, curve in boots.items():
        recs = [HEADER]
        for i, (mib, per_op) in enumerate(sorted(curve.items()), 1):
            lin = int(per_op * 1000)
            recs.append(window(i, f"linmap-chase ws_{mib}m ops=500 samples=2",
                               {"n1": model(lin, lin), "a72": model(lin, lin)}))
        (d / "tlbmodel" / f"{job}.jsonl").write_text(
            "\n".join(json.dumps(r) for r in recs) + "\n")
        jobs.append({"name": job, "mode": "none", "board": "qemu-virt"})
    (d / "metadata.json").write_text(json.dumps({"jobs": jobs}))
    return d


PAGES = {1: 0.0, 2: 0.0, 4: 0.25, 6: 0.75, 8: 1.0, 16: 1.0}


def test_side_by_side(tmp_path):
    a = run_dir(tmp_path, "a", {"tlb-off": PAGES, "tlb-assume": {k: 0.0 for k in PAGES}})
    b = run_dir(tmp_path, "b", {"tlb-none": {k: v for k, v in PAGES.items() if k != 6}})
    text, js = mainline_report.tlb_compare([f"series, arm64.bbml2=off={a}:tlb-off",
                                            f"7.3={b}", f"series blocks={a}:tlb-assume"])
    assert "modelled (QEMU TCG + tlbmodel <preset>), not measured" in text
    # only the sets every boot has: 6 MiB is missing from the second
    rows = js["tables"]["linmap-chase n1"]
    assert [r[0] for r in rows] == [1024, 2048, 4096, 8192, 16384]
    assert rows[2] == [4096, 0.25, 0.25, 0.0]
    knees = {(k["column"], k["preset"]): k["knee_kib"] for k in js["knees"]}
    # half of the plateau (0.5) between 4 MiB (0.25) and 8 MiB (1.0)
    assert 4096 < knees[("7.3", "n1")] < 8192
    assert knees[("series blocks", "n1")] is None
    assert "| series, arm64.bbml2=off | 7.3 | series blocks |" in text.replace(
        "| benchmark | preset | L2 reach ", "")


def test_bad_input(tmp_path):
    a = run_dir(tmp_path, "a", {"tlb-off": PAGES, "tlb-assume": PAGES})
    with pytest.raises(SystemExit, match="2 boots with a TLB model file"):
        mainline_report.tlb_compare([f"x={a}"])
    with pytest.raises(SystemExit, match="expected LABEL=results"):
        mainline_report.tlb_compare([str(a)])
    with pytest.raises(SystemExit, match="metadata.json"):
        mainline_report.tlb_compare([f"x={tmp_path / 'nothing'}"])
