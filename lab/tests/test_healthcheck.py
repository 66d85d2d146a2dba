"""Health-check jobs per device type, generated from the inventory."""
import yaml

from bbml2lab import config, healthcheck, render
from conftest import LAB

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


def test_install_calls_lavas_own_api():
    calls = []

    class Server:
        def call(self, method, *args, retries=None):
            calls.append((method, args[0]))
    jobs = healthcheck.all_jobs(render.Renderer(), MATRIX, "http://127.0.0.1:8090")
    assert healthcheck.install(Server(), jobs) == sorted(jobs)
    assert {m for m, _ in calls} == {"scheduler.device_types.set_health_check"}
