"""Test helpers shared by tests/trainables and tests/sweep: one Ray session per test session,
and the tiny stand-in core (loaded so that Ray pickles it by value into its workers)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STANDIN_NAME = "ecgmask_standin_core"


def load_standin():
    """tests/standin_core.py as an importable module that Ray ships by value."""
    if STANDIN_NAME in sys.modules:
        return sys.modules[STANDIN_NAME]
    spec = importlib.util.spec_from_file_location(STANDIN_NAME, HERE / "standin_core.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[STANDIN_NAME] = module
    spec.loader.exec_module(module)
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(module)
    return module


@pytest.fixture(scope="session")
def ray_session():
    """ray.init(address="local", num_cpus=2) once for the whole test session."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
