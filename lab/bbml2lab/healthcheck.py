"""LAVA health-check jobs, one per device type, generated from the inventory.

A health check is what LAVA runs on a device before its next job when the
device's health is Unknown (after an infrastructure error, or an admin's
"Unknown"); a failing one sets the device Bad, so the nightly skips it with
the reason (labrun.board_unusable) instead of queueing for hours. Ours is
the smoke job in mode `none` of the first board of each device type, its
monitor cut to the kernel (power, console, bootloader, TFTP, the board
kernel from its banner to the start of init), from the current published
build (artifact base URL + <config>/..., not pinned, since a health check
must follow the latest publish).

Installed with LAVA's own API: scheduler.device_types.set_health_check
(what `lavacli device-types health-check set` calls) writes the job, and
scheduler.device_types.update(health_disabled=...) switches it on or off.
Both need the permission change_devicetype: a superuser, or on the local
lab the user bbml2-lab-hc that has only that permission (its credentials
file is LAB_HEALTH_CHECKS in build/lab/env); the runner's own user cannot.
`run.py health-checks --install` / `--off`; the nightly installs them for
the device types of its boards before it submits (`lab-e2e` with it), and
the short end-to-end in `make check` switches them off (decisions-2026-12:
its budget).
"""
from . import artcheck, lavaserver, render

SUITE = "smoke"
# The health check's monitor runs from the kernel's banner to its start of
# init, not over the smoke suite: the suite, the dmesg dump and the guest's
# poweroff arrive within milliseconds, and when the console closes right
# behind them LAVA's monitor can end on "Connection closed" (an
# infrastructure error) although the board is fine: seen on the local lab
# (vboard-uniform-01's first health check went Bad so). "Run /init" comes
# about half a second before the suite even starts.
KERNEL_MONITOR = {"name": "health-check", "start": "Linux version",
                  "end": "Run /init as init process"}


def boards_by_type(boards):
    """{device type: first board of that type} for boards a server runs."""
    out = {}
    for name, b in sorted(boards.items()):
        lava = b.get("lava") or {}
        if b["kind"] == "qemu" or not lava.get("device_type"):
            continue
        out.setdefault(lava["device_type"], name)
    return out


def job(renderer, matrix, name, board, base):
    """The health-check job dict of board `name` (validated)."""
    spec = matrix.expand_entries([{"name": "health-check", "suite": SUITE}],
                                 {"board": name, "modes": ["none"]})[0]
    files = artcheck.job_files(spec, board)
    urls = {k: artcheck.url(base, p) for k, p in files.items()}
    kernel, shim = urls["kernel"], None
    if "image" in urls:
        kernel, shim = urls["image"], urls["kernel"]
    data, _ = renderer.job(spec, board, kernel, urls["ramdisk"], urls.get("dtb"),
                           shim_url=shim)
    data["job_name"] = f"bbml2-lab health-check {board['lava']['device_type']}"
    for action in data["actions"]:
        for monitor in (action.get("test") or {}).get("monitors", []):
            monitor.update(KERNEL_MONITOR)
    data["metadata"]["bbml2lab.health_check"] = "true"
    render.validate_job(data, where=f"health check of {name}")
    return data


def all_jobs(renderer, matrix, base):
    """{device type: job dict} of every device type the inventory's lab boards name."""
    boards = matrix.boards
    return {t: job(renderer, matrix, n, boards[n], base)
            for t, n in boards_by_type(boards).items()}


def types_of(boards, names):
    """Device types that have a health check, of the boards `names`."""
    by_type = boards_by_type(boards)
    return sorted({boards[n]["lava"]["device_type"] for n in names
                   if boards[n]["lava"].get("device_type") in by_type})


def _update(server, device_type, disabled):
    """scheduler.device_types.update: only health_disabled changes."""
    server.call("scheduler.device_types.update", device_type, None, None, None, None, None,
                bool(disabled), retries=1)


def _on_server(server, device_type):
    """True if the server has the device type; PermanentError 404 is no."""
    try:
        server.call("scheduler.device_types.show", device_type, retries=1)
    except lavaserver.PermanentError as e:
        if e.code == 404:
            return False
        raise
    return True


def install(server, jobs):
    """Set and switch on each device type's health check on the server;
    (installed, absent): device types the server does not have are left
    alone. LavaError from the server (a refused permission: 403)."""
    done, absent = [], []
    for device_type, data in sorted(jobs.items()):
        if not _on_server(server, device_type):
            absent.append(device_type)
            continue
        server.call("scheduler.device_types.set_health_check", device_type, render.dump(data),
                    retries=1)
        _update(server, device_type, disabled=False)
        done.append(device_type)
    return done, absent


def switch_off(server, device_types):
    """Health checks off for these device types (their jobs stay on the
    server); returns the types switched off (those the server has)."""
    done = []
    for device_type in sorted(device_types):
        if _on_server(server, device_type):
            _update(server, device_type, disabled=True)
            done.append(device_type)
    return done


def state(server, device_type):
    """"on", "off" (disabled) or "none" (no health-check job) on the server."""
    show = server.call("scheduler.device_types.show", device_type, retries=1)
    try:
        server.call("scheduler.device_types.get_health_check", device_type, retries=1)
    except lavaserver.PermanentError as e:
        if e.code == 404:
            return "none"
        raise
    return "off" if (show or {}).get("health_disabled") else "on"
