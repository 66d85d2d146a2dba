"""`run.py nightly`: the lab admin's entry point.

build (make kernel-<config> rootfs-<config>) -> publish (run.py publish) ->
HEAD-check every artifact URL -> submit the plan -> wait, fetch, parse ->
compare with the previous night (compare.json, compare.md in the run dir)
-> results/latest-nightly -> prune. Exit code: the run's (0 only if all
passed), or 1 if anything is newly failing.

One nightly at a time: an flock on <results>/.nightly.lock. Retention: the
last `keep` nightly runs keep their job directories; older ones keep their
run-level files (results.json, summary.md, metadata.json, compare.*) so no
night's summary is lost.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from . import LabError, compare
from .fsutil import atomic_write, atomic_write_json

LOCK = ".nightly.lock"
LATEST = "latest-nightly"
TAG = "nightly"


def read_env(path):
    """KEY=VALUE lines of the lab env file (lab/local/up.sh); {} if absent."""
    env = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return env
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


class Lock:
    """An exclusive, non-blocking flock held for the process's lifetime."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(self.fd, 64, 0).decode(errors="replace").strip()
            os.close(self.fd)
            raise LabError(f"another nightly holds {self.path}"
                           + (f" (pid {other})" if other else "")) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self):
        os.close(self.fd)


def step(cmd, cwd, say):
    """Run one build/publish command; its whole process group dies with us
    (SIGTERM, Ctrl-C). LabError naming the command if it fails."""
    say(f"nightly: {' '.join(map(str, cmd))}")
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, start_new_session=True,
                            stdin=subprocess.DEVNULL)
    try:
        rc = proc.wait()
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    if rc != 0:
        raise LabError(f"nightly: `{' '.join(map(str, cmd))}` failed (rc={rc})")


def build_and_publish(configs, repo, say, build=True, publish=True, make="make"):
    """The steps before the run, for every kernel config the plan boots
    (and el2shim, which publish ships for the el2shim boards)."""
    for c in configs:
        if build:
            step([make, f"kernel-{c}", f"rootfs-{c}"], repo, say)
    if build and configs:
        step([make, "el2shim"], repo, say)
    if publish:
        cmd = [sys.executable, repo / "lab/run.py", "publish"]
        for c in configs:
            cmd += ["--config", c]
        step(cmd, repo, say)


def nightly_runs(root):
    """Nightly run dirs under root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
            and f"-{TAG}" in p.name and (p / "metadata.json").is_file()]
    # names start with the UTC second; two runs in one second sort by age
    return sorted(runs, key=lambda p: (p.name[:16], (p / "metadata.json").stat().st_mtime_ns))


def finish_night(run_dir, root, keep, history=5):
    """Compare with the previous night, point latest-nightly here, prune.
    Returns the comparison dict."""
    run_dir, root = Path(run_dir), Path(root)
    link = root / LATEST
    runs = [r for r in nightly_runs(root) if r.name != run_dir.name]
    previous = None
    if link.is_symlink() and (root / os.readlink(link)).resolve() != run_dir.resolve():
        previous = root / os.readlink(link)          # the night before, as last recorded
    if previous is None or compare.load(previous) is None:
        previous = next((r for r in reversed(runs) if compare.load(r) is not None), None)
    runs = [r for r in runs if previous is None or r.name != previous.name]
    older = [compare.load(r) for r in runs][-history:]
    meta = json.loads((run_dir / "metadata.json").read_text())
    retried = {j["name"] for j in meta.get("jobs", []) if (j.get("attempts") or 1) > 1}
    cmp = compare.compare(compare.load(run_dir) or [],
                          compare.load(previous) if previous else None,
                          [h for h in older if h is not None], retried)
    cmp["current"], cmp["previous"] = run_dir.name, previous.name if previous else None
    atomic_write_json(run_dir / "compare.json", cmp)
    atomic_write(run_dir / "compare.md", compare.markdown(cmp, run_dir.name, cmp["previous"]))
    cmp["report"] = report_page(run_dir, previous)
    atomic_write_json(run_dir / "compare.json", cmp)
    tmp = root / f".{LATEST}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)
    prune(root, keep)
    return cmp


REPORT_PAGE = Path(__file__).resolve().parents[2] / "bench/page.py"


def report_page(run_dir, previous, timeout_s=600):
    """The one report (`make report`, bench/page.py) of this night against
    the previous one, into <run>/report/. Best effort: the night's verdict
    does not depend on it, and a failure is recorded, not raised."""
    runs = [str(previous)] if previous else []
    out = Path(run_dir) / "report"
    if out.exists():
        shutil.rmtree(out)
    try:
        p = subprocess.run([sys.executable, str(REPORT_PAGE), "-o", str(out), *runs,
                            str(run_dir)], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"dir": None, "error": f"bench/page.py: {e}"}
    if p.returncode not in (0, 1):
        last = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return {"dir": None, "error": f"bench/page.py rc={p.returncode}: {last}"}
    return {"dir": str(out.relative_to(run_dir)), "regressions": p.returncode == 1,
            "line": p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""}


def prune(root, keep):
    """Job directories of all but the newest `keep` nightly runs go; the
    run-level files stay."""
    runs = nightly_runs(root)
    for old in runs[:max(0, len(runs) - keep)]:
        jobs = old / "jobs"
        if jobs.is_dir():
            shutil.rmtree(jobs)
            atomic_write(old / "PRUNED", "job directories removed by the nightly's retention; "
                         "results.json, summary.md and metadata.json are complete\n")
