"""matrix.yaml / boards.yaml validation and expansion."""
import re
from pathlib import Path

import pytest
import yaml

from bbml2lab import LabError, config
from conftest import LAB

REPO = LAB.parent


@pytest.fixture
def files(tmp_path):
    """Writable copies of the real configs: (matrix path, boards path, data dicts)."""
    m, b = tmp_path / "matrix.yaml", tmp_path / "boards.yaml"
    m.write_text((REPO / "configs/matrix.yaml").read_text())
    b.write_text((REPO / "configs/boards.yaml").read_text())
    return m, b


def edit(path, fn):
    data = yaml.load(path.read_text(), Loader=config._Loader)
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_real_configs_expand(files):
    m = config.load(*files)
    specs = m.expand("check")
    names = [s.name for s in specs]
    assert names[0] == "smoke-none-4c-2048m"
    # the kselftests in every mode with 2 and 8 GiB on the qemu kernel
    assert {n for n in names if n.startswith("kselftest-") and "debug" not in n} == {
        f"kselftest-{m}-4c-{mem}m" for m in ("none", "off", "assume", "assume-repaint")
        for mem in (2048, 8192)}
    # one debug_pagealloc=on boot: every mode is page-mapped from boot there,
    # so the emulated mixed system's command line proves the switch yields
    dpa = [s for s in specs if s.name.startswith("kselftest-debug-pagealloc-")]
    assert [s.mode for s in dpa] == ["assume-repaint"]
    assert all(s.config == "debug" and "debug_pagealloc=on" in s.kernel_args for s in dpa)
    assert {s.config for s in specs} == {"qemu", "debug"}
    assert m.modes["off"] == "arm64.bbml2=off"          # `off` is not YAML 1.1 False
    assert m.boards["qemu-virt"]["bbml2"] == "none"


def test_overrides_expand_lists(files):
    m = config.load(*files)
    specs = m.expand("smoke", {"modes": ["none", "off"], "mem_mb": [2048, 8192], "cpus": [4],
                               "cmdline": "loglevel=8"})
    assert [s.name for s in specs] == ["smoke-none-4c-2048m", "smoke-off-4c-2048m",
                                       "smoke-none-4c-8192m", "smoke-off-4c-8192m"]
    assert specs[1].kernel_args == ("bbml2lab.suite=smoke bbml2lab.cpus=4 bbml2lab.mem_mb=2048 "
                                    "rodata=full panic=-1 loglevel=8 arm64.bbml2=off")


@pytest.mark.parametrize("change,message", [
    (lambda d: d["plans"]["smoke"][0].update(modes=["none", "sideways"]),
     r"plans/smoke/0: unknown mode 'sideways' \(known: none, off, assume, assume-repaint, repaint\)"),
    (lambda d: d["plans"]["smoke"][0].update(board="nope"), r"plans/smoke/0: unknown board 'nope'"),
    (lambda d: d["plans"]["smoke"][0].update(cpus="four"), r"plans/smoke/0/cpus: "),
    (lambda d: d["plans"]["smoke"][0].update(mem_mb=[1024, 64]), r"mem_mb must be 128..65536"),
    (lambda d: d["plans"]["smoke"][0].update(config="nosuch"), r"unknown kernel config 'nosuch'"),
    (lambda d: d["plans"]["smoke"][0].pop("suite"), r"plans/smoke/0/suite: required key"),
    (lambda d: d["plans"]["smoke"][0].update(colour="red"), r"plans/smoke/0/colour: extra keys"),
    (lambda d: d["plans"]["smoke"][0].update(cmdline='a="b c"'), r"must not contain quotes"),
    (lambda d: d["defaults"].update(cmdline="panic=-1"), r"defaults/cmdline: must include rodata=full"),
    (lambda d: d["defaults"].pop("cpus"), r"defaults: 'cpus' is required"),
])
def test_matrix_errors(files, change, message):
    edit(files[0], change)
    with pytest.raises(LabError, match=message) as e:
        config.load(*files)
    assert str(e.value).startswith(str(files[0]))


def test_matrix_yaml_syntax_error(files):
    files[0].write_text("plans: [\n")
    with pytest.raises(LabError, match=r"matrix.yaml: YAML error: "):
        config.load(*files)


def test_missing_file(files, tmp_path):
    with pytest.raises(LabError, match=r"nothere.yaml: cannot read"):
        config.load(tmp_path / "nothere.yaml", files[1])


@pytest.mark.parametrize("change,message", [
    (lambda d: d["boards"]["rpi4-01"].update(bbml2="sometimes"),
     r"boards/rpi4-01/bbml2: bbml2 must be uniform, mixed or none"),
    (lambda d: d["boards"]["rpi4-01"].pop("power"), r"boards/rpi4-01: kind u-boot needs 'power'"),
    (lambda d: d["boards"]["rpi4-01"]["power"].update(line="x y"), r"boards/rpi4-01/power: "),
    (lambda d: d["boards"]["rpi4-01"]["power"].update(driver="pdu"), r"boards/rpi4-01/power: "),
    (lambda d: d["boards"]["rpi4-01"]["uboot"].update(dtb_addr="12zz"), r"hex address"),
    (lambda d: d["boards"]["qemu-virt"].update(kind="fastboot"), r"kind must be one of qemu, "),
    # the declared BBML2 class must be the one the MIDRs give under the allow-list
    (lambda d: d["boards"]["rpi4-01"].update(bbml2="uniform"),
     r"boards/rpi4-01: bbml2 is uniform but its CPUs' MIDRs make it none"),
    (lambda d: d["boards"]["x4-mixed-01"]["cpus"][0].update(midr="0x410fd822"),
     r"boards/x4-mixed-01: bbml2 is mixed but its CPUs' MIDRs make it none"),
    (lambda d: d["boards"]["ampereone-01"]["cpus"].append({"class": "a", "midr": "0x410fd082"}),
     r"boards/ampereone-01: bbml2 is uniform but its CPUs' MIDRs make it mixed"),
    (lambda d: d["boards"]["rpi4-01"].update(modes=["none", "assume"]),
     r"boards/rpi4-01: modes: assume only exist for emulated CPUs"),
    (lambda d: d["boards"]["rpi4-01"]["cpus"][0].update(count="rest"), r"'count: rest' only"),
    (lambda d: d["boards"]["rpi4-01"]["power"].update(line="rock-pi-4b-01-pwr"),
     r"power line lab-relays/rock-pi-4b-01-pwr is also rock-pi-4b-01's"),
    (lambda d: d["boards"]["rpi4-01"]["lava"].update(hostname="x4-mixed-01"),
     r"boards/x4-mixed-01: LAVA hostname x4-mixed-01 is also rpi4-01's"),
    (lambda d: d["boards"]["rpi4-01"]["power"].update(reset_off_ms=10),
     r"reset_off_ms is below min_off_ms"),
    (lambda d: d["boards"]["vboard-none-01"].update(platform="hardware"),
     r"kind qemu-uboot is emulated, not hardware"),
])
def test_board_errors(files, change, message):
    edit(files[1], change)
    with pytest.raises(LabError, match=message):
        config.load(*files)


def test_board_facts_and_mode_sets(files):
    m = config.load(*files)
    # hardware: the board's own CPU count and memory, whatever the defaults say
    spec, = m.expand("smoke", {"board": "rock-pi-4b-01"})
    assert (spec.cpus, spec.mem_mb, spec.config) == (6, 4096, "board")
    assert m.boards["rock-pi-4b-01"]["modes"] == ["none", "off", "repaint"]
    assert m.boards["rpi4-01"]["lava"]["tags"] == ["bbml2-none"]
    # emulated with fixed CPUs: the board's values unless the plan names them
    spec, = m.expand("smoke", {"board": "vboard-uniform-01"})
    assert (spec.cpus, spec.mem_mb) == (4, 2048)
    spec, = m.expand("smoke", {"board": "qemu-mixed-01", "mem_mb": [1024]})
    assert spec.mem_mb == 1024
    # every nightly job runs on a virtual board in that board's mode set
    nightly = m.expand("nightly")
    assert {(s.board, s.mode) for s in nightly if s.suite == "kselftest"} == {
        (b, mode) for b in ("vboard-uniform-01", "vboard-none-01", "qemu-mixed-01")
        for mode in m.boards[b]["modes"]}
    late, = [s for s in nightly if s.suite == "late-cpu"]
    assert late.board == "qemu-late-01" and "maxcpus=1" in late.kernel_args.split()
    assert [c["midr"] for c in config.board_cpus(m.boards["qemu-virt"], 3)] == ["0x000f0510"] * 3


@pytest.mark.parametrize("overrides,message", [
    ({"board": "rpi4-01", "cpus": [2]}, r"board rpi4-01 is hardware with 4 CPUs: cpus \[2\] contradicts"),
    ({"board": "rpi4-01", "mem_mb": [1024]}, r"board rpi4-01 is hardware with 4096 MiB"),
    ({"board": "rpi4-01", "modes": ["assume"]}, r"board rpi4-01 does not run mode 'assume'"),
    ({"board": "x4-mixed-01", "modes": ["assume-repaint"]}, r"does not run mode 'assume-repaint'"),
    ({"board": "vboard-none-01", "mem_mb": [8192]}, r"board vboard-none-01 takes mem_mb 2048..2048"),
    ({"board": "vboard-none-01", "cpus": [2]}, r"takes cpus 4..4, not 2"),
])
def test_plan_contradicting_board_is_refused(files, overrides, message):
    with pytest.raises(LabError, match=message):
        config.load(*files).expand("smoke", overrides)


def test_el2shim_boards_get_their_cpu_list(files):
    m = config.load(*files)
    spec, = m.expand("smoke", {"board": "qemu-mixed-01"})
    args = spec.kernel_args.split()
    assert "el2shim.cpus=0x410fd823,3*0x410fd810" in args
    assert "bbml2lab.nobbml2=1,2,3" in args
    spec, = m.expand("smoke", {"board": "qemu-late-01"})
    assert "el2shim.cpus=3*0x410fd842,0x410fd841" in spec.kernel_args.split()
    assert "bbml2lab.nobbml2=3" in spec.kernel_args.split()
    spec, = m.expand("smoke")                 # no el2shim: nothing added
    assert "el2shim" not in spec.kernel_args and "nobbml2" not in spec.kernel_args


@pytest.mark.parametrize("change,message", [
    (lambda d: d["boards"]["qemu-mixed-01"]["qemu"].update(el2shim=False),
     r"boards/qemu-mixed-01: CPUs with different MIDRs under QEMU need qemu.el2shim"),
    (lambda d: d["boards"]["qemu-mixed-01"]["qemu"].update(machine="virt"),
     r"el2shim needs qemu.machine with virtualization=on"),
])
def test_el2shim_board_errors(files, change, message):
    edit(files[1], change)
    with pytest.raises(LabError, match=message):
        config.load(*files)


def test_board_integer_address_normalised(files):
    edit(files[1], lambda d: d["boards"]["rpi4-01"]["uboot"].update(kernel_addr=0x80000))
    assert config.load(*files).boards["rpi4-01"]["uboot"]["kernel_addr"] == "0x80000"


@pytest.mark.parametrize("overrides,message", [
    ({"modes": ["nope"]}, r"^--modes: unknown mode 'nope'"),
    ({"board": "nope"}, r"^--board: unknown board 'nope'"),
    ({"config": "fast"}, r"^--config: unknown kernel config 'fast' \(known: qemu, debug, bench, board, plain, "),
    ({"cpus": [0]}, r"cpus must be 1..64"),
    ({"cmdline": "x'y"}, r"must not contain quotes"),
])
def test_override_errors(files, overrides, message):
    with pytest.raises(LabError, match=message):
        config.load(*files).expand("smoke", overrides)


def test_unknown_plan_and_int_lists(files):
    plans = ", ".join(yaml.safe_load(Path(files[0]).read_text())["plans"])   # in file order
    assert plans.startswith("smoke, main, kselftest, check, ")
    with pytest.raises(LabError, match=r"unknown plan 'weekly' \(known: " + re.escape(plans) + r"\)$"):
        config.load(*files).expand("weekly")
    assert config.parse_int_list("2048,8192", "--mem") == [2048, 8192]
    with pytest.raises(LabError, match=r"--mem: expected comma-separated integers"):
        config.parse_int_list("2048,lots", "--mem")


def test_only_selects_entries_of_a_plan(files):
    m = config.load(*files)
    specs = m.expand_only("check", ["late-cpu", "smoke"])
    assert [s.name for s in specs] == ["smoke-none-4c-2048m", "late-cpu-none-4c-2048m"]
    with pytest.raises(LabError, match=r"--only: no entry nope in plan 'check' \(known: smoke, "):
        m.expand_only("check", ["smoke", "nope"])
    with pytest.raises(LabError, match=r"unknown plan"):
        m.expand_only("nope", ["smoke"])


def test_several_plans_expand_in_order(files):
    """--plan a,b: a's jobs then b's, each as its own plan expands them."""
    m = config.load(*files)
    both = m.expand("nightly,nightly-mainline")
    assert [s.name for s in both] == ([s.name for s in m.expand("nightly")]
                                      + [s.name for s in m.expand("nightly-mainline")])
    assert m.expand(" nightly , nightly-mainline ") == both
    only = m.expand_only("nightly,nightly-mainline", ["mainline-late-cpu-lab", "late-cpu"])
    assert [s.name for s in only] == ["late-cpu-none-4c-2048m",
                                      "mainline-late-cpu-lab-none-4c-2048m"]
    with pytest.raises(LabError, match=r"--only: no entry nope in plan 'nightly,nightly-mainline' "
                                       r"\(known: uniform-smoke, .*mainline-late-cpu-lab\)$"):
        m.expand_only("nightly,nightly-mainline", ["nope"])
    with pytest.raises(LabError, match=r"unknown plan 'weekly' \(known: smoke, "):
        m.expand("nightly,weekly")
    with pytest.raises(LabError, match=r"^--plan nightly,nightly: plan 'nightly' is given twice$"):
        m.expand("nightly,nightly")


def test_an_entry_name_in_two_plans_is_one_error_naming_both(files):
    """Never a silent _2: the runs' job names are the results' keys."""
    m = config.load(*files)
    with pytest.raises(LabError, match=r"^--plan nightly,check: entry 'mixed-kselftest' is in "
                                       r"plans 'nightly' and 'check': rename one of them"):
        m.expand("nightly,check")
    with pytest.raises(LabError, match=r"entry 'mixed-kselftest' is in plans 'nightly' and 'check'"):
        m.expand_only("nightly,check", ["uniform-smoke"])
    # different entries whose job names still meet: named too
    edit(files[0], lambda d: d["plans"].update(
        a=[{"name": "x-assume", "suite": "smoke", "modes": ["repaint"]}],
        b=[{"name": "x", "suite": "smoke", "modes": ["assume-repaint"]}]))
    m = config.load(*files)
    with pytest.raises(LabError, match=r"^--plan a,b: job 'x-assume-repaint-4c-1024m' comes from "
                                       r"plans 'a' and 'b'"):
        m.expand("a,b")


def test_nightly_mainline_plan(files):
    """7.3 on the nightly's virtual boards: mode none only, the board's own
    CPUs and memory (vboards take exactly 4 and 2048), config mainline, and
    names apart from every other plan's (so any pair of them runs)."""
    m = config.load(*files)
    specs = m.expand("nightly-mainline")
    assert [(s.entry, s.board, s.suite) for s in specs] == [
        ("mainline-uniform-kselftest", "vboard-uniform-01", "kselftest"),
        ("mainline-none-kselftest", "vboard-none-01", "kselftest"),
        ("mainline-mixed-kselftest", "qemu-mixed-01", "kselftest"),
        ("mainline-late-cpu-lab", "qemu-late-01", "late-cpu")]
    assert {(s.config, s.mode, s.cpus, s.mem_mb) for s in specs} == {("mainline", "none", 4, 2048)}
    assert "maxcpus=1" in specs[3].kernel_args.split()
    assert {s.board for s in specs} <= {s.board for s in m.expand("nightly")}
    assert all(s.entry.startswith("mainline-") for s in specs)
    for plan in m.plans:
        if plan != "nightly-mainline":
            m.expand(f"{plan},nightly-mainline")
