"""The mission check: does the kernel's linear map match what the board's
CPUs imply for the job's mode?

The series prints one boot line once the decision is final
(kernel/patches/0007-*):
  linear map: bbml2 options=<o> boot_cpu=<0|1> system=<0|1> map=<blocks|pte>
      repainted=<0|1> repaint_ns=<n> ...
(read by linmap.py). The reported state is "repainted" if the repaint ran,
else the map. The expected state is cpus.expected_map(board bbml2, mode), except that with
debug_pagealloc=on every mode is page-mapped from boot (force_pte_mapping()),
so nothing is split and nothing is repainted.

A kernel without the series' report (mainline, or the series without its
instrumentation: make kselftest-plain) prints no such line. There the check
is a skip if the guest's own check of the same thing from ptdump and the
CPUs' MIDRs (kselftest bbml2_plain, blocks_match_cpus) ran and passed, and
a failure otherwise.

The result is <suite>.kernel.mode_matches_board; its detail names the board.
"""
from . import LabError, cpus, linmap

NAME = "kernel.mode_matches_board"
# The guest-side check that stands in where the kernel reports nothing.
PLAIN = "bbml2_plain.global_blocks_match_cpus"
# The late-CPU suite's, on such a kernel: the map from ptdump, blocks kept
# after the late CPUs came (or were refused); stands in where blocks are due.
LATE_BLOCKS = "late-cpu.blocks_kept_after_onlining"


def expected(bbml2, mode, cmdline=""):
    """(state, why) the board must report in this mode."""
    if "debug_pagealloc=on" in str(cmdline).split():
        return "pte", "debug_pagealloc=on maps every mode with pages from boot"
    return cpus.expected_map(bbml2, mode), f"bbml2={bbml2}, mode {mode}"


def result(con, suite, board, bbml2, mode, cmdline="", ktap=()):
    """The check as one result dict, for a parsed console (console.Console);
    ktap: the job's kselftest results (for a kernel that reports nothing)."""
    name = f"{suite}.{NAME}"
    try:
        want, why = expected(bbml2, mode, cmdline)
    except LabError as e:
        return {"name": name, "result": "error", "detail": f"board {board}: {e}"}
    info = linmap.parse("\n".join(con.kernel + con.dmesg))
    got = linmap.state(info)
    if got is None:
        plain = [r for r in ktap if r["name"].endswith(PLAIN)]
        if plain and all(r["result"] == "pass" for r in plain):
            return {"name": name, "result": "skip",
                    "detail": f"board {board}: no 'linear map: bbml2' line (a kernel without "
                              f"the series' report); expected {want} ({why}); "
                              f"{PLAIN} checked the map from ptdump and the MIDRs: pass"}
        late = [r for r in ktap if r["name"].endswith(LATE_BLOCKS)]
        if want == "blocks" and late and all(r["result"] == "pass" for r in late):
            return {"name": name, "result": "skip",
                    "detail": f"board {board}: no 'linear map: bbml2' line (a kernel without "
                              f"the series' report); expected {want} ({why}); "
                              f"{LATE_BLOCKS} checked the map from ptdump: pass"}
        return {"name": name, "result": "fail",
                "detail": f"board {board}: the kernel never reported its linear map "
                          f"(no readable 'linear map: bbml2' line); expected {want} ({why})"}
    detail = (f"board {board}: kernel reports {got} (map={info.get('map')} "
              f"repainted={info.get('repainted')} options={info.get('options')} "
              f"boot_cpu={info.get('boot_cpu')} system={info.get('system')}), "
              f"expected {want} ({why})")
    return {"name": name, "result": "pass" if got == want else "fail", "detail": detail}
