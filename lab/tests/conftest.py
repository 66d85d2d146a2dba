"""Shared test setup: import path, fixture data, the integration marker."""
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB))

DATA = Path(__file__).resolve().parent / "data"


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: boots a real kernel with lava-run")


@pytest.fixture
def data():
    """Path of the fixture data directory."""
    return DATA


def by_name(results):
    """{name: result dict} (names are unique within one parse)."""
    out = {r["name"]: r for r in results}
    assert len(out) == len(results), "duplicate result names"
    return out


def read(path):
    """File text with its line endings untouched (no universal newlines:
    console fixtures end lines in "\\r\\r\\n" like QEMU's console)."""
    with open(path, newline="") as f:
        return f.read()


FAKE_CPUTYPE = """
#define ARM_CPU_IMP_ARM			0x41
#define ARM_CPU_PART_CORTEX_X4		0xD82
#define ARM_CPU_PART_NEOVERSE_V3	0xD84
#define MIDR_CORTEX_X4 MIDR_CPU_MODEL(ARM_CPU_IMP_ARM, ARM_CPU_PART_CORTEX_X4)
#define MIDR_NEOVERSE_V3 MIDR_CPU_MODEL(ARM_CPU_IMP_ARM, ARM_CPU_PART_NEOVERSE_V3)
"""


def fake_kernel_build(kout, entries, name="bbml2_noabort_list"):
    """An O= build directory kout (.config, arch/arm64/boot/Image) whose
    `source` link is a fake tree listing `entries` (e.g.
    "MIDR_ALL_VERSIONS(MIDR_NEOVERSE_V3)") in its allow-list, as
    allowlist.tree_of_image() finds a real build's tree. Returns the Image."""
    tree = kout.parent / f"{kout.name}-src"
    (tree / "arch/arm64/kernel").mkdir(parents=True)
    (tree / "arch/arm64/include/asm").mkdir(parents=True)
    body = "".join(f"\t\t{e},\n" for e in entries)
    (tree / "arch/arm64/kernel/cpufeature.c").write_text(
        f"static const struct midr_range {name}[] = {{\n{body}\t\t{{}}\n\t}};\n")
    (tree / "arch/arm64/include/asm/cputype.h").write_text(FAKE_CPUTYPE)
    image = kout / "arch/arm64/boot/Image"
    image.parent.mkdir(parents=True, exist_ok=True)
    if not image.exists():
        image.write_bytes(b"Image")
    if not (kout / ".config").exists():
        (kout / ".config").write_text("CONFIG_ARM64=y\n")
    (kout / "source").symlink_to(tree)
    return image
