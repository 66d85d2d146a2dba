"""Each night where a lab admin reads it: a short plain-text summary, handed
to a command named in the lab configuration, and a trace of the nights that
never started.

The command: LAB_NOTIFY in the lab env file (build/lab/env, KEY=VALUE) or
`nightly --notify CMD`: argv words split like a shell would (shlex) but run
without one, the summary on its stdin, the subject in $BBML2LAB_SUBJECT,
no LAVA_TOKEN in its environment, cut off after TIMEOUT_S. E.g.
  LAB_NOTIFY=mail -s bbml2-lab lab-admin@example.org
  LAB_NOTIFY=/usr/local/bin/chat-bridge --channel lab
What it did (exit status, its last stderr line) goes to <run>/notify.json;
a failing command never changes the night's exit status.

A nightly that fails before its run directory exists (credentials, server
down, lock held) appends one line to <results>/never-started.jsonl and is
announced the same way; the next night's summary lists those since the
previous night.
"""
import datetime
import json
import os
import shlex
import subprocess
from pathlib import Path

from . import compare
from .fsutil import atomic_write, atomic_write_json

TIMEOUT_S = 60
NEVER_STARTED = "never-started.jsonl"
SECRET_ENV = ("LAVA_TOKEN",)
MAX_LISTED = 20


def _load(path, default):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def never_started(root, since=None):
    """Records of nights that never started, after `since` (ISO text)."""
    out = []
    try:
        lines = (Path(root) / NEVER_STARTED).read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and (since is None or str(rec.get("at", "")) > since):
            out.append(rec)
    return out


def record_never_started(root, error, argv):
    """Append the trace of a night that failed before its run directory."""
    root = Path(root)
    rec = {"at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "error": str(error), "argv": list(argv)}
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / NEVER_STARTED, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
    except OSError:
        pass
    return rec


def detached(root, exclude=None):
    """[(run name, why)] of nightly runs under root still detached (SIGTERM)."""
    out = []
    for meta_path in sorted(Path(root).glob("*-nightly*/metadata.json")):
        meta = _load(meta_path, {})
        if meta.get("status") == "detached" and meta_path.parent.name != exclude:
            why = ((meta.get("detached") or [{}])[-1]).get("why", "?")
            out.append((meta_path.parent.name, why))
    return out


def summary(run_dir, cmp, root=None):
    """(subject, text) of one night."""
    run_dir = Path(run_dir)
    meta = _load(run_dir / "metadata.json", {})
    jobs = meta.get("jobs") or []
    code = meta.get("exit_code")
    infra = compare.infrastructure_by_board(cmp)
    state = ("infrastructure errors" if code == 3 else
             {0: "passed", 1: "test failures", 2: "errors"}.get(code, str(meta.get("status"))))
    skipped = meta.get("skipped_boards") or []
    subject = (f"bbml2-lab {run_dir.name}: {state}; {len(cmp['new_failures'])} new failure(s), "
               f"{sum(len(v) for v in infra.values())} infrastructure error(s)"
               + (f", {len(skipped)} board(s) skipped" if skipped else ""))
    lines = [subject, "",
             f"night:    {run_dir.name} ({meta.get('started')} to {meta.get('finished')}), "
             f"exit {code}",
             f"against:  {cmp.get('previous') or 'no previous night'}",
             f"results:  {meta.get('summary')}",
             f"changes:  {len(cmp['new_failures'])} new failure(s), {len(cmp['fixed'])} fixed, "
             f"{len(cmp['flaky'])} flaky, {len(cmp['missing'])} missing"]
    retried = [(j["name"], j.get("retries", 0)) for j in jobs if j.get("retries")]
    lines.append("retries:  " + (", ".join(f"{n} x{r}" for n, r in retried) if retried
                                 else "none"))
    lines.append("infrastructure errors by board: " + ("none" if not infra else ""))
    for board, names in sorted(infra.items()):
        lines.append(f"  {board}: {len(names)} job(s): {', '.join(names)}")
    lines.append("boards skipped: " + ("none" if not skipped else ""))
    for s in skipped:
        lines.append(f"  {s.get('board')}: {s.get('why')}")
    hc = meta.get("health_checks")
    if hc is not None:
        lines.append("health checks: " + (
            f"on for {', '.join(hc['installed'])}" if hc.get("installed") else
            f"NOT installed: {hc['error']}" if hc.get("error") else hc.get("why") or "none"))
    if root is not None:
        prev_meta = _load(Path(root) / str(cmp.get("previous")) / "metadata.json", {}) \
            if cmp.get("previous") else {}
        missed = never_started(root, prev_meta.get("started"))
        lines.append("nights that never started: " + ("none" if not missed else ""))
        for rec in missed:
            lines.append(f"  {rec.get('at')}: {rec.get('error')}")
        waiting = detached(root, exclude=run_dir.name)
        if waiting:
            lines.append("nights detached, waiting for `lab/run.py resume` or `cancel`:")
            lines += [f"  {name}: {why}" for name, why in waiting]
    for key, title in (("new_failures", "new failures"), ("fixed", "fixed"),
                       ("flaky", "flaky (failed and passed tonight)")):
        items = cmp.get(key) or []
        if items:
            lines += ["", f"{title}:"]
            for i in items[:MAX_LISTED]:
                lines.append(f"  {i['job']} {i['name']}"
                             + (f": {i['detail']}" if i.get("detail") else ""))
            if len(items) > MAX_LISTED:
                lines.append(f"  (+{len(items) - MAX_LISTED} more in compare.md)")
    lines += ["", f"details: {run_dir / 'compare.md'}, {run_dir / 'summary.md'}, "
                  f"KCIDB export {run_dir / 'kcidb.json'}"]
    return subject, "\n".join(lines) + "\n"


def send(command, subject, text, cwd=None):
    """Run the notify command with text on stdin; a record of what it did."""
    rec = {"command": command, "subject": subject}
    try:
        argv = shlex.split(command)
    except ValueError as e:
        return {**rec, "ok": False, "error": f"cannot split the command: {e}"}
    if not argv:
        return {**rec, "ok": False, "error": "empty command"}
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env["BBML2LAB_SUBJECT"] = subject
    try:
        p = subprocess.run(argv, input=text, text=True, capture_output=True, env=env,
                           cwd=cwd, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:
        return {**rec, "ok": False, "error": f"{type(e).__name__}: {e}"}
    last = (p.stderr.strip().splitlines() or [""])[-1]
    return {**rec, "ok": p.returncode == 0, "rc": p.returncode, "stderr": last[:500]}


def announce(run_dir, cmp, root, command, say=print):
    """Write summary.txt, and send it when a command is configured."""
    subject, text = summary(run_dir, cmp, root)
    atomic_write(Path(run_dir) / "summary.txt", text)
    if not command:
        return None
    rec = send(command, subject, text)
    atomic_write_json(Path(run_dir) / "notify.json", rec)
    if not rec["ok"]:
        say(f"notify: `{command}` failed: {rec.get('error') or 'rc=%s %s' % (rec.get('rc'), rec.get('stderr'))}")
    return rec
