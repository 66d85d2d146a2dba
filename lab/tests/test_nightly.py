"""The nightly: night-to-night comparison, retention, the lock, the units,
and two whole nights through the fake server."""
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bbml2lab import LabError, cli, compare, config, labrun, lavaserver, nightly
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
    # t.f both failed and passed within tonight's run: flaky, not fixed
    c = compare.compare(cur, prev, older, flaky_tests=[("k", "t.f")])
    assert [(i["name"], i["previous"], i["detail"]) for i in c["new_failures"]] == \
        [("t.a", "pass", "boom"), ("t.new", None, "")]
    assert [i["name"] for i in c["fixed"]] == ["t.b"]
    assert [i["name"] for i in c["flaky"]] == ["t.f"]
    assert c["missing"] == [{"job": "j", "name": "t.gone", "previous": "pass"}]
    assert c["new_tests"] == 1
    md = compare.markdown(c, "night2", "night1")
    assert md.startswith("# night2 against night1\n\n2 new failure(s), 1 fixed, 1 flaky, "
                         "1 missing, 1 new test(s), 0 infrastructure error(s)")
    assert "- `j` `t.a` fail (was pass): boom" in md


def test_flaky_only_within_the_night_and_history_flips_are_not_flaky():
    """A test that failed tonight after passing is a new failure, whatever
    earlier nights did: "flaky" only for a test that failed and passed
    within the night."""
    older = [[res("j", "t.a", "pass")], [res("j", "t.a", "fail")]]
    c = compare.compare([res("j", "t.a", "fail")], [res("j", "t.a", "pass")], older)
    assert c["flaky"] == [] and [i["name"] for i in c["new_failures"]] == ["t.a"]


def test_infrastructure_errors_are_per_board_never_failures_nor_flaky_nor_missing():
    prev = [res("j", "t.a", "pass"), res("j", "t.b", "pass"), res("k", "t.c", "pass")]
    cur = [{**res("j", "s.job", "error", "infrastructure error on vboard-none-01 after 3 "
                  "attempts, no kernel started: power"), "infra": True, "board": "vboard-none-01"},
           res("k", "t.c", "pass")]
    c = compare.compare(cur, prev)
    assert c["new_failures"] == [] and c["flaky"] == [] and c["missing"] == []
    (item,) = c["infrastructure"]
    assert (item["board"], item["job"], item["not_run"]) == ("vboard-none-01", "j", 2)
    assert compare.infrastructure_by_board(c) == {"vboard-none-01": ["j"]}
    md = compare.markdown(c, "n2", "n1")
    assert "1 infrastructure error(s)" in md
    assert "- board `vboard-none-01`: `j`: infrastructure error on vboard-none-01" in md


def _night(root, stamp, results, jobs=True, meta=None):
    d = root / f"{stamp}-nightly-abc123"
    d.mkdir(parents=True)
    if jobs:
        (d / "jobs/x").mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(results))
    ran = {"jobs": [{"name": "j", "verdict": "pass"}], "status": "complete"}
    (d / "metadata.json").write_text(json.dumps({**ran, **(meta or {})}))
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
    # the one report (make report's bench/page.py) over the earlier nights and this one
    assert saved["report"]["dir"] == "report", saved["report"]
    page = (nights[-1] / "report/report.md").read_text()
    assert all(n.name in page for n in nights)
    # these nights have no job directories the page can read: page.py's exit 1
    # is input problems, and no benchmark was compared, so nothing is a regression
    assert saved["report"]["rc"] == 1 and saved["report"]["report_problems"] is True
    assert saved["report"]["regressions"] == [] and saved["report"]["compared"] == 0
    assert saved["report"]["problems"]
    md = (nights[-1] / "compare.md").read_text()
    assert "## Report" in md and "no benchmark comparison against a previous night" in md
    assert "Input problems (bench/page.py exit status 1)" in md


STUB_PAGE = """import json, os, sys, time
args = sys.argv[1:]
out = args[args.index("-o") + 1]


def report(**kw):
    os.makedirs(out, exist_ok=True)
    data = {"schema": "bbml2-page/1", "runs": [], "nights": [], "problems": [], **kw}
    json.dump(data, open(os.path.join(out, "report.json"), "w"))


"""


def stub_page(tmp_path, monkeypatch, body):
    """bench/page.py replaced by a script running body (out: its -o
    directory; report(**kw) writes a report.json there)."""
    script = tmp_path / "page_stub.py"
    script.write_text(STUB_PAGE + body + "\n")
    monkeypatch.setattr(nightly, "REPORT_PAGE", script)


def pair(after, regression, delta=-20.0, mode="off", min_p=0.008):
    """One night-to-night comparison as page.py's report.json has it."""
    return {"board": "rpi4-01", "mem_mb": 4096, "clock": "hw", "bench": "pcache-rand-pread",
            "metric": "scatter", "mode": mode, "before": "2026-12-01 abc", "after": after,
            "delta_pct": delta, "regression": regression, "improvement": False,
            "min_p": min_p}


def test_page_exit_1_is_input_problems_not_a_regression(tmp_path, monkeypatch):
    night = _night(tmp_path, "20261202T013000Z", [res("j", "t.a", "pass")])
    stub_page(tmp_path, monkeypatch, "report(runs=[{'id': %r, 'night': '2026-12-02'}], "
              "problems=['x: run status running'], nights=[%r])\n"
              "print('report: x, 0 regressions')\nsys.exit(1)"
              % (night.name, pair("2026-12-02 abc", False, delta=-1.0)))
    rep = nightly.report_page(night, [])
    assert (rep["rc"], rep["report_problems"], rep["regressions"]) == (1, True, [])
    assert rep["problems"] == ["x: run status running"] and rep["compared"] == 1
    assert nightly.report_verdict(rep) == ("no benchmark regression against the previous "
                                           "night (1 compared)")
    assert "1 input problem(s) listed on the page" in nightly.report_line(rep, night)


def test_regressions_come_from_report_json(tmp_path, monkeypatch, capsys):
    prev = _night(tmp_path, "20261202T013000Z", [res("j", "t.a", "pass")])
    night = _night(tmp_path, "20261203T013000Z", [res("j", "t.a", "pass")])
    # exit 0, and two flags: tonight's (after = tonight's night) and an
    # earlier night's, which the page shows but which is not tonight's news
    stub_page(tmp_path, monkeypatch, "report(runs=[{'id': %r, 'night': '2026-12-03'}], "
              "nights=[%r, %r, %r])" % (night.name, pair("2026-12-02 abc", True),
                                        pair("2026-12-03 abc", True, mode="repaint"),
                                        pair("2026-12-03 abc", False, delta=2.0)))
    cmp = nightly.finish_night(night, tmp_path, keep=5)
    rep = cmp["report"]
    assert rep["rc"] == 0 and rep["report_problems"] is False
    name = ("pcache-rand-pread scatter [repaint] on rpi4-01 (4096 MiB, hw): -20.0 % "
            "(2026-12-01 abc -> 2026-12-03 abc)")
    assert rep["regressions"] == [name]
    assert (rep["compared"], rep["earlier_regressions"]) == (2, 1)
    assert rep["nights"] == [prev.name, night.name] and rep["page"] == "report/index.html"
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line == (f"report: 1 benchmark regression(s) against the previous night: {name}; "
                    f"page {night / 'report/index.html'} (2 night(s))")
    md = (night / "compare.md").read_text()
    assert name in md and "Page: `report/index.html`" in md
    assert "1 regression(s) between earlier nights are flagged on the page." in md


def test_one_boot_per_night_cannot_flag_a_regression():
    # one boot per mode and night: the smallest p of 1 + 1 boots is 1.0
    data = {"runs": [{"id": "r", "night": "2026-12-03"}], "alpha": 0.05,
            "nights": [pair("2026-12-03 abc", False, min_p=1.0),
                       pair("2026-12-03 abc", False, mode="none", min_p=1.0)]}
    rep = nightly.page_findings(data, "r")
    assert (rep["compared"], rep["too_few_boots"], rep["regressions"]) == (2, 2, [])
    assert nightly.report_verdict(rep).startswith(
        "no benchmark regression can be flagged against the previous night: all 2 "
        "comparison(s) have too few boots for p < 0.05")
    data["nights"][1]["min_p"] = 0.008
    assert nightly.report_verdict(nightly.page_findings(data, "r")) == (
        "no benchmark regression against the previous night (2 compared, 1 with too few "
        "boots to flag one)")


def test_several_previous_nights_go_to_the_page_in_order(tmp_path):
    series = {"plan": "nightly", "lab": {"server": "http://lava/RPC2"}}
    ok = [_night(tmp_path, f"202612{d:02d}T013000Z", [res("j", "t.a", "pass")], meta=series)
          for d in range(1, 10)]
    # not part of the series: another plan, another server, pruned, no results
    other = [_night(tmp_path, "20261203T020000Z", [], meta={**series, "plan": "nightly-hardware"}),
             _night(tmp_path, "20261205T020000Z", [], meta={**series, "lab": {"server": "x"}}),
             _night(tmp_path, "20261207T020000Z", [], jobs=False, meta=series)]
    bad = _night(tmp_path, "20261208T020000Z", [], meta=series)
    (bad / "results.json").unlink()
    tonight = _night(tmp_path, "20261210T013000Z", [res("j", "t.a", "fail")], meta=series)
    later = _night(tmp_path, "20261211T013000Z", [], meta=series)      # after tonight: never
    cmp = nightly.finish_night(tonight, tmp_path, keep=20)
    want = [n.name for n in ok[-nightly.PAGE_NIGHTS:]] + [tonight.name]
    assert cmp["report"]["nights"] == want
    data = json.loads((tonight / "report/report.json").read_text())
    assert [Path(i).name for i in data["inputs"]] == want
    assert {r["id"] for r in data["runs"]} == set(want)
    assert all(n.name not in want for n in other + [bad, later])
    assert nightly.page_inputs(tonight, nightly.nightly_runs(tmp_path), 2) == ok[-2:]


@pytest.mark.parametrize("body,error", [
    ("raise RuntimeError('boom')",
     r"^bench/page.py rc=1 left no readable report.json \(FileNotFoundError\): "
     r"RuntimeError: boom$"),
    ("print('report: no run directory among the inputs', file=sys.stderr); sys.exit(2)",
     r"^bench/page.py rc=2: report: no run directory among the inputs$"),
    ("os.makedirs(out); open(os.path.join(out, 'report.json'), 'w').write('{trunc')",
     r"^bench/page.py rc=0 left no readable report.json \(JSONDecodeError\)"),
    ("report(schema='other/1')", r"report.json is not a bbml2-page/\* page$"),
])
def test_a_failing_page_keeps_the_nights_results(tmp_path, monkeypatch, capsys, body, error):
    nights = [_night(tmp_path, f"2026120{i}T013000Z", [res("j", "t.a", "pass")])
              for i in range(1, 4)]
    tonight = _night(tmp_path, "20261204T013000Z", [res("j", "t.a", "fail")])
    results = (tonight / "results.json").read_text()
    (tonight / "report").mkdir()
    (tonight / "report/index.html").write_text("an earlier page of this run\n")
    stub_page(tmp_path, monkeypatch, body)
    cmp = nightly.finish_night(tonight, tmp_path, keep=2)
    rep = cmp["report"]
    assert rep["dir"] is None and re.search(error, rep["error"]), rep["error"]
    saved = json.loads((tonight / "compare.json").read_text())
    assert saved["report"] == rep and [i["name"] for i in saved["new_failures"]] == ["t.a"]
    assert saved["previous"] == nights[-1].name
    md = (tonight / "compare.md").read_text()
    assert md.startswith(f"# {tonight.name} against {nights[-1].name}") and rep["error"] in md
    assert (tonight / "results.json").read_text() == results
    assert (tonight / "report/index.html").read_text() == "an earlier page of this run\n"
    assert not (tonight / ".report.tmp").exists()
    assert os.readlink(tmp_path / "latest-nightly") == tonight.name
    assert [n.name for n in nights + [tonight] if (n / "jobs").is_dir()] == \
        [nights[-1].name, tonight.name]
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("report: no page (bench/page.py") and \
        line.endswith("; the night's results and comparison are kept")


def test_a_page_that_hangs_is_cut_off(tmp_path, monkeypatch):
    night = _night(tmp_path, "20261202T013000Z", [])
    stub_page(tmp_path, monkeypatch, "time.sleep(60)")
    rep = nightly.report_page(night, [], timeout_s=1)
    assert rep["dir"] is None and "timed out after 1 seconds" in rep["error"]


def bench_helpers():
    """bench/tests/test_page.py's run writers (real benchmark consoles)."""
    path = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("_bench_test_page",
                                                      REPO / "bench/tests/test_page.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path[:] = path
    return mod


def test_a_real_regression_through_bench_page(tmp_path, capsys):
    bp = bench_helpers()
    ok = [bp.res("bench-off-r01", "bench.boot", "pass")]
    nights = [Path(bp.write_run(tmp_path, f"2026120{d}T013000Z-nightly-{d}{d}{d}",
                                f"2026-12-0{d}T01:30:00+00:00",
                                bp.timed_jobs({"off": ("off", "pte", meds)}),
                                results=ok, plan="nightly"))
              for d, meds in ((1, [100, 101, 99, 100.5, 102]),
                              (2, [120, 121, 119, 120.5, 122]),
                              (3, [145, 146, 144, 145.5, 147]))]
    cmp = nightly.finish_night(nights[-1], tmp_path, keep=5)
    rep = cmp["report"]
    assert rep["nights"] == [n.name for n in nights]
    assert len(rep["regressions"]) == 1 and rep["earlier_regressions"] == 1, rep
    assert rep["regressions"][0].startswith(
        "pcache-rand-pread scatter [off] on qemu-virt (2048 MiB, "), rep["regressions"]
    assert "2026-12-02 " in rep["regressions"][0] and "-> 2026-12-03 " in rep["regressions"][0]
    assert "1 benchmark regression(s) against the previous night" in capsys.readouterr().out
    assert rep["line"].startswith(f"report: {nights[-1] / 'report'}: 3 runs, ")


def test_nightly_hardware_benches_every_board_in_its_mode_set():
    m = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
    specs = m.expand("nightly-hardware")
    hardware = {n for n, b in m.boards.items() if b["platform"] == "hardware"}
    bench = [s for s in specs if s.suite == "bench"]
    assert {(s.board, s.mode) for s in bench} == {
        ("ampereone-01", "none"), ("ampereone-01", "off"), ("ampereone-01", "repaint"),
        ("rock-pi-4b-01", "none"), ("rock-pi-4b-01", "off"),
        ("rpi4-01", "none"), ("rpi4-01", "off"),
        ("x4-mixed-01", "none"), ("x4-mixed-01", "off")}
    assert {s.board for s in bench} == hardware
    assert m.boards["ampereone-01"]["bbml2"] == "uniform"
    for s in bench:                    # one boot a night, the board's kernel and size
        board = m.boards[s.board]
        assert s.mode in board["modes"] and s.config == board["kernel_config"] == "board"
        assert s.mem_mb == board["mem_mb"] and s.name.startswith(f"{s.entry}-{s.mode}-")
    assert sum(1 for s in bench if (s.board, s.mode) == ("rpi4-01", "none")) == 1
    # the kselftests are still there, every board in all its modes
    assert {(s.board, s.mode) for s in specs if s.suite == "kselftest"} == {
        (b, mode) for b in hardware for mode in m.boards[b]["modes"]}


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
    # the boards run 7.3 as they run the series; make lab-e2e keeps the
    # series' plan alone (its budget)
    plan = re.search(r"^ExecStart=.* --plan (\S+)", service, re.M)[1]
    assert plan == "nightly,nightly-mainline"
    m = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
    assert {s.config for s in m.expand(plan)} == {"qemu", "mainline"}
    e2e = (LAB / "local/e2e.py").read_text()
    assert '["nightly", "--plan", "nightly", ' in e2e and "nightly-mainline" not in e2e
    assert "KillMode=mixed" in service and "Type=oneshot" in service
    assert "\nUser=bbml2-lab\n" in service            # a dedicated user, not root
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
    # power failing on every attempt of night 2: one infrastructure error of
    # that board, the infrastructure exit status, no test failure, no flaky
    assert rc == labrun.INFRA_EXIT, out.out + out.err
    nights = [first, run_dir_of(out.out)]
    assert sorted(nights) == sorted((tmp_path / "results").glob("*-nightly-*"))
    cmp = json.loads((nights[1] / "compare.json").read_text())
    assert cmp["previous"] == first.name
    assert len(fake.submitted(A)) == 4                   # 1 + (1 + 2 resubmissions)
    assert cmp["flaky"] == [] and cmp["new_failures"] == [] and cmp["missing"] == []
    assert [(i["board"], i["job"]) for i in cmp["infrastructure"]] == [("vboard-none-01", A)]
    assert "0 new failure(s), 0 fixed, 0 flaky, 0 missing, 1 infrastructure error(s)" in out.out
    assert "19 passed, 0 failed, 0 skipped (1 infrastructure error)" in out.out
    assert not (first / "jobs").exists() and (first / "results.json").is_file()
    assert (nights[1] / "jobs" / A / "attempt-3").is_dir()
    assert out.out.splitlines()[-1] == json.loads(
        (nights[1] / "metadata.json").read_text())["summary"]


def test_build_steps_never_see_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("LAVA_TOKEN", "tok-build-must-not-see")
    monkeypatch.setenv("BBML2LAB_PROBE", "kept")
    out = tmp_path / "env.txt"
    nightly.step([sys.executable, "-c", "import os, sys; open(sys.argv[1], 'w').write("
                  "repr((os.environ.get('LAVA_TOKEN'), os.environ.get('BBML2LAB_PROBE'))))",
                  str(out)], tmp_path, lambda s: None)
    assert out.read_text() == "(None, 'kept')"


def test_build_steps_pass_config_and_publish_the_boards_of_each_config(monkeypatch):
    """make kernel-<c> rootfs-<c> with CONFIG=<c> for every config: the
    kernel tree depends on it (CONFIG=mainline is linux-source-7.3, without
    it make would configure 7.3's fragments against the series' tree); the
    publish step ships el2shim/dtbs for boards booting a config not theirs."""
    steps = []
    monkeypatch.setattr(nightly, "step", lambda cmd, cwd, say: steps.append(list(map(str, cmd))))
    m = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
    specs = m.expand("nightly,nightly-mainline")
    configs = sorted({s.config for s in specs})
    assert configs == ["mainline", "qemu"]
    boots = nightly.foreign_boots(specs, m.boards)
    assert boots == {"mainline": {"vboard-uniform-01", "vboard-none-01", "qemu-mixed-01",
                                  "qemu-late-01"}}
    assert nightly.foreign_boots(m.expand("nightly"), m.boards) == {}
    nightly.build_and_publish(configs, REPO, print, results="/r", boots=boots)
    assert steps[:3] == [["make", "CONFIG=mainline", "kernel-mainline", "rootfs-mainline"],
                         ["make", "CONFIG=qemu", "kernel-qemu", "rootfs-qemu"],
                         ["make", "el2shim"]]
    assert steps[3][1:] == [str(REPO / "lab/run.py"), "publish", "--results", "/r",
                            "--config", "mainline", "--config", "qemu",
                            "--boot", "mainline:qemu-late-01", "--boot", "mainline:qemu-mixed-01",
                            "--boot", "mainline:vboard-none-01",
                            "--boot", "mainline:vboard-uniform-01"]
    steps.clear()
    nightly.build_and_publish(["board"], REPO, print, publish=False)
    assert steps == [["make", "CONFIG=board", "kernel-board", "rootfs-board"], ["make", "el2shim"]]


def test_a_night_of_two_plans_records_the_string_and_pages_with_its_own(tmp_path, lab, capsys,
                                                                      monkeypatch):
    """--plan t,u: t's jobs then u's in one night; metadata keeps the plan
    string as given, and both the comparison and the report page's series
    (plan + server) are the nights of that same string, not t's alone: a
    night of t is no baseline of t,u (its jobs would all count missing or
    new), the next night of t,u compares with this one."""
    fake, url, matrix_path, _ = lab
    matrix_path.write_text(matrix_path.read_text() + "  u:\n    - {name: c, suite: smoke}\n")
    c = "c-none-4c-2048m"
    for job in (A, B, c):
        fake.script(job, *(Script(smoke_log()) for _ in range(3)))
    monkeypatch.setattr(lavaserver, "_sleep", lambda s: None)
    for var, value in (("LAVA_URI", fake.uri), ("LAVA_USER", fake.username),
                       ("LAVA_TOKEN", fake.token)):
        monkeypatch.setenv(var, value)
    nights = []
    for plan in ("t", "t,u", "t,u"):
        rc = cli.main(["nightly", "--plan", plan, "--matrix", str(matrix_path), "--no-build",
                       "--no-publish", "--artifact-url", url, "--lab-env", str(tmp_path / "none"),
                       "--results", str(tmp_path / "results"), "--poll", "0.01"])
        out = capsys.readouterr()
        assert rc == 0, out.out + out.err
        nights.append(run_dir_of(out.out))
    meta = json.loads((nights[1] / "metadata.json").read_text())
    assert meta["plan"] == "t,u"
    assert [j["name"] for j in meta["jobs"]] == [A, B, c]
    assert nightly._lineage(meta) == ("t,u", fake.uri)
    assert nightly.page_inputs(nights[1], nightly.nightly_runs(tmp_path / "results")) == []
    assert json.loads((nights[1] / "compare.json").read_text())["previous"] is None
    assert json.loads((nights[2] / "compare.json").read_text())["previous"] == nights[1].name
