"""bench/repaintcmp.py: the repaint against memset and against mainline."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import repaintcmp  # noqa: E402


def rec(mem, window, prep=None, tables=None, panic=True):
    line = None
    if tables is not None:
        line = {"repaint_ns": str(window - 400), "repaint_pte_tables": str(tables - 1),
                "repaint_pmd_tables": "1"}
        if prep is not None:
            line["repaint_prep_ns"] = str(prep)
    return {"mem_mb": mem, "panic_no_root": panic, "series_line": line,
            "functions": {repaintcmp.FN: {"calls": [{"insns": window, "exit": "ret"}]}}}


def test_ratios_goals_and_mainline():
    series, bad = repaintcmp.by_mem([rec(2048, 25_000, 540_000, 1022),
                                     rec(2048, 26_000, 542_000, 1022),
                                     rec(2048, 1, 1, 1022, panic=False)])
    assert bad == 1 and series[2048]["boots"] == 2
    assert series[2048]["window"] == 25_500 and series[2048]["prep"] == 541_000
    mainline, _ = repaintcmp.by_mem([rec(2048, 10_865_177)])
    rows = repaintcmp.compare(series, mainline, {2048: 288.0}, 300.0)
    (r,) = rows
    assert r["memset_insns"] == pytest.approx(288.0 * 1022)
    assert r["window_over_memset"] == pytest.approx(25_500 / (288.0 * 1022))
    assert r["whole_over_memset"] == pytest.approx((25_500 + 541_000) / (288.0 * 1022))
    assert r["whole_over_mainline"] == pytest.approx(566_500 / 10_865_177)
    text = repaintcmp.render(rows)
    assert "window <= 0.2x memset: met" in text and "whole <= 2.0x: met" in text
    assert "both below 7.3's repaint: yes" in text


def test_a_window_above_its_goal_is_said():
    # the series before the preparation existed: window = whole = 9.5x
    series, _ = repaintcmp.by_mem([rec(2048, 2_793_546, None, 1022)])
    rows = repaintcmp.compare(series, {}, {}, 288.0)
    assert rows[0]["whole"] is None and rows[0]["mainline"] is None
    text = repaintcmp.render(rows)
    assert "window <= 0.2x memset: NOT met" in text and "whole <= 2.0x: NOT met" in text


def test_malformed_record_is_one_clear_error(tmp_path):
    f = tmp_path / "ft.jsonl"
    f.write_text(json.dumps(rec(1024, 1)) + "\n{not json\n")
    with pytest.raises(SystemExit, match="ft.jsonl:2: not a functime record"):
        repaintcmp.load(f)
