"""labpower (lab/power): the C host tests, one pytest test per C case.

The module builds lab/power with the host compiler into a temp dir: the
tool on the fake GPIO backend plus the C runner (needs only cc), and the
real tool against libgpiod and the v2 compile check (need libgpiod-dev).
"""
import re
import shutil
import subprocess

import pytest

from bbml2lab import config, powerconf
from conftest import LAB

POWER = LAB / "power"
CASES = re.findall(r'\{ "(\w+)", t_\w+ \}', (POWER / "tests/test_labpower.c").read_text())
LINE = re.compile(r"^(not ok|ok) (\d+) (\w+)(?: # (.*))?$")


def _make(out, *targets):
    return subprocess.run(["make", "-s", "-C", str(POWER), f"O={out}", *targets],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    if not shutil.which("cc") or not shutil.which("make"):
        pytest.skip("no host C compiler or make")
    out = tmp_path_factory.mktemp("labpower")
    r = _make(out, str(out / "labpower-fake"), str(out / "test_labpower"))
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def runner(build):
    r = subprocess.run([str(build / "test_labpower"), str(build / "labpower-fake")],
                       capture_output=True, text=True, timeout=300)
    results = {}
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if m:
            results[m.group(3)] = (m.group(1), m.group(4) or "")
    return r, results


def test_case_table_found():
    assert len(CASES) >= 25 and len(set(CASES)) == len(CASES)


def test_runner_summary(runner):
    r, results = runner
    last = r.stdout.strip().splitlines()[-1]
    passed = sum(1 for v in results.values() if v[0] == "ok")
    assert last == f"{passed} passed, {len(results) - passed} failed"
    assert sorted(results) == sorted(CASES), "the runner did not report every case"
    assert r.returncode == (0 if passed == len(results) else 1)


@pytest.mark.parametrize("case", CASES)
def test_c_case(runner, case):
    _, results = runner
    assert case in results, f"{case}: not reported by the runner"
    verdict, why = results[case]
    assert verdict == "ok", f"{case}: {why}"


def _have_libgpiod():
    return shutil.which("pkg-config") and subprocess.run(
        ["pkg-config", "--exists", "libgpiod"]).returncode == 0


def test_host_build_against_libgpiod(tmp_path):
    if not _have_libgpiod():
        pytest.skip("libgpiod-dev is not installed (pkg-config libgpiod)")
    r = _make(tmp_path, "all", "check-v2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning:" not in r.stderr
    v = subprocess.run([str(tmp_path / "labpower"), "--version"], capture_output=True, text=True)
    major = subprocess.run(["pkg-config", "--modversion", "libgpiod"], capture_output=True,
                           text=True).stdout.strip().split(".")[0]
    assert v.returncode == 0 and f"(v{1 if major == '1' else 2} API)" in v.stdout
    assert (tmp_path / "gpio_v2.o").stat().st_size > 0


def test_inventory_config_accepted_by_the_tool(build, tmp_path):
    """The file power-config writes from configs/boards.yaml parses in C, and the
    command boards' argv survives the encoding."""
    boards = config.load_boards(LAB.parent / "configs/boards.yaml")
    conf = tmp_path / "labpower.conf"
    conf.write_text(powerconf.render(boards, base_dir="/srv/lab"))
    n = sum(1 for b in boards.values() if "power" in b)
    tool = str(build / "labpower-fake")
    r = subprocess.run([tool, "--config", str(conf), "check"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == f"{conf}: {n} board(s) ok\n", r.stderr
    r = subprocess.run([tool, "--config", str(conf), "--run-dir", str(tmp_path / "run"), "list"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == n
    assert "vboard-uniform-01\tcommand lab/vboard/vboard\t" in r.stdout


def test_command_board_runs_decoded_argv(build, tmp_path):
    """An argument with spaces, quotes and '%' reaches the command intact."""
    out = tmp_path / "args"
    cmd = f"/bin/sh -c 'printf \"%s|\" \"$@\" > {out}' sh 'a b' \"it's\" 100% ü"
    boards = {"v": {"power": {"driver": "command", "on": cmd, "off": "/bin/true",
                              "min_off_ms": 0}}}
    conf = tmp_path / "labpower.conf"
    conf.write_text(powerconf.render(boards))
    r = subprocess.run([str(build / "labpower-fake"), "--config", str(conf), "--run-dir",
                        str(tmp_path / "run"), "on", "v"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "a b|it's|100%|ü|"
