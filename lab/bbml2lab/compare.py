"""Night against night: what changed between two runs' results.json.

A test is (job, result name). Against the previous night:
  new_failures  fail/error now, pass or skip before (or a new test failing)
  fixed         pass now, fail/error before
  flaky         its outcome flipped at least twice over the recent nights
                (history, oldest first, ending with this night), or its job
                needed a resubmission tonight; listed here instead of above
  missing       reported before, not now (a job that did not run, a cut stream)
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


def _flips(outcomes):
    seq = ["bad" if o in BAD else "good" for o in outcomes if o is not None]
    return sum(1 for a, b in zip(seq, seq[1:]) if a != b)


def compare(current, previous, history=(), retried_jobs=()):
    """The comparison as a dict. history: older nights' results lists,
    oldest first, not including `previous` or `current`."""
    cur, prev = _index(current), _index(previous or [])
    nights = [_index(h) for h in history] + [prev, cur]
    out = {"new_failures": [], "fixed": [], "flaky": [], "missing": [], "new_tests": 0,
           "tests": len(cur), "previous_tests": len(prev)}
    for key, r in cur.items():
        before = prev.get(key)
        outcomes = [n.get(key, {}).get("result") for n in nights]
        item = {"job": key[0], "name": key[1], "result": r["result"],
                "previous": before["result"] if before else None,
                "detail": (r.get("detail") or "").splitlines()[0] if r.get("detail") else ""}
        if before is None:
            out["new_tests"] += 1
        if _flips(outcomes) >= 2 or (key[0] in retried_jobs and r["result"] in BAD):
            out["flaky"].append(item)
        elif r["result"] in BAD and (before is None or before["result"] not in BAD):
            out["new_failures"].append(item)
        elif r["result"] == "pass" and before and before["result"] in BAD:
            out["fixed"].append(item)
    for key, r in prev.items():
        if key not in cur:
            out["missing"].append({"job": key[0], "name": key[1], "previous": r["result"]})
    return out


def markdown(cmp, current_id, previous_id):
    """The comparison as a short Markdown page."""
    lines = [f"# {current_id} against {previous_id or '(no previous night)'}", "",
             f"{len(cmp['new_failures'])} new failure(s), {len(cmp['fixed'])} fixed, "
             f"{len(cmp['flaky'])} flaky, {len(cmp['missing'])} missing, "
             f"{cmp['new_tests']} new test(s); {cmp['tests']} tests tonight, "
             f"{cmp['previous_tests']} before.", ""]
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
