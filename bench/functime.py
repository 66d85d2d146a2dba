#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Guest instructions spent in kernel functions, counted from outside
(issue 19): one method for the series and for mainline, no instrumentation.

    bench/functime.py --build build/kernel-mainline --mem 2048,4096 \\
        [--cpus 'x4r0p3,3*a720'] [--fn linear_map_split_to_ptes --fn map_mem] \\
        [--repeat N] [--out FILE.jsonl]

Boots the build's Image under el2shim (the mixed board by default: Cortex-X4
r0p3 boot CPU, three Cortex-A720s, no option: the only way upstream
repaints) with -icount shift=0 and the functime plugin
(bench/tlbmodel/functime.c), which counts the guest instructions of all
vCPUs while the boot CPU is inside each function; the addresses come from
the build's System.map. No initramfs: the boot ends at the kernel's
"no root" panic (panic=-1, -no-reboot), well after the repaint. Where the
kernel prints the series' boot line, its repaint_ns (under -icount shift=0
one instruction is one ns of virtual time) is recorded next to the count.
One JSON line per boot: kernel, MiB, the function's instructions per call,
exit kinds, repaint_ns, console tail on failure. QEMU emulation: counts are
instructions, not hardware time.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN_SRC = REPO / "bench/tlbmodel/functime.c"
SHIM_KERNEL_ADDR = 0x40400000          # lab/el2shim/shim.h


def build_plugin(out_dir):
    so = Path(out_dir) / "libfunctime.so"
    hdr = PLUGIN_SRC.parent / "qemu-plugin-api.h"
    if not so.exists() or so.stat().st_mtime < max(PLUGIN_SRC.stat().st_mtime,
                                                     hdr.stat().st_mtime):
        so.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-fPIC", "-shared", f"-I{PLUGIN_SRC.parent}",
                        "-o", str(so), str(PLUGIN_SRC)], check=True)
    return so


def symbol_range(system_map, name):
    """(start, end, symbol) of a function from System.map: its address and
    the next higher address. A compiler clone (name.isra.0, .constprop.0)
    counts as the function; several matches are an error."""
    syms = []
    for line in Path(system_map).read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms.append((int(parts[0], 16), parts[1], parts[2]))
    syms.sort()
    hits = [i for i, (_, t, s) in enumerate(syms)
            if t in "tT" and (s == name or re.fullmatch(re.escape(name) + r"\.\w+(\.\d+)?", s))]
    if len(hits) != 1:
        raise SystemExit(f"functime: {name}: {len(hits)} text symbols in {system_map} "
                         f"({[syms[i][2] for i in hits]}); inlined? pick its caller")
    i = hits[0]
    start = syms[i][0]
    end = next(a for a, _, _ in syms[i + 1:] if a > start)
    return start, end, syms[i][2]


def boot(build, mem, cpus, fns, plugin, shim, timeout, workdir):
    image = Path(build) / "arch/arm64/boot/Image"
    smap = Path(build) / "System.map"
    out = Path(workdir) / "functime.txt"
    console = Path(workdir) / "console.log"
    ranges = [symbol_range(smap, f) for f in fns]
    pargs = ",".join([f"out={out}"] + [f"fn={f}:{s:x}:{e:x}" for f, (s, e, _) in zip(fns, ranges)])
    append = f"console=ttyAMA0 rodata=full panic=-1 el2shim.cpus={cpus}"
    cmd = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max",
           "-smp", str(len(expand(cpus))), "-m", str(mem), "-icount", "shift=0",
           "-nographic", "-no-reboot", "-monitor", "none", "-serial", f"file:{console}",
           "-kernel", str(shim), "-append", append,
           "-device", f"loader,file={image},addr={SHIM_KERNEL_ADDR:#x},force-raw=on",
           "-plugin", f"{plugin},{pargs}"]
    t0 = time.monotonic()
    try:
        rc = subprocess.run(cmd, timeout=timeout, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    wall = time.monotonic() - t0
    text = out.read_text() if out.exists() else ""
    con = console.read_text(errors="replace") if console.exists() else ""
    calls = {}
    for m in re.finditer(r"^functime name=(\S+) call=\d+ vcpu=\d+ insns=(\d+) exit=(\w+)$",
                         text, re.M):
        calls.setdefault(m[1], []).append({"insns": int(m[2]), "exit": m[3]})
    line = re.search(r"linear map: bbml2 (.*)$", con, re.M)
    series = dict(kv.split("=", 1) for kv in line[1].split()) if line else None
    rec = {"kernel": str(Path(build).resolve()), "mem_mb": mem, "cpus": cpus,
           "functions": {f: {"symbol": r[2], "start": hex(r[0]), "end": hex(r[1]),
                             "calls": calls.get(f, [])} for f, r in zip(fns, ranges)},
           "series_line": series, "qemu_rc": rc, "wall_s": round(wall, 1),
           "panic_no_root": "Unable to mount root fs" in con or "VFS: Unable" in con,
           "kernel_version": (re.search(r"Linux version (\S+)", con) or [None, None])[1]}
    if series and series.get("repaint_ns", "").isdigit():
        rec["repaint_ns"] = int(series["repaint_ns"])
    if not rec["panic_no_root"]:
        rec["console_tail"] = con.splitlines()[-20:]
    return rec


def expand(cpus):
    out = []
    for e in cpus.split(","):
        n, _, m = e.rpartition("*")
        out += [m] * (int(n) if n else 1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, action="append",
                    help="kernel O= build directory (Image, System.map); repeatable")
    ap.add_argument("--mem", default="2048", help="MiB, comma list")
    ap.add_argument("--cpus", default="x4r0p3,3*a720", help="el2shim CPU list")
    ap.add_argument("--fn", action="append", help="function (default: the repaint and map_mem)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--shim", default=str(REPO / "build/el2shim/el2shim.bin"))
    ap.add_argument("--out", help="append JSON lines here (default: stdout only)")
    a = ap.parse_args(argv)
    fns = a.fn or ["linear_map_split_to_ptes", "map_mem"]
    plugin = build_plugin(REPO / "build/functime")
    if not Path(a.shim).is_file():
        raise SystemExit(f"functime: {a.shim} missing: make el2shim")
    for r in range(a.repeat):
        for mem in [int(m) for m in a.mem.split(",")]:
            for build in a.build:
                with tempfile.TemporaryDirectory(prefix="functime-") as wd:
                    rec = boot(build, mem, a.cpus, fns, plugin, a.shim, a.timeout, wd)
                rec["repeat"] = r
                line = json.dumps(rec, sort_keys=True)
                print(line, flush=True)
                if a.out:
                    with open(a.out, "a") as f:
                        f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
