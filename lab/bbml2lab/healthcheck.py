"""LAVA health-check jobs, one per device type, generated from the inventory.

A health check is what LAVA runs on a device before its next job when the
device's health is Unknown (after an infrastructure error, or an admin's
"Unknown"); a failing one sets the device Bad, so the nightly skips it with
the reason (labrun.board_unusable) instead of queueing for hours. Ours is
the smoke suite in mode `none` on the first board of each device type
(power, console, bootloader, TFTP, the board kernel, the guest's markers):
the current published build (artifact base URL + <config>/..., not pinned,
since a health check must follow the latest publish).

Installed with LAVA's own API (scheduler.device_types.set_health_check, what
`lavacli device-types health-check set` calls; it needs an admin token):
`run.py health-checks --install`. The local lab's short end-to-end in
`make check` runs without them (decisions-2026-12: its budget).
"""
from . import artcheck, render

SUITE = "smoke"


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
    data["metadata"]["bbml2lab.health_check"] = "true"
    render.validate_job(data, where=f"health check of {name}")
    return data


def all_jobs(renderer, matrix, base):
    """{device type: job dict} of every device type the inventory's lab boards name."""
    boards = matrix.boards
    return {t: job(renderer, matrix, n, boards[n], base)
            for t, n in boards_by_type(boards).items()}


def install(server, jobs):
    """Set each device type's health check on the server (admin token)."""
    done = []
    for device_type, data in sorted(jobs.items()):
        server.call("scheduler.device_types.set_health_check", device_type, render.dump(data),
                    retries=1)
        done.append(device_type)
    return done
