"""kernel/fetch-mainline.sh's bad input, without the network: each case
stops with one message saying what to do (issue 19)."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "kernel/fetch-mainline.sh"


def conf():
    return dict(line.split("=", 1) for line in (REPO / "kernel/mainline.conf").read_text().splitlines()
                if "=" in line and not line.startswith("#"))


def fetch(build, etc, **env):
    return subprocess.run([str(SCRIPT), str(build)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "MAINLINE_APT_ETC": str(etc),
                               "MAINLINE_APT_RETRIES": "0",
                               **env})


def sources(etc, uri, suite="bookworm"):
    d = etc / "sources.list.d"
    d.mkdir(parents=True)
    (d / "debian.sources").write_text(
        f"Types: deb\nURIs: {uri}\nSuites: {suite} {suite}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")


def test_pin_is_complete():
    c = conf()
    assert c["PKG"] == "linux-source-7.3"
    assert len(c["DEB_SHA256"]) == 64 and len(c["TARBALL_SHA256"]) == 64


def test_kept_deb_with_another_sha256_is_refused(tmp_path):
    c = conf()
    debs = tmp_path / "build/mainline/debs"
    debs.mkdir(parents=True)
    deb = debs / f"{c['PKG']}_{c['VERSION']}_all.deb"
    deb.write_bytes(b"not the pinned package\n")
    r = fetch(tmp_path / "build", tmp_path / "etc")
    assert r.returncode == 1
    assert "sha256 differs from the pin" in r.stderr and str(deb) in r.stderr
    assert "remove the file" in r.stderr
    assert not (tmp_path / "build/linux-mainline").exists()


def test_no_bookworm_source_names_what_to_do(tmp_path):
    sources(tmp_path / "etc", "http://127.0.0.1:9/debian", suite="trixie")
    r = fetch(tmp_path / "build", tmp_path / "etc")
    assert r.returncode == 1
    assert "no bookworm entry" in r.stderr and "mainline/debs" in r.stderr


def test_unreachable_archive_names_what_to_do(tmp_path):
    # port 9 on loopback: connection refused at once, no network used
    sources(tmp_path / "etc", "http://127.0.0.1:9/debian")
    r = fetch(tmp_path / "build", tmp_path / "etc")
    assert r.returncode == 1, r.stderr
    assert "missing or unreachable" in r.stderr
    assert "127.0.0.1" not in (REPO / "kernel/fetch-mainline.sh").read_text()
    # the private state, not the system's
    assert (tmp_path / "build/mainline/apt/sources.list").read_text().count("127.0.0.1:9") == 2
