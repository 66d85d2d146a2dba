"""The mission check kernel.mode_matches_board, on the kernel's real lines."""
from bbml2lab import console, modecheck

# Lines printed by the series (bench/tests/data, results/reports/qemu-tcg-20261124).
REPAINTED = ("[    0.356069] linear map: bbml2 options=assume,repaint boot_cpu=1 system=0 "
             "map=pte repainted=1 repaint_ns=26002000 repaint_pmd_tables=1 repaint_pte_tables=1021")
BLOCKS = ("[    0.350000] linear map: bbml2 options=assume boot_cpu=1 system=1 map=blocks "
          "repainted=0 repaint_ns=0 repaint_pmd_tables=0 repaint_pte_tables=0")
PTE = ("[    0.340000] linear map: bbml2 options=none boot_cpu=0 system=0 map=pte repainted=0 "
       "repaint_ns=0 repaint_pmd_tables=0 repaint_pte_tables=0")


def check(line, board, bbml2, mode, cmdline=""):
    return modecheck.result(console.parse(line + "\n"), "s", board, bbml2, mode, cmdline)


def test_each_board_kind_and_mode():
    assert check(BLOCKS, "u", "uniform", "none")["result"] == "pass"
    assert check(PTE, "n", "none", "none")["result"] == "pass"
    assert check(REPAINTED, "m", "mixed", "none")["result"] == "pass"
    assert check(REPAINTED, "u", "uniform", "repaint")["result"] == "pass"
    assert check(BLOCKS, "q", "none", "assume")["result"] == "pass"
    assert check(REPAINTED, "q", "none", "assume-repaint")["result"] == "pass"
    assert check(PTE, "u", "uniform", "off")["result"] == "pass"


def test_mismatch_fails_and_names_the_board():
    r = check(PTE, "vboard-uniform-01", "uniform", "none")
    assert r == {"name": "s.kernel.mode_matches_board", "result": "fail",
                 "detail": "board vboard-uniform-01: kernel reports pte (map=pte repainted=0 "
                           "options=none boot_cpu=0 system=0), expected blocks (bbml2=uniform, "
                           "mode none)"}


def test_debug_pagealloc_is_pages_in_every_mode():
    for mode in ("none", "assume", "assume-repaint"):
        assert check(PTE, "q", "none", mode, "rodata=full debug_pagealloc=on")["result"] == "pass"
    r = check(REPAINTED, "q", "none", "assume-repaint", "debug_pagealloc=on")
    assert r["result"] == "fail" and "debug_pagealloc=on" in r["detail"]


def test_no_line_is_a_failure():
    r = check("[    0.1] Linux version 6.12.117", "b", "none", "none")
    assert r["result"] == "fail" and r["detail"].startswith("board b: the kernel never reported")


def test_unknown_mode_is_an_error():
    assert check(PTE, "b", "none", "bogus")["result"] == "error"


def test_no_line_but_the_guests_ptdump_check_passed_is_a_skip():
    # a kernel without the series' report (make kselftest-plain)
    con = console.parse("[    0.1] Linux version 6.12.117\n")
    ok = [{"name": "s.selftests_arm64_bbml2_bbml2_plain.global_blocks_match_cpus",
           "result": "pass"}]
    r = modecheck.result(con, "s", "b", "uniform", "none", "", ok)
    assert r["result"] == "skip" and "expected blocks" in r["detail"]
    bad = [dict(ok[0], result="fail")]
    assert modecheck.result(con, "s", "b", "uniform", "none", "", bad)["result"] == "fail"
    assert modecheck.result(con, "s", "b", "uniform", "none", "", [])["result"] == "fail"


def test_no_line_but_late_cpu_kept_blocks_is_a_skip_only_where_blocks_are_due():
    # mainline's late-CPU boot (issue 19): the suite read the map from ptdump
    con = console.parse("[    0.1] Linux version 7.3.4\n")
    ok = [{"name": "late-cpu.blocks_kept_after_onlining", "result": "pass"}]
    r = modecheck.result(con, "late-cpu", "b", "uniform", "none", "", ok)
    assert r["result"] == "skip" and "from ptdump: pass" in r["detail"]
    assert modecheck.result(con, "late-cpu", "b", "none", "none", "", ok)["result"] == "fail"
    bad = [dict(ok[0], result="fail")]
    assert modecheck.result(con, "late-cpu", "b", "uniform", "none", "", bad)["result"] == "fail"
