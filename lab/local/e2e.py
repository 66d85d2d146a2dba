#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""End to end through the local lava-server (lab/local/up.sh must have run).

  e2e.py check --junit OUT.xml [--merge UNIT.xml] [--deadline MIN]
      make check's short e2e: publishes the qemu artifacts, arms one injected
      power fault (vboard: the first power-on of the lab-infra-fault job),
      runs `lab/run.py lab --plan lab-check` (at most four server jobs) under
      an overall deadline, then checks the outcomes the plan means and
      writes them as JUnit: the passing job passed on its first attempt, the
      crash job failed with the panic and was not retried, the fault was
      retried once and then passed, every job ran on its board, the run
      directory has the local shape, artifacts were pinned by sha256.
      --merge appends those test cases to an existing JUnit (the unit tests'),
      so `make check`'s last line counts them.
  e2e.py nightly [--nights 2] [--deadline MIN] [--no-faults]
      make lab-e2e: `lab/run.py nightly` on the virtual boards, twice (the
      second night compares with the first), with the same shape checks.
      The nightly installs LAVA's health checks (LAB_HEALTH_CHECKS); both
      virtual boards start Unknown, so each passes its health check before
      the first night. Into the second night (issue 22): every power-on of
      vboard-none-01 fails (one infrastructure error of that board, LAVA's
      health check fails and sets it Bad, its other jobs are skipped as
      Bad: exit 3, no test failure, nothing flaky); lava-worker is
      SIGKILLed once a vboard-uniform-01 kselftest job's first result is in
      the server's log and started again (alone) only after the runner has
      judged that job from the server's log (LAVA keeps it Running; the
      result must be in the night); qemu-late-01 is in Maintenance (its job
      skipped with the reason, the others run). Then one lab run of a guest
      that resets right after the kernel's banner (not retried, a test
      failure). The first night is SIGTERMed once a job has finished and
      another runs on LAVA, then resumed: detached, nothing canceled, the
      live job re-attached, the finished results kept. check switches the
      health checks off.

Prints one line per check and the wall times; exit 0 if all checks pass.
"""
import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PY = "/usr/bin/python3"
RUN_PY = str(REPO / "lab/run.py")
JOB_FILES = ("results.json", "junit.xml", "metadata.json", "console.log", "lab.json", "job.yaml")


def lab_env(path=REPO / "build/lab/env"):
    """build/lab/env as a dict (written by lab/local/up.sh)."""
    env = {}
    try:
        for line in Path(path).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
    except OSError:
        return None
    return env


class Checks:
    """Named pass/fail checks, printed as they happen, written as JUnit."""

    def __init__(self, suite):
        self.suite = suite
        self.cases = []

    def check(self, name, ok, detail=""):
        self.cases.append((name, bool(ok), detail))
        print(f"e2e: {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""),
              flush=True)
        return ok

    def skip(self, name, reason):
        self.cases.append((name, None, reason))
        print(f"e2e: skip {name}: {reason}", flush=True)

    def element(self):
        fails = sum(1 for c in self.cases if c[1] is False)
        skips = sum(1 for c in self.cases if c[1] is None)
        ts = ET.Element("testsuite", name=self.suite, tests=str(len(self.cases)),
                        failures=str(fails), skipped=str(skips))
        for name, ok, detail in self.cases:
            tc = ET.SubElement(ts, "testcase", classname=self.suite, name=name)
            if ok is False:
                ET.SubElement(tc, "failure", message=detail[:500])
            elif ok is None:
                ET.SubElement(tc, "skipped", message=detail)
        return ts

    def write(self, out, merge=None):
        ts = self.element()
        root = None
        if merge and Path(merge).is_file():
            try:
                root = ET.parse(merge).getroot()
            except ET.ParseError:
                root = None
        if root is None:
            root = ET.Element("testsuites")
        elif root.tag == "testsuite":
            outer = ET.Element("testsuites")
            outer.append(root)
            root = outer
        root.append(ts)
        tmp = Path(str(out) + ".tmp")
        tmp.write_text(ET.tostring(root, encoding="unicode"))
        os.replace(tmp, out)

    @property
    def ok(self):
        return all(c[1] is not False for c in self.cases)


def run_lab(argv, deadline_min):
    """Run lab/run.py under a hard deadline; (rc, run_dir or None, wall_s, output)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([PY, RUN_PY] + argv, capture_output=True, text=True,
                           timeout=deadline_min * 60, stdin=subprocess.DEVNULL)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
    wall = time.monotonic() - t0
    sys.stdout.write(out)
    run_dir = None
    for line in out.splitlines():
        if line.startswith("results: "):
            run_dir = Path(line[len("results: "):].strip())
    return rc, run_dir, wall, out


def job_dirs(run_dir, prefix):
    return sorted(p for p in (run_dir / "jobs").glob(f"{prefix}-*") if p.is_dir())


def load(path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def check_shape(c, run_dir, manifest):
    """The run directory is shaped like a local run, plus lab.json and attempts."""
    for f in ("metadata.json", "results.json", "junit.xml", "summary.md"):
        c.check(f"run_has_{f.replace('.', '_')}", (run_dir / f).is_file(), str(run_dir / f))
    for job in sorted((run_dir / "jobs").iterdir()):
        if (load(job / "metadata.json", {}) or {}).get("status") == "skipped":
            # a board LAVA would not run it on: nothing was submitted
            missing = [f for f in ("results.json", "junit.xml", "metadata.json")
                       if not (job / f).is_file()]
            c.check(f"{job.name}.shape", not missing, f"skipped; missing {missing}")
            continue
        missing = [f for f in JOB_FILES if not (job / f).is_file()]
        attempts = sorted(job.glob("attempt-*"))
        c.check(f"{job.name}.shape", not missing and attempts,
                f"missing {missing}" if missing else f"{len(attempts)} attempt dir(s)")
        ok, detail = pinned_artifacts(job / "job.yaml", manifest)
        c.check(f"{job.name}.artifacts_pinned", ok, detail)


def deploy_images(node):
    """Every {url, sha256sum} image dict under a job's deploy actions."""
    if isinstance(node, dict):
        if "url" in node:
            yield node
        for v in node.values():
            yield from deploy_images(v)
    elif isinstance(node, list):
        for v in node:
            yield from deploy_images(v)


def pinned_artifacts(job_yaml, manifest):
    """(ok, detail): each artifact the job deploys is a published file, and
    the job pins that file's sha256 (whatever the board's kind deploys: a
    dtb on u-boot boards, el2shim as the kernel on el2shim boards)."""
    try:
        job = yaml.safe_load(Path(job_yaml).read_text())
    except (OSError, yaml.YAMLError) as e:
        return False, f"job.yaml: {e}"
    deploys = [a["deploy"] for a in (job or {}).get("actions", []) if "deploy" in a]
    images = list(deploy_images(deploys))
    bad = []
    for img in images:
        path = next((k for k in manifest if "/" in k and img["url"].endswith("/" + k)), None)
        if path is None:
            bad.append(f"{img['url']} not in the manifest")
        elif img.get("sha256sum") != manifest[path]["sha256"]:
            bad.append(f"{path}: sha256 {img.get('sha256sum')!r} is not the published one")
    if len(images) < 2:
        bad.append(f"{len(images)} deployed image(s), expected kernel and ramdisk at least")
    return not bad, "; ".join(bad) or f"{len(images)} images pinned"


def attempts_of(job):
    return (load(job / "lab.json", {}) or {}).get("attempts", [])


def results_of(job):
    return {r["name"]: r for r in load(job / "results.json", []) or []}


def cmd_check(args, env):
    c = Checks("lab-e2e")
    t0 = time.monotonic()
    board = "vboard-uniform-01"
    pub = subprocess.run([PY, RUN_PY, "publish", "--config", "qemu"], capture_output=True,
                         text=True)
    if not c.check("publish", pub.returncode == 0, (pub.stdout + pub.stderr).strip()):
        return c
    manifest = load(Path(env["LAB_ARTIFACT_DIR"]) / "manifest.json", {})
    # LAVA's health checks off here (decisions-2026-12: the short e2e's
    # budget); lab-e2e and the nightly switch them on
    ok, out = health_checks("off", env["LAB_ARTIFACT_URL"])
    c.check("health_checks_off", ok and out.startswith("off: 1 health check(s): bbml2-qemu-uboot"),
            out)
    # a job an interrupted run left (a health check cut by lab-down ends
    # when the worker is back, and a failed one sets the board Bad): wait
    # for the board to be idle, then it is Good for this run (the admin's tool)
    idle, health = wait_idle(lava_server(env), board, minutes=5)
    if not (idle and health == "Good"):
        c.check(f"{board}.idle_and_good", idle and set_health(board, "GOOD")[0],
                f"idle {idle}, health {health} -> Good")
    fault = Path(env["LAB_FAULT_DIR"]) / f"{board}.power-on"
    # the first power-on of the lab-infra-fault job fails, whatever else
    # the board runs meanwhile (vboard reads the job name from lava-run)
    fault.write_text("lab-infra-fault 1\n")
    rc, run_dir, wall, out = run_lab(
        ["lab", "--plan", "lab-check", "--server", env["LAVA_URI"],
         "--artifact-url", env["LAB_ARTIFACT_URL"], "--results", str(args.results),
         "--tag", "lab-check", "--max-resubmit", "1", "--poll", "2", "--queue-hours", "1",
         "--deadline", str(max(1, args.deadline - 1))], args.deadline)
    left = fault.read_text().strip() if fault.exists() else None
    fault.unlink(missing_ok=True)
    c.check("lab_run_within_deadline", rc is not None, f"{wall:.0f} s of {args.deadline} min")
    if rc is None or not run_dir or not run_dir.is_dir():
        c.check("lab_run_results", False, "no results directory")
        return c
    server_jobs = evaluate_check(c, run_dir, rc, left, manifest, board)
    total = time.monotonic() - t0
    print(f"e2e: lab-check wall {wall:.1f} s ({server_jobs} server jobs, "
          f"{wall / max(server_jobs, 1):.1f} s per job), total {total:.1f} s", flush=True)
    return c


def evaluate_check(c, run_dir, rc, left, manifest, board):
    """The lab-check plan's outcomes in run_dir; returns the server job count."""
    c.check("lab_run_exit_1", rc == 1, f"exit {rc} (the crash job is a failure)")
    c.check("fault_consumed", left is None, f"fault file left: {left!r}")
    smoke, crash, faulty = (job_dirs(run_dir, p) for p in ("lab-smoke", "lab-crash",
                                                           "lab-infra-fault"))
    server_jobs = 0
    for name, jobs in (("smoke", smoke), ("crash", crash), ("infra_fault", faulty)):
        if not c.check(f"{name}.job_present", len(jobs) == 1, f"{[j.name for j in jobs]}"):
            continue
        att = attempts_of(jobs[0])
        server_jobs += len(att)
        devs = {a.get("device") for a in att}
        c.check(f"{name}.ran_on_{board}", devs == {board}, f"devices {sorted(map(str, devs))}")
    if smoke:
        att, res = attempts_of(smoke[0]), results_of(smoke[0])
        meta = load(smoke[0] / "metadata.json", {})
        fails = [n for n, r in res.items() if r["result"] in ("fail", "error")]
        c.check("smoke.passed_first_attempt", len(att) == 1 and res and not fails,
                f"{len(att)} attempt(s), failures {fails}")
        c.check("smoke.mode_matches_board", res.get("smoke.kernel.mode_matches_board", {})
                .get("result") == "pass", str(res.get("smoke.kernel.mode_matches_board")))
        c.check("smoke.status_complete", meta.get("status") == "complete", str(meta.get("status")))
    if crash:
        att, res = attempts_of(crash[0]), results_of(crash[0])
        splat = res.get("lab-cut.kernel.no_splat", {})
        c.check("crash.not_retried", len(att) == 1, f"{len(att)} attempt(s)")
        c.check("crash.reported_as_failure", splat.get("result") == "fail"
                and "Kernel panic" in (splat.get("detail") or ""), str(splat)[:200])
        c.check("crash.lava_said_infrastructure", any(
            a.get("error_type") == "Infrastructure" for a in att), str(att)[:200])
    if faulty:
        att, res = attempts_of(faulty[0]), results_of(faulty[0])
        fails = [n for n, r in res.items() if r["result"] in ("fail", "error")]
        first = att[0] if att else {}
        c.check("infra_fault.retried_once", len(att) == 2, f"{len(att)} attempt(s)")
        c.check("infra_fault.first_attempt_infra_before_boot",
                first.get("error_type") == "Infrastructure" and not first.get("boot_marker")
                and "reset" in (first.get("error_msg") or ""), str(first)[:300])
        c.check("infra_fault.second_attempt_passed", len(att) == 2 and not fails,
                f"failures {fails}")
    c.check("at_most_four_server_jobs", server_jobs <= 4, f"{server_jobs} server job(s)")
    check_shape(c, run_dir, manifest)
    return server_jobs


POWER_FAULT_BOARD = "vboard-none-01"
KILL_BOARD = "vboard-uniform-01"
MAINT_BOARD = "qemu-late-01"          # put in Maintenance for the second night
VBOARDS = (KILL_BOARD, POWER_FAULT_BOARD)   # the lab's device type with a health check


def lava_server(env):
    """bbml2lab's client for the local lab (credentials as the runner reads them)."""
    sys.path.insert(0, str(REPO / "lab"))
    from bbml2lab import lavaserver
    return lavaserver.Server(lavaserver.credentials(env["LAVA_URI"]), retries=2,
                             backoff=(1.0, 4.0))


def judged(results_root, job_id):
    """The job directory whose attempt had LAVA job job_id, once the runner
    finished it (metadata.json written), else None."""
    for lab in Path(results_root).glob("*-nightly-*/jobs/*/lab.json"):
        data = load(lab, {}) or {}
        if data.get("done") and any(str(a.get("job_id")) == str(job_id)
                                    for a in data.get("attempts", [])):
            return lab.parent
    return None


def first_test_result(text):
    """The first test result (a monitor's, not LAVA's own actions) in a
    server job log, and whether lava-run's final result is there too."""
    from bbml2lab import lavalog
    log = lavalog.parse(text)
    results = lavalog.monitor_results(log)
    return (results[0] if results else None), log.verdict is not None


class WorkerKiller(threading.Thread):
    """Waits for a kselftest job Running on `board`, then for its first test
    result in the server's log (lava-run's own upload): the job is provably
    mid-test. SIGKILLs lava-worker (its pid from up.sh) at once, records
    whether the log already held lava-run's final result (it must not),
    waits until the runner has judged that job (or `wait_s`), then starts
    the worker alone again (`up.sh worker`: device healths stay as the night
    left them). No sleeps: every wait is on an observable event, polled."""

    def __init__(self, env, results_root, board=KILL_BOARD, suite="kselftest", wait_s=1500,
                 poll_s=1.0, restart=(str(REPO / "lab/local/up.sh"), "worker")):
        super().__init__(daemon=True)
        self.env, self.root, self.board, self.suite = env, results_root, board, suite
        self.wait_s, self.poll_s, self.restart = wait_s, poll_s, list(restart)
        self.stop = threading.Event()
        self.record = {}

    def run(self):
        try:
            self._run()
        except Exception as e:          # noqa: BLE001 (reported as a check)
            import traceback
            self.record["error"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()

    def _job_to_kill(self, server):
        """The board's current job, once it is a Running job of our suite."""
        job = server.device(self.board).get("current_job")
        if not job:
            return None
        show = server.show(job)
        if show.get("state") == "Running" and f"-{self.suite}-" in str(show.get("description")):
            return str(job)
        return None

    def _run(self):
        server = lava_server(self.env)
        job = first = None
        while not self.stop.wait(self.poll_s):
            job = job or self._job_to_kill(server)
            if job is None:
                continue
            _, text = server.logs(job, 0)
            first, final = first_test_result(text)
            if final:                    # it ended before a result was seen: next one
                self.record.setdefault("missed", []).append(job)
                job = None
            elif first:
                break
        if job is None or first is None:
            return
        pid = int((Path(self.env["LAB_PID_DIR"]) / "worker.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, text = server.logs(job, 0)
        _, final = first_test_result(text)
        self.record.update(job_id=job, worker_pid=pid, killed=time.time(),
                           first_result=first.get("case"), final_at_kill=final)
        print(f"e2e: lava-worker (pid {pid}) SIGKILLed while LAVA job {job} runs on "
              f"{self.board} (its first result {first.get('case')!r} in the server's log, "
              f"final result {'already' if final else 'not yet'} there)", flush=True)
        while True:                      # also once after the night ended (stop)
            done = judged(self.root, job)
            if done:
                self.record.update(judged_s=round(time.monotonic() - t0, 1), job_dir=str(done))
                break
            if time.monotonic() - t0 >= self.wait_s or self.stop.wait(2):
                break
        up = subprocess.run(self.restart, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
        self.record.update(restarted=up.returncode == 0)
        print(f"e2e: lava-worker restarted (up.sh worker exit {up.returncode}) "
              f"{time.monotonic() - t0:.0f} s after the kill", flush=True)


def meta_of(job):
    return load(job / "metadata.json", {}) or {}


def check_faulted_night(c, run_dir, rc, killer, hc_jobs=()):
    """The second night's injected faults, handled as issue 22 asks.
    hc_jobs: LAVA's health-check jobs of the night (scheduler.jobs.list)."""
    cmp = load(run_dir / "compare.json", {}) or {}
    jobs = {j.name: j for j in (run_dir / "jobs").iterdir()}
    power = {n: j for n, j in jobs.items()
             if meta_of(j).get("spec", {}).get("board") == POWER_FAULT_BOARD}
    infra = cmp.get("infrastructure") or []
    infra_jobs = {i["job"] for i in infra}
    bad = {n for n, j in power.items() if meta_of(j).get("status") == "skipped"
           and f"{POWER_FAULT_BOARD} is Bad" in str(meta_of(j).get("skipped"))}
    c.check("night2.power.infrastructure_errors_of_its_board_only",
            infra and {i.get("board") for i in infra} == {POWER_FAULT_BOARD}
            and infra_jobs <= set(power),
            f"{len(power)} job(s) on {POWER_FAULT_BOARD}, infrastructure: "
            f"{[(i.get('board'), i['job']) for i in infra]}")
    c.check("night2.power.each_job_an_infrastructure_error_or_skipped_as_bad",
            power and set(power) == infra_jobs | bad,
            f"infrastructure {sorted(infra_jobs)}, skipped (board Bad) {sorted(bad)}")
    failed_hc = [j["id"] for j in hc_jobs if j.get("actual_device") == POWER_FAULT_BOARD
                 and j.get("health") == "Incomplete"]
    c.check("night2.power.lavas_health_check_failed_on_the_board", failed_hc,
            f"failed health-check job(s) {failed_hc} of {[j['id'] for j in hc_jobs]}")
    bad_results = [f"{n}: {r['name']}" for n, j in power.items()
                   for r in load(j / "results.json", []) or []
                   if r["result"] in ("fail", "error") and not r.get("infra")]
    c.check("night2.power.no_test_failure", not bad_results, "; ".join(bad_results[:5]))
    c.check("night2.nothing_flaky", cmp.get("flaky") == [], str(cmp.get("flaky"))[:300])
    c.check("night2.no_new_failures", cmp.get("new_failures") == [],
            str(cmp.get("new_failures"))[:300])
    c.check("night2.exit_3_infrastructure", rc == 3, f"exit {rc}")
    maint = {n: j for n, j in jobs.items()
             if meta_of(j).get("spec", {}).get("board") == MAINT_BOARD}
    c.check("night2.maintenance.board_skipped_with_its_reason",
            maint and all(meta_of(j).get("status") == "skipped"
                          and "Maintenance" in str(meta_of(j).get("skipped"))
                          for j in maint.values()),
            "; ".join(f"{n}: {meta_of(j).get('status')} {meta_of(j).get('skipped')}"
                      for n, j in maint.items()))
    text = (run_dir / "summary.txt").read_text() if (run_dir / "summary.txt").is_file() else ""
    c.check("night2.summary_names_the_skipped_boards_and_infrastructure_errors",
            f"  {MAINT_BOARD}: " in text and f"  {POWER_FAULT_BOARD}: " in text
            and "Maintenance" in text, text[:600])
    others = [n for n, j in jobs.items() if n not in power and n not in maint
              and meta_of(j).get("verdict") == "pass"]
    c.check("night2.the_other_boards_ran", len(others) >= 2, f"{len(others)} job(s) passed")
    rec = killer.record if killer else {}
    c.check("night2.worker_killed_mid_job", rec.get("job_id") is not None
            and rec.get("first_result") and rec.get("final_at_kill") is False
            and not rec.get("error"), str(rec))
    if rec.get("job_id"):
        job_dir = judged(run_dir.parent, rec["job_id"])
        meta = meta_of(Path(job_dir)) if job_dir else {}
        lost = (meta.get("lava") or {}).get("lost") or ""
        res = results_of(Path(job_dir)) if job_dir else {}
        c.check("night2.worker_kill.result_judged_from_the_log",
                "Offline" in lost and meta.get("verdict") in ("pass", "fail")
                and len(res) > 5, f"{job_dir}: verdict {meta.get('verdict')}, lost {lost!r}, "
                f"{len(res)} results, judged {rec.get('judged_s')} s after the kill")
        c.check("night2.worker_restarted", rec.get("restarted") is True, str(rec))


def nightly_runs(root):
    return {d for d in Path(root).glob("*-nightly-*") if d.is_dir() and not d.is_symlink()}


def sigterm_point(run_dir):
    """True once the run has a finished job and another one LAVA runs: the
    moment to SIGTERM it (observable in the runner's lab.json files)."""
    labs = [load(f, {}) or {} for f in (run_dir / "jobs").glob("*/lab.json")]
    return any(d.get("done") for d in labs) and any(
        not d.get("done") and (d.get("attempts") or [{}])[-1].get("state") == "Running"
        for d in labs)


def run_nightly_sigterm(argv, deadline_min, root, poll_s=1.0):
    """The nightly, SIGTERMed once one job is finished and another runs on
    LAVA (as systemctl stop would), then `run.py resume`. Returns (record,
    run_dir, output); record has the exit codes and what the run held."""
    before = nightly_runs(root)
    t0 = time.monotonic()
    p = subprocess.Popen([PY, RUN_PY] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, stdin=subprocess.DEVNULL)
    out = []
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
    reader.start()
    rec, run_dir = {}, None
    while p.poll() is None and time.monotonic() - t0 < deadline_min * 60:
        if run_dir is None:
            new = nightly_runs(root) - before
            run_dir = next(iter(new)) if len(new) == 1 else None
        if run_dir is not None and sigterm_point(run_dir):
            done = {f.parent.name: (f.parent / "results.json").read_bytes()
                    for f in (run_dir / "jobs").glob("*/lab.json")
                    if (load(f, {}) or {}).get("done") and (f.parent / "results.json").is_file()}
            p.send_signal(signal.SIGTERM)
            rec.update(sigterm_s=round(time.monotonic() - t0, 1), done_before=done)
            break
        time.sleep(poll_s)       # polling interval; the order comes from the files
    try:
        rec["rc"] = p.wait(timeout=300)
    except subprocess.TimeoutExpired:
        p.kill()
        rec["rc"] = None
    reader.join(timeout=30)
    text = "".join(out)
    sys.stdout.write(text)
    if run_dir is None or "sigterm_s" not in rec:
        return rec, run_dir, text
    meta = load(run_dir / "metadata.json", {}) or {}
    rec["status_after_sigterm"] = meta.get("status")
    rec["canceled"] = [f.parent.name for f in (run_dir / "jobs").glob("*/lab.json")
                       if any(a.get("canceled") for a in (load(f, {}) or {}).get("attempts", []))]
    rc, _, wall, text2 = run_lab(["resume", str(run_dir), "--poll", "2"], deadline_min)
    rec.update(resume_rc=rc, resume_wall_s=round(wall, 1))
    line = next((ln for ln in text2.splitlines() if "re-attached" in ln), "")
    rec["resume_line"] = line.strip()
    return rec, run_dir, text + text2


def check_sigterm_resume(c, run_dir, rec):
    """SIGTERM mid-night, then resume (issue 22): detached, nothing
    canceled, the live jobs re-attached (none resubmitted), every result
    of the jobs finished before kept, the night complete."""
    c.check("night1.sigterm.detached_nothing_canceled", rec.get("sigterm_s") is not None
            and rec.get("rc") == 2 and rec.get("status_after_sigterm") == "detached"
            and not rec.get("canceled"),
            f"SIGTERM at {rec.get('sigterm_s')} s, exit {rec.get('rc')}, status "
            f"{rec.get('status_after_sigterm')}, canceled {rec.get('canceled')}")
    import re
    m = re.search(r"(\d+) job\(s\) already finished, (\d+) re-attached",
                  rec.get("resume_line", ""))
    c.check("night1.resume.reattached", m and int(m.group(2)) >= 1 and rec.get("resume_rc") == 0,
            f"exit {rec.get('resume_rc')}: {rec.get('resume_line')!r}")
    if not run_dir:
        return
    jobs = sorted((run_dir / "jobs").iterdir())
    again = [j.name for j in jobs if len(attempts_of(j)) != 1]
    c.check("night1.resume.nothing_resubmitted", not again and jobs, f"{again}")
    kept = rec.get("done_before") or {}
    changed = [n for n, data in kept.items()
               if (run_dir / "jobs" / n / "results.json").read_bytes() != data]
    c.check("night1.resume.results_of_finished_jobs_kept", kept and not changed,
            f"{len(kept)} finished before the SIGTERM, changed {changed}")


def check_reset_after_banner(c, run_dir, rc):
    """A guest that resets right after the kernel's banner (rdinit is
    busybox reboot -f; QEMU's -no-reboot ends the board, LAVA says
    Connection closed, an infrastructure error): not retried, a test
    failure of the run, not an infrastructure error."""
    jobs = job_dirs(run_dir, "lab-smoke") if run_dir and run_dir.is_dir() else []
    if not c.check("reset.job_present", len(jobs) == 1, str(jobs)):
        return
    att, res, meta = attempts_of(jobs[0]), results_of(jobs[0]), meta_of(jobs[0])
    first = att[0] if att else {}
    c.check("reset.kernel_banner_seen_not_retried", len(att) == 1
            and "Linux version" in str(first.get("kernel_started")),
            f"{len(att)} attempt(s); kernel_started {first.get('kernel_started')!r}; "
            f"LAVA: {first.get('error_type')}: {first.get('error_msg')}")
    fails = [n for n, r in res.items() if r["result"] in ("fail", "error") and not r.get("infra")]
    c.check("reset.a_test_failure_not_infrastructure", rc == 1 and fails
            and meta.get("status") != "infrastructure",
            f"exit {rc}, status {meta.get('status')}, failures {fails[:5]}")


def runner_refused_admin(server):
    """(ok, detail): the runner's token is refused a change that any
    superuser (or holder of change_devicetype) may make: an update of the
    lab's device type that changes nothing (review L5)."""
    sys.path.insert(0, str(REPO / "lab"))
    from bbml2lab import lavaserver
    try:
        server.call("scheduler.device_types.update", "bbml2-qemu-uboot", None, None, None,
                    None, None, None, retries=1)
    except lavaserver.AuthError as e:
        return e.code == 403, f"{server.creds.username}: {e}"
    except lavaserver.LavaError as e:
        return False, f"{server.creds.username}: {e}"
    return False, f"{server.creds.username} may change device types"


def wait_idle(server, board, minutes=10, poll_s=2.0, settled=False):
    """Wait (polled, bounded) until LAVA runs nothing on the board: after an
    infrastructure error it runs the board's health check, which must not
    be cut by lab-down (it then ends Incomplete when the lab comes back and
    sets the board Bad: seen once, make lab-check after lab-e2e found
    vboard-uniform-01 Bad). settled: also until LAVA has judged the board
    (health no longer Unknown): right after the failed job the board is
    Idle and Unknown until the scheduler's next pass starts the health
    check (seen in lab-e2e at 7b11942). Only where health checks are on:
    otherwise an Unknown board stays so. (idle, the device's health)."""
    end = time.monotonic() + minutes * 60
    while True:
        dev = server.device(board)
        if (not dev.get("current_job") and dev.get("state") == "Idle"
                and not (settled and dev.get("health") == "Unknown")):
            return True, dev.get("health")
        if time.monotonic() >= end:
            return False, f"{dev.get('state')}, job {dev.get('current_job')}"
        time.sleep(poll_s)      # polling interval; the order comes from LAVA's state


def newest_job(server):
    """The newest LAVA job id on the server (0 if none)."""
    return max((int(d["id"]) for d in server.recent_jobs(1) if str(d.get("id")).isdigit()),
               default=0)


def health_check_jobs(server, since_id):
    """LAVA's health-check jobs (ours, by name) newer than since_id, with
    their device and health (scheduler.jobs.list, verbose)."""
    data = server.call("scheduler.jobs.list", None, None, 0, 100, 0, True)
    return [d for d in data or [] if str(d.get("id")).isdigit() and int(d["id"]) > since_id
            and str(d.get("description", "")).startswith("bbml2-lab health-check ")]


def set_health(host, health):
    """(ok, output): lava-server manage devices update --health (root: the
    lab admin's own tool; the runner's user may not)."""
    p = subprocess.run(["lava-server", "manage", "devices", "update", "--health", health, host],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180)
    return p.returncode == 0, (p.stdout + p.stderr).strip()[-300:]


def health_checks(switch, artifact_url):
    """`run.py health-checks --install|--off` as the lab's health-check user."""
    p = subprocess.run([PY, RUN_PY, "health-checks", "--artifact-url", artifact_url,
                        f"--{switch}"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def cmd_nightly(args, env):
    c = Checks("lab-e2e-nightly")
    pub = subprocess.run([PY, RUN_PY, "publish", "--config", "qemu"], capture_output=True,
                         text=True)
    if not c.check("publish", pub.returncode == 0, (pub.stdout + pub.stderr).strip()):
        return c
    manifest = load(Path(env["LAB_ARTIFACT_DIR"]) / "manifest.json", {})
    server = lava_server(env)
    c.check("runner_user_is_no_superuser", *runner_refused_admin(server))
    # the nightly installs the health checks itself (LAB_HEALTH_CHECKS of the
    # lab env); the virtual boards start Unknown, so LAVA runs each one's
    # health check before its first job of the first night
    mark = newest_job(server)       # LAVA may start a health check at once
    for board in VBOARDS:
        c.check(f"{board}.health_unknown_before_night1", *set_health(board, "UNKNOWN"))
    runs = []
    for night in range(1, args.nights + 1):
        faulted = night == 2 and not args.no_faults
        killer, fault = None, Path(env["LAB_FAULT_DIR"]) / f"{POWER_FAULT_BOARD}.power-on"
        mark = mark if night == 1 else newest_job(server)
        if faulted:
            fault.write_text("999\n")              # every power-on of the board fails
            c.check(f"{MAINT_BOARD}.maintenance_before_night2",
                    *set_health(MAINT_BOARD, "MAINTENANCE"))
            killer = WorkerKiller(env, args.results)
            killer.start()
        try:
            subset = (["--only", args.only] if args.only else []) + \
                (["--modes", args.modes] if args.modes else [])
            argv = ["nightly", "--plan", "nightly", "--server", env["LAVA_URI"],
                    "--artifact-url", env["LAB_ARTIFACT_URL"], "--results", str(args.results),
                    "--no-build", "--deadline", str(max(1, args.deadline - 1))] + subset
            if night == 1 and not args.no_faults:
                t0 = time.monotonic()
                term, run_dir, out = run_nightly_sigterm(argv, args.deadline, args.results)
                wall, rc = time.monotonic() - t0, term.get("resume_rc")
                check_sigterm_resume(c, run_dir, term)
            else:
                rc, run_dir, wall, out = run_lab(argv, args.deadline)
        finally:
            if faulted:
                fault.unlink(missing_ok=True)
                killer.stop.set()
                killer.join(timeout=600)
                for board, health in ((MAINT_BOARD, "GOOD"), (POWER_FAULT_BOARD, "GOOD")):
                    c.check(f"{board}.health_restored_after_night2", *set_health(board, health))
        print(f"e2e: night {night}: exit {rc}, {wall:.1f} s", flush=True)
        c.check(f"night{night}.within_deadline", rc is not None, f"{wall:.0f} s")
        if not faulted:
            c.check(f"night{night}.exit_0", rc == 0, f"exit {rc}")
        if not run_dir or not run_dir.is_dir():
            c.check(f"night{night}.results", False, "no results directory")
            continue
        runs.append(run_dir)
        hc = (load(run_dir / "metadata.json", {}) or {}).get("health_checks") or {}
        c.check(f"night{night}.health_checks_installed_by_the_nightly",
                hc.get("installed") == ["bbml2-qemu-uboot"], str(hc))
        hc_jobs = health_check_jobs(server, mark)
        print(f"e2e: night {night}: LAVA health checks "
              f"{[(j['id'], j.get('actual_device'), j.get('health')) for j in hc_jobs]}",
              flush=True)
        if night == 1:
            for board in VBOARDS:
                ok = [j["id"] for j in hc_jobs if j.get("actual_device") == board
                      and j.get("health") == "Complete"]
                c.check(f"night1.health_check_passed_on_{board}", ok, f"LAVA job(s) {ok}")
        check_shape(c, run_dir, manifest)
        if faulted:
            check_faulted_night(c, run_dir, rc, killer, hc_jobs)
        for job in sorted((run_dir / "jobs").iterdir()):
            att = [a for a in attempts_of(job) if a.get("device")]
            meta = meta_of(job)
            board = meta.get("spec", {}).get("board")
            c.check(f"night{night}.{job.name}.on_its_board",
                    {a.get("device") for a in att} == {board} if att
                    else meta.get("status") == "skipped",
                    f"board {board}, devices {[a.get('device') for a in att]}, "
                    f"status {meta.get('status')}")
    if len(runs) >= 2:
        cmp = load(runs[-1] / "compare.json", {}) or {}
        c.check("second_night_compared_with_the_first",
                runs[-2].name in str(cmp.get("previous")) and (runs[-1] / "compare.md").is_file(),
                f"previous: {cmp.get('previous')}")
    if not args.no_faults and runs:
        # a guest that resets right after the kernel's banner, through the
        # same server (the lab-check plan's smoke job, rdinit replaced)
        rc, run_dir, wall, out = run_lab(
            ["lab", "--plan", "lab-check", "--only", "lab-smoke", "--cmdline",
             "rdinit=/bin/busybox reboot -f", "--server", env["LAVA_URI"],
             "--artifact-url", env["LAB_ARTIFACT_URL"], "--results", str(args.results),
             "--tag", "reset-after-banner", "--poll", "2", "--queue-hours", "1",
             "--deadline", "10"], 12)
        print(f"e2e: reset after the banner: exit {rc}, {wall:.1f} s", flush=True)
        check_reset_after_banner(c, run_dir, rc)
        # LAVA's infrastructure error set the board Unknown: its health
        # check runs now; it passes, and the lab is left with nothing running
        idle, health = wait_idle(server, KILL_BOARD, settled=True)
        c.check("reset.health_check_after_it_passed", idle and health == "Good",
                f"{KILL_BOARD}: idle {idle}, health {health}")
    return c


@contextlib.contextmanager
def lab_lock(minutes, c):
    """One e2e at a time on this lab (they share the boards and the fault
    files): a blocking flock, bounded by SIGALRM."""
    path = REPO / "build/lab/run/e2e.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        def expired(signum, frame):
            raise TimeoutError
        old = signal.signal(signal.SIGALRM, expired)
        signal.alarm(int(minutes * 60))
        try:
            fcntl.flock(f, fcntl.LOCK_EX)
            locked = True
        except TimeoutError:
            locked = c.check("lab_lock", False, f"another e2e held {path} for {minutes} min")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        yield locked


def lab_up(c):
    """lab/local/up.sh (idempotent), as one check with its wall time."""
    t0 = time.monotonic()
    log = REPO / "build/lab/up.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        try:
            rc = subprocess.run([str(REPO / "lab/local/up.sh")], stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=480).returncode
        except subprocess.TimeoutExpired:
            rc = None
    wall = time.monotonic() - t0
    tail = log.read_text().strip().splitlines()[-1:] if log.is_file() else []
    print(f"e2e: lab-up {wall:.1f} s", flush=True)
    return c.check("lab_up", rc == 0, f"exit {rc} in {wall:.0f} s ({log}): {' '.join(tail)}")


def lab_is_up(pids=REPO / "build/lab/run/pids"):
    """True if a daemon that up.sh records (the worker, gunicorn...) runs."""
    for f in Path(pids).glob("*.pid"):
        try:
            os.kill(int(f.read_text().strip()), 0)
            return True
        except (OSError, ValueError):
            continue
    return False


def lab_down(c):
    """lab/local/down.sh: stop the lab this run started (review L1)."""
    p = subprocess.run([str(REPO / "lab/local/down.sh")], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    last = (p.stdout + p.stderr).strip().splitlines()[-1:]
    return c.check("lab_down", p.returncode == 0 and not lab_is_up(),
                   f"exit {p.returncode}: {' '.join(last)}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="e2e.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("--junit", required=True)
    p.add_argument("--merge", help="append the checks to this JUnit file's suites")
    p.add_argument("--deadline", type=float, default=12, help="minutes (%(default)s)")
    p.add_argument("--up", action="store_true", help="run lab/local/up.sh first")
    n = sub.add_parser("nightly")
    n.add_argument("--nights", type=int, default=2)
    n.add_argument("--deadline", type=float, default=25, help="minutes per night (%(default)s)")
    n.add_argument("--junit")
    n.add_argument("--no-faults", action="store_true",
                   help="no injected faults in the second night")
    n.add_argument("--only", help="entries of the nightly plan (a shorter night, e.g. "
                   "uniform-kselftest,none-smoke)")
    n.add_argument("--modes", help="modes of those entries (e.g. none)")
    n.add_argument("--up", action="store_true", help="run lab/local/up.sh first")
    for q in (p, n):
        q.add_argument("--results", default=REPO / "results")
        q.add_argument("--keep-up", action="store_true",
                       help="with --up: leave a lab this run started running")
    args = ap.parse_args(argv)
    suite = "lab-e2e" if args.cmd == "check" else "lab-e2e-nightly"
    c = Checks(suite)
    env = None
    started = args.up and os.geteuid() == 0 and not lab_is_up()
    if os.geteuid() != 0:
        c.skip("local_lab", "needs root (lava-server, lava-worker, tftpd): run as root")
    elif args.up and not lab_up(c):
        pass
    elif (env := lab_env()) is None or "LAVA_URI" not in env:
        c.check("local_lab", False, "build/lab/env missing: make lab-up failed or did not run")
    if env:
        with lab_lock(args.deadline + 10, c) as locked:
            if locked:
                c.cases += (cmd_check(args, env) if args.cmd == "check"
                            else cmd_nightly(args, env)).cases
    if started and not args.keep_up:
        lab_down(c)
    if args.junit:
        c.write(args.junit, getattr(args, "merge", None))
    return 0 if c.ok else 1


if __name__ == "__main__":
    sys.exit(main())
