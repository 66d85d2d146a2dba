"""Kernel splat detection and marker results."""
from bbml2lab import console, health, ktap
from conftest import by_name, read


def test_every_splat_kind_found(data):
    lines = console.split_lines(read(data / "splats.dmesg"))
    found = health.find_splats(lines)
    for needle in ("sleeping function called from invalid context", "Invalid wait context",
                   "circular locking", "soft lockup", "rcu: INFO:", "KASAN:", "KFENCE:",
                   "inconsistent lock state", "Unable to handle kernel", "Oops:",
                   "Kernel panic"):
        assert any(needle in f for f in found), needle
    assert not any("in_atomic()" in f or "=====" in f for f in found)
    assert len(found) == 11


def test_clean_log_has_no_splats():
    assert health.find_splats(["[    0.000000] Linux version 6.12", "[    1.0] WARNINGS: none",
                               "[    2.000000] rcu: Hierarchical RCU implementation."]) == []


def test_splat_dedup_and_user_space_text_ignored(data):
    con = console.parse(read(data / "spliced.console")
                        + "bbml2-lab: WARNING: this is user space\r\r\n")
    results = by_name(health.results(con, "smoke", ktap.parse_results(con.ktap, "smoke")))
    splat = results["smoke.kernel.no_splat"]
    assert splat["result"] == "fail"
    assert splat["detail"] == ("[   13.000000] WARNING: CPU: 1 PID: 77 at "
                               "arch/arm64/mm/pageattr.c:123 split_kernel_leaf_mapping+0x1c/0x40")
    assert results["smoke.suite_complete"] == {"name": "smoke.suite_complete", "result": "pass",
                                               "detail": "rc=1"}


def test_cut_stream_health(data):
    con = console.parse(read(data / "cut-stream.console"))
    r = by_name(health.results(con, "smoke", []))
    assert r["smoke.boot"]["result"] == "pass"
    assert r["smoke.suite_complete"]["detail"] == "suite end marker never seen (stream cut)"
    assert r["smoke.poweroff"]["result"] == "fail"
    assert "Kernel panic - not syncing" in r["smoke.kernel.no_splat"]["detail"]


def test_unexplained_rc_and_skipped_suite():
    con = console.parse("bbml2-lab: boot suite=s cpus=0 mem_kb=1\nbbml2-lab: suite s begin\n"
                        "bbml2-lab: suite s end rc=139\nbbml2-lab: poweroff\n")
    assert by_name(health.results(con, "s", []))["s.suite_complete"]["result"] == "fail"
    skipped = [{"name": "s.ktap", "result": "skip", "detail": "x"}]
    con.rc = 2
    assert by_name(health.results(con, "s", skipped))["s.suite_complete"]["result"] == "skip"


def test_boot_marker_for_wrong_suite():
    con = console.parse("bbml2-lab: boot suite=other cpus=0 mem_kb=1\n")
    r = by_name(health.results(con, "smoke", []))["smoke.boot"]
    assert r["result"] == "fail" and "guest ran suite 'other'" in r["detail"]


def test_el2shim_fatal_is_a_splat():
    text = ("el2shim: cpu0 midr 0x410fd823 Cortex-X4 r0p3\r\r\n"
            "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd823]\r\r\n"
            "bbml2-lab: boot suite=smoke cpus=0-3 mem_kb=2000000\r\r\n"
            "bbml2-lab: suite smoke begin\r\r\n"
            "KTAP version 1\r\r\n1..1\r\r\n"
            "el2shim: FATAL on cpu2: unhandled trap EC 0x18 (MSR/MRS) ESR_EL2 0x62300000\r\r\n")
    con = console.parse(text)
    assert con.firmware[0] == "el2shim: cpu0 midr 0x410fd823 Cortex-X4 r0p3"
    assert not any("el2shim" in line for line in con.ktap)   # the trap is not KTAP noise
    results = by_name(health.results(con, "smoke", ktap.parse_results(con.ktap, "smoke")))
    splat = results["smoke.kernel.no_splat"]
    assert splat["result"] == "fail" and splat["detail"].startswith("el2shim: FATAL on cpu2")
    # the CPU table alone is not a splat
    con = console.parse(text.rsplit("el2shim: FATAL", 1)[0])
    assert by_name(health.results(con, "smoke", []))["smoke.kernel.no_splat"]["result"] == "pass"
