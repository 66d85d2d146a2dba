"""Lab runs: a plan's jobs through a LAVA server, into a results directory
shaped like a local run (session.py) plus the lab's own records:

  lab.json                    run level: server, artifact URL, plan, the jobs
                              (spec, board) so that `resume` can re-attach
  jobs/<job>/job.yaml         the validated definition that was submitted
  jobs/<job>/lab.json         server, definition sha256, attempts [{n, job_id,
                              state, health, device, ...}], written right after
                              each submit, before any waiting
  jobs/<job>/attempt-<n>/     per attempt: lava.yaml (the server's log),
                              lava-results.yaml, show.json, results.json,
                              console.log
  jobs/<job>/{lava.yaml, console.log, lava-results.json, results.json,
              junit.xml, metadata.json}   the last attempt, as a local run has

Results are the local run's (job.evaluate: one parser) plus
  <suite>.lava.results_agree      LAVA's monitor results equal ours
  <suite>.lava.artifacts_sha256   LAVA's downloads equal the manifest

Resubmission (at most MAX_RESUBMIT times) only for health Incomplete with
error_type Infrastructure when our own parse saw no boot marker and no
splat: a kernel panic that closes a QEMU console is "Connection closed", an
infrastructure error to LAVA, but a test failure here.
"""
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from . import LabError, artcheck, health, lavalog, lavaserver, linmap, metadata, render, report
from .config import JobSpec
from .fsutil import atomic_write, atomic_write_json, new_job_dir
from .job import evaluate, expectation
from .session import Session

MAX_RESUBMIT = 2
RUN_STATE = "lab.json"


@dataclass
class Policy:
    """Waiting: poll interval growing to poll_max_s while nothing changes,
    an overall deadline, and how often to refetch a log that arrived
    without LAVA's final verdict."""
    poll_s: float = 5.0
    poll_max_s: float = 60.0
    deadline_s: float = 6 * 3600.0
    log_refetch: int = 3
    log_delay_s: float = 10.0
    max_resubmit: int = MAX_RESUBMIT


class Terminated(Exception):
    """SIGTERM arrived: cancel what was submitted, keep what was recorded."""


def lava_name(text):
    """A name as LAVA's monitors store it: lower case, \\W+ -> _."""
    return re.sub(r"\W+", "_", str(text).lower())


def definition_sha256(text):
    """sha256 of a job definition's text."""
    return hashlib.sha256(text.encode()).hexdigest()


def should_resubmit(show, verdict, con, attempts, max_resubmit=MAX_RESUBMIT):
    """(bool, why): the retry rule, on LAVA's health/error type and our parse."""
    if show.get("health") != "Incomplete":
        return False, f"health {show.get('health')}"
    error_type = (verdict or {}).get("error_type")
    if error_type != "Infrastructure":
        return False, f"error type {error_type}"
    if con.boot:
        return False, "the guest booted (boot marker seen): a test failure, not retried"
    splats = health.find_splats(con.kernel + con.dmesg)
    if splats:
        return False, f"kernel splat before the boot marker: {splats[0]}"
    if attempts > max_resubmit:
        return False, f"resubmitted {max_resubmit} times already"
    return True, f"infrastructure error before boot: {(verdict or {}).get('error_msg')}"


def cross_check(ours, lava_results, suite):
    """<suite>.lava.results_agree: each LAVA monitor result of the suite
    against ours (top-level KTAP names, compared the way LAVA stores them)."""
    name = f"{suite}.lava.results_agree"
    mine = {}
    for r in ours:
        rest = r["name"][len(suite) + 1:] if r["name"].startswith(suite + ".") else None
        if rest and "." not in rest:
            mine.setdefault(lava_name(rest), r)
    theirs = [m for m in lava_results if m.get("definition") not in ("lava", None)
              and lava_name(re.sub(r"^\d+_", "", str(m["definition"]))) == lava_name(suite)]
    diffs = []
    for m in theirs:
        r = mine.get(lava_name(m.get("case")))
        if r is None:
            diffs.append(f"{m.get('case')}: LAVA {m.get('result')}, ours missing")
        elif r["result"] != m.get("result") and not (
                r["result"] == "skip" and m.get("result") == "fail"
                and re.search(r"TODO|XFAIL", r.get("detail") or "")):
            diffs.append(f"{m.get('case')}: LAVA {m.get('result')}, ours {r['result']}")
    if not theirs:
        return {"name": name, "result": "skip", "detail": "LAVA recorded no monitor results"}
    return {"name": name, "result": "fail" if diffs else "pass",
            "detail": "\n".join(diffs) or f"{len(theirs)} LAVA result(s) agree"}


def check_downloads(log, urls, manifest, base, suite):
    """<suite>.lava.artifacts_sha256, or None when nothing was downloaded."""
    downloads = [r for r in log.results if r.get("definition") == "lava"
                 and str(r.get("case", "")).endswith("-download")
                 and isinstance(r.get("extra"), dict) and "label" in r["extra"]]
    if not downloads:
        return None
    files = manifest["files"] if manifest else {}
    bad = []
    for d in downloads:
        label, got = d["extra"]["label"], d["extra"].get("sha256sum")
        path = urls.get(label, "")[len(base.rstrip("/")) + 1:] if base else None
        want = (files.get(path) or {}).get("sha256")
        if want is None:
            bad.append(f"{label}: {path or '?'} is not in the manifest")
        elif got != want:
            bad.append(f"{label}: downloaded sha256 {got}, manifest {want}")
    return {"name": f"{suite}.lava.artifacts_sha256", "result": "fail" if bad else "pass",
            "detail": "\n".join(bad) or f"{len(downloads)} download(s) match the manifest"}


def _results_list(text):
    """LAVA's results YAML as a list of {definition, case, result, metadata}."""
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError:
        return []
    out = []
    for r in data if isinstance(data, list) else []:
        if isinstance(r, dict):
            out.append({"definition": r.get("suite"), "case": r.get("name"),
                        "result": r.get("result"), "metadata": r.get("metadata")})
    return out


def server_job(renderer, spec, board, base, manifest, queue_hours=None, provenance=None):
    """(validated job dict, {label: url}) of one job for a server: http
    artifact URLs under `base`, each pinned to the manifest's sha256."""
    files = artcheck.job_files(spec, board)
    urls = {label: artcheck.url(base, path) for label, path in files.items()}
    sha = {label: (manifest["files"].get(path) or {}).get("sha256") for label, path in files.items()}
    missing = [files[k] for k, v in sha.items() if v is None]
    if missing:
        raise LabError(f"not in the artifact manifest: {', '.join(missing)}")
    kernel, shim = urls["kernel"], None
    if "image" in urls:                 # el2shim board: LAVA's kernel image is the shim
        kernel, shim = urls["image"], urls["kernel"]
        sha = {**sha, "kernel": sha["image"], "shim": sha["kernel"]}
    job, _ = renderer.job(spec, board, kernel, urls["ramdisk"], urls.get("dtb"),
                          sha256=sha, queue_hours=queue_hours, provenance=provenance,
                          tags=board["lava"]["tags"], shim_url=shim)
    render.validate_job(job, where=f"job {spec.name}")
    return job, urls


class LabJob:
    """One job of a lab run: its definition, its attempts, its directory."""

    def __init__(self, spec, board, job_dir):
        self.spec, self.board, self.dir = spec, board, Path(job_dir)
        self.definition, self.urls, self.error = None, {}, None
        self.attempts = []          # [{n, job_id, state, health, device, ...}]
        self.done = False
        self.next_poll = 0.0
        self.interval = None
        self.started = None         # clock() at the first submit of this runner

    @property
    def current(self):
        return self.attempts[-1] if self.attempts else None

    def record(self, server_uri):
        atomic_write_json(self.dir / "lab.json", {
            "server": server_uri, "job": self.spec.name,
            "definition_sha256": definition_sha256(self.definition) if self.definition else None,
            "urls": self.urls, "attempts": self.attempts, "done": self.done})


class LabSession(Session):
    """A lab run (or a resumed one) against one LAVA server."""

    def __init__(self, results_root, tag, repo, argv, server, artifact_url, plan=None,
                 out=None, policy=None, run_dir=None, sleep=time.sleep, clock=time.monotonic):
        super().__init__(results_root, tag, repo, argv, plan=plan, out=out, run_dir=run_dir)
        self.server, self.base = server, artifact_url
        self.policy = policy or Policy()
        self.sleep, self.clock = sleep, clock
        self.manifest = None
        self.lab_jobs = []
        self.meta["lab"] = {"server": server.uri if server else None,
                            "artifact_url": artifact_url}

    def say(self, text):
        """One progress line, never with the token in it."""
        super().say(self.server.redact(text) if self.server else text)

    # --- recording -----------------------------------------------------------
    def _save_state(self):
        atomic_write_json(self.run_dir / RUN_STATE, {
            "server": self.server.uri, "artifact_url": self.base, "plan": self.meta.get("plan"),
            "manifest": self.manifest,
            "jobs": [{"name": j.spec.name, "dir": j.dir.name, "spec": asdict(j.spec),
                      "board": j.board} for j in self.lab_jobs]})

    def _finish_job(self, job, results, meta, wall_s=None):
        """Write the job's final files and fold it into the run."""
        spec = job.spec
        for r in results:
            r.update(suite=spec.suite, job=spec.name)
        meta["finished"] = metadata.utcnow()
        meta["verdict"] = report.verdict(results, meta["status"])
        meta["counts"] = report.counts(results)
        meta["attempts"] = job.attempts
        atomic_write_json(job.dir / "results.json", results)
        atomic_write(job.dir / "junit.xml", report.junit([(spec.name, results, wall_s)]))
        atomic_write_json(job.dir / "metadata.json", meta)
        job.done = True
        if job.definition:
            job.record(self.server.uri)
        summary = {"name": spec.name, "dir": str(job.dir), "status": meta["status"],
                   "verdict": meta["verdict"], "counts": meta["counts"], "wall_s": wall_s,
                   "lava_verdict": (meta.get("lava") or {}).get("health"),
                   "error": meta["error"], "mode": spec.mode, "board": spec.board,
                   "linear_map": meta.get("linear_map"), "attempts": len(job.attempts),
                   "lava_job_ids": [a.get("job_id") for a in job.attempts]}
        self.results += results
        self.jobs.append(summary)
        self._write()
        c = meta["counts"]
        line = (f"{spec.name}: {meta['verdict'].upper()} ({c['pass']} passed, {c['fail']} "
                f"failed, {c['skip']} skipped)")
        if len(job.attempts) > 1:
            line += f" after {len(job.attempts)} attempts"
        if meta["error"]:
            line += f": {meta['error']}"
        self.say(line)

    def _base_meta(self, job):
        spec, board = job.spec, job.board
        return {"job": spec.name, "status": "complete", "error": None, "spec": asdict(spec),
                "board": {"name": spec.board, "kind": board["kind"],
                          "device_type": board["lava"]["device_type"], "bbml2": board["bbml2"],
                          "hostname": board["lava"]["hostname"]},
                "lab": {"server": self.server.uri, "urls": job.urls}}

    def _job_error(self, job, message):
        meta = self._base_meta(job)
        meta["status"], meta["error"] = "error", message
        self._finish_job(job, [{"name": f"{job.spec.suite}.job", "result": "error",
                                "detail": message}], meta)

    # --- preparing -----------------------------------------------------------
    def prepare(self, specs, boards, renderer, queue_hours=None):
        """Render and validate every job; check the manifest and every URL.
        A job that fails gets its error result now; the others go on."""
        self.meta["jobs_planned"] = [s.name for s in specs]
        self.manifest = artcheck.fetch_manifest(self.base)
        info = self.manifest["info"]
        for spec in specs:
            kver = (info.get("kernel_versions") or {}).get(spec.config)
            provenance = {k: str(v) for k, v in (("git_revision", info.get("git_revision")),
                                                 ("kernel_version", kver)) if v}
            board = boards[spec.board]
            job = LabJob(spec, board, new_job_dir(self.run_dir, spec.name))
            self.lab_jobs.append(job)
            try:
                definition, job.urls = server_job(renderer, spec, board, self.base,
                                                  self.manifest, queue_hours, provenance)
                job.definition = render.dump(definition)
                atomic_write(job.dir / "job.yaml", job.definition)
            except LabError as e:
                job.error = str(e)
        self._save_state()
        bad = artcheck.head_all(u for j in self.lab_jobs if not j.error for u in j.urls.values())
        for job in self.lab_jobs:
            dead = [f"{u}: {bad[u]}" for u in job.urls.values() if u in bad]
            if dead and not job.error:
                job.error = "artifact " + "; ".join(dead)
        for job in self.lab_jobs:
            if job.error:
                self._job_error(job, job.error)
            else:
                job.record(self.server.uri)

    # --- submitting and waiting -----------------------------------------------
    def _submit(self, job):
        n = len(job.attempts) + 1
        attempt = {"n": n, "job_id": None, "state": "submitting", "health": None,
                   "submitted": metadata.utcnow()}
        job.attempts.append(attempt)
        job.record(self.server.uri)
        try:
            ids = self.server.submit(job.definition)
        except lavaserver.AuthError:
            raise
        except lavaserver.LavaError as e:
            attempt["state"] = "rejected" if isinstance(e, lavaserver.PermanentError) \
                else "submit failed"
            attempt["error"] = str(e)
            job.record(self.server.uri)
            if e.temporary:    # the job may exist on the server: a retry could duplicate it
                return f"submit failed, not retried: {e}"
            return f"rejected at submit: {e}"
        attempt.update(job_id=ids[0], state="Submitted", url=self.server.job_url(ids[0]))
        if job.started is None:
            job.started = self.clock()
        job.record(self.server.uri)
        job.interval, job.next_poll = self.policy.poll_s, self.clock() + self.policy.poll_s
        self.say(f"{job.spec.name}: attempt {n} submitted as LAVA job {ids[0]}")
        return None

    def submit_all(self):
        """Submit every prepared job that has no live attempt."""
        for job in self.lab_jobs:
            if job.done or (job.current and job.current.get("job_id")
                            and job.current["state"] != "submitting"):
                continue
            err = self._submit(job)
            if err:
                self._job_error(job, err)

    def wait_all(self):
        """Poll every submitted job until all are finished or the deadline."""
        deadline = self.clock() + self.policy.deadline_s
        while True:
            active = [j for j in self.lab_jobs if not j.done and j.current
                      and j.current.get("job_id")]
            if not active:
                return
            now = self.clock()
            if now >= deadline:
                for job in active:
                    self._cancel(job)
                    self._job_error(job, f"overall deadline of {self.policy.deadline_s:.0f} s "
                                         f"passed (LAVA job {job.current['job_id']} canceled)")
                return
            due = [j for j in active if j.next_poll <= now]
            if not due:
                self.sleep(max(0.0, min(min(j.next_poll for j in active), deadline) - now))
                continue
            for job in due:
                self._poll(job)

    def _poll(self, job):
        attempt = job.current
        try:
            show = self.server.show(attempt["job_id"])
        except lavaserver.TemporaryError as e:
            self.say(f"{job.spec.name}: server not answering, will retry: {e}")
            job.interval = min(job.interval * 2, self.policy.poll_max_s)
            job.next_poll = self.clock() + job.interval
            return
        except lavaserver.PermanentError as e:
            if isinstance(e, lavaserver.AuthError):
                raise
            self._job_error(job, f"LAVA job {attempt['job_id']}: {e}")
            return
        changed = (show.get("state"), show.get("health")) != (attempt["state"], attempt["health"])
        attempt.update(state=show.get("state"), health=show.get("health"),
                       device=show.get("device") or attempt.get("device"))
        if changed:
            job.record(self.server.uri)
            job.interval = self.policy.poll_s
        else:
            job.interval = min(job.interval * 1.5, self.policy.poll_max_s)
        if show.get("state") == lavaserver.FINISHED:
            self._finished(job, show)
        else:
            job.next_poll = self.clock() + job.interval

    def _fetch_log(self, job_id):
        """The whole log; refetched while LAVA's final verdict is missing."""
        text = ""
        for i in range(self.policy.log_refetch + 1):
            try:
                _, text = self.server.logs(job_id, 0)
            except lavaserver.TemporaryError:
                text = text or ""
            if lavalog.parse(text).verdict is not None:
                return text, i
            if i < self.policy.log_refetch:
                self.sleep(self.policy.log_delay_s)
        return text, self.policy.log_refetch

    def _finished(self, job, show):
        spec, attempt = job.spec, job.current
        adir = job.dir / f"attempt-{attempt['n']}"
        adir.mkdir(exist_ok=True)
        show = json.loads(self.server.redact(json.dumps(show)))
        atomic_write_json(adir / "show.json", show)
        text, refetches = self._fetch_log(attempt["job_id"])
        text = self.server.redact(text)     # a board may echo anything: keep the token out
        atomic_write(adir / "lava.yaml", text)
        try:
            results_text = self.server.redact(self.server.results_yaml(attempt["job_id"]))
        except lavaserver.LavaError as e:
            results_text = ""
            attempt["results_error"] = str(e)
        atomic_write(adir / "lava-results.yaml", results_text)
        cmdline = yaml.safe_load(job.definition)["metadata"].get("bbml2lab.cmdline", "")
        results, con, log = evaluate(text, spec.suite, expectation(spec, job.board, cmdline))
        lava_results = _results_list(results_text) or lavalog.monitor_results(log)
        results.append(cross_check(results, lava_results, spec.suite))
        sha = check_downloads(log, job.urls, self.manifest, self.base, spec.suite)
        if sha:
            results.append(sha)
        atomic_write(adir / "console.log", "\n".join(log.console) + "\n")
        atomic_write_json(adir / "results.json", results)
        verdict = log.verdict or next(
            (r.get("metadata") for r in lava_results
             if r.get("definition") == "lava" and r.get("case") == "job"), None) or {}
        attempt.update(error_type=verdict.get("error_type"), error_msg=verdict.get("error_msg"),
                       log_refetches=refetches, boot_marker=bool(con.boot),
                       device=show.get("device"))
        retry, why = should_resubmit(show, verdict, con, len(job.attempts),
                                     self.policy.max_resubmit)
        attempt["retry"] = {"resubmit": retry, "why": why}
        job.record(self.server.uri)
        if retry:
            self.say(f"{spec.name}: attempt {attempt['n']} {why}; resubmitting")
            err = self._submit(job)
            if not err:
                return
            results.append({"name": f"{spec.suite}.lava.resubmit", "result": "error",
                            "detail": f"resubmission: {err}"})
        self._final(job, show, text, log, con, results, results_text, why)

    def _final(self, job, show, text, log, con, results, results_text, why):
        spec, attempt = job.spec, job.current
        atomic_write(job.dir / "lava.yaml", text)
        atomic_write(job.dir / "console.log", "\n".join(log.console) + "\n")
        atomic_write_json(job.dir / "lava-results.json", lavalog.monitor_results(log))
        meta = self._base_meta(job)
        meta["lava"] = {"job_id": attempt["job_id"], "url": attempt.get("url"),
                        "state": show.get("state"), "health": show.get("health"),
                        "device": show.get("device"), "worker": show.get("worker"),
                        "error_type": attempt.get("error_type"),
                        "error_msg": attempt.get("error_msg"), "retry": why,
                        "log_records": log.records, "log_bad_lines": len(log.bad_lines),
                        "failure_comment": show.get("failure_comment")}
        meta["cmdline"] = yaml.safe_load(job.definition)["metadata"].get("bbml2lab.cmdline", "")
        meta["guest"] = con.boot
        meta["kernel"] = {"console_version": con.linux_version}
        meta["linear_map"] = linmap.parse("\n".join(log.console))
        want = job.board["lava"]["hostname"]
        if show.get("device") and show["device"] != want:
            meta["lava"]["device_note"] = f"ran on {show['device']}, not the board's {want}"
        results.append({"name": f"{spec.suite}.lava.device",
                        "result": "pass" if show.get("device") == want else "fail",
                        "detail": f"LAVA ran it on {show.get('device')}; board {spec.board} "
                                  f"is device {want}"})
        if not log.records:
            meta["status"] = "error"
            meta["error"] = f"LAVA job {attempt['job_id']}: no usable log"
            results.append({"name": f"{spec.suite}.job", "result": "error",
                            "detail": meta["error"]})
        wall = round(self.clock() - job.started, 3) if job.started is not None else None
        meta["wall_s"] = wall
        self._finish_job(job, results, meta, wall)

    def _cancel(self, job):
        attempt = job.current
        if attempt and attempt.get("job_id") and not job.done:
            try:
                self.server.cancel(attempt["job_id"])
                attempt["state"] = "canceled by the runner"
            except lavaserver.LavaError as e:
                attempt["cancel_error"] = str(e)
            job.record(self.server.uri)

    def cancel_all(self, why):
        """Cancel every live job (SIGTERM, a fatal error) and record it."""
        for job in self.lab_jobs:
            if not job.done and job.current and job.current.get("job_id"):
                self._cancel(job)
                self._job_error(job, f"{why} (LAVA job {job.current['job_id']} canceled)")
            elif not job.done and job.definition:
                self._job_error(job, f"{why} (never submitted)")

    def go(self):
        """Submit and wait; SIGTERM (Terminated) and auth errors cancel the rest."""
        try:
            self.submit_all()
            self.wait_all()
        except Terminated:
            self.cancel_all("terminated (SIGTERM)")
            self.setup_error("terminated (SIGTERM): submitted jobs canceled")
        except KeyboardInterrupt:
            self.cancel_all("interrupted")
            self.setup_error("interrupted: submitted jobs canceled")
        except lavaserver.AuthError as e:
            self.cancel_all("server refused the token")
            self.setup_error(str(e))


def resume(run_dir, server_for, repo, argv, out=None, policy=None, sleep=time.sleep,
           clock=time.monotonic):
    """Re-open a lab run after the runner was killed: finished jobs stay as
    recorded, submitted ones are re-attached by job id, the rest submitted.
    server_for(uri) -> lavaserver.Server."""
    run_dir = Path(run_dir)
    try:
        state = json.loads((run_dir / RUN_STATE).read_text())
        old = json.loads((run_dir / "metadata.json").read_text())
        results = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError) as e:
        raise LabError(f"{run_dir}: not a lab run that can be resumed ({e})") from None
    server = server_for(state["server"])
    s = LabSession(None, None, repo, argv, server, state["artifact_url"], plan=state["plan"],
                   out=out, policy=policy, run_dir=run_dir, sleep=sleep, clock=clock)
    s.meta.update(run_id=old["run_id"], started=old["started"],
                  jobs_planned=old.get("jobs_planned"),
                  resumed=old.get("resumed", []) + [{"at": s.meta["started"], "argv": argv}])
    s.meta["argv"] = old["argv"]
    if old.get("nightly"):
        s.meta["nightly"] = True
    s.manifest = state["manifest"]
    done = {j["name"] for j in old.get("jobs", [])}
    s.jobs = list(old.get("jobs", []))
    s.results = [r for r in results if r["job"] in done]
    for entry in state["jobs"]:
        job = LabJob(JobSpec(**entry["spec"]), entry["board"], run_dir / "jobs" / entry["dir"])
        s.lab_jobs.append(job)
        try:
            lab = json.loads((job.dir / "lab.json").read_text())
        except (OSError, ValueError):
            lab = {}
        job.urls = lab.get("urls", {})
        job.attempts = lab.get("attempts", [])
        if job.current and job.current["state"] == "submitting":
            job.current["state"] = "unknown: the runner stopped while submitting"
            job.current["job_id"] = None
        if entry["name"] in done:
            job.done = True
            continue
        if (job.dir / "job.yaml").is_file():
            job.definition = (job.dir / "job.yaml").read_text()
        job.interval, job.next_poll = s.policy.poll_s, 0.0
        if not job.definition:
            s._job_error(job, "no validated definition recorded before the runner stopped")
    s._write()
    live = sum(1 for j in s.lab_jobs if not j.done and j.current and j.current.get("job_id"))
    s.say(f"resume {s.run_id}: {len(done)} job(s) already finished, {live} re-attached")
    return s
