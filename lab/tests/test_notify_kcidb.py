"""Each night where a lab admin reads it: the plain-text summary handed to
a configured command (a local script here), nights that never started, and
the KCIDB export checked with python3-jsonschema against the schema we
wrote from kcidb-io's v5.3 definition (kcidb's own validator is not run).
Through the fake LAVA server (fake_lava.py)."""
import json
import sys

import pytest

from bbml2lab import cli, kcidb, lavaserver, notify
from fake_lava import Script
from test_labrun import A, B, infra_log, lab, smoke_log  # noqa: F401 (fixture)

jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema not installed")

SINK = """import json, os, sys
out = sys.argv[1]
with open(out, "a") as f:
    f.write(json.dumps({"subject": os.environ.get("BBML2LAB_SUBJECT"),
                        "token_seen": "LAVA_TOKEN" in os.environ,
                        "text": sys.stdin.read()}) + "\\n")
"""


def sink(tmp_path):
    script = tmp_path / "sink.py"
    script.write_text(SINK)
    out = tmp_path / "notified.jsonl"
    return f"{sys.executable} {script} {out}", out


def messages(out):
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys, notify_cmd, uri=None):
    monkeypatch.setattr(lavaserver, "_sleep", lambda s: None)
    monkeypatch.setenv("LAVA_URI", uri or fake.uri)
    monkeypatch.setenv("LAVA_USER", fake.username)
    monkeypatch.setenv("LAVA_TOKEN", fake.token)
    rc = cli.main(["nightly", "--plan", "t", "--matrix", str(matrix_path), "--no-build",
                   "--no-publish", "--artifact-url", url, "--lab-env", str(tmp_path / "none"),
                   "--results", str(tmp_path / "results"), "--poll", "0.01",
                   "--notify", notify_cmd])
    return rc, capsys.readouterr()


def test_summary_goes_to_the_command_and_kcidb_export_is_valid(tmp_path, lab, monkeypatch,
                                                                capsys):
    fake, url, matrix_path, _ = lab
    cmd, out = sink(tmp_path)
    fake.script(A, Script(smoke_log()), *[Script(infra_log(), health="Incomplete")
                                          for _ in range(3)])
    fake.script(B, Script(smoke_log()), Script(smoke_log()))
    rc, _ = nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys, cmd)
    assert rc == 0
    rc, printed = nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys, cmd)
    assert rc == 3, printed.out + printed.err
    first, second = messages(out)
    assert first["subject"].endswith("passed; 0 new failure(s), 0 infrastructure error(s)")
    assert not first["token_seen"] and not second["token_seen"]
    text = second["text"]
    assert second["subject"].endswith("infrastructure errors; 0 new failure(s), "
                                      "1 infrastructure error(s)")
    assert f"infrastructure errors by board: \n  vboard-none-01: 1 job(s): {A}\n" in text
    assert f"retries:  {A} x2\n" in text
    assert "boards skipped: none" in text and "nights that never started: none" in text
    assert "changes:  0 new failure(s), 0 fixed, 0 flaky, 0 missing" in text
    night = sorted((tmp_path / "results").glob("*-nightly-*"))[-1]
    assert (night / "summary.txt").read_text() == text
    assert json.loads((night / "notify.json").read_text())["ok"] is True
    assert fake.token not in text
    # the KCIDB export: valid, infrastructure error as MISS, one test per result
    data = json.loads((night / "kcidb.json").read_text())
    assert kcidb.validate(data) == []
    assert "valid" in (night / "kcidb-check.txt").read_text()
    assert data["version"] == {"major": 5, "minor": 3}
    results = json.loads((night / "results.json").read_text())
    assert len(data["tests"]) == len(results) == 20
    miss = [t for t in data["tests"] if t["status"] == "MISS"]
    assert [t["misc"]["job"] for t in miss] == [A]
    assert {t["build_id"] for t in data["tests"]} == {b["id"] for b in data["builds"]}
    assert all(t["path"].startswith("bbml2lab.smoke.") for t in data["tests"])
    assert "kcidb:" in printed.out and "kcidb's own validator not run" in printed.out


def test_the_schema_check_can_fail():
    good = {"version": {"major": 5, "minor": 3},
            "checkouts": [{"id": "bbml2lab:x", "origin": "bbml2lab"}],
            "builds": [{"id": "bbml2lab:b", "checkout_id": "bbml2lab:x", "origin": "bbml2lab",
                        "status": "PASS"}],
            "tests": [{"id": "bbml2lab:t", "build_id": "bbml2lab:b", "origin": "bbml2lab",
                       "path": "bbml2lab.smoke.boot", "status": "PASS"}]}
    assert kcidb.validate(good) == []
    bad = json.loads(json.dumps(good))
    bad["tests"][0]["status"] = "INFRA"
    bad["tests"][0]["path"] = "bbml2lab..boot"
    bad["builds"][0]["id"] = "no-origin"
    bad["checkouts"][0]["verdict"] = "x"
    bad["version"]["major"] = 4
    problems = kcidb.validate(bad)
    assert len(problems) == 5, problems
    assert any(p.startswith("tests/0/status: 'INFRA' is not one of") for p in problems)
    assert any(p.startswith("builds/0/id: ") for p in problems)
    assert any("Additional properties are not allowed ('verdict'" in p for p in problems)


def test_a_night_that_never_started_leaves_a_trace_and_is_announced(tmp_path, lab,
                                                                     monkeypatch, capsys):
    fake, url, matrix_path, _ = lab
    cmd, out = sink(tmp_path)
    rc, printed = nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys, cmd,
                          uri="http://127.0.0.1:9/RPC2")
    assert rc == 2 and "cannot reach the server" in printed.err
    assert not list((tmp_path / "results").glob("*-nightly-*"))      # no run directory
    (rec,) = notify.never_started(tmp_path / "results")
    assert "cannot reach the server" in rec["error"]
    (msg,) = messages(out)
    assert msg["subject"].startswith("bbml2-lab nightly never started: LAVA "
                                     "http://127.0.0.1:9/RPC2 system.version")
    # the next night lists it
    fake.script(A, Script(smoke_log()))
    fake.script(B, Script(smoke_log()))
    rc, _ = nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys, cmd)
    assert rc == 0
    text = messages(out)[-1]["text"]
    assert f"nights that never started: \n  {rec['at']}: {rec['error']}\n" in text


def test_a_failing_notify_command_changes_nothing(tmp_path, lab, monkeypatch, capsys):
    fake, url, matrix_path, _ = lab
    fake.script(A, Script(smoke_log()))
    fake.script(B, Script(smoke_log()))
    rc, printed = nightly(tmp_path, fake, url, matrix_path, monkeypatch, capsys,
                          f"{sys.executable} -c 'import sys; sys.exit(\"bridge down\")'")
    assert rc == 0
    assert "notify: `" in printed.out and "failed: rc=1 bridge down" in printed.out
    night = next((tmp_path / "results").glob("*-nightly-*"))
    rec = json.loads((night / "notify.json").read_text())
    assert rec["ok"] is False and rec["rc"] == 1
    assert (night / "summary.txt").is_file()


def test_the_summary_lists_nights_left_detached(tmp_path):
    root = tmp_path / "results"
    for name, status in (("20261204T013000Z-nightly-aaa", "detached"),
                         ("20261205T013000Z-nightly-bbb", "complete")):
        (root / name).mkdir(parents=True)
        (root / name / "metadata.json").write_text(json.dumps(
            {"status": status, "detached": [{"why": "terminated (SIGTERM)"}]}))
    cmp = {"new_failures": [], "fixed": [], "flaky": [], "missing": [], "previous": None}
    _, text = notify.summary(root / "20261205T013000Z-nightly-bbb", cmp, root)
    assert ("nights detached, waiting for `lab/run.py resume` or `cancel`:\n"
            "  20261204T013000Z-nightly-aaa: terminated (SIGTERM)\n") in text
