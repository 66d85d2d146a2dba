"""The LAVA server client and lab runs against a scripted fake server
(fake_lava.py): no root, no real server. Logs are real lava-run logs of the
series kernel (data/series-*.jsonl) in the server's log format."""
import io
import json
import os
import re

import pytest

from bbml2lab import LabError, cli, config, labrun, lavaserver, render
from conftest import DATA, LAB, fake_kernel_build
from fake_lava import ArtifactServer, FakeLava, Script, publish, server_log

REPO = LAB.parent
KERNEL_SHA = "270a9ebb361381bf0f2f227f7d7be894275d316e5bab0fe1b413364e75e52515"
RAMDISK_SHA = "59f0a2d9174ccf880ad024aed738e8e327ff95ea3cabf19809a0ce0794dd6b74"
MATRIX = """\
configs: [qemu]
modes: {none: "", "off": "arm64.bbml2=off"}
defaults: {board: vboard-none-01, config: qemu, cpus: 4, mem_mb: 2048, modes: [none],
           cmdline: "rodata=full panic=-1", timeout_min: 5}
plans:
  t:
    - {name: a, suite: smoke}
    - {name: b, suite: smoke}
  one:
    - {name: a, suite: smoke}
  cut:
    - {name: crash, suite: lab-cut}
"""
A, B, CRASH = "a-none-4c-2048m", "b-none-4c-2048m", "crash-none-4c-2048m"


def smoke_log():
    return server_log((DATA / "series-smoke-none.jsonl").read_text())


def cut_log():
    return server_log((DATA / "series-lab-cut.jsonl").read_text())


def infra_log(message="Unable to run 'power_on': lab/vboard/vboard start exited 1"):
    """The real smoke log cut where the board would have been powered on,
    ending the way LAVA ends an infrastructure failure."""
    lines = (DATA / "series-smoke-none.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if '"lvl": "target"' in line)
    tail = [json.dumps({"dt": "2026-12-01T20:43:47.9", "lvl": "error", "msg": message}),
            json.dumps({"dt": "2026-12-01T20:43:48.0", "lvl": "results",
                        "msg": {"definition": "lava", "case": "job", "result": "fail",
                                "error_type": "Infrastructure", "error_msg": message}})]
    return server_log("\n".join(lines[:cut] + tail))


class Clock:
    """Fake time: sleep() advances it (no real waiting in these tests)."""

    def __init__(self):
        self.t, self.slept = 0.0, []

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.slept.append(s)
        self.t += s


@pytest.fixture
def lab(tmp_path):
    """(fake server, artifact base URL, matrix path, clock)."""
    art = tmp_path / "art"
    publish(art, {"qemu/Image": KERNEL_SHA, "qemu/initramfs.cpio.gz": RAMDISK_SHA,
                  "qemu/dtbs/qemu/virt-4c-2048m.dtb": "d" * 64})
    (tmp_path / "matrix.yaml").write_text(MATRIX)
    with FakeLava() as fake, ArtifactServer(art) as srv:
        yield fake, srv.url, tmp_path / "matrix.yaml", Clock()


def server(fake, clock, token=None):
    creds = lavaserver.Credentials(fake.uri, fake.username, token or fake.token)
    return lavaserver.Server(creds, retries=3, backoff=(0.5, 4.0), sleep=clock.sleep)


def run(tmp_path, lab, plan="t", token=None, policy=None):
    """A whole lab run; (exit code, session, output text)."""
    fake, url, matrix_path, clock = lab
    out = io.StringIO()
    matrix = config.load(matrix_path, REPO / "configs/boards.yaml")
    s = labrun.LabSession(tmp_path / "results", plan, REPO, ["test"], server(fake, clock, token),
                          url, plan=plan, out=out, sleep=clock.sleep, clock=clock,
                          policy=policy or labrun.Policy(poll_s=5, log_delay_s=7))
    s.prepare(matrix.expand(plan), matrix.boards, render.Renderer())
    s.go()
    return s.finish(), s, out.getvalue()


def job_results(session, job):
    return {r["name"]: r for r in json.loads(
        (session.run_dir / "jobs" / job / "results.json").read_text())}


def test_pass_job_shaped_like_a_local_run(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Submitted", "Submitted", "Running",
                                                 "Running", "Finished")))
    fake.script(B, Script(smoke_log()))
    code, s, out = run(tmp_path, lab)
    assert code == 0, out
    assert out.splitlines()[-1] == "38 passed, 0 failed, 0 skipped"
    jd = s.run_dir / "jobs" / A
    for f in ("job.yaml", "lab.json", "lava.yaml", "console.log", "lava-results.json",
              "results.json", "junit.xml", "metadata.json", "attempt-1/lava.yaml",
              "attempt-1/show.json", "attempt-1/lava-results.yaml", "attempt-1/results.json"):
        assert (jd / f).is_file(), f
    for f in ("results.json", "junit.xml", "summary.md", "metadata.json", "lab.json"):
        assert (s.run_dir / f).is_file(), f
    lab_json = json.loads((jd / "lab.json").read_text())
    assert lab_json["server"] == fake.uri and lab_json["done"] is True
    assert lab_json["definition_sha256"] == labrun.definition_sha256((jd / "job.yaml").read_text())
    (attempt,) = lab_json["attempts"]
    assert attempt["job_id"] == str(fake.submitted(A)[0][0])
    assert attempt["device"] == "vboard-none-01" and attempt["health"] == "Complete"
    r = job_results(s, A)
    assert r["smoke.kernel.mode_matches_board"]["result"] == "pass"
    assert "board vboard-none-01" in r["smoke.kernel.mode_matches_board"]["detail"]
    assert r["smoke.lava.results_agree"] == {**r["smoke.lava.results_agree"], "result": "pass",
                                             "detail": "6 LAVA result(s) agree"}
    assert r["smoke.lava.artifacts_sha256"]["result"] == "pass"
    meta = json.loads((jd / "metadata.json").read_text())
    assert meta["lava"]["device"] == "vboard-none-01"
    assert meta["wall_s"] > 0          # fake time: submit to the fetched log
    assert r["smoke.lava.device"]["result"] == "pass"
    assert "tags:\n- bbml2-none\n" in (jd / "job.yaml").read_text()
    # the job pins the manifest's hashes
    job = (jd / "job.yaml").read_text()
    assert f"sha256sum: {KERNEL_SHA}" in job and f"sha256sum: {RAMDISK_SHA}" in job


def test_same_results_as_the_local_parse(tmp_path, lab):
    from bbml2lab.job import evaluate
    fake, *_ = lab
    fake.script(A, Script(smoke_log()))
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 0
    expect = {"board": "vboard-none-01", "bbml2": "none", "mode": "none"}
    local, _, _ = evaluate((DATA / "series-smoke-none.jsonl").read_text(), "smoke", expect)
    lab_results = [{k: r[k] for k in ("name", "result", "detail")}
                   for r in json.loads((s.run_dir / "jobs" / A / "results.json").read_text())]
    assert lab_results[:len(local)] == local
    assert [r["name"] for r in lab_results[len(local):]] == ["smoke.lava.results_agree",
                                                             "smoke.lava.artifacts_sha256",
                                                             "smoke.lava.device"]


def test_5xx_while_polling_backs_off_and_finishes(tmp_path, lab):
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), http_500=6))
    code, s, out = run(tmp_path, lab, plan="one")
    assert code == 0, out
    assert "server not answering, will retry" in out
    # the client's own retries back off exponentially between 500s
    assert [x for x in clock.slept if x < 5][:3] == [0.5, 1.0, 2.0]
    assert job_results(s, A)["smoke.lava.job"]["result"] == "pass"


def test_late_log_is_refetched(tmp_path, lab):
    fake, _, _, clock = lab
    fake.script(A, Script(smoke_log(), late_log=2))
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 0
    attempt = json.loads((s.run_dir / "jobs" / A / "lab.json").read_text())["attempts"][0]
    assert attempt["log_refetches"] == 2
    assert clock.slept.count(7) == 2
    assert job_results(s, A)["smoke.lava.job"]["result"] == "pass"


def test_log_that_never_completes_is_a_failure_not_a_loss(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), late_log=99))
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 1
    r = job_results(s, A)
    assert r["smoke.lava.job"] == {**r["smoke.lava.job"], "result": "fail",
                                   "detail": "no job verdict in the LAVA log"}
    assert r["smoke.boot"]["result"] == "pass"        # what did arrive is kept


def test_rejected_submit_others_go_on(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), reject="device type bbml2-qemu-uboot not found"))
    fake.script(B, Script(smoke_log()))
    code, s, out = run(tmp_path, lab)
    assert code == 2
    ra, rb = job_results(s, A), job_results(s, B)
    assert list(ra) == ["smoke.job"]
    assert re.fullmatch(r"rejected at submit: LAVA http://127\.0\.0\.1:\d+/RPC2 "
                        r"scheduler\.jobs\.submit: fault 400: Problem with submitted job data: "
                        r"device type bbml2-qemu-uboot not found", ra["smoke.job"]["detail"])
    assert rb["smoke.lava.job"]["result"] == "pass"
    assert out.splitlines()[-1] == "19 passed, 1 failed, 0 skipped (1 errors)"


def test_infrastructure_failure_before_boot_is_resubmitted_at_most_twice(tmp_path, lab):
    """Power failing on every attempt: one infrastructure error of the board,
    its own exit status (3), no test failure."""
    fake, *_ = lab
    fake.script(A, *[Script(infra_log(), health="Incomplete") for _ in range(3)])
    code, s, out = run(tmp_path, lab, plan="one")
    assert code == labrun.INFRA_EXIT == 3
    assert len(fake.submitted(A)) == 3
    jd = s.run_dir / "jobs" / A
    attempts = json.loads((jd / "lab.json").read_text())["attempts"]
    assert [a["n"] for a in attempts] == [1, 2, 3]
    assert [a["retry"]["resubmit"] for a in attempts] == [True, True, False]
    assert attempts[2]["retry"]["why"] == "resubmitted 2 times already"
    assert all((jd / f"attempt-{n}/lava.yaml").is_file() for n in (1, 2, 3))
    # each attempt's own parse is kept; the job is one infrastructure error
    first = json.loads((jd / "attempt-1/results.json").read_text())
    assert any(r["name"] == "smoke.lava.job" and r["detail"].startswith("Infrastructure: Unable")
               for r in first)
    (only,) = job_results(s, A).values()
    assert only["name"] == "smoke.job" and only["result"] == "error" and only["infra"] is True
    assert only["detail"] == ("infrastructure error on vboard-none-01 after 3 attempts, no "
                              "kernel started: Unable to run 'power_on': lab/vboard/vboard "
                              "start exited 1")
    meta = json.loads((jd / "metadata.json").read_text())
    assert meta["status"] == "infrastructure" and meta["infrastructure"]["attempts"] == 3
    assert "INFRASTRUCTURE ERROR on vboard-none-01 after 3 attempts" in out
    assert out.splitlines()[-1] == "0 passed, 0 failed, 0 skipped (1 infrastructure error)"


def test_infrastructure_fault_retried_once_then_passes(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(infra_log(), health="Incomplete"), Script(smoke_log()))
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 0
    assert len(fake.submitted(A)) == 2
    meta = json.loads((s.run_dir / "jobs" / A / "metadata.json").read_text())
    assert [a["health"] for a in meta["attempts"]] == ["Incomplete", "Complete"]
    assert json.loads((s.run_dir / "metadata.json").read_text())["jobs"][0]["attempts"] == 2


def test_crash_after_boot_is_never_retried(tmp_path, lab):
    """A panic closing the QEMU console is LAVA's "Connection closed", an
    infrastructure error: after the boot marker it is a test failure."""
    fake, *_ = lab
    fake.script(CRASH, Script(cut_log(), health="Incomplete"),
                Script(smoke_log()))               # a retry would pass: must not happen
    code, s, _ = run(tmp_path, lab, plan="cut")
    assert code == 1
    assert len(fake.submitted(CRASH)) == 1
    r = job_results(s, CRASH)
    assert r["lab-cut.lava.job"]["detail"] == "Infrastructure: Connection closed"
    assert r["lab-cut.kernel.no_splat"]["result"] == "fail"
    assert r["lab-cut.missing_2"]["result"] == "fail"
    (attempt,) = json.loads((s.run_dir / "jobs" / CRASH / "lab.json").read_text())["attempts"]
    assert attempt["retry"] == {"resubmit": False, "why": "the guest booted (boot marker seen): "
                                "a test failure, not retried"}


def test_retry_rule_needs_every_condition():
    from bbml2lab import console
    booted = console.parse("bbml2-lab: boot suite=smoke cpus=0-3 mem_kb=1\n")
    splat = console.parse("[    1.000000] Unable to handle kernel NULL pointer dereference\n")
    silent = console.parse("")
    infra = {"error_type": "Infrastructure", "error_msg": "x"}
    inc = {"health": "Incomplete"}
    assert labrun.should_resubmit(inc, infra, silent, 1)[0] is True
    assert labrun.should_resubmit({"health": "Complete"}, infra, silent, 1)[0] is False
    assert labrun.should_resubmit(inc, {"error_type": "Job"}, silent, 1)[0] is False
    assert labrun.should_resubmit(inc, infra, booted, 1)[0] is False
    assert labrun.should_resubmit(inc, infra, splat, 1)[0] is False
    assert labrun.should_resubmit(inc, infra, silent, 3) == (False, "resubmitted 2 times already")


def test_resume_after_the_runner_was_killed(tmp_path, lab):
    fake, url, matrix_path, clock = lab
    fake.script(A, Script(smoke_log(), states=("Running",) * 3 + ("Finished",)))
    fake.script(B, Script(smoke_log()))
    matrix = config.load(matrix_path, REPO / "configs/boards.yaml")
    s = labrun.LabSession(tmp_path / "results", "t", REPO, ["test"], server(fake, clock), url,
                          plan="t", out=io.StringIO(), sleep=clock.sleep, clock=clock,
                          policy=labrun.Policy(poll_s=5))
    s.prepare(matrix.expand("t"), matrix.boards, render.Renderer())
    s.submit_all()
    job_a = next(j for j in s.lab_jobs if j.spec.name == A)
    job_b = next(j for j in s.lab_jobs if j.spec.name == B)
    s._poll(job_b)                     # b: Submitted
    s._poll(job_b)                     # b: Running
    s._poll(job_b)                     # b: Finished -> recorded
    assert job_b.done and not job_a.done
    del s                              # the runner is killed here
    submits = len(fake.submitted())
    out = io.StringIO()
    r = labrun.resume(job_a.dir.parent.parent, lambda uri: server(fake, clock), REPO,
                      ["resume"], out=out, sleep=clock.sleep, clock=clock)
    r.go()
    code = r.finish()
    assert code == 0
    assert len(fake.submitted()) == submits              # re-attached, nothing resubmitted
    assert "1 job(s) already finished, 1 re-attached" in out.getvalue()
    meta = json.loads((r.run_dir / "metadata.json").read_text())
    assert [j["name"] for j in meta["jobs"]] == [B, A]
    assert meta["resumed"][0]["argv"] == ["resume"] and meta["argv"] == ["test"]
    assert out.getvalue().splitlines()[-1] == "38 passed, 0 failed, 0 skipped"


def test_sigterm_detaches_then_resume_reattaches(tmp_path, lab):
    """SIGTERM mid-night: the run is recorded as detached, nothing is
    canceled; resume re-attaches both jobs and keeps every result."""
    fake, url, matrix_path, clock = lab
    fake.script(A, Script(smoke_log(), states=("Running",) * 4 + ("Finished",)))
    fake.script(B, Script(smoke_log(), states=("Running",) * 4 + ("Finished",)))

    def sleep(s):
        raise labrun.Terminated()
    matrix = config.load(matrix_path, REPO / "configs/boards.yaml")
    s = labrun.LabSession(tmp_path / "results", "t", REPO, ["test"], server(fake, clock), url,
                          plan="t", out=io.StringIO(), sleep=sleep, clock=clock)
    s.prepare(matrix.expand("t"), matrix.boards, render.Renderer())
    s.meta["health_checks"] = {"installed": ["bbml2-qemu-uboot"]}    # the nightly's record
    s.go()
    assert s.finish() == 2
    assert not any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)
    meta = json.loads((s.run_dir / "metadata.json").read_text())
    assert meta["status"] == "detached" and meta["detached"][0]["why"] == "terminated (SIGTERM)"
    assert meta["detached"][0]["live"] == [A, B] and meta["jobs"] == []
    submits = len(fake.submitted())
    out = io.StringIO()
    r = labrun.resume(s.run_dir, lambda uri: server(fake, clock), REPO, ["resume"], out=out,
                      sleep=clock.sleep, clock=clock)
    r.go()
    assert r.finish() == 0
    assert len(fake.submitted()) == submits and "0 job(s) already finished, 2 re-attached" \
        in out.getvalue()
    assert not any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)
    meta = json.loads((r.run_dir / "metadata.json").read_text())
    assert meta["status"] == "complete" and meta["resumed"][0]["was"] == "detached"
    assert meta["detached"][0]["why"] == "terminated (SIGTERM)"      # the history stays
    # and what the night did before submitting (lab-e2e found it gone)
    assert meta["health_checks"] == {"installed": ["bbml2-qemu-uboot"]}
    assert out.getvalue().splitlines()[-1] == "38 passed, 0 failed, 0 skipped"


def test_deadline_cancels_and_reports(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Submitted",)))
    code, s, _ = run(tmp_path, lab, plan="one", policy=labrun.Policy(poll_s=5, deadline_s=60))
    assert code == 2
    assert "overall deadline of 60 s passed" in job_results(s, A)["smoke.job"]["detail"]
    assert any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)


def test_a_job_canceled_at_the_deadline_keeps_its_partial_log(tmp_path, lab):
    """A hung console: the job is canceled at the deadline, and the log the
    server holds so far (console included) is kept and parsed."""
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Running",), late_log=99))
    code, s, _ = run(tmp_path, lab, plan="one", policy=labrun.Policy(poll_s=5, deadline_s=60))
    assert code == 2
    jd = s.run_dir / "jobs" / A
    assert "bbml2-lab: boot suite=smoke" in (jd / "console.log").read_text()
    assert (jd / "lava.yaml").stat().st_size > 0 and (jd / "attempt-1/lava.yaml").is_file()
    r = job_results(s, A)
    assert r["smoke.boot"]["result"] == "pass"               # what the cut log shows
    assert r["smoke.job"]["result"] == "error"
    assert "overall deadline of 60 s passed" in r["smoke.job"]["detail"]
    meta = json.loads((jd / "metadata.json").read_text())
    assert meta["partial_log"]["console_lines"] > 0 and meta["attempts"][0]["canceled"]


def test_artifact_404_fails_only_the_jobs_that_use_it(tmp_path, lab):
    fake, url, matrix_path, clock = lab
    (tmp_path / "matrix.yaml").write_text(MATRIX.replace(
        "    - {name: b, suite: smoke}", "    - {name: b, suite: smoke, board: vboard-uniform-01}"))
    os.unlink(tmp_path / "art/qemu/dtbs/qemu/virt-4c-2048m.dtb")
    fake.script(A, Script(smoke_log()))
    code, s, _ = run(tmp_path, lab)
    assert code == 2
    for job in (A, B):            # both boards boot that dtb
        d = job_results(s, job)["smoke.job"]["detail"]
        assert re.fullmatch(r"artifact http://127\.0\.0\.1:\d+/qemu/dtbs/qemu/virt-4c-2048m\.dtb: "
                            r"HTTP 404", d), d
    assert fake.submitted() == []


def test_bad_token_one_line_nothing_submitted(tmp_path, lab, capsys, monkeypatch):
    fake, url, matrix_path, _ = lab
    monkeypatch.setenv("LAVA_URI", fake.uri)
    monkeypatch.setenv("LAVA_USER", fake.username)
    monkeypatch.setenv("LAVA_TOKEN", "wrong-token-0123")
    rc = cli.main(["lab", "--plan", "t", "--matrix", str(matrix_path), "--artifact-url", url,
                   "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2
    assert re.fullmatch(r"error: LAVA http://127\.0\.0\.1:\d+/RPC2 system\.version: HTTP 401 "
                        r"Unauthorized \(check the user and token\)\n", err), err
    assert "wrong-token-0123" not in err and fake.submitted() == []


def test_unreachable_server_one_line(tmp_path, capsys, monkeypatch):
    slept = []
    monkeypatch.setattr(lavaserver, "_sleep", slept.append)
    monkeypatch.setenv("LAVA_URI", "http://127.0.0.1:9/RPC2")
    monkeypatch.setenv("LAVA_USER", "u")
    monkeypatch.setenv("LAVA_TOKEN", "tok-unreachable-77")
    rc = cli.main(["lab", "--plan", "smoke", "--artifact-url", "http://127.0.0.1:9",
                   "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: LAVA http://127.0.0.1:9/RPC2 system.version: cannot reach "
                          "the server: ")
    assert slept == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_token_is_redacted_everywhere(tmp_path, lab, capsys):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), reject=f"echo of the token {fake.token}"))
    fake.script(B, Script(infra_log(f"power failed for {fake.token}"), health="Incomplete"),
                Script(smoke_log()))
    code, s, out = run(tmp_path, lab)
    assert code == 2
    assert fake.token not in out + "".join(capsys.readouterr())
    srv = server(fake, Clock())
    assert srv.redact(f"x {fake.token} y") == "x <redacted> y"
    assert fake.token not in repr(srv.creds)
    leaks = [p for p in s.run_dir.rglob("*") if p.is_file() and fake.token in p.read_text()]
    assert leaks == []
    assert "power failed for <redacted>" in (s.run_dir / "jobs" / B / "attempt-1/lava.yaml").read_text()


def test_token_file_others_can_read_is_refused(tmp_path):
    f = tmp_path / "lava.yaml"
    f.write_text("uri: http://127.0.0.1:1/RPC2\nusername: u\ntoken: t0k3n-file\n")
    f.chmod(0o644)
    with pytest.raises(LabError) as e:
        lavaserver.credentials(env={}, path=f)
    assert str(e.value) == f"{f}: readable by group or others (mode 0644); run chmod 600 {f}"
    assert "t0k3n-file" not in str(e.value)
    f.chmod(0o600)
    c = lavaserver.credentials(env={}, path=f)
    assert (c.uri, c.username, c.token) == ("http://127.0.0.1:1/RPC2", "u", "t0k3n-file")


def test_environment_wins_and_uri_with_userinfo_is_refused(tmp_path):
    env = {"LAVA_URI": "http://127.0.0.1:1/RPC2", "LAVA_USER": "e", "LAVA_TOKEN": "env-tok"}
    assert lavaserver.credentials(env=env, path=tmp_path / "none").username == "e"
    with pytest.raises(LabError, match=r"^LAVA username not set in .*c\.yaml$"):
        lavaserver.credentials(env={"LAVA_TOKEN": ""}, path=_write(tmp_path, "uri: x\n"))
    with pytest.raises(LabError, match=r"must not carry user:token"):
        lavaserver.credentials(env={**env, "LAVA_URI": "http://u:env-tok@h/RPC2"})
    with pytest.raises(LabError, match=r"^no LAVA credentials"):
        lavaserver.credentials(env={}, path=tmp_path / "none")


def _write(tmp_path, text):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    f.chmod(0o600)
    return f


def test_server_log_format_parses_like_lava_run(tmp_path):
    from bbml2lab import lavalog
    text = (DATA / "series-smoke-none.jsonl").read_text()
    local, remote = lavalog.parse(text), lavalog.parse(server_log(text))
    assert remote.bad_lines == [] and remote.records == local.records
    assert remote.console == local.console and remote.verdict == local.verdict
    assert server_log(text).splitlines()[0].startswith("- {dt: ")


def test_real_server_log_and_results(tmp_path):
    """A log and results fetched from the local lava-server 2023.01 (job on
    vboard-uniform-01, smoke, mode none): the same parser, the mission check
    (uniform -> blocks) and LAVA's results agreeing with ours."""
    from bbml2lab import lavalog
    from bbml2lab.job import evaluate
    text = (DATA / "server-smoke-uniform.yaml").read_text()
    assert text.startswith('- {"dt": ')
    expect = {"board": "vboard-uniform-01", "bbml2": "uniform", "mode": "none"}
    results, con, log = evaluate(text, "smoke", expect)
    assert log.bad_lines == [] and con.boot["cpus"] == "0-3"
    assert [r["name"] for r in results if r["result"] != "pass"] == []
    mode = next(r for r in results if r["name"] == "smoke.kernel.mode_matches_board")
    assert "kernel reports blocks" in mode["detail"]
    lava = labrun._results_list((DATA / "server-smoke-uniform.results.yaml").read_text())
    assert labrun.cross_check(results, lava, "smoke")["detail"] == "6 LAVA result(s) agree"
    labels = sorted(r["extra"]["label"] for r in log.results
                    if str(r.get("case")).endswith("-download"))
    assert labels == ["dtb", "kernel", "ramdisk"]
    # a monitor result LAVA has but we do not is a disagreement
    assert labrun.cross_check(results[:3], lava, "smoke")["result"] == "fail"


def test_sigterm_to_the_runner_process_detaches(tmp_path, lab):
    """The real signal path: `run.py lab` in its own process, SIGTERM once it
    is polling; it records the run as detached, cancels nothing, and
    `run.py cancel RUN` then cancels both jobs, keeping their partial logs."""
    import signal
    import subprocess
    import sys
    fake, url, matrix_path, _ = lab
    fake.script(A, Script(smoke_log(), states=("Running",)))
    fake.script(B, Script(smoke_log(), states=("Running",)))
    env = {**os.environ, "LAVA_URI": fake.uri, "LAVA_USER": fake.username,
           "LAVA_TOKEN": fake.token}
    proc = subprocess.Popen([sys.executable, str(LAB / "run.py"), "lab", "--plan", "t",
                             "--matrix", str(matrix_path), "--artifact-url", url,
                             "--results", str(tmp_path / "r"), "--poll", "0.2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert fake.wait_for("scheduler.jobs.show"), "the runner never polled"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, out
    assert not any(m == "scheduler.jobs.cancel" for m, _ in fake.calls)
    assert "detached (terminated (SIGTERM)): 2 job(s) not finished, nothing canceled" in out
    (run_dir,) = (tmp_path / "r").iterdir()
    assert json.loads((run_dir / "metadata.json").read_text())["status"] == "detached"
    assert fake.token not in out
    p = subprocess.run([sys.executable, str(LAB / "run.py"), "cancel", str(run_dir)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert p.returncode == 2, p.stdout
    canceled = sorted(int(a[0]) for m, a in fake.calls if m == "scheduler.jobs.cancel")
    assert canceled == sorted(i for i, _ in fake.submitted()) and len(canceled) == 2
    for job in (A, B):
        r = json.loads((run_dir / "jobs" / job / "results.json").read_text())
        assert {x["name"]: x for x in r}["smoke.boot"]["result"] == "pass"   # partial log kept
        assert r[-1]["detail"].startswith("canceled by `run.py cancel` (LAVA job ")
    assert p.stdout.splitlines()[-1].endswith("(2 errors)")


def test_server_error_mapping(lab):
    fake, _, _, clock = lab
    srv = server(fake, clock)
    assert srv.check() == ("2023.01", fake.username)
    with pytest.raises(lavaserver.PermanentError) as e:
        srv.show("99999")
    assert e.value.code == 404 and not e.value.temporary
    assert str(e.value).endswith("scheduler.jobs.show: fault 404: Job '99999' was not found.")
    assert clock.slept == []                                   # 4xx: no retry
    fake.script(A, Script(smoke_log(), http_500=99))
    (job_id,) = srv.submit(f"job_name: bbml2-lab {A}\n")
    with pytest.raises(lavaserver.TemporaryError, match=r"HTTP 500"):
        srv.show(job_id)
    assert clock.slept == [0.5, 1.0, 2.0]                      # backoff, then give up
    srv.cancel("99999")                                        # already gone: not an error


def test_a_server_that_ignores_the_token_is_refused(lab):
    fake, _, _, clock = lab
    fake.ignore_auth = True
    with pytest.raises(lavaserver.AuthError, match=r"the token of user 'lab-admin' was not "
                                                   r"accepted"):
        server(fake, clock).check()


def test_a_job_that_vanishes_is_an_error_the_others_go_on(tmp_path, lab):
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), states=("Running",)))
    fake.script(B, Script(smoke_log()))
    orig = fake._job

    def vanish(job_id):
        if fake.jobs[int(job_id)]["name"] == A:
            raise __import__("xmlrpc.client").client.Fault(404, f"Job '{job_id}' was not found.")
        return orig(job_id)
    fake._job = vanish
    code, s, _ = run(tmp_path, lab)
    assert code == 2
    assert job_results(s, A)["smoke.job"]["detail"].endswith("fault 404: Job '101' was not found.")
    assert job_results(s, B)["smoke.lava.job"]["result"] == "pass"


def test_a_job_run_on_another_board_fails_and_says_where(tmp_path, lab):
    """Boards share a device type: a job LAVA ran elsewhere is a failure
    (seen on the local lab before jobs requested their board's tags)."""
    fake, *_ = lab
    fake.script(A, Script(smoke_log(), device="vboard-uniform-01"))
    code, s, _ = run(tmp_path, lab, plan="one")
    assert code == 1
    r = job_results(s, A)["smoke.lava.device"]
    assert r["result"] == "fail"
    assert r["detail"] == "LAVA ran it on vboard-uniform-01; board vboard-none-01 is device vboard-none-01"


def test_a_submit_answered_with_5xx_is_not_retried(tmp_path, lab):
    """A retry could create the job twice: that job is an error, the rest go on."""
    fake, *_ = lab
    fake.script(A, Script(smoke_log()))
    fake.script(B, Script(smoke_log()))
    fake.submit_500 = 1
    code, s, _ = run(tmp_path, lab)
    assert code == 2
    submits = [m for m, _ in fake.calls if m == "scheduler.jobs.submit"]
    assert len(submits) == 2                     # a once (500), b once
    d = job_results(s, A)["smoke.job"]["detail"]
    assert re.fullmatch(r"submit failed, not retried: LAVA http://127\.0\.0\.1:\d+/RPC2 "
                        r"scheduler\.jobs\.submit: HTTP 500 .*", d), d
    assert job_results(s, B)["smoke.lava.job"]["result"] == "pass"


def test_lab_jobs_expect_what_the_published_allow_list_says(tmp_path, lab):
    """The mode check of a lab job uses the allow-list publish recorded for
    the job's kernel config (manifest allow_lists), as a local job reads it
    from the Image's tree; a manifest without it (an older publish) keeps
    the inventory's class. The log is the series' smoke boot on
    vboard-none-01 (V3 r0p1): pte, right for the series' list."""
    from bbml2lab import publish
    fake, url, matrix_path, clock = lab
    fake.script(A, Script(smoke_log()), Script(smoke_log()), Script(smoke_log()))
    code, s, out = run(tmp_path / "old", lab, plan="one")
    mode = job_results(s, A)["smoke.kernel.mode_matches_board"]
    assert code == 0 and mode["result"] == "pass", out
    assert "allow-list" not in mode["detail"]
    # a kernel whose tree lists every Neoverse-V3: the board is uniform for
    # it, so the same pte boot is now a failure that names the list
    image = fake_kernel_build(tmp_path / "build/kernel-qemu",
                              ["MIDR_ALL_VERSIONS(MIDR_NEOVERSE_V3)"])
    manifest = tmp_path / "art/manifest.json"
    data = json.loads(manifest.read_text())
    data["allow_lists"] = {"qemu": publish.allow_list(image)}
    manifest.write_text(json.dumps(data))
    code, s, out = run(tmp_path / "new", lab, plan="one")
    mode = job_results(s, A)["smoke.kernel.mode_matches_board"]
    assert code == 1 and mode["result"] == "fail", out
    tree = (tmp_path / "build/kernel-qemu-src").resolve()
    assert mode["detail"].startswith(
        f"board vboard-none-01 (allow-list: bbml2_noabort_list[] of {tree}): ")
    assert "blocks" in mode["detail"]
    # a record without a list (the tree was unreadable at publish): the
    # inventory's class again, and the detail says why
    data["allow_lists"] = {"qemu": {"why": "allow-list: cannot read the kernel tree /x"}}
    manifest.write_text(json.dumps(data))
    code, s, out = run(tmp_path / "why", lab, plan="one")
    mode = job_results(s, A)["smoke.kernel.mode_matches_board"]
    assert code == 0 and mode["result"] == "pass", out
    assert "(allow-list: the inventory's class (allow-list: cannot read the kernel tree /x))" \
        in mode["detail"]
