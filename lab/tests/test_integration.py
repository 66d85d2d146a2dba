"""A real boot of the smoke suite with lava-run (skipped without the tools
and artifacts). Kernel/initrd: BBML2LAB_KERNEL / BBML2LAB_INITRD, else the
first that exists of the Makefile's and the bootstrap build paths."""
import json
import os
import shutil
from pathlib import Path

import pytest

from bbml2lab import cli
from conftest import LAB, by_name

REPO = LAB.parent


def _pick(env, *candidates):
    if os.environ.get(env):
        return Path(os.environ[env])
    return next((p for p in candidates if p.is_file()), candidates[0])


KERNEL = _pick("BBML2LAB_KERNEL", REPO / "build/kernel-qemu/arch/arm64/boot/Image",
               REPO / "build/base-qemu/arch/arm64/boot/Image")
INITRD = _pick("BBML2LAB_INITRD", REPO / "build/rootfs-qemu.cpio.gz",
               REPO / "build/rootfs/initramfs.cpio.gz")
DEVICE_TYPES = REPO / "build/lava-server/usr/share/lava-server/device-types"


def _missing():
    if not shutil.which("lava-run"):
        return "lava-run not installed"
    if os.geteuid() != 0:
        return "lava-run needs root"
    for what, path in (("kernel Image", KERNEL), ("initramfs", INITRD),
                       ("LAVA device types", DEVICE_TYPES / "qemu.jinja2")):
        if not path.is_file():
            return f"{what} not found: {path}"
    return None


@pytest.mark.integration
@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_smoke_boot(tmp_path, capsys):
    rc = cli.main(["run", "--suite", "smoke", "--cpus", "4", "--mem", "1024",
                   "--kernel", str(KERNEL), "--initrd", str(INITRD),
                   "--results", str(tmp_path)])
    out = capsys.readouterr().out
    (run,) = tmp_path.iterdir()
    job = run / "jobs/smoke-none-4c-1024m"
    r = by_name(json.loads((job / "results.json").read_text()))
    assert r["smoke.cpus.cpu3_online"]["result"] == "pass"
    assert "smoke.cpus.cpu4_online" not in r
    assert r["smoke.cpus"]["detail"] == "online=4 asked=4"
    assert r["smoke.memory"]["result"] == "pass"
    for name in ("smoke.boot", "smoke.suite_complete", "smoke.poweroff",
                 "smoke.kernel.no_splat", "smoke.lava.job"):
        assert r[name]["result"] == "pass", r[name]
    meta = json.loads((job / "metadata.json").read_text())
    assert meta["lava"]["rc"] == 0 and meta["guest"]["cpus"] == "0-3"
    assert "bbml2lab.cpus=4 bbml2lab.mem_mb=1024" in meta["cmdline"]
    assert meta["kernel"]["console_version"] == meta["kernel"]["image_version"]
    assert rc == (1 if any(v["result"] == "fail" for v in r.values()) else 0)
    assert out.rstrip().splitlines()[-1].endswith("skipped")


@pytest.mark.integration
@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_cut_stream_boot(tmp_path, capsys):
    """A real boot whose KTAP stream is cut by a kernel crash mid-plan."""
    rc = cli.main(["run", "--suite", "lab-cut", "--cpus", "2", "--mem", "1024",
                   "--kernel", str(KERNEL), "--initrd", str(INITRD),
                   "--results", str(tmp_path)])
    capsys.readouterr()
    (run,) = tmp_path.iterdir()
    (job,) = (run / "jobs").iterdir()
    r = by_name(json.loads((job / "results.json").read_text()))
    assert r["lab-cut.before_the_cut"]["result"] == "pass"
    missing = [n for n, v in r.items() if v["result"] == "fail" and "missing" in (v["detail"] or "")]
    assert len(missing) == 2, r
    assert r["lab-cut.suite_complete"]["result"] == "fail"
    assert r["lab-cut.kernel.no_splat"]["result"] == "fail"
    assert (job / "console.log").is_file() and (job / "metadata.json").is_file()
    assert rc == 1
