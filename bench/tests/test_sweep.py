# SPDX-License-Identifier: GPL-2.0
"""bench/sweep.py: the boot order is complete, shuffled and reproducible
from its seed; --icount reaches QEMU's command line through the lab's
renderer; bad input gets one clear line."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import sweep  # noqa: E402
from bbml2lab import config, render  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DEVICE_TYPES = os.path.join(REPO, "build/lava-server/usr/share/lava-server/device-types")


def specs():
    m = config.load(os.path.join(REPO, "configs/matrix.yaml"),
                    os.path.join(REPO, "configs/boards.yaml"))
    return m, m.expand("bench-sweep")


def test_plan_is_the_sweep():
    _, s = specs()
    assert sorted({x.mem_mb for x in s}) == [1024, 2048, 4096, 8192, 16384]
    assert {x.mode for x in s} == {"off", "assume", "assume-repaint"}
    assert all("bbml2lab.bench=linmap-cost" in x.kernel_args for x in s)


def test_boot_order_complete_shuffled_reproducible():
    _, s = specs()
    a = sweep.boot_order(s, 3, seed=11)
    assert len(a) == 45 and len({b.name for b in a}) == 45
    assert sorted(b.name for b in a) == sorted(f"{x.name}-r{k}" for x in s for k in (1, 2, 3))
    assert [b.name for b in a] == [b.name for b in sweep.boot_order(s, 3, seed=11)]
    assert [b.name for b in a] != [b.name for b in sweep.boot_order(s, 3, seed=12)]
    planned = [f"{x.name}-r{k}" for k in (1, 2, 3) for x in s]
    assert [b.name for b in a] != planned


@pytest.mark.skipif(not os.path.isfile(os.path.join(DEVICE_TYPES, "qemu.jinja2")),
                    reason="LAVA device-type templates not unpacked (make deps)")
def test_icount_reaches_the_qemu_command_line():
    m, s = specs()
    spec = s[0]
    plain = sweep.renderer(DEVICE_TYPES, []).device(spec, m.boards[spec.board])
    ic = sweep.renderer(DEVICE_TYPES, sweep.ICOUNT).device(spec, m.boards[spec.board])
    assert "-icount shift=0" in ic and "-icount" not in plain
    assert f"-smp {spec.cpus}" in ic
    job, _ = render.Renderer(device_types_dir=DEVICE_TYPES, qemu_options=sweep.ICOUNT).job(
        spec, m.boards[spec.board], "file:///k", "file:///i")
    assert job["context"]["extra_options"][-1] == "-icount shift=0"


def test_bad_input_one_line(tmp_path, capsys):
    assert sweep.main(["--kernel", str(tmp_path / "no"), "--initrd", str(tmp_path / "no"),
                       "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sweep: kernel not found: {tmp_path / 'no'}"]
    assert sweep.main(["--plan", "nope", "--kernel", "k", "--initrd", "i"]) == 2
    assert "unknown plan 'nope'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
