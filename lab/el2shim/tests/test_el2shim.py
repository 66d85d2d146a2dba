# SPDX-License-Identifier: GPL-2.0
"""el2shim: host unit test, and real boots of the qemu kernel under el2shim.

Run with Debian's python: /usr/bin/python3 -m pytest -q lab/el2shim/tests
The boots need build/kernel-qemu's Image and build/rootfs-qemu.cpio.gz
(make kernel-qemu rootfs-qemu), or EL2SHIM_IMAGE / EL2SHIM_INITRD. Each
boot is a few seconds under TCG; the guest shell is driven by shell.py,
which waits for each prompt.
"""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_DIR = os.path.dirname(HERE)
TOP = os.path.dirname(os.path.dirname(SHIM_DIR))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
IMAGE = os.environ.get("EL2SHIM_IMAGE",
                       os.path.join(BUILD, "kernel-qemu/arch/arm64/boot/Image"))
INITRD = os.environ.get("EL2SHIM_INITRD", os.path.join(BUILD, "rootfs-qemu.cpio.gz"))

SPLAT = re.compile(r"WARNING:|BUG:|Oops|Kernel panic|Call trace:|el2shim: FATAL")
LINEAR = re.compile(r"linear map: bbml2 options=(\S+) boot_cpu=(\d) system=(\d) "
                    r"map=(\S+) repainted=(\d)")
MIDR = re.compile(r"^cpu(\d) midr (0x[0-9a-f]+)", re.M)


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} not installed (make deps)")


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    need("aarch64-linux-gnu-gcc", "qemu-system-aarch64")
    out = tmp_path_factory.mktemp("el2shim")
    subprocess.run(["make", "-s", "-C", SHIM_DIR, f"O={out}"], check=True)
    return str(out / "el2shim.bin")


@pytest.fixture(scope="module")
def el1check(shim):
    return os.path.join(os.path.dirname(shim), "el1check.bin")


@pytest.fixture(scope="module")
def kernel():
    for f in (IMAGE, INITRD):
        if not os.path.exists(f):
            pytest.skip(f"{f} missing (make kernel-qemu rootfs-qemu)")


def boot(shim, tmp_path, cpus, commands, smp=4, append="", timeout=120):
    """Boot with the CPU list, run commands in the guest shell, return the console."""
    cmds = tmp_path / "cmds"
    cmds.write_text("\n".join(commands) + "\n")
    args = ["/usr/bin/python3", os.path.join(SHIM_DIR, "shell.py"), "-t", str(timeout),
            str(cmds), "--", "-s", str(smp), "-k", IMAGE, "-i", INITRD, "-e", shim,
            "-t", str(timeout)]
    if cpus:
        args += ["-c", cpus]
    if append:
        args += ["-a", append]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout + 30)
    out = p.stdout.decode(errors="replace").replace("\r", "")
    (tmp_path / "console.log").write_text(out)
    return p.returncode, out


def linear(out):
    m = LINEAR.search(out)
    assert m, "no 'linear map: bbml2' boot line"
    return m.groups()


def last_line(out):
    """The guest's last console line, shell.py's own note left out."""
    lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("shell.py:")]
    return lines[-1] if lines else ""


def midrs(out):
    return [int(v, 16) for _, v in MIDR.findall(out)]


SHOW_MIDR = 'for c in 0 1 2 3; do echo "cpu$c midr $(cat /sys/devices/system/cpu/cpu$c/regs/identification/midr_el1)"; done'
DEBUGFS = "grep -E '^(boot_cpu_bbml2|system_bbml2|blocks_at_boot|linear_map|repainted)=' /sys/kernel/debug/arm64/linear_map"


def test_host_unit(tmp_path):
    need("aarch64-linux-gnu-gcc", "qemu-system-aarch64", "gcc")
    p = subprocess.run(["make", "-s", "-C", SHIM_DIR, f"O={tmp_path}", "test"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode()
    assert p.returncode == 0, out
    assert "# 37 passed, 0 failed" in out
    assert "not ok" not in out


def test_mixed_repaints_and_keeps_midrs(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "x4r0p3,3*a720r0p0", [
        SHOW_MIDR,
        "for c in 1 2 3; do echo 0 > /sys/devices/system/cpu/cpu$c/online; done",
        "for c in 1 2 3; do echo 1 > /sys/devices/system/cpu/cpu$c/online; done",
        "cat /sys/devices/system/cpu/online",
        SHOW_MIDR,
        DEBUGFS,
    ])
    assert rc == 0, out[-2000:]
    assert "el2shim:   cpu0 mpidr 0x0 midr 0x410fd823 Cortex-X4 r0p3" in out
    assert "el2shim:   cpu3 mpidr 0x3 midr 0x410fd810 Cortex-A720 r0p0" in out
    assert "CPU1: no BBM Level 2 without TLB conflict abort: capability cleared" in out
    assert linear(out) == ("none", "1", "0", "pte", "1")
    want = [0x410fd823, 0x410fd810, 0x410fd810, 0x410fd810]
    assert midrs(out) == want + want            # before and after the cycle
    assert "\n0-3\n" in out
    assert "psci: CPU3 killed" in out
    for kv in ("boot_cpu_bbml2=1", "system_bbml2=0", "blocks_at_boot=1",
               "linear_map=pte", "repainted=1"):
        assert f"\n{kv}\n" in out, kv
    assert not SPLAT.search(out), SPLAT.search(out).group(0)


def test_uniform_keeps_blocks(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "4*v3r0p2", [
        DEBUGFS,
        "head -1 /sys/kernel/debug/memblock/memory",
        "head -1 /sys/kernel/debug/memblock/reserved",
    ])
    assert rc == 0, out[-2000:]
    assert linear(out) == ("none", "1", "1", "blocks", "0")
    assert "\nlinear_map=blocks\n" in out
    # el2shim's /memreserve/: all RAM in memblock.memory, el2shim's 2 MiB reserved
    assert re.search(r"0: 0x0*40000000\.\.0x0*bfffffff", out)
    assert re.search(r"0: 0x0*40200000\.\.", out)
    assert not SPLAT.search(out)


def test_uniform_forced_repaint(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "4*v3r0p2", [DEBUGFS], append="arm64.bbml2=repaint")
    assert rc == 0, out[-2000:]
    opts, boot_cpu, system, mapping, repainted = linear(out)
    assert (opts, boot_cpu, mapping, repainted) == ("repaint", "1", "pte", "1")
    assert not SPLAT.search(out)


def test_none_is_page_mapped(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "4*a720", [SHOW_MIDR])
    assert rc == 0, out[-2000:]
    assert linear(out) == ("none", "0", "0", "pte", "0")
    assert midrs(out) == [0x410fd810] * 4
    assert not SPLAT.search(out)


def test_late_cpu_without_bbml2_is_refused(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "3*v3r0p2,v3r0p1", [
        "echo 1 > /sys/devices/system/cpu/cpu3/online; echo cpu3 rc=$?",
        "echo 1 > /sys/devices/system/cpu/cpu1/online; echo cpu1 rc=$?",
        "cat /sys/devices/system/cpu/online",
        DEBUGFS,
    ], append="maxcpus=1")
    assert rc == 0, out[-2000:]
    assert linear(out) == ("none", "1", "1", "blocks", "0")
    assert re.search(r"^cpu3 rc=1$", out, re.M)
    assert re.search(r"^cpu1 rc=0$", out, re.M)
    assert "CPU3: will not boot" in out
    assert "\n0-1\n" in out
    assert "\nlinear_map=blocks\n" in out
    assert "\nrepainted=0\n" in out
    assert not SPLAT.search(out)


def test_bad_cpu_list_stops_loudly(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "x4r0p3,3*a720", [], smp=2, timeout=60)
    assert ("el2shim: FATAL on cpu0: el2shim.cpus= lists 4 CPUs but the machine "
            "has 2 (-smp)") in out
    assert "stopping the machine (PSCI SYSTEM_OFF)" in out
    assert "Linux version" not in out
    assert rc == 3          # no shell prompt: the machine was switched off
    assert "shell.py: console closed before a shell prompt" in out
    assert last_line(out) == "el2shim: stopping the machine (PSCI SYSTEM_OFF)"


def test_unhandled_trap_prints_esr_and_stops(shim, kernel, tmp_path):
    rc, out = boot(shim, tmp_path, "", [], smp=1, append="el2shim.selftest=twi",
                   timeout=60)
    m = re.search(r"el2shim:   ESR_EL2=(0x[0-9a-f]+) EC=0x1 \(WFI/WFE\) "
                  r"ELR_EL2=(0x[0-9a-f]+)", out)
    assert m, out[-2000:]
    assert int(m.group(1), 16) >> 26 == 1
    assert int(m.group(2), 16) >= 0xffff800000000000   # a kernel address
    assert "el2shim: FATAL on cpu0: unhandled exception from EL1" in out
    # the machine stops right there (the first WFI may come only at poweroff)
    assert last_line(out) == "el2shim: stopping the machine (PSCI SYSTEM_OFF)"


def test_el1_gets_what_linux_needs(shim, el1check, tmp_path):
    """el1check in place of the Image: every EL1 feature Linux uses, no traps."""
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\0" * 4096)
    p = subprocess.run([os.path.join(SHIM_DIR, "boot.sh"), "-s", "2", "-c", "x4r0p3,a720",
                        "-k", el1check, "-i", str(initrd), "-e", shim, "-t", "60"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    out = p.stdout.decode(errors="replace").replace("\r", "")
    got = dict(re.findall(r"^el1check: (.*?) ?(0x[0-9a-f]+)$", out, re.M))
    assert p.returncode == 0, out[-2000:]
    assert "el2shim: FATAL" not in out, out[-2000:]
    assert "el1check: done" in out
    assert got["CurrentEL"] == "0x1"
    assert got["midr"] == "0x410fd823"
    assert got["mpidr"] == "0x80000000"
    assert got["fpsimd ok, fpcr"] == "0x0"
    assert int(got["sve vector length bytes"], 16) >= 16       # QEMU max has SVE
    assert int(got["sme streaming vector length bytes"], 16) >= 16
    assert got["pauth key and pacia ok, pac added"] == "0x1"
    assert int(got["pmu counters"], 16) >= 1
    assert got["pmu cycles advanced"] == "0x1"
    assert got["timers ok, cntvct >= cntpct"] == "0x1"
    assert int(got["icc_sre_el1"], 16) & 1                      # SRE: system registers
    assert got["icc_pmr_el1"] == "0xf0"
    assert got["smccc_version"] == "0xffffffffffffffff"         # not PSCI: NOT_SUPPORTED
    assert got["psci_version"] == "0x10001"                     # forwarded to QEMU
