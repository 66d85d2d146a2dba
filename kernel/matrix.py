#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make kernel-matrix: the series in the configurations that expose it.

    kernel/matrix.py --build BUILD --results RESULTS --ksrc KSRC [--only 16k,64k]

For each configs/matrix/<name>.config (on top of the qemu kernel's
fragments), in order:

  build   `make BUILD=... rootfs-matrix-<name>`: the Makefile's own kernel
          rules (allnoconfig + merge_config.sh + olddefconfig, then
          kernel/check-config.sh: a fragment that did not take stops the
          build), the kselftests (selftests/build.sh) and the initramfs
          (lab/rootfs/build.sh). Skipped when `make -q` says it is up to date.
  boot    `lab/run.py matrix --plan kernel-matrix --config matrix-<name>`
          with the fragment's board and extra kernel arguments, in `assume`
          (blocks, split on demand) and `assume-repaint` (blocks, then the
          repaint): a normal results/<run>/ directory, the same parsers.
          Skipped (the last run reused) when that run is newer than the
          image and the initramfs, unless --force-boot.

A fragment says how it is run in comment lines:
  # matrix-title: TEXT        the row's name in the table
  # matrix-board: BOARD       configs/boards.yaml board (default qemu-virt)
  # matrix-cmdline: ARGS      appended to every boot's kernel command line
  # matrix-tagged: 1          tag-based KASAN: the module-load and
                              memfd_secret kselftests must have passed
  # matrix-build-only: WHY    no boots (the row's boot cells say WHY)
  # matrix-xfail: WHY         its boot cells are expected to fail for a
                              reason outside the series (WHY says which
                              and how it was shown): a failing cell counts
                              as xfail, a passing one fails the run (XPASS:
                              drop the line)
The w1 row is build-only: the touched files of the series built with W=1 in
the patched and the unpatched tree; new warnings fail it.

Builds run one after the other; each config boots while the next builds.
Prints progress, then one table (configuration x mode -> built, booted,
kselftests pass/fail/skip, splats) and writes
RESULTS/<time>-kernel-matrix-<id>/{matrix.json,summary.md}. Exit status 1
when any cell failed.
"""
import argparse
import datetime
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = "/usr/bin/python3"
MODES = ["assume", "assume-repaint"]
DEFAULT_BOARD = "qemu-virt"
STATE = "matrix-state"           # BUILD/matrix-state/<config>.json: the last boot run
# The tag-KASAN check (finding 1): module loading and memfd_secret of small
# sizes in block mode; these kselftests must exist and pass on tagged rows.
TAGGED_TESTS = ("split_module_load_alias", "split_memfd_secret_", "stress_module_ops",
                "stress_memfd_secret")
# results.json entries that are the harness's, not kselftests.
NOT_TESTS = re.compile(r"\.(boot|init_started|suite_complete|poweroff)$|\.kernel\.|\.lava\.")


# --- fragments ---------------------------------------------------------------

def series_id(kernel_dir=REPO / "kernel"):
    """sha256 (12 hex) of kernel/series and its patches as they are now (the
    series may be uncommitted while it is edited: git HEAD does not say)."""
    import hashlib
    h = hashlib.sha256()
    series = kernel_dir / "series"
    h.update(series.read_bytes())
    for name in series.read_text().split():
        p = kernel_dir / "patches" / name
        if not name.startswith("#") and p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def fragment_meta(path):
    """The "# matrix-KEY: VALUE" lines and the options of one fragment."""
    meta = {"name": Path(path).stem, "title": Path(path).stem, "board": DEFAULT_BOARD,
            "cmdline": "", "tagged": False, "build_only": "", "xfail": "", "options": {}}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"#\s*matrix-([a-z-]+):\s*(.*?)\s*$", line)
        if m:
            key, value = m.group(1).replace("-", "_"), m.group(2)
            if key not in meta or key == "options":
                raise ValueError(f"{path}: unknown key matrix-{m.group(1)}")
            meta[key] = value.lower() in ("1", "yes", "true") if key == "tagged" else value
            continue
        m = re.match(r"(CONFIG_\w+)=(.*)$", line) or re.match(r"# (CONFIG_\w+) is not set$", line)
        if m:
            meta["options"][m.group(1)] = m.group(2) if m.lastindex == 2 else "n"
    if meta["name"] == "w1" and not meta["build_only"]:
        meta["build_only"] = "W=1 changes no code"
    return meta


def select(names_all, only):
    """--only "16k,64k" (or empty / "all") -> names in the directory's order."""
    if not only or only.strip() in ("all", ""):
        return list(names_all)
    want = [x.strip() for x in only.split(",") if x.strip()]
    unknown = [x for x in want if x not in names_all]
    if unknown:
        raise ValueError(f"MATRIX: unknown configuration(s) {', '.join(unknown)} "
                         f"(known: {', '.join(names_all)})")
    return [n for n in names_all if n in want]


def dotconfig_has(dotconfig, options):
    """Options of a fragment that the merged .config does not have as asked."""
    have = {}
    for line in Path(dotconfig).read_text().splitlines():
        m = re.match(r"(CONFIG_\w+)=(.*)$", line) or re.match(r"# (CONFIG_\w+) is not set$", line)
        if m:
            have[m.group(1)] = m.group(2) if m.lastindex == 2 else "n"
    return [f"{k}={v} (have {have.get(k, 'n')})" for k, v in options.items()
            if have.get(k, "n") != v]


# --- results of one boot run --------------------------------------------------

def leaf_tests(entries):
    """kselftest results of one job: leaves only (a binary's line is dropped
    when it has subtests), the harness's own checks excluded."""
    names = [e["name"] for e in entries]
    parents = {n.rsplit(".", 1)[0] for n in names if "." in n}
    return [e for e in entries
            if e["name"] not in parents and not NOT_TESTS.search(e["name"])
            and ".selftests_" in e["name"]]


def cell_from_job(job_meta, entries, tagged=False):
    """One table cell from a run's metadata job and its results.json entries."""
    by = {e["name"].split(".", 1)[1] if "." in e["name"] else e["name"]: e for e in entries}
    tests = leaf_tests(entries)
    counts = {k: sum(1 for e in tests if e["result"] == k) for k in ("pass", "fail", "skip")}
    boot = by.get("boot", {})
    splat = by.get("kernel.no_splat")
    cell = {
        "job": job_meta.get("name"), "status": job_meta.get("status"),
        "verdict": job_meta.get("verdict"),
        "booted": boot.get("result") == "pass",
        "kselftests": counts,
        "failed_tests": [e["name"].split(".", 1)[1] for e in tests if e["result"] == "fail"],
        "skipped_tests": {e["name"].rsplit(".", 1)[1]: e.get("detail", "")
                          for e in tests if e["result"] == "skip"},
        "splats": None if splat is None else (0 if splat["result"] == "pass" else 1),
        "splat_detail": "" if splat is None or splat["result"] == "pass" else splat["detail"],
        "linear_map": (job_meta.get("linear_map") or {}).get("map"),
        "repainted": (job_meta.get("linear_map") or {}).get("repainted"),
        "wall_s": job_meta.get("wall_s"),
        "mode_matches": (by.get("kernel.mode_matches_board") or {}).get("result"),
    }
    if tagged:
        seen = [e for e in tests if any(t in e["name"] for t in TAGGED_TESTS)]
        cell["tagged_check"] = {
            "tests": {e["name"].rsplit(".", 1)[1]: e["result"] for e in seen},
            "result": ("fail" if not seen or any(e["result"] == "fail" for e in seen)
                       else "pass")}
    cell["result"] = cell_result(cell)
    return cell


def cell_result(cell):
    """pass / fail / skip of one configuration x mode cell."""
    if cell.get("skip"):
        return "skip"
    if not cell.get("booted"):
        return "fail"
    if cell["kselftests"]["fail"] or cell.get("splats") or cell.get("verdict") == "fail":
        return "fail"
    if cell.get("tagged_check", {}).get("result") == "fail":
        return "fail"
    if not sum(cell["kselftests"].values()):
        return "fail"            # a boot that ran no kselftest proves nothing
    return "pass"


def skip_cell(reason):
    return {"skip": reason, "result": "skip", "booted": None,
            "kselftests": {"pass": 0, "fail": 0, "skip": 0}, "splats": None}


def apply_xfail(cells, why):
    """A row expected to fail (# matrix-xfail: WHY): failing cells become
    xfail; a cell that passes is an XPASS, which fails."""
    if not why:
        return cells
    for c in cells.values():
        if c["result"] == "fail":
            c.update(result="xfail", xfail=why)
        elif c["result"] == "pass":
            c.update(result="fail", xpass=why)
    return cells


def cells_from_run(run_dir, tagged=False, modes=MODES):
    """{mode: cell} of a lab/run.py results directory; a mode without a job
    (the run died before it) is a failed cell."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "metadata.json").read_text())
    try:
        entries = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError):
        entries = []
    cells = {}
    for job in meta.get("jobs", []):
        mode = job.get("mode")
        if mode in modes:
            cells[mode] = cell_from_job(job, [e for e in entries if e.get("job") == job["name"]],
                                        tagged)
    for mode in modes:
        if mode not in cells:
            cells[mode] = {**skip_cell(""), "skip": None, "result": "fail", "booted": False,
                           "error": meta.get("error") or "no job for this mode in the run"}
    return cells


# --- W=1: new warnings in the files the series touches --------------------------

WARN = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)? warning: (?P<msg>.*)$")


def series_files(series_dir=REPO / "kernel"):
    """Paths the series' patches touch (b/ side of every diff)."""
    files = []
    for name in (series_dir / "series").read_text().split():
        if name.startswith("#"):
            continue
        p = series_dir / "patches" / name
        if p.is_file():
            for m in re.finditer(r"^\+\+\+ b/(\S+)", p.read_text(errors="replace"), re.M):
                if m.group(1) not in files:
                    files.append(m.group(1))
    return files


def built_objects(src, dotconfig, candidates):
    """The candidate .c files (relative to src) that kbuild builds in this
    config: named in their directory's Makefile as obj-y or obj-$(CONFIG_X)
    with X set (=y). A file built only under an unset option is not
    compiled (it would not even compile)."""
    have = {k for k, v in (re.match(r"(CONFIG_\w+)=(.*)", x).groups()
                           for x in Path(dotconfig).read_text().splitlines()
                           if re.match(r"CONFIG_\w+=", x)) if v == "y"}
    out = []
    makefiles = {}
    for c in candidates:
        d = os.path.dirname(c)
        if d not in makefiles:
            text = ""
            try:
                text = (Path(src) / d / "Makefile").read_text().replace("\\\n", " ")
            except OSError:
                pass
            objs = set()
            for m in re.finditer(r"^obj-(y|\$\((CONFIG_\w+)\))\s*[+:]?=\s*(.*)$", text, re.M):
                if m.group(1) == "y" or m.group(2) in have:
                    objs.update(m.group(3).split())
            makefiles[d] = objs
        if os.path.basename(c)[:-2] + ".o" in makefiles[d]:
            out.append(c)
    return out


def unbuilt(src, dotconfig, c):
    """Whether the .c file c (relative to src) is, by its directory's
    Makefile, built only under options this config leaves unset
    (<list>-$(CONFIG_X) lines only, obj- or another list such as
    memory-hotplug-, none of them set): mm/memory_hotplug.c without
    MEMORY_HOTPLUG. A file on any <list>-y line counts as built."""
    have = {m.group(1) for m in re.finditer(r"^(CONFIG_\w+)=y$", Path(dotconfig).read_text(),
                                            re.M)}
    try:
        text = (Path(src) / os.path.dirname(c) / "Makefile").read_text().replace("\\\n", " ")
    except OSError:
        return False
    obj = os.path.basename(c)[:-2] + ".o"
    conds = []
    for m in re.finditer(r"^([\w-]+?)-(y|\$\((CONFIG_\w+)\))\s*[+:]?=\s*(.*)$", text, re.M):
        if obj in m.group(4).split():
            if m.group(2) == "y":
                return False
            conds.append(m.group(3))
    return bool(conds) and not any(x in have for x in conds)


def parse_warnings(text, touched, roots=()):
    """[(file, message)] of the warnings in touched files; the line number is
    dropped (patches move lines), paths made relative to the trees."""
    out = []
    for line in text.splitlines():
        m = WARN.match(line.strip())
        if not m:
            continue
        f = m.group("file")
        for r in roots:
            if f.startswith(str(r).rstrip("/") + "/"):
                f = f[len(str(r).rstrip("/")) + 1:]
        f = os.path.normpath(f)
        if f in touched:
            out.append((f, re.sub(r"\s+", " ", m.group("msg")).strip()))
    return out


def new_warnings(base, patched):
    """Warnings of patched that base has not (as multisets)."""
    left = list(base)
    new = []
    for w in patched:
        if w in left:
            left.remove(w)
        else:
            new.append(w)
    return new


# --- the table -------------------------------------------------------------------

def fmt_cell(cell):
    if cell.get("xfail"):
        return f"XFAIL ({cell['xfail']}): " + fmt_cell({**cell, "xfail": None, "result": "fail"})[6:]
    if cell.get("xpass"):
        return f"FAIL: XPASS, expected to fail ({cell['xpass']}): " + fmt_cell(
            {**cell, "xpass": None, "result": "pass"})
    if cell.get("skip"):
        return f"skip: {cell['skip']}"
    if cell.get("booted") is False:
        return "FAIL: " + (cell.get("error") or f"not booted ({cell.get('status')})")
    k = cell["kselftests"]
    s = f"booted, kselftests {k['pass']}/{k['fail']}/{k['skip']}"
    s += ", no splat" if not cell.get("splats") else f", SPLAT: {cell.get('splat_detail', '')[:60]}"
    if cell.get("tagged_check"):
        s += f", module+memfd_secret {cell['tagged_check']['result']}"
    if cell.get("linear_map"):
        s += f", map={cell['linear_map']}"
    return ("" if cell["result"] == "pass" else "FAIL: ") + s


def table(rows, modes=MODES):
    """Markdown table: one line per configuration."""
    out = ["| configuration | built | " + " | ".join(modes) + " |",
           "|---|---|" + "---|" * len(modes)]
    for r in rows:
        b = r["build"]
        built = {"ok": "yes", "up-to-date": "yes (up to date)", "fail": "**FAIL**",
                 "not-run": "not run"}.get(b["result"], b["result"])
        if b.get("seconds") and b["result"] == "ok":
            built += f" ({b['seconds']:.0f} s)"
        if b.get("detail"):
            built += f": {b['detail']}"
        out.append(f"| {r['title']} | {built} | "
                   + " | ".join(fmt_cell(r["cells"][m]).replace("|", "/") for m in modes) + " |")
    return "\n".join(out)


def totals(rows, modes=MODES):
    t = {"pass": 0, "fail": 0, "skip": 0, "xfail": 0}
    for r in rows:
        if r["build"]["result"] == "fail":
            t["fail"] += 1
        for m in modes:
            t[r["cells"][m]["result"]] += 1
    return t


# --- driving -------------------------------------------------------------------

def log(msg):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] matrix: {msg}", flush=True)


class Driver:
    def __init__(self, args):
        self.a = args
        self.build = Path(args.build)
        self.state = self.build / STATE
        self.state.mkdir(parents=True, exist_ok=True)
        self.make = ["make", "-C", str(REPO), f"BUILD={self.build}"]
        # Run from `make kernel-matrix`: the parent's jobserver is not ours.
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
            os.environ.pop(k, None)
        if args.jobs:
            self.make.append(f"JOBS={args.jobs}")
        if args.ksrc and not str(args.ksrc).startswith(str(self.build)):
            self.make.append(f"KERNEL_SRC={args.ksrc}")

    def image(self, name):
        return self.build / f"kernel-matrix-{name}/arch/arm64/boot/Image"

    def rootfs(self, name):
        return self.build / f"rootfs-matrix-{name}.cpio.gz"

    def do_build(self, meta):
        name = meta["name"]
        target = str(self.rootfs(name))
        logf = self.build / f"matrix-build-{name}.log"
        if meta["name"] == "w1":
            if self.a.no_build:
                return {"result": "not-run", "detail": "not built in this run (--no-build)"}
            return self.do_w1(meta)
        up = subprocess.run(self.make + ["-q", target], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        t0 = time.monotonic()
        if up:
            res = {"result": "up-to-date", "seconds": 0.0}
        elif self.a.no_build:
            log(f"{name}: not up to date, not built (--no-build)")
            return {"result": "not-run", "detail": "not built in this run (--no-build)"}
        else:
            log(f"{name}: building (kernel, kselftests, initramfs; log {logf})")
            with open(logf, "w") as f:
                rc = subprocess.run(self.make + [target], stdout=f, stderr=subprocess.STDOUT).returncode
            res = {"result": "ok" if rc == 0 else "fail", "seconds": time.monotonic() - t0}
            if rc:
                tail = logf.read_text(errors="replace").splitlines()[-15:]
                res["detail"] = next((x for x in reversed(tail) if "config:" in x or "rror" in x),
                                     tail[-1] if tail else "")[:160]
        res["series"] = series_id()
        dotconfig = self.build / f"kernel-matrix-{name}/.config"
        if dotconfig.is_file():
            missing = dotconfig_has(dotconfig, meta["options"])
            res["fragment_took"] = not missing
            if missing and res["result"] != "fail":
                res.update(result="fail", detail="fragment did not take: " + ", ".join(missing))
        log(f"{name}: build {res['result']} ({res['seconds']:.0f} s)")
        return res

    def do_w1(self, meta):
        """The touched .c files of the series and arch/arm64/mm/*, W=1, in the
        patched tree and in the unpatched base; new warnings fail the row."""
        t0 = time.monotonic()
        kmake = os.environ.get("KMAKE_ARGS", 'ARCH=arm64 CROSS_COMPILE="ccache aarch64-linux-gnu-"')
        touched = series_files()
        pat_out = self.build / "kernel-matrix-w1"
        base_out = self.build / "kernel-w1-base"
        ksrc = Path(self.a.ksrc)
        base_src = self.build / "src/linux-source-6.12"
        log("w1: configuring the patched and the base tree")
        logf = self.build / "matrix-build-w1.log"
        with open(logf, "w") as f:
            rc = subprocess.run(self.make + [f"{pat_out}/.config"], stdout=f,
                                stderr=subprocess.STDOUT).returncode
            if rc:
                return {"result": "fail", "seconds": time.monotonic() - t0,
                        "detail": "configuring failed (see " + str(logf) + ")"}
            base_out.mkdir(parents=True, exist_ok=True)
            (base_out / ".config").write_text((pat_out / ".config").read_text())
            objs_src = sorted({f for f in touched if f.endswith(".c")}
                              | {str(p.relative_to(ksrc)) for p in (ksrc / "arch/arm64/mm").glob("*.c")})
            results = {}
            for label, src, out in (("base", base_src, base_out), ("patched", ksrc, pat_out)):
                # The series' own .c files are built (it builds them); the
                # rest of arch/arm64/mm only where this config builds them.
                # A touched file this config does not build (mm/memory_hotplug.c
                # without MEMORY_HOTPLUG) would not even compile: left out.
                objs = [o[:-2] + ".o" for o in objs_src if (src / o).is_file()
                        and ((o in touched and not unbuilt(src, out / ".config", o))
                             or o in built_objects(src, out / ".config", [o]))]
                cmd = (f"make -C {src} O={out} {kmake} olddefconfig >/dev/null && "
                       f"make -C {src} O={out} {kmake} prepare >/dev/null && "
                       f"make -k -C {src} O={out} {kmake} W=1 -j{self.a.jobs or os.cpu_count() + 1} "
                       + " ".join(objs))
                # Rebuild the objects every time: their warnings are the output.
                for o in objs:
                    (out / o).unlink(missing_ok=True)
                log(f"w1: {label}: {len(objs)} objects with W=1")
                p = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                f.write(f"=== {label} (rc {p.returncode})\n{p.stdout}\n")
                results[label] = (p.returncode, parse_warnings(p.stdout, set(touched),
                                                                (src, out)), len(objs))
        rc_b, base, _ = results["base"]
        rc_p, patched, n = results["patched"]
        new = new_warnings(base, patched)
        res = {"result": "ok" if rc_p == 0 and not new else "fail",
               "seconds": time.monotonic() - t0, "objects": n,
               "warnings_base": len(base), "warnings_patched": len(patched),
               "new_warnings": [f"{f}: {m}" for f, m in new]}
        if rc_p:
            res["detail"] = f"W=1 build of the patched objects failed (rc {rc_p}, {logf})"
        else:
            res["detail"] = (f"{n} objects, {len(new)} new W=1 warning(s) in touched files"
                             + (": " + "; ".join(res["new_warnings"][:3]) if new else "")
                             + f" (base {len(base)}, patched {len(patched)})")
        log(f"w1: {res['detail']}")
        return res

    def last_run(self, name):
        """The last boot run of a config, if newer than its image and rootfs."""
        f = self.state / f"matrix-{name}.json"
        if self.a.force_boot or not f.is_file():
            return None
        st = json.loads(f.read_text())
        run = Path(st.get("run", ""))
        try:
            newest = max(self.image(name).stat().st_mtime, self.rootfs(name).stat().st_mtime)
        except OSError:
            return None
        if not (run / "metadata.json").is_file() or st.get("time", 0) < newest:
            return None
        if st.get("board") != st.get("want_board") or st.get("cmdline") != st.get("want_cmdline"):
            return None
        return run

    def do_boot(self, meta):
        name = meta["name"]
        if meta["build_only"]:
            return {m: skip_cell(meta["build_only"]) for m in MODES}, None
        run = self.last_run(name)
        if run:
            log(f"{name}: boots up to date, reusing {run}")
            return cells_from_run(run, meta["tagged"]), run
        log(f"{name}: booting {', '.join(MODES)} on {meta['board']}")
        cmd = [PY, str(REPO / "lab/run.py"), "matrix", "--plan", "kernel-matrix",
               "--config", f"matrix-{name}", "--board", meta["board"],
               "--results", str(self.a.results), "--tag", f"matrix-{name}",
               "--kernel", str(self.image(name)), "--initrd", str(self.rootfs(name)),
               "--device-types", str(self.build / "lava-server/usr/share/lava-server/device-types")]
        if meta["cmdline"]:
            cmd += ["--cmdline", meta["cmdline"]]
        logf = self.build / f"matrix-boot-{name}.log"
        t0 = time.time()
        with open(logf, "w") as f:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            run = None
            for line in p.stdout:
                f.write(line)
                m = re.match(r"results: (\S+)", line.strip())
                if m:
                    run = Path(m.group(1))
                if re.match(r"\[\d+/\d+\] |\S+: \d+ passed, ", line.strip()):
                    log(f"{name}: {line.strip()[:120]}")
            p.wait()
        if run is None:
            run = self.find_run(name, t0)
        if run is None or not (run / "metadata.json").is_file():
            err = f"lab/run.py wrote no run (rc {p.returncode}, {logf})"
            return {m: {**skip_cell(""), "skip": None, "result": "fail", "booted": False,
                        "error": err} for m in MODES}, None
        (self.state / f"matrix-{name}.json").write_text(json.dumps(
            {"run": str(run), "time": time.time(), "board": meta["board"],
             "want_board": meta["board"], "cmdline": meta["cmdline"],
             "want_cmdline": meta["cmdline"]}))
        cells = cells_from_run(run, meta["tagged"])
        for m in MODES:
            log(f"{name} x {m}: {fmt_cell(cells[m])}")
        return cells, run

    def find_run(self, name, since):
        runs = sorted(Path(self.a.results).glob(f"*-matrix-{name}-*"))
        runs = [r for r in runs if r.stat().st_mtime >= since - 1]
        return runs[-1] if runs else None


def run_matrix(args):
    frag_dir = REPO / "configs/matrix"
    all_names = sorted(p.stem for p in frag_dir.glob("*.config"))
    names = select(all_names, args.only)
    metas = [fragment_meta(frag_dir / f"{n}.config") for n in names]
    d = Driver(args)
    started = time.time()
    log(f"{len(metas)} configuration(s): {', '.join(names)}")
    rows = {}
    booted = queue.Queue()

    def booter():
        while True:
            item = booted.get()
            if item is None:
                return
            meta, build = item
            if build["result"] in ("fail", "not-run"):
                cells, run = {m: skip_cell("not built") for m in MODES}, None
            elif args.no_boot:
                cells, run = {m: skip_cell("--no-boot") for m in MODES}, None
            else:
                try:
                    cells, run = d.do_boot(meta)
                except Exception as e:   # one config's trouble is its row's
                    cells, run = {m: {**skip_cell(""), "skip": None, "result": "fail",
                                      "booted": False, "error": f"{type(e).__name__}: {e}"}
                                  for m in MODES}, None
            rows[meta["name"]]["cells"] = apply_xfail(cells, meta["xfail"])
            rows[meta["name"]]["run"] = str(run) if run else None

    t = threading.Thread(target=booter)
    t.start()
    for i, meta in enumerate(metas, 1):
        log(f"[{i}/{len(metas)}] {meta['name']}: {meta['title']}")
        try:
            build = d.do_build(meta)
        except Exception as e:
            build = {"result": "fail", "detail": f"{type(e).__name__}: {e}"}
        rows[meta["name"]] = {"name": meta["name"], "title": meta["title"],
                              "board": meta["board"], "cmdline": meta["cmdline"],
                              "build": build, "cells": None}
        booted.put((meta, build))
    booted.put(None)
    t.join()
    ordered = [rows[m["name"]] for m in metas]
    wall = time.time() - started
    return ordered, wall


def write_results(rows, wall, results_root, argv):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(results_root) / f"{stamp}-kernel-matrix-{secrets.token_hex(3)}"
    out.mkdir(parents=True)
    t = totals(rows)
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    doc = {"kind": "kernel-matrix", "started_utc": stamp, "wall_s": round(wall, 1),
           "git": git, "modes": MODES, "argv": argv, "totals": t, "rows": rows}
    (out / "matrix.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = (f"# kernel-matrix {out.name}\n\nwall time {wall / 60:.1f} min, git {git[:12]}\n\n"
          + table(rows) + "\n\ncells: kselftests pass/fail/skip\n\n"
          + f"{t['pass']} passed, {t['fail']} failed, {t['skip']} skipped, "
          f"{t['xfail']} expected failures\n")
    (out / "summary.md").write_text(md)
    return out, md, t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="build directory (the Makefile's BUILD)")
    p.add_argument("--results", default=str(REPO / "results"))
    p.add_argument("--ksrc", help="kernel source tree (the Makefile's KSRC)")
    p.add_argument("--only", default="", help="comma list of configs/matrix names (default all)")
    p.add_argument("--force-boot", action="store_true", help="boot even if the last run is current")
    p.add_argument("--no-boot", action="store_true", help="build only")
    p.add_argument("--no-build", action="store_true",
                   help="build nothing: a config that is not up to date is reported not built")
    p.add_argument("--jobs", type=int, help="make -j of each kernel build (the Makefile's JOBS)")
    args = p.parse_args(argv)
    args.ksrc = args.ksrc or str(Path(args.build) / "linux")
    try:
        rows, wall = run_matrix(args)
    except ValueError as e:
        print(f"matrix: {e}", file=sys.stderr)
        return 2
    out, md, t = write_results(rows, wall, args.results, sys.argv)
    print()
    print(md)
    print(f"results: {out}")
    return 1 if t["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
