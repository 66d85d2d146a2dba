"""A night as KCIDB data (checkouts, builds, tests), schema v5.3.

kcidb is not packaged in Debian, so the export is checked with
python3-jsonschema against kcidb_v5_3.schema.json, a JSON schema we wrote
from kcidb-io's published definition of v5.3 (kcidb_io/schema/v05_03.py:
the checkout, build and test objects with the properties this export can
fill, additionalProperties false, the status enum and the origin/id
patterns). kcidb's own validator (`kcidb-validate`) was NOT run: the file
says which parts are transcribed and which are ours.

Mapping:
  checkout  one per source revision of this repository (the series and its
            pinned Debian base): id bbml2lab:<git revision>
  build     one per kernel config the night booted, of the published build:
            id bbml2lab:<artifact build or revision>:<config>
  test      one per result: id bbml2lab:<run>:<job>:<result name>, path
            bbml2lab.<result name>, status pass PASS, fail FAIL, skip SKIP,
            error ERROR, an infrastructure error (no kernel ran) MISS
"""
import json
import re
from pathlib import Path

ORIGIN = "bbml2lab"
VERSION = {"major": 5, "minor": 3}
SCHEMA = Path(__file__).with_name("kcidb_v5_3.schema.json")
STATUS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}
EXCERPT_MAX = 16384


def _path(name):
    """A result name as a KCIDB test path: dot-separated, no empty parts."""
    parts = [re.sub(r"[^A-Za-z0-9_+-]+", "_", p) for p in str(name).split(".") if p]
    return ".".join([ORIGIN] + parts)


def _time(text):
    """metadata.utcnow()'s ISO text, or None."""
    return text if isinstance(text, str) and re.match(r"^\d{4}-\d\d-\d\dT", text) else None


def _load(path, default):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def export(run_dir):
    """The run as a KCIDB v5.3 dict."""
    run_dir = Path(run_dir)
    meta = _load(run_dir / "metadata.json", {})
    results = _load(run_dir / "results.json", [])
    state = _load(run_dir / "lab.json", {})
    run_id = meta.get("run_id") or run_dir.name
    git = meta.get("git") or {}
    rev = git.get("revision") if isinstance(git, dict) else None
    info = (state.get("manifest") or {}).get("info") or {}
    rev = rev or info.get("git_revision")
    checkout_id = f"{ORIGIN}:{rev or run_id}"
    checkout = {"id": checkout_id, "origin": ORIGIN, "tree_name": "bbml2-lab",
                "comment": "bbml2 series on Debian's linux-source-6.12 (kernel/base.conf)",
                "valid": True, "misc": {"run_id": run_id}}
    if rev and re.fullmatch(r"[0-9a-f]{40}", rev):
        checkout["git_commit_hash"] = rev
    if _time(meta.get("started")):
        checkout["start_time"] = meta["started"]
    jobs = {j["name"]: j for j in meta.get("jobs") or [] if isinstance(j, dict)}
    specs = {}
    for j in jobs:
        m = _load(run_dir / "jobs" / Path(jobs[j].get("dir", j)).name / "metadata.json", {})
        specs[j] = m
    configs = sorted({(m.get("spec") or {}).get("config") for m in specs.values()} - {None})
    build_key = info.get("build") or rev or run_id
    builds = []
    for c in configs:
        kver = (info.get("kernel_versions") or {}).get(c)
        b = {"id": f"{ORIGIN}:{build_key}:{c}", "checkout_id": checkout_id, "origin": ORIGIN,
             "architecture": "arm64", "config_name": c, "status": "PASS",
             "misc": {"artifact_build": info.get("build"), "kernel_version": kver}}
        builds.append(b)
    tests = []
    for r in results:
        job = r.get("job")
        m = specs.get(job, {})
        spec = m.get("spec") or {}
        config = spec.get("config") or (configs[0] if configs else "unknown")
        status = "MISS" if r.get("infra") else STATUS.get(r.get("result"), "ERROR")
        t = {"id": f"{ORIGIN}:{run_id}:{job}:{r.get('name')}",
             "build_id": f"{ORIGIN}:{build_key}:{config}", "origin": ORIGIN,
             "path": _path(r.get("name")), "status": status,
             "environment": {"comment": f"board {spec.get('board') or '?'}, mode "
                                        f"{spec.get('mode') or '?'}",
                             "misc": {k: spec.get(k) for k in ("board", "mode", "cpus",
                                                               "mem_mb") if k in spec}},
             "misc": {"job": job, "run_id": run_id}}
        lava = m.get("lava") or {}
        if lava.get("url"):
            t["log_url"] = lava["url"]
            t["misc"]["lava_job_id"] = lava.get("job_id")
        if _time(m.get("finished")):
            t["start_time"] = m["finished"]
        if r.get("detail") and status in ("FAIL", "ERROR", "MISS"):
            t["log_excerpt"] = str(r["detail"])[:EXCERPT_MAX].replace("\0", "")
        tests.append(t)
    return {"version": dict(VERSION), "checkouts": [checkout], "builds": builds,
            "tests": tests}


def validate(data, schema_path=SCHEMA):
    """Problems of data against the schema: ["path: message", ...]."""
    import jsonschema
    schema = json.loads(Path(schema_path).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v = cls(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(v.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def write(run_dir):
    """kcidb.json in the run dir, checked; returns the list of problems
    (also recorded in kcidb-check.txt). Never raises for bad data."""
    run_dir = Path(run_dir)
    data = export(run_dir)
    from .fsutil import atomic_write, atomic_write_json
    atomic_write_json(run_dir / "kcidb.json", data)
    try:
        problems = validate(data)
    except ImportError:
        problems = ["python3-jsonschema is not installed: kcidb.json not checked"]
    except Exception as e:              # noqa: BLE001 (a broken schema file: say so)
        problems = [f"the check itself failed: {type(e).__name__}: {e}"]
    atomic_write(run_dir / "kcidb-check.txt",
                 f"KCIDB schema v{VERSION['major']}.{VERSION['minor']} "
                 f"({SCHEMA.name}, written from kcidb-io's definition; kcidb's own "
                 f"validator not run): " + ("valid\n" if not problems else
                                            f"{len(problems)} problem(s)\n"
                                            + "\n".join(problems) + "\n"))
    return problems
