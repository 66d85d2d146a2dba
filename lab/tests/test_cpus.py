"""The allow-list mirror and what a board's CPUs imply."""
import re

import pytest

from bbml2lab import LabError, cpus
from conftest import LAB

PATCHES = sorted((LAB.parent / "kernel/patches").glob("*.patch"))
ENTRY = re.compile(r"^\+\s*(MIDR_ALL_VERSIONS|MIDR_REV_RANGE|MIDR_RANGE)\((\w+)((?:, *\w+)*)\),")


def series_entries():
    """{MIDR_*: (vmin, rmin, vmax, rmax)} that the series' patches add to
    cpufeature.c: 0002's list and its extension by a later patch."""
    out = {}
    for patch in PATCHES:
        infile = False
        for line in patch.read_text().splitlines():
            if line.startswith("+++ "):
                infile = line.endswith("arch/arm64/kernel/cpufeature.c")
            m = ENTRY.match(line) if infile else None
            if not m:
                continue
            args = [int(a, 0) for a in m[3].replace(" ", "").split(",")[1:]]
            out[m[2]] = {"MIDR_ALL_VERSIONS": (0, 0, 0xf, 0xf),
                         "MIDR_REV_RANGE": tuple(args[:1] + args[1:2] + args[:1] + args[2:3]),
                         "MIDR_RANGE": tuple(args)}[m[1]]
    return out


def test_allow_list_matches_the_series():
    kernel = series_entries()
    assert "MIDR_CORTEX_X4" in kernel and "MIDR_CORTEX_A725" in kernel
    assert kernel == {name: v[2:] for name, v in cpus.ALLOW_LIST.items()}


@pytest.mark.parametrize("midr,listed", [
    ("0x410fd842", True), ("0x410fd841", False),      # Neoverse-V3 r0p2 / r0p1
    ("0x410fd823", True), ("0x410fd822", False),      # Cortex-X4 r0p3 / r0p2
    ("0x411fd823", False),                            # Cortex-X4 r1p3: other variant
    ("0xc00fac30", True), ("0xc01fac41", True),       # AmpereOne, AmpereOne A (any version)
    ("0x410fd811", False), ("0x410fd082", False),     # Cortex-A720, Cortex-A72
    ("0x410fd870", True), ("0x412fd871", True),       # Cortex-A725, any version (7.3's list)
    ("0x411fd8c0", False), ("0x411fd8c1", True),      # C1-Ultra r1p0 / r1p1
    ("0x412fd8c0", True),                             # C1-Ultra r2p0: past r1p1
    ("0x000f0510", False),                            # QEMU max
])
def test_on_allow_list(midr, listed):
    assert cpus.on_allow_list(midr) is listed


def test_implied_bbml2_and_expectations():
    x4, a720 = {"class": "x4", "midr": "0x410fd823"}, {"class": "a720", "midr": "0x410fd811"}
    assert cpus.implied_bbml2([x4, x4]) == "uniform"
    assert cpus.implied_bbml2([x4, a720]) == "mixed"
    assert cpus.implied_bbml2([a720, x4]) == "none"
    assert cpus.expected_map("uniform", "none") == "blocks"
    assert cpus.expected_map("mixed", "none") == "repainted"
    assert cpus.expected_map("none", "none") == "pte"
    assert cpus.expected_map("uniform", "repaint") == "repainted"
    assert cpus.expected_map("none", "assume-repaint") == "repainted"
    assert cpus.expected_map("none", "off") == "pte"


def test_expand_and_bad_midr():
    groups = [{"class": "x4", "midr": "0x410fd823", "count": 1},
              {"class": "q", "midr": "0x000f0510", "count": "rest"}]
    assert [c["class"] for c in cpus.expand(groups, 3)] == ["x4", "q", "q"]
    with pytest.raises(LabError, match="needs the job's CPU count"):
        cpus.expand(groups)
    with pytest.raises(LabError, match="expected a hex value"):
        cpus.parse_midr("d842")
