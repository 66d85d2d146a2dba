#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Repeated benchmark boots in a random, recorded order (make bench-sweep).

    bench/sweep.py --plan bench-sweep --repeat 5 [--icount] \\
        --kernel IMAGE --initrd INITRD [--seed N] [--results DIR] [--tag TAG]

Every job of the plan (configs/matrix.yaml) is booted --repeat times, all
boots shuffled with --seed (random when not given) and run one at a time
through the lab runner (lab/bbml2lab), into one results directory. The run's
metadata.json gets a "bench" member: seed, repeat, the boot order, and the
extra QEMU options. --icount adds `-icount shift=0`: guest time counts
instructions (1 ns each), so costs repeat exactly; it is instruction time,
never hardware time. --tlb-model loads the TLB-model plugin
(bench/tlbmodel) into every boot, after a bare-metal preflight: each boot
writes <run>/tlbmodel/<boot>.jsonl (modelled, not measured).

Exit status as lab/run.py: 0 all passed, 1 a test failed, 2 an error.
"""
import argparse
import dataclasses
import inspect
import os
import random
import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))

from bbml2lab import LabError, cli, render  # noqa: E402
from bbml2lab.job import Artifacts  # noqa: E402
from bbml2lab.session import Session  # noqa: E402

import tlbdata  # noqa: E402

ICOUNT = ["-icount shift=0"]


def boot_order(specs, repeat, seed):
    """specs x repeat, named <job>-r<k>, shuffled with seed (deterministic)."""
    boots = [dataclasses.replace(s, name=f"{s.name}-r{k}")
             for k in range(1, repeat + 1) for s in specs]
    random.Random(seed).shuffle(boots)
    return boots


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Repeated benchmark boots in a random, "
                                 "recorded order.")
    cli.selection_options(ap, single=False, plan="bench-sweep")
    ap.add_argument("--repeat", type=int, default=3, help="boots per job (3)")
    ap.add_argument("--seed", type=int, help="shuffle seed (default: random, recorded)")
    ap.add_argument("--icount", action="store_true",
                    help="add -icount shift=0 (instruction time, deterministic)")
    ap.add_argument("--tlb-model", action="store_true",
                    help="model the data TLBs with bench/tlbmodel (every preset)")
    ap.add_argument("--kernel", required=True, help="arm64 Image")
    ap.add_argument("--initrd", required=True, help="bench initramfs")
    ap.add_argument("--device-types",
                    default=str(REPO / "build/lava-server/usr/share/lava-server/device-types"))
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--tag", help="run-id tag (default: the plan, +icount)")
    ap.add_argument("--dry-run", action="store_true", help="print the boot order only")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def renderer(device_types, options):
    """A lab Renderer that adds options to QEMU's command line."""
    if not options:
        return render.Renderer(device_types_dir=device_types)
    if "qemu_options" not in inspect.signature(render.Renderer).parameters:
        raise LabError("lab/bbml2lab/render.py has no qemu_options hook: cannot add "
                       + " ".join(options))
    return render.Renderer(device_types_dir=device_types, qemu_options=options)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2 ** 31)
    options = list(ICOUNT) if args.icount else []
    try:
        matrix, specs = cli.specs_of(args)
        renderer(args.device_types, options)
    except LabError as e:
        print(f"sweep: {e}", file=sys.stderr)
        return 2
    boots = boot_order(specs, args.repeat, seed)
    if args.dry_run:
        print(f"seed {seed}: " + " ".join(b.name for b in boots))
        return 0
    for what, path in (("kernel", args.kernel), ("initrd", args.initrd)):
        if not os.path.isfile(path):
            print(f"sweep: {what} not found: {path}", file=sys.stderr)
            return 2
    if args.tlb_model:
        try:
            tlbdata.preflight()
        except tlbdata.ModelError as e:
            print(f"sweep: {e}", file=sys.stderr)
            return 2
    tag = args.tag or (args.plan + ("-icount" if args.icount else ""))
    session = Session(args.results, tag, REPO, ["bench/sweep.py"] + list(argv or sys.argv[1:]),
                      plan=args.plan)
    if args.tlb_model:
        tdir = session.run_dir.resolve() / "tlbmodel"  # QEMU runs in LAVA's directory
        tdir.mkdir()
        options += tlbdata.qemu_options(tdir / "{job}.console.log", tdir / "{job}.jsonl")
        if args.icount:
            # Two boots of a point must give the same counts: guest
            # randomness (RNDR, the DTB's rng-seed and kaslr-seed) from a
            # fixed seed, and idle vCPUs that skip to the next timer instead
            # of sleeping in host time (sleep=off).
            options[options.index(ICOUNT[0])] = ICOUNT[0] + ",sleep=off"
            options.append(f"-seed {tlbdata.GUEST_SEED}")
        session.meta["tlbmodel"] = {"dir": "tlbmodel", "label": tlbdata.LABEL,
                                    "qemu": tlbdata.qemu_version()}
    rend = renderer(args.device_types, options)
    session.meta["bench"] = {"seed": seed, "repeat": args.repeat,
                             "order": [b.name for b in boots], "qemu_options": options,
                             "clock": "instructions (-icount shift=0)" if args.icount
                             else "host time (TCG)"}
    session.say(f"run {session.run_id}: {len(boots)} boots, seed {seed}"
                + (f", qemu {' '.join(options)}" if options else ""))
    art = Artifacts(Path(args.kernel), Path(args.initrd))
    try:
        session.run(boots, matrix.boards, lambda spec: art, rend)
    except KeyboardInterrupt:
        session.setup_error("interrupted")
    if args.tlb_model:
        # the console logs were the layout channel; LAVA's log keeps the text
        for log in (session.run_dir / "tlbmodel").glob("*.console.log"):
            log.unlink()
    return session.finish()


if __name__ == "__main__":
    sys.exit(main())
