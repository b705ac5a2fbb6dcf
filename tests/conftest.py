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
