"""Device dictionaries from the inventory (golden files), the virtual board's
QEMU command line, lab/vboard/vboard's power semantics and fault injection,
and the console bridge (lab/local/labd.py console)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bbml2lab import LabError, config, devices

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden/devices"
LAVA_TYPES = REPO / "build/lava-server/usr/share/lava-server/device-types"
BOARDS = config.load_boards(REPO / "configs/boards.yaml")
LABPOWER, POWER_CONF = "/opt/bbml2-lab/labpower", "/opt/bbml2-lab/labpower.conf"
VBOARD = REPO / "lab/vboard/vboard"
UPDATE = os.environ.get("BBML2LAB_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dictionary_matches_golden(name):
    text = devices.render(name, BOARDS[name], LABPOWER, POWER_CONF)
    golden = GOLDEN / f"{BOARDS[name]['lava']['hostname']}.jinja2"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden file {golden}: BBML2LAB_UPDATE_GOLDEN=1 writes it"
    assert text == golden.read_text()


def test_every_golden_file_has_a_board():
    hosts = {b["lava"]["hostname"] for b in BOARDS.values()}
    stale = {p.stem for p in GOLDEN.glob("*.jinja2")} - hosts
    assert not stale, f"golden files of boards no longer in the inventory: {stale}"


@pytest.mark.skipif(not (LAVA_TYPES / "base-uboot.jinja2").is_file(),
                    reason=f"lava-server device types not unpacked in {LAVA_TYPES} (make deps)")
@pytest.mark.parametrize("name", sorted(n for n, b in BOARDS.items() if b["kind"] != "qemu"))
def test_lab_dictionary_renders_the_board(name):
    board = BOARDS[name]
    dev = yaml.safe_load(devices.device_yaml(
        devices.render(name, board, LABPOWER, POWER_CONF), LAVA_TYPES))
    cmds = dev["commands"]
    assert cmds["connect"] == board["console"]["connection"]
    base = f"{LABPOWER} --config {POWER_CONF}"
    assert (cmds["power_on"], cmds["power_off"], cmds["hard_reset"]) == \
        (f"{base} on {name}", f"{base} off {name}", f"{base} reset {name}")
    t = dev["timeouts"]["actions"]
    min_off_s = board["power"].get("min_off_ms", 3000) / 1000
    # a reset waits for the lock, runs off and on, and stays off min_off_ms
    assert t["pdu-reboot"]["seconds"] >= 30 + 2 * 30 + min_off_s
    assert t["power-off"]["seconds"] >= 60
    if "uboot" in board:
        assert dev["parameters"]["booti"]["kernel"] == board["uboot"]["kernel_addr"]
        ramdisk = dev["actions"]["boot"]["methods"]["u-boot"]["ramdisk"]["commands"]
        assert any(f"console={board['console']['device']},{board['console']['baud']}n8" in c
                   for c in ramdisk), ramdisk


def test_power_timeouts_follow_min_off():
    assert devices.power_timeouts({"power": {"min_off_ms": 5000}}) == \
        {"power_off_s": 70, "pdu_reboot_s": 105, "reset_device_s": 105}
    assert devices.power_timeouts({"power": {"min_off_ms": 10001}})["pdu_reboot_s"] == 111


def test_lab_board_without_console_connection_is_refused():
    name = next(n for n, b in BOARDS.items() if b["kind"] == "u-boot")
    board = dict(BOARDS[name], console={"device": "ttyS2", "baud": 1500000})
    with pytest.raises(LabError, match=f"board {name}: lab boards need console.connection"):
        devices.render(name, board)


@pytest.mark.parametrize("conn", ["telnet 10.1.1.1 7101", "ser2net 7101", "telnet 127.0.0.1 x"])
def test_virtual_console_must_be_loopback_telnet(conn):
    with pytest.raises(LabError, match="must be 'telnet 127.0.0.1 PORT'"):
        devices.console_port("vb", {"console": {"connection": conn}})


def test_write_all_writes_one_dictionary_per_board(tmp_path):
    paths = devices.write_all(BOARDS, tmp_path / "d", LABPOWER, POWER_CONF)
    assert sorted(p.name for p in paths) == sorted(f"{b['lava']['hostname']}.jinja2"
                                                   for b in BOARDS.values())
    assert not list((tmp_path / "d").glob("*.tmp"))


@pytest.mark.parametrize("name", sorted(devices.virtual_boards(BOARDS)))
def test_qemu_command_and_dtb_dump_share_the_machine(name):
    board = BOARDS[name]
    cmd = devices.qemu_command(board, "/run/x.console", "/srv/tftp", "/run/x.pid")
    arg = dict(zip(cmd, cmd[1:]))
    assert arg["-cpu"] == board["qemu"]["cpu"]
    assert arg["-smp"] == str(sum(g["count"] for g in board["cpus"]))
    assert arg["-m"] == str(board["mem_mb"])
    assert arg["-bios"] == "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
    assert arg["-netdev"] == "user,id=n0,tftp=/srv/tftp"
    assert arg["-chardev"] == "socket,id=con0,path=/run/x.console"
    assert "-daemonize" in cmd and "-no-reboot" in cmd
    dump = devices.dtb_dump_command(board, "/tmp/o.dtb")
    darg = dict(zip(dump, dump[1:]))
    assert darg["-M"] == arg["-M"] + ",dumpdtb=/tmp/o.dtb"
    assert [darg[k] for k in ("-cpu", "-smp", "-m", "-bios")] == \
        [arg[k] for k in ("-cpu", "-smp", "-m", "-bios")]


VNAME = sorted(devices.virtual_boards(BOARDS))[0]


def _vboard(run_dir, *args):
    env = dict(os.environ, BBML2LAB_RUN_DIR=str(run_dir))
    return subprocess.run([sys.executable, str(VBOARD), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_vboard_injected_power_fault_fails_once(tmp_path):
    (tmp_path / "faults").mkdir()
    (tmp_path / "faults" / f"{VNAME}.power-on").write_text("1\n")
    r = _vboard(tmp_path, "start", VNAME)
    assert r.returncode == 1 and "injected power fault" in r.stderr
    assert not (tmp_path / "faults" / f"{VNAME}.power-on").exists()
    # the next start gets past the fault, and stops at the missing console
    r = _vboard(tmp_path, "start", VNAME)
    assert r.returncode == 1 and "no console bridge" in r.stderr


def test_vboard_fault_count_decrements(tmp_path):
    (tmp_path / "faults").mkdir()
    f = tmp_path / "faults" / f"{VNAME}.power-on"
    f.write_text("2\n")
    assert _vboard(tmp_path, "start", VNAME).returncode == 1
    assert f.read_text() == "1\n"


def test_vboard_fault_after_skipped_starts(tmp_path):
    (tmp_path / "faults").mkdir()
    f = tmp_path / "faults" / f"{VNAME}.power-on"
    f.write_text("1 1\n")
    r = _vboard(tmp_path, "start", VNAME)          # let through: fails later, at the console
    assert r.returncode == 1 and "no console bridge" in r.stderr
    assert f.read_text() == "0 1\n"
    r = _vboard(tmp_path, "start", VNAME)
    assert r.returncode == 1 and "injected power fault" in r.stderr
    assert not f.exists()


def _fake_lava_run(tmp_path, job_name):
    """A parent process that looks like lava-run to vboard: lava-run in its
    argv, stdout into D, and D/job.yaml names the job."""
    out = tmp_path / "lava-job"
    out.mkdir(exist_ok=True)
    (out / "job.yaml").write_text(f"job_name: {job_name!r}\n")
    fake = tmp_path / "lava-run"
    # like the real one: argv retitled away, stdout into the job's dir
    fake.write_text("import os, subprocess, sys\n"
                    "fd = os.open(sys.argv[1] + '/stdout', os.O_WRONLY | os.O_CREAT)\n"
                    "os.dup2(fd, 1)\n"
                    "sys.exit(subprocess.run(sys.argv[2:]).returncode)\n")
    return [sys.executable, str(fake), str(out)]


def _vboard_under(tmp_path, job_name, *args):
    env = dict(os.environ, BBML2LAB_RUN_DIR=str(tmp_path))
    return subprocess.run(_fake_lava_run(tmp_path, job_name) + [sys.executable, str(VBOARD),
                                                                *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_vboard_fault_for_a_named_job_only(tmp_path):
    (tmp_path / "faults").mkdir()
    f = tmp_path / "faults" / f"{VNAME}.power-on"
    f.write_text("lab-infra-fault 1\n")
    r = _vboard_under(tmp_path, "bbml2-lab lab-smoke-none-4c-2048m", "start", VNAME)
    assert "no console bridge" in r.stderr and f.read_text() == "lab-infra-fault 1\n"
    r = _vboard(tmp_path, "start", VNAME)              # not under lava-run at all
    assert "no console bridge" in r.stderr and f.exists()
    r = _vboard_under(tmp_path, "bbml2-lab lab-infra-fault-none-4c-2048m", "start", VNAME)
    assert r.returncode == 1 and "injected power fault" in r.stderr
    assert not f.exists()
    r = _vboard_under(tmp_path, "bbml2-lab lab-infra-fault-none-4c-2048m", "start", VNAME)
    assert "no console bridge" in r.stderr              # the retry gets through


def test_vboard_status_and_stop_when_off(tmp_path):
    r = _vboard(tmp_path, "status", VNAME)
    assert (r.returncode, r.stdout.strip()) == (1, "off")
    r = _vboard(tmp_path, "stop", VNAME)
    assert r.returncode == 0 and "already off" in r.stdout


def test_vboard_refuses_other_boards_and_bad_usage(tmp_path):
    name = next(n for n, b in BOARDS.items() if b["kind"] == "u-boot")
    r = _vboard(tmp_path, "start", name)
    assert r.returncode == 2 and "not a virtual board" in r.stderr
    r = _vboard(tmp_path, "reboot", VNAME)
    assert r.returncode == 2 and r.stderr.strip() == "usage: vboard start|stop|status BOARD"


# --- console bridge ---------------------------------------------------------------

IAC, WILL, DO = 255, 251, 253


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bridge(tmp_path):
    port = _free_port()
    sock = tmp_path / "b.console"
    pidfile = tmp_path / "b.pid"
    r = subprocess.run([sys.executable, str(REPO / "lab/local/labd.py"), "console",
                        "--listen", f"127.0.0.1:{port}", "--socket", str(sock),
                        "--pidfile", str(pidfile), "--log", str(tmp_path / "b.log"),
                        "--console-log", str(tmp_path / "con.log")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid = int(pidfile.read_text())
    yield port, sock, tmp_path
    os.kill(pid, 15)


def _recv(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_bridge_listens_before_the_board_and_relays(bridge):
    port, sock, tmp = bridge
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    # ser2net-like telnet negotiation: remote echo, character mode
    assert _recv(client, 9) == bytes([IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 3])
    board = socket.socket(socket.AF_UNIX)
    board.settimeout(10)
    board.connect(str(sock))
    board.sendall(b"U-Boot \xff=> ")
    assert _recv(client, 12) == b"U-Boot \xff\xff=> "      # 0xff escaped for telnet
    # telnet commands and CR NUL are stripped on the way to the board
    client.sendall(bytes([IAC, DO, 1, IAC, 250, 24, 0, IAC, 240]) + b"x\r\0y" + bytes([IAC, IAC]))
    assert _recv(board, 4) == b"x\ry\xff"
    board.close()
    # the board went away by itself (poweroff, -no-reboot): LAVA sees EOF
    assert client.recv(100) == b""
    assert (tmp / "con.log").read_bytes() == b"U-Boot \xff=> "


def test_bridge_keeps_the_client_across_a_power_off(bridge):
    port, sock, _ = bridge
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    _recv(client, 9)
    board = socket.socket(socket.AF_UNIX)
    board.connect(str(sock))
    Path(str(sock) + ".stopping").touch()          # what `vboard stop` leaves
    board.close()
    board = socket.socket(socket.AF_UNIX)          # powered on again
    board.settimeout(10)
    board.connect(str(sock))
    board.sendall(b"again")
    assert _recv(client, 5) == b"again"
    assert not Path(str(sock) + ".stopping").exists()


def test_bridge_refuses_non_loopback(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "lab/local/labd.py"), "http",
                        "--listen", "0.0.0.0:8090", "--root", str(tmp_path),
                        "--pidfile", str(tmp_path / "p"), "--log", str(tmp_path / "l")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "loopback only" in r.stderr
