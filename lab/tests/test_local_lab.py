"""lab/local/e2e.py: the checks of the lab-check plan's outcomes, on synthetic
run directories shaped like `lab/run.py lab` writes them, and the JUnit merge
that folds them into make check's count."""
import importlib.util
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_labrun import lab  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("e2e", REPO / "lab/local/e2e.py")
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)

BOARD = "vboard-uniform-01"
SHA = {"qemu/Image": "a" * 64, "qemu/initramfs.cpio.gz": "b" * 64,
       "qemu/dtbs/qemu/virt-4c-2048m.dtb": "c" * 64}
MANIFEST = {**{k: {"sha256": v, "size": 1} for k, v in SHA.items()},
            "qemu/el2shim.bin": {"sha256": "e" * 64, "size": 1},
            "qemu/config": {"sha256": "d" * 64, "size": 1}, "git_revision": "x"}
URL = "http://127.0.0.1:8090"


def deploy_yaml(images):
    """A job.yaml whose deploy action carries {label: manifest path}."""
    lines = ["actions:", "- deploy:", "    images:"]
    for label, path in images.items():
        lines += [f"      {label}:", f"        url: {URL}/{path}",
                  f"        sha256sum: {MANIFEST[path]['sha256'] if path in MANIFEST else '0' * 64}"]
    return "\n".join(lines) + "\n"


UBOOT = {"kernel": "qemu/Image", "ramdisk": "qemu/initramfs.cpio.gz",
         "dtb": "qemu/dtbs/qemu/virt-4c-2048m.dtb"}


def attempt(n, health="Complete", error_type=None, error_msg=None, boot=True, device=BOARD):
    return {"n": n, "job_id": str(n), "health": health, "device": device,
            "error_type": error_type, "error_msg": error_msg, "boot_marker": boot}


def write_job(run, name, results, attempts, images=UBOOT):
    job = run / "jobs" / name
    job.mkdir(parents=True)
    for a in attempts:
        (job / f"attempt-{a['n']}").mkdir()
    (job / "results.json").write_text(json.dumps(results))
    (job / "lab.json").write_text(json.dumps({"attempts": attempts}))
    (job / "metadata.json").write_text(json.dumps({"status": "complete",
                                                   "spec": {"board": BOARD}}))
    (job / "job.yaml").write_text(deploy_yaml(images))
    for f in ("junit.xml", "console.log"):
        (job / f).write_text("")


def res(name, result="pass", detail=None):
    return {"name": name, "result": result, "detail": detail}


@pytest.fixture
def run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for f in ("metadata.json", "results.json", "junit.xml", "summary.md"):
        (run / f).write_text("")
    write_job(run, "lab-smoke-none-4c-2048m",
              [res("smoke.boot"), res("smoke.kernel.mode_matches_board")], [attempt(1)])
    write_job(run, "lab-crash-none-4c-2048m",
              [res("lab-cut.boot"), res("lab-cut.kernel.no_splat", "fail",
                                        "[ 1.0] Kernel panic - not syncing: sysrq")],
              [attempt(1, "Incomplete", "Infrastructure", "Connection closed")])
    write_job(run, "lab-infra-fault-none-4c-2048m", [res("smoke.boot")],
              [attempt(1, "Incomplete", "Infrastructure",
                       "Unable to reboot: 'labpower reset vboard-uniform-01' failed", boot=False),
               attempt(2)])
    return run


def failed(run, rc=1, left=None):
    c = e2e.Checks("lab-e2e")
    n = e2e.evaluate_check(c, run, rc, left, MANIFEST, BOARD)
    return n, [name for name, ok, _ in c.cases if ok is False]


def test_a_good_run_passes_every_check(run):
    assert failed(run) == (4, [])


def test_a_retried_crash_fails(run):
    job = run / "jobs/lab-crash-none-4c-2048m"
    (job / "lab.json").write_text(json.dumps({"attempts": [
        attempt(1, "Incomplete", "Infrastructure", "Connection closed"), attempt(2)]}))
    n, bad = failed(run)
    assert "crash.not_retried" in bad and n == 5 and "at_most_four_server_jobs" in bad


def test_a_job_on_the_wrong_board_fails(run):
    job = run / "jobs/lab-smoke-none-4c-2048m"
    (job / "lab.json").write_text(json.dumps({"attempts": [attempt(1, device="vboard-none-01")]}))
    assert failed(run)[1] == [f"smoke.ran_on_{BOARD}"]


def test_an_unpinned_artifact_fails(run):
    job = run / "jobs/lab-smoke-none-4c-2048m"
    (job / "job.yaml").write_text(deploy_yaml(UBOOT).replace("a" * 64, "f" * 64))
    assert failed(run)[1] == ["lab-smoke-none-4c-2048m.artifacts_pinned"]


def test_an_unpublished_or_missing_artifact_fails(run):
    job = run / "jobs/lab-smoke-none-4c-2048m"
    (job / "job.yaml").write_text(deploy_yaml({"kernel": "qemu/Image", "ramdisk": "other/x"}))
    assert failed(run)[1] == ["lab-smoke-none-4c-2048m.artifacts_pinned"]
    (job / "job.yaml").write_text(deploy_yaml({"kernel": "qemu/Image"}))
    assert failed(run)[1] == ["lab-smoke-none-4c-2048m.artifacts_pinned"]


def test_el2shim_and_dtb_less_jobs_are_pinned_by_what_they_deploy(run):
    # qemu boards deploy no dtb; el2shim boards deploy the shim as the kernel
    job = run / "jobs/lab-smoke-none-4c-2048m"
    (job / "job.yaml").write_text(deploy_yaml({"kernel": "qemu/el2shim.bin",
                                               "image": "qemu/Image",
                                               "ramdisk": "qemu/initramfs.cpio.gz"}))
    assert failed(run) == (4, [])


def test_a_fault_that_was_not_retried_fails(run):
    job = run / "jobs/lab-infra-fault-none-4c-2048m"
    (job / "lab.json").write_text(json.dumps({"attempts": [
        attempt(1, "Incomplete", "Infrastructure", "Unable to reboot: reset", boot=False)]}))
    bad = failed(run)[1]
    assert "infra_fault.retried_once" in bad and "infra_fault.second_attempt_passed" in bad


def test_exit_code_and_leftover_fault_are_checked(run):
    assert failed(run, rc=0, left="0 1")[1] == ["lab_run_exit_1", "fault_consumed"]


def test_junit_merge_appends_a_suite(tmp_path):
    unit = tmp_path / "unit.xml"
    unit.write_text('<testsuites><testsuite name="pytest" tests="1">'
                    '<testcase classname="t" name="a"/></testsuite></testsuites>')
    c = e2e.Checks("lab-e2e")
    c.check("one", True)
    c.check("two", False, "why")
    c.skip("three", "no root")
    c.write(unit, merge=unit)
    root = ET.parse(unit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"pytest", "lab-e2e"}
    cases = suites["lab-e2e"].findall("testcase")
    assert [x.get("name") for x in cases] == ["one", "two", "three"]
    assert cases[1].find("failure").get("message") == "why"
    assert cases[2].find("skipped").get("message") == "no root"
    assert not c.ok


def test_lab_env_is_read(tmp_path):
    env = tmp_path / "env"
    env.write_text("# comment\nLAVA_URI=http://127.0.0.1:8000/RPC2\nLAB_ART_PORT=8090\n")
    assert e2e.lab_env(env) == {"LAVA_URI": "http://127.0.0.1:8000/RPC2", "LAB_ART_PORT": "8090"}
    assert e2e.lab_env(tmp_path / "missing") is None


def test_lab_is_up_reads_the_recorded_pids(tmp_path):
    """make check stops the lab only when it started it: 'up' means a
    recorded daemon is alive."""
    import subprocess
    pids = tmp_path / "pids"
    pids.mkdir()
    assert e2e.lab_is_up(pids) is False
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pids / "worker.pid").write_text(f"{dead.pid}\n")
    (pids / "junk.pid").write_text("not a pid\n")
    assert e2e.lab_is_up(pids) is False
    (pids / "gunicorn.pid").write_text(f"{os.getpid()}\n")
    assert e2e.lab_is_up(pids) is True


def _job(run, name, board, results, lab=None, meta=None):
    d = run / "jobs" / name
    d.mkdir(parents=True)
    (d / "metadata.json").write_text(json.dumps({"spec": {"board": board}, **(meta or {})}))
    (d / "results.json").write_text(json.dumps(results))
    (d / "lab.json").write_text(json.dumps(lab or {"done": True, "attempts": []}))
    return d


def _faulted_night(tmp_path):
    run = tmp_path / "20261205T010000Z-nightly-abc"
    infra = {"name": "smoke.job", "result": "error", "infra": True, "board": "vboard-none-01"}
    _job(run, "none-smoke", "vboard-none-01", [infra], meta={"status": "infrastructure"})
    _job(run, "none-kselftest", "vboard-none-01",
         [{"name": "kselftest.job", "result": "skip", "board_skipped": True}],
         meta={"status": "skipped", "skipped": "device vboard-none-01 is Bad while the job "
                                               "was queued (LAVA job 44 canceled)"})
    _job(run, "late-cpu", "qemu-late-01",
         [{"name": "late-cpu.job", "result": "skip", "board_skipped": True}],
         meta={"status": "skipped", "skipped": "device qemu-late-01 is Maintenance"})
    passing = [{"name": f"kselftest.t{i}", "result": "pass"} for i in range(8)]
    _job(run, "uniform-kselftest", "vboard-uniform-01", passing,
         lab={"done": True, "attempts": [{"job_id": "42"}]},
         meta={"verdict": "pass", "lava": {"lost": "worker bbml2-worker Offline while LAVA "
                                                   "calls the job Running"}})
    _job(run, "uniform-smoke", "vboard-uniform-01", passing[:2], meta={"verdict": "pass"})
    cmp = {"infrastructure": [{"board": "vboard-none-01", "job": "none-smoke"}],
           "flaky": [], "new_failures": []}
    (run / "compare.json").write_text(json.dumps(cmp))
    (run / "summary.txt").write_text(
        "infrastructure errors by board: \n  vboard-none-01: 1 job(s): none-smoke\n"
        "boards skipped: \n  vboard-none-01: device vboard-none-01 is Bad\n"
        "  qemu-late-01: device qemu-late-01 is Maintenance\n")
    return run, cmp


class Killer:
    record = {"job_id": "42", "restarted": True, "judged_s": 70.0,
              "first_result": "selftests_arm64_bbml2_bbml2_plain", "final_at_kill": False}


HC_FAILED = [{"id": "45", "actual_device": "vboard-none-01", "health": "Incomplete"}]


def test_the_faulted_nights_checks_pass_and_can_fail(tmp_path):
    """lab-e2e's second night: power failing on vboard-none-01 (LAVA's health
    check then fails and sets it Bad), lava-worker killed under a
    vboard-uniform-01 job, qemu-late-01 in Maintenance; the checks on a
    synthetic night."""
    run, cmp = _faulted_night(tmp_path)
    c = e2e.Checks("t")
    e2e.check_faulted_night(c, run, 3, Killer(), HC_FAILED)
    assert c.ok, [x for x in c.cases if not x[1]]
    assert len(c.cases) == 13
    # the power fault filed as a failure, the killed job lost, the health
    # check never ran, the Maintenance board's job submitted anyway
    cmp["infrastructure"], cmp["flaky"] = [], [{"job": "none-smoke", "name": "smoke.boot"}]
    (run / "compare.json").write_text(json.dumps(cmp))
    (run / "jobs/uniform-kselftest/metadata.json").write_text(json.dumps(
        {"spec": {"board": "vboard-uniform-01"}, "verdict": "error", "lava": {}}))
    (run / "jobs/late-cpu/metadata.json").write_text(json.dumps(
        {"spec": {"board": "qemu-late-01"}, "verdict": "pass", "status": "complete"}))
    c = e2e.Checks("t")
    e2e.check_faulted_night(c, run, 1, Killer(), [])
    failed = sorted(n for n, ok, _ in c.cases if ok is False)
    assert failed == ["night2.exit_3_infrastructure",
                      "night2.maintenance.board_skipped_with_its_reason",
                      "night2.nothing_flaky",
                      "night2.power.each_job_an_infrastructure_error_or_skipped_as_bad",
                      "night2.power.infrastructure_errors_of_its_board_only",
                      "night2.power.lavas_health_check_failed_on_the_board",
                      "night2.the_other_boards_ran",
                      "night2.worker_kill.result_judged_from_the_log"]


def test_a_worker_kill_that_landed_after_the_job_fails(tmp_path):
    """The first lab-e2e's kill landed after an 18 s smoke job had reported:
    the log held lava-run's final result at the kill. That must fail."""
    run, _ = _faulted_night(tmp_path)

    class Late:
        record = {**Killer.record, "final_at_kill": True}
    c = e2e.Checks("t")
    e2e.check_faulted_night(c, run, 3, Late(), HC_FAILED)
    assert [n for n, ok, _ in c.cases if ok is False] == ["night2.worker_killed_mid_job"]


def test_the_kill_waits_for_a_first_test_result_in_the_servers_log():
    """first_test_result on server logs: LAVA's own action results do not
    count, a monitor's does; the final lava/job record is seen."""
    rec = ('- {"dt": "2026-12-05T19:00:00", "lvl": "results", "msg": {"definition": "lava", '
           '"case": "tftp-deploy", "result": "pass"}}\n')
    assert e2e.first_test_result(rec) == (None, False)
    rec += ('- {"dt": "2026-12-05T19:00:09", "lvl": "results", "msg": {"definition": '
            '"0_kselftest", "case": "selftests_arm64_bbml2_bbml2_plain", "result": "pass"}}\n')
    first, final = e2e.first_test_result(rec)
    assert first["case"] == "selftests_arm64_bbml2_bbml2_plain" and final is False
    rec += ('- {"dt": "2026-12-05T19:01:00", "lvl": "results", "msg": {"definition": "lava", '
            '"case": "job", "result": "pass"}}\n')
    assert e2e.first_test_result(rec)[1] is True


def test_the_reset_after_banner_checks_pass_and_can_fail(tmp_path):
    run = tmp_path / "20261205T020000Z-reset-after-banner-abc"
    _job(run, "lab-smoke-none-4c-2048m", "vboard-uniform-01",
         [{"name": "smoke.boot", "result": "fail"}],
         lab={"done": True, "attempts": [{"job_id": "50", "kernel_started":
                                          "the kernel started (Linux version 6.12.118)"}]},
         meta={"status": "complete"})
    c = e2e.Checks("t")
    e2e.check_reset_after_banner(c, run, 1)
    assert c.ok and len(c.cases) == 3, c.cases
    # retried as an infrastructure error: what the review saw before the fix
    (run / "jobs/lab-smoke-none-4c-2048m/lab.json").write_text(json.dumps(
        {"done": True, "attempts": [{"job_id": "50"}, {"job_id": "51"}, {"job_id": "52"}]}))
    (run / "jobs/lab-smoke-none-4c-2048m/results.json").write_text(json.dumps(
        [{"name": "smoke.job", "result": "error", "infra": True}]))
    c = e2e.Checks("t")
    e2e.check_reset_after_banner(c, run, 3)
    assert sorted(n for n, ok, _ in c.cases if ok is False) == [
        "reset.a_test_failure_not_infrastructure", "reset.kernel_banner_seen_not_retried"]


def test_the_runners_user_must_be_refused_an_admin_change(lab):
    """lab-e2e's check that the runner submits as no superuser: its token
    must get 403 for a no-op device-type update; a token that may make it
    fails the check."""
    from test_labrun import server
    fake, _, _, clock = lab
    fake.may_change_device_types = False
    ok, detail = e2e.runner_refused_admin(server(fake, clock))
    assert ok and "fault 403" in detail, detail
    fake.may_change_device_types = True
    ok, detail = e2e.runner_refused_admin(server(fake, clock))
    assert not ok and detail.endswith("may change device types")


def test_the_sigterm_point_and_the_resume_checks(tmp_path):
    """lab-e2e's first night: SIGTERM once a job is finished and another
    runs; then resume. The checks pass on a good record and fail when a job
    was canceled, nothing re-attached, a job resubmitted or a kept result
    rewritten."""
    run = tmp_path / "20261205T030000Z-nightly-abc"
    a = _job(run, "a", BOARD, [{"name": "smoke.x", "result": "pass"}],
             lab={"done": True, "attempts": [{"job_id": "1", "state": "Finished"}]})
    _job(run, "b", BOARD, [], lab={"done": False, "attempts": [{"job_id": "2",
                                                                "state": "Submitted"}]})
    assert not e2e.sigterm_point(run)                     # b is only queued
    (run / "jobs/b/lab.json").write_text(json.dumps(
        {"done": False, "attempts": [{"job_id": "2", "state": "Running"}]}))
    assert e2e.sigterm_point(run)
    rec = {"sigterm_s": 80.0, "rc": 2, "status_after_sigterm": "detached", "canceled": [],
           "resume_rc": 0, "resume_line": "resume 2026...: 1 job(s) already finished, 1 "
                                          "re-attached",
           "done_before": {"a": (a / "results.json").read_bytes()}}
    c = e2e.Checks("t")
    e2e.check_sigterm_resume(c, run, rec)
    assert c.ok and len(c.cases) == 4, c.cases
    bad = {**rec, "canceled": ["b"], "resume_line": "1 job(s) already finished, 0 re-attached"}
    (run / "jobs/b/lab.json").write_text(json.dumps(
        {"done": True, "attempts": [{"job_id": "2"}, {"job_id": "3"}]}))
    (a / "results.json").write_text("[]")
    c = e2e.Checks("t")
    e2e.check_sigterm_resume(c, run, bad)
    assert sorted(n for n, ok, _ in c.cases if ok is False) == [
        "night1.resume.nothing_resubmitted", "night1.resume.reattached",
        "night1.resume.results_of_finished_jobs_kept",
        "night1.sigterm.detached_nothing_canceled"]


def test_the_worker_killer_kills_at_the_first_result_and_restarts(tmp_path, lab, monkeypatch):
    """WorkerKiller against the fake server: it waits for a kselftest job
    Running on the board and for its first result in the server's log,
    SIGKILLs the recorded worker pid (here a process of ours), records that
    the log had no final result yet, waits until the runner judged the job
    and runs the restart command."""
    import subprocess
    from fake_lava import Script, server_log
    from test_labrun import Clock, server
    fake, *_ = lab
    first = json.dumps({"dt": "2026-12-05T19:00:09", "lvl": "results", "msg": {
        "definition": "0_kselftest", "case": "selftests_arm64_bbml2_bbml2_plain",
        "result": "pass"}})
    fake.next_id += 1
    job_id = fake.next_id
    fake.jobs[job_id] = {"name": "uniform-kselftest-none-4c-2048m", "canceled": False,
                         "script": Script(server_log(first), states=("Running",),
                                          device=BOARD),
                         "definition": "", "job_name": "bbml2-lab uniform-kselftest-none"}
    fake.devices[BOARD]["current_job"] = job_id
    victim = subprocess.Popen(["cat"], stdin=subprocess.PIPE)
    pids = tmp_path / "pids"
    pids.mkdir()
    (pids / "worker.pid").write_text(f"{victim.pid}\n")
    run = tmp_path / "results/20261205T040000Z-nightly-abc"
    _job(run, "uniform-kselftest-none-4c-2048m", BOARD, [],
         lab={"done": True, "attempts": [{"job_id": str(job_id)}]})
    monkeypatch.setattr(e2e, "lava_server", lambda env: server(fake, Clock()))
    k = e2e.WorkerKiller({"LAB_PID_DIR": str(pids)}, tmp_path / "results", poll_s=0.01,
                         restart=["true"])
    k.run()
    assert victim.wait(timeout=30) == -9
    assert k.record["job_id"] == str(job_id) and not k.record.get("error"), k.record
    assert k.record["first_result"] == "selftests_arm64_bbml2_bbml2_plain"
    assert k.record["final_at_kill"] is False and k.record["restarted"] is True


def test_wait_idle_waits_for_the_boards_job_to_end(lab):
    """wait_idle returns once the device has no current job (here after two
    polls), with its health; bounded when the job never ends."""
    from test_labrun import Clock, server
    fake, *_ = lab
    polls = []
    orig = fake._device

    def device(hostname):
        polls.append(hostname)
        d = orig(hostname)
        return {**d, "current_job": 7 if len(polls) < 3 else None,
                "state": "Running" if len(polls) < 3 else "Idle"}
    fake.rpc.funcs["scheduler.devices.show"] = device
    assert e2e.wait_idle(server(fake, Clock()), BOARD, poll_s=0.01) == (True, "Good")
    assert len(polls) == 3
    polls.clear()
    fake.rpc.funcs["scheduler.devices.show"] = lambda h: {**orig(h), "current_job": 7,
                                                          "state": "Running"}
    assert e2e.wait_idle(server(fake, Clock()), BOARD, minutes=0.001, poll_s=0.01) == (
        False, "Running, job 7")


def test_wait_idle_settled_waits_for_the_health_check_to_judge(lab):
    """After an infrastructure error the board is Idle and Unknown until the
    scheduler starts its health check: settled=True waits through that
    (and the check itself) for the verdict; without it, Unknown is returned
    at once (health checks off: an Unknown board stays so)."""
    from test_labrun import Clock, server
    fake, *_ = lab
    orig = fake._device
    states = [("Idle", None, "Unknown"), ("Idle", None, "Unknown"),
              ("Running", 9, "Unknown"), ("Idle", None, "Good")]
    polls = []

    def device(hostname):
        state, job, health = states[min(len(polls), len(states) - 1)]
        polls.append(hostname)
        return {**orig(hostname), "state": state, "current_job": job, "health": health}
    fake.rpc.funcs["scheduler.devices.show"] = device
    assert e2e.wait_idle(server(fake, Clock()), BOARD, poll_s=0.01, settled=True) == (True, "Good")
    assert len(polls) == 4
    polls.clear()
    assert e2e.wait_idle(server(fake, Clock()), BOARD, poll_s=0.01) == (True, "Unknown")
    assert len(polls) == 1
