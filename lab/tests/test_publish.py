"""lab/run.py publish: per-config artifacts with a sha256 manifest."""
import hashlib
import json
import struct
import subprocess
from pathlib import Path

import pytest

from bbml2lab import LabError, cli, publish
from conftest import fake_kernel_build

REPO = Path(__file__).resolve().parents[2]


def fdt(total, payload=b"\x00\x00\x00\x01root\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x09"):
    """A minimal FDT: header, empty reservation map, struct, strings, padding."""
    off_rsv, off_struct = 40, 56
    off_strings = off_struct + len(payload)
    head = struct.pack(">10I", 0xd00dfeed, total, off_struct, off_strings, off_rsv, 17, 16,
                       0, 4, len(payload))
    body = head + b"\0" * 16 + payload + b"abc\0"
    return body + b"\0" * (total - len(body))


def vboard(cpu="max,midr=0x410fd842", dtb="qemu/virt-4c-2048m.dtb"):
    return {"kind": "qemu-uboot", "kernel_config": "qemu", "mem_mb": 2048,
            "cpus": [{"class": "x", "midr": "0x410fd842", "count": 4}],
            "qemu": {"machine": "virt", "cpu": cpu}, "uboot": {"dtb": dtb}}


def uboot(dtb="rockchip/rk3399-rock-pi-4b.dtb", config="board"):
    return {"kind": "u-boot", "kernel_config": config, "uboot": {"dtb": dtb}}


@pytest.fixture
def build(tmp_path):
    b = tmp_path / "build"
    for config in ("qemu", "board"):
        k = b / f"kernel-{config}"
        (k / "arch/arm64/boot/dts/rockchip").mkdir(parents=True)
        (k / "arch/arm64/boot/Image").write_bytes(f"Image-{config}".encode())
        (k / ".config").write_text(f"CONFIG_{config.upper()}=y\n")
        (k / "include/config").mkdir(parents=True)
        (k / "include/config/kernel.release").write_text("6.12.117\n")
        (b / f"rootfs-{config}.cpio.gz").write_bytes(f"initrd-{config}".encode())
    (b / "kernel-board/arch/arm64/boot/dts/rockchip/rk3399-rock-pi-4b.dtb").write_bytes(b"DTB")
    return b


class FakeQemu:
    """Stands in for qemu-system-aarch64 -M ...,dumpdtb=F: writes a padded FDT."""

    def __init__(self, per_cpu=None):
        self.calls = []
        self.per_cpu = per_cpu or {}

    def __call__(self, cmd, **kw):
        self.calls.append(cmd)
        out = cmd[cmd.index("-M") + 1].split("dumpdtb=")[1]
        cpu = cmd[cmd.index("-cpu") + 1]
        Path(out).write_bytes(fdt(4096, self.per_cpu.get(cpu, fdt(200)[56:76])))
        return subprocess.CompletedProcess(cmd, 0, "", "")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_publish_writes_files_and_manifest(build, tmp_path):
    out = tmp_path / "art"
    boards = {"vb1": vboard(), "vb2": vboard(cpu="max,midr=0x410fd841"), "rock": uboot()}
    qemu = FakeQemu()
    m = publish.publish(boards, ["qemu", "board"], build, out, REPO, run=qemu)
    assert (out / "qemu/Image").read_bytes() == b"Image-qemu"
    assert (out / "board/initramfs.cpio.gz").read_bytes() == b"initrd-board"
    assert (out / "board/config").read_text() == "CONFIG_BOARD=y\n"
    assert (out / "board/dtbs/rockchip/rk3399-rock-pi-4b.dtb").read_bytes() == b"DTB"
    dtb = (out / "qemu/dtbs/qemu/virt-4c-2048m.dtb").read_bytes()
    assert len(dtb) < 4096 and struct.unpack(">I", dtb[4:8])[0] == len(dtb)   # packed
    assert len(qemu.calls) == 2                    # both boards dumped and compared
    files = {k: v for k, v in m.items() if "/" in k}
    assert sorted(files) == ["board/Image", "board/config",
                             "board/dtbs/rockchip/rk3399-rock-pi-4b.dtb",
                             "board/initramfs.cpio.gz", "qemu/Image", "qemu/config",
                             "qemu/dtbs/qemu/virt-4c-2048m.dtb", "qemu/initramfs.cpio.gz"]
    for key, entry in files.items():
        data = (out / key).read_bytes()
        assert entry == {"sha256": sha(data), "size": len(data)}
    assert m["kernel_versions"] == {"qemu": "6.12.117", "board": "6.12.117"}
    assert len(m["git_revision"]) == 40
    assert json.loads((out / "manifest.json").read_text()) == m
    assert not [p for p in out.rglob(".*")]       # no temporary files left


def test_republishing_one_config_keeps_the_others(build, tmp_path):
    out = tmp_path / "art"
    boards = {"rock": uboot()}
    publish.publish(boards, ["qemu", "board"], build, out, REPO, run=FakeQemu())
    (build / "kernel-qemu/arch/arm64/boot/Image").write_bytes(b"Image-qemu-2")
    m = publish.publish(boards, ["qemu"], build, out, REPO, run=FakeQemu())
    assert m["qemu/Image"]["sha256"] == sha(b"Image-qemu-2")
    assert m["board/Image"]["sha256"] == sha(b"Image-board")
    assert m["kernel_versions"]["board"] == "6.12.117"


def test_missing_image_is_named(build, tmp_path):
    (build / "kernel-board/arch/arm64/boot/Image").unlink()
    with pytest.raises(LabError, match=r"publish board: .*kernel-board/arch/arm64/boot/Image "
                                       r"is missing"):
        publish.publish({}, ["board"], build, tmp_path / "art", REPO)
    assert not (tmp_path / "art").exists()         # nothing half-published


def test_missing_board_dtb_is_named(build, tmp_path):
    with pytest.raises(LabError, match="board rpi's dtb .*bcm2711-rpi-4-b.dtb is missing"):
        publish.publish({"rpi": uboot(dtb="broadcom/bcm2711-rpi-4-b.dtb")}, ["board"],
                        build, tmp_path / "art", REPO)


def test_boards_sharing_a_dtb_name_must_agree(build, tmp_path):
    qemu = FakeQemu(per_cpu={"max,midr=0x410fd841": b"\x00\x00\x00\x09"})
    with pytest.raises(LabError, match="name the same dtb qemu/virt-4c-2048m.dtb but their "
                                       "DTBs differ"):
        publish.publish({"a": vboard(), "b": vboard(cpu="max,midr=0x410fd841")}, ["qemu"],
                        build, tmp_path / "art", REPO, run=qemu)


def test_qemu_dump_failure_is_reported(build, tmp_path):
    def failing(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "qemu: bad option\n")
    with pytest.raises(LabError, match="dumping virt-4c-2048m.dtb with QEMU failed"):
        publish.publish({"a": vboard()}, ["qemu"], build, tmp_path / "art", REPO, run=failing)


def test_el2shim_is_published_for_its_boards(build, tmp_path):
    shim_board = {"kind": "qemu", "kernel_config": "qemu", "qemu": {"el2shim": True}}
    with pytest.raises(LabError, match=r"el2shim/el2shim.bin is missing \(make el2shim\)"):
        publish.publish({"m": shim_board}, ["qemu"], build, tmp_path / "art", REPO)
    (build / "el2shim").mkdir()
    (build / "el2shim/el2shim.bin").write_bytes(b"SHIM")
    m = publish.publish({"m": shim_board}, ["qemu"], build, tmp_path / "art", REPO)
    assert m["qemu/el2shim.bin"] == {"sha256": sha(b"SHIM"), "size": 4}
    m = publish.publish({}, ["board"], build, tmp_path / "art2", REPO)
    assert not [k for k in m if k.endswith("el2shim.bin")]


def test_pack_fdt():
    data = fdt(1 << 20)
    packed = publish.pack_fdt(data)
    assert packed == data[:4] + struct.pack(">I", len(packed)) + data[8:len(packed)]
    assert len(packed) % 8 == 0 and len(packed) < 200
    with pytest.raises(LabError, match="not a flattened device tree"):
        publish.pack_fdt(b"\0" * 64)
    with pytest.raises(LabError, match="past its total size"):
        publish.pack_fdt(data[:4] + struct.pack(">I", 60) + data[8:])


def test_each_publish_is_a_build_kept_while_a_resumable_run_pins_it(build, tmp_path):
    """Jobs fetch from builds/<build>/: a later publish leaves the files a
    queued job or a resumable run pinned; unpinned old builds go."""
    out, results = tmp_path / "art", tmp_path / "results"
    first = publish.publish({}, ["board"], build, out, REPO)
    bid = first["build"]
    assert len(bid) == 12 and (out / "builds" / bid / "board/Image").read_bytes() == b"Image-board"
    # a detached run pinned the first build
    run = results / "20261205T010000Z-nightly-aaaaaa"
    run.mkdir(parents=True)
    (run / "metadata.json").write_text(json.dumps({"status": "detached"}))
    (run / "lab.json").write_text(json.dumps({"manifest": {"info": {"build": bid}}}))
    done = results / "20261204T010000Z-nightly-bbbbbb"
    done.mkdir()
    (done / "metadata.json").write_text(json.dumps({"status": "complete"}))
    assert publish.pinned_builds(results) == {bid}
    ids = []
    for n in range(publish.KEEP_BUILDS + 1):
        (build / "kernel-board/arch/arm64/boot/Image").write_bytes(f"Image-{n}".encode())
        ids.append(publish.publish({}, ["board"], build, out, REPO,
                                   pinned=publish.pinned_builds(results))["build"])
    kept = sorted(p.name for p in (out / "builds").iterdir())
    assert kept == sorted([bid] + ids[-publish.KEEP_BUILDS:])     # pinned one stays
    assert (out / "builds" / bid / "board/Image").read_bytes() == b"Image-board"
    assert (out / "board/Image").read_bytes() == f"Image-{publish.KEEP_BUILDS}".encode()
    (run / "metadata.json").write_text(json.dumps({"status": "complete"}))   # resumed, done
    publish.publish({}, ["board"], build, out, REPO, pinned=publish.pinned_builds(results))
    assert not (out / "builds" / bid).exists()


def test_publish_records_each_configs_allow_list(build, tmp_path):
    """manifest.json's allow_lists: the list of each config's kernel, read
    from its build's source tree, or why there is none; a publish of one
    config keeps the others' records."""
    fake_kernel_build(build / "kernel-qemu", ["MIDR_ALL_VERSIONS(MIDR_NEOVERSE_V3)",
                                              "MIDR_REV_RANGE(MIDR_CORTEX_X4, 0, 3, 0xf)"])
    out = tmp_path / "art"
    m = publish.publish({}, ["qemu", "board"], build, out, REPO)
    qemu = m["allow_lists"]["qemu"]
    assert qemu == {"array": "bbml2_noabort_list", "bbm_min": None,
                    "ranges": [[0x41, 0xd84, 0, 0, 0xf, 0xf, "MIDR_NEOVERSE_V3"],
                               [0x41, 0xd82, 0, 3, 0, 0xf, "MIDR_CORTEX_X4"]],
                    "source": f"bbml2_noabort_list[] of {(build / 'kernel-qemu-src').resolve()}"}
    assert set(m["allow_lists"]["board"]) == {"why"}
    assert "no kernel source tree found from " in m["allow_lists"]["board"]["why"]
    assert json.loads((out / "manifest.json").read_text())["allow_lists"] == m["allow_lists"]
    # the tree's list unreadable: why, and republishing board keeps qemu's record
    (build / "kernel-qemu-src/arch/arm64/kernel/cpufeature.c").write_text("/* no list */\n")
    m2 = publish.publish({}, ["board"], build, out, REPO)
    assert m2["allow_lists"]["qemu"] == qemu
    m3 = publish.publish({}, ["qemu"], build, out, REPO)
    assert m3["allow_lists"]["qemu"] == {"why": "allow-list: expected one 'static const struct "
                                         "midr_range *bbml*[]' in arch/arm64/kernel/cpufeature.c, "
                                         "found 0"}


def _mainline_build(build):
    """A fake build of config mainline (Image, .config, initramfs) and el2shim."""
    k = build / "kernel-mainline"
    (k / "arch/arm64/boot").mkdir(parents=True)
    (k / "arch/arm64/boot/Image").write_bytes(b"Image-mainline")
    (k / ".config").write_text("CONFIG_MAINLINE=y\n")
    (build / "rootfs-mainline.cpio.gz").write_bytes(b"initrd-mainline")
    (build / "el2shim").mkdir()
    (build / "el2shim/el2shim.bin").write_bytes(b"SHIM")


def test_a_config_booted_on_boards_of_another_gets_their_files(build, tmp_path):
    """nightly-mainline runs 7.3 on the series' virtual boards: publish
    --config mainline --boot mainline:BOARD ships their el2shim and dtb with
    the mainline kernel; without --boot only the inventory's boards count."""
    _mainline_build(build)
    boards = {"vb": vboard(), "mixed": {"kind": "qemu", "kernel_config": "qemu",
                                        "qemu": {"el2shim": True}}}
    m = publish.publish(boards, ["mainline"], build, tmp_path / "a", REPO, run=FakeQemu())
    assert sorted(k for k in m if "/" in k) == ["mainline/Image", "mainline/config",
                                                "mainline/initramfs.cpio.gz"]
    qemu = FakeQemu()
    m = publish.publish(boards, ["mainline"], build, tmp_path / "b", REPO, run=qemu,
                        boots={"mainline": {"vb", "mixed"}})
    assert sorted(k for k in m if "/" in k) == [
        "mainline/Image", "mainline/config", "mainline/dtbs/qemu/virt-4c-2048m.dtb",
        "mainline/el2shim.bin", "mainline/initramfs.cpio.gz"]
    assert len(qemu.calls) == 1
    with pytest.raises(LabError, match=r"^publish mainline: unknown board nope$"):
        publish.publish(boards, ["mainline"], build, tmp_path / "c", REPO,
                        boots={"mainline": {"nope"}})


def test_publish_command_boot_option(build, tmp_path, capsys):
    _mainline_build(build)
    base = ["publish", "--config", "mainline", "--build", str(build), "--results",
            str(tmp_path / "results")]
    assert cli.main(base + ["--out", str(tmp_path / "a"), "--boot", "mainline:qemu-late-01"]) == 0
    m = json.loads((tmp_path / "a/manifest.json").read_text())
    assert "mainline/el2shim.bin" in m and "qemu/Image" not in m
    capsys.readouterr()
    assert cli.main(base + ["--out", str(tmp_path / "b"), "--boot", "qemu-late-01"]) == 2
    assert capsys.readouterr().err == ("error: --boot qemu-late-01: expected CONFIG:BOARD with "
                                       "CONFIG one of the published configs (mainline)\n")
