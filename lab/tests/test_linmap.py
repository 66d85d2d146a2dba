"""The kernel's linear-map boot line."""
from bbml2lab import linmap

REPAINT = ("[    0.613590] linear map: bbml2 options=assume,repaint boot_cpu=1 system=0 map=pte "
           "repainted=1 repaint_ns=74229168 repaint_pmd_tables=0 repaint_pte_tables=509")
BLOCKS = ("[    0.401000] linear map: bbml2 options=none boot_cpu=1 system=1 map=blocks "
          "repainted=0 repaint_ns=0 repaint_pmd_tables=0 repaint_pte_tables=0")
PTE = "linear map: bbml2 options=off boot_cpu=0 system=0 map=pte repainted=0 repaint_ns=0"


def test_parse_repaint_line():
    info = linmap.parse("noise\n" + REPAINT + "\nmore noise\n")
    assert info == {"options": "assume,repaint", "boot_cpu": 1, "system": 0, "map": "pte",
                    "repainted": 1, "repaint_ns": 74229168, "repaint_pmd_tables": 0,
                    "repaint_pte_tables": 509}
    assert linmap.state(info) == "repainted"
    assert linmap.summary(info) == "repainted in 74.2 ms (0 PMD + 509 PTE tables)"


def test_states_and_missing_line():
    assert linmap.state(linmap.parse(BLOCKS)) == "blocks"
    assert linmap.state(linmap.parse(PTE)) == "pte"
    assert linmap.parse("no such line\n") is None
    assert linmap.state(None) is None
    assert linmap.summary(None) == "no linear-map line"


def test_console_interleaving_and_bad_values():
    # a line glued behind other console output still parses; the last one wins
    assert linmap.state(linmap.parse("bbml2-lab: x" + BLOCKS + "\n" + REPAINT)) == "repainted"
    info = linmap.parse("linear map: bbml2 options=none boot_cpu=x system=1 map=sideways")
    assert info["boot_cpu"] is None and linmap.state(info) is None


def test_preparation_key_and_old_lines():
    # since the repaint fills its tables before stop_machine() the line ends
    # with repaint_prep_ns; the lines of older kernels (REPAINT) still parse
    new = REPAINT.replace("repaint_ns=74229168", "repaint_ns=181000") + " repaint_prep_ns=9630000"
    info = linmap.parse(new)
    assert info["repaint_ns"] == 181000 and info["repaint_prep_ns"] == 9630000
    assert linmap.summary(info) == ("repainted in 0.2 ms after 9.6 ms of preparation "
                                    "(0 PMD + 509 PTE tables)")
    assert "repaint_prep_ns" not in linmap.parse(REPAINT)
