# SPDX-License-Identifier: GPL-2.0
"""The TLB model's host side: QEMU options that load bench/tlbmodel, the
preflight that proves the installed QEMU accepts it, and its JSON lines
turned into per-operation figures.

Every figure here is modelled (QEMU TCG + tlbmodel <preset>), never
measured: LABEL says so and every consumer prints it.
"""
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUEST_SEED = 1
LABEL = "modelled (QEMU TCG + tlbmodel {preset}), not measured"
KERNEL_REGIONS = ("linear", "vmalloc", "modules", "kimage", "vmemmap", "other")
# A window's label: "<bench> <metric> ops=<K> samples=<S>" (bench/common.c).
LABEL_RE = re.compile(r"^(\S+) (\S+) ops=(\d+) samples=(\d+)$")


class ModelError(Exception):
    """One line saying what is wrong and what to do."""


def qemu_options(console_log, out, presets=None):
    """QEMU arguments: the console through a chardev that logs to
    console_log (the layout channel), and the plugin writing out. LAVA's
    qemu device type adds -nographic and -monitor none itself."""
    args = f"layout={console_log},out={out}"
    if presets:
        args += ",presets=" + ":".join(presets)
    plugin = REPO / "build/tlbmodel/libtlbmodel.so"
    return [f"-chardev stdio,id=c0,logfile={console_log},signal=off",
            "-serial chardev:c0", f"-plugin {plugin},{args}"]


def build(out_dir=None):
    """make -C bench/tlbmodel; ModelError with the compiler's last line."""
    out_dir = Path(out_dir or REPO / "build/tlbmodel")
    r = subprocess.run(["make", "-s", "-C", str(REPO / "bench/tlbmodel"), f"O={out_dir}"],
                       capture_output=True, text=True)
    if r.returncode:
        last = (r.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ModelError(f"tlbmodel: build failed: {last}")
    return out_dir


def run_baremetal(out_dir, plugin=None, extra="", timeout=60, layout=None):
    """Boot the known-answer program with the plugin; (returncode, stderr,
    records). layout: a file the plugin reads instead of the console log."""
    out_dir = Path(out_dir)
    plugin = Path(plugin or out_dir / "libtlbmodel.so")
    with tempfile.TemporaryDirectory() as tmp:
        log, jsonl = os.path.join(tmp, "console.log"), os.path.join(tmp, "out.jsonl")
        cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-m", "128",
               "-nographic", "-chardev", f"stdio,id=c0,logfile={log},signal=off",
               "-serial", "chardev:c0", "-monitor", "none",
               "-kernel", str(out_dir / "baremetal.elf"),
               "-plugin", f"{plugin},layout={layout or log},out={jsonl}{extra}"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        recs = read_records(jsonl) if os.path.exists(jsonl) else []
    return r.returncode, r.stderr, recs


def preflight(out_dir=None, plugin=None):
    """The installed QEMU loads the plugin and the bare-metal windows come
    out valid; else ModelError in one line (QEMU's own reason included)."""
    out_dir = build(out_dir)
    rc, err, recs = run_baremetal(out_dir, plugin=plugin)
    wins = [r for r in recs if r.get("type") == "window"]
    if rc or len(wins) != 4 or not all(w["valid"] for w in wins):
        why = " ".join(err.strip().splitlines()[-2:]) or f"exit {rc}, {len(wins)} windows"
        raise ModelError(f"tlbmodel: QEMU ({qemu_version()}) did not run the plugin: {why}")
    return out_dir


def qemu_version():
    try:
        r = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "qemu-system-aarch64 not runnable"


def read_records(path):
    """The plugin's JSON lines; a torn last line (QEMU killed) is dropped,
    any other bad line is a ModelError naming it."""
    recs = []
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines, 1):
        try:
            recs.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines):
                break
            raise ModelError(f"{path}:{i}: not a JSON record") from None
    return recs


def windows(records):
    """Per window: bench, metric, ops (K x S), validity and, per preset,
    the per-op and MPKI figures. Windows without a parsable label are kept
    with bench None."""
    header = next((r for r in records if r.get("type") == "header"), {})
    out = []
    for w in (r for r in records if r.get("type") == "window"):
        m = LABEL_RE.match(w.get("label", ""))
        ops = int(m.group(3)) * int(m.group(4)) if m else None
        kin = w["insns"]["kernel"]
        others = w.get("other_vcpus") or {}
        skin = kin + (others.get("insns") or {}).get("kernel", 0)
        row = {"seq": w["seq"], "label": w.get("label", ""),
               "bench": m.group(1) if m else None, "metric": m.group(2) if m else None,
               "ops": ops, "valid": w["valid"], "invalid_reason": w.get("invalid_reason"),
               "layout_after": w.get("layout_after"),
               "split_in_window": w.get("layout_after") == "changed",
               "kernel_insns": kin, "unmodelled": w["unmodelled"],
               "kernel_accesses": sum(w["accesses_by_region"].get(k, 0)
                                      for k in KERNEL_REGIONS),
               "presets": {}}
        for name, mc in w["models"].items():
            lin = mc["walk_by_region"].get("linear", 0)
            kwalk = mc["walk"]["kernel_insn"]
            kref = mc["l1_refill"]["kernel_insn"]
            per = (lambda x: x / ops) if ops else (lambda x: None)
            row["presets"][name] = {
                "label": LABEL.format(preset=name),
                "linear_walks_per_op": per(lin),
                "walks_per_op": per(kwalk),
                "l1_refills_per_op": per(kref),
                "linear_l1_refills_per_op": per(mc["l1_refill_by_region"].get("linear", 0)),
                "kernel_walk_mpki": 1000 * kwalk / kin if kin else None,
                "kernel_l1_refill_mpki": 1000 * kref / kin if kin else None,
                "system_kernel_walk_mpki": (
                    1000 * (kwalk + others["models"][name]["walk"]["kernel_insn"]) / skin
                    if skin and others.get("models") else None),
                "kernel_va_walk_mpki": (1000 * sum(mc["walk_by_region"].get(k, 0)
                                                   for k in KERNEL_REGIONS) / kin
                                        if kin else None),
                "walks_by_region": mc["walk_by_region"],
                "walks_by_leaf": {leaf_name(int(s)): n
                                  for s, n in mc["walk_by_leaf_shift"].items()},
            }
        out.append(row)
    return header, out


def leaf_name(shift):
    for unit, s in (("G", 30), ("M", 20), ("K", 10)):
        if shift >= s:
            return f"{1 << (shift - s)}{unit}"
    return str(1 << shift)
