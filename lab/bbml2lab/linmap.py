"""The kernel's one boot line about the linear map, and what it says.

Patch 0007 prints, once all CPUs are up:

  linear map: bbml2 options=<opts> boot_cpu=<0|1> system=<0|1> map=<blocks|pte>
              repainted=<0|1> repaint_ns=<n> repaint_pmd_tables=<n> repaint_pte_tables=<n>
              repaint_prep_ns=<n>

repaint_ns is the stop_machine() window; repaint_prep_ns (since the repaint
fills its tables before that window; absent from older kernels' lines) the
preparation before it.

parse() reads it (key=value pairs, so a new key does not break old runs) from
a console or dmesg text; state() says which of the three outcomes the boot
had: blocks, pte (page-mapped from boot) or repainted. The runner records it
per boot and checks it against the board's CPUs (cpus.expected_map).
"""
import re

LINE = re.compile(r"linear map: bbml2 (?P<kv>(?:\S+=\S*\s*)+)$")
INTS = ("boot_cpu", "system", "repainted", "repaint_ns", "repaint_pmd_tables",
        "repaint_pte_tables", "repaint_prep_ns")


def parse(text):
    """Dict of the last linear-map line in text (console noise before the
    line, e.g. a timestamp, is ignored), or None if the kernel printed none."""
    found = None
    for line in text.splitlines():
        idx = line.find("linear map: bbml2 ")
        if idx < 0:
            continue
        m = LINE.match(line[idx:].rstrip())
        if not m:
            continue
        info = dict(kv.split("=", 1) for kv in m["kv"].split())
        for key in INTS:
            if key in info:
                try:
                    info[key] = int(info[key])
                except ValueError:
                    info[key] = None
        found = info
    return found


def state(info):
    """'repainted' | 'blocks' | 'pte' | None (no or unreadable line)."""
    if not info or info.get("map") not in ("blocks", "pte"):
        return None
    if info.get("repainted"):
        return "repainted"
    return info["map"]


def summary(info):
    """Short human text: 'repainted in 74.2 ms (0 PMD + 509 PTE tables)'."""
    s = state(info)
    if s is None:
        return "no linear-map line"
    if s != "repainted":
        return s
    ns = info.get("repaint_ns")
    ms = f" in {ns / 1e6:.1f} ms" if isinstance(ns, int) else ""
    prep = info.get("repaint_prep_ns")
    if isinstance(prep, int):
        ms += f" after {prep / 1e6:.1f} ms of preparation"
    return (f"repainted{ms} ({info.get('repaint_pmd_tables', '?')} PMD + "
            f"{info.get('repaint_pte_tables', '?')} PTE tables)")
