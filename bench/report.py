#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Render bbml2-lab benchmark results: JSON from guest console logs -> report.

    bench/report.py --out results/reports/<name> results/<run> [results/<run>...]

Inputs are run directories written by lab/run.py (every jobs/<job>/console.log
is read), single job directories, or console.log files (e.g. from a board).
Each benchmark prints one JSON object between

    bbml2-bench: json begin <bench>
    bbml2-bench: json end <bench>

(bench/common.c). Objects are grouped by mode (the job's mode from its
metadata.json, else derived from arm64.bbml2= on the kernel command line) and
compared with a baseline mode (default: the first PTE-mapped mode among off,
none, ...).

Writes into --out:
  report.json  every sample as one record, per-boot snapshots (linmap-cost),
               per-mode statistics, comparisons, input problems
  report.md    the human report
  report.svg   medians with bootstrap 95 % CIs, normalised to the baseline

Statistics (standard library only): median, mean, sample stddev, CoV, min,
max, percentile-bootstrap 95 % CI of the median (fixed seed), Mann-Whitney U
(two-sided; exact without ties for small samples, else normal approximation
with tie and continuity correction) for the significance mark, Welch's t as
a second opinion, Holm-Bonferroni over all comparisons of the report.

Exit status: 0 report written, no input problem; 1 report written, but some
input could not be used (listed in the report and on stderr); 2 nothing
usable or bad arguments.
"""
import argparse
import datetime
import json
import math
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = "bbml2-bench-report/2"
INPUT_SCHEMA = "bbml2-bench/"
BEGIN = re.compile(r"^bbml2-bench: json begin (?P<bench>\S+)\s*$")
END = re.compile(r"^bbml2-bench: json end (?P<bench>\S+)\s*$")
# Same console rules as lab/bbml2lab/console.py: printk lines, and kernel
# messages spliced into the middle of a user line.
TIMESTAMP = re.compile(r"\[\s*\d+\.\d{6}\] ")
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d{6}\](?: |$)")

EVENTS = ["dtlb_walk", "l1d_tlb_refill", "l2d_tlb_refill", "itlb_walk",
          "inst_retired", "cpu_cycles"]
EVENT_NOTE = {
    "dtlb_walk": "primary: data accesses that needed a walk",
    "l1d_tlb_refill": "L1 dTLB misses",
    "l2d_tlb_refill": "L2 TLB misses",
    "itlb_walk": "control (kernel text is not in the linear map)",
    "inst_retired": "kernel instructions",
    "cpu_cycles": "kernel cycles (under TCG: virtual 1 GHz clock = guest ns)",
}
MODE_ORDER = ["none", "off", "assume", "assume-repaint", "repaint"]
EMULATED_LABEL = "QEMU TCG — emulated, no TLB events; times are not hardware numbers"


class InputError(Exception):
    """A problem with one input, reported without stopping the others."""


# statistics: bench/benchstats.py (re-exported here)
import benchstats  # noqa: E402

# What a boot must show: the lab's one rule (lab/bbml2lab/cpus.py).
sys.path.insert(0, os.path.join(REPO, "lab"))
from bbml2lab import LabError, cpus  # noqa: E402
from benchstats import (  # noqa: E402,F401
    BOOTSTRAP, SEED, _mwu_exact_cdf, betainc, bootstrap_median_ci, cov_pct, describe, holm,
    mann_whitney_u, mean, median, stddev, t_two_sided_p, welch_t)

# --------------------------------------------------------------------------
# console -> JSON objects

def user_lines(text):
    """Console text -> [(line number, user line)], kernel lines dropped and
    user lines with a kernel message spliced in repaired."""
    out, pending, pending_no = [], "", None
    for no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if KERNEL_LINE.match(line):
            continue
        m = TIMESTAMP.search(line)
        if m:
            if pending_no is None:
                pending_no = no
            pending += line[:m.start()]
            continue
        if pending and not line.strip():
            continue
        out.append((pending_no or no, pending + line))
        pending, pending_no = "", None
    if pending:
        out.append((pending_no, pending))
    return out


def extract(text, where="console"):
    """Benchmark JSON objects in a console log: ([(bench, obj, line)], errors).

    Each error is a string naming where and what; a bad object never hides
    the others."""
    objs, errors = [], []
    cur, buf, start = None, [], 0
    for no, line in user_lines(text):
        m = BEGIN.match(line)
        if m:
            if cur is not None:
                errors.append(f"{where}:{start}: JSON of {cur} has no end marker "
                              f"(another begins at line {no}); dropped")
            cur, buf, start = m["bench"], [], no
            continue
        m = END.match(line)
        if m:
            if cur is None:
                errors.append(f"{where}:{no}: end marker for {m['bench']} without a begin; ignored")
                continue
            if m["bench"] != cur:
                errors.append(f"{where}:{no}: end marker for {m['bench']} inside the JSON of {cur}; dropped")
                cur = None
                continue
            raw = "".join(buf)
            try:
                obj = json.loads(raw)
            except ValueError as e:
                errors.append(f"{where}:{start}: invalid JSON for {cur}: {e}")
            else:
                try:
                    validate(obj, cur)
                except InputError as e:
                    errors.append(f"{where}:{start}: {cur}: {e}")
                else:
                    objs.append((cur, obj, start))
            cur = None
            continue
        if cur is not None:
            buf.append(line)
    if cur is not None:
        errors.append(f"{where}:{start}: JSON of {cur} is not terminated "
                      "(console cut: crash, timeout or lost output); dropped")
    return objs, errors


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(obj, bench):
    """Raise InputError unless obj is a usable benchmark object."""
    if not isinstance(obj, dict):
        raise InputError("JSON is not an object")
    schema = obj.get("schema")
    if not isinstance(schema, str) or not schema.startswith(INPUT_SCHEMA):
        raise InputError(f"unknown schema {schema!r} (want {INPUT_SCHEMA}*)")
    if obj.get("bench") != bench:
        raise InputError(f"bench field {obj.get('bench')!r} differs from the marker")
    for key, kind in (("status", str), ("platform", dict), ("mode", dict),
                      ("metrics", list)):
        if not isinstance(obj.get(key), kind):
            raise InputError(f"missing or malformed '{key}'")
    if obj["status"] != "ok":
        return
    for m in obj["metrics"]:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            raise InputError("metric without a name")
        if not _num(m.get("ops")) or m["ops"] <= 0:
            raise InputError(f"metric {m['name']}: bad 'ops'")
        if not isinstance(m.get("samples"), list) or not m["samples"]:
            raise InputError(f"metric {m['name']}: no samples")
        for s in m["samples"]:
            if not isinstance(s, dict) or not _num(s.get("ns_per_op")) or s["ns_per_op"] <= 0:
                raise InputError(f"metric {m['name']}: sample without a positive ns_per_op")


# --------------------------------------------------------------------------
# inputs -> dataset

def mode_from_bbml2(value):
    """Mode name for an arm64.bbml2= value (None: not on the command line)."""
    if value is None or value == "":
        return "none"
    opts = {o for o in str(value).split(",") if o}
    if "off" in opts:
        return "off"
    if opts == {"assume"}:
        return "assume"
    if opts == {"assume", "repaint"}:
        return "assume-repaint"
    if opts == {"repaint"}:
        return "repaint"
    return f"bbml2={value}"


def run_mode(spec_mode, bbml2):
    """A boot's mode name. Runs from before the rename (configs/matrix.yaml,
    2026-12) called assume,repaint "repaint": the kernel's own option string
    tells the two apart."""
    if spec_mode == "repaint" and mode_from_bbml2(bbml2) == "assume-repaint":
        return "assume-repaint"
    return spec_mode or mode_from_bbml2(bbml2)


def expected_map(mode, bbml2=None):
    """(linear_map, repainted) the series must report for a mode, or None
    when the board's CPUs decide and are not known, or the mode is unknown.
    The rule is lab/bbml2lab/cpus.py's expected_map (one for lab, bench
    and reports); old runs' "repaint" (before the rename) is
    assume-repaint, see run_mode()."""
    try:
        return cpus.SHAPE[cpus.expected_map(bbml2, mode)]
    except LabError:
        return None


def _load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def discover(inputs):
    """Inputs -> ([job dict], errors). A job dict has run, job, console path,
    metadata (or None) and the run's metadata (or None)."""
    jobs, errors = [], []
    for inp in inputs:
        path = os.path.abspath(inp)
        if os.path.isfile(path):
            d = os.path.dirname(path)
            jobs.append({"run": os.path.basename(os.path.dirname(os.path.dirname(d))) or d,
                         "job": os.path.basename(d), "console": path,
                         "metadata": _load_json(os.path.join(d, "metadata.json")),
                         "run_metadata": _load_json(os.path.join(d, "..", "..", "metadata.json"))})
        elif os.path.isdir(os.path.join(path, "jobs")):
            run_meta = _load_json(os.path.join(path, "metadata.json"))
            names = sorted(os.listdir(os.path.join(path, "jobs")))
            if not names:
                errors.append(f"{inp}: no jobs in this run")
            for name in names:
                jd = os.path.join(path, "jobs", name)
                if not os.path.isdir(jd):
                    continue
                jobs.append({"run": os.path.basename(path), "job": name,
                             "console": os.path.join(jd, "console.log"),
                             "metadata": _load_json(os.path.join(jd, "metadata.json")),
                             "run_metadata": run_meta})
        elif os.path.isfile(os.path.join(path, "console.log")):
            jobs.append({"run": os.path.basename(os.path.dirname(os.path.dirname(path))),
                         "job": os.path.basename(path),
                         "console": os.path.join(path, "console.log"),
                         "metadata": _load_json(os.path.join(path, "metadata.json")),
                         "run_metadata": _load_json(os.path.join(path, "..", "..", "metadata.json"))})
        else:
            errors.append(f"{inp}: not a run directory (no jobs/), job directory "
                          "(no console.log) or console file")
    return jobs, errors


def collect(inputs):
    """Read every input. Returns a dataset dict: boots, records (one per
    sample), snapshots (linmap-cost), objects (per-boot benchmark headers),
    errors, warnings."""
    jobs, errors = discover(inputs)
    ds = {"boots": [], "records": [], "snapshots": [], "objects": [],
          "errors": errors, "warnings": []}
    for job in jobs:
        where = os.path.relpath(job["console"])
        try:
            with open(job["console"], encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            ds["errors"].append(f"{where}: cannot read: {e.strerror}")
            continue
        objs, errs = extract(text, where)
        ds["errors"].extend(errs)
        if not objs:
            if not errs:
                ds["warnings"].append(f"{where}: no benchmark JSON in this console "
                                      "(not a bench suite run?)")
            continue
        meta = job["metadata"] or {}
        spec = meta.get("spec") or {}
        boot = f"{job['run']}/{job['job']}"
        seen = {}
        for bench, obj, line in objs:
            mode = run_mode(spec.get("mode"), obj["mode"].get("bbml2"))
            lm = obj["mode"].get("linear_map") or {}
            exp = expected_map(mode, (job["metadata"] or {}).get("board", {}).get("bbml2"))
            if obj["status"] != "ok":
                ds["warnings"].append(f"{where}:{line}: {bench} reported status "
                                      f"{obj['status']}: {obj.get('reason')}")
            if not lm:
                ds["warnings"].append(f"{where}:{line}: {bench}: no linear_map mode proof "
                                      f"({obj['mode'].get('linear_map_error')})")
            elif exp and (lm.get("linear_map"), lm.get("repainted")) != exp:
                ds["warnings"].append(
                    f"{where}:{line}: {bench}: mode {mode} expects linear_map={exp[0]} "
                    f"repainted={exp[1]}, the kernel says linear_map={lm.get('linear_map')} "
                    f"repainted={lm.get('repainted')}")
            occurrence = seen.get(bench, 0)
            seen[bench] = occurrence + 1
            boot_id = boot if not occurrence else f"{boot}#{occurrence + 1}"
            header = {"run": job["run"], "job": job["job"], "boot": boot_id,
                      "mode": mode, "bench": bench, "status": obj["status"],
                      "reason": obj.get("reason"), "params": obj.get("params", {}),
                      "platform": obj["platform"], "mode_proof": obj["mode"],
                      "pmu": obj.get("pmu") or {}, "snapshot": obj.get("snapshot") or {},
                      "kernel": meta.get("kernel"), "git": meta.get("git"),
                      "tools": (job["run_metadata"] or {}).get("tools") or meta.get("tools"),
                      "console": where, "line": line}
            ds["objects"].append(header)
            if obj["status"] != "ok":
                continue
            if header["snapshot"]:
                ds["snapshots"].append({k: header[k] for k in
                                        ("run", "job", "boot", "mode", "bench")}
                                       | {"linear_map": lm, "values": header["snapshot"]})
            avail = {ev: bool(((header["pmu"].get("events") or {}).get(ev) or {}).get("available"))
                     for ev in EVENTS}
            for m in obj["metrics"]:
                for i, s in enumerate(m["samples"]):
                    counters = s.get("counters") or {}
                    per_op = {}
                    for ev in EVENTS:
                        v = counters.get(ev)
                        per_op[ev] = v / m["ops"] if avail[ev] and _num(v) else None
                    ds["records"].append({
                        "run": job["run"], "job": job["job"], "boot": boot_id,
                        "mode": mode, "bench": bench, "metric": m["name"],
                        "op": m.get("op"), "sample": i, "ops": m["ops"],
                        "ns": s.get("ns"), "ns_per_op": s["ns_per_op"],
                        "counters": {ev: counters.get(ev) if avail[ev] else None for ev in EVENTS},
                        "per_op": per_op, "pmu_running": s.get("pmu_running"),
                        "linear_map": lm.get("linear_map"),
                        "emulated": bool(obj["platform"].get("emulated"))})
        ds["boots"].append({"boot": boot, "run": job["run"], "job": job["job"],
                            "mode": spec.get("mode") or (ds["objects"][-1]["mode"]),
                            "benches": sorted(seen), "started": meta.get("started"),
                            "run_started": (job["run_metadata"] or {}).get("started"),
                            "git": meta.get("git"), "kernel": meta.get("kernel"),
                            "spec": spec,
                            "order_record": (job["run_metadata"] or {}).get("bench")})
    # Under TCG cpu_cycles runs from the virtual clock at 1 GHz, so a sample
    # can never count more kernel cycles than it lasted in ns; QEMU's counter
    # sometimes jumps anyway.
    emu = [r for r in ds["records"] if r["emulated"] and _num(r["counters"]["cpu_cycles"])
           and _num(r["ns"])]
    bad = [r for r in emu if r["counters"]["cpu_cycles"] > 1.05 * r["ns"]]
    ds["implausible_cycles"] = len(bad)
    if bad:
        ds["warnings"].append(
            f"{len(bad)} of {len(emu)} emulated samples count more kernel cpu_cycles than "
            "elapsed ns, impossible for QEMU's 1 GHz virtual cycle counter (it jumps now "
            "and then); cycle medians are robust to this, their CoV is not")
    return ds


# --------------------------------------------------------------------------
# analysis

def mode_sort_key(mode):
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER), mode)


def choose_baseline(ds, modes, wanted=None):
    """The baseline mode: as asked, else the first mode (off, none, ...)
    whose mode proof says a PTE map that was not repainted."""
    if wanted:
        if wanted not in modes:
            raise InputError(f"baseline mode {wanted!r} has no data (modes: {', '.join(modes)})")
        return wanted
    for mode in ["off", "none"] + [m for m in modes if m not in ("off", "none")]:
        if mode not in modes:
            continue
        maps = {(o["mode_proof"].get("linear_map") or {}).get("linear_map") for o in ds["objects"]
                if o["mode"] == mode}
        reps = {(o["mode_proof"].get("linear_map") or {}).get("repainted") for o in ds["objects"]
                if o["mode"] == mode}
        if maps == {"pte"} and reps <= {0, None}:
            return mode
    return modes[0]


# Metrics that are controls by design (the same syscall on one hot object,
# or the guest's memset speed): reported with deltas, never marked.
CONTROL_METRICS = {("pcache-rand-pread", "single_page"), ("dentry-scatter-stat", "same"),
                   ("unix-scatter", "same"), ("linmap-cost", "write_tables")}


def ordered_boots(ds):
    """Boot ids in the order they ran: by run start, then job start (from
    the runner's metadata), then name."""
    return [b["boot"] for b in sorted(ds["boots"], key=lambda b: (
        b.get("run_started") or "", b.get("started") or "", b["boot"]))]


def layouts(ds, modes):
    """Per mode: its page-table layout (benchstats.layout_of), from the
    median ptdump bytes per level, else the kernel's final map word."""
    out = {}
    for mode in modes:
        pts = [s["values"]["ptdump"] for s in ds["snapshots"] if s["mode"] == mode
               and isinstance(s["values"].get("ptdump"), dict) and s["values"]["ptdump"].get("ok")]
        words = {(o["mode_proof"].get("linear_map") or {}).get("linear_map")
                 for o in ds["objects"] if o["mode"] == mode} - {None}
        by = ({k: median([p["bytes"].get(k, 0) for p in pts]) for k in benchstats.LEVELS}
              if pts else None)
        out[mode] = benchstats.layout_of(by, words.pop() if len(words) == 1 else None)
    return out


def _verdict(c, alpha):
    """The words for one comparison (c has kind, p_mwu, ci_excludes_zero...)."""
    differs = c["p_mwu"] is not None and c["p_mwu"] < alpha and c["ci_excludes_zero"]
    if c["kind"] != "test":
        what = {"aa": "A/A control", "identical": "identical page tables",
                "control": "control metric"}[c["kind"]]
        weak = (f" (but {c['baseline_boots']}+{c['boots']} boots cannot reach p < {alpha:g})"
                if c["min_p"] > alpha else "")
        return f"{what}: " + ("DIFFERS (noise or setup: distrust this report)"
                              if differs and c["kind"] != "control" else
                              "differs" if differs else "no difference" + weak)
    if c["min_p"] > alpha:
        return f"untestable: {c['baseline_boots']}+{c['boots']} boots allow p >= {c['min_p']:.2f}"
    if differs:
        return "faster" if c["delta_pct"] > 0 else "slower"
    return "no difference shown"


def _git(repo, *args):
    try:
        p = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return p


def provenance(ds, repo=REPO):
    """Flags on the inputs: boots from a dirty tree, from a revision whose
    kernel/ differs from the checkout's HEAD (an older or other series), of
    an unknown revision, or several kernel Images in one report."""
    flags, revs, images = [], {}, {}
    for b in ds["boots"]:
        g = b.get("git") or {}
        revs.setdefault(g.get("revision"), []).append(b)
        img = (b.get("kernel") or {}).get("image_sha256")
        if img:
            images.setdefault(img, []).append(b["boot"])
    dirty = [b["boot"] for b in ds["boots"] if (b.get("git") or {}).get("dirty")]
    if dirty:
        flags.append(f"{len(dirty)} of {len(ds['boots'])} boots ran from a dirty tree "
                     "(uncommitted changes: the revision does not name what ran)")
    head = _git(repo, "rev-parse", "HEAD")
    head = head.stdout.strip() if head is not None and head.returncode == 0 else None
    for rev, boots in revs.items():
        if rev is None:
            flags.append(f"{len(boots)} boots have no git revision recorded")
            continue
        if head is None or rev == head:
            continue
        d = _git(repo, "diff", "--quiet", rev, head, "--", "kernel/")
        if d is None or d.returncode not in (0, 1):
            flags.append(f"{len(boots)} boots ran revision {rev[:12]}, unknown to this "
                         "checkout: kernel series not comparable")
        elif d.returncode == 1:
            flags.append(f"{len(boots)} boots ran revision {rev[:12]}, whose kernel/ differs "
                         f"from HEAD {head[:12]}: an older (or other) kernel series")
    if len(images) > 1:
        flags.append(f"{len(images)} different kernel Images in this report: "
                     + "; ".join(f"{k[:12]}… ({len(v)} boots)" for k, v in images.items()))
    return {"flags": flags, "head": head, "revisions": sorted(r for r in revs if r),
            "images": sorted(images)}


def order_note(ds):
    """How the boots were ordered: randomised with a recorded seed
    (bench/sweep.py), or as planned."""
    recs = {json.dumps(b.get("order_record"), sort_keys=True) for b in ds["boots"]}
    seeds = sorted({(b.get("order_record") or {}).get("seed") for b in ds["boots"]} - {None})
    if seeds and "null" not in recs:
        return f"randomised (bench/sweep.py, seed {', '.join(map(str, seeds))})", True
    return "as planned, not randomised (host drift may line up with a mode)", False


def analyse(ds, baseline=None, alpha=0.05):
    """Per-mode statistics and baseline comparisons (a JSON-able dict), with
    the boot as the unit: a mode's value is the median of its boot medians,
    its CI a bootstrap over boots; comparisons use boot medians."""
    modes = sorted({r["mode"] for r in ds["records"]} | {s["mode"] for s in ds["snapshots"]},
                   key=mode_sort_key)
    if not modes:
        raise InputError("no usable benchmark data in the inputs")
    base = choose_baseline(ds, modes, baseline)
    order = {b: i for i, b in enumerate(ordered_boots(ds))}
    lay = layouts(ds, modes)
    groups = {}
    for r in ds["records"]:
        groups.setdefault((r["bench"], r["metric"]), {}).setdefault(r["mode"], []).append(r)

    stats, comparisons = [], []
    for (bench, metric), by_mode in groups.items():
        meds = {}
        for mode in sorted(by_mode, key=mode_sort_key):
            recs = by_mode[mode]
            per_boot = {}
            for r in recs:
                per_boot.setdefault(r["boot"], []).append(r["ns_per_op"])
            boots = sorted(per_boot, key=lambda b: (order.get(b.split("#")[0], len(order)), b))
            bm = [median(per_boot[b]) for b in boots]
            meds[mode] = (boots, bm)
            samples = describe([r["ns_per_op"] for r in recs])
            lo, hi = bootstrap_median_ci(bm)
            st = {"bench": bench, "metric": metric, "mode": mode, "quantity": "ns_per_op",
                  "op": recs[0]["op"], "boots": len(boots), "n": len(recs),
                  "linear_map": sorted({str(r["linear_map"]) for r in recs}),
                  "median": median(bm), "ci95_lo": lo, "ci95_hi": hi,
                  "between_boot_cov_pct": cov_pct(bm) if len(bm) > 1 else None,
                  "within_boot_cov_pct": median([cov_pct(v) for v in per_boot.values()]),
                  "min": samples["min"], "max": samples["max"], "samples": samples,
                  "boot_medians": dict(zip(boots, bm)),
                  "control": (bench, metric) in CONTROL_METRICS}
            counters = {}
            for ev in EVENTS:
                vals = [r["per_op"][ev] for r in recs if r["per_op"][ev] is not None]
                if vals:
                    counters[ev] = describe(vals) | {"available": True}
                else:
                    counters[ev] = {"available": False,
                                    "reason": _unavailable_reason(ds, bench, mode, ev)}
            st["counters_per_op"] = counters
            stats.append(st)
        if base not in meds:
            continue
        bboots, bx = meds[base]
        pairs = []
        a_half, b_half = benchstats.split_aa(list(zip(bboots, bx)))
        if len(a_half) >= 2 and len(b_half) >= 2:
            pairs.append((f"{base} A/A", "aa", [v for _, v in a_half], [v for _, v in b_half]))
        for mode in sorted(meds, key=mode_sort_key):
            if mode == base:
                continue
            same = benchstats.same_layout(lay.get(base), lay.get(mode))
            kind = ("control" if (bench, metric) in CONTROL_METRICS else
                    "identical" if same else "test")
            pairs.append((mode, kind, bx, meds[mode][1]))
        for mode, kind, xb, xo in pairs:
            c = {"bench": bench, "metric": metric, "mode": mode, "baseline": base,
                 "kind": kind, "same_layout": (True if kind == "aa" else
                                               benchstats.same_layout(lay.get(base),
                                                                      lay.get(mode)))}
            c.update(benchstats.compare_boots(xb, xo, alpha))
            try:
                t, df, pw = welch_t(xo, xb)
                c.update({"welch_t": t, "welch_df": df, "p_welch": pw})
            except ValueError:
                c.update({"welch_t": None, "welch_df": None, "p_welch": None})
            comparisons.append(c)
    tests = [c for c in comparisons if c["kind"] == "test"]
    for c, p in zip(tests, holm([c["p_mwu"] for c in tests])):
        c["p_holm"] = p
    for c in comparisons:
        c.setdefault("p_holm", None)
        marked = c["kind"] == "test" and c["ci_excludes_zero"]
        c["significant"] = marked and c["p_mwu"] < alpha
        c["significant_holm"] = marked and c["p_holm"] is not None and c["p_holm"] < alpha
        c["verdict"] = _verdict(c, alpha)
        if c["kind"] in ("aa", "identical") and "DIFFERS" in c["verdict"]:
            ds["warnings"].append(f"{c['bench']} {c['metric']}: {c['mode']} vs {base}: "
                                  f"{c['verdict']} ({c['delta_pct']:+.1f} %, p {c['p_mwu']:.3f})")
    aa = [c for c in comparisons if c["kind"] == "aa"]
    if not aa:
        n = len({r["boot"] for r in ds["records"] if r["mode"] == base})
        ds["warnings"].append(f"no A/A control: the baseline {base} has {n} boot(s) with "
                              "timed metrics; it needs >= 4 (two halves of >= 2)")
    return {"modes": modes, "baseline": base, "alpha": alpha, "stats": stats,
            "comparisons": comparisons, "layouts": lay, "boot_order": list(order),
            "order": order_note(ds)[0], "provenance": provenance(ds),
            "shape": shape_table(ds, modes, base),
            "geomean": geomean(comparisons, modes, base)}


def _unavailable_reason(ds, bench, mode, ev):
    reasons = set()
    emulated = False
    for o in ds["objects"]:
        if o["bench"] == bench and o["mode"] == mode:
            e = (o["pmu"].get("events") or {}).get(ev) or {}
            reasons.add(e.get("reason") or ("available but never scheduled"
                                            if e.get("available") else "not reported"))
            emulated |= bool(o["platform"].get("emulated"))
    return {"emulated": emulated, "reasons": sorted(reasons)}


def geomean(comparisons, modes, base):
    out = {}
    for mode in modes:
        if mode == base:
            continue
        rs = [c["ratio"] for c in comparisons if c["mode"] == mode and c["kind"] == "test"]
        if rs:
            g = math.exp(sum(math.log(r) for r in rs) / len(rs))
            out[mode] = {"ratio": g, "delta_pct": 100.0 * (1 - g), "metrics": len(rs)}
    return out


SHAPE_KEYS = ["repaint_ns", "repaint_stop_machine_ns", "repaint_tables_pmd",
              "repaint_tables_pte", "split_tables_pmd", "split_tables_pte",
              "split_pud", "split_cont_pmd", "split_pmd", "split_cont_pte",
              "split_failures"]
MEM_KEYS = ["mem_total_kb", "mem_free_kb", "mem_available_kb", "page_tables_kb",
            "boot_reserved_kb", "boot_total_kb"]


def shape_table(ds, modes, base):
    """Per mode: the series' linear_map facts (every object carries them) and
    the linmap-cost snapshot (memory), with deltas against the baseline."""
    rows = {}
    for mode in modes:
        objs = [o for o in ds["objects"] if o["mode"] == mode]
        lms = {}
        for o in objs:
            lm = o["mode_proof"].get("linear_map")
            if lm:
                lms[o["boot"].split("#")[0]] = lm
        row = {"boots": len({o["boot"].split("#")[0] for o in objs}),
               "linear_map": sorted({str(lm.get("linear_map")) for lm in lms.values()}),
               "repainted": sorted({str(lm.get("repainted")) for lm in lms.values()}),
               "options": sorted({str(lm.get("options")) for lm in lms.values()})}
        for k in SHAPE_KEYS:
            vals = [lm[k] for lm in lms.values() if _num(lm.get(k))]
            row[k] = median(vals) if vals else None
        snaps = [s["values"] for s in ds["snapshots"] if s["mode"] == mode]
        for k in MEM_KEYS:
            vals = [s[k] for s in snaps if _num(s.get(k))]
            row[k] = median(vals) if vals else None
        pts = [s["ptdump"] for s in snaps if isinstance(s.get("ptdump"), dict) and s["ptdump"].get("ok")]
        if pts:
            for b in ("pud", "cont_pmd", "pmd", "cont_pte", "pte"):
                row[f"ptdump_{b}_kb"] = median([p["bytes"].get(b, 0) / 1024 for p in pts])
            row["ptdump_pte_tables"] = median([p.get("pte_tables", 0) for p in pts])
            row["ptdump_pmd_tables"] = median([p.get("pmd_tables", 0) for p in pts])
        # linmap-cost records its page size (snapshots from before it did
        # are 4K: the only size its first parser knew).
        sizes = sorted({p.get("page_size") or 4096 for p in pts}) or [4096]
        row["page_size"] = sizes[0] if len(sizes) == 1 else None
        row["snapshots"] = len(snaps)
        rows[mode] = row
    b = rows.get(base, {})
    for mode, row in rows.items():
        for k in ("mem_total_kb", "mem_free_kb", "page_tables_kb", "boot_reserved_kb"):
            row[f"delta_{k}"] = (row[k] - b[k] if row.get(k) is not None
                                 and b.get(k) is not None else None)
        # One page of PTEs (page_size / 8 entries) per PMD-size window:
        # RAM/512 with 4K pages, RAM/2048 with 16K, RAM/8192 with 64K.
        ram = row.get("boot_total_kb")
        ps = row.get("page_size")
        row["model_pte_tables_kb"] = ram / (ps // 8) if ram and ps else None
    return rows


# --------------------------------------------------------------------------
# rendering

def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v:,.0f}".replace(",", " ")
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ")
    return str(v)


def fmt_ns(v):
    if v is None:
        return "–"
    if abs(v) >= 1e5:
        return f"{v / 1000:.1f} µs"
    return f"{v:.1f}"


def fmt_p(p):
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_delta(d, unit=" kB"):
    if d is None:
        return "–"
    return f"{d:+,.0f}{unit}".replace(",", " ")


def table(head, rows, align=None):
    align = align or ["l"] + ["r"] * (len(head) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def _platforms(ds):
    plats = {}
    for o in ds["objects"]:
        p = o["platform"]
        # MemTotal is left out: it differs by mode (that is the point).
        key = (p.get("midr"), p.get("cpus_online"), p.get("page_size"),
               p.get("release"), p.get("version"), p.get("emulated"))
        plats.setdefault(key, p)
    return list(plats.values())


def render_md(ds, an, name, inputs):
    lines = []
    add = lines.append
    emulated = any(o["platform"].get("emulated") for o in ds["objects"])
    base = an["baseline"]
    add(f"# bbml2-lab benchmarks: {name}")
    add("")
    if emulated:
        add(f"> **{EMULATED_LABEL}.** QEMU counts no TLB event and its softmmu TLB")
        add("> caches 4K translations whatever the guest's block size; these runs check")
        add("> that the benchmarks and the modes work, not what blocks buy on hardware.")
        add("")
    add("## Platform")
    add("")
    tools = next((o["tools"] for o in ds["objects"] if o.get("tools")), None) or {}
    for p in _platforms(ds):
        cls = p.get("class") or ("emulated" if p.get("emulated") else "hardware")
        kind = (f"{cls} (QEMU TCG" + (f", {tools['qemu']}" if tools.get("qemu") else "") + ")"
                if cls == "emulated" else cls)
        if p.get("class_why"):
            kind += f" [{p['class_why']}]"
        of_cpu = f" of CPU {p['midr_cpu']}" if p.get("midr_cpu") is not None else ""
        add(f"* {kind}: MIDR {p.get('midr')}{of_cpu} (implementer {p.get('implementer')}), "
            f"{p.get('cpus_online')} CPUs online, page size {p.get('page_size')} "
            "(MemTotal per mode below), "
            f"kernel {p.get('release')} {p.get('version')}")
    kern = next((o["kernel"] for o in ds["objects"] if o.get("kernel")), None) or {}
    git = next((o["git"] for o in ds["objects"] if o.get("git")), None) or {}
    if kern:
        add(f"* Image sha256 `{str(kern.get('image_sha256'))[:16]}…`, .config sha256 "
            f"`{str(kern.get('config_sha256'))[:16]}…` ({kern.get('config_file')})")
    if git:
        add(f"* git {str(git.get('revision'))[:12]}{' (dirty)' if git.get('dirty') else ''}")
    add(f"* Inputs: {', '.join(os.path.relpath(i) for i in inputs)}; generated "
        f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    add("")
    add("Per mode (boots x samples per metric; the kernel command line of the first boot):")
    add("")
    rows = []
    for mode in an["modes"]:
        objs = [o for o in ds["objects"] if o["mode"] == mode]
        boots = len({o["boot"].split("#")[0] for o in objs})
        samples = sorted({o["params"].get("samples") for o in objs if o["params"].get("samples")})
        cmd = objs[0]["mode_proof"].get("cmdline", "") if objs else ""
        rows.append([f"**{mode}**" if mode == base else mode, boots,
                     "/".join(map(str, samples)) or "–", f"`{cmd}`"])
    add(table(["mode", "boots", "samples", "cmdline"], rows, ["l", "r", "r", "l"]))
    add("")
    order = an["boot_order"]
    add(f"Boot order: {an['order']}; {len(order)} boots"
        + (f": {', '.join(b.split('/')[-1] for b in order[:12])}"
           + (" …" if len(order) > 12 else "") if order else "") + " (all in report.json).")
    add("")
    for flag in an["provenance"]["flags"]:
        add(f"* ⚠ **Input flag:** {flag}")
    if an["provenance"]["flags"]:
        add("")
    add(f"Baseline: **{base}**. Δ% columns follow the mmtests convention: "
        "**+ = better** (fewer ns/op than the baseline).")
    add("")

    # ---- shape / cost
    add("## Linear map shape and memory cost")
    add("")
    add("From `/sys/kernel/debug/arm64/linear_map` (every benchmark's mode proof) and the "
        "linmap-cost snapshot (`/proc/meminfo`, the boot `Memory:` line, ptdump). "
        f"Δ columns are against {base}. Model: a PTE-mapped linear map needs one "
        "page of PTEs per PMD-size window, **RAM/512** with 4K pages (RAM/2048 with 16K, "
        "RAM/8192 with 64K, from the page size linmap-cost records); tables built at boot "
        "come from memblock and lower "
        "MemTotal, tables made by the repaint come from the page allocator and lower "
        "MemFree instead.")
    add("")
    rows = []
    for mode in an["modes"]:
        r = an["shape"][mode]
        rp = r.get("repaint_ns")
        rows.append([
            mode, r["boots"], "/".join(r["linear_map"]) or "–", "/".join(r["repainted"]) or "–",
            fmt(rp / 1e6, 2) if rp else ("0" if rp == 0 else "–"),
            fmt(r["repaint_stop_machine_ns"] / 1e6, 2) if r.get("repaint_stop_machine_ns") else "–",
            f"{fmt(r.get('repaint_tables_pmd'))} / {fmt(r.get('repaint_tables_pte'))}",
            f"{fmt(r.get('split_tables_pmd'))} / {fmt(r.get('split_tables_pte'))}",
            fmt(r.get("ptdump_pte_tables")),
        ])
    add(table(["mode", "boots", "linear_map", "repainted", "repaint ms", "stop_machine ms",
               "repaint tables pmd / pte", "split tables pmd / pte", "ptdump PTE tables"], rows))
    add("")
    rows = []
    for mode in an["modes"]:
        r = an["shape"][mode]
        model = r.get("model_pte_tables_kb")
        rows.append([
            mode, fmt(r.get("mem_total_kb")), fmt_delta(r.get("delta_mem_total_kb")),
            fmt(r.get("mem_free_kb")), fmt_delta(r.get("delta_mem_free_kb")),
            fmt(r.get("page_tables_kb")), fmt_delta(r.get("delta_page_tables_kb")),
            fmt(r.get("boot_reserved_kb")), fmt_delta(r.get("delta_boot_reserved_kb")),
            fmt(model, 0) if model else "–",
        ])
    add(table(["mode", "MemTotal kB", "Δ", "MemFree kB", "Δ", "PageTables kB", "Δ",
               "boot reserved kB", "Δ", "RAM/(page/8) kB"], rows))
    add("")
    pt_rows = []
    for mode in an["modes"]:
        r = an["shape"][mode]
        if "ptdump_pte_kb" in r:
            pt_rows.append([mode] + [fmt(r[f"ptdump_{b}_kb"], 0) for b in
                                     ("pud", "cont_pmd", "pmd", "cont_pte", "pte")])
    if pt_rows:
        add("ptdump of the linear map (KiB per mapping level, median over boots):")
        add("")
        add(table(["mode", "PUD", "CONT_PMD", "PMD", "CONT_PTE", "PTE"], pt_rows))
        add("")

    # ---- benchmarks
    add("## Benchmarks")
    add("")
    ntest = sum(1 for c in an["comparisons"] if c["kind"] == "test")
    add("**The boot is the unit.** Each boot's median ns/op is one observation (all samples "
        "of a boot share one placement of page cache and slab); a mode's value is the "
        "**median of its boot medians**, its 95 % CI a percentile bootstrap over boots "
        f"({BOOTSTRAP} resamples, fixed seed). Δ% vs {base} follows mmtests (**+ = better**, "
        "fewer ns/op); its CI resamples both modes' boots. p: two-sided **Mann-Whitney U** "
        f"over boot medians. `*` p < α = {an['alpha']} **and** the Δ CI excludes 0; `**` also "
        f"after Holm–Bonferroni over the {ntest} tested comparisons. **MDE**: the smallest "
        "difference these boot counts detect with 80 % power at α (normal approximation, "
        "pooled between-boot CoV). No marks on controls: the **A/A** row (the baseline's "
        "boots split in two, alternating in run order), pairs with **identical page "
        "tables** (the same share of the linear map at every level, ±1 %: a TLB effect is "
        "impossible there, any difference is noise) and control metrics.")
    add("")
    comps = {}
    for c in an["comparisons"]:
        comps.setdefault((c["bench"], c["metric"]), []).append(c)
    by_bench = {}
    for st in an["stats"]:
        by_bench.setdefault(st["bench"], {}).setdefault(st["metric"], []).append(st)
    for bench, metrics in by_bench.items():
        add(f"### {bench}")
        add("")
        for metric, sts in metrics.items():
            ctl = " — control metric" if (bench, metric) in CONTROL_METRICS else ""
            add(f"**{metric}** — ns per {sts[0]['op'] or 'op'} (lower is better){ctl}")
            add("")
            rows = []
            for st in sts:
                bm = list(st["boot_medians"].values())
                between = (f"{fmt_ns(min(bm))}–{fmt_ns(max(bm))}" if len(bm) > 1 else "–")
                rows.append([st["mode"], "/".join(st["linear_map"]),
                             f"{st['boots']}×{st['n'] // max(st['boots'], 1)}",
                             fmt_ns(st["median"]),
                             f"{fmt_ns(st['ci95_lo'])} – {fmt_ns(st['ci95_hi'])}",
                             fmt(st["between_boot_cov_pct"]), fmt(st["within_boot_cov_pct"]),
                             between])
            add(table(["mode", "map", "boots×n", "median of boot medians", "95% CI (boots)",
                       "CoV between boots %", "CoV within boot % (median)", "boot medians"],
                      rows, ["l", "l", "r", "r", "r", "r", "r", "r"]))
            add("")
            crow = []
            for c in comps.get((bench, metric), []):
                mark = "**" if c["significant_holm"] else "*" if c["significant"] else ""
                lo, hi = c["delta_ci95"]
                crow.append([f"{c['mode']} vs {base}" if c["kind"] != "aa" else
                             f"{c['mode']} ({c['baseline_boots']} vs {c['boots']} boots)",
                             f"{c['delta_pct']:+.1f} %{mark}",
                             f"{lo:+.1f} … {hi:+.1f}" if lo is not None else "–",
                             fmt_p(c["p_mwu"]), fmt(c["mde_pct"]) + " %" if c["mde_pct"]
                             is not None else "–", c["verdict"]])
            if crow:
                add(table(["comparison", "Δ%", "95% CI of Δ%", "p (MWU, boots)", "MDE",
                           "verdict"], crow, ["l", "r", "r", "r", "r", "l"]))
                add("")
            add(counter_table(sts))
            add("")
        extra = pcache_extra(by_bench, bench, an["modes"])
        if extra:
            add(extra)
            add("")

    # ---- summary
    if an["geomean"]:
        add("## Summary")
        add("")
        for mode, g in an["geomean"].items():
            add(f"* {mode}: geometric mean of the median ratios vs {base} over "
                f"{g['metrics']} metrics = {g['ratio']:.3f} ({g['delta_pct']:+.1f} %, + = better)")
        add("")

    # ---- problems and caveats
    if ds["errors"] or ds["warnings"]:
        add("## Input problems")
        add("")
        for e in ds["errors"]:
            add(f"* error: {e}")
        for w in ds["warnings"]:
            add(f"* warning: {w}")
        add("")
    add("## Caveats")
    add("")
    if emulated:
        add("* **Emulation.** Under QEMU TCG every ns is host time spent translating and "
            "running guest code on a shared, loaded host; block vs PTE changes only the "
            "guest walk done on a softmmu TLB miss, and QEMU flushes a whole MMU index when "
            "any page of a large mapping is flushed, so block mode can even look slower. "
            "Use these numbers to check that the benchmarks and modes work, never as "
            "performance results.")
        add("* **Counters.** QEMU (7.2 here) implements no TLB event (PMCEID bits clear), so "
            "dtlb_walk, l1d/l2d_tlb_refill and itlb_walk are `n/a (emulated)`; "
            "inst_retired counts only with -icount. cpu_cycles runs from the virtual "
            "clock at a nominal 1 GHz: kernel cycles/op is guest time in the kernel.")
    add("* **Boots, not samples.** Every p value, CI and MDE above counts boots; with few "
        "boots per mode little can be shown (an exact Mann-Whitney U over 3 + 3 boots "
        "cannot go below p = 0.1). Randomise the boot order (bench/sweep.py) so host "
        "drift does not line up with one mode.")
    add("* **Working sets are scaled** (see each object's params in report.json): under "
        "TCG about 8x smaller than on hardware.")
    add("* Counter values are per operation and kernel-only (exclude_user=1); "
        "a counter that could not be opened or is not advertised by the PMU is "
        "reported as n/a, never 0.")
    add("")
    add("Files: `report.json` (every sample, statistics, comparisons), `report.svg` "
        "(medians with 95 % CIs relative to the baseline).")
    add("")
    return "\n".join(lines)


def counter_table(sts):
    head = ["mode"] + [f"{ev}/op" for ev in EVENTS] + ["kernel MPKI (dtlb_walk)"]
    rows = []
    for st in sts:
        row = [st["mode"]]
        cs = st["counters_per_op"]
        for ev in EVENTS:
            c = cs[ev]
            if c.get("available"):
                row.append(f"{fmt(c['median'], 3 if c['median'] < 10 else 1)} ({fmt(c['cov_pct'])} %)")
            elif c["reason"]["emulated"]:
                row.append("n/a (emulated)")
            else:
                row.append("n/a (" + "; ".join(c["reason"]["reasons"]) + ")")
        if cs["dtlb_walk"].get("available") and cs["inst_retired"].get("available") \
                and cs["inst_retired"]["median"]:
            row.append(fmt(1000 * cs["dtlb_walk"]["median"] / cs["inst_retired"]["median"], 3))
        else:
            row.append("n/a")
        rows.append(row)
    return "Kernel-only PMU counts per op, median (CoV):\n\n" + table(head, rows)


def pcache_extra(by_bench, bench, modes):
    """scatter - control: the cost of reaching a cold page, per mode."""
    pairs = {"pcache-rand-pread": ("scatter", "single_page"),
             "dentry-scatter-stat": ("scatter", "same"),
             "unix-scatter": ("scatter", "same")}
    if bench not in pairs:
        return None
    a, b = pairs[bench]
    sa = {s["mode"]: s for s in by_bench[bench].get(a, [])}
    sb = {s["mode"]: s for s in by_bench[bench].get(b, [])}
    rows = [[m, fmt_ns(sa[m]["median"] - sb[m]["median"])] for m in modes if m in sa and m in sb]
    if not rows:
        return None
    return (f"{a} − {b} (median ns/op: the extra cost of a scattered object over the hot "
            "control):\n\n" + table(["mode", "Δ ns/op"], rows))


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def render_svg(an, title, emulated=False):
    """Median ns/op per metric and mode, divided by the baseline median, with
    the bootstrap 95 % CI as a bar: one row per benchmark metric."""
    base = an["baseline"]
    bstats = {(s["bench"], s["metric"]): s for s in an["stats"] if s["mode"] == base}
    rows = []
    for key in dict.fromkeys((s["bench"], s["metric"]) for s in an["stats"]):
        if key not in bstats:
            continue
        bm = bstats[key]["median"]
        pts = [(s["mode"], s["median"] / bm, s["ci95_lo"] / bm, s["ci95_hi"] / bm)
               for s in an["stats"] if (s["bench"], s["metric"]) == key]
        rows.append((f"{key[0]} {key[1]}", sorted(pts, key=lambda p: mode_sort_key(p[0]))))
    if not rows:
        return None
    lo = min(min(p[2] for p in pts) for _, pts in rows)
    hi = max(max(p[3] for p in pts) for _, pts in rows)
    lo, hi = min(lo, 1.0), max(hi, 1.0)
    pad = (hi - lo) * 0.08 or 0.05
    lo, hi = lo - pad, hi + pad
    modes = an["modes"]
    left, width, rowh, top = 260, 520, 20 + 10 * len(modes), 60
    H = top + rowh * len(rows) + 60
    W = left + width + 40

    def x(v):
        return left + (v - lo) / (hi - lo) * width

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{_esc(title)}</text>',
           f'<text x="{W / 2}" y="38" text-anchor="middle" fill="#555">median ns/op relative '
           f'to {_esc(base)} (bars: bootstrap 95 % CI; left of 1 = faster)'
           f'{" — QEMU TCG, emulated: not hardware numbers" if emulated else ""}</text>']
    # grid
    step = 10 ** math.floor(math.log10((hi - lo) / 4)) if hi > lo else 0.1
    for mult in (1, 2, 5):
        if (hi - lo) / (step * mult) <= 8:
            step *= mult
            break
    g = math.ceil(lo / step) * step
    while g <= hi:
        out.append(f'<line x1="{x(g):.1f}" y1="{top - 5}" x2="{x(g):.1f}" '
                   f'y2="{top + rowh * len(rows)}" stroke="#ddd"/>')
        out.append(f'<text x="{x(g):.1f}" y="{top + rowh * len(rows) + 15}" '
                   f'text-anchor="middle" fill="#555">{g:.2f}</text>')
        g += step
    out.append(f'<line x1="{x(1):.1f}" y1="{top - 5}" x2="{x(1):.1f}" '
               f'y2="{top + rowh * len(rows)}" stroke="#333" stroke-dasharray="4 3"/>')
    for i, (label, pts) in enumerate(rows):
        y0 = top + i * rowh
        if i % 2:
            out.append(f'<rect x="0" y="{y0}" width="{W}" height="{rowh}" fill="#f6f6f6" '
                       'fill-opacity="0.6"/>')
        out.append(f'<text x="{left - 10}" y="{y0 + rowh / 2 + 4}" text-anchor="end">'
                   f'{_esc(label)}</text>')
        for mode, med, clo, chi in pts:
            k = modes.index(mode)
            y = y0 + 10 + k * 10
            col = COLORS[k % len(COLORS)]
            out.append(f'<line x1="{x(clo):.1f}" y1="{y}" x2="{x(chi):.1f}" y2="{y}" '
                       f'stroke="{col}" stroke-width="2"/>')
            out.append(f'<circle cx="{x(med):.1f}" cy="{y}" r="3.5" fill="{col}">'
                       f'<title>{_esc(mode)}: {med:.3f} [{clo:.3f}, {chi:.3f}]</title></circle>')
    ly = top + rowh * len(rows) + 35
    lx = left
    for k, mode in enumerate(modes):
        label = f'{mode}{" (baseline)" if mode == base else ""}'
        out.append(f'<circle cx="{lx}" cy="{ly}" r="4" fill="{COLORS[k % len(COLORS)]}"/>')
        out.append(f'<text x="{lx + 8}" y="{ly + 4}">{_esc(label)}</text>')
        lx += 8 * len(label) + 40
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------

def _write(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _clean(o):
    """JSON-safe: NaN/inf -> None."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def dump_report(report):
    """report.json text: indented, but one line per sample record (and per
    benchmark object and snapshot), and
    unavailable counters left out of the records (the objects' pmu section
    says which events exist and why the others do not)."""
    parts = []
    for key, value in _clean(report).items():
        if key in ("records", "objects", "snapshots"):
            recs = []
            for r in value:
                if key == "records":
                    r = dict(r)
                    r["counters"] = {k: v for k, v in r["counters"].items() if v is not None}
                    r["per_op"] = {k: v for k, v in r["per_op"].items() if v is not None}
                recs.append(json.dumps(r, separators=(",", ":")))
            text = "[\n" + ",\n".join(recs) + "\n]" if recs else "[]"
        else:
            text = json.dumps(value, indent=1)
        parts.append(f"{json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Collect bbml2-lab benchmark JSON from console logs and write "
                    "report.json, report.md and report.svg.")
    ap.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="results/<run> directory, job directory or console.log")
    ap.add_argument("-o", "--out", required=True, help="output directory (created)")
    ap.add_argument("--name", help="report title (default: the output directory name)")
    ap.add_argument("--baseline", help="baseline mode (default: first PTE mode: off, none...)")
    ap.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    ap.add_argument("--no-svg", action="store_true", help="do not write report.svg")
    args = ap.parse_args(argv)

    ds = collect(args.inputs)
    for e in ds["errors"]:
        print(f"report: error: {e}", file=sys.stderr)
    for w in ds["warnings"]:
        print(f"report: warning: {w}", file=sys.stderr)
    try:
        an = analyse(ds, args.baseline, args.alpha)
    except InputError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    name = args.name or os.path.basename(os.path.abspath(args.out))
    os.makedirs(args.out, exist_ok=True)
    report = {"schema": SCHEMA, "name": name,
              "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "inputs": [os.path.relpath(i) for i in args.inputs],
              "baseline": an["baseline"], "alpha": an["alpha"], "modes": an["modes"],
              "unit": "boot: every statistic is over per-boot medians",
              "significance_test": "Mann-Whitney U over boot medians, two-sided, and the "
                                   "bootstrap CI of delta_pct excluding 0; Holm-Bonferroni "
                                   "over kind=test comparisons in p_holm; Welch t in p_welch",
              "delta_convention": "delta_pct = (baseline median - median) / baseline median "
                                  "* 100: + = fewer ns/op (better)",
              "emulated": any(o["platform"].get("emulated") for o in ds["objects"]),
              "boots": ds["boots"], "objects": ds["objects"], "shape": an["shape"],
              "stats": an["stats"], "comparisons": an["comparisons"],
              "geomean": an["geomean"], "layouts": an["layouts"],
              "boot_order": an["boot_order"], "order": an["order"],
              "provenance": an["provenance"], "records": ds["records"],
              "snapshots": ds["snapshots"], "errors": ds["errors"],
              "warnings": ds["warnings"]}
    _write(os.path.join(args.out, "report.json"), dump_report(report))
    _write(os.path.join(args.out, "report.md"), render_md(ds, an, name, args.inputs))
    if not args.no_svg:
        svg = render_svg(an, f"bbml2-lab benchmarks: {name}", report["emulated"])
        if svg:
            _write(os.path.join(args.out, "report.svg"), svg)
    n = len(ds["records"])
    print(f"report: {args.out}: {n} samples, {len(ds['boots'])} boots, modes "
          f"{', '.join(an['modes'])} (baseline {an['baseline']}), "
          f"{len(ds['errors'])} input errors")
    return 1 if ds["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
