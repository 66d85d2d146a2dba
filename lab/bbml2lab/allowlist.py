"""The BBML2/BBML3 MIDR allow-list of a kernel tree, read from its source.

What a board must show depends on the kernel that boots on it: four
Cortex-A725s are "none" for the 6.12 series and "uniform" for mainline 7.3
(issue 19). So the mode check takes the list from the tree under test,
never from a hand-kept table:

- arch/arm64/kernel/cpufeature.c: the `static const struct midr_range`
  array whose name contains "bbml" (the series' bbml2_noabort_list[],
  7.3's supports_bbml3_list[]), entries MIDR_ALL_VERSIONS / MIDR_REV_RANGE /
  MIDR_REV / MIDR_RANGE of a MIDR_* model;
- arch/arm64/include/asm/cputype.h: each MIDR_* model's
  MIDR_CPU_MODEL(implementer, part) and those two constants;
- whether the capability is also granted from ID_AA64MMFR2_EL1.BBM
  (`ID_AA64MMFR2_EL1_BBM_<n>` compared in the list's function): bbm_min.

A range is (implementer, part, (variant, revision) min, (variant, revision)
max), compared as the kernel's is_midr_in_range() does: the model exactly,
variant and revision together as one number.

`python3 -m bbml2lab.allowlist TREE [OUT]` prints the list, or writes it in
the guest's format (one "imp part vmin rmin vmax rmax name" line per range,
"bbm_min N" if any) for bbml2_plain.
"""
import re
import sys
from pathlib import Path

from . import LabError

CPUFEATURE = "arch/arm64/kernel/cpufeature.c"
CPUTYPE = "arch/arm64/include/asm/cputype.h"

ARRAY = re.compile(r"static\s+const\s+struct\s+midr_range\s+(\w*bbml\w*)\s*\[\s*\]\s*=\s*\{(.*?)\};",
                   re.S)
ENTRY = re.compile(r"(MIDR_ALL_VERSIONS|MIDR_REV_RANGE|MIDR_REV|MIDR_RANGE)\s*\(([^)]*)\)")
DEFINE = re.compile(r"^#define\s+(\w+)\s+(.+?)\s*$", re.M)


def _num(text, what):
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise LabError(f"allow-list: {what}: '{text.strip()}' is not a number") from None


def _defines(cputype):
    out = {}
    for m in DEFINE.finditer(cputype):
        out[m[1]] = m[2]
    return out


def _model(defs, name):
    """MIDR_X -> (implementer, part) through MIDR_CPU_MODEL(IMP, PART)."""
    body = defs.get(name)
    if body is None:
        raise LabError(f"allow-list: {name} is not defined in {CPUTYPE}")
    m = re.fullmatch(r"MIDR_CPU_MODEL\(\s*(\w+)\s*,\s*(\w+)\s*\)", body)
    if not m:
        raise LabError(f"allow-list: {name} is '{body}', not MIDR_CPU_MODEL(imp, part)")
    vals = []
    for sym in m.groups():
        v = defs.get(sym, sym)
        vals.append(_num(v, sym))
    return tuple(vals)


def parse(cpufeature, cputype):
    """{"array": name, "ranges": [(imp, part, vmin, rmin, vmax, rmax, macro)],
    "bbm_min": n or None} from the two files' text."""
    arrays = ARRAY.findall(cpufeature)
    if len(arrays) != 1:
        raise LabError(f"allow-list: expected one 'static const struct midr_range *bbml*[]' in "
                       f"{CPUFEATURE}, found {len(arrays)}")
    name, body = arrays[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    defs = _defines(cputype)
    ranges = []
    for kind, args in ENTRY.findall(body):
        a = [x.strip() for x in args.split(",")]
        imp, part = _model(defs, a[0])
        if kind == "MIDR_ALL_VERSIONS" and len(a) == 1:
            v = (0, 0, 0xf, 0xf)
        elif kind == "MIDR_REV_RANGE" and len(a) == 4:
            v = (_num(a[1], a[0]), _num(a[2], a[0]), _num(a[1], a[0]), _num(a[3], a[0]))
        elif kind == "MIDR_REV" and len(a) == 3:
            v = (_num(a[1], a[0]), _num(a[2], a[0])) * 2
        elif kind == "MIDR_RANGE" and len(a) == 5:
            v = tuple(_num(x, a[0]) for x in a[1:])
        else:
            raise LabError(f"allow-list: cannot read {kind}({args}) in {name}[]")
        ranges.append((imp, part) + v + (a[0],))
    leftover = ENTRY.sub("", body).replace(",", "").replace("{}", "").strip()
    if leftover:
        raise LabError(f"allow-list: {name}[] has entries this reader does not know: "
                       f"{leftover[:80]!r}")
    if not ranges:
        raise LabError(f"allow-list: {name}[] is empty")
    # The ID register path: the function holding the array compares BBM.
    bbm = re.findall(r"ID_AA64MMFR2_EL1_BBM_(\d+)", cpufeature)
    return {"array": name, "ranges": ranges, "bbm_min": min(int(b) for b in bbm) if bbm else None}


def extract(tree):
    """parse() of a kernel source tree (an O= build directory's `source`
    link works too)."""
    tree = Path(tree)
    try:
        return parse((tree / CPUFEATURE).read_text(errors="replace"),
                     (tree / CPUTYPE).read_text(errors="replace"))
    except OSError as e:
        raise LabError(f"allow-list: cannot read the kernel tree {tree}: {e.strerror}") from None


def tree_of_image(image):
    """The source tree of an out-of-tree build, from its Image's path
    (O/arch/arm64/boot/Image -> O/source), or None."""
    p = Path(image).resolve()
    for parent in p.parents:
        src = parent / "source"
        if (parent / ".config").is_file() and (src / CPUFEATURE).is_file():
            return src
    return None


def of_image(image):
    """The allow-list of the kernel an Image was built from, as publish
    records it in manifest.json and expectation() reads it: {"array",
    "ranges", "bbm_min", "source"}, or {"why": ...} when its tree has no
    readable list; None when the Image is not in an O= build whose `source`
    link finds a tree (a copied Image)."""
    tree = tree_of_image(image) if image else None
    if tree is None:
        return None
    try:
        al = extract(tree)
    except LabError as e:
        return {"why": str(e)}
    return {"array": al["array"], "ranges": [list(r) for r in al["ranges"]],
            "bbm_min": al["bbm_min"], "source": f"{al['array']}[] of {tree.resolve()}"}


def ranges_of(record):
    """(ranges or None, what to say about the list or None) of an of_image()
    record, which may come from a fetched manifest: without usable ranges
    the board's inventory class (the series' list) stands, and says why."""
    if not record:
        return None, None
    ranges = record.get("ranges") if isinstance(record, dict) else None
    if isinstance(ranges, list) and ranges and all(
            isinstance(r, (list, tuple)) and len(r) >= 6
            and all(isinstance(x, int) for x in r[:6]) for r in ranges):
        return [tuple(r) for r in ranges], str(record.get("source") or record.get("array"))
    why = record.get("why") if isinstance(record, dict) else None
    return None, f"the inventory's class ({why or 'the allow-list record has no ranges'})"


def matches(ranges, midr):
    """True if the MIDR is in one of the ranges (is_midr_in_range())."""
    imp, var, part, rev = (midr >> 24) & 0xff, (midr >> 20) & 0xf, (midr >> 4) & 0xfff, midr & 0xf
    rv = (var << 4) | rev
    return any(imp == r[0] and part == r[1] and (r[2] << 4 | r[3]) <= rv <= (r[4] << 4 | r[5])
               for r in ranges)


def guest_text(al):
    lines = [f"# from {al['array']}[] of the kernel tree under test"]
    lines += [f"0x{r[0]:x} 0x{r[1]:x} {r[2]} {r[3]} {r[4]} {r[5]} {r[6]}" for r in al["ranges"]]
    if al["bbm_min"] is not None:
        lines.append(f"bbm_min {al['bbm_min']}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) not in (1, 2):
        print("usage: python3 -m bbml2lab.allowlist TREE [OUT]", file=sys.stderr)
        return 2
    try:
        al = extract(argv[0])
    except LabError as e:
        print(e, file=sys.stderr)
        return 1
    text = guest_text(al)
    if len(argv) == 2:
        Path(argv[1]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
