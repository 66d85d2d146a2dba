# SPDX-License-Identifier: GPL-2.0
"""bench/tlbmodel, the QEMU TLB-model plugin, and its guest side.

- The bare-metal program (baremetal.S) has known answers: 4 passes, one
  load per 4K page, over 16 MiB of 4K pages (4096 pages: more than any
  preset's L2 holds, so every load walks, unless the L2 coalesces four
  pages, when 1024 entries fit and only the first pass walks), of 2M
  blocks (8 walks) and of 64K contiguous pages (256 walks; the L1 refills
  once per 64K per pass). One TLBI VMALLE1IS, VAALE1IS, ASIDE1IS and DC
  ZVA are counted once each, and the full flush costs the 2M region its
  8 walks again. Catches: a wrong splinter or key, LRU or set indexing,
  a flush that is not one, a marker or TLBI decoded wrongly.
- The guest's conversion of ptdump to a layout (bench/tlblayout.c, with
  the kselftests' parser) on the recorded 4K/16K/64K dumps against an
  independent reading of the same dumps, and broken dumps refused.
- The marker protocol: a layout block is taken whole or refused (line
  count, foreign line, order), whatever the chunks the log arrives in.
- Bad input: an unknown preset, no layout, a plugin API version QEMU
  refuses: one clear line.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

import tlbdata  # noqa: E402

FIXTURES = os.path.join(REPO, "selftests/arm64/bbml2/host/fixtures")
PRESETS = ("a72", "n1", "n1c4", "x925", "n1-asid-keep")

need_qemu = pytest.mark.skipif(
    not shutil.which("qemu-system-aarch64") or not shutil.which("aarch64-linux-gnu-gcc"),
    reason="qemu-system-aarch64 or aarch64-linux-gnu-gcc not installed (make deps)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not shutil.which("aarch64-linux-gnu-gcc"):
        pytest.skip("aarch64-linux-gnu-gcc not installed (make deps)")
    return tlbdata.build(tmp_path_factory.mktemp("tlbmodel"))


_tools = {}


def host_tool(tmp_path, name, sources, includes):
    """Built once per test session (the first caller's tmp_path)."""
    if name in _tools:
        return _tools[name]
    exe = tmp_path / name
    subprocess.run(["gcc", "-O1", "-Wall", "-Wextra", "-Werror"]
                   + [f"-I{os.path.join(REPO, i)}" for i in includes]
                   + ["-o", str(exe)] + [os.path.join(REPO, s) for s in sources], check=True)
    _tools[name] = str(exe)
    return str(exe)


# ---- bare metal: known answers -------------------------------------------

@need_qemu
def test_baremetal_known_answers(built):
    rc, err, recs = tlbdata.run_baremetal(built)
    assert rc == 0, err
    header = recs[0]
    assert header["type"] == "header" and [p["name"] for p in header["presets"]] == list(PRESETS)
    assert all(p["source"] for p in header["presets"])
    wins = {w["label"]: w for w in recs if w["type"] == "window"}
    assert list(wins) == ["4k", "2m", "64k", "tlbi"]
    for w in wins.values():
        assert w["valid"] and w["layout_after"] == "same"
        assert w["unmodelled"]["kernel_no_leaf"] == 0
    geo = {p["name"]: p for p in header["presets"]}
    for name in PRESETS:
        m = {k: w["models"][name] for k, w in wins.items()}
        # 4K pages: 4096 pages > L2 entries: every load walks; 4 pages per
        # coalesced entry: 1024 entries fit in the L2, only pass 1 walks.
        coal = geo[name]["coalesce"]
        assert m["4k"]["walk_by_region"]["linear"] == (1024 if coal else 16384)
        assert m["4k"]["l1_refill_by_region"]["linear"] == 16384
        assert m["4k"]["walk_by_leaf_shift"] == {"12": 1024 if coal else 16384}
        # 2M blocks: 8 walks; an L1 without 2M entries splinters to 1M.
        assert m["2m"]["walk_by_region"]["vmalloc"] == 8
        l1_2m = geo[name]["l1_sizes"] & (1 << 21)
        assert m["2m"]["l1_refill_by_region"]["vmalloc"] == (8 if l1_2m else 16)
        # 64K contiguous: 256 entries fit the L2; L1 refills each pass.
        assert m["64k"]["walk_by_region"]["vmemmap"] == 256
        assert m["64k"]["l1_refill_by_region"]["vmemmap"] == 1024
        assert m["64k"]["walk_by_leaf_shift"] == {"16": 256}
        # After TLBI VMALLE1IS the 2M region walks again.
        assert m["tlbi"]["walk_by_region"]["vmalloc"] == 8
    t = wins["tlbi"]
    assert t["tlbi"] == {"all": 1, "asid": 1}
    assert t["unmodelled"]["tlbi_va"] == 1 and t["unmodelled"]["dc_zva"] == 1
    for k in ("4k", "2m", "64k"):
        assert wins[k]["tlbi"] == {"all": 0, "asid": 0} and wins[k]["unmodelled"]["dc_zva"] == 0


@need_qemu
def test_baremetal_is_deterministic(built):
    a = [r for r in tlbdata.run_baremetal(built)[2] if r["type"] == "window"]
    b = [r for r in tlbdata.run_baremetal(built)[2] if r["type"] == "window"]
    strip = [{k: v for k, v in w.items() if k not in ("insns", "other_vcpus")} for w in a]
    assert strip == [{k: v for k, v in w.items() if k not in ("insns", "other_vcpus")}
                     for w in b]


@need_qemu
def test_one_preset_subset(built):
    rc, err, recs = tlbdata.run_baremetal(built, extra=",presets=x925:a72")
    assert rc == 0, err
    assert [p["name"] for p in recs[0]["presets"]] == ["x925", "a72"]
    assert set(recs[1]["models"]) == {"x925", "a72"}


# ---- bad input -----------------------------------------------------------

@need_qemu
def test_unknown_preset_one_line(built):
    rc, err, recs = tlbdata.run_baremetal(built, extra=",presets=n1:cortex-z9")
    assert rc != 0 and not recs
    ours = [line for line in err.splitlines() if line.startswith("tlbmodel:")]
    assert len(ours) == 1 and "unknown preset 'cortex-z9'" in ours[0] and "n1" in ours[0]


@need_qemu
def test_missing_layout_invalidates_windows(built, tmp_path):
    # The plugin reads a console log the guest never writes to.
    log = tmp_path / "elsewhere.log"
    log.write_text("")
    rc, err, recs = tlbdata.run_baremetal(built, extra=",presets=n1", layout=log)
    assert rc == 0
    wins = [w for w in recs if w["type"] == "window"]
    assert len(wins) == 4
    assert all(not w["valid"] and w["invalid_reason"].startswith("no layout") for w in wins)
    assert all(w["unmodelled"]["kernel_no_leaf"] > 0 for w in wins[:3])
    assert "begins with no layout" in err


@need_qemu
def test_api_version_refused_is_one_clear_error(built, tmp_path):
    bad = tmp_path / "libbad.so"
    src = [os.path.join(REPO, "bench/tlbmodel", f) for f in ("tlbmodel.c", "tlb.c", "layout.c")]
    subprocess.run(["gcc", "-O1", "-fPIC", "-shared", "-DBBML2_QEMU_PLUGIN_API=99",
                    "-o", str(bad)] + src + ["-lpthread"], check=True)
    with pytest.raises(tlbdata.ModelError) as e:
        tlbdata.preflight(built, plugin=bad)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("tlbmodel: QEMU (QEMU emulator version")
    assert "version" in msg.split("did not run the plugin:")[1].lower()


def test_maxunknown_out_of_range_refused(built):
    if not shutil.which("qemu-system-aarch64"):
        pytest.skip("qemu-system-aarch64 not installed (make deps)")
    rc, err, _ = tlbdata.run_baremetal(built, extra=",maxunknown=5000")
    assert rc != 0 and "maxunknown=5000 is not 0..1000" in err


# ---- the guest's layout conversion ---------------------------------------

def oracle(path, page):
    """An independent reading of a recorded dump: (start, end, shift) runs
    of mapped, valid leaves, merged when adjacent and equal."""
    sizes = {4096: {"PTE": (12, 16), "PMD": (21, 25), "PUD": (30, 30)},
             16384: {"PTE": (14, 21), "PMD": (25, 30), "PUD": (36, 36)},
             65536: {"PTE": (16, 21), "PMD": (29, 34), "PUD": (42, 42)}}[page]
    runs = []
    for line in open(path):
        m = re.match(r"0x([0-9a-f]+)-0x([0-9a-f]+)\s+\S+\s+(PUD|PMD|PTE)\s*(.*)$",
                     line.strip())
        if not m:
            continue
        toks = m.group(4).split()
        if not toks or "F" in toks:
            runs.append(None)
            continue
        s, e = int(m.group(1), 16), int(m.group(2), 16)
        shift = sizes[m.group(3)][1 if "CON" in toks else 0]
        if runs and runs[-1] and runs[-1][1] == s and runs[-1][2] == shift:
            runs[-1] = (runs[-1][0], e, shift)
        else:
            runs.append((s, e, shift))
    return [r for r in runs if r]


@pytest.mark.parametrize("fixture,page", [
    ("4k-blocks", 4096), ("4k-split", 4096), ("4k-pages", 4096),
    ("16k-blocks", 16384), ("16k-split", 16384), ("64k-blocks", 65536), ("64k-split", 65536)])
def test_layout_from_ptdump_fixtures(tmp_path, fixture, page):
    tool = host_tool(tmp_path, "tlblayout_host",
                     ["bench/tests/host/tlblayout_host.c", "bench/tlblayout.c",
                      "selftests/arm64/bbml2/ptdump_parse.c"],
                     ["bench", "selftests/arm64/bbml2"])
    path = os.path.join(FIXTURES, fixture + ".txt")
    out = subprocess.run([tool, str(page), "0", "0", path], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == f"TLBMODEL-LAYOUT-BEGIN v1 page={page}"
    body = out[1:-1]
    assert out[-1] == f"TLBMODEL-LAYOUT-END lines={len(body)}"
    got = []
    for line in body:
        tag, s, e, shift, region = line.split()
        assert tag == "TLBMODEL-L" and region == "linear"
        got.append((int(s, 16), int(e, 16), int(shift)))
    assert got == oracle(path, page)
    if "blocks" in fixture:
        assert any(shift > {4096: 16, 16384: 21, 65536: 21}[page] for _, _, shift in got)
    if fixture == "4k-pages":
        assert {shift for _, _, shift in got} <= {12, 21}  # pages, and the alias


def test_layout_kimage_and_regions(tmp_path):
    tool = host_tool(tmp_path, "tlblayout_host",
                     ["bench/tests/host/tlblayout_host.c", "bench/tlblayout.c",
                      "selftests/arm64/bbml2/ptdump_parse.c"],
                     ["bench", "selftests/arm64/bbml2"])
    dump = tmp_path / "whole.txt"
    attrs = "RW NX SHD AF            UXN    MEM/NORMAL"
    dump.write_text(
        "---[ Linear Mapping start ]---\n"
        f"0xffff000040000000-0xffff000040200000           2M PMD       {attrs}\n"
        "---[ Linear Mapping end ]---\n"
        "---[ Modules start ]---\n"
        f"0xffff800000000000-0xffff800000004000          16K PTE       {attrs}\n"
        "---[ Modules end ]---\n"
        "---[ vmalloc() area ]---\n"
        f"0xffff800080000000-0xffff800080200000           2M PMD       {attrs}\n"
        f"0xffff800080200000-0xffff800080400000           2M PMD       {attrs}\n"
        f"0xffff800090000000-0xffff800090001000           4K PTE       {attrs}\n"
        "---[ vmalloc() end ]---\n"
        "---[ vmemmap start ]---\n"
        f"0xfffffc0000000000-0xfffffc0000200000           2M PMD       {attrs}\n"
        "---[ vmemmap end ]---\n"
        "---[ Fixmap start ]---\n"
        f"0xfffffbfffe000000-0xfffffbfffe001000           4K PTE       {attrs}\n"
        "---[ Fixmap end ]---\n"
        # the last range ends at the top of the address space: its end prints as 0
        "0xffffffffff800000-0x0000000000000000           8M PMD\n")
    out = subprocess.run([tool, "4096", "0xffff800080200000", "0xffff800080400000", str(dump)],
                         capture_output=True, text=True, check=True).stdout.splitlines()[1:-1]
    regions = [line.split()[4] for line in out]
    assert regions == ["linear", "modules", "vmalloc", "kimage", "vmalloc", "vmemmap", "other"]


@pytest.mark.parametrize("text,why", [
    ("---[ Linear Mapping start ]---\n0xffff000040000000-0xffff000040200000 2M PMD RW NX"
     " SHD AF BLK UXN MEM/NORMAL WEIRD\n", "unknown token 'WEIRD'"),
    ("---[ Linear Mapping start ]---\n0xffff000040200000-0xffff000040000000 2M PMD RW NX"
     " MEM/NORMAL\n", "bad range"),
    ("---[ Linear Mapping start ]---\n0xffff000040000000-0xffff000040200000 2M PUD\n",
     "no mapped kernel range"),
])
def test_broken_dump_refused(tmp_path, text, why):
    tool = host_tool(tmp_path, "tlblayout_host",
                     ["bench/tests/host/tlblayout_host.c", "bench/tlblayout.c",
                      "selftests/arm64/bbml2/ptdump_parse.c"],
                     ["bench", "selftests/arm64/bbml2"])
    dump = tmp_path / "bad.txt"
    dump.write_text(text)
    r = subprocess.run([tool, "4096", "0", "0", str(dump)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and why in r.stderr


# ---- the marker protocol (the plugin's scanner) -------------------------

GOOD = ("TLBMODEL-LAYOUT-BEGIN v1 page=4096\n"
        "TLBMODEL-L ffff000040000000 ffff000040200000 21 linear\n"
        "TLBMODEL-L ffff000040200000 ffff000040400000 12 linear\n"
        "TLBMODEL-LAYOUT-END lines=2\n")


def scan(tmp_path, text, chunk=4096):
    tool = host_tool(tmp_path, "scan_host",
                     ["bench/tests/host/scan_host.c", "bench/tlbmodel/layout.c"],
                     ["bench/tlbmodel"])
    log = tmp_path / "console.log"
    log.write_text(text)
    return json.loads(subprocess.run([tool, str(chunk), str(log)], capture_output=True,
                                     text=True, check=True).stdout)


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_block_taken_whole_in_any_chunks(tmp_path, chunk):
    noise = "[    1.234] some kernel line\r\n# bench output\n"
    r = scan(tmp_path, noise + GOOD.replace("\n", "\r\n") + "TLBMODEL-WINDOW b2 scatter\n", chunk)
    assert r["blocks"] == 1 and r["refused"] == 0
    assert r["layouts"][-1]["ranges"] == [["ffff000040000000", "ffff000040200000", 21, "linear"],
                                          ["ffff000040200000", "ffff000040400000", 12, "linear"]]
    assert r["label"] == "b2 scatter"


@pytest.mark.parametrize("bad,why", [
    (GOOD.replace("lines=2", "lines=3"), "END says 3 lines, the block has 2"),
    (GOOD.replace("TLBMODEL-L ffff000040200000",
                  "[ 2.0] printk\nTLBMODEL-L ffff000040200000"), "foreign line"),
    (GOOD.replace("ffff000040200000 ffff000040400000", "ffff000040100000 ffff000040400000"),
     "ranges not sorted or overlapping"),
    (GOOD.replace(" 12 linear", " 12 user"), "unknown region"),
    (GOOD.replace("page=4096", "page=8192"), "bad BEGIN line"),
    (GOOD.replace(" 21 linear", " 22 linear"), "not aligned"),
    (GOOD.replace("TLBMODEL-LAYOUT-END lines=2\n", ""), None),
])
def test_bad_block_refused_and_previous_kept(tmp_path, bad, why):
    r = scan(tmp_path, GOOD + bad, chunk=len(GOOD))
    assert len(r["layouts"]) == 1 and r["layouts"][0]["seq"] == 1
    if why:
        assert r["refused"] == 1 and why in r["last_error"]
        assert r["last_error"].startswith("layout block 2 refused")
    else:  # a block never ended is not taken (and not yet refused)
        assert r["refused"] == 0


def test_good_block_after_bad_is_taken(tmp_path):
    r = scan(tmp_path, GOOD.replace("lines=2", "lines=9") + GOOD, chunk=len(GOOD))
    assert r["refused"] == 1 and [x["seq"] for x in r["layouts"]] == [2]


@need_qemu
def test_window_with_unknown_leaves_is_invalid(built, tmp_path):
    """A layout without the 64K region (read from a file of ours, not the
    guest's console): that window's kernel accesses have no known leaf,
    more than maxunknown allows, so it is invalid; the others are not."""
    layout = tmp_path / "layout.log"
    layout.write_text("TLBMODEL-LAYOUT-BEGIN v1 page=4096\n"
                      "TLBMODEL-L ffffff8040000000 ffffff8041000000 12 linear\n"
                      "TLBMODEL-L ffffff8042000000 ffffff8043000000 21 vmalloc\n"
                      "TLBMODEL-LAYOUT-END lines=2\n"
                      "TLBMODEL-WINDOW from-the-file\n")
    rc, err, recs = tlbdata.run_baremetal(built, extra=",presets=n1,maxunknown=5",
                                          layout=layout)
    assert rc == 0, err
    wins = [w for w in recs if w["type"] == "window"]
    assert [w["valid"] for w in wins] == [True, True, False, True]
    assert wins[2]["invalid_reason"] == "too many kernel accesses with no leaf in the layout"
    assert wins[2]["unmodelled"]["kernel_no_leaf"] == 16384
    assert wins[2]["no_leaf_permille_limit"] == 5
    assert wins[0]["models"]["n1"]["walk_by_region"]["linear"] == 16384
