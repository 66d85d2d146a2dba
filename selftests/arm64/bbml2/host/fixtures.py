# SPDX-License-Identifier: GPL-2.0
"""Recorded-format arm64 ptdump fixtures for the ptdump_parse.c host tests.

Each layout below is written by hand: the linear map of a small QEMU
guest as arch/arm64/mm/mmu.c map_mem() lays it out (RAM at 0x40000000,
48-bit VA, PAGE_OFFSET 0xffff000000000000), as a list of leaves
(start, end, level, attributes, memory type). fmt_line() prints a leaf
exactly as 6.12's arch/arm64/mm/ptdump.c note_page() and dump_prot() do:
"0x%016lx-0x%016lx   ", "%9lu%c %s" (size in the largest exact unit,
level name), then " <set-or-clear text>" per pte_bits[] entry, including
the blank clear texts ("   " for no USR, "x " for PXN clear, ...).

`python3 fixtures.py` rewrites fixtures/*.txt; the tests check that the
files are what this module prints, so a fixture cannot drift from its
layout. The tests compute their expectations from these layouts in
Python, independently of ptdump_parse.c.
"""
import os
import sys

PAGE_OFFSET = 0xffff000000000000
PAGE_END = 0xffff800000000000
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

K, M, G = 1 << 10, 1 << 20, 1 << 30

# pte_bits[] of arch/arm64/mm/ptdump.c (6.12): (name, set text, clear text).
# "valid" prints " " when set, "F" when clear; "table" prints "BLK" when
# clear (a block), "   " when set (a table or a page).
BITS = [
    ("valid", " ", "F"), ("user", "USR", "   "), ("rdonly", "ro", "RW"),
    ("pxn", "NX", "x "), ("shd", "SHD", "   "), ("af", "AF", "  "),
    ("ng", "NG", "  "), ("cont", "CON", "   "), ("table", "   ", "BLK"),
    ("uxn", "UXN", "   "), ("gp", "GP", "  "),
]
MEMTYPES = ("DEVICE/nGnRnE", "DEVICE/nGnRE", "MEM/NORMAL-NC", "MEM/NORMAL",
            "MEM/NORMAL-TAGGED")


def size_text(nbytes):
    """note_page(): KiB, divided by 1024 while it stays exact."""
    units = "KMGTPE"
    delta, u = nbytes >> 10, 0
    while not delta & 1023 and u + 1 < len(units):
        delta >>= 10
        u += 1
    return "%9d%s" % (delta, units[u])


def fmt_line(start, end, level, attrs=None, memtype=None):
    """One ptdump line; attrs None is a hole (all-zero entry: no tokens)."""
    s = "0x%016x-0x%016x   %s %s" % (start, end, size_text(end - start), level)
    if attrs is None:
        return s
    bits = {"valid": "F" not in attrs, "user": "USR" in attrs,
            "rdonly": "ro" in attrs, "pxn": "NX" in attrs,
            "shd": "SHD" in attrs, "af": "AF" in attrs, "ng": "NG" in attrs,
            "cont": "CON" in attrs, "table": "BLK" not in attrs,
            "uxn": "UXN" in attrs, "gp": "GP" in attrs}
    for name, st, cl in BITS:
        s += " " + (st if bits[name] else cl)
    return s + " " + memtype


def dump_text(leaves, before=True, after=True):
    """A kernel_page_tables excerpt: the lines around the linear map too."""
    out = []
    if before:
        out += ["---[ Linear Mapping start ]---"]
    out += [fmt_line(*l) for l in leaves]
    if after:
        out += ["---[ Linear Mapping end ]---", "---[ Modules start ]---",
                fmt_line(0xffff800000000000, 0xffff800080000000, "PMD"),
                "---[ Modules end ]---", "---[ vmalloc() area ]---"]
    return "\n".join(out) + "\n"


def pa(x):
    return PAGE_OFFSET + x


# Attribute sets as the 6.12 kernel maps the linear map and its kernel alias.
RW = {"NX", "SHD", "AF", "UXN"}            # PAGE_KERNEL, MEM/NORMAL-TAGGED
RO = {"ro", "NX", "SHD", "AF", "UXN"}      # the kernel image alias, MEM/NORMAL
TAG, NORM = "MEM/NORMAL-TAGGED", "MEM/NORMAL"


def rw(start, end, level, *extra):
    return (pa(start), pa(end), level, RW | set(extra), TAG)


def ro(start, end, level, *extra):
    return (pa(start), pa(end), level, RO | set(extra), NORM)


def hole(start, end, level):
    return (start, end, level, None, None)


# --- 4K pages, 3 GiB, blocks at boot (arm64.bbml2=assume) -------------------
# RAM 0x40000000-0x100000000. Kernel alias (mapped NO_CONT_MAPPINGS) at
# 0x40210000-0x41a2c000, both ends inside a 2M window. Early KFENCE pool
# (CONFIG_KFENCE_NUM_OBJECTS=7: (7 + 1) * 2 pages = 64K, NO_BLOCK | NO_CONT)
# allocated top-down at 0xfffe0000 (64K aligned, so that only its NO_CONT
# keeps it from being one contiguous PTE range): its first two pages and
# every object's guard page are invalid (F), as kfence_init_pool() leaves
# them.
G4 = {"page": 4096, "cont_pte": 64 * K, "pmd": 2 * M, "cont_pmd": 32 * M,
      "pud": 1 * G, "pud_blocks": True}
ALIAS_4K = (pa(0x40210000), pa(0x41a2c000))
KFENCE_4K = (pa(0xfffe0000), pa(0xffff0000))


def _kfence_4k(start, pages):
    out = [rw(start, start + 2 * 4096, "PTE", "F")]
    for obj in range(1, pages // 2):
        a = start + 2 * obj * 4096
        out += [rw(a, a + 4096, "PTE"), rw(a + 4096, a + 8192, "PTE", "F")]
    return out


LAYOUT_4K_BLOCKS = [
    hole(pa(0), pa(0x40000000), "PUD"),
    rw(0x40000000, 0x40200000, "PMD", "BLK"),
    rw(0x40200000, 0x40210000, "PTE", "CON"),
    ro(0x40210000, 0x40400000, "PTE"),
    ro(0x40400000, 0x41a00000, "PMD", "BLK"),
    ro(0x41a00000, 0x41a2c000, "PTE"),
    rw(0x41a2c000, 0x41a30000, "PTE"),
    rw(0x41a30000, 0x41c00000, "PTE", "CON"),
    rw(0x41c00000, 0x42000000, "PMD", "BLK"),
    rw(0x42000000, 0x80000000, "PMD", "CON", "BLK"),
    rw(0x80000000, 0xc0000000, "PUD", "BLK"),
    rw(0xc0000000, 0xfe000000, "PMD", "CON", "BLK"),
    rw(0xfe000000, 0xffe00000, "PMD", "BLK"),
    rw(0xffe00000, 0xfffe0000, "PTE", "CON"),
] + _kfence_4k(0xfffe0000, 16) + [
    rw(0xffff0000, 0x100000000, "PTE", "CON"),
    hole(pa(0x100000000), pa(0x8000000000), "PUD"),
    hole(pa(0x8000000000), PAGE_END, "PGD"),
]

# The same RAM page mapped (arm64.bbml2=off, or after the repaint): pages
# everywhere but the alias, which keeps its PMD blocks (NO_CONT only). Lines
# with equal level and attributes merge, as ptdump prints them.
LAYOUT_4K_PAGES = [
    hole(pa(0), pa(0x40000000), "PUD"),
    rw(0x40000000, 0x40210000, "PTE"),
    ro(0x40210000, 0x40400000, "PTE"),
    ro(0x40400000, 0x41a00000, "PMD", "BLK"),
    ro(0x41a00000, 0x41a2c000, "PTE"),
    rw(0x41a2c000, 0xfffe0000, "PTE"),
] + _kfence_4k(0xfffe0000, 16) + [
    rw(0xffff0000, 0x100000000, "PTE"),
    hole(pa(0x100000000), pa(0x8000000000), "PUD"),
    hole(pa(0x8000000000), PAGE_END, "PGD"),
]

# LAYOUT_4K_BLOCKS after split_kernel_leaf_mapping(0x93456000) (inside the
# PUD block): PUD -> 32 contiguous PMD ranges, the one holding the address
# -> 16 PMDs, the PMD holding it -> 32 contiguous PTE ranges, the range
# holding it -> 16 PTEs. Written out by hand, leaf by leaf.
SPLIT_4K = 0x93456000
# The contiguous PMD ranges of the split PUD merge with their neighbours'
# lines, as ptdump prints them.
LAYOUT_4K_SPLIT = LAYOUT_4K_BLOCKS[:9] + [
    rw(0x42000000, 0x92000000, "PMD", "CON", "BLK"),
    rw(0x92000000, 0x93400000, "PMD", "BLK"),
    rw(0x93400000, 0x93450000, "PTE", "CON"),
    rw(0x93450000, 0x93460000, "PTE"),
    rw(0x93460000, 0x93600000, "PTE", "CON"),
    rw(0x93600000, 0x94000000, "PMD", "BLK"),
    rw(0x94000000, 0xfe000000, "PMD", "CON", "BLK"),
] + LAYOUT_4K_BLOCKS[12:]

# --- 16K pages, 2 GiB, blocks at boot ----------------------------------------
# PMD 32M, contiguous PTE 128 x 16K = 2M, contiguous PMD 32 x 32M = 1G,
# PUD 64G (no PUD blocks with 16K pages). A PMD window the alias cuts is
# page mapped; 0x42000000-0x80000000 is PMD blocks, not contiguous (not a
# whole aligned 1G); 0x80000000-0xc0000000 is one contiguous PMD range.
G16 = {"page": 16384, "cont_pte": 2 * M, "pmd": 32 * M, "cont_pmd": 1 * G,
       "pud": 64 * G, "pud_blocks": False}
ALIAS_16K = (pa(0x40210000), pa(0x41a2c000))
LAYOUT_16K_BLOCKS = [
    hole(pa(0), pa(0x40000000), "PMD"),
    rw(0x40000000, 0x40200000, "PTE", "CON"),
    rw(0x40200000, 0x40210000, "PTE"),
    ro(0x40210000, 0x41a2c000, "PTE"),
    rw(0x41a2c000, 0x41c00000, "PTE"),
    rw(0x41c00000, 0x42000000, "PTE", "CON"),
    rw(0x42000000, 0x80000000, "PMD", "BLK"),
    rw(0x80000000, 0xc0000000, "PMD", "CON", "BLK"),
    hole(pa(0xc0000000), pa(0x1000000000), "PMD"),
    hole(pa(0x1000000000), PAGE_END, "PUD"),
]
# After a split at 0x9a3c4000 (in the contiguous PMD range): 32 PMDs, the
# one holding the address -> 16 contiguous PTE ranges of 2M, the one
# holding it -> 128 pages.
SPLIT_16K = 0x9a3c4000
LAYOUT_16K_SPLIT = LAYOUT_16K_BLOCKS[:6] + [
    rw(0x42000000, 0x9a000000, "PMD", "BLK"),
    rw(0x9a000000, 0x9a200000, "PTE", "CON"),
    rw(0x9a200000, 0x9a400000, "PTE"),
    rw(0x9a400000, 0x9c000000, "PTE", "CON"),
    rw(0x9c000000, 0xc0000000, "PMD", "BLK"),
] + LAYOUT_16K_BLOCKS[8:]

# --- 64K pages, 4 GiB, blocks at boot ----------------------------------------
# 3 levels (PUD and P4D folded): PMD 512M, contiguous PTE 32 x 64K = 2M,
# contiguous PMD 32 x 512M = 16G (none fits in 4 GiB). A PGD entry covers
# 4T; a hole at the folded PUD level prints as PGD.
G64 = {"page": 65536, "cont_pte": 2 * M, "pmd": 512 * M, "cont_pmd": 16 * G,
       "pud": 4 << 40, "pud_blocks": False}
ALIAS_64K = (pa(0x40210000), pa(0x41a30000))
LAYOUT_64K_BLOCKS = [
    hole(pa(0), pa(0x40000000), "PMD"),
    rw(0x40000000, 0x40200000, "PTE", "CON"),
    rw(0x40200000, 0x40210000, "PTE"),
    ro(0x40210000, 0x41a30000, "PTE"),
    rw(0x41a30000, 0x41c00000, "PTE"),
    rw(0x41c00000, 0x60000000, "PTE", "CON"),
    rw(0x60000000, 0x140000000, "PMD", "BLK"),
    hole(pa(0x140000000), pa(0x40000000000), "PMD"),
    hole(pa(0x40000000000), PAGE_END, "PGD"),
]
# After a split at 0x98760000 (in the PMD block 0x80000000-0xa0000000):
# that PMD -> 256 contiguous PTE ranges, the one holding it -> 32 pages.
SPLIT_64K = 0x98760000
LAYOUT_64K_SPLIT = LAYOUT_64K_BLOCKS[:6] + [
    rw(0x60000000, 0x80000000, "PMD", "BLK"),
    rw(0x80000000, 0x98600000, "PTE", "CON"),
    rw(0x98600000, 0x98800000, "PTE"),
    rw(0x98800000, 0xa0000000, "PTE", "CON"),
    rw(0xa0000000, 0x140000000, "PMD", "BLK"),
] + LAYOUT_64K_BLOCKS[7:]

FILES = {
    "4k-blocks.txt": LAYOUT_4K_BLOCKS,
    "4k-pages.txt": LAYOUT_4K_PAGES,
    "4k-split.txt": LAYOUT_4K_SPLIT,
    "16k-blocks.txt": LAYOUT_16K_BLOCKS,
    "16k-split.txt": LAYOUT_16K_SPLIT,
    "64k-blocks.txt": LAYOUT_64K_BLOCKS,
    "64k-split.txt": LAYOUT_64K_SPLIT,
}


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    for name, layout in FILES.items():
        with open(os.path.join(FIXTURES, name), "w") as f:
            f.write(dump_text(layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
