"""Published artifacts as a lab job sees them: URLs, the manifest, HEAD checks.

The publisher (`lab/run.py publish`) writes, under one base URL,
  <config>/Image  <config>/initramfs.cpio.gz  <config>/dtbs/<dtb>  <config>/config
  manifest.json   {"<config>/<file>": {"sha256": .., "size": ..}, ...,
                   plus non-file keys such as the git revision and kernel version}
Jobs pin each file's sha256 from the manifest, and every URL is HEAD-checked
before anything is submitted: a worker handed a dead URL stalls in LAVA's
download retries for about ten minutes (review lab.md 5.7 item 3).
"""
import json
import urllib.error
import urllib.request

from . import LabError

TIMEOUT_S = 15


def job_files(spec, board):
    """{label: path relative to the base URL} of one job's artifacts
    (labels as LAVA's deploy names them: kernel, ramdisk, dtb), as the
    manifest names them; build_path() puts them under their build."""
    files = {"kernel": f"{spec.config}/Image", "ramdisk": f"{spec.config}/initramfs.cpio.gz"}
    if (board.get("qemu") or {}).get("el2shim"):
        # the job's `kernel` image is el2shim; the Image is its `image`
        files["kernel"], files["image"] = f"{spec.config}/el2shim.bin", files["kernel"]
    dtb = (board.get("uboot") or {}).get("dtb")
    if dtb:
        files["dtb"] = f"{spec.config}/dtbs/{dtb}"
    return files


def build_path(path, build):
    """Where a manifest path of this build is served: builds/<build>/path
    (publish.py keeps each build until no resumable run pins it)."""
    return f"builds/{build}/{path}" if build else path


def manifest_path(path):
    """A served path back to the manifest's name (builds/<id>/ removed)."""
    parts = path.split("/", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "builds" else path


def url(base, path):
    """base URL + relative path."""
    return f"{base.rstrip('/')}/{path}"


def fetch_manifest(base):
    """The manifest as {"files": {path: {sha256, size}}, "info": {other keys}}."""
    where = url(base, "manifest.json")
    try:
        with urllib.request.urlopen(where, timeout=TIMEOUT_S) as r:
            data = json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise LabError(f"artifact manifest {where}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise LabError(f"artifact manifest {where}: cannot fetch: {reason}") from None
    except ValueError:
        raise LabError(f"artifact manifest {where}: not JSON") from None
    if not isinstance(data, dict):
        raise LabError(f"artifact manifest {where}: expected a JSON object")
    files = data.get("files") if isinstance(data.get("files"), dict) else data
    out = {"files": {}, "info": {}}
    for key, value in files.items():
        if isinstance(value, dict) and isinstance(value.get("sha256"), str):
            out["files"][key] = value
        elif files is data:
            out["info"][key] = value
    if files is not data:
        out["info"] = {k: v for k, v in data.items() if k != "files"}
    if not out["files"]:
        raise LabError(f"artifact manifest {where}: lists no files with a sha256")
    return out


def head(target):
    """None if the URL answers a HEAD with 2xx, else a one-line reason."""
    req = urllib.request.Request(target, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S):
            return None
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return f"unreachable: {getattr(e, 'reason', e)}"


def head_all(urls):
    """{url: reason} for every URL (checked once each) that is not there."""
    bad = {}
    for u in dict.fromkeys(urls):
        reason = head(u)
        if reason:
            bad[u] = reason
    return bad
