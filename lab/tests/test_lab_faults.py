"""Issue 22's fault cases against the scripted fake server (fake_lava.py):
a worker killed mid-job, a job LAVA keeps Running past its timeout, a guest
that resets after the kernel banner, XML-RPC -32603 while polling and
fetching, connection refused at submit, one job's internal error, SIGTERM
while a finished job is being fetched, resume under the lock, the
baseline and latest-nightly rules, the run id in job names. No root, no
real server, no real waiting (fake clock)."""
import io
import json

import pytest
import yaml

from bbml2lab import LabError, cli, config, labrun, lavaserver, nightly, render
from bbml2lab import console as console_mod
from bbml2lab import retry
from conftest import DATA
from fake_lava import Script, server_log
from test_labrun import A, B, REPO, Clock, job_results, lab, run, server, smoke_log  # noqa: F401
from test_nightly import _night, res


def reset_after_banner_log():
    """The real smoke log cut right after the kernel's banner, ending the way
    LAVA ends a console that closed (a guest that reset): Connection closed,
    an infrastructure error to LAVA."""
    lines = (DATA / "series-smoke-none.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if "Linux version" in line)
    tail = [json.dumps({"dt": "2026-12-01T20:43:47.9", "lvl": "target",
                        "msg": "[    0.101000] reboot: Restarting system"}),
            json.dumps({"dt": "2026-12-01T20:43:48.0", "lvl": "results",
                        "msg": {"definition": "lava", "case": "job", "result": "fail",
                                "error_type": "Infrastructure",
                                "error_msg": "Connection closed"}})]
    return server_log("\n".join(lines[:cut + 1] + tail))


def session(tmp_path, lab, plan="one", policy=None, sleep=None):
    fake, url, matrix_path, clock = lab
    matrix = config.load(matrix_path, REPO / "configs/boards.yaml")
    s = labrun.LabSession(tmp_path / "results", plan, REPO, ["test"], server(fake, clock), url,
                          plan=plan, out=io.StringIO(), sleep=sleep or clock.sleep, clock=clock,
                          policy=policy or labrun.Policy(poll_s=5, log_delay_s=7))
    s.prepare(matrix.expand(plan), matrix.boards, render.Renderer())
    return s


# --- results never lost ------------------------------------------------------

def test_worker_killed_mid_job_result_judged_from_the_servers_log(tmp_path, lab):
    """lava-worker SIGKILLed and not restarted: LAVA keeps the job Running
    for ever, but lava-run finished and uploaded its log. The job is judged
    from that log at once (not at the deadline) and canceled to free the
    board."""
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Submitted", "Running"), kill_worker=True))
    code, s, out = run(tmp_path, lab, plan="one",
                       policy=labrun.Policy(poll_s=5, deadline_s=3600))
    assert code == 0, out
    r = job_results(s, A)
    assert r["smoke.lava.job"]["result"] == "pass" and r["smoke.boot"]["result"] == "pass"
    meta = json.loads((s.run_dir / "jobs" / A / "metadata.json").read_text())
    assert meta["lava"]["lost"] == "worker worker-01 Offline while LAVA calls the job Running"
    assert meta["lava"]["health"] == "Complete" and meta["lava"]["worker"] == "worker-01"
    assert [m for m, _ in fake.calls].count("scheduler.jobs.cancel") == 1
    assert s.clock() < 60                         # judged at once, not at the deadline
    assert "judged from the server's log" in out


def test_worker_offline_without_a_final_result_waits_for_the_jobs_own_timeout(tmp_path, lab):
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), states=("Running",), late_log=10 ** 6, kill_worker=True))
    policy = labrun.Policy(poll_s=5, poll_max_s=30, overdue_grace_s=60, deadline_s=3 * 3600)
    s = session(tmp_path, lab, policy=policy)
    limit = labrun.job_timeout_s((s.lab_jobs[0].dir / "job.yaml").read_text())
    assert limit and limit >= 300
    s.go()
    code = s.finish()
    assert code == 1                               # judged as any other: the verdict is missing
    assert limit + 60 < clock.t < limit + 60 + 60   # right after its timeout, long before 3 h
    r = job_results(s, A)
    assert r["smoke.lava.job"]["detail"] == "no job verdict in the LAVA log"
    assert r["smoke.boot"]["result"] == "pass"     # what the log holds is kept
    assert "no final result in its log yet, waiting until its own timeout" in \
        s.out.getvalue()
    assert len(fake.submitted(A)) == 1


def test_running_past_its_timeout_is_judged_from_its_log(tmp_path, lab):
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), states=("Running",)))       # worker Online
    policy = labrun.Policy(poll_s=5, poll_max_s=30, overdue_grace_s=60, deadline_s=3 * 3600)
    s = session(tmp_path, lab, policy=policy)
    s.go()
    assert s.finish() == 0
    meta = json.loads((s.run_dir / "jobs" / A / "metadata.json").read_text())
    assert meta["lava"]["lost"].startswith("LAVA still calls it Running ")
    assert "past its timeout of" in meta["lava"]["lost"]
    assert any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)


def test_sigterm_while_a_finished_job_is_fetched_keeps_its_results(tmp_path, lab):
    """SIGTERM arrives while the log of a finished job is refetched: the run
    detaches, nothing is canceled, and resume judges that job in full."""
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), late_log=1))

    def sleep(s):
        if s == 7:                      # the log refetch delay
            raise labrun.Terminated()
        clock.sleep(s)
    s = session(tmp_path, lab, sleep=sleep)
    s.go()
    assert s.finish() == 2
    assert json.loads((s.run_dir / "metadata.json").read_text())["status"] == "detached"
    assert not any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)
    r = labrun.resume(s.run_dir, lambda uri: server(fake, clock), REPO, ["resume"],
                      out=io.StringIO(), sleep=clock.sleep, clock=clock)
    r.go()
    assert r.finish() == 0
    assert job_results(r, A)["smoke.lava.job"]["result"] == "pass"
    assert len(fake.submitted(A)) == 1


# --- nothing mislabelled -------------------------------------------------------

def test_guest_reset_after_the_kernel_banner_is_a_test_failure_not_retried(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(reset_after_banner_log(), health="Incomplete"),
                Script(smoke_log()))            # a retry would pass: must not happen
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 1
    assert len(fake.submitted(A)) == 1
    (attempt,) = json.loads((s.run_dir / "jobs" / A / "lab.json").read_text())["attempts"]
    assert attempt["retry"] == {"resubmit": False, "why": "the kernel started (Linux version "
                                "6.12.117): a test failure, not retried"}
    r = job_results(s, A)
    assert r["smoke.lava.job"]["result"] == "fail" and not any(x.get("infra") for x in r.values())
    assert r["smoke.boot"]["result"] == "fail"


def test_every_sign_of_a_started_kernel_stops_a_retry():
    infra, inc = {"error_type": "Infrastructure", "error_msg": "x"}, {"health": "Incomplete"}
    silent = console_mod.parse("")
    assert retry.should_resubmit(inc, infra, silent, 1)[0] is True
    cases = {
        "bbml2-lab: boot suite=smoke cpus=0-3 mem_kb=1\n": "the guest booted",
        "[    0.000000] Linux version 6.12.117 (root@vm) #1 SMP\n": "the kernel started",
        "el2shim: FATAL on cpu 2 esr=0x96000000\n": "el2shim stopped the boot",
        "[    1.000000] Unable to handle kernel NULL pointer dereference\n": "kernel splat",
    }
    for text, why in cases.items():
        con = console_mod.parse(text)
        ok, reason = retry.should_resubmit(inc, infra, con, 1, console_lines=text.splitlines())
        assert ok is False and reason.startswith(why), (text, reason)
    uboot = ["=> booti 0x40400000 0x44000000 0x43f00000", "Starting kernel ...", ""]
    ok, reason = retry.should_resubmit(inc, infra, silent, 1, console_lines=uboot)
    assert (ok, reason) == (False, "u-boot started the kernel (Starting kernel ...): a test "
                                   "failure, not retried")


# --- server faults are temporary ---------------------------------------------

def test_fault_32603_while_polling_and_fetching_is_retried(tmp_path, lab, capsys, monkeypatch):
    """-32603 (any exception inside a LAVA method) while polling and while
    fetching the log: retried, the job judged, the night ends with a final
    status and its comparison."""
    fake, url, matrix_path, _ = lab
    fake.script(A, Script(smoke_log(), fault_show=8, fault_logs=5))   # > the 5 client retries
    fake.script(B, Script(smoke_log(), fault_logs=2))
    monkeypatch.setattr(lavaserver, "_sleep", lambda s: None)
    monkeypatch.setenv("LAVA_URI", fake.uri)
    monkeypatch.setenv("LAVA_USER", fake.username)
    monkeypatch.setenv("LAVA_TOKEN", fake.token)
    rc = cli.main(["nightly", "--plan", "t", "--matrix", str(matrix_path), "--no-build",
                   "--no-publish", "--artifact-url", url, "--lab-env", str(tmp_path / "none"),
                   "--results", str(tmp_path / "results"), "--poll", "0.01"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "fault -32603: Internal Server Error" in out          # seen, and waited out
    (night,) = (tmp_path / "results").glob("*-nightly-*")
    meta = json.loads((night / "metadata.json").read_text())
    assert meta["status"] == "complete" and meta["exit_code"] == 0
    assert (night / "compare.json").is_file()
    for job in (A, B):
        assert json.loads((night / "jobs" / job / "metadata.json").read_text())["verdict"] == "pass"
    calls = [m for m, _ in fake.calls]
    assert calls.count("scheduler.jobs.logs") >= 2 + 5 + 2 and calls.count("scheduler.jobs.show") >= 8


def test_fault_mapping_32603_temporary_other_faults_permanent(lab):
    fake, _, _, clock = lab
    srv = server(fake, clock)
    fake.script(A, Script(smoke_log(), fault_show=99))
    (job_id,) = srv.submit(f"job_name: bbml2-lab {A} r1\n")
    with pytest.raises(lavaserver.TemporaryError, match=r"fault -32603: Internal Server Error"):
        srv.show(job_id)
    assert clock.slept == [0.5, 1.0, 2.0]
    with pytest.raises(lavaserver.PermanentError) as e:
        srv.call("scheduler.no.such.method")
    assert not e.value.temporary


def test_connection_refused_at_submit_is_retried_other_submit_errors_not():
    slept = []
    creds = lavaserver.Credentials("http://127.0.0.1:9/RPC2", "u", "tok-refused-11")
    srv = lavaserver.Server(creds, retries=3, backoff=(1.0, 4.0), sleep=slept.append)
    with pytest.raises(lavaserver.TemporaryError) as e:
        srv.submit("job_name: x\n")
    assert e.value.unsent and slept == [1.0, 2.0, 4.0]


def test_one_jobs_internal_error_never_ends_the_run(tmp_path, lab, monkeypatch):
    fake, *_ = lab
    fake.script(A, Script(smoke_log()))
    fake.script(B, Script(smoke_log()))
    real = labrun.evaluate

    def evaluate(text, suite, expect):
        if "a-none" in str(expect) or evaluate.calls == 0:
            evaluate.calls += 1
            raise KeyError("parser bug")
        return real(text, suite, expect)
    evaluate.calls = 0
    monkeypatch.setattr(labrun, "evaluate", evaluate)
    code, s, out = run(tmp_path, lab)
    assert code == 2
    meta = json.loads((s.run_dir / "metadata.json").read_text())
    assert meta["status"] == "complete"
    bad = [j for j in meta["jobs"] if j["verdict"] == "error"]
    good = [j for j in meta["jobs"] if j["verdict"] == "pass"]
    assert len(bad) == 1 and len(good) == 1
    assert bad[0]["error"] == "internal error: KeyError: 'parser bug'"
    assert "Traceback" in (s.run_dir / "jobs" / bad[0]["name"] / "error.txt").read_text()


# --- restart safety ------------------------------------------------------------

def test_job_names_carry_the_run_id(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log()))
    code, s, _ = run(tmp_path, lab, plan="one")
    job = yaml.safe_load((s.run_dir / "jobs" / A / "job.yaml").read_text())
    assert job["job_name"] == f"bbml2-lab {A} {s.run_id}"
    assert job["metadata"]["bbml2lab.run_id"] == s.run_id


def test_resume_waits_for_no_one_it_refuses_while_a_nightly_holds_the_lock(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Running",)))
    s = session(tmp_path, lab)
    s.submit_all()
    lock = nightly.Lock(tmp_path / "results" / nightly.LOCK)
    try:
        with pytest.raises(LabError, match=r"^another nightly holds .*\.nightly\.lock"):
            cli.cmd_resume(cli.parser().parse_args(["resume", str(s.run_dir)]))
    finally:
        lock.release()


def test_baseline_is_the_last_night_that_ran_its_jobs(tmp_path):
    good = _night(tmp_path, "20261201T013000Z", [res("j", "t.a", "pass")])
    _night(tmp_path, "20261202T013000Z", [res("setup", "setup", "error")],
           meta={"status": "error", "jobs": []})                      # build failed
    _night(tmp_path, "20261203T013000Z", [], meta={"status": "detached", "jobs": []})
    _night(tmp_path, "20261203T023000Z", [res("j", "s.job", "skip")],      # board skipped
           meta={"status": "complete", "jobs": [{"name": "j", "verdict": "pass",
                                                 "status": "skipped"}]})
    _night(tmp_path, "20261204T013000Z",
           [{**res("j", "s.job", "error"), "infra": True, "board": "b"}],
           meta={"status": "complete", "jobs": [{"name": "j", "verdict": "error",
                                                 "infra": True}]})  # the lab's night
    now = _night(tmp_path, "20261205T013000Z", [res("j", "t.a", "fail")])
    cmp = nightly.finish_night(now, tmp_path, keep=10, page_nights=0)
    assert cmp["previous"] == good.name
    assert [i["name"] for i in cmp["new_failures"]] == ["t.a"]


def test_latest_nightly_never_moves_backwards(tmp_path, capsys):
    old = _night(tmp_path, "20261201T013000Z", [res("j", "t.a", "pass")])
    new = _night(tmp_path, "20261202T013000Z", [res("j", "t.a", "pass")])
    nightly.finish_night(new, tmp_path, keep=10, page_nights=0)
    cmp = nightly.finish_night(old, tmp_path, keep=10, page_nights=0)   # a resumed old night
    assert (tmp_path / "latest-nightly").readlink().name == new.name
    assert cmp["previous"] is None                 # compared with nothing newer than itself
    broken = _night(tmp_path, "20261203T013000Z", [], meta={"status": "detached", "jobs": []})
    nightly.finish_night(broken, tmp_path, keep=10, page_nights=0)
    assert (tmp_path / "latest-nightly").readlink().name == new.name
    assert "did not run its jobs: latest-nightly stays " + new.name in capsys.readouterr().out


def test_jobs_fetch_from_their_build_and_the_pins_still_match(tmp_path, lab):
    from fake_lava import publish
    from test_labrun import KERNEL_SHA, RAMDISK_SHA
    fake, *_ = lab
    publish(tmp_path / "art", {"qemu/Image": KERNEL_SHA, "qemu/initramfs.cpio.gz": RAMDISK_SHA,
                               "qemu/dtbs/qemu/virt-4c-2048m.dtb": "d" * 64}, build="0123456789ab")
    (tmp_path / "art/qemu/Image").unlink()          # the next publish is under way: not used
    fake.script(A, Script(smoke_log()))
    code, s, out = run(tmp_path, lab, plan="one")
    job = yaml.safe_load((s.run_dir / "jobs" / A / "job.yaml").read_text())
    deploy = next(a["deploy"] for a in job["actions"] if "deploy" in a)
    urls = [v["url"] for v in deploy.values() if isinstance(v, dict) and "url" in v]
    assert urls and all("/builds/0123456789ab/qemu/" in u for u in urls), urls
    assert code == 0, out
    # LAVA's downloads (served from the build) are checked against the manifest's names
    assert job_results(s, A)["smoke.lava.artifacts_sha256"]["result"] == "pass"


# --- LAVA state awareness ------------------------------------------------------

def test_a_board_in_maintenance_is_skipped_with_its_reason_the_others_run(tmp_path, lab):
    fake, *_ = lab
    (tmp_path / "matrix.yaml").write_text((tmp_path / "matrix.yaml").read_text().replace(
        "    - {name: b, suite: smoke}", "    - {name: b, suite: smoke, board: vboard-uniform-01}"))
    fake.devices["vboard-none-01"]["health"] = "Maintenance"
    uniform = (DATA / "server-smoke-uniform.yaml").read_text()   # a real server log
    fake.script(B, Script(uniform, device="vboard-uniform-01"))
    code, s, out = run(tmp_path, lab)
    failed = [n for n, r in job_results(s, B).items() if r["result"] != "pass"]
    # that log's downloads are the real lab's artifacts, not this fixture's
    assert failed == ["smoke.lava.artifacts_sha256"] and code == 1, out
    assert fake.submitted(A) == [] and len(fake.submitted(B)) == 1
    (only,) = job_results(s, A).values()
    assert only["result"] == "skip" and only["board_skipped"] is True
    assert only["detail"] == "board vboard-none-01 skipped: device vboard-none-01 is Maintenance"
    meta = json.loads((s.run_dir / "metadata.json").read_text())
    assert meta["skipped_boards"] == [{"board": "vboard-none-01", "jobs": [A],
                                       "why": "device vboard-none-01 is Maintenance"}]
    assert job_results(s, B)["smoke.lava.job"]["result"] == "pass"
    assert f"{A}: SKIPPED: device vboard-none-01 is Maintenance" in out
    from bbml2lab import compare, notify
    cmp = compare.compare(json.loads((s.run_dir / "results.json").read_text()),
                          [res(A, "smoke.boot", "pass")])
    assert cmp["missing"] == [] and [i["job"] for i in cmp["boards_skipped"]] == [A]
    _, text = notify.summary(s.run_dir, cmp)
    assert "boards skipped: \n  vboard-none-01: device vboard-none-01 is Maintenance\n" in text


def test_an_offline_worker_skips_its_boards_and_stops_a_resubmission(tmp_path, lab):
    fake, *_ = lab
    fake.workers["worker-01"]["state"] = "Offline"
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 0 and fake.submitted() == []
    assert job_results(s, A)["smoke.job"]["detail"].endswith(
        "worker worker-01 of device vboard-none-01 is Offline")
    # a resubmission is not made onto a board that went Bad meanwhile
    fake.workers["worker-01"]["state"] = "Online"
    fake.script(A, Script(infra_log_(), health="Incomplete"), Script(smoke_log()))
    orig = fake._logs

    def logs_then_bad(job_id, line=0):
        fake.devices["vboard-none-01"]["health"] = "Bad"
        return orig(job_id, line)
    fake._logs = logs_then_bad
    fake.rpc.funcs["scheduler.jobs.logs"] = fake._recorded("scheduler.jobs.logs", logs_then_bad)
    code, s, _ = run(tmp_path / "2", lab, plan="one")
    assert code == labrun.INFRA_EXIT and len(fake.submitted(A)) == 1
    (attempt,) = json.loads((s.run_dir / "jobs" / A / "lab.json").read_text())["attempts"]
    assert attempt["retry"]["why"].endswith("not resubmitted: device vboard-none-01 is Bad")


def infra_log_():
    from test_labrun import infra_log
    return infra_log()


def test_a_token_refused_mid_run_still_ends_the_run_with_a_final_status(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Running",)))
    s = session(tmp_path, lab)
    s.submit_all()
    fake.token = "rotated-by-the-admin"                      # every call is now 401
    fake.auth_header = "Basic " + __import__("base64").b64encode(
        f"{fake.username}:{fake.token}".encode()).decode()
    s.go()
    assert s.finish() == 2
    meta = json.loads((s.run_dir / "metadata.json").read_text())
    assert meta["status"] == "error" and "HTTP 401" in meta["error"]
    assert job_results(s, A)["smoke.job"]["detail"].startswith("server refused the token")


def test_a_board_that_goes_bad_while_its_job_is_queued_is_skipped_not_waited_for(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Submitted",)))      # queued for ever
    orig = fake._show

    def show_then_bad(job_id):
        fake.devices["vboard-none-01"]["health"] = "Bad"     # a health check failed
        return orig(job_id)
    fake.rpc.funcs["scheduler.jobs.show"] = fake._recorded("scheduler.jobs.show", show_then_bad)
    code, s, out = run(tmp_path, lab, plan="one", policy=labrun.Policy(poll_s=5, deadline_s=3600))
    assert code == 0 and s.clock() < 60, out                 # not the deadline
    (only,) = job_results(s, A).values()
    assert only["result"] == "skip" and only["board_skipped"] is True
    assert only["detail"].startswith("board vboard-none-01 skipped: device vboard-none-01 is Bad "
                                     "while the job was queued (LAVA job ")
    assert any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)


def test_resume_adopts_a_job_submitted_as_the_runner_died(tmp_path, lab):
    """Killed between LAVA creating the job and recording its id: resume
    finds it by its name (which ends with the run id) and adopts it instead
    of submitting a duplicate; without such a job it submits again."""
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), states=("Running", "Finished")))
    fake.script(B, Script(smoke_log()), Script(smoke_log()))
    s = session(tmp_path, lab, plan="t")
    s.submit_all()
    for job in s.lab_jobs:                 # as if killed right after each submit call
        job.current.update(job_id=None, state="submitting")
        job.record(fake.uri)
    (orphan_a, _), (orphan_b, _) = fake.submitted(A) + fake.submitted(B)
    del fake.jobs[orphan_b]                # B's submit never reached LAVA after all
    out = io.StringIO()
    r = labrun.resume(s.run_dir, lambda uri: server(fake, clock), REPO, ["resume"], out=out,
                      sleep=clock.sleep, clock=clock)
    assert f"LAVA job {orphan_a} (named for this run" in out.getvalue()
    r.go()
    assert r.finish() == 0
    assert len(fake.submitted(A)) == 1 and len(fake.submitted(B)) == 1   # B submitted again
    a = json.loads((s.run_dir / "jobs" / A / "lab.json").read_text())["attempts"]
    assert a[0]["job_id"] == str(orphan_a) and a[0]["adopted"] is True


def test_a_resubmission_queued_when_the_board_goes_bad_stays_an_infrastructure_error(tmp_path,
                                                                                       lab):
    """Power failing with LAVA's health checks on: the first attempt's
    infrastructure error sets the device Unknown, LAVA runs the health check,
    which fails too and sets it Bad while the resubmission is queued. The job
    is that infrastructure error of its board (exit 3), not a skip that
    would hide it. Catches ending such a job through the plain skip path."""
    from test_labrun import infra_log
    fake, *_ = lab
    fake.script(A, Script(infra_log(), health="Incomplete"),
                Script(smoke_log(), states=("Submitted",)))          # queued for ever
    orig = fake._show

    def show(job_id):
        if len(fake.submitted(A)) == 2:                       # the health check failed
            fake.devices["vboard-none-01"]["health"] = "Bad"
        return orig(job_id)
    fake.rpc.funcs["scheduler.jobs.show"] = fake._recorded("scheduler.jobs.show", show)
    code, s, out = run(tmp_path, lab, plan="one", policy=labrun.Policy(poll_s=5, deadline_s=3600))
    assert code == labrun.INFRA_EXIT and s.clock() < 120, out
    (only,) = job_results(s, A).values()
    assert only["result"] == "error" and only["infra"] is True and not only.get("board_skipped")
    assert only["detail"] == ("infrastructure error on vboard-none-01 after 2 attempts, no "
                              "kernel started: Unable to run 'power_on': lab/vboard/vboard "
                              "start exited 1")
    jd = s.run_dir / "jobs" / A
    meta = json.loads((jd / "metadata.json").read_text())
    (first, _), (second, _) = fake.submitted(A)
    assert meta["lava"]["job_id"] == str(first) and meta["status"] == "infrastructure"
    assert "resubmission device vboard-none-01 is Bad while the job was queued (LAVA job " \
        f"{second} canceled)" in meta["lava"]["retry"]
    attempts = json.loads((jd / "lab.json").read_text())["attempts"]
    assert attempts[1]["state"] == "canceled while queued" and attempts[1]["canceled"] is True
    assert any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)
    assert not s.meta.get("skipped_boards")
    assert out.splitlines()[-1] == "0 passed, 0 failed, 0 skipped (1 infrastructure error)"
