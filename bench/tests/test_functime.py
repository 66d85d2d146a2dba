"""The functime plugin (bench/tlbmodel/functime.c) on a bare-metal guest with
known instruction counts, under -icount shift=0, and its System.map reader."""
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import functime  # noqa: E402

PROG = os.path.join(HERE, "functime", "prog.S")
CC = "aarch64-linux-gnu-gcc"


def _syms(elf):
    out = subprocess.run(["aarch64-linux-gnu-nm", elf], check=True, capture_output=True,
                         text=True).stdout
    return {p[2]: int(p[0], 16) for p in (line.split() for line in out.splitlines())
            if len(p) == 3}


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    if not shutil.which(CC) or not shutil.which("qemu-system-aarch64"):
        pytest.skip(f"needs {CC} and qemu-system-aarch64 (make deps)")
    d = tmp_path_factory.mktemp("functime")
    elf = d / "prog.elf"
    subprocess.run([CC, "-nostdlib", "-static", "-Wl,-Ttext=0x40080000", "-o", str(elf), PROG],
                   check=True)
    return d, str(elf), _syms(str(elf)), functime.build_plugin(d)


def run(guest, fns, extra=()):
    d, elf, syms, plugin = guest
    out = d / "out.txt"
    args = ",".join([f"out={out}"] + [f"fn={n}:{s:x}:{e:x}" for n, s, e in fns] + list(extra))
    subprocess.run(["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-m", "256",
                    "-nographic", "-monitor", "none", "-serial", "none", "-icount", "shift=0",
                    "-kernel", elf, "-plugin", f"{plugin},{args}"], check=True, timeout=60)
    return out.read_text()


def test_counts_are_exact(guest):
    _, _, s, _ = guest
    text = run(guest, [("func", s["func"], s["tailer"]), ("tailer", s["tailer"], s["after"])])
    calls = re.findall(r"^functime name=(\w+) call=\d+ vcpu=0 insns=(\d+) exit=(\w+)$", text, re.M)
    # func: mov + 10 x (subs, b.ne) + ret = 22, three calls from _start and
    # one reached by tailer's tail call; tailer: mov + b, left by the b
    assert calls == [("func", "22", "ret")] * 3 + [("tailer", "2", "tail"), ("func", "22", "ret")]
    # everything the guest ran: _start 1 + 3 x 3 + 1 + 3, func 4 x 22, tailer 2
    assert re.search(r"^functime-total insns=104$", text, re.M)


def test_a_wrong_range_sees_no_call(guest):
    _, _, s, _ = guest
    text = run(guest, [("func", s["func"] + 4, s["tailer"])])
    assert "functime name=" not in text
    assert re.search(r"functime-summary name=func calls=0 insns=0", text)


@pytest.mark.parametrize("arg", ["fn=bad", "fn=x:10:5", "nonsense=1"])
def test_bad_arguments_refuse_to_load(guest, arg):
    d, elf, _, plugin = guest
    r = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-m", "256",
                        "-nographic", "-monitor", "none", "-serial", "none",
                        "-kernel", elf, "-plugin", f"{plugin},out={d}/x.txt,{arg}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_symbol_range(tmp_path):
    m = tmp_path / "System.map"
    m.write_text("ffff800080010000 T a\nffff800080010040 t map_mem.isra.0\n"
                 "ffff800080010040 t alias\nffff800080010100 T c\n"
                 "ffff800080020000 D data\n")
    assert functime.symbol_range(m, "a") == (0xffff800080010000, 0xffff800080010040, "a")
    assert functime.symbol_range(m, "map_mem") == (0xffff800080010040, 0xffff800080010100,
                                                   "map_mem.isra.0")
    with pytest.raises(SystemExit, match="0 text symbols"):
        functime.symbol_range(m, "paging_init")
    with pytest.raises(SystemExit, match="0 text symbols"):
        functime.symbol_range(m, "data")
