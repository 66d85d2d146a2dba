"""The allow-list mirror and what a board's CPUs imply."""
import re

import pytest

from bbml2lab import LabError, cpus
from conftest import LAB

PATCH = next((LAB.parent / "kernel/patches").glob("0002-*.patch"))


def test_allow_list_matches_the_series():
    text = PATCH.read_text()
    body = text[text.index("bbml2_noabort_list[] = {"):]
    body = body[:body.index("};")]
    kernel = {}
    for m in re.finditer(r"MIDR_REV_RANGE\((\w+), (\d+), (\d+), (0x[0-9a-f]+|\d+)\)", body):
        kernel[m[1]] = (int(m[2]), int(m[3]), int(m[4], 0))
    for m in re.finditer(r"MIDR_ALL_VERSIONS\((\w+)\)", body):
        kernel[m[1]] = (None, 0, 0xf)
    assert kernel == {name: v[2:] for name, v in cpus.ALLOW_LIST.items()}


@pytest.mark.parametrize("midr,listed", [
    ("0x410fd842", True), ("0x410fd841", False),      # Neoverse-V3 r0p2 / r0p1
    ("0x410fd823", True), ("0x410fd822", False),      # Cortex-X4 r0p3 / r0p2
    ("0x411fd823", False),                            # Cortex-X4 r1p3: other variant
    ("0xc00fac30", True), ("0xc01fac41", True),       # AmpereOne, AmpereOne A (any version)
    ("0x410fd811", False), ("0x410fd082", False),     # Cortex-A720, Cortex-A72
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
