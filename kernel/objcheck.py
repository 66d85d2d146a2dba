#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks of the built kernel object that no QEMU boot can make (TCG's page
walker sees every store at once, so a missing barrier never shows there).

    kernel/objcheck.py KERNEL_OUT [--objdump aarch64-linux-gnu-objdump]

install-after-barrier: the repaint's repaint_install_tables() (mmu.c) makes
the tables filled before stop_machine() reachable, one table descriptor per
block. Their entries must be visible to the table walker before any of those
descriptors is: the function starts with `dsb ishst`, and no store other
than to the stack may come before it. Catches the mutant that drops the
barrier (kernel/mutations/repaint-install-no-barrier.patch), which on
hardware lets a walker fetch a stale entry of a new table.

Exit status: 0 all checks pass, 1 a check failed, 2 the object could not be
read (no vmlinux, no symbol: a kernel without the prepared repaint).
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

FUNC = "repaint_install_tables"
STORE = re.compile(r"^(st[a-z0-9]*|stp|stnp|stur[bh]?|str[bh]?)$")
BARRIER = re.compile(r"^dsb$")


def symbol(vmlinux, func, nm):
    """func's name in the object: itself or a compiler clone of it
    (func.isra.0, func.constprop.0), None if absent."""
    p = subprocess.run([nm, str(vmlinux)], capture_output=True, text=True)
    if p.returncode:
        raise OSError(f"{nm}: {p.stderr.strip()}")
    names = [f[2] for f in (line.split() for line in p.stdout.splitlines())
             if len(f) == 3 and f[1] in "tT"
             and re.fullmatch(re.escape(func) + r"(\.\w+?(\.\d+)?)*", f[2])]
    if len(names) > 1:
        raise OSError(f"{func}: {len(names)} symbols ({', '.join(names)})")
    return names[0] if names else None


def disassemble(vmlinux, func, objdump):
    """The instructions of func (or its clone) as (mnemonic, operands), in
    order; empty if the object has no such function."""
    name = symbol(vmlinux, func, objdump.replace("objdump", "nm"))
    if name is None:
        return []
    p = subprocess.run([objdump, "-d", "--no-show-raw-insn", f"--disassemble={name}",
                        str(vmlinux)], capture_output=True, text=True)
    if p.returncode:
        raise OSError(f"{objdump}: {p.stderr.strip()}")
    insns = []
    for line in p.stdout.splitlines():
        m = re.match(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$", line)
        if m:
            insns.append((m.group(1), m.group(2)))
    return insns


def install_after_barrier(insns):
    """(ok, why): the first dsb comes before any store not based on sp."""
    if not insns:
        return None, f"no {FUNC} in the object"
    for i, (op, args) in enumerate(insns):
        if BARRIER.match(op):
            return True, f"{FUNC}: {op} {args} at instruction {i}, no store before it"
        base = re.search(r"\[(\w+)", args)
        if STORE.match(op) and not (base and base.group(1) == "sp"):
            return False, f"{FUNC}: '{op} {args}' at instruction {i} precedes any dsb"
    return False, f"{FUNC}: no dsb at all"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel_out", help="the kernel's O= directory (with vmlinux)")
    ap.add_argument("--objdump", default="aarch64-linux-gnu-objdump")
    a = ap.parse_args(argv)
    vmlinux = Path(a.kernel_out) / "vmlinux"
    if not vmlinux.is_file():
        print(f"objcheck: no {vmlinux}", file=sys.stderr)
        return 2
    try:
        ok, why = install_after_barrier(disassemble(vmlinux, FUNC, a.objdump))
    except OSError as e:
        print(f"objcheck: {e}", file=sys.stderr)
        return 2
    if ok is None:
        print(f"objcheck: {why}", file=sys.stderr)
        return 2
    print(f"{'ok' if ok else 'FAIL'} install-after-barrier: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
