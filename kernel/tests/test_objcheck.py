"""kernel/objcheck.py: the barrier before the repaint's table installs."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "objcheck", Path(__file__).resolve().parents[1] / "objcheck.py")
objcheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(objcheck)

GOOD = [("paciasp", ""), ("stp", "x29, x30, [sp, #-48]!"), ("mov", "x29, sp"),
        ("dsb", "ishst"), ("isb", ""), ("str", "x3, [x1]")]


def test_barrier_first_passes():
    ok, why = objcheck.install_after_barrier(GOOD)
    assert ok and "dsb ishst at instruction 3" in why


def test_store_before_barrier_fails():
    # the mutant: the install stores come first (here: no dsb before them)
    bad = GOOD[:3] + [("str", "x3, [x1]"), ("dsb", "ishst")]
    ok, why = objcheck.install_after_barrier(bad)
    assert ok is False and "'str x3, [x1]' at instruction 3" in why
    ok, why = objcheck.install_after_barrier([i for i in GOOD if i[0] not in ("dsb", "isb")])
    assert ok is False


def test_no_barrier_and_no_function():
    ok, why = objcheck.install_after_barrier([("ret", "")])
    assert ok is False and "no dsb at all" in why
    ok, why = objcheck.install_after_barrier([])
    assert ok is None


def test_missing_vmlinux_is_one_clear_error(tmp_path, capsys):
    assert objcheck.main([str(tmp_path)]) == 2
    assert "no " in capsys.readouterr().err
