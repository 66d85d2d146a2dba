"""Golden files of the job `run.py lab` submits, one per board (so every
board kind: qemu, qemu-uboot, u-boot, uefi-grub): http artifact URLs pinned
to the manifest's sha256, the summed lab timeouts, the queue timeout, the
end-on-panic monitor. BBML2LAB_UPDATE_GOLDEN=1 rewrites them (then review
the diff). Device dictionaries have their own (test_devices.py)."""
import os
from pathlib import Path

import pytest
import yaml

from bbml2lab import config, labrun, render

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden/jobs"
MATRIX = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
UPDATE = os.environ.get("BBML2LAB_UPDATE_GOLDEN") == "1"
BASE = "http://127.0.0.1:8090"
PROVENANCE = {"git_revision": "0123456789abcdef0123456789abcdef01234567",
              "kernel_version": "6.12.117-bbml2lab"}


def manifest(spec, board):
    files = {}
    for n, (_, path) in enumerate(sorted(labrun.artcheck.job_files(spec, board).items())):
        files[path] = {"sha256": f"{n + 1:x}" * 64, "size": 1000 + n}
    return {"files": files, "info": {}}


def spec_for(name):
    board = MATRIX.boards[name]
    return MATRIX.expand("smoke", {"board": name, "modes": [board["modes"][-1]]})[0], board


# Every board, el2shim boards too: their job boots the published el2shim.bin
# as LAVA's `kernel` image, with the Image as a third image pinned apart.
SERVER_BOARDS = sorted(MATRIX.boards)


@pytest.mark.parametrize("name", SERVER_BOARDS)
def test_server_job_matches_golden(name):
    spec, board = spec_for(name)
    job, urls = labrun.server_job(render.Renderer(), spec, board, BASE, manifest(spec, board),
                                  queue_hours=4, provenance=PROVENANCE)
    text = render.dump(job)
    golden = GOLDEN / f"{name}.yaml"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden file {golden}: BBML2LAB_UPDATE_GOLDEN=1 writes it"
    assert text == golden.read_text()
    assert set(urls) >= {"kernel", "ramdisk"} and all(u.startswith(BASE) for u in urls.values())


@pytest.mark.parametrize("name", sorted(n for n, b in MATRIX.boards.items() if b["kind"] != "qemu"))
def test_lab_job_budget_and_pins(name):
    spec, board = spec_for(name)
    m = manifest(spec, board)
    job, _ = labrun.server_job(render.Renderer(), spec, board, BASE, m, queue_hours=4)
    deploy, boot, test = (a[next(iter(a))] for a in job["actions"])
    pins = [v["sha256sum"] for k, v in deploy.items() if isinstance(v, dict) and "url" in v]
    assert sorted(pins) == sorted(e["sha256"] for e in m["files"].values())
    assert deploy["failure_retry"] == 2 and "failure_retry" not in boot
    parts = deploy["timeout"]["minutes"] * 2 + boot["timeout"]["minutes"] + \
        test["timeout"]["minutes"]
    assert job["timeouts"]["job"]["minutes"] == parts + render.LAB_MARGIN_MIN
    assert job["timeouts"]["queue"] == {"hours": 4}
    end = test["monitors"][0]["end"]
    if board["platform"] == "hardware":      # a panic reboots it into u-boot: end there
        assert end == "bbml2-lab: poweroff|Kernel panic - not syncing|Hit any key to stop autoboot"
    else:                                    # QEMU -no-reboot: the console closes
        assert end == "bbml2-lab: poweroff"


def test_missing_manifest_entry_is_refused():
    spec, board = spec_for("vboard-none-01")
    m = manifest(spec, board)
    del m["files"]["qemu/Image"]
    with pytest.raises(labrun.LabError, match=r"^not in the artifact manifest: qemu/Image$"):
        labrun.server_job(render.Renderer(), spec, board, BASE, m)


def test_every_golden_job_has_a_board():
    stale = {p.stem for p in GOLDEN.glob("*.yaml")} - set(SERVER_BOARDS)
    assert not stale, f"golden jobs of boards no longer in the inventory: {stale}"


def test_golden_jobs_are_valid_lava_jobs():
    for path in sorted(GOLDEN.glob("*.yaml")):
        render.validate_job(yaml.safe_load(path.read_text()), where=str(path))
