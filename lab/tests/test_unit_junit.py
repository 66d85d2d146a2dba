"""Folding the unit tests' JUnit file into a run (make check's summary)."""
import json

from bbml2lab.session import Session

JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="lab.tests.test_a" name="test_ok"/>
<testcase classname="lab.tests.test_a" name="test_bad"><failure message="assert 1 == 2">x</failure></testcase>
<testcase classname="lab.tests.test_b" name="test_skipped"><skipped message="no lava-run"/></testcase>
</testsuite></testsuites>
"""


def test_unit_junit_counts_and_names(tmp_path):
    xml = tmp_path / "unit.xml"
    xml.write_text(JUNIT)
    s = Session(tmp_path / "results", "t", tmp_path, ["run.py"], out=open("/dev/null", "w"))
    s.add_junit(xml)
    code = s.finish()
    results = json.loads((s.run_dir / "results.json").read_text())
    by_name = {r["name"]: r["result"] for r in results}
    assert by_name == {"unit.lab.tests.test_a.test_ok": "pass",
                       "unit.lab.tests.test_a.test_bad": "fail",
                       "unit.lab.tests.test_b.test_skipped": "skip"}
    assert code == 1
    assert (s.run_dir / "unit-junit.xml").is_file()


def test_unit_junit_unreadable_is_an_error_result(tmp_path):
    s = Session(tmp_path / "results", "t", tmp_path, ["run.py"], out=open("/dev/null", "w"))
    s.add_junit(tmp_path / "missing.xml")
    assert s.finish() == 2
    results = json.loads((s.run_dir / "results.json").read_text())
    assert [r["result"] for r in results] == ["error"]
