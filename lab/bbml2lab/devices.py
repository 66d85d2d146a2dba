"""LAVA device dictionaries generated from configs/boards.yaml, and the
virtual board's QEMU command line.

Every board gets build/lab/devices/<hostname>.jinja2, rendered from
lab/templates/lab-devices/<kind>.jinja2 (those templates produce jinja2
text, so they use [[ ]] / [% %] / [# #] themselves). Lab boards call
`labpower on|off|reset <board> --config <file>` for power; action timeouts
are sized from the board's min_off_ms. The dictionaries are installed on the
server with `lava-server manage device-dictionary --import` (lab/local/up.sh).
"""
import json
import math
from pathlib import Path

import jinja2

from . import LabError
from .config import board_cpus

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
DEVICE_TYPES_DIR = TEMPLATE_DIR / "device-types"
KIND_TEMPLATE = {"qemu": "qemu", "qemu-uboot": "qemu-uboot", "u-boot": "u-boot",
                 "uefi-grub": "uefi-grub"}
# labpower's own bounds (lab/power/config.c): command timeout, lock wait
POWER_CMD_S = 30
LOCK_WAIT_S = 30
UBOOT_FIRMWARE = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
QEMU = "qemu-system-aarch64"


def _env():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR / "lab-devices")),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, autoescape=False,
        block_start_string="[%", block_end_string="%]",
        variable_start_string="[[", variable_end_string="]]",
        comment_start_string="[#", comment_end_string="#]")
    env.filters["tojson"] = json.dumps
    return env


def power_timeouts(board):
    """Action timeouts (s) that fit labpower's bounds and the board's off time.

    reset = lock wait + off command + min_off + on command; off = lock wait +
    off command; each plus 10 s of margin."""
    min_off = math.ceil(board.get("power", {}).get("min_off_ms", 3000) / 1000)
    reset = LOCK_WAIT_S + 2 * POWER_CMD_S + min_off + 10
    return {"power_off_s": LOCK_WAIT_S + POWER_CMD_S + 10, "pdu_reboot_s": reset,
            "reset_device_s": reset}


def power_commands(name, labpower, config):
    """The three labpower command lines for board name."""
    base = f"{labpower} --config {config}"
    return {a: f"{base} {a} {name}" for a in ("on", "off", "reset")}


def render(name, board, labpower="labpower", power_config="/etc/labpower.conf"):
    """The device dictionary text of one board."""
    kind = board["kind"]
    if kind not in KIND_TEMPLATE:
        raise LabError(f"board {name}: no device dictionary template for kind {kind}")
    if kind != "qemu" and not board.get("console", {}).get("connection"):
        raise LabError(f"board {name}: lab boards need console.connection")
    power = board.get("power")
    ctx = {"name": name, "board": board, "hostname": board["lava"]["hostname"],
           "power": power_commands(name, labpower, power_config) if power else None,
           "timeouts": power_timeouts(board)}
    try:
        return _env().get_template(f"{KIND_TEMPLATE[kind]}.jinja2").render(**ctx)
    except jinja2.TemplateError as e:
        raise LabError(f"device template for {name} ({kind}): {e}") from None


def write_all(boards, out_dir, labpower, power_config):
    """build/lab/devices/<hostname>.jinja2 for every board; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, board in sorted(boards.items()):
        path = out / f"{board['lava']['hostname']}.jinja2"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render(name, board, labpower, power_config))
        tmp.replace(path)
        paths.append(path)
    return paths


def virtual_boards(boards):
    """name -> board for the boards this lab runs itself (kind qemu-uboot)."""
    return {n: b for n, b in boards.items() if b["kind"] == "qemu-uboot"}


def console_port(name, board):
    """The TCP port of a virtual board's console (from console.connection)."""
    words = board.get("console", {}).get("connection", "").split()
    if len(words) != 3 or words[0] != "telnet" or words[1] != "127.0.0.1" \
            or not words[2].isdigit():
        raise LabError(f"board {name}: console.connection must be "
                       "'telnet 127.0.0.1 PORT' for a virtual board")
    return int(words[2])


def machine_args(board):
    """-M/-cpu/-smp/-m of a virtual board: shared by its QEMU and its dumped DTB
    (dtb-randomness=off keeps the DTB byte-identical between the two)."""
    q = board.get("qemu", {})
    return ["-M", f"{q.get('machine', 'virt')},dtb-randomness=off",
            "-cpu", q.get("cpu", "max"), "-smp", str(len(board_cpus(board))),
            "-m", str(board["mem_mb"])]


def qemu_command(board, console_socket, tftp_dir, pidfile):
    """qemu-system-aarch64 argv that powers on a virtual u-boot board."""
    return ([QEMU] + machine_args(board) + [
        "-bios", UBOOT_FIRMWARE, "-display", "none", "-monitor", "none",
        "-netdev", f"user,id=n0,tftp={tftp_dir}", "-device", "virtio-net-pci,netdev=n0",
        "-chardev", f"socket,id=con0,path={console_socket}",
        "-serial", "chardev:con0", "-no-reboot", "-daemonize", "-pidfile", str(pidfile)])


def dtb_dump_command(board, out):
    """QEMU argv that writes the DTB this virtual board's QEMU generates."""
    q = board.get("qemu", {})
    args = machine_args(board)
    args[1] = f"{q.get('machine', 'virt')},dtb-randomness=off,dumpdtb={out}"
    return [QEMU] + args + ["-bios", UBOOT_FIRMWARE, "-display", "none"]


def device_yaml(dictionary, lava_device_types, context=None):
    """The device YAML a server renders from a dictionary with a job's context:
    our device types first, then lava-server's (lava_device_types)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(
        [str(DEVICE_TYPES_DIR), str(lava_device_types)]), trim_blocks=True, autoescape=False)
    try:
        return env.from_string(dictionary).render(**(context or {}))
    except jinja2.TemplateError as e:
        raise LabError(f"device dictionary: {e}") from None
