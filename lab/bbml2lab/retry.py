"""When a lab job may be resubmitted, and what an exhausted retry is.

A job is resubmitted only while nothing shows that a kernel started: LAVA
calls a panic that closes a QEMU console "Connection closed", an
infrastructure error, but once the kernel ran it is the kernel's failure.
Evidence of a started kernel, in the order checked:
  our boot marker (bbml2-lab: boot ...)
  the kernel's banner (Linux version ...)
  el2shim's fatal lines (el2shim: FATAL ...): the EL2 program ran the CPUs
  a kernel splat on the console
  u-boot's "Starting kernel ..." (it handed over; what followed is the kernel's)
An attempt that ends as an infrastructure error with none of these is an
infrastructure error; when no retry is left it is reported as such, per
board, and never as test failures.
"""
from . import health

MAX_RESUBMIT = 2
UBOOT_HANDOVER = "Starting kernel"


def kernel_started(con, console_lines=()):
    """Why we know a kernel ran on this attempt, or None."""
    if con.boot:
        return "the guest booted (boot marker seen)"
    if con.linux_version:
        return f"the kernel started (Linux version {con.linux_version.split()[0]})"
    fatal = [line for line in con.firmware if health.FIRMWARE_FATAL.search(line)]
    if fatal:
        return f"el2shim stopped the boot ({fatal[0].strip()})"
    splats = health.find_splats(con.kernel + con.dmesg)
    if splats:
        return f"kernel splat before the boot marker: {splats[0]}"
    if any(UBOOT_HANDOVER in line for line in console_lines):
        return "u-boot started the kernel (Starting kernel ...)"
    return None


def infrastructure_error(show, verdict, started):
    """True when the attempt ended as LAVA's infrastructure error before
    any kernel ran: what a retry may cure."""
    return (show.get("health") == "Incomplete"
            and (verdict or {}).get("error_type") == "Infrastructure" and not started)


def should_resubmit(show, verdict, con, attempts, max_resubmit=MAX_RESUBMIT, console_lines=()):
    """(bool, why): the retry rule, on LAVA's health/error type and our parse."""
    if show.get("health") != "Incomplete":
        return False, f"health {show.get('health')}"
    error_type = (verdict or {}).get("error_type")
    if error_type != "Infrastructure":
        return False, f"error type {error_type}"
    started = kernel_started(con, console_lines)
    if started:
        return False, f"{started}: a test failure, not retried"
    if attempts > max_resubmit:
        return False, f"resubmitted {max_resubmit} times already"
    return True, f"infrastructure error before boot: {(verdict or {}).get('error_msg')}"
