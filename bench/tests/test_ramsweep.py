"""bench/ramsweep.py: table sizes follow the granule each boot ran with
(a page table is one page: 4, 16 or 64 KiB), never a fixed 4K."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import ramsweep  # noqa: E402


def point(mode, mem_mb, ps, pte, repaint_tables=0, mem_free_kb=1000000, mem_total_kb=2000000):
    return {"boot": f"{mode}-{mem_mb}", "run": "r", "mode": mode, "mem_mb": mem_mb,
            "clock": "icount", "ram_kb": mem_mb * 1024, "mem_total_kb": mem_total_kb,
            "mem_free_kb": mem_free_kb, "page_tables_kb": None, "pte_tables": pte,
            "pmd_tables": 0, "bytes": {"pte": mem_mb << 20}, "page_size": ps,
            "repainted": bool(repaint_tables), "repaint_ns": 1000 * mem_mb if repaint_tables
            else None, "stop_machine_ns": None, "repaint_tables": repaint_tables,
            "write_ns_per_page": 10.0, "init_s": 1.0, "map_mem": None, "map_mem_ns": None}


def analyse(points, monkeypatch):
    monkeypatch.setattr(ramsweep, "boot_points", lambda ds: points)
    return ramsweep.analyse({})["clocks"]["icount"]


def test_16k_tables_are_16k(monkeypatch):
    # 16K pages: one PTE table maps 32 MiB, so 2 GiB page mapped is 64
    # tables of 16 KiB each.
    pts = [point("off", 2048, 16384, 64), point("off", 4096, 16384, 128),
           point("assume", 2048, 16384, 0), point("assume", 4096, 16384, 0),
           point("assume-repaint", 2048, 16384, 0, repaint_tables=64, mem_free_kb=1000000 - 1024),
           point("assume-repaint", 4096, 16384, 0, repaint_tables=128)]
    c = analyse(pts, monkeypatch)
    row = next(r for r in c["rows"] if r["mode"] == "off" and r["mem_mb"] == 2048)
    assert row["tables_kb"] == 64 * 16
    assert abs(c["fits"]["off"]["pte_table_kb"]["slope_per_gib"] - 32 * 16) < 1e-9
    rec = next(r for r in c["reconcile"] if r["mem_mb"] == 2048)
    assert rec["repaint_tables_kb"] == 64 * 16
    assert rec["mem_free_residual_kb"] == 1024 - 64 * 16


def test_mixed_granules_not_added_up(monkeypatch):
    pts = [point("off", 2048, 4096, 1024), point("off", 2048, 65536, 4)]
    c = analyse(pts, monkeypatch)
    assert c["rows"][0]["tables_kb"] is None
    assert c["fits"]["off"]["pte_table_kb"] is None


def repaint_boots(values, mem_mb=2048):
    out = []
    for i, v in enumerate(values):
        p = point("assume-repaint", mem_mb, 4096, 0, repaint_tables=1022)
        p.update({"boot": f"r{i}", "started": ("run", f"t{i:02d}", f"r{i}"), "repaint_ns": v})
        out.append(p)
    return out


def test_aa_identical_boots_show_no_difference():
    # -icount: every boot of a point takes the same instructions.
    aa = ramsweep.aa_controls(repaint_boots([3_200_000] * 4))
    rep = [a for a in aa if a["quantity"] == "repaint"]
    assert len(rep) == 1 and rep[0]["boots"] == 4
    assert rep[0]["delta_pct"] == 0 and rep[0]["delta_ci95"] == [0, 0]
    assert rep[0]["difference"] is False
    assert "0 differ by the flag rule" in ramsweep.aa_summary(rep)


def test_aa_split_is_alternate_in_run_order_and_can_differ():
    # Boots that alternate slow/fast in run order land all-slow in A and
    # all-fast in B: the control must then report a difference (it can fail).
    pts = repaint_boots([10e6, 5e6, 10.1e6, 5.1e6, 9.9e6, 4.9e6, 10.2e6, 5.2e6])
    pts.reverse()   # input order is not run order
    rep = [a for a in ramsweep.aa_controls(pts) if a["quantity"] == "repaint"][0]
    assert rep["a_median"] == 10.05 and rep["b_median"] == 5.05
    assert rep["can_differ"] and rep["p_mwu"] < 0.05
    assert rep["difference"] is True
    assert "1 differ by the flag rule" in ramsweep.aa_summary([rep])
    assert "assume-repaint 2048 MiB repaint +49.8 %" in ramsweep.aa_summary([rep])


def test_aa_few_boots_cannot_differ_and_say_so():
    # 3 + 3 boots: the smallest two-sided Mann-Whitney p is 0.1, so even
    # a 50 % shift is not called a difference, and the summary says why.
    rep = [a for a in ramsweep.aa_controls(repaint_boots([10e6, 5e6] * 3))
           if a["quantity"] == "repaint"][0]
    assert rep["ci_excludes_zero"] and not rep["can_differ"] and not rep["difference"]
    assert "0 of 1 have the boots to reach that p" in ramsweep.aa_summary([rep])


def test_aa_tiny_shift_is_no_difference():
    # -icount boots a few ns apart: a CI off 0 by 0.01 % is not a difference.
    rep = [a for a in ramsweep.aa_controls(repaint_boots([1000000, 1000100] * 4))
           if a["quantity"] == "repaint"][0]
    assert rep["ci_excludes_zero"] and rep["can_differ"] and not rep["difference"]


def test_aa_needs_four_boots():
    assert [a for a in ramsweep.aa_controls(repaint_boots([1e6, 2e6, 3e6]))
            if a["quantity"] == "repaint"] == []
    assert ramsweep.aa_summary([]).startswith("no A/A control")


def test_mwu_with_ties_never_below_the_exact_minimum():
    import benchstats
    # 3 + 3 tied boots, complete separation: the normal approximation says
    # 0.047, but no arrangement of 6 values gives less than 2/C(6,3) = 0.1.
    _, p, method = benchstats.mann_whitney_u([5, 5, 5], [10, 10, 10])
    assert method == "normal" and p == benchstats.min_mwu_p(3, 3) == 0.1
