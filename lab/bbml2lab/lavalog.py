"""Parse a LAVA log: lava-run's stderr, one record per line,
{"dt": ..., "lvl": ..., "msg": ...}, or a server's job log
(scheduler.jobs.logs), the same records as YAML list items, one per line:
- {dt: ..., lvl: ..., msg: ...}

Most lines are JSON; a few records carry YAML tags (`"size": ! "6101000"`) and
only load as YAML. Anything else (a Python traceback on stderr, a line cut by
a kill) is counted and reported, never fatal.
"""
import json
from dataclasses import dataclass, field

import yaml

CONSOLE_LEVELS = ("target", "feedback")


@dataclass
class LavaLog:
    """What the runner needs from one lava-run log."""
    records: int = 0
    bad_lines: list = field(default_factory=list)   # [(line number, first 200 chars)]
    console: list = field(default_factory=list)     # guest console lines, in order
    results: list = field(default_factory=list)     # LAVA results records (msg dicts)
    verdict: dict = None                            # the lava/job record, if any
    errors: list = field(default_factory=list)      # lvl "error"/"exception" messages


def _load(line):
    if line.startswith("- "):         # a server log line: one YAML list item
        line = line[2:]
    try:
        return json.loads(line)
    except ValueError:
        pass
    try:
        return yaml.load(line, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def parse(text):
    """Parse log text (a whole lava.jsonl) into a LavaLog."""
    log = LavaLog()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        rec = _load(line)
        if not isinstance(rec, dict) or "lvl" not in rec or "msg" not in rec:
            log.bad_lines.append((number, line[:200]))
            continue
        log.records += 1
        lvl, msg = rec["lvl"], rec["msg"]
        if lvl in CONSOLE_LEVELS and isinstance(msg, str):
            # ShellLogger escaped double quotes for its YAML output; undo it.
            log.console.append(msg.replace('\\"', '"'))
        elif lvl == "results" and isinstance(msg, dict):
            log.results.append(msg)
            if msg.get("definition") == "lava" and msg.get("case") == "job":
                log.verdict = msg
        elif lvl in ("error", "exception"):
            log.errors.append(str(msg))
    return log


def monitor_results(log):
    """LAVA results from the test monitors (suite != lava), as
    [{definition, case, result}]."""
    return [{"definition": r.get("definition"), "case": r.get("case"), "result": r.get("result")}
            for r in log.results if r.get("definition") != "lava"]
