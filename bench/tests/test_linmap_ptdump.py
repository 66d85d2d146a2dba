"""bench/linmap-cost reads ptdump with the kselftests' parser
(selftests/arm64/bbml2/ptdump_parse.c): built natively here with the same
-Wall -Wextra -Werror, run on the kselftests' recorded 4K dumps through
LINMAP_COST_PTDUMP, its "ptdump" object must keep the keys report.py,
page.py and ramsweep.py read and carry the numbers of the layout."""
import json
import os
import shutil
import subprocess
import sys

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BBML2 = os.path.join(TOP, "selftests", "arm64", "bbml2")
sys.path.insert(0, os.path.join(BBML2, "host"))
import fixtures as fx  # noqa: E402

KEYS = {"ok", "error", "read_ms", "page_size", "selfcheck_bad", "lines", "span_bytes",
        "bytes", "pte_tables", "pmd_tables"}
BUCKETS = {"pud", "cont_pmd", "pmd", "cont_pte", "pte", "hole", "other", "invalid", "ro"}


@pytest.fixture(scope="module")
def linmap_cost(tmp_path_factory):
    if os.sysconf("SC_PAGESIZE") != 4096:
        pytest.skip("the recorded dumps are 4K ones; this host's page size differs")
    if not shutil.which("gcc"):
        pytest.fail("no host gcc")
    out = tmp_path_factory.mktemp("lc") / "linmap-cost"
    r = subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", BBML2,
                        "-o", str(out), os.path.join(TOP, "bench", "linmap-cost.c"),
                        os.path.join(TOP, "bench", "common.c"),
                        os.path.join(TOP, "bench", "tlblayout.c"),
                        os.path.join(BBML2, "ptdump_parse.c")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


def summary(exe, path):
    r = subprocess.run([exe], env=dict(os.environ, LINMAP_COST_PTDUMP=str(path)),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["ptdump"]


def test_recorded_blocks_dump(linmap_cost):
    """The numbers are the layout's, from the one parser: bytes per level
    (alias included), invalid (KFENCE guard pages), ro (the alias), the
    table windows; the old parser's keys are all there."""
    p = summary(linmap_cost, os.path.join(fx.FIXTURES, "4k-blocks.txt"))
    assert set(p) == KEYS and set(p["bytes"]) == BUCKETS
    assert p["ok"] is True and p["error"] is None and p["selfcheck_bad"] == 0
    assert p["page_size"] == 4096
    layout = fx.LAYOUT_4K_BLOCKS
    assert p["lines"] == len(layout)
    assert p["span_bytes"] == fx.PAGE_END - fx.PAGE_OFFSET
    assert p["bytes"]["pud"] == 1 << 30
    assert p["bytes"]["cont_pmd"] == 2 * 992 << 20
    assert p["bytes"]["pmd"] == (2 + 22 + 4 + 30) << 20
    assert p["bytes"]["invalid"] == 9 * 4096
    assert p["bytes"]["ro"] == fx.ALIAS_4K[1] - fx.ALIAS_4K[0]
    assert p["bytes"]["other"] == 0
    assert sum(p["bytes"][b] for b in ("pud", "cont_pmd", "pmd", "cont_pte", "pte")) == 3 << 30
    # PTE-level lines touch three 2M windows; PMD/PTE lines two 1G windows.
    assert p["pte_tables"] == 3 and p["pmd_tables"] == 2


def test_recorded_pages_dump(linmap_cost):
    """A page-mapped 3 GiB map: every 2M window but the alias's 11 blocks
    has a PTE table (the exact RAM/512 count)."""
    p = summary(linmap_cost, os.path.join(fx.FIXTURES, "4k-pages.txt"))
    assert p["ok"] is True
    assert p["pte_tables"] == (3 << 30) // (2 << 20) - 11


def test_broken_dump_is_not_ok(linmap_cost, tmp_path):
    """A dump the parser rejects (unknown token) or whose lines fail the
    self-checks (a gap) is ok=false with the reason: report.py then leaves
    it out instead of charting miscounted bytes (the old parser dropped
    unknown lines into "other" and said ok)."""
    text = open(os.path.join(fx.FIXTURES, "4k-blocks.txt")).read()
    bad = tmp_path / "token.txt"
    bad.write_text(text.replace("UXN    MEM/NORMAL-TAGGED", "UXN PBHA MEM/NORMAL-TAGGED", 1))
    p = summary(linmap_cost, bad)
    assert p["ok"] is False and "unknown token 'PBHA'" in p["error"]
    gap = tmp_path / "gap.txt"
    gap.write_text("".join(l for l in text.splitlines(keepends=True)
                           if not l.startswith("0xffff000080000000-")))
    p = summary(linmap_cost, gap)
    assert p["ok"] is False and p["selfcheck_bad"] == 1 and "gap or overlap" in p["error"]
