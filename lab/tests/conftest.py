"""Shared test setup: import path, fixture data, the integration marker."""
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB))

DATA = Path(__file__).resolve().parent / "data"


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: boots a real kernel with lava-run")


@pytest.fixture
def data():
    """Path of the fixture data directory."""
    return DATA


def by_name(results):
    """{name: result dict} (names are unique within one parse)."""
    out = {r["name"]: r for r in results}
    assert len(out) == len(results), "duplicate result names"
    return out


def read(path):
    """File text with its line endings untouched (no universal newlines:
    console fixtures end lines in "\\r\\r\\n" like QEMU's console)."""
    with open(path, newline="") as f:
        return f.read()
