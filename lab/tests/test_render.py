"""Job rendering, LAVA schema validation, template error reporting."""
import re
import shutil

import pytest
import yaml

from bbml2lab import LabError, config, render
from conftest import LAB

REPO = LAB.parent
DEVICE_TYPES = REPO / "build/lava-server/usr/share/lava-server/device-types"


@pytest.fixture
def matrix():
    return config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")


@pytest.fixture
def spec(matrix):
    return matrix.expand("smoke", {"modes": ["assume-repaint"], "cpus": [4], "mem_mb": [2048]})[0]


def test_qemu_job_is_valid_and_carries_job_values(matrix, spec):
    job, cmdline = render.Renderer().job(spec, matrix.boards["qemu-virt"],
                                         "file:///a/Image", "file:///a/initrd.cpio.gz")
    render.validate_job(job)
    assert cmdline == ("console=ttyAMA0,115200 rdinit=/init bbml2lab.suite=smoke bbml2lab.cpus=4 "
                       "bbml2lab.mem_mb=2048 rodata=full panic=-1 arm64.bbml2=assume,repaint")
    deploy, boot, test = (a for a in job["actions"])
    assert deploy["deploy"]["images"]["kernel"]["image_arg"] == \
        f'-kernel {{kernel}} -append "{cmdline}"'
    assert boot["boot"]["method"] == "qemu"
    assert job["context"]["memory"] == 2048 and "-smp 4" in job["context"]["extra_options"]
    mon = test["test"]["monitors"][0]
    assert (mon["start"], mon["end"]) == ("bbml2-lab: suite smoke begin", "bbml2-lab: poweroff")
    assert len(test["test"]["monitors"]) == 1


def test_el2shim_job_boots_the_shim_with_the_image_beside_it(matrix):
    board = matrix.boards["qemu-mixed-01"]
    spec, = matrix.expand("smoke", {"board": "qemu-mixed-01"})
    with pytest.raises(LabError, match=r"board qemu-mixed-01 boots under el2shim: no el2shim URL"):
        render.Renderer().job(spec, board, "file:///a/Image", "file:///a/initrd.cpio.gz")
    job, cmdline = render.Renderer().job(spec, board, "file:///a/Image", "file:///a/initrd.cpio.gz",
                                         shim_url="file:///a/el2shim.bin",
                                         sha256={"shim": "ab" * 32, "kernel": "cd" * 32})
    render.validate_job(job)
    images = job["actions"][0]["deploy"]["images"]
    assert images["kernel"]["url"] == "file:///a/el2shim.bin"
    assert images["kernel"]["sha256sum"] == "ab" * 32
    assert images["kernel"]["image_arg"] == f'-kernel {{kernel}} -append "{cmdline}"'
    assert "el2shim.cpus=0x410fd823,3*0x410fd810" in cmdline.split()
    assert images["image"] == {"image_arg": "-device loader,file={image},addr=0x40400000,force-raw=on",
                               "url": "file:///a/Image", "sha256sum": "cd" * 32}
    assert job["context"]["machine"] == "virt,virtualization=on,gic-version=3"


def test_monitor_pattern_takes_top_level_lines_only(matrix, spec):
    job, _ = render.Renderer().job(spec, matrix.boards["qemu-virt"], "file:///a", "file:///b")
    pattern = re.compile(job["actions"][2]["test"]["monitors"][0]["pattern"])
    stream = ("begin\r\r\nok 1 a\r\r\n  ok 1 nested\r\r\n# ok 2 runner_child\r\r\n"
              "not ok 2 b # why\r\r\nok 3 c # SKIP reason\r\r\nok 4 partial")
    got = [(m["result"], m["test_case_id"]) for m in pattern.finditer(stream)]
    assert got == [("ok", "a"), ("not ok", "b"), ("SKIP", "c")]


def test_uboot_job_is_valid(matrix):
    spec = matrix.expand("smoke", {"board": "rock-pi-4b-01"})[0]
    job, _ = render.Renderer().job(spec, matrix.boards["rock-pi-4b-01"], "http://lab/Image",
                                   "http://lab/initrd.cpio.gz", "http://lab/board.dtb")
    render.validate_job(job)
    assert job["device_type"] == "rk3399-rock-pi-4b"
    assert job["actions"][0]["deploy"]["to"] == "tftp"
    assert job["actions"][1]["boot"] == {"method": "u-boot", "commands": "ramdisk",
                                         "timeout": {"minutes": 5}}
    assert job["context"]["extra_kernel_args"].startswith("rdinit=/init bbml2lab.suite=smoke ")
    assert job["context"]["booti_kernel_addr"] == "0x2800000"


@pytest.mark.skipif(not (DEVICE_TYPES / "qemu.jinja2").is_file(),
                    reason=f"LAVA device-type templates not unpacked in {DEVICE_TYPES}")
def test_device_dictionary_follows_job(matrix, spec):
    dev = yaml.safe_load(render.Renderer(device_types_dir=DEVICE_TYPES).device(
        spec, matrix.boards["qemu-virt"]))
    params = dev["actions"]["boot"]["methods"]["qemu"]["parameters"]
    assert params["command"] == "qemu-system-aarch64"
    assert "-m 2048" in params["options"] and "-cpu max" in params["options"]
    assert params["extra"] == ["-smp 4", "-no-reboot"]


def test_missing_device_types_dir(matrix, spec, tmp_path):
    with pytest.raises(LabError, match="device-type templates not found"):
        render.Renderer(device_types_dir=tmp_path).device(spec, matrix.boards["qemu-virt"])


@pytest.fixture
def broken(tmp_path):
    """A copy of the templates to break."""
    shutil.copytree(render.TEMPLATE_DIR, tmp_path / "t")
    return tmp_path / "t"


BREAKAGES = [
    ("deploy/qemu.jinja2", "- boot:", "- boot: {% if %}",
     r"^template deploy/qemu.jinja2:\d+: jinja2 syntax error: "),
    ("test/ktap-monitors.jinja2", "    monitors:", "    monitors: [",
     r"^template test/ktap-monitors.jinja2: rendered text is not valid YAML: "),
    ("deploy/qemu.jinja2", "method: qemu", "method: qemoo",
     r"^job: LAVA schema: unknown action type \(at actions/boot/qemoo\)$"),
    ("job/header.jinja2", "{{ job_min }}}\n  action", "four}\n  action",
     r"^job: LAVA schema: "),
    ("job/header.jinja2", "visibility: public", "visibility: nope",
     r"^job: LAVA schema: not a valid value .*\(at visibility\)$"),
    ("deploy/qemu.jinja2", "{{ kernel_url", "{{ kernel_uri",
     r"^template deploy/qemu.jinja2: 'kernel_uri' is undefined$"),
    ("test/ktap-monitors.jinja2", "- test:", "test:",
     r"^template test/ktap-monitors.jinja2: expected a YAML list, got dict$"),
]


@pytest.mark.parametrize("name,old,new,pattern", BREAKAGES)
def test_malformed_template_gives_one_line_error(matrix, spec, broken, name, old, new, pattern):
    path = broken / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(LabError) as e:
        job, _ = render.Renderer(template_dir=broken).job(
            spec, matrix.boards["qemu-virt"], "file:///a", "file:///b")
        render.validate_job(job)
    msg = str(e.value)
    assert "\n" not in msg
    assert re.search(pattern, msg), msg


def test_validate_file(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text((LAB / "tests/data/smoke-job.yaml").read_text())
    render.validate_file(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text("job_name: x\n")
    with pytest.raises(LabError, match=r"bad.yaml: LAVA schema: required key not provided"):
        render.validate_file(bad)
    worse = tmp_path / "worse.yaml"
    worse.write_text("job_name: [x\n")
    with pytest.raises(LabError, match=r"worse.yaml: YAML error"):
        render.validate_file(worse)
