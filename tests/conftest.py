import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Ray's token auth is set explicitly for every process the tests start.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def generator():
    g = torch.Generator()
    g.manual_seed(0)
    return g


def _load_ray_fixture():
    """tests/ray_fixture.py under one module name (tests import it as ecgmask_tests_ray_fixture)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "ecgmask_tests_ray_fixture"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "ray_fixture.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# One Ray session for the whole test run, started only by the tests that ask for it.
ray_session = _load_ray_fixture().ray_session
