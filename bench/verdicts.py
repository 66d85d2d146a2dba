# SPDX-License-Identifier: GPL-2.0
"""Test verdicts across runs (nights): what changed since the previous run.

A run directory's results.json is the runner's list of results
({"name", "result": pass|fail|skip|error, "job", ...}). Tests are keyed by
(job, name), so the same test in two jobs (modes) stays two tests. This is
the one place `make report` computes verdict differences; if
lab/bbml2lab/compare.py (the nightly's comparison) is importable and has
diff(previous, current), it is used instead, so the two can never disagree.
"""
import json
import os
import sys

BAD = ("fail", "error")

try:  # the nightly's own comparison, when it exists (lab/bbml2lab/compare.py)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "lab"))
    from bbml2lab import compare as _lab_compare  # noqa: E402
    if not callable(getattr(_lab_compare, "diff", None)):
        _lab_compare = None
except ImportError:
    _lab_compare = None


def load_results(run_dir):
    """(results list, problem or None) of a run directory."""
    path = os.path.join(run_dir, "results.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return [], f"{path}: missing (the run never wrote results: crashed at setup?)"
    except (OSError, ValueError) as e:
        return [], f"{path}: unreadable: {e}"
    if not isinstance(data, list):
        return [], f"{path}: not a list of results"
    good = [r for r in data if isinstance(r, dict) and "name" in r and "result" in r]
    return good, (None if len(good) == len(data) else
                  f"{path}: {len(data) - len(good)} malformed results ignored")


def by_test(results):
    """{(job, name): result}; the last one wins for a repeated key."""
    return {(r.get("job") or "", r["name"]): r["result"] for r in results}


def diff(previous, current):
    """What changed from the previous run's results to the current's:
    {"new_failures", "fixed", "still_failing", "missing", "new"} as sorted
    lists of (job, name); skips are neither passes nor failures."""
    if _lab_compare is not None:
        return _lab_compare.diff(previous, current)
    p, c = by_test(previous), by_test(current)
    out = {"new_failures": [], "fixed": [], "still_failing": [], "missing": [], "new": []}
    for key in sorted(set(p) | set(c)):
        a, b = p.get(key), c.get(key)
        if b is None:
            out["missing"].append(key)
        elif a is None:
            out["new"].append(key)
            if b in BAD:
                out["new_failures"].append(key)
        elif b in BAD and a not in BAD:
            out["new_failures"].append(key)
        elif b in BAD:
            out["still_failing"].append(key)
        elif a in BAD and b == "pass":
            out["fixed"].append(key)
    return out


def flaky(history):
    """Tests that both passed and failed over a list of runs' results
    (oldest first), with their verdict string, e.g. 'PPFP'."""
    keys = sorted({k for res in history for k in by_test(res)})
    maps = [by_test(res) for res in history]
    out = {}
    for key in keys:
        seq = "".join({"pass": "P", "fail": "F", "error": "E", "skip": "S"}.get(m.get(key), "-")
                      for m in maps)
        if "P" in seq and ("F" in seq or "E" in seq):
            out[key] = seq
    return out
