"""Results directories: atomic writes, never overwritten, errors recorded."""
import json
import os
import shutil

import pytest

from bbml2lab import cli, config, fsutil, job, lavarun, render, report
from bbml2lab.session import Session
from conftest import LAB

REPO = LAB.parent


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "f.json"
    fsutil.atomic_write_json(p, {"a": 1})
    fsutil.atomic_write(p, "new\n")
    assert p.read_text() == "new\n"
    assert sorted(os.listdir(tmp_path)) == ["f.json"]
    assert oct(p.stat().st_mode & 0o777) == "0o644"


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(TypeError):
        fsutil.atomic_write(p, 42)
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        fsutil.atomic_write(p, "new content")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_run_dir_never_reused(tmp_path, monkeypatch):
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr(fsutil.secrets, "token_hex", lambda n: next(suffixes))
    first = fsutil.new_run_dir(tmp_path, "smoke")
    (first / "keep").write_text("earlier run")
    second = fsutil.new_run_dir(tmp_path, "smoke")
    assert first != second and second.name.endswith("-smoke-bbbbbb")
    assert (first / "keep").read_text() == "earlier run"
    assert first.name[:16] == second.name[:16] and first.name[15] == "Z"


def test_job_dir_names_unique(tmp_path):
    assert fsutil.new_job_dir(tmp_path, "a").name == "a"
    assert fsutil.new_job_dir(tmp_path, "a").name == "a_2"


@pytest.fixture
def matrix():
    return config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")


@pytest.fixture
def fake_lava(monkeypatch, data, tmp_path):
    """lava-run replaced: 'boots' by copying a fixture log chosen by kernel name."""
    def run(job_path, device_path, output_dir, log_path, job_id, timeout_s):
        kernel = next(line for line in open(job_path) if "url: file://" in line).split("/")[-1]
        shutil.copy(data / kernel.strip().replace("Image-", ""), log_path)
        return lavarun.RunOutcome(rc=0, wall_s=1.5, timed_out=False)
    monkeypatch.setattr(lavarun, "run", run)
    monkeypatch.setattr(lavarun, "check_environment", lambda: None)
    monkeypatch.setattr(render.Renderer, "device", lambda self, spec, board: "actions: {}\n")
    kernels = tmp_path / "k"
    kernels.mkdir()
    for name in ("series-smoke-none.jsonl", "tagged-garbage.jsonl"):
        (kernels / f"Image-{name}").write_bytes(b"\0Linux version 6.12.0-test (x) #1\n")
    initrd = kernels / "initrd"
    initrd.write_bytes(b"070701")
    return kernels, initrd


def test_session_records_errors_and_keeps_earlier_jobs(tmp_path, matrix, fake_lava):
    kernels, initrd = fake_lava
    specs = matrix.expand("smoke", {"cpus": [1, 2, 4]})
    images = {1: kernels / "Image-series-smoke-none.jsonl", 2: tmp_path / "missing/Image",
              4: kernels / "Image-tagged-garbage.jsonl"}
    session = Session(tmp_path / "results", "t", REPO, ["test"], out=open(os.devnull, "w"))
    session.run(specs, matrix.boards, lambda s: job.Artifacts(images[s.cpus], initrd),
                render.Renderer())
    code = session.finish()
    assert code == 2
    run = session.run_dir
    jobs = {p.name: p for p in (run / "jobs").iterdir()}
    assert set(jobs) == {"smoke-none-1c-1024m", "smoke-none-2c-1024m", "smoke-none-4c-1024m"}

    ok = json.loads((jobs["smoke-none-1c-1024m"] / "metadata.json").read_text())
    assert ok["status"] == "complete" and ok["verdict"] == "pass"
    assert ok["kernel"]["image_version"] == "6.12.0-test (x) #1"
    assert ok["kernel"]["console_version"].startswith("6.12.117")
    for f in ("job.yaml", "device.yaml", "lava.jsonl", "console.log", "results.json",
              "junit.xml", "metadata.json"):
        assert (jobs["smoke-none-1c-1024m"] / f).is_file(), f

    bad = json.loads((jobs["smoke-none-2c-1024m"] / "metadata.json").read_text())
    assert bad["status"] == "error"
    assert bad["error"] == f"kernel image not found: {tmp_path}/missing/Image"
    bad_results = json.loads((jobs["smoke-none-2c-1024m"] / "results.json").read_text())
    assert bad_results == [{"name": "smoke.job", "result": "error", "detail": bad["error"],
                            "suite": "smoke", "job": "smoke-none-2c-1024m"}]

    garbage = json.loads((jobs["smoke-none-4c-1024m"] / "metadata.json").read_text())
    assert garbage["lava"]["log_bad_lines"] == 3 and garbage["status"] == "complete"

    all_results = json.loads((run / "results.json").read_text())
    assert {r["job"] for r in all_results} == set(jobs)
    assert sum(r["result"] == "pass" for r in all_results
               if r["job"] == "smoke-none-1c-1024m") == 16
    mode = next(r for r in all_results if r["name"] == "smoke.kernel.mode_matches_board"
                and r["job"] == "smoke-none-1c-1024m")
    assert mode["result"] == "pass" and mode["detail"].startswith("board qemu-virt: kernel reports pte")
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["exit_code"] == 2 and meta["status"] == "complete"
    assert meta["summary"] == report.summary_line(all_results)
    summary = (run / "summary.md").read_text()
    assert "| smoke-none-2c-1024m | **error** |" in summary
    assert summary.rstrip().endswith(report.summary_line(all_results))
    junit = (run / "junit.xml").read_text()
    assert junit.count("<testsuite ") == 3 and 'errors="1"' in junit


def test_cli_setup_error_makes_a_results_dir(tmp_path, capsys):
    rc = cli.main(["matrix", "--plan", "smoke", "--modes", "bogus", "--kernel", "/nope",
                   "--results", str(tmp_path)])
    assert rc == 2
    (run,) = tmp_path.iterdir()
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["status"] == "error" and meta["error"].startswith("--modes: unknown mode 'bogus'")
    out = capsys.readouterr().out
    assert "error: --modes: unknown mode 'bogus'" in out
    assert out.rstrip().endswith("0 passed, 1 failed, 0 skipped (1 errors)")


def test_cli_missing_kernel_records_job_error(tmp_path, capsys):
    rc = cli.main(["run", "--suite", "smoke", "--kernel", str(tmp_path / "Image"),
                   "--results", str(tmp_path / "r")])
    assert rc == 2
    (run,) = (tmp_path / "r").iterdir()
    meta = json.loads((run / "jobs/smoke-none-4c-1024m/metadata.json").read_text())
    assert meta["status"] == "error" and "kernel image not found" in meta["error"]
    assert "smoke-none-4c-1024m: ERROR" in capsys.readouterr().out


def test_summary_line_counts():
    rs = [{"result": x} for x in ("pass", "pass", "fail", "skip", "error")]
    assert report.summary_line(rs) == "2 passed, 2 failed, 1 skipped (1 errors)"
    assert report.summary_line(rs[:2] + rs[3:4]) == "2 passed, 0 failed, 1 skipped"


def test_junit_survives_control_characters():
    import xml.etree.ElementTree as ET
    text = report.junit([("j", [{"name": "a\x01", "result": "fail", "detail": "x\x1b[0m",
                                 "suite": "s"}], 1.0)])
    assert ET.fromstring(text.split("\n", 1)[1]).find("testsuite").get("failures") == "1"
