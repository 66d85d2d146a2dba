# SPDX-License-Identifier: GPL-2.0
"""Test verdicts across runs for `make report`.

The comparison itself (new failures, fixed, flaky, missing against the
previous night) is lab/bbml2lab/compare.py's, the nightly's own, so the page
and the nightly can never disagree; this module only reads results.json with
a reason when it cannot, and walks a plan's runs in order.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "lab"))
from bbml2lab import compare  # noqa: E402


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
    for r in good:
        r.setdefault("job", "")
    return good, (None if len(good) == len(data) else
                  f"{path}: {len(data) - len(good)} malformed results ignored")


def series(results_by_run):
    """[(previous index, current index, comparison)] for consecutive runs
    (oldest first), each with every older run as history."""
    out = []
    for i in range(1, len(results_by_run)):
        out.append((i - 1, i, compare.compare(results_by_run[i], results_by_run[i - 1],
                                              history=results_by_run[:i - 1])))
    return out
