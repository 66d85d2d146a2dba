"""A run: results/<run-id>/ holding one directory per job plus run-level
metadata.json, results.json, junit.xml and summary.md.

Run-level files are rewritten (atomically) after every job, so an interrupted
run keeps every finished job's results. Exit codes: 0 all passed (skips
allowed), 1 some test failed, 2 some job or the setup errored.
"""
import platform
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from . import metadata, report
from .fsutil import atomic_write, atomic_write_json, new_job_dir, new_run_dir
from .job import run_job


class Session:
    """One results directory and the jobs run into it."""

    def __init__(self, results_root, tag, repo, argv, plan=None, out=None, run_dir=None):
        """A new run directory under results_root, or (run_dir) an existing
        one re-opened to resume it: its files are not rewritten until the
        caller has restored jobs and results (see labrun.resume)."""
        self.run_dir = Path(run_dir) if run_dir else new_run_dir(results_root, tag)
        self.run_id = self.run_dir.name
        self.tag = secrets.token_hex(3)        # part of every LAVA job id of this run
        self.repo = repo
        self.out = out
        self.jobs, self.results = [], []
        self.meta = {"run_id": self.run_id, "status": "running", "error": None,
                     "plan": plan, "argv": list(argv), "started": metadata.utcnow(),
                     "host": {"name": platform.node(), "platform": platform.platform()},
                     "git": metadata.git_revision(repo), "tools": metadata.tool_versions()}
        if not run_dir:
            self._write()

    def say(self, text):
        """One progress line on the terminal."""
        print(text, file=self.out or sys.stdout, flush=True)

    def setup_error(self, message):
        """Record an error that stopped the run before (or between) jobs."""
        self.meta["status"], self.meta["error"] = "error", message
        self.results.append({"name": "setup", "result": "error", "detail": message,
                             "suite": None, "job": "setup"})
        self.say(f"error: {message}")

    def add_junit(self, path, name="unit"):
        """Fold an existing JUnit file (e.g. pytest's) into the run as one job."""
        results = []
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            results.append({"name": f"{name}.junit", "result": "error",
                            "detail": f"{path}: {e}", "suite": name, "job": name})
            root = None
        for case in (root.iter("testcase") if root is not None else ()):
            cls, test = case.get("classname", ""), case.get("name", "")
            outcome, detail = "pass", None
            for tag, res in (("failure", "fail"), ("error", "error"), ("skipped", "skip")):
                el = case.find(tag)
                if el is not None:
                    outcome, detail = res, el.get("message") or (el.text or "").strip()
                    break
            results.append({"name": f"{name}.{cls}.{test}".strip("."), "result": outcome,
                            "detail": detail, "suite": name, "job": name})
        atomic_write(self.run_dir / f"{name}-junit.xml",
                     ET.tostring(root, encoding="unicode") if root is not None else "")
        c = report.counts(results)
        self.results += results
        self.jobs.append({"name": name, "verdict": report.verdict(results), "counts": c,
                          "wall_s": None, "error": None})
        self._write()
        self.say(f"{name}: {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped "
                 f"(from {path})")

    def run(self, specs, boards, artifacts_for, renderer):
        """Run every spec in order; artifacts_for(spec) -> job.Artifacts."""
        self.meta["jobs_planned"] = [s.name for s in specs]
        self._write()
        total = len(specs)
        for i, spec in enumerate(specs, 1):
            self.say(f"[{i}/{total}] {spec.name}: start ({spec.board}, {spec.cpus} cpus, "
                     f"{spec.mem_mb} MiB, mode {spec.mode}, config {spec.config})")
            start = time.monotonic()
            job_dir = new_job_dir(self.run_dir, spec.name)
            summary = run_job(spec, boards[spec.board], artifacts_for(spec), job_dir,
                              renderer, self.tag, self.repo)
            self.results += summary.pop("results")
            self.jobs.append(summary)
            self._write()
            c = summary["counts"]
            line = (f"[{i}/{total}] {spec.name}: {summary['verdict'].upper()} "
                    f"({c['pass']} passed, {c['fail']} failed, {c['skip']} skipped) "
                    f"in {time.monotonic() - start:.1f} s")
            if summary["error"]:
                line += f": {summary['error']}"
            if summary["bad_log_lines"]:
                line += f" [warning: {summary['bad_log_lines']} unparsable LAVA log lines]"
            self.say(line)

    def finish(self):
        """Write the final run-level files, print the summary; exit code."""
        if self.meta["status"] == "running":
            self.meta["status"] = "complete"
        self.meta["finished"] = metadata.utcnow()
        code = self.exit_code()
        self.meta["exit_code"] = code
        self._write()
        self.say(f"results: {self.run_dir}")
        self.say(report.summary_line(self.results))
        return code

    def exit_code(self):
        """0 pass, 1 test failures, 2 errors (job or setup)."""
        c = report.counts(self.results)
        if c["error"] or self.meta["status"] == "error":
            return 2
        return 1 if c["fail"] else 0

    def _write(self):
        self.meta["jobs"] = self.jobs
        self.meta["counts"] = report.counts(self.results)
        self.meta["summary"] = report.summary_line(self.results)
        atomic_write_json(self.run_dir / "results.json", self.results)
        junit_jobs = [(j["name"], [r for r in self.results if r["job"] == j["name"]], j["wall_s"])
                      for j in self.jobs]
        setup = [r for r in self.results if r["job"] == "setup"]
        if setup:
            junit_jobs.append(("setup", setup, None))
        atomic_write(self.run_dir / "junit.xml", report.junit(junit_jobs))
        atomic_write(self.run_dir / "summary.md",
                     report.summary_md(self.run_id, self.jobs, self.results))
        atomic_write_json(self.run_dir / "metadata.json", self.meta)
