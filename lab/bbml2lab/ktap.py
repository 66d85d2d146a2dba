"""KTAP (and kselftest "TAP version 13") parser.

Nesting comes in two styles, both handled at every level:
  * KTAP: a subtest's lines are indented (2 spaces per level, any width works)
    and precede the parent's result line;
  * kselftest runner: a child's output is prefixed "# " ("# # " one deeper).
    A run of "#" lines is a nested block only if, with the prefix removed, it
    holds KTAP structure (version, plan, result or Bail out!); otherwise it is
    diagnostics.
Result names keep every level: <suite>.<parent>.<child>... Input lines must be
user-space console lines (see console.separate: kernel lines removed, spliced
lines repaired).
"""
import re
from dataclasses import dataclass, field

VERSION = re.compile(r"^K?TAP version \d+\s*$")
PLAN = re.compile(r"^1\.\.(?P<n>\d+)\s*(?:#\s*(?P<directive>.*?))?\s*$")
RESULT = re.compile(r"^(?P<ok>not ok|ok)(?=\s|$)\s*(?P<num>\d+)?\s*(?:-\s+)?"
                    r"(?P<desc>[^#]*?)\s*(?:#\s*(?P<directive>.*?))?\s*$")
BAIL = re.compile(r"^Bail out!\s*(?P<reason>.*?)\s*$")
SUBTEST = re.compile(r"^#\s*Subtest:\s*(?P<name>.*?)\s*$")
STRUCTURE = re.compile(r"^(?:K?TAP version \d+|1\.\.\d+|(?:not )?ok \d+|Bail out!)")
DIRECTIVE = re.compile(r"^(?P<kind>SKIP|TODO|XFAIL|XPASS)\b[:\s]*(?P<reason>.*)$", re.I)
# kselftest's runner names each program before running it ("# selftests:
# arm64/bbml2: bbml2_split"), as its result line will ("ok 3 selftests: ...")
RUNNER_HEADER = re.compile(r"^selftests:\s+\S.*$")


@dataclass
class Case:
    """One result line, with the nested block printed before it (if any)."""
    num: int
    ok: bool
    desc: str
    directive: str
    children: "Block" = None


@dataclass
class Block:
    """One KTAP level: plan, results, and what went wrong with them."""
    name: str = None          # "# Subtest: <name>" inside the block
    seen: bool = False        # any KTAP structure at all
    plan: int = None
    plan_directive: str = None
    plans: int = 0
    cases: list = field(default_factory=list)
    bail: str = None
    orphan: "Block" = None    # nested output not followed by its result line
    orphan_name: str = None


def _structural(line):
    return bool(STRUCTURE.match(re.sub(r"^[#\s]+", "", line)))


def _unhash(line):
    return line[2:] if line.startswith("# ") else line[1:]


def _dedent(line, width):
    stripped = line.lstrip(" \t")
    return line[min(width, len(line) - len(stripped)):]


def _next_is_indented(lines, i):
    for line in lines[i:]:
        if line.strip():
            return line[0] in " \t"
    return False


def parse_block(lines):
    """Parse the lines of one level (prefixes of outer levels removed)."""
    b = Block()
    child, subtest, header = [], None, None
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
        elif line[0] in " \t":
            j = i
            while j < n and (not lines[j].strip() or lines[j][0] in " \t"):
                j += 1
            width = len(line) - len(line.lstrip(" \t"))
            child += [_dedent(x, width) for x in lines[i:j]]
            i = j
        elif SUBTEST.match(line):
            name = SUBTEST.match(line)["name"]
            if not b.cases and b.plan is None and not child and not _next_is_indented(lines, i + 1):
                b.name = name
            else:
                subtest = name
            i += 1
        elif line.startswith("#"):
            j = i
            while j < n and lines[j].startswith("#") and not SUBTEST.match(lines[j]):
                j += 1
            run = [_unhash(x) for x in lines[i:j]]
            for x in run:
                if _structural(x):
                    break
                if RUNNER_HEADER.match(x.strip()):
                    header = x.strip()
            if any(_structural(x) for x in run):
                child += run
            i = j
        else:
            i += 1
            if VERSION.match(line):
                b.seen = True
            elif PLAN.match(line):
                m = PLAN.match(line)
                b.seen, b.plans = True, b.plans + 1
                b.plan, b.plan_directive = int(m["n"]), m["directive"]
            elif BAIL.match(line):
                b.seen, b.bail = True, BAIL.match(line)["reason"] or "(no reason given)"
                break
            elif RESULT.match(line):
                m = RESULT.match(line)
                kids = parse_block(child) if any(_structural(x) for x in child) else None
                num = int(m["num"]) if m["num"] else len(b.cases) + 1
                b.seen = True
                b.cases.append(Case(num, m["ok"] == "ok", m["desc"], m["directive"] or "", kids))
                child, subtest, header = [], None, None
            # anything else is not KTAP: ignored
    if any(_structural(x) for x in child):
        # cut before its result line: named by its "# Subtest:" line, else
        # by the runner's header, as its result line would have named it
        b.orphan = parse_block(child)
        b.orphan_name = b.orphan.name or subtest or header
    return b


def verdict(ok, directive):
    """(result, detail) for a result line. SKIP -> skip; TODO/XFAIL: ok -> pass,
    not ok -> skip (a known failure); XPASS -> fail; else ok/not ok."""
    m = DIRECTIVE.match(directive or "")
    if not m:
        return ("pass" if ok else "fail"), directive or ""
    kind, reason = m["kind"].upper(), m["reason"].strip()
    if kind == "SKIP":
        return "skip", reason
    if kind == "XPASS":
        return "fail", f"XPASS: passed unexpectedly {reason}".strip()
    if ok:
        return "pass", f"{kind}: {reason}".strip()
    return "skip", f"{kind} (known failure): {reason}".strip()


def sanitize(desc):
    """A test description as one name component (no dots or spaces)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", desc).strip("_")


def _unique(base, seen):
    name, k = base, 2
    while name in seen:
        name, k = f"{base}_{k}", k + 1
    seen.add(name)
    return name


def _flatten(b, prefix, cut, out):
    seen, nums = set(), []

    def add(name, result, detail):
        out.append({"name": f"{prefix}.{name}", "result": result, "detail": detail})

    for case in b.cases:
        nums.append(case.num)
        name = _unique(sanitize(case.desc) or f"test_{case.num}", seen)
        add(name, *verdict(case.ok, case.directive))
        if case.children:
            _flatten(case.children, f"{prefix}.{name}", False, out)
    why = (f"missing: bailed out ({b.bail})" if b.bail is not None
           else "missing: stream cut" if cut else "missing: no result line")
    if b.orphan is not None:
        num = max(nums, default=0) + 1
        name = _unique(sanitize(b.orphan_name or "") or f"missing_{num}", seen)
        add(name, "fail", f"{why} (subtest output without its result line)")
        _flatten(b.orphan, f"{prefix}.{name}", cut, out)
        nums.append(num)
    if b.bail is not None:
        add(_unique("bail_out", seen), "fail", f"Bail out! {b.bail}")
    problems = []
    if b.plan is None:
        if b.bail is None and (b.cases or b.orphan):
            problems.append("stream cut before the plan line" if cut else "no plan line")
    else:
        for k in range(1, b.plan + 1):
            if k not in nums:
                add(_unique(f"missing_{k}", seen), "fail", why)
        extra = sorted(k for k in nums if k > b.plan)
        if extra or len(nums) > b.plan:
            problems.append(f"plan 1..{b.plan} but {len(nums)} results"
                            + (f" (extra: {', '.join(map(str, extra))})" if extra else ""))
    if b.plans > 1:
        problems.append(f"{b.plans} plan lines")
    if problems:
        add(_unique("ktap", seen), "fail", "; ".join(problems))


def parse_results(lines, prefix, cut=False):
    """Results [{name, result, detail}] for the KTAP in lines.

    cut: the stream ended without the suite end marker; missing results are
    then reported as "missing: stream cut".
    """
    b = parse_block(lines)
    if not b.seen and b.orphan is None:
        return [{"name": f"{prefix}.ktap", "result": "fail",
                 "detail": "no KTAP output" + (" (stream cut)" if cut else "")}]
    if b.plan == 0 and not b.cases and b.orphan is None:
        m = DIRECTIVE.match(b.plan_directive or "")
        if m and m["kind"].upper() == "SKIP":
            return [{"name": f"{prefix}.ktap", "result": "skip",
                     "detail": m["reason"].strip() or "all tests skipped"}]
    out = []
    _flatten(b, prefix, cut, out)
    return out
