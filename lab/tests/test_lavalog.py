"""lava-run log parsing and evaluation of whole logs."""
from bbml2lab import job, lavalog
from conftest import by_name


def test_valid_log(data):
    log = lavalog.parse((data / "smoke-pass.jsonl").read_text())
    assert log.bad_lines == []
    assert log.verdict == {"case": "job", "definition": "lava", "result": "pass"}
    assert "bbml2-lab: suite smoke begin" in log.console
    assert log.console.count("bbml2-lab: poweroff") == 1
    monitors = lavalog.monitor_results(log)
    assert {m["case"] for m in monitors} == {"init_started", "cmdline_readable", "cpus",
                                            "memory", "ikconfig", "ptdump"}
    # a real download record carries the YAML tag `"size": ! "6101000"`
    assert any(r.get("case") == "file-download" for r in log.results)


def test_evaluate_real_smoke_log(data):
    results, con, _ = job.evaluate((data / "smoke-pass.jsonl").read_text(), "smoke")
    r = by_name(results)
    assert r["smoke.cpus.cpu3_online"]["result"] == "pass"
    assert r["smoke.memory"]["result"] == "pass"
    assert [x["name"] for x in results][0] == "smoke.boot"
    for name in ("smoke.suite_complete", "smoke.poweroff", "smoke.kernel.no_splat",
                 "smoke.lava.job"):
        assert r[name]["result"] == "pass", r[name]
    assert len(results) == 15
    assert con.linux_version.startswith("6.12")


def test_yaml_tags_garbage_and_truncation(data):
    log = lavalog.parse((data / "tagged-garbage.jsonl").read_text())
    assert [n for n, _ in log.bad_lines] == [3, 4, 18]
    assert log.records == 15
    assert log.results[0]["extra"]["size"] in ("6101000", 6101000)
    assert 'ok 1 quoted # said "hello"' in log.console          # ShellLogger escape undone
    assert log.console[-1] == "[    0.852025] reboot: Power down"   # feedback record
    assert log.verdict["result"] == "pass"
    results, _, _ = job.evaluate((data / "tagged-garbage.jsonl").read_text(), "smoke")
    assert by_name(results)["smoke.quoted"]["detail"] == 'said "hello"'


def test_truncated_log_gives_failures_not_a_crash(data):
    text = (data / "smoke-pass.jsonl").read_text()
    cut = text[: text.index("ok 4 memory")]           # killed in the middle of a record
    log = lavalog.parse(cut)
    assert len(log.bad_lines) == 1 and log.verdict is None
    r = by_name(job.evaluate(cut, "smoke")[0])
    assert r["smoke.cmdline_readable"]["result"] == "pass"
    for name in ("smoke.missing_4", "smoke.missing_5", "smoke.missing_6",
                 "smoke.suite_complete", "smoke.poweroff", "smoke.lava.job"):
        assert r[name]["result"] == "fail", name
    assert r["smoke.lava.job"]["detail"] == "no job verdict in the LAVA log (1 unparsable lines)"
    assert r["smoke.missing_4"]["detail"] == "missing: stream cut"


def test_missing_job_verdict(data):
    text = "\n".join(line for line in (data / "smoke-pass.jsonl").read_text().splitlines()
                     if '"case": "job"' not in line)
    r = by_name(job.evaluate(text, "smoke")[0])
    assert r["smoke.lava.job"] == {"name": "smoke.lava.job", "result": "fail",
                                   "detail": "no job verdict in the LAVA log"}
    assert r["smoke.memory"]["result"] == "pass"


def test_incomplete_job_verdict_detail():
    text = ('{"dt": "x", "lvl": "results", "msg": {"case": "job", "definition": "lava", '
            '"result": "fail", "error_type": "Infrastructure", "error_msg": "Connection closed"}}')
    r = by_name(job.evaluate(text, "smoke")[0])
    assert r["smoke.lava.job"]["detail"] == "Infrastructure: Connection closed"
    assert r["smoke.boot"]["result"] == "fail"
    assert r["smoke.suite_complete"]["detail"] == "suite never began"


def test_pure_garbage():
    log = lavalog.parse("\x00\x01binary\nnot json {\n[1, 2]\n")
    assert log.records == 0 and len(log.bad_lines) == 3
