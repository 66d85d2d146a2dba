"""lava-run invocation: log capture, host-side timeout, unique job ids."""
import os
import select

from bbml2lab import lavarun


def fake_lava_run(tmp_path, body):
    script = tmp_path / "fake-lava-run"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_log_captured_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr(lavarun, "LAVA_RUN", fake_lava_run(
        tmp_path, 'echo \'{"dt": 1, "lvl": "info", "msg": "hi"}\' >&2\nexit 1\n'))
    out = lavarun.run("job.yaml", "dev.yaml", tmp_path, tmp_path / "lava.jsonl", "id-1", 30)
    assert out.rc == 1 and not out.timed_out
    assert (tmp_path / "lava.jsonl").read_text() == '{"dt": 1, "lvl": "info", "msg": "hi"}\n'
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_timeout_kills_the_process_group(tmp_path, monkeypatch):
    pidfile = tmp_path / "child.pid"
    monkeypatch.setattr(lavarun, "LAVA_RUN", fake_lava_run(
        tmp_path, f'echo started >&2\nsleep 300 &\necho $! > {pidfile}\nwait\n'))
    # 5 s leaves the fake time to start even on a loaded machine
    out = lavarun.run("job.yaml", "dev.yaml", tmp_path, tmp_path / "lava.jsonl", "id-2", 5)
    assert out.timed_out and out.rc is None and 5 <= out.wall_s < 30
    assert (tmp_path / "lava.jsonl").read_text() == "started\n"
    child = int(pidfile.read_text())
    try:
        fd = os.pidfd_open(child)      # the background "qemu" is gone...
    except ProcessLookupError:
        return
    # ...or dies now: a SIGKILLed process can still be runnable for a moment on
    # a loaded machine; its pidfd turns readable when it has exited (bounded wait)
    try:
        assert select.select([fd], [], [], 10)[0], f"pid {child} survived the group kill"
    finally:
        os.close(fd)


def test_job_ids_are_unique():
    ids = {lavarun.unique_job_id("abc123") for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("bbml2-abc123-") for i in ids)
