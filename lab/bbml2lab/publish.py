"""Publish the artifacts a lab job fetches, per kernel config, with a manifest.

  OUT/<config>/Image               the kernel (build/kernel-<config>/arch/arm64/boot/Image)
  OUT/<config>/initramfs.cpio.gz   the initramfs built for that config (its module)
  OUT/<config>/config              the kernel .config
  OUT/<config>/el2shim.bin         when a board booting <config> boots under el2shim
  OUT/<config>/dtbs/<dtb>          every dtb the boards booting <config> name:
                                   copied from the kernel build (arch/arm64/boot/dts),
                                   or, for a virtual board, QEMU's own DTB dumped with
                                   the board's -M/-cpu/-smp/-m (devices.machine_args)
  OUT/manifest.json                {"<config>/<file>": {"sha256", "size"}, ...,
                                    "git_revision": ..., "git_dirty": ...,
                                    "kernel_versions": {"<config>": "<uname -r>"},
                                    "allow_lists": {"<config>": allow-list record}}

The boards booting <config> are those whose inventory kernel_config it is,
plus `boots[<config>]`: a plan that runs <config> on boards of another
(nightly-mainline: 7.3 on the series' virtual boards) needs their el2shim
and dtbs next to that kernel.

"allow_lists" is the BBML2 allow-list of each config's kernel, read from
its build's source tree (allowlist.of_image: {"array", "ranges",
"bbm_min", "source"}, or {"why": ...} when the tree or its list cannot be
read): a lab job's mode check expects what that kernel's list makes of the
board (labrun), as a local job reads it from the tree itself. A manifest
without the key (an older publish) leaves the inventory's class.

Keys with a "/" are files; the others are provenance. Files are copied to a
temporary name and renamed, so a server reading OUT never sees half a file;
the manifest is written last.

Every publish is also a build: OUT/builds/<build>/<config>/... (hard links
of the files above, so the newest build costs no space), <build> the first
12 hex digits of the sha256 over the manifest's files, named by the
manifest's "build" key. Lab jobs fetch from their build's directory
(artcheck.job_files), so a later publish cannot pull the files from under a
job that is still queued or a run that is resumed. A build is removed only
when it is neither among the newest KEEP_BUILDS nor pinned by a run that can
still be resumed (pinned_builds: status running or detached).
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from . import LabError, allowlist, devices
from .metadata import sha256

BUILDS = "builds"
KEEP_BUILDS = 3


def _copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise


def pack_fdt(data):
    """The FDT without QEMU's padding: QEMU dumps a 1 MiB totalsize, which
    the kernel does not boot from when u-boot passes it on (tried); the
    blocks end at the struct or strings block, whichever is last."""
    if len(data) < 40 or data[:4] != b"\xd0\x0d\xfe\xed":
        raise LabError("dumped DTB: not a flattened device tree")
    total, off_struct, off_strings, off_rsv = struct.unpack(">4I", data[4:20])
    size_strings, size_struct = struct.unpack(">2I", data[32:40])
    end = (max(off_struct + size_struct, off_strings + size_strings, off_rsv + 16) + 7) & ~7
    if end > total or end > len(data):
        raise LabError("dumped DTB: blocks extend past its total size")
    return data[:4] + struct.pack(">I", end) + data[8:end]


def _dump_dtb(board, dst, run=subprocess.run):
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        r = run(devices.dtb_dump_command(board, tmp), stdin=subprocess.DEVNULL,
                capture_output=True, text=True)
        if r.returncode or not os.path.getsize(tmp):
            raise LabError(f"dumping {dst.name} with QEMU failed: "
                           f"{(r.stderr or '').strip().splitlines()[-1:] or r.returncode}")
        with open(tmp, "rb") as f:
            packed = pack_fdt(f.read())
        with open(tmp, "wb") as f:
            f.write(packed)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sources(build, config):
    """Where publish takes a config's files from (under the build dir)."""
    k = Path(build) / f"kernel-{config}"
    return {"Image": k / "arch/arm64/boot/Image",
            "initramfs.cpio.gz": Path(build) / f"rootfs-{config}.cpio.gz",
            "config": k / ".config"}


def _git(repo):
    def git(*args):
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    rev = git("rev-parse", "HEAD")
    return rev, (bool(git("status", "--porcelain", "--untracked-files=no")) if rev else None)


def allow_list(image):
    """The manifest's record of a config's allow-list (allowlist.of_image),
    with why there is none when the Image has no source tree."""
    return allowlist.of_image(image) or {
        "why": f"no kernel source tree found from {image} (the O= build's `source` link "
               f"to a tree with {allowlist.CPUFEATURE})"}


def users(boards, config, boots=None):
    """{name: board} of the boards that boot config: the inventory's, plus
    boots[config] (board names)."""
    extra = set((boots or {}).get(config, ()))
    unknown = sorted(extra - set(boards))
    if unknown:
        raise LabError(f"publish {config}: unknown board {', '.join(unknown)}")
    return {n: b for n, b in boards.items() if b.get("kernel_config") == config or n in extra}


def publish(boards, configs, build, out, repo, run=subprocess.run, pinned=(), boots=None):
    """Publish configs into out; returns the manifest dict. LabError names
    the first missing input. pinned: builds to keep (pinned_builds).
    boots: {config: board names} booting a config not their own."""
    out = Path(out)
    plan = {}
    for config in configs:
        files = sources(build, config)
        for name, src in files.items():
            if not src.is_file():
                raise LabError(f"publish {config}: {src} is missing (build it first: "
                               f"make CONFIG={config} kernel-{config} rootfs-{config})")
        mine = users(boards, config, boots)
        if any(b.get("qemu", {}).get("el2shim") for b in mine.values()):
            shim = Path(build) / "el2shim/el2shim.bin"
            if not shim.is_file():
                raise LabError(f"publish {config}: {shim} is missing (make el2shim): "
                               "el2shim boards boot it")
            files = {**files, "el2shim.bin": shim}
        dtbs = {}
        for bname, b in sorted(mine.items()):
            dtb = b.get("uboot", {}).get("dtb")
            if not dtb:
                continue
            if b["kind"] == "qemu-uboot":
                dtbs.setdefault(dtb, []).append(("dump", bname, b))
            else:
                src = Path(build) / f"kernel-{config}/arch/arm64/boot/dts" / dtb
                if not src.is_file():
                    raise LabError(f"publish {config}: board {bname}'s dtb {src} is missing "
                                   f"(make dtbs CONFIG={config})")
                dtbs.setdefault(dtb, []).append(("copy", bname, src))
        plan[config] = (files, dtbs)

    manifest = {}
    for config, (files, dtbs) in plan.items():
        for name, src in files.items():
            _copy(src, out / config / name)
        for dtb, makers in dtbs.items():
            dst = out / config / "dtbs" / dtb
            digests = set()
            for how, bname, what in makers:
                if how == "dump":
                    _dump_dtb(what, dst, run)
                else:
                    _copy(what, dst)
                digests.add(sha256(dst))
            if len(digests) > 1:
                raise LabError(f"publish {config}: boards {', '.join(m[1] for m in makers)} "
                               f"name the same dtb {dtb} but their DTBs differ")
        for path in sorted((out / config).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                rel = path.relative_to(out).as_posix()
                manifest[rel] = {"sha256": sha256(path), "size": path.stat().st_size}
    rev, dirty = _git(repo)
    manifest["git_revision"] = rev
    manifest["git_dirty"] = dirty
    manifest["kernel_versions"], manifest["allow_lists"] = {}, {}
    for config, (files, _) in plan.items():
        release = Path(build) / f"kernel-{config}/include/config/kernel.release"
        manifest["kernel_versions"][config] = (release.read_text().strip()
                                               if release.is_file() else None)
        manifest["allow_lists"][config] = allow_list(files["Image"])
    old = out / "manifest.json"
    if old.is_file():
        try:
            for key, value in json.loads(old.read_text()).items():
                if "/" in key and key.split("/")[0] not in plan:
                    manifest[key] = value          # other configs stay published
                elif key in ("kernel_versions", "allow_lists") and isinstance(value, dict):
                    for c, v in value.items():
                        manifest[key].setdefault(c, v)
        except (OSError, ValueError):
            pass
    manifest["build"] = snapshot(out, manifest)
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, old)
    prune_builds(out, keep={manifest["build"], *pinned})
    return manifest


def build_id(manifest):
    """The build's name: sha256 over its files' paths and hashes, 12 hex."""
    files = sorted((k, v["sha256"]) for k, v in manifest.items() if "/" in k)
    return sha256_text(json.dumps(files))[:12]


def sha256_text(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot(out, manifest):
    """OUT/builds/<build>/: the manifest's files as published now (hard
    links, a copy where links fail); the build id."""
    bid = build_id(manifest)
    dest = out / BUILDS / bid
    if dest.is_dir():
        return bid
    tmp = out / BUILDS / f".{bid}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for key in (k for k in manifest if "/" in k):
        target = tmp / key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(out / key, target)
        except OSError:
            shutil.copyfile(out / key, target)
    os.replace(tmp, dest)
    return bid


def prune_builds(out, keep=(), newest=KEEP_BUILDS):
    """Remove builds that are neither in `keep` nor among the newest."""
    root = Path(out) / BUILDS
    if not root.is_dir():
        return []
    builds = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime_ns)
    gone = [p for p in builds[:max(0, len(builds) - newest)] if p.name not in keep]
    for p in gone:
        shutil.rmtree(p)
    return [p.name for p in gone]


def pinned_builds(results_root):
    """Builds that runs under results_root which can still be resumed
    (status running or detached) fetch from."""
    pinned = set()
    root = Path(results_root)
    if not root.is_dir():
        return pinned
    for run in root.iterdir():
        try:
            meta = json.loads((run / "metadata.json").read_text())
            if meta.get("status") not in ("running", "detached"):
                continue
            state = json.loads((run / "lab.json").read_text())
        except (OSError, ValueError):
            continue
        build = ((state.get("manifest") or {}).get("info") or {}).get("build")
        if build:
            pinned.add(build)
    return pinned
