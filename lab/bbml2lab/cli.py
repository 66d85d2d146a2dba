"""Command line of lab/run.py (see lab/README.md)."""
import argparse
import json
import sys
from pathlib import Path

from . import LabError, config, render, report
from .fsutil import safe_name
from .job import Artifacts, evaluate
from .labrun import Terminated
from .session import Session

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = {
    "matrix": REPO / "configs/matrix.yaml",
    "boards": REPO / "configs/boards.yaml",
    "device_types": REPO / "build/lava-server/usr/share/lava-server/device-types",
    "initrd": REPO / "build/rootfs/initramfs.cpio.gz",
    "results": REPO / "results",
}


def selection_options(p, single, plan=None):
    """Options choosing and shaping the jobs (plan or single suite + overrides);
    also bench/sweep.py's (plan: its default plan)."""
    if single:
        p.add_argument("--suite", required=True, help="suite to boot (bbml2lab.suite=)")
        p.add_argument("--name", help="job name prefix (default: the suite)")
    else:
        p.add_argument("--plan", required=not plan, default=plan,
                       help="plan name in the matrix file, or several: a,b (a's jobs, then "
                       "b's)" + (f" ({plan})" if plan else ""))
        p.add_argument("--only", metavar="NAMES",
                       help="comma-separated entry names of the plan(s): run only those")
    p.add_argument("--matrix", default=DEFAULTS["matrix"], help="matrix file (%(default)s)")
    p.add_argument("--boards", default=DEFAULTS["boards"], help="board inventory (%(default)s)")
    p.add_argument("--board", help="run every job on this board")
    p.add_argument("--config", help="kernel config name for every job, replaces the plan's")
    p.add_argument("--cpus", help="comma-separated CPU counts, replaces the plan's")
    p.add_argument("--mem", help="comma-separated memory sizes in MiB, replaces the plan's")
    p.add_argument("--modes", help="comma-separated mode names, replaces the plan's")
    p.add_argument("--cmdline", help="extra kernel arguments, appended to every job's")
    p.add_argument("--timeout", type=int, help="LAVA job timeout in minutes, replaces the plan's")


def _artifacts(p):
    k = p.add_mutually_exclusive_group()
    k.add_argument("--kernel", help="arm64 Image used by every job")
    k.add_argument("--kernel-dir", metavar="PATTERN",
                   help="per-config kernel: a path with {config}, either the Image "
                   "(build/kernel-{config}/arch/arm64/boot/Image) or the build dir (O=)")
    i = p.add_mutually_exclusive_group()
    i.add_argument("--initrd", default=DEFAULTS["initrd"], help="initramfs (%(default)s)")
    i.add_argument("--initrd-dir", metavar="PATTERN",
                   help="per-config initramfs: a path with {config}")
    p.add_argument("--kconfig", help=".config to record (default: the one next to "
                   "<build>/arch/arm64/boot/Image)")


def _device_types(p):
    p.add_argument("--device-types", default=DEFAULTS["device_types"],
                   help="LAVA device-type templates dir (%(default)s)")


def _wait_options(p):
    p.add_argument("--poll", type=float, default=5.0, help="first poll interval, s (%(default)s)")
    p.add_argument("--deadline", type=float, default=360.0,
                   help="overall deadline for all jobs, minutes (%(default)s)")
    p.add_argument("--max-resubmit", type=int, default=2, choices=range(0, 3),
                   help="resubmissions of an infrastructure failure before boot (%(default)s)")


def _lab_options(p):
    p.add_argument("--server", help="LAVA RPC URI (default: LAVA_URI or "
                   "~/.config/bbml2-lab/lava.yaml)")
    p.add_argument("--artifact-url", required=True,
                   help="base http URL of the published artifacts (holds manifest.json)")
    p.add_argument("--results", default=DEFAULTS["results"], help="results root (%(default)s)")
    p.add_argument("--tag", help="run-id tag (default: the plan name)")
    p.add_argument("--queue-hours", type=int, help="LAVA queue timeout of every job")
    _wait_options(p)


def parser():
    """The argparse parser for all subcommands."""
    ap = argparse.ArgumentParser(prog="run.py", description="bbml2-lab LAVA runner")
    sub = ap.add_subparsers(dest="cmd", required=True)

    for name, single, text in (("matrix", False, "run a plan of the matrix with lava-run"),
                               ("run", True, "run one suite (with overrides) with lava-run")):
        p = sub.add_parser(name, help=text)
        selection_options(p, single)
        _artifacts(p)
        _device_types(p)
        p.add_argument("--results", default=DEFAULTS["results"], help="results root (%(default)s)")
        p.add_argument("--tag", help="run-id tag (default: plan or suite name)")
        p.add_argument("--unit-junit", metavar="XML",
                       help="fold this JUnit file (the unit tests) into the run's results")

    p = sub.add_parser("render", help="render + validate the jobs of a plan, no boot")
    selection_options(p, False)
    _artifacts(p)
    _device_types(p)
    p.add_argument("--artifact-url", help="base http(s) URL for lab boards' Image/initrd/dtb")
    p.add_argument("--out", help="write <job>.job.yaml / <job>.device.yaml into this new dir")

    p = sub.add_parser("validate", help="LAVA schema check of job YAML files")
    p.add_argument("files", nargs="+")

    p = sub.add_parser("parse", help="re-parse a job dir (or lava.jsonl) and print results")
    p.add_argument("path", help="results/<run>/jobs/<job> or a lava.jsonl file")
    p.add_argument("--suite", help="suite name (default: from the job's metadata.json)")
    p.add_argument("--json", action="store_true", help="print results as JSON")

    p = sub.add_parser("lab", help="submit a plan's jobs to a LAVA server, wait, fetch, "
                       "parse into a results dir")
    selection_options(p, False)
    _lab_options(p)

    p = sub.add_parser("nightly", help="build, publish, run the nightly plan through the "
                       "lab, compare with the previous night")
    selection_options(p, False)
    _lab_options(p)
    for action in p._actions:             # both have defaults here
        if action.dest in ("plan", "artifact_url"):
            action.required = False
    p.set_defaults(plan="nightly", queue_hours=4)
    p.add_argument("--lab-env", default=REPO / "build/lab/env",
                   help="lab env file for LAVA_URI / LAB_ARTIFACT_URL (%(default)s)")
    p.add_argument("--keep", type=int, default=14,
                   help="nightly runs that keep their job dirs (%(default)s)")
    p.add_argument("--no-build", action="store_true", help="skip make kernel-*/rootfs-*")
    p.add_argument("--no-publish", action="store_true", help="skip run.py publish")
    p.add_argument("--health-checks", metavar="FILE|off",
                   help="credentials file of the health-check user: install and switch on "
                   "LAVA's health check of each device type of the night's boards before "
                   "submitting (default: LAB_HEALTH_CHECKS of --lab-env); off: leave them")
    p.add_argument("--notify", metavar="CMD",
                   help="command that gets the night's plain-text summary on stdin "
                   "(default: LAB_NOTIFY in the lab env file)")

    p = sub.add_parser("resume", help="re-attach to a lab run after the runner was killed "
                       "or detached (SIGTERM)")
    p.add_argument("run", help="results/<run> of a `lab` or `nightly` run")
    p.add_argument("--server", help="LAVA RPC URI (default: the run's)")
    p.add_argument("--keep", type=int, default=14,
                   help="a resumed nightly: runs that keep their job dirs (%(default)s)")
    _wait_options(p)

    p = sub.add_parser("cancel", help="cancel a lab run's unfinished LAVA jobs, keeping "
                       "their partial logs")
    p.add_argument("run", help="results/<run> of a `lab` or `nightly` run")
    p.add_argument("--server", help="LAVA RPC URI (default: the run's)")
    p.add_argument("--keep", type=int, default=14,
                   help="a canceled nightly: runs that keep their job dirs (%(default)s)")

    p = sub.add_parser("health-checks", help="LAVA health-check jobs, one per device type "
                       "of the inventory's lab boards: write them, or install them (admin token)")
    p.add_argument("--matrix", default=DEFAULTS["matrix"])
    p.add_argument("--boards", default=DEFAULTS["boards"])
    p.add_argument("--artifact-url", required=True, help="base URL of the published artifacts")
    p.add_argument("-o", "--out", help="write <device-type>.yaml into this directory")
    onoff = p.add_mutually_exclusive_group()
    onoff.add_argument("--install", action="store_true",
                       help="set them on the server and switch them on "
                       "(scheduler.device_types.set_health_check, .update)")
    onoff.add_argument("--off", action="store_true",
                       help="switch them off on the server (the jobs stay)")
    p.add_argument("--credentials", metavar="FILE",
                   help="{uri, username, token} of a user with the permission "
                   "change_devicetype (default: LAB_HEALTH_CHECKS of --lab-env)")
    p.add_argument("--lab-env", default=REPO / "build/lab/env", help="(%(default)s)")
    p.add_argument("--server", help="LAVA RPC URI")

    p = sub.add_parser("plans", help="list plans, modes and boards")
    p.add_argument("--matrix", default=DEFAULTS["matrix"])
    p.add_argument("--boards", default=DEFAULTS["boards"])

    p = sub.add_parser("publish", help="publish Image, initramfs, dtbs, .config per kernel "
                       "config with a sha256 manifest (build/lab/artifacts)")
    p.add_argument("--boards", default=DEFAULTS["boards"], help="board inventory (%(default)s)")
    p.add_argument("--config", action="append", help="kernel config to publish (repeatable; "
                   "default: every config a lab board boots)")
    p.add_argument("--boot", action="append", metavar="CONFIG:BOARD",
                   help="BOARD also boots CONFIG (a plan running a kernel config on boards of "
                   "another): publish its el2shim and dtb with CONFIG (repeatable)")
    p.add_argument("--build", default=REPO / "build", help="build dir (%(default)s)")
    p.add_argument("--out", default=REPO / "build/lab/artifacts", help="(%(default)s)")
    p.add_argument("--results", default=DEFAULTS["results"],
                   help="results root whose resumable runs pin their builds (%(default)s)")

    p = sub.add_parser("lab-config", help="write every board's LAVA device dictionary "
                       "(build/lab/devices/<hostname>.jinja2)")
    p.add_argument("--boards", default=DEFAULTS["boards"], help="board inventory (%(default)s)")
    p.add_argument("--out", default=REPO / "build/lab/devices", help="(%(default)s)")
    p.add_argument("--labpower", default=REPO / "build/labpower/labpower",
                   help="labpower binary on the worker (%(default)s)")
    p.add_argument("--power-config", default=REPO / "build/lab/labpower.conf",
                   help="labpower config on the worker (%(default)s)")

    p = sub.add_parser("power-config", help="write labpower's config from the board inventory")
    p.add_argument("--boards", default=DEFAULTS["boards"], help="board inventory (%(default)s)")
    p.add_argument("-o", "--output", help="write here (e.g. /etc/labpower.conf); default stdout")
    p.add_argument("--base-dir", default=str(REPO),
                   help="directory command boards' commands run in (%(default)s)")
    p.add_argument("--lock-wait-ms", type=int, help="labpower's bounded lock wait (default 30000)")
    return ap


def _overrides(args):
    return {"board": args.board, "config": args.config,
            "cpus": config.parse_int_list(args.cpus, "--cpus") if args.cpus else None,
            "mem_mb": config.parse_int_list(args.mem, "--mem") if args.mem else None,
            "modes": [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None,
            "cmdline": args.cmdline, "timeout_min": args.timeout}


def specs_of(args):
    """(Matrix, [JobSpec]) for a plan or a single suite."""
    matrix = config.load(args.matrix, args.boards)
    if getattr(args, "plan", None):
        if getattr(args, "only", None):
            return matrix, matrix.expand_only(args.plan, args.only.split(","), _overrides(args))
        return matrix, matrix.expand(args.plan, _overrides(args))
    entry = {"name": args.name or args.suite, "suite": args.suite}
    return matrix, matrix.expand_entries([entry], _overrides(args), where="--suite")


def _artifacts_for(args, specs):
    """spec -> Artifacts, from --kernel or --kernel-dir."""
    if not args.kernel and not args.kernel_dir:
        raise LabError("give the kernel with --kernel IMAGE or --kernel-dir DIR")
    configs = sorted({s.config for s in specs})
    if args.kernel and len(configs) > 1:
        raise LabError(f"the jobs use kernel configs {', '.join(configs)} but --kernel names "
                       "one Image; use --kernel-dir with {config}")

    def artifacts(spec):
        kernel = Path(args.kernel or args.kernel_dir.replace("{config}", spec.config))
        if args.kernel_dir and kernel.name != "Image" and not kernel.is_file():
            kernel = kernel / "arch/arm64/boot/Image"
        initrd = (args.initrd_dir.replace("{config}", spec.config) if args.initrd_dir
                  else args.initrd)
        return Artifacts(kernel, Path(initrd), args.kconfig)
    return artifacts


def cmd_boot(args):
    """matrix / run: boot jobs into a new results directory."""
    tag = safe_name(args.tag or getattr(args, "plan", None) or args.suite)
    try:
        session = Session(args.results, tag, REPO, args.argv,
                          plan=getattr(args, "plan", None) or f"suite:{args.suite}")
    except OSError as e:
        raise LabError(f"cannot create a run directory under {args.results}: {e}") from None
    if args.unit_junit:
        session.add_junit(args.unit_junit)
    try:
        matrix, specs = specs_of(args)
        artifacts = _artifacts_for(args, specs)
        renderer = render.Renderer(device_types_dir=args.device_types)
    except LabError as e:
        session.setup_error(str(e))
        return session.finish()
    session.say(f"run {session.run_id}: {len(specs)} job(s)")
    try:
        session.run(specs, matrix.boards, artifacts, renderer)
    except KeyboardInterrupt:
        session.setup_error("interrupted")
    return session.finish()


def _urls(args, spec, board):
    """Artifact URLs: file:// for local qemu, --artifact-url for lab boards."""
    if board["kind"] == "qemu":
        art = _artifacts_for(args, [spec])(spec)
        return Path(art.kernel).resolve().as_uri(), Path(art.initrd).resolve().as_uri(), None
    if not args.artifact_url:
        raise LabError(f"board {spec.board} is a lab board: give --artifact-url")
    from . import artcheck
    urls = {k: artcheck.url(args.artifact_url, v)
            for k, v in artcheck.job_files(spec, board).items()}
    return urls["kernel"], urls["ramdisk"], urls.get("dtb")


def cmd_render(args):
    """render: every job rendered and schema-validated; optionally written
    out (into a new directory, made once every job has rendered)."""
    matrix, specs = specs_of(args)
    renderer = render.Renderer(device_types_dir=args.device_types)
    out = Path(args.out) if args.out else None
    done = []
    for spec in specs:
        board = matrix.boards[spec.board]
        shim = (REPO / "build/el2shim/el2shim.bin").as_uri() \
            if board.get("qemu", {}).get("el2shim") else None
        job, _ = renderer.job(spec, board, *_urls(args, spec, board), shim_url=shim)
        render.validate_job(job, where=f"job {spec.name}")
        done.append((spec, board, job))
    if out:
        try:
            out.mkdir(parents=True, exist_ok=False)
        except OSError as e:
            raise LabError(f"--out {out}: cannot create a new directory: {e.strerror}") from None
    for spec, board, job in done:
        if out:
            (out / f"{spec.name}.job.yaml").write_text(render.dump(job))
            if board["kind"] == "qemu":
                (out / f"{spec.name}.device.yaml").write_text(renderer.device(spec, board))
        print(f"{spec.name}: valid" + (f" -> {out}/{spec.name}.job.yaml" if out else ""))
    return 0


def cmd_validate(args):
    """validate: schema check of job files."""
    rc = 0
    for f in args.files:
        try:
            render.validate_file(f)
            print(f"{f}: valid")
        except LabError as e:
            print(f"INVALID: {e}")
            rc = 1
    return rc


def cmd_parse(args):
    """parse: results of an existing job dir or log, printed (nothing written)."""
    path = Path(args.path)
    log = path
    if path.is_dir():     # a local run's lava-run log, or a lab run's server log
        log = path / "lava.jsonl" if (path / "lava.jsonl").is_file() else path / "lava.yaml"
    suite, expect = args.suite, None
    if (log.parent / "metadata.json").is_file():
        meta = json.loads((log.parent / "metadata.json").read_text())
        suite = suite or meta["spec"]["suite"]
        if meta.get("board", {}).get("bbml2"):
            expect = {"board": meta["spec"]["board"], "bbml2": meta["board"]["bbml2"],
                      "mode": meta["spec"]["mode"], "cmdline": meta.get("cmdline", "")}
    if not suite:
        raise LabError("give --suite (no metadata.json next to the log)")
    try:
        text = log.read_text(errors="replace")
    except OSError as e:
        raise LabError(f"{log}: cannot read: {e.strerror}") from None
    results, _, lavalog = evaluate(text, suite, expect)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            first = (r["detail"] or "").splitlines()
            print(f"{r['result']:5} {r['name']}" + (f"  # {first[0]}" if first else ""))
    if lavalog.bad_lines:
        print(f"warning: {len(lavalog.bad_lines)} unparsable line(s) in {log}", file=sys.stderr)
    print(report.summary_line(results))
    return 1 if report.counts(results)["fail"] else 0


def _policy(args):
    from .labrun import Policy
    return Policy(poll_s=args.poll, deadline_s=args.deadline * 60, max_resubmit=args.max_resubmit)


def _server(uri):
    """A checked LAVA server: LabError (one line) if unreachable or the token is bad."""
    from . import lavaserver
    return _checked(lavaserver.Server(lavaserver.credentials(uri)))


def _checked(server):
    from . import lavaserver
    try:
        server.check()
    except lavaserver.LavaError as e:
        raise LabError(str(e)) from None
    return server


def _on_sigterm():
    """SIGTERM raises labrun.Terminated in the main thread: the run is
    recorded as detached, LAVA's jobs keep running (resume re-attaches)."""
    import signal

    def handler(signum, frame):
        raise Terminated()
    signal.signal(signal.SIGTERM, handler)


def lab_run(args, out=None, server=None, before=None):
    """Run a plan through the server into a new results dir; (exit code,
    session). before(session, specs), if given, runs first (the nightly's
    build and publish); its LabError is the run's setup error."""
    from .labrun import LabSession
    _on_sigterm()
    server = server or _server(args.server)
    tag = safe_name(args.tag or args.plan)
    try:
        session = LabSession(args.results, tag, REPO, args.argv, server, args.artifact_url,
                             plan=args.plan, out=out, policy=_policy(args))
    except OSError as e:
        raise LabError(f"cannot create a run directory under {args.results}: {e}") from None
    try:
        matrix, specs = specs_of(args)
        session.say(f"run {session.run_id}: {len(specs)} job(s) on {server.uri}")
        if before:
            before(session, specs)
        session.prepare(specs, matrix.boards, render.Renderer(), queue_hours=args.queue_hours)
    except LabError as e:
        session.setup_error(str(e))
        return session.finish(), session
    except Terminated:
        session.setup_error("terminated (SIGTERM) before anything was submitted")
        return session.finish(), session
    session.go()
    return session.finish(), session


def cmd_lab(args):
    """lab: submit, wait, fetch, parse."""
    return lab_run(args)[0]


def cmd_nightly(args):
    """nightly: build, publish, run the plan, compare with the previous night."""
    from . import nightly
    env = nightly.read_env(args.lab_env)
    args.server = args.server or env.get("LAVA_URI")
    args.artifact_url = args.artifact_url or env.get("LAB_ARTIFACT_URL")
    if not args.artifact_url:
        raise LabError(f"give --artifact-url (no LAB_ARTIFACT_URL in {args.lab_env})")
    args.tag = nightly.TAG + (f"-{safe_name(args.tag)}" if args.tag else "")
    args.notify = args.notify or env.get("LAB_NOTIFY")
    args.health_checks = args.health_checks or env.get("LAB_HEALTH_CHECKS")
    try:
        lock = nightly.Lock(Path(args.results) / nightly.LOCK)
    except LabError as e:
        _never_started(args, e)
        raise
    try:
        def before(session, specs):
            session.meta["nightly"] = True
            if args.notify:
                session.meta["notify"] = args.notify
            matrix = config.load(args.matrix, args.boards)
            nightly.build_and_publish(sorted({s.config for s in specs}), REPO, session.say,
                                      build=not args.no_build, publish=not args.no_publish,
                                      results=args.results,
                                      boots=nightly.foreign_boots(specs, matrix.boards))
            session.meta["health_checks"] = nightly.health_checks(
                args.health_checks, matrix, specs, args.artifact_url, args.server, session.say)
        try:
            code, session = lab_run(args, before=before)
        except LabError as e:          # before the run directory existed
            _never_started(args, e)
            raise
        return _close_night(session, args.results, args.keep, code, args)
    finally:
        lock.release()


def _never_started(args, error):
    """A night that failed before its run directory: a trace in the results
    root and the notify command, so it is not silently missing."""
    from . import notify
    rec = notify.record_never_started(args.results, error, args.argv)
    if args.notify:
        subject = f"bbml2-lab nightly never started: {error}"
        notify.send(args.notify, subject, f"{subject}\n\nat {rec['at']}\n"
                    f"command: {' '.join(map(str, args.argv))}\n")


def _close_night(session, root, keep, code, args):
    """A nightly's end: a detached night waits for resume; any other is
    compared, summarised and announced. The exit code: the run's, or 1
    for new failures (infrastructure errors alone: labrun.INFRA_EXIT)."""
    from . import labrun, nightly
    if session.meta["status"] == labrun.DETACHED:
        print(f"nightly detached: no comparison until `lab/run.py resume {session.run_dir}`")
        return code
    from . import kcidb, notify
    cmp = nightly.finish_night(session.run_dir, root, keep)
    problems = kcidb.write(session.run_dir)
    print(f"kcidb: {session.run_dir / 'kcidb.json'}: " + (
        "valid against KCIDB v5.3 as transcribed (kcidb's own validator not run)"
        if not problems else f"{len(problems)} schema problem(s), first: {problems[0]}"))
    notify.announce(session.run_dir, cmp, root,
                    getattr(args, "notify", None) or session.meta.get("notify"))
    print(f"compare: {len(cmp['new_failures'])} new failure(s), {len(cmp['fixed'])} fixed, "
          f"{len(cmp['flaky'])} flaky, {len(cmp['missing'])} missing, "
          f"{len(cmp.get('infrastructure', []))} infrastructure error(s) "
          f"(against {cmp['previous'] or 'no previous night'})")
    print(session.meta["summary"])
    if code == labrun.INFRA_EXIT and cmp["new_failures"]:
        return 1
    return code or (1 if cmp["new_failures"] else 0)


def cmd_resume(args, verb="resume"):
    """resume: finish a lab run whose runner was killed or detached; under
    the nightly's lock of the run's results root. cancel: the same, but
    every unfinished job is canceled (its partial log kept)."""
    from . import labrun, nightly
    run = Path(args.run)
    labrun.load_run(run)                      # one clear error before anything else
    lock = nightly.Lock(run.resolve().parent / nightly.LOCK)
    try:
        _on_sigterm()
        policy = _policy(args) if verb == "resume" else labrun.Policy()
        session = labrun.resume(run, lambda uri: _server(args.server or uri), REPO,
                                args.argv, policy=policy, verb=verb)
        if verb == "cancel":
            try:
                session.cancel_all("canceled by `run.py cancel`")
            except (Terminated, KeyboardInterrupt):
                session.detach("terminated (SIGTERM) while canceling")
        else:
            session.go()
        code = session.finish()
        if session.meta.get("nightly"):
            return _close_night(session, run.resolve().parent, args.keep, code, args)
        return code
    finally:
        lock.release()


def cmd_cancel(args):
    """cancel: cancel a lab run's unfinished jobs on LAVA and record them."""
    return cmd_resume(args, verb="cancel")


def cmd_health_checks(args):
    """health-checks: one LAVA health-check job per device type."""
    from . import healthcheck
    from .fsutil import atomic_write
    jobs = healthcheck.all_jobs(render.Renderer(), config.load(args.matrix, args.boards),
                                args.artifact_url)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for device_type, job in sorted(jobs.items()):
            atomic_write(out / f"{device_type}.yaml", render.dump(job))
        print(f"{out}: {len(jobs)} health check(s): {', '.join(sorted(jobs))}")
    if args.install or args.off:
        from . import lavaserver, nightly
        path = args.credentials or nightly.read_env(args.lab_env).get("LAB_HEALTH_CHECKS")
        if not path:
            raise LabError(f"give --credentials FILE (no LAB_HEALTH_CHECKS in {args.lab_env})")
        server = _checked(lavaserver.Server(lavaserver.credentials(args.server, {}, path)))
        try:
            if args.install:
                done, absent = healthcheck.install(server, jobs)
                print(f"installed and on: {len(done)} health check(s): {', '.join(done)}"
                      + (f"; not on this server: {', '.join(absent)}" if absent else ""))
            else:
                done = healthcheck.switch_off(server, jobs)
                print(f"off: {len(done)} health check(s): {', '.join(done) or 'none'}")
        except lavaserver.LavaError as e:
            raise LabError(str(e)) from None
    return 0


def cmd_plans(args):
    """plans: what the matrix and inventory offer."""
    matrix = config.load(args.matrix, args.boards)
    for name in matrix.plans:
        print(f"plan {name}: " + ", ".join(s.name for s in matrix.expand(name)))
    for name, args_ in matrix.modes.items():
        print(f"mode {name}: {args_ or '(no arguments)'}")
    for name, b in matrix.boards.items():
        print(f"board {name}: {b['kind']} {b['lava']['device_type']} bbml2={b['bbml2']} "
              f"modes={','.join(b['modes'])}")
    return 0


def cmd_publish(args):
    """publish: artifacts + manifest.json for the lab's artifact server."""
    from . import publish
    boards = config.load_boards(Path(args.boards))
    configs = args.config or sorted({b["kernel_config"] for b in boards.values()
                                     if b["kind"] != "qemu"})
    boots = {}
    for pair in args.boot or []:
        c, _, b = pair.partition(":")
        if not c or not b or c not in configs:
            raise LabError(f"--boot {pair}: expected CONFIG:BOARD with CONFIG one of the "
                           f"published configs ({', '.join(configs)})")
        boots.setdefault(c, set()).add(b)
    try:
        manifest = publish.publish(boards, configs, Path(args.build), Path(args.out), REPO,
                                   pinned=publish.pinned_builds(args.results), boots=boots)
    except OSError as e:
        raise LabError(f"publish: {e}") from None
    files = [k for k in manifest if "/" in k and k.split("/")[0] in configs]
    print(f"published {len(files)} file(s) of {', '.join(configs)} -> {args.out} "
          f"(build {manifest['build']})")
    return 0


def cmd_lab_config(args):
    """lab-config: device dictionaries from the inventory."""
    from . import devices
    boards = config.load_boards(Path(args.boards))
    try:
        paths = devices.write_all(boards, args.out, Path(args.labpower).resolve(),
                                  Path(args.power_config).resolve())
    except OSError as e:
        raise LabError(f"lab-config: {e}") from None
    print(f"{args.out}: {len(paths)} device dictionar{'y' if len(paths) == 1 else 'ies'}")
    return 0


def cmd_power_config(args):
    """power-config: labpower's config file rendered from boards.yaml."""
    from . import powerconf
    from .fsutil import atomic_write
    text = powerconf.render(config.load_boards(Path(args.boards)), source=str(args.boards),
                            base_dir=args.base_dir, lock_wait_ms=args.lock_wait_ms)
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write(args.output, text)
    except OSError as e:
        raise LabError(f"{args.output}: cannot write: {e.strerror}") from None
    print(f"{args.output}: {text.count('[board ')} board(s)")
    return 0


COMMANDS = {"matrix": cmd_boot, "run": cmd_boot, "render": cmd_render, "validate": cmd_validate,
            "parse": cmd_parse, "lab": cmd_lab, "resume": cmd_resume, "cancel": cmd_cancel,
            "nightly": cmd_nightly, "plans": cmd_plans, "health-checks": cmd_health_checks,
            "power-config": cmd_power_config, "publish": cmd_publish,
            "lab-config": cmd_lab_config}


def main(argv=None):
    """Entry point; returns the exit code. LabErrors print one line, rc 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = ["run.py"] + argv
    try:
        return COMMANDS[args.cmd](args)
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
