"""Guest console text: line cleanup, kernel-line separation, marker sections.

Under QEMU lines end in "\\r\\r\\n"; all trailing "\\r" are stripped. A line that
starts with a printk timestamp "[   12.345678] " is a kernel line. When the
kernel prints in the middle of a user-space line, the console shows
    ok 3 some_te[   12.345678] random: crng init done
    st_name
so the fragment before the timestamp is joined with the next non-kernel line.
"""
import re
from dataclasses import dataclass, field

TIMESTAMP = re.compile(r"\[\s*\d+\.\d{6}\] ")
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d{6}\](?: |$)")
BOOT = re.compile(r"^bbml2-lab: boot suite=(?P<suite>\S*) cpus=(?P<cpus>\S*) mem_kb=(?P<mem>\d*)$")
BEGIN = re.compile(r"^bbml2-lab: suite (?P<suite>\S+) begin$")
END = re.compile(r"^bbml2-lab: suite (?P<suite>\S+) end rc=(?P<rc>-?\d+)$")
DMESG_BEGIN = "bbml2-lab: dmesg begin"
DMESG_END = "bbml2-lab: dmesg end"
POWEROFF = "bbml2-lab: poweroff"
LINUX_VERSION = re.compile(r"\bLinux version (?P<version>\S+)(?P<rest>.*)$")


def split_lines(text):
    """Text -> lines without any trailing carriage returns."""
    return [line.rstrip("\r") for line in text.split("\n")]


def separate(lines):
    """Classify console lines, in order, as ("user", text) or ("kernel", text),
    repairing user lines that a kernel message was spliced into."""
    out, pending = [], ""
    for line in lines:
        if KERNEL_LINE.match(line):
            out.append(("kernel", line))
            continue
        m = TIMESTAMP.search(line)
        if m:
            out.append(("kernel", line[m.start():]))
            pending += line[:m.start()]
            continue
        if pending and not line.strip():
            continue                  # a blank line cannot be the continuation
        out.append(("user", pending + line))
        pending = ""
    if pending:
        out.append(("user", pending))
    return out


# el2shim (lab/el2shim/) prints its CPU table and any fatal trap with this
# prefix, at boot and whenever a CPU comes online.
FIRMWARE_PREFIX = "el2shim: "


@dataclass
class Console:
    """What the guest printed, split along the console contract markers."""
    boot: dict = None                 # {"suite", "cpus", "mem_kb"} from the boot marker
    began: str = None                 # suite name from the begin marker
    ended: bool = False
    rc: int = None
    ktap: list = field(default_factory=list)    # user lines between begin and end
    dmesg: list = field(default_factory=list)   # the dumped kernel log
    dmesg_complete: bool = False
    poweroff: bool = False
    kernel: list = field(default_factory=list)  # kernel lines seen live (outside the dump)
    linux_version: str = None         # e.g. "6.12.117 (root@vm) (gcc ...) #1 SMP ..."
    firmware: list = field(default_factory=list)  # lines of our EL2 program (el2shim: ...)


def parse(text):
    """Parse the whole console text of one boot into a Console."""
    c = Console()
    state = "pre"            # pre -> suite -> post -> dmesg -> post
    for kind, line in separate(split_lines(text)):
        if state == "dmesg":
            if kind == "user" and line == DMESG_END:
                c.dmesg_complete, state = True, "post"
            else:
                c.dmesg.append(line)
            continue
        if kind == "kernel":
            c.kernel.append(line)
            continue
        if line.startswith(FIRMWARE_PREFIX):
            c.firmware.append(line)
            continue
        m = BOOT.match(line)
        if m and c.boot is None:
            c.boot = {"suite": m["suite"], "cpus": m["cpus"],
                      "mem_kb": int(m["mem"]) if m["mem"] else None}
            continue
        m = BEGIN.match(line)
        if m and c.began is None:
            c.began, state = m["suite"], "suite"
            continue
        if state == "suite":
            m = END.match(line)
            if m and m["suite"] == c.began:
                c.ended, c.rc, state = True, int(m["rc"]), "post"
            else:
                c.ktap.append(line)
            continue
        if line == DMESG_BEGIN:
            state = "dmesg"
        elif line == POWEROFF:
            c.poweroff = True
    for line in c.kernel + c.dmesg:
        m = LINUX_VERSION.search(line)
        if m:
            c.linux_version = (m["version"] + m["rest"]).strip()
            break
    return c
