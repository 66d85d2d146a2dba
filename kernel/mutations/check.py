#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The mutation check: re-introduce each known bug class into the series and
show that the suite catches it (make mutation-check; README "Mutation check").

  check.py [--build BUILD] [--only ID,...] [--results DIR] [--source TREE]
  check.py --list                   the mutants, their classes and boots
  check.py --apply-check TREE       every mutant applies to TREE (make check)

Each kernel/mutations/*.patch is one mutant: a header (Mutant:, Class:,
Boots:, Expect:, and for a mutant TCG cannot show, Equivalent-under-TCG:
and Hardware-catcher:) above a unified diff against the kernel tree with the
series applied. The run:

  1. copies BUILD/linux (the series applied, kernel/prepare.sh) to
     BUILD/mutation/linux and builds there with the Makefile's own kernel,
     kselftest and initramfs rules (BUILD=BUILD/mutation KERNEL_SRC=...),
     sharing BUILD's ccache, so each mutant is an incremental build;
  2. boots the unmutated baseline with every entry of the `mutation` plan of
     configs/matrix.yaml (lab/run.py matrix --only): every test a mutant
     expects to fail must pass there;
  3. for each mutant: applies it, builds, boots the entries its Boots: line
     names, and reverts it (always). A test that passed at baseline and fails
     now is a catch; a mutant is caught when one of them is a test its
     Expect: line names (a result-name prefix, "job-entry:test.prefix" or
     "test.prefix"). A catch by the job deadline alone does not count.
     A test that passed at baseline and skips now is no catch: it is listed
     with every mutant, and a mutant that no test it names catches but that
     has one is "skipped" (a mutant hidden behind a skip), not "survived".

Writes BUILD/../results/<ts>-mutation/mutation.json and mutation.md, prints
the table and exits 1 if any mutant survived or was skipped (equivalents
are counted apart).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab"))

from bbml2lab import LabError, config  # noqa: E402
from bbml2lab.fsutil import atomic_write, atomic_write_json, new_run_dir  # noqa: E402

PY = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
PLAN = "mutation"
HEADER_KEYS = ("Mutant", "Class", "Boots", "Expect", "Equivalent-under-TCG",
               "Hardware-catcher", "Object-check")
# what the mutation build dir shares with BUILD (unpacked packages, tools)
SHARED = ("deps", "busybox-arm64", "guest-bin", "libgpiod-arm64", "lava-server", "el2shim")


class Mutant:
    def __init__(self, path):
        self.path = Path(path)
        self.id = self.path.stem
        head = {}
        for line in self.path.read_text().splitlines():
            if line.startswith(("diff ", "--- ")):
                break
            m = re.match(r"([A-Za-z-]+):\s*(.*)$", line)
            if m and m.group(1) in HEADER_KEYS:
                head[m.group(1)] = m.group(2).strip()
        missing = [k for k in ("Mutant", "Class", "Boots") if not head.get(k)]
        if missing:
            raise LabError(f"{self.path}: header lacks {', '.join(missing)}")
        self.title = head["Mutant"]
        self.klass = head["Class"]
        self.boots = [b.strip() for b in head["Boots"].split(",") if b.strip()]
        self.expect = [e.strip() for e in head.get("Expect", "").split(",") if e.strip()]
        self.equivalent = head.get("Equivalent-under-TCG")
        self.hw_catcher = head.get("Hardware-catcher")
        # a check of the built kernel (a script run on each config's O=
        # directory: 0 pass, 1 fail, else error) for what no boot can show
        self.objcheck = head.get("Object-check")
        if not self.equivalent and not self.expect:
            raise LabError(f"{self.path}: no Expect: line (the test that must catch it)")
        if self.equivalent and not self.hw_catcher:
            raise LabError(f"{self.path}: equivalent under TCG but no Hardware-catcher:")


def load_mutants(only=None):
    mutants = [Mutant(p) for p in sorted(HERE.glob("*.patch"))]
    if only:
        ids = {m.id for m in mutants}
        unknown = [o for o in only if o not in ids]
        if unknown:
            raise LabError(f"--only: unknown mutant(s) {', '.join(unknown)} "
                           f"(known: {', '.join(sorted(ids))})")
        mutants = [m for m in mutants if m.id in only]
    return mutants


def check_boots(mutants, matrix):
    """Every Boots: entry is an entry of the mutation plan."""
    known = {e["name"]: e for e in matrix.plans.get(PLAN, [])}
    if not known:
        raise LabError(f"configs/matrix.yaml has no plan '{PLAN}'")
    for m in mutants:
        bad = [b for b in m.boots if b not in known]
        if bad:
            raise LabError(f"{m.path.name}: Boots: {', '.join(bad)} not in plan '{PLAN}' "
                           f"(known: {', '.join(known)})")
    return known


def patch(tree, mutant, *extra, quiet=True):
    return subprocess.run(["patch", "-p1", *(["-s"] if quiet else []), "-f", "-d", str(tree),
                           "-i", str(mutant.path), *extra], capture_output=True, text=True)


def apply_check(tree, mutants):
    """(ok, lines): each mutant applies cleanly (no fuzz, no offset) to
    tree. Not quiet: patch -s does not print the offsets it applied at."""
    lines, ok = [], True
    for m in mutants:
        p = patch(tree, m, "--dry-run", "-F0", quiet=False)
        good = p.returncode == 0 and "offset" not in p.stdout
        ok &= good
        lines.append(f"{'ok' if good else 'FAIL'} {m.id}"
                     + ("" if good else f": {(p.stdout + p.stderr).strip()}"))
    return ok, lines


class Lab:
    """The mutation build dir and the commands that build and boot it."""

    def __init__(self, build, results, say, source=None, mbuild=None):
        self.source = source
        self.build = Path(build).resolve()
        self.mbuild = Path(mbuild).resolve() if mbuild else self.build / "mutation"
        # a given tree is mutated in place (and restored), so that its
        # existing out-of-tree builds stay incremental
        self.tree = Path(source).resolve() if source else self.mbuild / "linux"
        self.results = Path(results)
        self.say = say

    def prepare(self):
        self.mbuild.mkdir(parents=True, exist_ok=True)
        for name in SHARED:
            link, target = self.mbuild / name, self.build / name
            if target.exists() and not link.exists():
                link.symlink_to(target)
        if self.source:
            self.say(f"mutation: mutating {self.tree} in place (each mutant reverted)")
            return
        src = subprocess.run(["kernel/prepare.sh", str(self.build)], cwd=REPO, text=True,
                             capture_output=True)
        if src.returncode:
            raise LabError(f"kernel/prepare.sh: {src.stderr.strip()}")
        self.say(f"mutation: copying {src.stdout.strip()} to {self.tree}")
        subprocess.run(["rsync", "-a", "--delete", src.stdout.strip() + "/", str(self.tree)],
                       check=True)

    def make(self, configs, log, rootfs=True):
        """Build the kernel (and initramfs) of each config; True on success.
        A mutant reuses the baseline's initramfs: no mutant changes what
        the test module links against, and its vermagic stays the same."""
        (self.tree / "Makefile").touch()
        goals = [g for c in configs for g in ((f"kernel-{c}", f"rootfs-{c}") if rootfs
                                              else (f"kernel-{c}",))]
        env = dict(os.environ, CCACHE_DIR=os.environ.get("CCACHE_DIR",
                                                         str(self.build / "ccache")))
        with open(log, "a") as f:
            p = subprocess.run(["make", "-C", str(REPO), f"BUILD={self.mbuild}",
                                f"KERNEL_SRC={self.tree}", f"DEPS_STAMP={self.build}/deps/ok",
                                *goals], stdout=f, stderr=subprocess.STDOUT, env=env)
        return p.returncode == 0

    def boot(self, entries, tag, log):
        """Boot plan entries; (run dir or None, {(job, test): result})."""
        mb = self.mbuild
        argv = [PY, str(REPO / "lab/run.py"), "matrix", "--plan", PLAN, "--only",
                ",".join(entries), "--results", str(self.results / "runs"), "--tag", tag,
                "--kernel-dir", f"{mb}/kernel-{{config}}/arch/arm64/boot/Image",
                "--initrd-dir", f"{mb}/rootfs-{{config}}.cpio.gz",
                "--device-types", f"{self.build}/lava-server/usr/share/lava-server/device-types"]
        with open(log, "a") as f:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            f.write(p.stdout)
        run = next((Path(line.split(": ", 1)[1].strip()) for line in p.stdout.splitlines()
                    if line.startswith("results: ")), None)
        if not run or not (run / "results.json").is_file():
            return None, {}
        return run, {(r["job"], r["name"]): r for r in json.loads((run / "results.json")
                                                                 .read_text())}


def entry_of(job):
    """The plan entry name of a job name (<entry>-<mode>-<cpus>c-<mem>m)."""
    return re.sub(r"-(none|off|assume|assume-repaint|repaint)-\d+c-\d+m$", "", job)


def matches(expect, job, test):
    """Expect item: "entry:test.prefix" or "test.prefix"."""
    entry, _, prefix = expect.rpartition(":")
    return (not entry or entry == entry_of(job)) and test.startswith(prefix)


def new_failures(baseline, now):
    """Tests that passed (or were skipped) at baseline and fail now, plus
    every test of a job that no longer completes; [(job, test, detail)]."""
    out = []
    for key, r in sorted(now.items()):
        if r["result"] in ("fail", "error") and baseline.get(key, {}).get("result") not in (
                "fail", "error"):
            out.append((key[0], key[1], (r.get("detail") or "")[:160]))
    return out


def new_skips(baseline, now):
    """Tests that passed at baseline and skip now; [(job, test, detail)].
    A mutant can hide behind a skip (a test whose precondition the bug
    breaks), so these are reported next to the failures: they are no
    catch, but a mutant that survives with them names where to look."""
    return [(k[0], k[1], (r.get("detail") or "")[:160]) for k, r in sorted(now.items())
            if r["result"] == "skip" and baseline.get(k, {}).get("result") == "pass"]


def verdict_of(m, fails, skips, caught_by, objcaught=False):
    """{verdict, why} of a mutant from its new failures, its pass -> skip
    transitions and the failures of the tests it names. A skip is never a
    catch: a mutant can hide behind one (it breaks a test's precondition,
    the test skips). With no test it names failing, pass -> skip makes it
    "skipped", a failed catch of its own kind (exit 1, reported apart from
    "survived"), even when tests it does not name fail."""
    def names(xs):
        return ", ".join(f"{j}:{t}" for j, t, _ in xs[:3]) + (
            f" and {len(xs) - 3} more" if len(xs) > 3 else "")
    if caught_by and (objcaught or not deadline_only(fails)):
        return {"verdict": "caught"}
    other = ("failed only by the deadline" if deadline_only(fails)
             else "no test it names failed; new failures: " + names(fails) if fails
             else "no test failed")
    if skips:
        return {"verdict": "skipped",
                "why": f"passed at baseline, skipped now: {names(skips)}; {other}"}
    if m.equivalent:
        return {"verdict": "equivalent", "why": m.equivalent}
    return {"verdict": "survived", "why": other}


def object_check(lab, mutant, configs):
    """{config: (rc, output)} of the mutant's Object-check: script on each
    built kernel; {} when it has none."""
    if not mutant.objcheck:
        return {}
    out = {}
    for c in configs:
        p = subprocess.run([PY, str(REPO / mutant.objcheck), str(lab.mbuild / f"kernel-{c}")],
                           capture_output=True, text=True)
        out[c] = (p.returncode, (p.stdout + p.stderr).strip())
    return out


def deadline_only(fails):
    """Only the job deadline fired: a timeout is not a catch."""
    return fails and all(re.search(r"timed? ?out|deadline", t + " " + d, re.I)
                         for _, t, d in fails)


def run_mutants(args, mutants, entries, lab, out, say):
    log = out / "build.log"
    ok, lines = apply_check(lab.tree, mutants)
    if not ok:
        raise LabError(f"not every mutant applies to {lab.tree} (one left applied?): "
                       + next(x for x in lines if not x.startswith("ok ")))
    configs = sorted({entries[b].get("config", "qemu") for m in mutants for b in m.boots})
    say(f"mutation: baseline build ({', '.join(configs)})")
    t0 = time.monotonic()
    if not lab.make(configs, log):
        raise LabError(f"the unmutated series does not build (see {log})")
    boots = sorted({b for m in mutants for b in m.boots}, key=list(entries).index)
    say(f"mutation: baseline boots: {', '.join(boots)}")
    run, base = lab.boot(boots, "mutation-baseline", log)
    if run is None:
        raise LabError(f"the baseline boots produced no results (see {log})")
    rows, broken = [], {}
    for m in mutants:
        for c, (rc, text) in object_check(lab, m, configs).items():
            if rc != 0:
                broken[m.id] = f"object check on the {c} kernel: {text[:200]}"
                say(f"mutation: {m.id}: {broken[m.id]}")
        for e in m.expect:
            hits = [k for k, r in base.items() if matches(e, *k)]
            bad = [k for k in hits if base[k]["result"] not in ("pass", "skip")]
            passed = [k for k in hits if base[k]["result"] == "pass"]
            if not hits or bad or not passed:
                # a catcher that only skips at baseline cannot catch anything
                broken[m.id] = (f"expected catcher '{e}' " + (
                    "has no result at baseline" if not hits
                    else f"fails at baseline: {bad[0][0]} {bad[0][1]}" if bad
                    else f"only skips at baseline: {base[hits[0]].get('detail') or ''}"[:200]))
                say(f"mutation: {m.id}: {broken[m.id]}")
                break
    say(f"mutation: baseline ok for {len(mutants) - len(broken)} of {len(mutants)} mutants "
        f"({len(base)} results, {time.monotonic() - t0:.0f} s)")
    for i, m in enumerate(mutants, 1):
        t1 = time.monotonic()
        say(f"mutation: [{i}/{len(mutants)}] {m.id}: {m.title}")
        row = {"id": m.id, "title": m.title, "class": m.klass, "boots": m.boots,
               "expect": m.expect, "equivalent_under_tcg": m.equivalent,
               "hardware_catcher": m.hw_catcher}
        if m.id in broken:
            row.update(verdict="error", why=f"baseline: {broken[m.id]}", seconds=0)
            rows.append(row)
            continue
        applied = patch(lab.tree, m)
        try:
            if applied.returncode:
                row.update(verdict="error", why=f"does not apply: {applied.stdout.strip()}")
            elif not lab.make(sorted({entries[b].get("config", "qemu") for b in m.boots}), log,
                              rootfs=False):
                row.update(verdict="error", why="does not build (a mutant must build)")
            else:
                objc = object_check(lab, m, sorted({entries[b].get("config", "qemu")
                                                    for b in m.boots}))
                mrun, now = lab.boot(m.boots, f"mutant-{m.id}", log)
                fails = new_failures(base, now) if mrun else []
                skips = new_skips(base, now) if mrun else []
                caught_by = sorted({f"{j}:{t}" for j, t, _ in fails
                                    if any(matches(e, j, t) for e in m.expect)})
                objcaught = [f"object check ({c}): {(text or 'failed').splitlines()[0][:120]}"
                             for c, (rc, text) in objc.items() if rc == 1]
                caught_by += objcaught
                if any(rc not in (0, 1) for rc, _ in objc.values()):
                    row["object_check_error"] = "; ".join(t for _, t in objc.values())[:300]
                row.update(run=str(mrun) if mrun else None, new_failures=[
                    {"job": j, "test": t, "detail": d} for j, t, d in fails], caught_by=caught_by,
                    pass_to_skip=[{"job": j, "test": t, "detail": d} for j, t, d in skips])
                row.update(verdict_of(m, fails, skips, caught_by, bool(objcaught)) if mrun
                           else {"verdict": "error", "why": "no results"})
        finally:
            if applied.returncode == 0:
                undo = patch(lab.tree, m, "-R")
                if undo.returncode:
                    raise LabError(f"cannot revert {m.id}: {undo.stdout.strip()}; "
                                   f"remove {lab.tree} and rerun")
        row["seconds"] = round(time.monotonic() - t1)
        say(f"mutation: [{i}/{len(mutants)}] {m.id}: {row['verdict']} "
            + (f"by {', '.join(row.get('caught_by', [])[:3])}" if row["verdict"] == "caught"
               else row.get("why", "")) + f" ({row['seconds']} s)")
        rows.append(row)
        atomic_write_json(out / "mutation.json", {"baseline": str(run), "mutants": rows})
    if getattr(lab, "mbuild", None):
        forget_mutated_images(lab.mbuild, say)
    return str(run), rows


def forget_mutated_images(mbuild, say):
    """The tree is reverted, but each kernel's Image is still the last
    mutant's, and the Makefile's Image stamp does not follow source files:
    remove the Images so the next make rebuilds them (incrementally)."""
    for image in sorted(Path(mbuild).glob("kernel-*/arch/arm64/boot/Image")):
        image.unlink()
        say(f"mutation: removed {image} (built with a mutant; make rebuilds it)")


VERDICTS = ("caught", "equivalent", "skipped", "survived", "error")


def table(rows, wall):
    lines = ["| mutant | class | boots | verdict | caught by | pass -> skip |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        by = ", ".join(r.get("caught_by", [])[:4]) or r.get("why", "")
        sk = r.get("pass_to_skip") or []
        skip = (f"{len(sk)}: " + ", ".join(f"{s['job']}:{s['test']}" for s in sk[:2])
                + (", ..." if len(sk) > 2 else "")) if sk else "0"
        lines.append(f"| {r['id']} | {r['class']} | {', '.join(r['boots'])} | "
                     f"{r['verdict']} | {by} | {skip} |")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    lines += ["", f"{counts['caught']} caught, {counts['equivalent']} equivalent under TCG "
              f"(each with a hardware catcher), {counts['skipped']} hidden behind a "
              f"pass -> skip, {counts['survived']} survived, "
              f"{counts['error']} errors; wall time {wall / 60:.1f} min"]
    return "\n".join(lines) + "\n", counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--source", default=os.environ.get("KERNEL_SRC"),
                    help="kernel tree with the series applied (default: KERNEL_SRC, else "
                    "BUILD/linux from kernel/prepare.sh); mutated in place, each mutant reverted")
    ap.add_argument("--mutation-build", help="build dir of the mutated kernels "
                    "(default: BUILD/mutation)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--apply-check", metavar="TREE")
    args = ap.parse_args(argv)

    def say(msg):
        print(msg, flush=True)
    try:
        mutants = load_mutants(args.only.split(",") if args.only else None)
        matrix = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
        entries = check_boots(mutants, matrix)
        if args.list:
            for m in mutants:
                say(f"{m.id}: {m.title}\n    class: {m.klass}\n    boots: {', '.join(m.boots)}"
                    f"\n    expect: {', '.join(m.expect) or '-'}"
                    + (f"\n    equivalent under TCG: {m.equivalent}" if m.equivalent else ""))
            return 0
        if args.apply_check:
            ok, lines = apply_check(Path(args.apply_check), mutants)
            print("\n".join(lines))
            return 0 if ok else 1
        t0 = time.monotonic()
        out = new_run_dir(Path(args.results), "mutation")
        say(f"results: {out}")
        lab = Lab(args.build, out, say, args.source, args.mutation_build)
        lab.prepare()
        baseline, rows = run_mutants(args, mutants, entries, lab, out, say)
        md, counts = table(rows, time.monotonic() - t0)
        atomic_write_json(out / "mutation.json", {"baseline": baseline, "mutants": rows,
                                                  "counts": counts,
                                                  "wall_s": round(time.monotonic() - t0)})
        atomic_write(out / "mutation.md", "# Mutation check\n\n" + md)
        print(md, end="")
        return 0 if not (counts["survived"] or counts["skipped"] or counts["error"]) else 1
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
