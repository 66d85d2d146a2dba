"""`run.py nightly`: the lab admin's entry point.

build (make kernel-<config> rootfs-<config>) -> publish (run.py publish) ->
HEAD-check every artifact URL -> submit the plan -> wait, fetch, parse ->
compare with the previous night (compare.json, compare.md in the run dir)
-> the report page (bench/page.py over the last PAGE_NIGHTS nights of the
same plan and server, and this one, into <run>/report/; its night-to-night
regressions go into compare.json/.md and a `report:` line) ->
results/latest-nightly -> prune. Exit code: the run's (0 only if all
passed), or 1 if anything is newly failing; the page never changes it.

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
SECRET_ENV = ("LAVA_TOKEN",)
LATEST = "latest-nightly"
TAG = "nightly"
REPORT_PAGE = Path(__file__).resolve().parents[2] / "bench/page.py"
PAGE_SCHEMA = "bbml2-page/"
# Earlier nights on the report page, so its trend plots have a series.
PAGE_NIGHTS = 7


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
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}   # builds never see it
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, start_new_session=True,
                            stdin=subprocess.DEVNULL, env=env)
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


def build_and_publish(configs, repo, say, build=True, publish=True, make="make",
                      results=None, boots=None):
    """The steps before the run, for every kernel config the plan boots
    (and el2shim, which publish ships for the el2shim boards). Each
    config's make has CONFIG=<config>: the kernel tree depends on it
    (CONFIG=mainline builds Debian's linux-source-7.3, not the series).
    boots: {config: boards} booting a config not their own (publish --boot)."""
    for c in configs:
        if build:
            step([make, f"CONFIG={c}", f"kernel-{c}", f"rootfs-{c}"], repo, say)
    if build and configs:
        step([make, "el2shim"], repo, say)
    if publish:
        cmd = [sys.executable, repo / "lab/run.py", "publish"]
        if results:
            cmd += ["--results", results]
        for c in configs:
            cmd += ["--config", c]
        for c, names in sorted((boots or {}).items()):
            cmd += [x for b in sorted(names) for x in ("--boot", f"{c}:{b}")]
        step(cmd, repo, say)


def foreign_boots(specs, boards):
    """{config: {board}} of the jobs that boot a kernel config other than
    their board's own (nightly-mainline: 7.3 on the series' boards)."""
    out = {}
    for s in specs:
        if boards[s.board]["kernel_config"] != s.config:
            out.setdefault(s.config, set()).add(s.board)
    return out


def health_checks(credentials, matrix, specs, artifact_url, uri, say=print):
    """Install and switch on LAVA's health check of every device type the
    night's boards use (healthcheck.py), as the health-check user whose
    credentials file is `credentials` (LAB_HEALTH_CHECKS; not the runner's
    token). A record for the run's metadata and summary; a failure is
    recorded and said, and the night goes on (LAVA then runs whatever
    health checks it already has)."""
    from . import healthcheck, lavaserver, render
    types = healthcheck.types_of(matrix.boards, {s.board for s in specs})
    rec = {"device_types": types, "installed": []}
    if not types:
        rec["why"] = "no board of the night has a health check"
        return rec
    if not credentials or credentials == "off":
        rec["why"] = ("switched off (--health-checks off)" if credentials == "off" else
                      "not installed: no health-check credentials (LAB_HEALTH_CHECKS)")
        say(f"nightly: health checks {rec['why']}")
        return rec
    try:
        jobs = {t: j for t, j in healthcheck.all_jobs(render.Renderer(), matrix,
                                                      artifact_url).items() if t in types}
        server = lavaserver.Server(lavaserver.credentials(uri, {}, credentials), retries=3)
        server.check()
        done, absent = healthcheck.install(server, jobs)
    except (LabError, lavaserver.LavaError) as e:
        rec["error"] = str(e)
        say(f"nightly: health checks NOT installed: {e}")
        return rec
    rec.update(installed=done, absent=absent, user=server.creds.username)
    say(f"nightly: health checks on for {', '.join(done) or 'none'} (as {server.creds.username})"
        + (f"; device types not on the server: {', '.join(absent)}" if absent else ""))
    return rec


def nightly_runs(root):
    """Nightly run dirs under root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
            and f"-{TAG}" in p.name and (p / "metadata.json").is_file()]
    # names start with the UTC second; two runs in one second sort by age
    return sorted(runs, key=lambda p: (p.name[:16], (p / "metadata.json").stat().st_mtime_ns))


def run_meta(run_dir):
    """A run's metadata.json as a dict; {} if missing or unreadable."""
    try:
        meta = json.loads((Path(run_dir) / "metadata.json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _say(text):
    print(text, flush=True)


def ran_its_jobs(run_dir):
    """True for a night that can be a baseline: it ended (not running or
    detached) and at least one job ran to a verdict (pass or fail). A night
    that failed to build, was terminated, or lost every job to the lab's
    infrastructure is no baseline."""
    meta = run_meta(run_dir)
    if meta.get("status") not in ("complete", "error"):
        return False
    return compare.load(run_dir) is not None and any(
        j.get("verdict") in ("pass", "fail") and not j.get("infra")
        and j.get("status") != "skipped" for j in meta.get("jobs") or [])


def _order(run):
    """Sort key of a nightly run dir: its UTC start second, then its age."""
    return (run.name[:16], (run / "metadata.json").stat().st_mtime_ns
            if (run / "metadata.json").exists() else 0)


def finish_night(run_dir, root, keep, history=5, page_nights=PAGE_NIGHTS, say=_say):
    """Compare with the previous night (the newest older night of the same
    plan and server that ran its jobs: a night of `nightly-mainline` is no
    baseline of `nightly`), build the report page over the recent nights, point
    latest-nightly here if this night ran its jobs and is newer than the
    one it points to (it never moves backwards: resuming an old night does
    not), prune. Returns the comparison dict ("report": what the page
    found)."""
    run_dir, root = Path(run_dir), Path(root)
    link = root / LATEST
    every = nightly_runs(root)
    mine = _order(run_dir)
    meta = run_meta(run_dir)
    before = [r for r in every if r.name != run_dir.name and _order(r) < mine
              and _lineage(run_meta(r)) == _lineage(meta)]
    previous = next((r for r in reversed(before) if ran_its_jobs(r)), None)
    older = [compare.load(r) for r in before if previous is None or r.name != previous.name]
    flaky = [(j["name"], t) for j in meta.get("jobs", []) for t in j.get("flaky_tests") or []]
    cmp = compare.compare(compare.load(run_dir) or [],
                          compare.load(previous) if previous else None,
                          [h for h in older[-history:] if h is not None], flaky)
    cmp["current"], cmp["previous"] = run_dir.name, previous.name if previous else None
    cmp["baseline"] = ran_its_jobs(run_dir)
    write_comparison(run_dir, cmp)           # recorded before the page can fail
    cmp["report"] = report_page(run_dir, page_inputs(run_dir, every, page_nights))
    write_comparison(run_dir, cmp)
    say(report_line(cmp["report"], run_dir))
    current = root / os.readlink(link) if link.is_symlink() else None
    newer = current is None or not current.is_dir() or _order(current) < mine
    if cmp["baseline"] and newer:
        tmp = root / f".{LATEST}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    elif not cmp["baseline"]:
        say(f"nightly: {run_dir.name} did not run its jobs: {LATEST} stays "
            f"{current.name if current else 'unset'}, and no later night compares with it")
    prune(root, keep)
    return cmp


def write_comparison(run_dir, cmp):
    """compare.json and compare.md (with the report's findings once known)."""
    atomic_write_json(run_dir / "compare.json", cmp)
    md = compare.markdown(cmp, run_dir.name, cmp["previous"])
    if "report" in cmp:
        md += "\n" + report_markdown(cmp["report"])
    atomic_write(run_dir / "compare.md", md)


def _lineage(meta):
    """What makes two nights one series: the plan and the LAVA server."""
    return meta.get("plan"), (meta.get("lab") or {}).get("server")


def page_inputs(run_dir, runs, n=PAGE_NIGHTS):
    """Up to n nightly runs before run_dir (runs: oldest first), oldest
    first, of the same plan and server, with results.json and their job
    directories. Pruned nights are left out: their benchmark data went with
    the job directories, and the page would count those jobs as never run."""
    names = [r.name for r in runs]
    before = runs[:names.index(run_dir.name)] if run_dir.name in names else runs
    want = _lineage(run_meta(run_dir))
    fit = [r for r in before if (r / "jobs").is_dir() and compare.load(r) is not None
           and _lineage(run_meta(r)) == want]
    return fit[-n:] if n > 0 else []


class PageError(Exception):
    """bench/page.py wrote no usable page."""


def report_page(run_dir, earlier, timeout_s=600):
    """The one report (`make report`, bench/page.py) of the earlier nights
    and this one, into <run>/report/. Best effort: the night's verdict does
    not depend on it, a failure is recorded (one error), never raised, and
    an earlier page of this run is only replaced by a complete one.

    page.py's exit status 1 means input problems (the page is written and
    lists them), not regressions: those come from its report.json."""
    run_dir = Path(run_dir)
    out, tmp = run_dir / "report", run_dir / ".report.tmp"
    inputs = [str(r) for r in earlier] + [str(run_dir)]
    rec = {"nights": [Path(r).name for r in inputs]}
    try:
        _remove(tmp)
        rc, data, line = run_page(tmp, inputs, run_dir.name, timeout_s)
        _remove(out)
        os.replace(tmp, out)
    except (PageError, OSError, subprocess.SubprocessError) as e:
        _remove(tmp, quiet=True)
        return {**rec, "dir": None, "error": str(e) if isinstance(e, PageError)
                else f"bench/page.py: {e}"}
    found = page_findings(data, run_dir.name)
    return {**rec, "dir": out.name, "page": f"{out.name}/index.html", "rc": rc,
            "report_problems": rc == 1, **found, "line": line.replace(str(tmp), str(out))}


def _remove(path, quiet=False):
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:
        if not quiet:
            raise


def run_page(out, inputs, name, timeout_s):
    """bench/page.py -o out inputs: (rc, its report.json, its summary
    line). PageError when it wrote nothing usable."""
    p = subprocess.run([sys.executable, str(REPORT_PAGE), "-o", str(out), "--name", name,
                        *inputs], capture_output=True, text=True, timeout=timeout_s,
                       stdin=subprocess.DEVNULL)
    last = (p.stderr.strip().splitlines() or ["no output on stderr"])[-1]
    if p.returncode not in (0, 1):
        raise PageError(f"bench/page.py rc={p.returncode}: {last}")
    try:
        data = json.loads((out / "report.json").read_text())
    except (OSError, ValueError) as e:
        raise PageError(f"bench/page.py rc={p.returncode} left no readable report.json "
                        f"({e.__class__.__name__}): {last}") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith(PAGE_SCHEMA):
        raise PageError(f"bench/page.py rc={p.returncode}: report.json is not a "
                        f"{PAGE_SCHEMA}* page")
    return p.returncode, data, (p.stdout.strip().splitlines() or [""])[-1]


def page_findings(data, run_id):
    """From page.py's report.json: the night-to-night comparisons ending at
    this run's night ("nights", each with "regression"), the regressions
    among them by name, how many of them have too few boots for any flag
    (the smallest p their boot counts allow is not below alpha: one boot
    per mode and night never is), the regressions between earlier nights
    (flagged on their own night) and the input problems."""
    night = next((r.get("night") for r in _dicts(data.get("runs"))
                  if r.get("id") == run_id), None)
    alpha = data.get("alpha") if isinstance(data.get("alpha"), (int, float)) else 0.05
    pairs = _dicts(data.get("nights"))
    tonight = [c for c in pairs if str(c.get("after", "")).split(" ")[0] == night]
    return {"compared": len(tonight), "alpha": alpha,
            "too_few_boots": sum(1 for c in tonight if isinstance(c.get("min_p"), (int, float))
                                 and c["min_p"] >= alpha),
            "regressions": [regression_name(c) for c in tonight if c.get("regression")],
            "earlier_regressions": sum(1 for c in pairs if c.get("regression"))
            - sum(1 for c in tonight if c.get("regression")),
            "problems": [str(p) for p in data.get("problems") or [] if p]}


def _dicts(items):
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def regression_name(c):
    """'pcache-rand-pread scatter [off] on rpi4-01 (4096 MiB, hw): -7.2 %
    (2026-12-01 ab12 -> 2026-12-02 cd34)'."""
    delta = c.get("delta_pct")
    change = f"{delta:+.1f} %" if isinstance(delta, (int, float)) else "?"
    return (f"{c.get('bench')} {c.get('metric')} [{c.get('mode')}] on {c.get('board')} "
            f"({c.get('mem_mb')} MiB, {c.get('clock')}): {change} "
            f"({c.get('before')} -> {c.get('after')})")


def report_verdict(rep):
    """One sentence: what the page found against the previous night."""
    if rep.get("error"):
        return f"no page ({rep['error']}); the night's results and comparison are kept"
    regs = rep.get("regressions") or []
    if regs:
        return f"{len(regs)} benchmark regression(s) against the previous night: " + \
            "; ".join(regs)
    n, few = rep.get("compared") or 0, rep.get("too_few_boots") or 0
    if not n:
        return "no benchmark comparison against a previous night (no benchmark of the " \
            "same board, RAM and clock on both nights)"
    if few == n:
        return f"no benchmark regression can be flagged against the previous night: all " \
            f"{n} comparison(s) have too few boots for p < {rep.get('alpha', 0.05):g} " \
            "(that takes at least 4 boots per mode and night: bench/sweep.py --repeat 4)"
    return f"no benchmark regression against the previous night ({n} compared" + \
        (f", {few} with too few boots to flag one)" if few else ")")


def report_line(rep, run_dir):
    """The nightly's `report:` line: the verdict and where the page is."""
    line = f"report: {report_verdict(rep)}"
    if rep.get("page"):
        line += f"; page {Path(run_dir) / rep['page']} ({len(rep['nights'])} night(s)"
        if rep.get("report_problems"):
            line += f", {len(rep.get('problems') or [])} input problem(s) listed on the page"
        line += ")"
    return line


def report_markdown(rep):
    """The report's section of compare.md."""
    lines = ["## Report", "", report_verdict(rep) + ".", ""]
    if rep.get("page"):
        lines += [f"Page: `{rep['page']}` (`{rep['dir']}/report.md`, `report.json`), over "
                  f"{len(rep['nights'])} night(s): " + ", ".join(rep["nights"]) + ".", ""]
    if rep.get("earlier_regressions"):
        lines += [f"{rep['earlier_regressions']} regression(s) between earlier nights are "
                  "flagged on the page.", ""]
    if rep.get("report_problems"):
        lines += ["Input problems (bench/page.py exit status 1):", ""]
        lines += [f"- {p}" for p in rep.get("problems") or []] + [""]
    return "\n".join(lines)


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
