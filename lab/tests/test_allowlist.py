"""The allow-list read from a kernel tree (issue 19) and the class it gives."""
import pytest

from bbml2lab import LabError, allowlist, cpus
from conftest import LAB

PATCHES = sorted((LAB.parent / "kernel/patches").glob("*.patch"))

CPUTYPE = """
#define ARM_CPU_IMP_ARM			0x41
#define ARM_CPU_IMP_AMPERE		0xC0
#define ARM_CPU_PART_CORTEX_X4		0xD82
#define ARM_CPU_PART_CORTEX_A725	0xD87
#define ARM_CPU_PART_C1_ULTRA		0xD8C
#define AMPERE_CPU_PART_AMPERE1		0xAC3
#define MIDR_CORTEX_X4 MIDR_CPU_MODEL(ARM_CPU_IMP_ARM, ARM_CPU_PART_CORTEX_X4)
#define MIDR_CORTEX_A725 MIDR_CPU_MODEL(ARM_CPU_IMP_ARM, ARM_CPU_PART_CORTEX_A725)
#define MIDR_C1_ULTRA MIDR_CPU_MODEL(ARM_CPU_IMP_ARM, ARM_CPU_PART_C1_ULTRA)
#define MIDR_AMPERE1 MIDR_CPU_MODEL(ARM_CPU_IMP_AMPERE, AMPERE_CPU_PART_AMPERE1)
"""

# 7.3's shape: a BBM >= 3 check next to the list, MIDR_RANGE with a variant.
CPUFEATURE_73 = """
bool cpu_supports_bbml3(void)
{
	static const struct midr_range supports_bbml3_list[] = {
		MIDR_REV_RANGE(MIDR_CORTEX_X4, 0, 3, 0xf),
		MIDR_ALL_VERSIONS(MIDR_AMPERE1),
		MIDR_ALL_VERSIONS(MIDR_CORTEX_A725),
		/* Erratum 3683289 fixed in r1p1 */
		MIDR_RANGE(MIDR_C1_ULTRA, 1, 1, 0xf, 0xf),
		{}
	};
	if (SYS_FIELD_GET(ID_AA64MMFR2_EL1, BBM, mmfr2) >= ID_AA64MMFR2_EL1_BBM_3)
		return true;
	return is_midr_in_range_list(supports_bbml3_list);
}
"""


def test_reads_73_shape():
    al = allowlist.parse(CPUFEATURE_73, CPUTYPE)
    assert al["array"] == "supports_bbml3_list"
    assert al["bbm_min"] == 3
    assert [r[:6] for r in al["ranges"]] == [
        (0x41, 0xd82, 0, 3, 0, 0xf), (0xc0, 0xac3, 0, 0, 0xf, 0xf),
        (0x41, 0xd87, 0, 0, 0xf, 0xf), (0x41, 0xd8c, 1, 1, 0xf, 0xf)]


@pytest.mark.parametrize("midr,listed", [
    (0x410fd823, True), (0x410fd822, False), (0x411fd823, False),   # X4: r0p3+ of variant 0
    (0x410fd870, True), (0x412fd871, True),                         # A725: any version
    (0x410fd8c0, False), (0x411fd8c0, False), (0x411fd8c1, True),   # C1-Ultra: r1p1 and later
    (0x412fd8c0, True),                                             # r2p0 is past r1p1
    (0x000f0510, False),                                            # QEMU max
])
def test_range_is_variant_and_revision_together(midr, listed):
    al = allowlist.parse(CPUFEATURE_73, CPUTYPE)
    assert allowlist.matches(al["ranges"], midr) is listed


def series_list_text():
    """bbml2_noabort_list[] as the series' patches build it: every MIDR_*
    entry they add to cpufeature.c (0002's list, then 7.3's entries)."""
    entries = []
    for patch in PATCHES:
        infile = False
        for line in patch.read_text().splitlines():
            if line.startswith("+++ "):
                infile = line.endswith("arch/arm64/kernel/cpufeature.c")
            elif infile and line.startswith("+") and line[1:].strip().startswith("MIDR_"):
                entries.append(line[1:])
    return ("static const struct midr_range bbml2_noabort_list[] = {\n"
            + "\n".join(entries) + "\n\t{}\n};\n")


def test_series_patches_give_the_series_list():
    """The reader on the series' own hunks agrees with cpus.ALLOW_LIST."""
    cputype = "\n".join(f"#define {name} MIDR_CPU_MODEL({v[0]:#x}, {v[1]:#x})"
                        for name, v in cpus.ALLOW_LIST.items())
    al = allowlist.parse(series_list_text(), cputype)
    assert al["bbm_min"] is None
    assert len(al["ranges"]) == len(cpus.ALLOW_LIST)
    for midr in (0x410fd842, 0x410fd841, 0x410fd823, 0xc00fac30, 0x410fd870, 0x000f0510,
                 0x411fd8c0, 0x411fd8c1, 0x410fd811):
        assert allowlist.matches(al["ranges"], midr) is cpus.on_allow_list(midr)


def test_a725_board_agrees_between_the_kernels():
    """Since the series carries 7.3's list, a board of Cortex-A725s is
    uniform for both kernels, and an X4 boot CPU with A725 secondaries
    repaints under neither (issue 20)."""
    board = [{"class": "cortex-a725", "midr": "0x410fd870"}] * 4
    al = allowlist.parse(CPUFEATURE_73, CPUTYPE)
    assert cpus.implied_bbml2(board) == "uniform"
    assert cpus.implied_bbml2(board, al["ranges"]) == "uniform"
    mixed = [{"class": "cortex-x4", "midr": "0x410fd823"}] + board[:3]
    assert cpus.implied_bbml2(mixed) == "uniform"
    assert cpus.implied_bbml2(mixed, al["ranges"]) == "uniform"


@pytest.mark.parametrize("cpufeature,cputype,msg", [
    ("", CPUTYPE, "found 0"),
    (CPUFEATURE_73.replace("MIDR_AMPERE1)", "MIDR_NOPE)"), CPUTYPE, "MIDR_NOPE is not defined"),
    (CPUFEATURE_73.replace("MIDR_ALL_VERSIONS(MIDR_AMPERE1)", "MIDR_FUTURE(MIDR_AMPERE1, 2)"),
     CPUTYPE, "does not know"),
    (CPUFEATURE_73.replace("0, 3, 0xf", "0, x, 0xf"), CPUTYPE, "not a number"),
])
def test_unreadable_lists_are_errors(cpufeature, cputype, msg):
    with pytest.raises(LabError, match=msg):
        allowlist.parse(cpufeature, cputype)


def test_expected_map_is_one_rule():
    assert cpus.expected_map(None, "assume") == "blocks"
    assert cpus.SHAPE[cpus.expected_map(None, "assume-repaint")] == ("pte", 1)
    with pytest.raises(LabError):
        cpus.expected_map(None, "none")


def test_local_and_lab_jobs_share_one_allow_list_path(tmp_path):
    """expectation(kernel=Image) reads the build's tree; expectation(
    allow_list=record) takes the record publish wrote of the same tree: one
    path, one answer. maxcpus=1 keeps only the boot CPU's say."""
    from bbml2lab import config
    from bbml2lab.job import expectation
    from conftest import fake_kernel_build
    m = config.load(LAB.parent / "configs/matrix.yaml", LAB.parent / "configs/boards.yaml")
    spec, = [s for s in m.expand("nightly-mainline") if s.board == "vboard-none-01"]
    board = m.boards[spec.board]
    image = fake_kernel_build(tmp_path / "kernel-mainline", ["MIDR_ALL_VERSIONS(MIDR_NEOVERSE_V3)"])
    record = allowlist.of_image(image)
    local = expectation(spec, board, "", kernel=image)
    assert local == expectation(spec, board, "", allow_list=record)
    assert local["bbml2"] == "uniform" and local["allow_list"].startswith("bbml2_noabort_list[] of ")
    # a copied Image (no tree): the inventory's class, nothing said
    copied = tmp_path / "Image"
    copied.write_bytes(b"Image")
    assert allowlist.of_image(copied) is None
    assert expectation(spec, board, "", kernel=copied) == {**local, "bbml2": "none",
                                                           "allow_list": None}
    assert expectation(spec, board, "")["bbml2"] == "none"
    # an unreadable record: the inventory's class, and why
    bad = expectation(spec, board, "", allow_list={"ranges": [[1, 2]]})
    assert bad["bbml2"] == "none" and bad["allow_list"] == (
        "the inventory's class (the allow-list record has no ranges)")
    late, = [s for s in m.expand("nightly-mainline") if s.board == "qemu-late-01"]
    x4 = fake_kernel_build(tmp_path / "kernel-x4", ["MIDR_REV_RANGE(MIDR_CORTEX_X4, 0, 3, 0xf)"])
    assert expectation(late, m.boards["qemu-late-01"], "maxcpus=1",
                       allow_list=allowlist.of_image(x4))["bbml2"] == "none"
