"""Run one job with lava-run (local dispatcher, no server)."""
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import LabError

LAVA_RUN = "lava-run"
SCRATCH = Path("/var/lib/lava/dispatcher/tmp")   # lava_common.constants.DISPATCHER_DOWNLOAD_DIR


@dataclass
class RunOutcome:
    """How lava-run ended."""
    rc: int            # None if killed on timeout
    wall_s: float
    timed_out: bool


def unique_job_id(run_tag):
    """A job id no other local lava-run is using: it names LAVA's scratch dir
    /var/lib/lava/dispatcher/tmp/<id>, shared by all local runs."""
    for _ in range(100):
        job_id = f"bbml2-{run_tag}-{secrets.token_hex(4)}"
        if not (SCRATCH / job_id).exists():
            return job_id
    raise LabError(f"could not find an unused LAVA job id under {SCRATCH}")


def check_environment():
    """LabError unless lava-run can work here."""
    if not shutil.which(LAVA_RUN):
        raise LabError("lava-run not found (apt-get install lava-dispatcher)")
    if os.geteuid() != 0:
        raise LabError("lava-run must run as root")


def run(job_path, device_path, output_dir, log_path, job_id, timeout_s):
    """Run lava-run; its stderr (the JSON-lines log) goes to log_path, which
    appears atomically when lava-run has ended. Kills the whole process group
    (lava-run and its qemu) after timeout_s."""
    log_path = Path(log_path)
    tmp_log = log_path.with_name(f".{log_path.name}.partial")
    cmd = [LAVA_RUN, "--job-id", job_id, "--output-dir", str(output_dir),
           "--device", str(device_path), str(job_path)]
    start = time.monotonic()
    timed_out = False
    with open(tmp_log, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            rc = None
        except BaseException:        # Ctrl-C: do not leave qemu behind
            _kill_group(proc)
            raise
    os.replace(tmp_log, log_path)
    return RunOutcome(rc=rc, wall_s=time.monotonic() - start, timed_out=timed_out)


def _kill_group(proc):
    """SIGTERM then SIGKILL the process group that proc leads."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
