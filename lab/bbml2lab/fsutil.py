"""Results directories and atomic file writes."""
import datetime
import json
import os
import re
import secrets
import tempfile
from pathlib import Path


def atomic_write(path, data):
    """Write text or bytes to path via a temp file in the same dir + os.replace."""
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def atomic_write_json(path, obj):
    """Write obj as indented JSON, atomically."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def safe_name(text):
    """text as a file-name component: [A-Za-z0-9_.-] only, never empty."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("._") or "run"


def new_run_dir(results_root, tag, now=None):
    """Create results_root/<UTC stamp>-<tag>-<random> with an exclusive mkdir.

    A clash (same second, same random suffix) retries with a new suffix, so an
    existing run directory is never reused or overwritten.
    """
    results_root = Path(results_root)
    results_root.mkdir(parents=True, exist_ok=True)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for _ in range(100):
        path = results_root / f"{stamp}-{tag}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not create a new run directory under {results_root}")


def new_job_dir(run_dir, name):
    """Create run_dir/jobs/<name> exclusively; a taken name gets _2, _3..."""
    jobs = Path(run_dir) / "jobs"
    jobs.mkdir(exist_ok=True)
    for n in range(1, 1000):
        path = jobs / (name if n == 1 else f"{name}_{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many jobs named {name} in {run_dir}")
