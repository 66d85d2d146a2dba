"""Submit rendered jobs to a LAVA server with lavacli (lab boards).

The API token comes only from the environment (LAVA_TOKEN, with LAVA_USER and
LAVA_URI) or ~/.config/bbml2-lab/lava.yaml ({uri, username, token}). It is
handed to lavacli through a private, temporary lavacli.yaml (not argv, which
other users can read), and redacted from anything lavacli prints.
"""
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from . import LabError

CONFIG = Path("~/.config/bbml2-lab/lava.yaml").expanduser()


def credentials(uri=None):
    """{uri, username, token} from the environment, else CONFIG."""
    creds = {}
    if CONFIG.is_file():
        try:
            creds = yaml.safe_load(CONFIG.read_text()) or {}
        except yaml.YAMLError:
            raise LabError(f"{CONFIG}: not valid YAML") from None
    if os.environ.get("LAVA_TOKEN"):
        creds["token"] = os.environ["LAVA_TOKEN"]
    for key, env in (("username", "LAVA_USER"), ("uri", "LAVA_URI")):
        if os.environ.get(env):
            creds[key] = os.environ[env]
    if uri:
        creds["uri"] = uri
    for key in ("uri", "username", "token"):
        if not creds.get(key):
            raise LabError(f"LAVA {key} not set (LAVA_TOKEN/LAVA_USER/LAVA_URI or {CONFIG})")
    return creds


def _redact(text, secret):
    return text.replace(secret, "***") if secret else text


def submit(job_text, creds):
    """Submit one job; returns the LAVA job id(s) lavacli printed."""
    with tempfile.TemporaryDirectory(prefix="bbml2lab-lavacli-") as cfg:
        os.chmod(cfg, 0o700)
        conf = Path(cfg) / "lavacli.yaml"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump({"bbml2lab": {"uri": creds["uri"], "username": creds["username"],
                                         "token": creds["token"]}}, f)
        job = Path(cfg) / "job.yaml"
        job.write_text(job_text)
        try:
            p = subprocess.run(["lavacli", "-i", "bbml2lab", "jobs", "submit", str(job)],
                               env={**os.environ, "XDG_CONFIG_HOME": cfg},
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise LabError(f"lavacli failed: {_redact(str(e), creds['token'])}") from None
    out = _redact((p.stdout + p.stderr).strip(), creds["token"])
    if p.returncode != 0:
        raise LabError(f"lavacli jobs submit failed (rc={p.returncode}): {' '.join(out.split())}")
    return out
