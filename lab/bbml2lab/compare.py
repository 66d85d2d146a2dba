"""Night against night: what changed between two runs' results.json.

A test is (job, result name). Against the previous night:
  new_failures    fail/error now, pass or skip before (or a new test failing)
  fixed           pass now, fail/error before
  flaky           a test that ran and both failed and passed within this
                  night (flaky_tests: (job, name) pairs the run recorded);
                  listed here instead of above
  missing         reported before, not now (a cut stream, a job that did
                  not run for a reason other than the lab's)
  infrastructure  jobs that ended as infrastructure errors (no kernel ran:
                  result "error" with "infra": true), per board; never
                  failures, never flaky; their tests are not "missing"
  boards_skipped  jobs not submitted because LAVA said their board could
                  not run them (Bad, Maintenance, worker offline): result
                  "skip" with "board_skipped": true; not "missing" either
Kept small on purpose: `make report` (bench/report.py) is the one report
mechanism and can grow from this module.
"""
import json
from pathlib import Path

BAD = ("fail", "error")


def _index(results):
    return {(r["job"], r["name"]): r for r in results}


def load(run_dir):
    """A run's results list, or None if it has none."""
    try:
        return json.loads((Path(run_dir) / "results.json").read_text())
    except (OSError, ValueError):
        return None


def compare(current, previous, history=(), flaky_tests=()):
    """The comparison as a dict. history: older nights' results lists,
    oldest first, not including `previous` or `current` (kept for the
    report; flakiness is judged within the night only)."""
    cur, prev = _index(current), _index(previous or [])
    flaky_tests = {tuple(k) for k in flaky_tests}
    infra_jobs = {r["job"] for r in current if r.get("infra")}
    skipped_jobs = {r["job"] for r in current if r.get("board_skipped")}
    out = {"new_failures": [], "fixed": [], "flaky": [], "missing": [], "infrastructure": [],
           "boards_skipped": [], "new_tests": 0,
           "tests": len(cur) - len(infra_jobs) - len(skipped_jobs), "previous_tests": len(prev)}
    for key, r in cur.items():
        item = {"job": key[0], "name": key[1], "result": r["result"],
                "detail": (r.get("detail") or "").splitlines()[0] if r.get("detail") else ""}
        if r.get("infra") or r.get("board_skipped"):
            out["infrastructure" if r.get("infra") else "boards_skipped"].append(
                {**item, "board": r.get("board"),
                 "not_run": sum(1 for k in prev if k[0] == key[0])})
            continue
        before = prev.get(key)
        item["previous"] = before["result"] if before else None
        if before is None:
            out["new_tests"] += 1
        if key in flaky_tests:
            out["flaky"].append(item)
        elif r["result"] in BAD and (before is None or before["result"] not in BAD):
            out["new_failures"].append(item)
        elif r["result"] == "pass" and before and before["result"] in BAD:
            out["fixed"].append(item)
    for key, r in prev.items():
        if key not in cur and key[0] not in infra_jobs | skipped_jobs:
            out["missing"].append({"job": key[0], "name": key[1], "previous": r["result"]})
    return out


def infrastructure_by_board(cmp):
    """{board: [job, ...]} of the night's infrastructure errors."""
    out = {}
    for item in cmp.get("infrastructure", []):
        out.setdefault(item.get("board") or "?", []).append(item["job"])
    return out


def markdown(cmp, current_id, previous_id):
    """The comparison as a short Markdown page."""
    lines = [f"# {current_id} against {previous_id or '(no previous night)'}", "",
             f"{len(cmp['new_failures'])} new failure(s), {len(cmp['fixed'])} fixed, "
             f"{len(cmp['flaky'])} flaky, {len(cmp['missing'])} missing, "
             f"{cmp['new_tests']} new test(s), "
             f"{len(cmp.get('infrastructure', []))} infrastructure error(s); "
             f"{cmp['tests']} tests tonight, {cmp['previous_tests']} before.", ""]
    if cmp.get("infrastructure"):
        lines += ["## Infrastructure errors (no kernel ran: not test results)", ""]
        for item in cmp["infrastructure"]:
            lines.append(f"- board `{item.get('board')}`: `{item['job']}`: {item['detail']}"
                         + (f" ({item['not_run']} test(s) of the previous night not run)"
                            if item.get("not_run") else ""))
        lines.append("")
    if cmp.get("boards_skipped"):
        lines += ["## Boards skipped (LAVA could not run their jobs)", ""]
        for item in cmp["boards_skipped"]:
            lines.append(f"- board `{item.get('board')}`: `{item['job']}`: {item['detail']}")
        lines.append("")
    for key, title in (("new_failures", "New failures"), ("fixed", "Fixed"),
                       ("flaky", "Flaky"), ("missing", "Missing")):
        if not cmp[key]:
            continue
        lines += [f"## {title}", ""]
        for item in cmp[key]:
            note = f" (was {item['previous']})" if item.get("previous") else ""
            detail = f": {item['detail']}" if item.get("detail") else ""
            lines.append(f"- `{item['job']}` `{item['name']}` "
                         f"{item.get('result', 'not reported')}{note}{detail}")
        lines.append("")
    return "\n".join(lines)
