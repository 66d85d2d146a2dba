"""The nightly: night-to-night comparison, retention, the lock, the units,
and two whole nights through the fake server."""
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bbml2lab import LabError, cli, compare, lavaserver, nightly
from conftest import DATA, LAB
from fake_lava import Script
from test_labrun import A, B, MATRIX, infra_log, lab, smoke_log  # noqa: F401 (fixture)

REPO = LAB.parent


def res(job, name, result, detail=""):
    return {"job": job, "name": name, "result": result, "detail": detail, "suite": "s"}


def test_compare_new_fixed_flaky_missing():
    prev = [res("j", "t.a", "pass"), res("j", "t.b", "fail"), res("j", "t.c", "pass"),
            res("j", "t.gone", "pass"), res("k", "t.f", "fail")]
    cur = [res("j", "t.a", "fail", "boom\nmore"), res("j", "t.b", "pass"), res("j", "t.c", "pass"),
           res("j", "t.new", "error"), res("k", "t.f", "pass")]
    older = [[res("k", "t.f", "pass")]]
    c = compare.compare(cur, prev, older)
    assert [(i["name"], i["previous"], i["detail"]) for i in c["new_failures"]] == \
        [("t.a", "pass", "boom"), ("t.new", None, "")]
    assert [i["name"] for i in c["fixed"]] == ["t.b"]
    assert [i["name"] for i in c["flaky"]] == ["t.f"]          # pass, fail, pass
    assert c["missing"] == [{"job": "j", "name": "t.gone", "previous": "pass"}]
    assert c["new_tests"] == 1
    md = compare.markdown(c, "night2", "night1")
    assert md.startswith("# night2 against night1\n\n2 new failure(s), 1 fixed, 1 flaky, "
                         "1 missing, 1 new test(s)")
    assert "- `j` `t.a` fail (was pass): boom" in md


def test_a_failure_in_a_retried_job_is_flaky():
    c = compare.compare([res("j", "t.a", "fail")], [res("j", "t.a", "pass")], retried_jobs={"j"})
    assert c["new_failures"] == [] and [i["name"] for i in c["flaky"]] == ["t.a"]


def _night(root, stamp, results, jobs=True):
    d = root / f"{stamp}-nightly-abc123"
    (d / "jobs/x").mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(results))
    (d / "metadata.json").write_text(json.dumps({"jobs": []}))
    (d / "summary.md").write_text("s\n")
    return d


def test_finish_night_links_latest_and_prunes_keeping_summaries(tmp_path):
    nights = [_night(tmp_path, f"2026120{i}T013000Z", [res("j", "t.a", "pass")])
              for i in range(1, 5)]
    cmp = nightly.finish_night(nights[-1], tmp_path, keep=2)
    assert cmp["previous"] == nights[2].name
    assert os.readlink(tmp_path / "latest-nightly") == nights[-1].name
    assert [n.name for n in nights if (n / "jobs").is_dir()] == [nights[2].name, nights[3].name]
    for n in nights:
        assert (n / "results.json").is_file() and (n / "summary.md").is_file()
    assert (nights[0] / "PRUNED").is_file()
    saved = json.loads((nights[-1] / "compare.json").read_text())
    assert saved["current"] == nights[-1].name
    # the one report (make report's bench/page.py) of this night against the last
    assert saved["report"]["dir"] == "report", saved["report"]
    page = (nights[-1] / "report/report.md").read_text()
    assert nights[2].name in page and nights[3].name in page


def test_lock_refuses_an_overlapping_nightly(tmp_path):
    first = nightly.Lock(tmp_path / ".nightly.lock")
    with pytest.raises(LabError, match=rf"another nightly holds {tmp_path}/\.nightly\.lock "
                                       rf"\(pid {os.getpid()}\)"):
        nightly.Lock(tmp_path / ".nightly.lock")
    first.release()
    nightly.Lock(tmp_path / ".nightly.lock").release()


def test_read_env(tmp_path):
    (tmp_path / "env").write_text("# c\nLAVA_URI=http://127.0.0.1:8000/RPC2\n\nLAB_ARTIFACT_URL=http://x\n")
    assert nightly.read_env(tmp_path / "env") == {"LAVA_URI": "http://127.0.0.1:8000/RPC2",
                                                  "LAB_ARTIFACT_URL": "http://x"}
    assert nightly.read_env(tmp_path / "none") == {}


SYSTEMD = LAB / "systemd"


@pytest.mark.skipif(not shutil.which("systemd-analyze"),
                    reason="systemd-analyze not installed (package systemd)")
def test_systemd_units_verify(tmp_path):
    units = [SYSTEMD / "bbml2-nightly.service", SYSTEMD / "bbml2-nightly.timer"]
    p = subprocess.run(["systemd-analyze", "verify", *map(str, units)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # the check can fail: a broken copy is refused
    for u in units:
        shutil.copy(u, tmp_path)
    bad = tmp_path / "bbml2-nightly.service"
    bad.write_text(bad.read_text().replace("ExecStart=/usr/bin/python3", "ExecStart=python3-nope"))
    p = subprocess.run(["systemd-analyze", "verify", str(bad), str(tmp_path / "bbml2-nightly.timer")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "python3-nope is not executable" in p.stderr


def test_systemd_units_call_the_nightly():
    service = (SYSTEMD / "bbml2-nightly.service").read_text()
    assert "ExecStart=/usr/bin/python3 lab/run.py nightly " in service
    assert "KillMode=mixed" in service and "Type=oneshot" in service
    timer = (SYSTEMD / "bbml2-nightly.timer").read_text()
    assert "Persistent=true" in timer and "Unit=bbml2-nightly.service" in timer


def _nightly(tmp_path, fake, url, matrix_path, capsys, monkeypatch):
    monkeypatch.setattr(lavaserver, "_sleep", lambda s: None)
    monkeypatch.setenv("LAVA_URI", fake.uri)
    monkeypatch.setenv("LAVA_USER", fake.username)
    monkeypatch.setenv("LAVA_TOKEN", fake.token)
    rc = cli.main(["nightly", "--plan", "t", "--matrix", str(matrix_path), "--no-build",
                   "--no-publish", "--artifact-url", url, "--lab-env", str(tmp_path / "none"),
                   "--results", str(tmp_path / "results"), "--poll", "0.01", "--keep", "1"])
    return rc, capsys.readouterr()


def run_dir_of(out):
    return Path(next(line for line in out.splitlines() if line.startswith("results: "))[9:])


def test_two_nights_through_the_fake_server(tmp_path, lab, capsys, monkeypatch):
    fake, url, matrix_path, _ = lab
    fake.script(A, Script(smoke_log()), Script(infra_log(), health="Incomplete"),
                Script(infra_log(), health="Incomplete"), Script(infra_log(), health="Incomplete"))
    fake.script(B, Script(smoke_log()), Script(smoke_log()))
    rc, out = _nightly(tmp_path, fake, url, matrix_path, capsys, monkeypatch)
    assert rc == 0, out.out + out.err
    assert "against no previous night" in out.out
    first = run_dir_of(out.out)
    rc, out = _nightly(tmp_path, fake, url, matrix_path, capsys, monkeypatch)
    assert rc == 1
    nights = [first, run_dir_of(out.out)]
    assert sorted(nights) == sorted((tmp_path / "results").glob("*-nightly-*"))
    cmp = json.loads((nights[1] / "compare.json").read_text())
    assert cmp["previous"] == first.name
    assert len(fake.submitted(A)) == 4                   # 1 + (1 + 2 resubmissions)
    assert {i["name"] for i in cmp["flaky"]} >= {"smoke.boot", "smoke.lava.job"}
    assert not (first / "jobs").exists() and (first / "results.json").is_file()
    assert (nights[1] / "jobs" / A / "attempt-3").is_dir()
    assert out.out.splitlines()[-1] == json.loads(
        (nights[1] / "metadata.json").read_text())["summary"]
