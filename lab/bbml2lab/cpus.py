"""The series' BBML2_NOABORT allow-list, and what a board's CPUs imply.

ALLOW_LIST mirrors bbml2_noabort_list[] as the series builds it: 0002 adds
the list, a later patch extends it with 7.3's entries (a unit test reads the
entries every patch of kernel/patches adds and compares), so the inventory's
`bbml2` and every board's expected linear-map shape follow the kernel's own
rule, not a copy that could drift.
"""
import re

from . import LabError

# (implementer, part, min variant, min revision, max variant, max revision),
# variant and revision compared together as the kernel's is_midr_in_range()
# does (the ranges of allowlist.py). Names are the kernel's MIDR_* macros
# (arch/arm64/include/asm/cputype.h).
ALLOW_LIST = {
    "MIDR_CORTEX_X4": (0x41, 0xd82, 0, 3, 0, 0xf),
    "MIDR_NEOVERSE_V3": (0x41, 0xd84, 0, 2, 0, 0xf),
    "MIDR_NEOVERSE_V3AE": (0x41, 0xd83, 0, 2, 0, 0xf),
    "MIDR_AMPERE1": (0xc0, 0xac3, 0, 0, 0xf, 0xf),
    "MIDR_AMPERE1A": (0xc0, 0xac4, 0, 0, 0xf, 0xf),
    "MIDR_NVIDIA_OLYMPUS": (0x4e, 0x010, 0, 0, 0xf, 0xf),
    "MIDR_CORTEX_A520AE": (0x41, 0xd88, 0, 0, 0xf, 0xf),
    "MIDR_CORTEX_A715": (0x41, 0xd4d, 0, 0, 0xf, 0xf),
    "MIDR_CORTEX_A720AE": (0x41, 0xd89, 0, 0, 0xf, 0xf),
    "MIDR_CORTEX_A725": (0x41, 0xd87, 0, 0, 0xf, 0xf),
    "MIDR_NEOVERSE_N3": (0x41, 0xd8e, 0, 0, 0xf, 0xf),
    "MIDR_C1_NANO": (0x41, 0xd8a, 0, 0, 0xf, 0xf),
    "MIDR_C1_PRO": (0x41, 0xd8b, 0, 0, 0xf, 0xf),
    "MIDR_C1_ULTRA": (0x41, 0xd8c, 1, 1, 0xf, 0xf),
    "MIDR_C1_PREMIUM": (0x41, 0xd90, 1, 1, 0xf, 0xf),
}


def parse_midr(value):
    """'0x410fd842' (or an int) -> int, LabError if it is not a 32-bit MIDR."""
    if isinstance(value, int):
        midr = value
    elif isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{1,8}", value):
        midr = int(value, 16)
    else:
        raise LabError(f"MIDR '{value}': expected a hex value like 0x410fd842")
    if not 0 <= midr <= 0xffffffff:
        raise LabError(f"MIDR '{value}': more than 32 bits")
    return midr


def fields(midr):
    """(implementer, variant, part, revision) of a MIDR value."""
    return (midr >> 24) & 0xff, (midr >> 20) & 0xf, (midr >> 4) & 0xfff, midr & 0xf


def on_allow_list(midr, ranges=None):
    """True if the series treats this MIDR as BBML2_NOABORT capable; with
    `ranges` (allowlist.extract(tree)["ranges"]), if that kernel's list has
    it (issue 19: the list is the kernel under test's)."""
    if ranges is not None:
        from . import allowlist
        return allowlist.matches(ranges, parse_midr(midr))
    impl, var, part, rev = fields(parse_midr(midr))
    return any(impl == a_impl and part == a_part
               and (v_min << 4 | r_min) <= (var << 4 | rev) <= (v_max << 4 | r_max)
               for a_impl, a_part, v_min, r_min, v_max, r_max in ALLOW_LIST.values())


def expand(groups, count=None):
    """The board's per-CPU list [{class, midr}] in logical order. `count`:
    the job's CPU count, filling a trailing `count: rest` group."""
    cpus = []
    for g in groups:
        n = g.get("count", 1)
        if n == "rest":
            if count is None:
                raise LabError("a 'count: rest' CPU group needs the job's CPU count")
            n = count - len(cpus)
            if n < 0:
                raise LabError(f"{count} CPUs is fewer than the board's fixed CPU groups")
        cpus += [{"class": g["class"], "midr": g["midr"]}] * n
    if count is not None and len(cpus) != count:
        raise LabError(f"the board has {len(cpus)} CPUs, not {count}")
    return cpus


def implied_bbml2(cpus, ranges=None):
    """uniform | mixed | none from a per-CPU list (boot CPU first), by the
    series' list or the given kernel's `ranges`."""
    listed = [on_allow_list(c["midr"], ranges) for c in cpus]
    if not listed or not listed[0]:
        return "none"
    return "uniform" if all(listed) else "mixed"


# The linear-map fields the series reports ("map", "repainted") for each state.
SHAPE = {"blocks": ("blocks", 0), "pte": ("pte", 0), "repainted": ("pte", 1)}


# What the kernel must report per (board bbml2, mode): the linear map's
# final state. `assume` makes every CPU capable, so the board does not matter;
# `off` and debug_pagealloc force pages from boot. Keys are matrix mode names.
_EXPECTED = {
    ("uniform", "none"): "blocks", ("mixed", "none"): "repainted", ("none", "none"): "pte",
    ("uniform", "repaint"): "repainted", ("mixed", "repaint"): "repainted",
    ("none", "repaint"): "pte",
}


def expected_map(bbml2, mode):
    """'blocks' | 'pte' | 'repainted': what a board with these CPUs must end
    up with in this mode (before any debug option that forces pages). The
    one rule for lab, bench and reports; bbml2=None (board unknown) answers
    the modes where the board does not matter and raises for the others."""
    if mode == "off":
        return "pte"
    if mode == "assume":
        return "blocks"
    if mode == "assume-repaint":
        return "repainted"
    try:
        return _EXPECTED[(bbml2, mode)]
    except KeyError:
        raise LabError(f"no expectation for a {bbml2} board in mode '{mode}'") from None
