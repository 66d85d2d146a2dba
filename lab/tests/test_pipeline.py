"""LAVA's own pipeline validation of a rendered job on a rendered device, for
every board kind, in-process (no root, no server, no boot): the job is built
by the runner's templates with file:// artifacts, the device from the
inventory's generated dictionary rendered with the job's context (as a server
does), then lava_dispatcher's JobParser + Job.validate() run, with stub
mkimage / in.tftpd / telnet on PATH and the TFTP root in a temp dir."""
import logging
import re
import os
from pathlib import Path

import pytest
import yaml

from bbml2lab import LabError, config, devices, render

REPO = Path(__file__).resolve().parents[2]
LAVA_TYPES = REPO / "build/lava-server/usr/share/lava-server/device-types"
dispatcher = pytest.importorskip("lava_dispatcher.parser",
                                 reason="lava-dispatcher is not installed (make deps)")
if not (LAVA_TYPES / "base-uboot.jinja2").is_file():
    pytest.skip(f"lava-server device types not unpacked in {LAVA_TYPES} (make deps)",
                allow_module_level=True)

from lava_dispatcher import job as lava_job  # noqa: E402
from lava_dispatcher.device import NewDevice  # noqa: E402
from lava_dispatcher.utils import filesystem  # noqa: E402
from lava_common.exceptions import InfrastructureError, LAVAError  # noqa: E402

BOARDS = config.load_boards(REPO / "configs/boards.yaml")
MATRIX = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")


def _first_of_kind(kind):
    """The kind's first plain board (el2shim boards need a shim artifact too)."""
    return next(n for n, b in sorted(BOARDS.items())
                if b["kind"] == kind and not b.get("qemu", {}).get("el2shim"))


KINDS = sorted({b["kind"] for b in BOARDS.values()})


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """Stub worker tools first on PATH, a temp TFTP root."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkimage", "in.tftpd", "telnet"):
        stub = bin_dir / tool
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    monkeypatch.setattr(filesystem, "tftpd_dir", lambda: str(tftp))
    monkeypatch.setattr(lava_job, "DISPATCHER_DOWNLOAD_DIR", str(tmp_path / "dispatcher"))
    art = tmp_path / "art"
    art.mkdir()
    for name in ("Image", "initramfs.cpio.gz", "board.dtb", "el2shim.bin"):
        (art / name).write_bytes(b"\0" * 64)
    return art


def _job_and_device(name, art, mode=None):
    board = BOARDS[name]
    spec = MATRIX.expand_entries([{"name": "smoke", "suite": "smoke"}],
                                 {"board": name, "modes": [mode or board["modes"][0]]})[0]
    dtb = (art / "board.dtb").as_uri() if board.get("uboot", {}).get("dtb") else None
    shim = (art / "el2shim.bin").as_uri() if board.get("qemu", {}).get("el2shim") else None
    job, _ = render.Renderer().job(spec, board, (art / "Image").as_uri(),
                                   (art / "initramfs.cpio.gz").as_uri(), dtb, shim_url=shim)
    render.validate_job(job, where=name)
    text = devices.render(name, board, "/opt/bbml2-lab/labpower", "/opt/bbml2-lab/labpower.conf")
    device = yaml.safe_load(devices.device_yaml(text, LAVA_TYPES, job.get("context")))
    return job, device


class _Logger(logging.Logger):
    """What lava-run's logger adds: results records (kept for the asserts)."""

    def __init__(self):
        super().__init__("pipeline-test")
        self.records = []

    def results(self, results):
        self.records.append(results)


def _validate(job, device, tmp_path):
    parser = dispatcher.JobParser()
    pjob = parser.parse(yaml.safe_dump(job), NewDevice(device), 4242, _Logger(), None)
    pjob.validate()
    return [a.name for a in _walk(pjob.pipeline)]


def _walk(pipeline):
    for action in pipeline.actions:
        yield action
        if action.pipeline:
            yield from _walk(action.pipeline)


EXPECT = {  # action names the pipeline of each kind must contain
    "qemu": {"deployimages", "boot-qemu-image", "lava-test-monitor"},
    "qemu-uboot": {"tftp-deploy", "uboot-action", "pdu-reboot", "bootloader-commands",
                   "lava-test-monitor"},
    "u-boot": {"tftp-deploy", "uboot-action", "pdu-reboot", "lava-test-monitor"},
    "uefi-grub": {"tftp-deploy", "grub-main-action", "lava-test-monitor"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_pipeline_validates_for_every_kind(kind, worker, tmp_path):
    name = _first_of_kind(kind)
    job, device = _job_and_device(name, worker)
    names = _validate(job, device, tmp_path)
    missing = EXPECT[kind] - set(names)
    assert not missing, f"{name}: pipeline lacks {missing}: {names}"


@pytest.mark.parametrize("name", sorted(devices.virtual_boards(BOARDS)))
def test_virtual_board_pipeline_uses_the_inventory(name, worker, tmp_path):
    job, device = _job_and_device(name, worker)
    _validate(job, device, tmp_path)
    board = BOARDS[name]
    assert device["commands"]["connect"] == board["console"]["connection"]
    assert device["commands"]["hard_reset"].endswith(f" reset {name}")
    params = device["actions"]["boot"]["methods"]["u-boot"]["parameters"]
    assert params["bootloader_prompt"] == "=>"
    assert device["parameters"]["booti"]["kernel"] == board["uboot"]["kernel_addr"]
    ramdisk = device["actions"]["boot"]["methods"]["u-boot"]["ramdisk"]["commands"]
    assert any(c.startswith(f"setenv bootargs 'console={board['console']['device']},"
                            f"{board['console']['baud']}n8") for c in ramdisk)


def test_device_without_uboot_method_is_rejected(worker, tmp_path):
    name = _first_of_kind("qemu-uboot")
    job, device = _job_and_device(name, worker)
    del device["actions"]["boot"]["methods"]["u-boot"]
    with pytest.raises(LAVAError):
        _validate(job, device, tmp_path)


def test_worker_without_tftpd_is_rejected(worker, tmp_path, monkeypatch):
    """Without the worker's TFTP directory the tftp deploy cannot be built
    (5.7 item 2): proves the stubs above are what makes the pipeline valid."""
    def no_tftpd():
        raise InfrastructureError("Unable to identify tftpd directory")
    monkeypatch.setattr(filesystem, "tftpd_dir", no_tftpd)
    job, device = _job_and_device(_first_of_kind("qemu-uboot"), worker)
    with pytest.raises(LAVAError, match="tftpd directory"):
        _validate(job, device, tmp_path)


def test_unknown_kind_has_no_dictionary():
    board = dict(BOARDS[_first_of_kind("u-boot")], kind="fastboot")
    with pytest.raises(LabError, match="no device dictionary template for kind fastboot"):
        devices.render("x", board)


HARDWARE = sorted(n for n, b in BOARDS.items() if b["platform"] == "hardware")


@pytest.mark.parametrize("name", HARDWARE)
def test_every_physical_board_pipeline_validates_in_every_mode(name, worker, tmp_path):
    """Issue 22 (6): each physical board's generated dictionary, rendered on
    the device type it names (LAVA's own rk3399-rock-pi-4b and
    bcm2711-rpi-4-b; the project's grub-efi and lab-x4-a720-evb on LAVA's
    base-grub/base-uboot), with its jobs in every mode of its set, builds
    and validates LAVA's pipeline; not only the first board of each kind."""
    board = BOARDS[name]
    want = EXPECT[board["kind"]]
    for mode in board["modes"]:
        job, device = _job_and_device(name, worker, mode)
        names = _validate(job, device, tmp_path)
        assert not want - set(names), f"{name} {mode}: pipeline lacks {want - set(names)}"
        assert device["commands"]["hard_reset"].endswith(f" reset {name}")
        assert job["device_type"] == board["lava"]["device_type"]


def test_the_physical_boards_cover_every_device_type_they_name():
    types = {BOARDS[n]["lava"]["device_type"] for n in HARDWARE}
    shipped = {t for t in types if (LAVA_TYPES / f"{t}.jinja2").is_file()}
    ours = {t for t in types if (REPO / "lab/templates/device-types" / f"{t}.jinja2").is_file()}
    assert types == shipped | ours, types - shipped - ours
    assert {"rk3399-rock-pi-4b", "bcm2711-rpi-4-b"} <= shipped
    for t in ours:                      # the project's types extend LAVA's bases
        text = (REPO / "lab/templates/device-types" / f"{t}.jinja2").read_text()
        assert re.search(r"{%\s*extends\s+'base-(grub|uboot)\.jinja2'\s*%}", text), t
