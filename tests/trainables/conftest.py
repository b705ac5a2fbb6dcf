"""The stand-in core in place of ecgmask for one test's trials (tests/standin_core.py)."""

from __future__ import annotations

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest


@pytest.fixture
def standin(ray_session):
    with ray_fixture.load_standin().installed() as core:
        yield core
