# SPDX-License-Identifier: GPL-2.0
"""Host unit tests of ptdump_parse.c (parser, self-checks, shape, models).

ptdump_host.c links ../ptdump_parse.c (built here with the host gcc,
-Wall -Wextra -Werror) and prints JSON for a recorded dump; the fixtures
are hand-written layouts in the exact 6.12 arm64 ptdump format
(fixtures.py). Expectations are computed here, in Python, from the
layouts, or written out by hand, never taken from the C code. Every test
names the defect of the parser or model that it catches.

    python3 -m pytest -q selftests/arm64/bbml2/host
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures as fx  # noqa: E402

# PTDUMP_PARSE_C: another ptdump_parse.c (a mutant, to see a test fail).
SRC = [os.path.join(HERE, "ptdump_host.c"),
       os.environ.get("PTDUMP_PARSE_C", os.path.join(HERE, "..", "ptdump_parse.c"))]
CC = os.environ.get("HOSTCC", "gcc")


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    """ptdump_host built natively; warnings are errors."""
    if not shutil.which(CC):
        pytest.fail(f"no host compiler {CC}")
    out = tmp_path_factory.mktemp("ptdump") / "ptdump_host"
    r = subprocess.run([CC, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-o", str(out)] + SRC, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


def run(driver, dump_text, *args, page=4096, tmp_path=None, want=None, baseline=None):
    """Run the driver on @dump_text (a string) and return its JSON."""
    d = tmp_path / "dump.txt"
    d.write_text(dump_text)
    cmd = [driver, "--page", str(page)]
    for name, text in (("--want", want), ("--baseline", baseline)):
        if text is not None:
            p = tmp_path / (name[2:] + ".txt")
            p.write_text(text)
            cmd += [name, str(p)]
    cmd += [str(a) for a in args] + [str(d)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def fixture_text(name):
    with open(os.path.join(fx.FIXTURES, name)) as f:
        return f.read()


# --- expectations from the layouts, in Python -------------------------------

def kind(leaf):
    _, _, level, attrs, _ = leaf
    if attrs is None:
        return "hole"
    if level == "PUD":
        return "PUD"
    if level == "PMD":
        return "CONT_PMD" if "CON" in attrs else "PMD"
    if level == "PTE":
        return "CONT_PTE" if "CON" in attrs else "PTE"
    return "PGD/P4D"


KINDS = ["hole", "PUD", "CONT_PMD", "PMD", "CONT_PTE", "PTE", "PGD/P4D"]


def windows(lines, size):
    seen = set()
    for s, e in lines:
        seen.update(range(s // size, (e - 1) // size + 1))
    return len(seen)


def expected_shape(layout, geom, alias):
    """Bytes per kind outside/inside the alias and the table windows."""
    a0, a1 = alias
    out = {"bytes": dict.fromkeys(KINDS, 0), "alias": dict.fromkeys(KINDS, 0),
           "mapped": 0, "invalid": 0, "alias_blocks": 0}
    for leaf in layout:
        s, e, level, attrs, _ = leaf
        k = kind(leaf)
        inside = max(0, min(e, a1) - max(s, a0))
        out["alias"][k] += inside
        out["bytes"][k] += e - s - inside
        if attrs is not None:
            out["mapped"] += e - s
            out["invalid"] += (e - s) if "F" in attrs else 0
            if k == "PMD":
                out["alias_blocks"] += inside // geom["pmd"]
    out["pte_tables"] = windows([(l[0], l[1]) for l in layout if l[2] == "PTE"], geom["pmd"])
    out["pmd_tables"] = windows([(l[0], l[1]) for l in layout if l[2] in ("PTE", "PMD")],
                                geom["pud"])
    out["mapped_windows"] = windows([(l[0], l[1]) for l in layout if l[3] is not None],
                                    geom["pmd"])
    return out


GRANULES = {
    "4k": dict(page=4096, geom=fx.G4, blocks="4k-blocks.txt", split="4k-split.txt",
               layout=fx.LAYOUT_4K_BLOCKS, alias=fx.ALIAS_4K, kfence=fx.KFENCE_4K,
               at=fx.pa(fx.SPLIT_4K),
               # PUD -> contiguous PMDs (one PMD table), one contiguous PMD
               # range -> PMDs, one PMD -> contiguous PTEs (one PTE table),
               # one contiguous PTE range -> pages.
               counts=dict(pud=1, cont_pmd=1, pmd=1, cont_pte=1, tables_pmd=1, tables_pte=1)),
    "16k": dict(page=16384, geom=fx.G16, blocks="16k-blocks.txt", split="16k-split.txt",
                layout=fx.LAYOUT_16K_BLOCKS, alias=fx.ALIAS_16K, kfence=(0, 0),
                at=fx.pa(fx.SPLIT_16K),
                counts=dict(pud=0, cont_pmd=1, pmd=1, cont_pte=1, tables_pmd=0, tables_pte=1)),
    "64k": dict(page=65536, geom=fx.G64, blocks="64k-blocks.txt", split="64k-split.txt",
                layout=fx.LAYOUT_64K_BLOCKS, alias=fx.ALIAS_64K, kfence=(0, 0),
                at=fx.pa(fx.SPLIT_64K),
                counts=dict(pud=0, cont_pmd=0, pmd=1, cont_pte=1, tables_pmd=0, tables_pte=1)),
}


def layout_args(g):
    args = ["--alias", hex(g["alias"][0]), hex(g["alias"][1])]
    if g["kfence"] != (0, 0):
        args += ["--kfence", hex(g["kfence"][0]), hex(g["kfence"][1])]
    return args


# --- the fixtures themselves -------------------------------------------------

def test_fixture_files_are_the_layouts():
    """Catches: a fixture file edited by hand so that it no longer is the
    layout the expectations below are computed from."""
    for name, layout in fx.FILES.items():
        assert fixture_text(name) == fx.dump_text(layout), name


def test_line_format_is_the_kernels():
    """Catches: fixtures in a format the kernel does not print (checked
    against lines typed from arch/arm64/mm/ptdump.c note_page()/dump_prot()
    of 6.12: the blank clear texts, the size unit, the token order)."""
    text = fixture_text("4k-blocks.txt")
    assert ("0xffff000040000000-0xffff000040200000           2M PMD       "
            "RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED\n") in text
    assert ("0xffff000040210000-0xffff000040400000        1984K PTE       "
            "ro NX SHD AF            UXN    MEM/NORMAL\n") in text
    assert ("0xffff0000fffe0000-0xffff0000fffe2000           8K PTE F     "
            "RW NX SHD AF            UXN    MEM/NORMAL-TAGGED\n") in text
    assert "0xffff000000000000-0xffff000040000000           1G PUD\n" in text
    assert text.startswith("---[ Linear Mapping start ]---\n")


# --- parser and shape on good dumps, per granule ----------------------------

@pytest.mark.parametrize("gran", sorted(GRANULES))
def test_shape_exact(driver, tmp_path, gran):
    """Catches: bytes counted into the wrong kind (CON/BLK/level mapping),
    sizes taken from the size column, alias bytes not separated, F lines
    not counted invalid, and PTE/PMD table windows of the wrong size for
    the granule (a 2M/1G window hard-coded for 16K and 64K pages)."""
    g = GRANULES[gran]
    out = run(driver, fixture_text(g["blocks"]), *layout_args(g), page=g["page"],
              tmp_path=tmp_path)
    assert out["parse"] == {"rc": 0, "error": ""}
    assert out["selfcheck"] == {"bad": 0, "error": ""}
    assert out["start"] == fx.PAGE_OFFSET and out["end"] == fx.PAGE_END
    assert out["nr"] == len(g["layout"])
    want = expected_shape(g["layout"], g["geom"], g["alias"])
    for key, val in want.items():
        assert out["shape"][key] == val, key


@pytest.mark.parametrize("gran", sorted(GRANULES))
def test_boot_model_is_map_mem(driver, tmp_path, gran):
    """Catches: a boot model (lm_boot_model, map_mem()) that uses
    contiguous entries in the kernel alias, blocks in the early KFENCE pool,
    contiguous ranges that are not whole and aligned, or PUD blocks with
    16K/64K pages: its bytes per kind must be the recorded boot's."""
    g = GRANULES[gran]
    out = run(driver, fixture_text(g["blocks"]), *layout_args(g), "--boot", "blocks",
              page=g["page"], tmp_path=tmp_path)
    assert out["model"]["shape"]["bytes"] == out["shape"]["bytes"]
    assert out["model"]["shape"]["alias"] == out["shape"]["alias"]
    assert out["model"]["shape"]["pte_tables"] == out["shape"]["pte_tables"]
    assert out["model"]["selfcheck"] == 0


@pytest.mark.parametrize("gran", sorted(GRANULES))
def test_split_model(driver, tmp_path, gran):
    """Catches: a split model (model_split_at, split_kernel_leaf_mapping())
    that splits too far or not far enough, loses attributes, leaves CON on
    a split range, or counts splits and tables wrong: the dump split at
    one address must be exactly the hand-written split dump."""
    g = GRANULES[gran]
    out = run(driver, fixture_text(g["blocks"]), "--split", hex(g["at"]),
              page=g["page"], tmp_path=tmp_path, want=fixture_text(g["split"]))
    assert out["compare"] == {"ndiff": 0, "diff": ""}
    assert out["model"]["counts"] == g["counts"]
    assert out["model"]["selfcheck"] == 0
    # Splitting again at the same address changes nothing more.
    out2 = run(driver, fixture_text(g["split"]), "--split", hex(g["at"]),
               page=g["page"], tmp_path=tmp_path, want=fixture_text(g["split"]))
    assert out2["compare"]["ndiff"] == 0
    assert set(out2["model"]["counts"].values()) == {0}


@pytest.mark.parametrize("gran", sorted(GRANULES))
def test_compare_sees_wrong_split(driver, tmp_path, gran):
    """Catches: a comparison (pt_map_compare) blind to a kernel that split
    more than needed (the split PMD all pages, no CON) or not at all."""
    g = GRANULES[gran]
    over = [l for l in fx.FILES[g["split"]]]
    i = next(i for i, l in enumerate(over) if l[2] == "PTE" and "CON" not in l[3]
             and l[0] <= g["at"] < l[1])
    # The whole split PMD (its neighbours too) as plain pages.
    s, e = over[i - 1][0], over[i + 1][1]
    over[i - 1:i + 2] = [(s, e, "PTE", over[i][3], over[i][4])]
    out = run(driver, fixture_text(g["blocks"]), "--split", hex(g["at"]),
              page=g["page"], tmp_path=tmp_path, want=fx.dump_text(over))
    assert out["compare"]["ndiff"] == 2, out["compare"]
    out = run(driver, fixture_text(g["blocks"]), "--split", hex(g["at"]),
              page=g["page"], tmp_path=tmp_path, want=fixture_text(g["blocks"]))
    assert out["compare"]["ndiff"] >= 1


def test_repaint_model_4k(driver, tmp_path):
    """Catches: a repaint model (lm_model_repaint) that leaves a block or
    CON outside the alias, touches the alias, or counts wrong: the blocks
    dump repainted is exactly the page-mapped dump."""
    g = GRANULES["4k"]
    out = run(driver, fixture_text("4k-blocks.txt"), *layout_args(g), "--repaint",
              tmp_path=tmp_path, want=fixture_text("4k-pages.txt"))
    assert out["compare"] == {"ndiff": 0, "diff": ""}
    # By hand from LAYOUT_4K_BLOCKS outside the alias: one PUD (one PMD
    # table, 512 PMDs); 992M + 992M of contiguous PMDs = 62 ranges, 992
    # PMDs; PMD blocks of 2M + 4M + 30M = 18; one PTE table per PMD split:
    # 512 + 992 + 18 = 1522; contiguous PTE ranges 64K + 1856K + 1920K +
    # 64K = 61 (not the KFENCE pool: pages already).
    assert out["model"]["counts"] == dict(pud=1, cont_pmd=62, pmd=1522, cont_pte=61,
                                          tables_pmd=1, tables_pte=1522)


def test_pages_boot_model_4k(driver, tmp_path):
    """Catches: a page-mapped boot model (arm64.bbml2=off) with blocks or
    CON outside the alias, or without the alias's PMD blocks."""
    g = GRANULES["4k"]
    out = run(driver, fixture_text("4k-pages.txt"), *layout_args(g), "--boot", "pages",
              tmp_path=tmp_path)
    assert out["selfcheck"]["bad"] == 0
    assert out["model"]["shape"]["bytes"] == out["shape"]["bytes"]
    assert out["model"]["shape"]["alias"] == out["shape"]["alias"]
    want = expected_shape(fx.LAYOUT_4K_PAGES, fx.G4, fx.ALIAS_4K)
    assert out["shape"]["bytes"]["PTE"] == want["bytes"]["PTE"]
    assert out["shape"]["alias_blocks"] == 11  # 0x40400000-0x41a00000: 22M


# --- broken dumps: each must fail loudly, not miscount ----------------------

BLOCKS_4K = fixture_text("4k-blocks.txt")


def edit(text, old, new, count=1):
    assert text.count(old) >= 1, old
    return text.replace(old, new, count)


def test_overlap(driver, tmp_path):
    """Catches: overlapping lines (a line running into the next one)
    counted twice instead of reported."""
    bad = edit(BLOCKS_4K, "0xffff000041c00000-0xffff000042000000",
               "0xffff000041c00000-0xffff000042200000")
    out = run(driver, bad, tmp_path=tmp_path)
    assert out["selfcheck"]["bad"] >= 1
    assert "gap or overlap" in out["selfcheck"]["error"]


def test_gap(driver, tmp_path):
    """Catches: a missing line (part of the linear map not accounted for)
    passing as a smaller map."""
    lines = BLOCKS_4K.splitlines(keepends=True)
    lines = [l for l in lines if not l.startswith("0xffff000080000000-")]
    out = run(driver, "".join(lines), tmp_path=tmp_path)
    assert out["selfcheck"]["bad"] == 1
    assert "gap or overlap before" in out["selfcheck"]["error"]
    assert "0xffff0000c0000000" in out["selfcheck"]["error"]


def test_torn_contiguous_range(driver, tmp_path):
    """Catches: a contiguous PTE range whose 16 entries disagree (one page
    made read-only without the range being split first: a misprogrammed
    CON bit) passing as two valid CON lines."""
    torn = edit(BLOCKS_4K,
                fx.fmt_line(*fx.rw(0xffe00000, 0xfffe0000, "PTE", "CON")) + "\n",
                fx.fmt_line(*fx.rw(0xffe00000, 0xffe04000, "PTE", "CON")) + "\n" +
                fx.fmt_line(*fx.ro(0xffe04000, 0xffe05000, "PTE", "CON"))
                .replace("MEM/NORMAL", "MEM/NORMAL-TAGGED") + "\n" +
                fx.fmt_line(*fx.rw(0xffe05000, 0xfffe0000, "PTE", "CON")) + "\n")
    out = run(driver, torn, tmp_path=tmp_path)
    assert out["parse"]["rc"] == 0
    assert out["selfcheck"]["bad"] == 3
    assert "part of a contiguous range has other attributes" in out["selfcheck"]["error"]
    # The same tear already present at the baseline is not counted again...
    out = run(driver, torn, tmp_path=tmp_path, baseline=torn)
    assert out["selfcheck"]["bad"] == 0
    # ... but it is against a clean baseline.
    out = run(driver, torn, tmp_path=tmp_path, baseline=BLOCKS_4K)
    assert out["selfcheck"]["bad"] == 3


def test_misaligned_block(driver, tmp_path):
    """Catches: a PMD block line that does not cover whole 2M entries."""
    bad = edit(BLOCKS_4K, "0xffff000041c00000-0xffff000042000000           4M PMD",
               "0xffff000041c00000-0xffff000041f00000           3M PMD")
    bad = edit(bad, "0xffff000042000000-0xffff000080000000",
               "0xffff000041f00000-0xffff000080000000")
    out = run(driver, bad, tmp_path=tmp_path)
    assert out["selfcheck"]["bad"] == 2
    assert "not aligned to 2048K (not whole entries)" in out["selfcheck"]["error"]


@pytest.mark.parametrize("old,new,why", [
    ("UXN    MEM/NORMAL-TAGGED", "UXN PBHA MEM/NORMAL-TAGGED", "unknown token 'PBHA'"),
    (" MEM/NORMAL-TAGGED", "", "without ro/RW, NX/x or memory type"),
    (" MEM/NORMAL-TAGGED", " MEM/NORMAL MEM/NORMAL-TAGGED", "two memory types"),
    ("2M PMD ", "2M PUX ", "unknown level"),
    ("0xffff000040000000-0xffff000040200000", "0xffff000040200000-0xffff000040000000",
     "bad range"),
])
def test_unparseable_line(driver, tmp_path, old, new, why):
    """Catches: a line the parser does not understand (a token a newer
    kernel prints, a missing or doubled memory type, a level name, a
    reversed range) being skipped or guessed instead of failing."""
    out = run(driver, edit(BLOCKS_4K, old, new), tmp_path=tmp_path)
    assert out["parse"]["rc"] == -71  # -EPROTO
    assert why in out["parse"]["error"]


CUT_4K = BLOCKS_4K[:BLOCKS_4K.index("---[ Linear Mapping end ]---")]


@pytest.mark.parametrize("text,why", [
    (edit(BLOCKS_4K, "---[ Linear Mapping end ]---\n", ""),
     "marker '---[ Modules start ]---' before '---[ Linear Mapping end ]---'"),
    (CUT_4K, "no '---[ Linear Mapping start ]---' ... '---[ Linear Mapping end ]---' section"),
    (edit(BLOCKS_4K, "---[ Linear Mapping start ]---\n", ""),
     "no '---[ Linear Mapping start ]---' ... '---[ Linear Mapping end ]---' section"),
], ids=["no-end-marker", "cut-before-end", "no-start-marker"])
def test_missing_marker(driver, tmp_path, text, why):
    """Catches: a dump without its end marker (the next section's lines
    counted as linear map, or a read cut short parsed as a partial map) or
    without its start marker (nothing, or the whole file, parsed). The
    first case returned success with a partial map before this test: the
    error path kept the 0 of the last parsed line."""
    out = run(driver, text, tmp_path=tmp_path)
    assert out["parse"]["rc"] == -71
    assert why in out["parse"]["error"]


def test_foreign_marker_inside(driver, tmp_path):
    """Catches: another section (a KASAN shadow, a renamed marker) inside
    the linear map counted as linear map."""
    bad = edit(BLOCKS_4K, "---[ Linear Mapping end ]---",
               "---[ Kasan shadow start ]---\n---[ Linear Mapping end ]---")
    out = run(driver, bad, tmp_path=tmp_path)
    assert out["parse"]["rc"] == -71
    assert "marker '---[ Kasan shadow start ]---' before" in out["parse"]["error"]


def test_size_column_ignored(driver, tmp_path):
    """Catches: sizes read from the size column instead of the addresses
    (the column's unit varies: 1984K, 992M)."""
    bad = edit(BLOCKS_4K, "        1984K PTE", "           2M PTE")
    out = run(driver, bad, *layout_args(GRANULES["4k"]), tmp_path=tmp_path)
    good = run(driver, BLOCKS_4K, *layout_args(GRANULES["4k"]), tmp_path=tmp_path)
    assert out["shape"] == good["shape"]


@pytest.mark.parametrize("old,new,why", [
    ("2M PMD       RW NX SHD AF        BLK", "2M PMD       RW NX SHD AF           ",
     "leaf above PTE level without BLK"),
    ("64K PTE       RW NX SHD AF    CON    ", "64K PTE       RW NX SHD AF    CON BLK",
     "PTE with BLK"),
    ("1G PUD       RW NX SHD AF        BLK", "1G PUD       RW NX SHD AF    CON BLK",
     "contiguous PUD or higher"),
])
def test_inconsistent_level(driver, tmp_path, old, new, why):
    """Catches: BLK and CON that contradict the level (a block without
    BLK, a page with it, a contiguous PUD) accepted as some kind."""
    out = run(driver, edit(BLOCKS_4K, old, new), tmp_path=tmp_path)
    assert out["parse"]["rc"] == 0
    assert out["selfcheck"]["bad"] >= 1
    assert why in out["selfcheck"]["error"]


def test_pud_block_with_16k_pages(driver, tmp_path):
    """Catches: a PUD block accepted with 16K pages (there is none: a dump
    of another granule, or a geometry mix-up)."""
    text = fixture_text("16k-blocks.txt")
    bad = edit(text, "1G PMD       RW NX SHD AF    CON BLK", "1G PUD       RW NX SHD AF        BLK")
    out = run(driver, bad, page=16384, tmp_path=tmp_path)
    assert "PUD block with this page size" in out["selfcheck"]["error"]


def test_granule_mixup(driver, tmp_path):
    """Catches: a 4K dump read with the 64K geometry passing the checks
    (its 2M PMD blocks are not whole 512M entries)."""
    out = run(driver, BLOCKS_4K, page=65536, tmp_path=tmp_path)
    assert out["selfcheck"]["bad"] >= 1


def test_format_regex_covers_every_line():
    """Catches: a fixture line that is not of the kernel's line shape."""
    line = re.compile(r"^0x[0-9a-f]{16}-0x[0-9a-f]{16}   [ 0-9]{9}[KMGTPE] (PGD|P4D|PUD|PMD|PTE)"
                      r"( .*)?$")
    for name in fx.FILES:
        for l in fixture_text(name).splitlines():
            assert l.startswith("---[") or line.match(l), (name, l)


# --- 7.3's map_mem() and repaint (kernels without the series' report) -------

K, M, G = 1024, 1 << 20, 1 << 30


def test_boot_model_alias_same_flags_4k(driver, tmp_path):
    """Catches: a 7.x boot model (lm_boot_model_ex with alias_same_flags,
    7.3's map_mem() maps [_text, __init_begin) with the flags of the rest)
    that still maps the alias without contiguous ranges, or changes what
    lies outside it. By hand for the alias 0x40210000-0x41a2c000: 31
    contiguous PTE ranges up to 0x40400000, 11 PMD blocks to 0x41a00000,
    two contiguous ranges and 12 pages to its end."""
    g = GRANULES["4k"]
    old = run(driver, fixture_text("4k-blocks.txt"), *layout_args(g), "--boot", "blocks",
              tmp_path=tmp_path)
    new = run(driver, fixture_text("4k-blocks.txt"), *layout_args(g), "--boot", "blocks",
              "--alias-same-flags", tmp_path=tmp_path)
    assert new["model"]["shape"]["bytes"] == old["model"]["shape"]["bytes"]
    a = new["model"]["shape"]["alias"]
    assert (a["PMD"], a["CONT_PTE"], a["PTE"]) == (22 * M, 31 * 64 * K + 2 * 64 * K, 48 * K)
    assert old["model"]["shape"]["alias"]["CONT_PTE"] == 0
    assert new["model"]["selfcheck"] == 0
    # page mapped (the alias too: pages where the rest is page mapped)
    pages = run(driver, fixture_text("4k-pages.txt"), *layout_args(g), "--boot", "pages",
                "--alias-same-flags", tmp_path=tmp_path)
    a = pages["model"]["shape"]["alias"]
    assert a["PTE"] == fx.ALIAS_4K[1] - fx.ALIAS_4K[0] and a["PMD"] == 0


def test_boot_model_cut_4k(driver, tmp_path):
    """Catches: a boot model that lets a leaf cross an edge 7.3 maps
    first (--cut: __init_end, __bss_stop). A cut 64K into the PUD block at
    0x80000000: one contiguous PTE range, 31 more to the next 2M, 15 PMDs
    to 32M, then 31 contiguous PMD ranges; nothing else changes."""
    g = GRANULES["4k"]
    old = run(driver, fixture_text("4k-blocks.txt"), *layout_args(g), "--boot", "blocks",
              tmp_path=tmp_path)
    new = run(driver, fixture_text("4k-blocks.txt"), *layout_args(g), "--boot", "blocks",
              "--cut", hex(fx.pa(0x80010000)), tmp_path=tmp_path)
    o, n = old["model"]["shape"]["bytes"], new["model"]["shape"]["bytes"]
    assert n["PUD"] == o["PUD"] - G
    assert n["CONT_PMD"] == o["CONT_PMD"] + 992 * M
    assert n["PMD"] == o["PMD"] + 30 * M
    assert n["CONT_PTE"] == o["CONT_PTE"] + 2 * M
    assert n["PTE"] == o["PTE"]
    assert new["model"]["selfcheck"] == 0


def test_repaint_keep_splits_the_straddling_block_4k(driver, tmp_path):
    """Catches: a 7.x repaint model (lm_model_repaint_keep) that keeps a
    block an edge of the kept range falls inside (7.3 keeps [_stext,
    __init_begin), 64K into the alias's first 2M block, and splits that
    block), or splits more of the alias than that block."""
    g = GRANULES["4k"]
    alias = (fx.pa(0x40200000), fx.ALIAS_4K[1])
    args = ["--alias", hex(alias[0]), hex(alias[1]), "--boot", "blocks", "--alias-same-flags",
            "--repaint"]
    kept = run(driver, fixture_text("4k-blocks.txt"), *args, tmp_path=tmp_path)
    cut = run(driver, fixture_text("4k-blocks.txt"), *args,
              "--keep", hex(alias[0] + 64 * K), hex(alias[1]), tmp_path=tmp_path)
    a0, a1 = kept["model"]["shape"]["alias"], cut["model"]["shape"]["alias"]
    assert (a0["PMD"], a0["CONT_PTE"], a0["PTE"]) == (24 * M, 128 * K, 48 * K)
    assert (a1["PMD"], a1["CONT_PTE"], a1["PTE"]) == (22 * M, 128 * K, 2 * M + 48 * K)
    c0, c1 = kept["model"]["counts"], cut["model"]["counts"]
    assert c1["pmd"] == c0["pmd"] + 1 and c1["tables_pte"] == c0["tables_pte"] + 1
    assert cut["model"]["shape"]["bytes"] == kept["model"]["shape"]["bytes"]
