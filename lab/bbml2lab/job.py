"""One job, start to finish, into its own results directory jobs/<name>/:

  job.yaml device.yaml     what was run (job schema-validated before running)
  lava.jsonl               lava-run's raw log (stderr)
  lava-output/             lava-run's --output-dir (result.yaml, description.yaml)
  console.log              the guest console, from the log's target records
  lava-results.json        LAVA's own monitor results (for comparison)
  results.json junit.xml   the runner's results (KTAP + health + LAVA verdict)
  metadata.json            provenance, timings, status ("complete" or "error")
  error.txt                traceback, only for an internal error

Every failure mode ends in metadata.json with status "error" and the error
text, and an error result in results.json; nothing raises out of run_job.
"""
import os
import shutil
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from . import (LabError, allowlist, console, cpus, health, ktap, lavalog, lavarun, linmap, metadata,
               modecheck, render, report)
from .fsutil import atomic_write, atomic_write_json

TIMEOUT_MARGIN_S = 120


@dataclass
class Artifacts:
    """Kernel and initramfs for one job (paths, not yet checked)."""
    kernel: Path
    initrd: Path
    config_file: Path = None
    shim: Path = None           # el2shim boards: the EL2 program (default: the build's)


def shim_for(board, art, repo):
    """The el2shim binary an el2shim board boots in front of the kernel, or
    None for other boards; LabError if it is not built."""
    if not board.get("qemu", {}).get("el2shim"):
        return None
    shim = Path(art.shim or Path(repo) / "build/el2shim/el2shim.bin")
    if not shim.is_file():
        raise LabError(f"el2shim not found: {shim} (the board runs QEMU at EL2 under it; "
                       "build it with `make el2shim`)")
    return shim


def evaluate(log_text, suite, expect=None):
    """(results, Console, LavaLog) for a LAVA log (lava-run's or a server's)
    of one boot of `suite`. `expect` ({board, bbml2, mode, cmdline}) adds the
    mission check kernel.mode_matches_board (modecheck.py)."""
    log = lavalog.parse(log_text)
    con = console.parse("\n".join(log.console))
    ktap_results = (ktap.parse_results(con.ktap, suite, cut=not con.ended) if con.began else [])
    results = health.results(con, suite, ktap_results)
    results[1:1] = ktap_results          # boot, <ktap...>, suite_complete, poweroff, splats
    if expect:
        board = expect["board"] + (f" (allow-list: {expect['allow_list']})"
                                   if expect.get("allow_list") else "")
        results.append(modecheck.result(con, suite, board, expect["bbml2"],
                                        expect["mode"], expect.get("cmdline", ""),
                                        ktap_results))
    v = log.verdict
    if v is None:
        results.append({"name": f"{suite}.lava.job", "result": "fail",
                        "detail": "no job verdict in the LAVA log"
                        + (f" ({len(log.bad_lines)} unparsable lines)" if log.bad_lines else "")})
    else:
        bad = v.get("result") != "pass"
        detail = f"{v.get('error_type', '')}: {v.get('error_msg', '')}".strip(": \n") if bad else ""
        results.append({"name": f"{suite}.lava.job", "result": "fail" if bad else "pass",
                        "detail": detail})
    return results, con, log


def expectation(spec, board, cmdline, kernel=None, allow_list=None):
    """What the mission check expects of this job on this board. With
    maxcpus=N only the first N CPUs take part in the boot-time decision (a
    later CPU without BBML2 is refused, not repainted for), so the class is
    that of those CPUs. The class comes from the allow-list of the kernel
    under test (mainline 7.3's list is longer than the series'): for a local
    job from `kernel` (the Image of an out-of-tree build: its tree's list,
    allowlist.of_image), for a lab job from `allow_list` (the same record,
    published with the build in manifest.json). A tree or record without a
    readable list, and a manifest without one, leave the inventory's class
    (the series')."""
    if allow_list is None and kernel:
        allow_list = allowlist.of_image(kernel)
    ranges, source = allowlist.ranges_of(allow_list)
    bbml2 = board["bbml2"] if ranges is None else \
        cpus.implied_bbml2(cpus.expand(board["cpus"], spec.cpus), ranges)
    for arg in str(cmdline).split():
        if arg.startswith("maxcpus=") and arg[8:].isdigit() and int(arg[8:]) >= 1:
            bbml2 = cpus.implied_bbml2(cpus.expand(board["cpus"], spec.cpus)[:int(arg[8:])],
                                       ranges)
    return {"board": spec.board, "bbml2": bbml2, "mode": spec.mode, "cmdline": cmdline,
            "allow_list": source}


def _check_artifacts(art):
    for what, path in (("kernel image", art.kernel), ("initramfs", art.initrd)):
        if not Path(path).is_file():
            raise LabError(f"{what} not found: {path}")


def run_job(spec, board, art, job_dir, renderer, run_tag, repo):
    """Run spec on board into job_dir; returns the job summary dict."""
    job_dir = Path(job_dir)
    meta = {"job": spec.name, "status": "running", "error": None, "spec": asdict(spec),
            "board": {"name": spec.board, "kind": board["kind"],
                      "device_type": board["lava"]["device_type"], "bbml2": board["bbml2"]},
            "started": metadata.utcnow(), "git": metadata.git_revision(repo),
            "tools": metadata.tool_versions()}
    results, outcome = [], None
    try:
        meta["kernel"] = metadata.kernel_facts(art.kernel, art.initrd, spec.config, art.config_file)
        _check_artifacts(art)
        shim = shim_for(board, art, repo)
        if shim:
            meta["el2shim"] = {"path": str(shim), "sha256": metadata.sha256(shim)}
        job, cmdline = renderer.job(spec, board, Path(art.kernel).resolve().as_uri(),
                                    Path(art.initrd).resolve().as_uri(),
                                    shim_url=shim.resolve().as_uri() if shim else None)
        meta["cmdline"] = cmdline
        render.validate_job(job, where=f"job {spec.name}")
        atomic_write(job_dir / "job.yaml", render.dump(job))
        atomic_write(job_dir / "device.yaml", renderer.device(spec, board))
        lavarun.check_environment()
        job_id = lavarun.unique_job_id(run_tag)
        out_tmp = job_dir / ".lava-output.partial"
        out_tmp.mkdir()
        outcome = lavarun.run(job_dir / "job.yaml", job_dir / "device.yaml", out_tmp,
                              job_dir / "lava.jsonl", job_id,
                              spec.timeout_min * 60 + TIMEOUT_MARGIN_S)
        os.replace(out_tmp, job_dir / "lava-output")
        meta["lava"] = {"job_id": job_id, "rc": outcome.rc, "timed_out": outcome.timed_out}
        meta["wall_s"] = round(outcome.wall_s, 3)
        results, con, log = evaluate((job_dir / "lava.jsonl").read_text(errors="replace"),
                                     spec.suite, expectation(spec, board, cmdline, art.kernel))
        if outcome.timed_out:
            results.append({"name": f"{spec.suite}.lava.timeout", "result": "fail",
                            "detail": f"lava-run killed after {outcome.wall_s:.0f} s"})
        atomic_write(job_dir / "console.log", "\n".join(log.console) + "\n")
        atomic_write_json(job_dir / "lava-results.json", lavalog.monitor_results(log))
        meta["lava"].update({
            "verdict": (log.verdict or {}).get("result"),
            "error_type": (log.verdict or {}).get("error_type"),
            "error_msg": (log.verdict or {}).get("error_msg"),
            "log_records": log.records, "log_bad_lines": len(log.bad_lines),
            "log_bad_samples": [f"line {n}: {text}" for n, text in log.bad_lines[:5]]})
        meta["kernel"]["console_version"] = con.linux_version
        meta["linear_map"] = linmap.parse("\n".join(log.console))
        meta["guest"] = con.boot
        if not log.records:
            raise LabError(f"LAVA log {job_dir / 'lava.jsonl'} has no records "
                           f"(lava-run rc={outcome.rc})")
        meta["status"] = "complete"
    except LabError as e:
        meta["status"], meta["error"] = "error", str(e)
    except Exception as e:  # a runner bug must not lose the run: record it
        meta["status"], meta["error"] = "error", f"internal error: {type(e).__name__}: {e}"
        atomic_write(job_dir / "error.txt", traceback.format_exc())
    finally:
        partial = job_dir / ".lava-output.partial"
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    if meta["status"] == "error":
        results.append({"name": f"{spec.suite}.job", "result": "error", "detail": meta["error"]})
    for r in results:
        r.update(suite=spec.suite, job=spec.name)
    meta["finished"] = metadata.utcnow()
    meta["verdict"] = report.verdict(results, meta["status"])
    meta["counts"] = report.counts(results)
    atomic_write_json(job_dir / "results.json", results)
    atomic_write(job_dir / "junit.xml", report.junit([(spec.name, results, meta.get("wall_s"))]))
    atomic_write_json(job_dir / "metadata.json", meta)
    return {"name": spec.name, "dir": str(job_dir), "status": meta["status"],
            "verdict": meta["verdict"], "counts": meta["counts"], "wall_s": meta.get("wall_s"),
            "lava_verdict": meta.get("lava", {}).get("verdict"), "error": meta["error"],
            "mode": spec.mode, "board": spec.board, "linear_map": meta.get("linear_map"),
            "results": results, "bad_log_lines": meta.get("lava", {}).get("log_bad_lines", 0)}
