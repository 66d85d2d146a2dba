"""Kernel health and boot-contract results for one boot.

  <suite>.boot              the guest init printed its boot marker
  <suite>.suite_complete    the suite end marker was seen (and its rc makes sense)
  <suite>.poweroff          the guest reached poweroff
  <suite>.kernel.no_splat   no kernel warning/oops/lockdep/KASAN/... in the
                            live console or the dmesg dump, and no fatal
                            trap of el2shim (the EL2 program of mixed boards)
"""
import re

from .console import KERNEL_LINE

SPLATS = [
    r"WARNING:", r"BUG:", r"\bOops\b", r"Kernel panic", r"Unable to handle kernel",
    r"circular locking", r"inconsistent lock state",
    r"sleeping function called from invalid context", r"Invalid wait context",
    r"KASAN:", r"KFENCE:", r"soft lockup", r"rcu: INFO:",
]
SPLAT = re.compile("|".join(SPLATS))
# el2shim stops the machine on anything it does not handle, with this line.
FIRMWARE_FATAL = re.compile(r"^el2shim: FATAL")
MAX_DETAIL_LINES = 20


def find_splats(lines):
    """Splat lines among kernel lines, deduplicated by text without the
    timestamp (the same message appears live and in the dmesg dump)."""
    found, seen = [], set()
    for line in lines:
        if not SPLAT.search(line):
            continue
        key = KERNEL_LINE.sub("", line).strip()
        if key not in seen:
            seen.add(key)
            found.append(line.strip())
    return found


def results(con, suite, ktap_results):
    """Health results for a parsed console (console.Console)."""
    out = []

    def add(name, ok, detail):
        out.append({"name": f"{suite}.{name}", "result": "pass" if ok else "fail",
                    "detail": detail})

    if con.boot:
        same = con.boot["suite"] == suite
        add("boot", same, f"cpus={con.boot['cpus']} mem_kb={con.boot['mem_kb']}"
            + ("" if same else f"; guest ran suite '{con.boot['suite']}'"))
    else:
        add("boot", False, "boot marker never seen (kernel or init did not start)")

    if con.ended:
        failures = sum(r["result"] == "fail" for r in ktap_results)
        skipped_all = any(r["name"] == f"{suite}.ktap" and r["result"] == "skip"
                          for r in ktap_results)
        if con.rc == 0 or failures:
            add("suite_complete", True, f"rc={con.rc}")
        elif skipped_all or con.rc == 4:
            out.append({"name": f"{suite}.suite_complete", "result": "skip",
                        "detail": f"rc={con.rc}, suite skipped"})
        else:
            add("suite_complete", False, f"rc={con.rc} but no KTAP failure explains it")
    elif con.began:
        add("suite_complete", False, "suite end marker never seen (stream cut)")
    else:
        add("suite_complete", False, "suite never began")

    add("poweroff", con.poweroff, "" if con.poweroff else "poweroff marker never seen")

    splats = find_splats(con.kernel + con.dmesg) + [
        line for line in con.firmware if FIRMWARE_FATAL.search(line)]
    detail = "\n".join(splats[:MAX_DETAIL_LINES])
    if len(splats) > MAX_DETAIL_LINES:
        detail += f"\n(+{len(splats) - MAX_DETAIL_LINES} more)"
    if not con.dmesg_complete and not splats:
        detail = "dmesg dump incomplete; only the live console was scanned"
    add("kernel.no_splat", not splats, detail)
    return out
