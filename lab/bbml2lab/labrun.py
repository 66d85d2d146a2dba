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
error_type Infrastructure while nothing shows that a kernel started
(retry.py): a kernel panic that closes a QEMU console is "Connection
closed", an infrastructure error to LAVA, but a test failure here. When the
retries are used up the job is one infrastructure error of its board
(result "error" with "infra": true, metadata status "infrastructure"), not
test failures; the run's exit status is then 3 (INFRA_EXIT) unless tests
failed (1) or the runner erred (2).

Results are never lost:
  a job LAVA still calls Running while its worker is Offline is judged from
  the server's log at once when that log holds lava-run's final result
  (lava-run finishes and uploads without its worker), else once the job's
  own timeout has passed; a job Running past its timeout is judged from its
  log too (and canceled to free the board);
  a job canceled (deadline, `run.py cancel`, a permanent server error) keeps
  the partial log and what it shows;
  SIGTERM records the run as detached and exits without cancelling:
  `resume` re-attaches, `run.py cancel RUN` cancels.
Server faults are temporary unless they say otherwise (lavaserver.py); each
job has its own error boundary, so one job's failure never ends the run.
"""
import hashlib
import json
import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from . import LabError, artcheck, lavalog, lavaserver, linmap, metadata, render, report
from .config import JobSpec
from .fsutil import atomic_write, atomic_write_json, new_job_dir
from .job import evaluate, expectation
from .retry import MAX_RESUBMIT, infrastructure_error, kernel_started, should_resubmit  # noqa: F401
from .session import Session

RUN_STATE = "lab.json"
INFRA_EXIT = 3
# LAVA device healths and worker states/healths that mean "will not run
# a job" (scheduler.devices.show / scheduler.workers.show, LAVA 2023.01)
DEVICE_UNUSABLE = ("Bad", "Maintenance", "Retired")
WORKER_UNUSABLE = ("Maintenance", "Retired")
DETACHED = "detached"
RUNNING = "Running"


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
    overdue_grace_s: float = 300.0     # past the job's own timeout: LAVA lost it
    cancel_wait_s: float = 120.0       # for LAVA to finish canceled jobs (their logs)


class Terminated(Exception):
    """SIGTERM arrived: record the run as detached and leave LAVA's jobs
    running (resume re-attaches them)."""


def job_timeout_s(definition):
    """The job's own timeout (timeouts.job) in seconds, or None."""
    try:
        t = (yaml.safe_load(definition) or {}).get("timeouts", {}).get("job", {})
        return sum(float(t.get(k, 0)) * f for k, f in (("days", 86400), ("hours", 3600),
                                                        ("minutes", 60), ("seconds", 1))) or None
    except (yaml.YAMLError, AttributeError, TypeError, ValueError):
        return None


def lava_name(text):
    """A name as LAVA's monitors store it: lower case, \\W+ -> _."""
    return re.sub(r"\W+", "_", str(text).lower())


def definition_sha256(text):
    """sha256 of a job definition's text."""
    return hashlib.sha256(text.encode()).hexdigest()


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
        path = artcheck.manifest_path(urls.get(label, "")[len(base.rstrip("/")) + 1:]) \
            if base else None
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


def server_job(renderer, spec, board, base, manifest, queue_hours=None, provenance=None,
               run_id=None):
    """(validated job dict, {label: url}) of one job for a server: http
    artifact URLs under `base`, each pinned to the manifest's sha256; the
    job name ends with the run id, so a job left on the server can be
    traced to its run (and canceled)."""
    files = artcheck.job_files(spec, board)
    build = manifest["info"].get("build")
    urls = {label: artcheck.url(base, artcheck.build_path(path, build))
            for label, path in files.items()}
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
                          tags=board["lava"]["tags"], shim_url=shim, run_id=run_id)
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
        self.running_since = None   # clock() when this runner first saw it Running
        self.worker = None          # the LAVA worker of its device, once known

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
                   "lava_job_ids": [a.get("job_id") for a in job.attempts],
                   "infra": meta["status"] == "infrastructure",
                   "retries": sum(1 for a in job.attempts if (a.get("retry") or {}).get("resubmit")),
                   "flaky_tests": meta.get("flaky_tests", [])}
        self.results += results
        self.jobs.append(summary)
        self._write()
        c = meta["counts"]
        line = (f"{spec.name}: {meta['verdict'].upper()} ({c['pass']} passed, {c['fail']} "
                f"failed, {c['skip']} skipped)")
        if summary["infra"]:
            line = f"{spec.name}: INFRASTRUCTURE ERROR on {spec.board}"
        elif meta["status"] == "skipped":
            line = f"{spec.name}: SKIPPED: {meta.get('skipped')}"
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

    def _job_error(self, job, message, results=(), meta=None):
        """The job ends as an error; results: what its partial log showed."""
        meta = meta or self._base_meta(job)
        meta["status"], meta["error"] = "error", message
        self._finish_job(job, list(results) + [{"name": f"{job.spec.suite}.job",
                                                "result": "error", "detail": message}], meta)

    def _internal_error(self, job, e):
        """The job's error boundary: an unexpected exception ends this job
        only (traceback in error.txt); its attempts stay recorded."""
        atomic_write(job.dir / "error.txt", self.server.redact(traceback.format_exc()))
        self._job_error(job, f"internal error: {type(e).__name__}: {self.server.redact(e)}")

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
                                                 ("kernel_version", kver),
                                                 ("run_id", self.run_id)) if v}
            board = boards[spec.board]
            job = LabJob(spec, board, new_job_dir(self.run_dir, spec.name))
            self.lab_jobs.append(job)
            try:
                definition, job.urls = server_job(renderer, spec, board, self.base,
                                                  self.manifest, queue_hours, provenance,
                                                  run_id=self.run_id)
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
        job.running_since = None
        job.record(self.server.uri)
        job.interval, job.next_poll = self.policy.poll_s, self.clock() + self.policy.poll_s
        self.say(f"{job.spec.name}: attempt {n} submitted as LAVA job {ids[0]}")
        return None

    def board_unusable(self, job):
        """Why LAVA would not run a job on the job's board now (device Bad,
        in Maintenance or Retired; its worker Offline, in Maintenance or
        Retired), or None. Unknown (a server error) counts as usable."""
        hostname = job.board["lava"]["hostname"]
        try:
            dev = self.server.device(hostname)
        except lavaserver.AuthError:
            raise
        except lavaserver.LavaError:
            return None
        if dev.get("health") in DEVICE_UNUSABLE:
            return f"device {hostname} is {dev['health']}"
        worker = dev.get("worker")
        if not worker:
            return None
        job.worker = worker
        try:
            w = self.server.worker(worker)
        except lavaserver.AuthError:
            raise
        except lavaserver.LavaError:
            return None
        if w.get("state") == "Offline":
            return f"worker {worker} of device {hostname} is Offline"
        if w.get("health") in WORKER_UNUSABLE:
            return f"worker {worker} of device {hostname} is in {w['health']}"
        return None

    def _skip(self, job, why):
        """The board cannot run the job: one skip result, the board noted."""
        spec = job.spec
        meta = self._base_meta(job)
        meta["status"], meta["error"] = "skipped", None
        meta["skipped"] = why
        skipped = self.meta.setdefault("skipped_boards", [])
        entry = next((e for e in skipped if e["board"] == spec.board), None)
        if entry is None:
            skipped.append({"board": spec.board, "why": why, "jobs": [spec.name]})
        else:
            entry["jobs"].append(spec.name)
        self._finish_job(job, [{"name": f"{spec.suite}.job", "result": "skip",
                                "board_skipped": True, "board": spec.board,
                                "detail": f"board {spec.board} skipped: {why}"}], meta)

    def submit_all(self):
        """Submit every prepared job that has no live attempt, unless its
        board cannot run it now (skipped, with the reason)."""
        for job in self.lab_jobs:
            if job.done or (job.current and job.current.get("job_id")
                            and job.current["state"] != "submitting"):
                continue
            try:
                why = self.board_unusable(job)
                if why:
                    self._skip(job, why)
                    continue
                err = self._submit(job)
            except (Terminated, KeyboardInterrupt, lavaserver.AuthError):
                raise
            except Exception as e:       # noqa: BLE001 (the job's error boundary)
                self._internal_error(job, e)
                continue
            if err:
                self._job_error(job, err)

    def _active(self):
        return [j for j in self.lab_jobs if not j.done and j.current
                and j.current.get("job_id")]

    def wait_all(self):
        """Poll every submitted job until all are finished or the deadline."""
        deadline = self.clock() + self.policy.deadline_s
        while True:
            active = self._active()
            if not active:
                return
            now = self.clock()
            if now >= deadline:
                self._salvage_all(active, lambda job: (
                    f"overall deadline of {self.policy.deadline_s:.0f} s passed "
                    f"(LAVA job {job.current['job_id']} canceled)"))
                return
            due = [j for j in active if j.next_poll <= now]
            if not due:
                self.sleep(max(0.0, min(min(j.next_poll for j in active), deadline) - now))
                continue
            for job in due:
                try:
                    self._poll(job)
                except (Terminated, KeyboardInterrupt, lavaserver.AuthError):
                    raise
                except Exception as e:   # noqa: BLE001 (the job's error boundary)
                    self._internal_error(job, e)

    def _backoff(self, job, e):
        self.say(f"{job.spec.name}: server not answering, will retry: {e}")
        job.interval = min(job.interval * 2, self.policy.poll_max_s)
        job.next_poll = self.clock() + job.interval

    def _poll(self, job):
        attempt = job.current
        try:
            show = self.server.show(attempt["job_id"])
        except lavaserver.TemporaryError as e:
            self._backoff(job, e)
            return
        except lavaserver.PermanentError as e:
            if isinstance(e, lavaserver.AuthError):
                raise
            self._salvage(job, f"LAVA job {attempt['job_id']}: {e}")
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
            return
        if show.get("state") == RUNNING and self._lost(job, show):
            return
        if show.get("state") == "Submitted":
            why = self.board_unusable(job)
            if why:                   # the board went Bad (or its worker away) meanwhile
                self._cancel(job)
                why = f"{why} while the job was queued (LAVA job {attempt['job_id']} canceled)"
                if len(job.attempts) > 1 and self._end_as_previous_infra(job, why):
                    return
                self._skip(job, why)
                return
        job.next_poll = self.clock() + job.interval

    def _worker_state(self, job, device):
        """(worker, its state) of the job's device; (None, None) if unknown."""
        try:
            if job.worker is None:
                job.worker = self.server.device(device).get("worker")
            if not job.worker:
                return None, None
            return job.worker, self.server.worker(job.worker).get("state")
        except lavaserver.AuthError:
            raise
        except lavaserver.LavaError:
            return job.worker, None

    def _lost(self, job, show):
        """A Running job LAVA will not finish by itself: its worker is
        Offline, or it is past its own timeout. Judged from the server's log
        (True) when that log holds lava-run's final result, or once the
        timeout has passed; else False (keep polling)."""
        attempt, now = job.current, self.clock()
        if job.running_since is None:
            job.running_since = now
        limit = job_timeout_s(job.definition or "")
        overdue = limit is not None and now - job.running_since > limit + self.policy.overdue_grace_s
        device = show.get("device") or attempt.get("device")
        worker, state = self._worker_state(job, device) if device else (None, None)
        offline = state == "Offline"
        if not (offline or overdue):
            return False
        why = (f"worker {worker} Offline while LAVA calls the job Running" if offline
               else f"LAVA still calls it Running {now - job.running_since:.0f} s after it "
                    f"started, past its timeout of {limit:.0f} s")
        if not overdue:
            try:
                _, text = self.server.logs(attempt["job_id"], 0)
            except lavaserver.AuthError:
                raise
            except lavaserver.LavaError:
                return False
            if lavalog.parse(text).verdict is None:
                if attempt.get("lost") != why:
                    attempt["lost"] = why
                    job.record(self.server.uri)
                    self.say(f"{job.spec.name}: {why}; no final result in its log yet, "
                             f"waiting until its own timeout")
                return False
        attempt["lost"] = why
        self.say(f"{job.spec.name}: {why}: judged from the server's log")
        self._cancel(job)             # frees the board once the worker is back
        self._finished(job, {**show, "state": lavaserver.FINISHED}, lost=why)
        return True

    def _fetch_log(self, job_id, refetch=None):
        """The whole log; refetched while LAVA's final verdict is missing.
        Temporary faults leave what arrived; nothing here raises but AuthError."""
        text, refetch = "", self.policy.log_refetch if refetch is None else refetch
        for i in range(refetch + 1):
            try:
                _, text = self.server.logs(job_id, 0)
            except lavaserver.AuthError:
                raise
            except lavaserver.LavaError:
                text = text or ""
            if lavalog.parse(text).verdict is not None:
                return text, i
            if i < refetch:
                self.sleep(self.policy.log_delay_s)
        return text, refetch

    def _judge(self, job, show, refetch=None):
        """Fetch and parse the current attempt into attempt-<n>/: (text,
        lava results text, results, console, log, verdict)."""
        spec, attempt = job.spec, job.current
        adir = job.dir / f"attempt-{attempt['n']}"
        adir.mkdir(exist_ok=True)
        show = json.loads(self.server.redact(json.dumps(show)))
        atomic_write_json(adir / "show.json", show)
        text, refetches = self._fetch_log(attempt["job_id"], refetch)
        text = self.server.redact(text)     # a board may echo anything: keep the token out
        atomic_write(adir / "lava.yaml", text)
        try:
            results_text = self.server.redact(self.server.results_yaml(attempt["job_id"]))
        except lavaserver.AuthError:
            raise
        except lavaserver.LavaError as e:
            results_text = ""
            attempt["results_error"] = str(e)
        atomic_write(adir / "lava-results.yaml", results_text)
        cmdline = yaml.safe_load(job.definition)["metadata"].get("bbml2lab.cmdline", "")
        results, con, log = evaluate(text, spec.suite, self._expectation(job, cmdline))
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
        started = kernel_started(con, log.console)
        attempt.update(error_type=verdict.get("error_type"), error_msg=verdict.get("error_msg"),
                       log_refetches=refetches, boot_marker=bool(con.boot),
                       kernel_started=started, device=show.get("device"))
        return show, text, results_text, results, con, log, verdict

    def _expectation(self, job, cmdline):
        """The mode check's expectation, by the allow-list publish recorded
        for the job's kernel config (manifest "allow_lists"; a manifest of
        an older publish has none: the inventory's class)."""
        lists = (self.manifest or {}).get("info", {}).get("allow_lists")
        record = lists.get(job.spec.config) if isinstance(lists, dict) else None
        return expectation(job.spec, job.board, cmdline, allow_list=record)

    def _finished(self, job, show, lost=None):
        spec, attempt = job.spec, job.current
        refetch = 0 if lost else None
        show, text, results_text, results, con, log, verdict = self._judge(job, show, refetch)
        if lost:                      # LAVA's health never came: take lava-run's verdict
            show["health"] = "Complete" if verdict.get("result") == "pass" else "Incomplete"
            show["lost"] = lost
        retry, why = should_resubmit(show, verdict, con, len(job.attempts),
                                     self.policy.max_resubmit, log.console)
        if retry:
            unusable = self.board_unusable(job)
            if unusable:
                retry, why = False, f"{why}; not resubmitted: {unusable}"
        attempt["retry"] = {"resubmit": retry, "why": why}
        job.record(self.server.uri)
        if retry:
            self.say(f"{spec.name}: attempt {attempt['n']} {why}; resubmitting")
            err = self._submit(job)
            if not err:
                return
            results.append({"name": f"{spec.suite}.lava.resubmit", "result": "error",
                            "detail": f"resubmission: {err}"})
        infra = infrastructure_error(show, verdict, attempt.get("kernel_started"))
        self._final(job, show, text, log, con, results, results_text, why, infra)

    def _end_as_previous_infra(self, job, why):
        """A resubmission still queued when its board became unusable (a
        health check LAVA ran after the infrastructure error set the device
        Bad): the job ends as the previous attempt's infrastructure error,
        not as a skip that would hide it. False if that attempt was not one
        (or its files are gone), so the caller skips instead."""
        canceled, prev = job.current, job.attempts[-2]
        adir = job.dir / f"attempt-{prev['n']}"
        try:
            show = json.loads((adir / "show.json").read_text())
            text = (adir / "lava.yaml").read_text()
            results_text = (adir / "lava-results.yaml").read_text()
        except (OSError, ValueError):
            return False
        cmdline = yaml.safe_load(job.definition)["metadata"].get("bbml2lab.cmdline", "")
        results, con, log = evaluate(text, job.spec.suite, self._expectation(job, cmdline))
        verdict = log.verdict or {}
        if not infrastructure_error(show, verdict, prev.get("kernel_started")):
            return False
        canceled["state"] = "canceled while queued"
        prev["retry"] = {**(prev.get("retry") or {}), "canceled": why}
        job.record(self.server.uri)
        self._final(job, show, text, log, con, results, results_text,
                    f"{(prev.get('retry') or {}).get('why')}; resubmission {why}", True,
                    attempt=prev)
        return True

    def _flaky(self, job):
        """Tests that both passed and failed within this night: across the
        attempts of the job in which a kernel ran."""
        seen = {}
        for a in job.attempts:
            if not a.get("kernel_started"):
                continue
            try:
                rs = json.loads((job.dir / f"attempt-{a['n']}" / "results.json").read_text())
            except (OSError, ValueError):
                continue
            for r in rs:
                seen.setdefault(r["name"], set()).add(r["result"])
        return sorted(n for n, outs in seen.items() if "pass" in outs and outs & {"fail", "error"})

    def _final(self, job, show, text, log, con, results, results_text, why, infra=False,
               attempt=None):
        spec, attempt = job.spec, attempt or job.current
        atomic_write(job.dir / "lava.yaml", text)
        atomic_write(job.dir / "console.log", "\n".join(log.console) + "\n")
        atomic_write_json(job.dir / "lava-results.json", lavalog.monitor_results(log))
        meta = self._base_meta(job)
        meta["lava"] = {"job_id": attempt["job_id"], "url": attempt.get("url"),
                        "state": show.get("state"), "health": show.get("health"),
                        "device": show.get("device"), "worker": job.worker,
                        "error_type": attempt.get("error_type"),
                        "error_msg": attempt.get("error_msg"), "retry": why,
                        "lost": show.get("lost"),
                        "log_records": log.records, "log_bad_lines": len(log.bad_lines),
                        "failure_comment": show.get("failure_comment")}
        meta["cmdline"] = yaml.safe_load(job.definition)["metadata"].get("bbml2lab.cmdline", "")
        meta["guest"] = con.boot
        meta["kernel"] = {"console_version": con.linux_version,
                          "started": attempt.get("kernel_started")}
        meta["linear_map"] = linmap.parse("\n".join(log.console))
        meta["flaky_tests"] = self._flaky(job)
        wall = round(self.clock() - job.started, 3) if job.started is not None else None
        meta["wall_s"] = wall
        if infra:
            # no kernel ran: none of the parsed results is a test result (they
            # stay in attempt-<n>/results.json); one infrastructure error
            n = len(job.attempts)
            msg = (f"infrastructure error on {spec.board} after {n} attempt"
                   f"{'s' if n > 1 else ''}, no kernel started: "
                   f"{attempt.get('error_msg') or show.get('health')}")
            meta["status"], meta["error"] = "infrastructure", msg
            meta["infrastructure"] = {"board": spec.board, "attempts": n,
                                      "error_msg": attempt.get("error_msg"),
                                      "device": show.get("device")}
            self._finish_job(job, [{"name": f"{spec.suite}.job", "result": "error",
                                    "infra": True, "board": spec.board, "detail": msg}],
                             meta, wall)
            return
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
        self._finish_job(job, results, meta, wall)

    def _cancel(self, job):
        attempt = job.current
        if attempt and attempt.get("job_id") and not job.done:
            try:
                self.server.cancel(attempt["job_id"])
                attempt["canceled"] = True
            except lavaserver.AuthError:
                raise
            except lavaserver.LavaError as e:
                attempt["cancel_error"] = str(e)
            job.record(self.server.uri)

    def _wait_finished(self, jobs):
        """Wait (at most policy.cancel_wait_s) until LAVA calls every job
        Finished: lava-run's last log records reach the server only then.
        A job whose worker is gone stays Canceling: its log is what it is."""
        end = self.clock() + self.policy.cancel_wait_s
        waiting = list(jobs)
        while waiting:
            still = []
            for job in waiting:
                try:
                    state = self.server.show(job.current["job_id"]).get("state")
                except lavaserver.AuthError:
                    raise
                except lavaserver.LavaError:
                    state = None
                if state != lavaserver.FINISHED:
                    still.append(job)
            waiting = still
            if not waiting or self.clock() >= end:
                return
            self.sleep(min(self.policy.poll_s, max(0.0, end - self.clock())))

    def _salvage_all(self, jobs, why):
        """Cancel every job, wait for LAVA to finish them, keep each one's
        partial log (why(job): its error text)."""
        for job in jobs:
            self._cancel(job)
        self._wait_finished([j for j in jobs if j.current.get("canceled")])
        for job in jobs:
            self._salvage(job, why(job), cancel=False)

    def _salvage(self, job, why, cancel=True):
        """Cancel the job on LAVA and end it as an error that keeps its
        partial log: console.log, lava.yaml and what the log shows."""
        if cancel:
            self._cancel(job)
            if job.current.get("canceled"):
                self._wait_finished([job])
        results, meta = [], self._base_meta(job)
        try:
            show = {"state": job.current.get("state"), "health": job.current.get("health"),
                    "device": job.current.get("device")}
            show, text, _, results, con, log, _ = self._judge(job, show, refetch=0)
            if log.records:
                atomic_write(job.dir / "lava.yaml", text)
                atomic_write(job.dir / "console.log", "\n".join(log.console) + "\n")
                meta["linear_map"] = linmap.parse("\n".join(log.console))
                meta["partial_log"] = {"records": log.records, "console_lines": len(log.console)}
            else:
                results = []
        except (Terminated, KeyboardInterrupt, lavaserver.AuthError):
            raise
        except Exception as e:           # noqa: BLE001 (the partial log is a bonus)
            meta["partial_log_error"] = f"{type(e).__name__}: {self.server.redact(e)}"
            results = []
        self._job_error(job, why, results, meta)   # what the cut log shows stays

    def cancel_all(self, why):
        """Cancel every live job (an explicit cancel, a refused token) and
        record each with its partial log."""
        live = [j for j in self.lab_jobs if not j.done and j.current and j.current.get("job_id")]
        self._salvage_all(live, lambda job: f"{why} (LAVA job {job.current['job_id']} canceled)")
        for job in self.lab_jobs:
            if not job.done and job.definition:
                self._job_error(job, f"{why} (never submitted)")

    def detach(self, why):
        """Record the run as detached and leave LAVA's jobs running: resume
        re-attaches them; `run.py cancel RUN` cancels them."""
        live = [j for j in self.lab_jobs if not j.done]
        self.meta["status"] = DETACHED
        self.meta.setdefault("detached", []).append(
            {"at": metadata.utcnow(), "why": why,
             "live": [j.spec.name for j in live]})
        self._write()
        self.say(f"detached ({why}): {len(live)} job(s) not finished, nothing canceled; "
                 f"`lab/run.py resume {self.run_dir}` re-attaches, "
                 f"`lab/run.py cancel {self.run_dir}` cancels")

    def go(self):
        """Submit and wait. SIGTERM or Ctrl-C detach (nothing canceled); a
        refused token cancels the rest; anything unexpected is recorded and
        the run still ends with a final status."""
        try:
            self.submit_all()
            self.wait_all()
        except Terminated:
            self.detach("terminated (SIGTERM)")
        except KeyboardInterrupt:
            self.detach("interrupted")
        except lavaserver.AuthError as e:
            try:
                self.cancel_all("server refused the token")
            except lavaserver.LavaError:   # it refuses the cancel too: record, go on
                for job in self.lab_jobs:
                    if not job.done and job.definition:
                        self._job_error(job, f"server refused the token: {e} (not canceled)")
            self.setup_error(str(e))
        except Exception as e:           # noqa: BLE001 (the run's error boundary)
            atomic_write(self.run_dir / "error.txt", self.server.redact(traceback.format_exc()))
            self.setup_error(f"internal error: {type(e).__name__}: {self.server.redact(e)}")
            self.detach("internal error")
            self.meta["status"] = "error"

    def exit_code(self):
        """0 pass, 1 test failures, 2 errors of the runner, setup or a job
        (or a detached run), 3 infrastructure errors only (INFRA_EXIT)."""
        if self.meta["status"] in ("error", DETACHED):
            return 2
        ours = [r for r in self.results if not r.get("infra")]
        c = report.counts(ours)
        if c["error"]:
            return 2
        if c["fail"]:
            return 1
        return INFRA_EXIT if len(ours) != len(self.results) else 0


def load_run(run_dir):
    """(lab.json, metadata.json, results.json) of a lab run, or LabError."""
    run_dir = Path(run_dir)
    try:
        state = json.loads((run_dir / RUN_STATE).read_text())
        old = json.loads((run_dir / "metadata.json").read_text())
        results = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError) as e:
        raise LabError(f"{run_dir}: not a lab run that can be resumed ({e})") from None
    return state, old, results


def adopt_orphan(session, job):
    """The runner stopped while submitting this job's attempt: LAVA may have
    created it. A recent server job with the job's name (which ends with the
    run id) that no attempt claims is adopted; otherwise the attempt is
    recorded as unknown and the job submitted again."""
    attempt = job.current
    try:
        name = (yaml.safe_load(job.definition or "") or {}).get("job_name")
        claimed = {str(a.get("job_id")) for a in job.attempts if a.get("job_id")}
        found = [d for d in session.server.recent_jobs()
                 if name and d.get("description") == name and str(d.get("id")) not in claimed]
    except (lavaserver.LavaError, yaml.YAMLError, AttributeError):
        found = []
    if found:
        orphan = str(min(found, key=lambda d: int(d.get("id", 0)))["id"])
        attempt.update(job_id=orphan, state="Submitted", adopted=True,
                       url=session.server.job_url(orphan))
        job.record(session.server.uri)
        session.say(f"{job.spec.name}: LAVA job {orphan} (named for this run, submitted when "
                    f"the runner stopped) adopted, not submitted again")
        return orphan
    attempt["state"] = "unknown: the runner stopped while submitting"
    attempt["job_id"] = None
    return None


def resume(run_dir, server_for, repo, argv, out=None, policy=None, sleep=time.sleep,
           clock=time.monotonic, verb="resume"):
    """Re-open a lab run after the runner was killed or detached: finished
    jobs stay as recorded, submitted ones are re-attached by job id, the
    rest submitted. server_for(uri) -> lavaserver.Server."""
    run_dir = Path(run_dir)
    state, old, results = load_run(run_dir)
    server = server_for(state["server"])
    s = LabSession(None, None, repo, argv, server, state["artifact_url"], plan=state["plan"],
                   out=out, policy=policy, run_dir=run_dir, sleep=sleep, clock=clock)
    s.meta.update(run_id=old["run_id"], started=old["started"],
                  jobs_planned=old.get("jobs_planned"),
                  resumed=old.get("resumed", []) + [{"at": s.meta["started"], "argv": argv,
                                                     "was": old.get("status")}])
    for key in ("argv", "detached", "nightly", "notify", "health_checks", "skipped_boards"):
        if key in old:
            s.meta[key] = old[key]
    s.manifest = state["manifest"]
    done = {j["name"] for j in old.get("jobs", [])}
    s.jobs = list(old.get("jobs", []))
    # finished jobs' results and the run's own errors (setup) stay
    s.results = [r for r in results if r["job"] in done or r["job"] == "setup"]
    if any(r["job"] == "setup" for r in s.results):
        s.meta["error"] = old.get("error")
    for entry in state["jobs"]:
        job = LabJob(JobSpec(**entry["spec"]), entry["board"], run_dir / "jobs" / entry["dir"])
        s.lab_jobs.append(job)
        try:
            lab = json.loads((job.dir / "lab.json").read_text())
        except (OSError, ValueError):
            lab = {}
        job.urls = lab.get("urls", {})
        job.attempts = lab.get("attempts", [])
        if entry["name"] in done:
            job.done = True
            continue
        if (job.dir / "job.yaml").is_file():
            job.definition = (job.dir / "job.yaml").read_text()
        if job.current and job.current["state"] == "submitting":
            adopt_orphan(s, job)
        job.interval, job.next_poll = s.policy.poll_s, 0.0
        if not job.definition:
            s._job_error(job, "no validated definition recorded before the runner stopped")
    s._write()
    live = sum(1 for j in s.lab_jobs if not j.done and j.current and j.current.get("job_id"))
    s.say(f"{verb} {s.run_id}: {len(done)} job(s) already finished, {live} re-attached")
    return s
