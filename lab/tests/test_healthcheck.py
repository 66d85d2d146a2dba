"""Health-check jobs per device type, generated from the inventory."""
import json

import yaml

from bbml2lab import config, healthcheck, nightly, notify, render
from conftest import LAB
from test_labrun import lab, server  # noqa: F401

REPO = LAB.parent
MATRIX = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")


def test_one_valid_health_check_per_device_type_of_the_lab_boards():
    jobs = healthcheck.all_jobs(render.Renderer(), MATRIX, "http://127.0.0.1:8090")
    types = {b["lava"]["device_type"] for b in MATRIX.boards.values() if b["kind"] != "qemu"}
    assert set(jobs) == types and types >= {"rk3399-rock-pi-4b", "bcm2711-rpi-4-b",
                                            "bbml2-qemu-uboot"}
    for device_type, job in jobs.items():
        render.validate_job(job, where=device_type)            # LAVA's schema
        assert job["device_type"] == device_type
        assert job["job_name"] == f"bbml2-lab health-check {device_type}"
        text = render.dump(job)
        # it follows the latest publish: top-level URLs, nothing pinned
        assert "sha256sum" not in text and "/builds/" not in text
        assert "http://127.0.0.1:8090/" in text
        assert yaml.safe_load(text)["metadata"]["bbml2lab.mode"] == "none"
        # the monitor ends at the start of init, long before the guest's
        # poweroff closes the console (a monitor over the smoke suite ended
        # on "Connection closed" and set a good board Bad)
        (monitor,) = [m for a in job["actions"] if "test" in a for m in a["test"]["monitors"]]
        assert (monitor["start"], monitor["end"]) == ("Linux version", "Run /init as init process")


def test_install_sets_and_switches_on_through_lavas_own_api(lab):
    """Against the fake server: set_health_check + update(health_disabled
    False) for the types the server has, the others reported; `off` switches
    them off and leaves the job. Catches an install that writes the job but
    leaves a disabled type off (make check's e2e switched it off)."""
    fake, _, _, clock = lab
    fake.device_types["bbml2-qemu-uboot"]["health_disabled"] = True
    s = server(fake, clock)
    jobs = healthcheck.all_jobs(render.Renderer(), MATRIX, "http://127.0.0.1:8090")
    done, absent = healthcheck.install(s, jobs)
    assert done == ["bbml2-qemu-uboot"] and absent == sorted(set(jobs) - {"bbml2-qemu-uboot"})
    assert healthcheck.state(s, "bbml2-qemu-uboot") == "on"
    assert yaml.safe_load(fake.device_types["bbml2-qemu-uboot"]["health_check"])[
        "job_name"] == "bbml2-lab health-check bbml2-qemu-uboot"
    assert [m for m, _ in fake.calls if "device_types.s" in m or "update" in m].count(
        "scheduler.device_types.set_health_check") == 1
    assert healthcheck.switch_off(s, jobs) == ["bbml2-qemu-uboot"]
    assert healthcheck.state(s, "bbml2-qemu-uboot") == "off"
    assert fake.device_types["bbml2-qemu-uboot"]["health_check"]        # the job stays
    fake.device_types["bbml2-qemu-uboot"]["health_check"] = None
    assert healthcheck.state(s, "bbml2-qemu-uboot") == "none"


def test_the_nightly_installs_them_for_its_boards_and_a_refusal_is_recorded(tmp_path, lab):
    """nightly.health_checks: with the health-check user's credentials file
    the night's device types are installed and on; a user without the
    permission (403) or no credentials is a record and a line, never the
    end of the night."""
    fake, url, _, _ = lab
    creds = tmp_path / "hc.yaml"
    creds.write_text(yaml.safe_dump({"uri": fake.uri, "username": fake.username,
                                     "token": fake.token}))
    creds.chmod(0o600)
    specs = MATRIX.expand("nightly")
    said = []
    rec = nightly.health_checks(str(creds), MATRIX, specs, url, None, said.append)
    assert rec["device_types"] == ["bbml2-qemu-uboot"] and rec["installed"] == ["bbml2-qemu-uboot"]
    assert rec["user"] == fake.username and "error" not in rec
    assert said == [f"nightly: health checks on for bbml2-qemu-uboot (as {fake.username})"]
    fake.may_change_device_types = False
    rec = nightly.health_checks(str(creds), MATRIX, specs, url, None, said.append)
    assert rec["installed"] == [] and "fault 403" in rec["error"] and fake.token not in rec["error"]
    rec = nightly.health_checks(None, MATRIX, specs, url, None, said.append)
    assert rec["installed"] == [] and "LAB_HEALTH_CHECKS" in rec["why"]
    # and the night's summary says which
    meta = {"health_checks": {"installed": ["bbml2-qemu-uboot"]}, "jobs": []}
    run = tmp_path / "run"
    run.mkdir()
    (run / "metadata.json").write_text(json.dumps(meta))
    cmp = {"new_failures": [], "fixed": [], "flaky": [], "missing": [], "infrastructure": []}
    _, text = notify.summary(run, cmp, None)
    assert "health checks: on for bbml2-qemu-uboot" in text.splitlines()
