"""Command-line plumbing: artifact patterns, render, validate."""
from types import SimpleNamespace

import pytest

from bbml2lab import LabError, cli, config
from conftest import LAB

REPO = LAB.parent


def specs(plan="check"):
    return config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml").expand(plan)


def args(**kw):
    base = dict(kernel=None, kernel_dir=None, initrd="/i/initramfs.cpio.gz", initrd_dir=None,
                kconfig=None)
    return SimpleNamespace(**{**base, **kw})


def test_kernel_dir_pattern_to_image_and_initrd_dir():
    s = specs()
    art = cli._artifacts_for(args(kernel_dir="/b/kernel-{config}/arch/arm64/boot/Image",
                                  initrd_dir="/b/rootfs-{config}.cpio.gz"), s)
    debug = next(x for x in s if x.config == "debug")
    assert str(art(debug).kernel) == "/b/kernel-debug/arch/arm64/boot/Image"
    assert str(art(debug).initrd) == "/b/rootfs-debug.cpio.gz"


def test_kernel_dir_pattern_to_build_dir():
    s = specs()
    art = cli._artifacts_for(args(kernel_dir="/b/kernel-{config}"), s)
    assert str(art(s[0]).kernel) == "/b/kernel-qemu/arch/arm64/boot/Image"
    assert str(art(s[0]).initrd) == "/i/initramfs.cpio.gz"


def test_single_kernel_for_several_configs_refused():
    with pytest.raises(LabError, match=r"kernel configs debug, qemu but --kernel names one Image"):
        cli._artifacts_for(args(kernel="/b/Image"), specs())
    assert cli._artifacts_for(args(kernel="/b/Image"), specs("smoke"))(specs("smoke")[0]).kernel


def test_no_kernel_given():
    with pytest.raises(LabError, match=r"--kernel IMAGE or --kernel-dir"):
        cli._artifacts_for(args(), specs())


def test_render_and_validate_commands(tmp_path, capsys):
    assert cli.main(["render", "--plan", "check", "--kernel-dir", "/b/k-{config}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "smoke-none-4c-2048m: valid"
    assert len(out) == len(config.load(cli.DEFAULTS["matrix"], cli.DEFAULTS["boards"]).expand("check"))
    assert all(line.endswith(": valid") for line in out)
    assert cli.main(["render", "--plan", "smoke", "--board", "rpi4-01",
                     "--artifact-url", "http://srv/a", "--out", str(tmp_path / "o")]) == 0
    job = tmp_path / "o/smoke-none-4c-4096m.job.yaml"
    assert "url: http://srv/a/board/dtbs/broadcom/bcm2711-rpi-4-b.dtb" in job.read_text()
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text("device_type: qemu\n")
    assert cli.main(["validate", str(job), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(": valid") and out[1].startswith("INVALID: ")


def test_lab_board_without_url_is_an_error(capsys):
    assert cli.main(["render", "--plan", "smoke", "--board", "rpi4-01"]) == 2
    assert "give --artifact-url" in capsys.readouterr().err


def test_render_nightly_mainline_without_built_kernels(tmp_path, capsys):
    """The mainline plan of the nightly renders and validates from paths
    and URLs alone; --out is made once every job rendered, and an existing
    one is a one-line error."""
    out = tmp_path / "o"
    argv = ["render", "--plan", "nightly,nightly-mainline", "--kernel-dir", "/b/kernel-{config}"]
    assert cli.main(argv + ["--out", str(out)]) == 2      # lab boards need --artifact-url
    assert "give --artifact-url" in capsys.readouterr().err and not out.exists()
    argv += ["--artifact-url", "http://srv/a", "--out", str(out)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 18 and lines[-1].startswith("mainline-late-cpu-lab-none-4c-2048m: valid")
    uniform = (out / "mainline-uniform-kselftest-none-4c-2048m.job.yaml").read_text()
    assert "url: http://srv/a/mainline/Image" in uniform
    assert "url: http://srv/a/mainline/dtbs/qemu/virt-4c-2048m.dtb" in uniform
    assert "arm64.bbml2" not in uniform
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"error: --out {out}: cannot create a new directory: File exists\n"
