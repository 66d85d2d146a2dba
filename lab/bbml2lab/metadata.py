"""Provenance for metadata.json: repo revision, tool versions, kernel facts."""
import datetime
import functools
import hashlib
import mmap
import re
import subprocess
from pathlib import Path

BANNER = re.compile(rb"Linux version (\d[^\x00\n]{0,300})")


def utcnow():
    """ISO 8601 UTC timestamp."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _cmd(args, cwd=None):
    try:
        p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def git_revision(repo):
    """{"revision", "dirty"}; revision is None in a repo without commits."""
    return {"revision": _cmd(["git", "rev-parse", "HEAD"], cwd=repo),
            "dirty": bool(_cmd(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo))}


@functools.lru_cache(maxsize=None)
def tool_versions():
    """QEMU and lava-dispatcher versions (cached: the same for a whole run)."""
    qemu = _cmd(["qemu-system-aarch64", "--version"])
    try:
        from lava_common.version import __version__ as lava
    except ImportError:
        lava = None
    return {"qemu": qemu.splitlines()[0] if qemu else None, "lava_dispatcher": lava}


def sha256(path):
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def image_version(path):
    """The linux_banner string inside an uncompressed arm64 Image, or None.

    The last match is used: 6.x Images also hold an earlier copy without the
    build number and timestamp (init/version.c vs init/version-timestamp.c)."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            match = None
            for match in BANNER.finditer(m):
                pass
            return match.group(1).decode("utf-8", "replace").strip() if match else None
    except (OSError, ValueError):
        return None


def kernel_config_path(image, explicit=None):
    """The .config for an Image: explicit, else <build>/.config for
    <build>/arch/arm64/boot/Image, else None."""
    if explicit:
        return Path(explicit)
    image = Path(image)
    if image.parts[-4:-1] == ("arch", "arm64", "boot"):
        cfg = image.parents[3] / ".config"
        if cfg.is_file():
            return cfg
    return None


def kernel_facts(image, initrd, config_name, config_file=None):
    """Kernel/initrd provenance for one job (files may be missing)."""
    facts = {"config": config_name, "image": str(image), "initrd": str(initrd)}
    for key, path in (("image", image), ("initrd", initrd)):
        facts[f"{key}_sha256"] = sha256(path) if Path(path).is_file() else None
    facts["image_version"] = image_version(image) if Path(image).is_file() else None
    cfg = kernel_config_path(image, config_file)
    facts["config_file"] = str(cfg) if cfg else None
    facts["config_sha256"] = sha256(cfg) if cfg and cfg.is_file() else None
    return facts
