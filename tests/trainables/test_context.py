"""TrialContext carries the resolved profile and pickles; the trainables' own imports are the
real ecgmask entry points, which the stand-in replaces only inside `installed()`."""

from __future__ import annotations

import pickle

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest

import ecgmask.data
import ecgmask.pretrain
import ecgmask.transfer
import trainables.context
import trainables.pretrain
import trainables.probe
import trainables.search
from ecgmask.profiles import LAPTOP
from sweep.store.layout import PROBE
from trainables.context import TrialContext

REAL = {
    "EcgCache": ecgmask.data.EcgCache,
    "PretrainConfig": ecgmask.pretrain.PretrainConfig,
    "Pretrainer": ecgmask.pretrain.Pretrainer,
    "ProbeConfig": ecgmask.transfer.ProbeConfig,
    "run_probe": ecgmask.transfer.run_probe,
}
MODULES = (trainables.context, trainables.pretrain, trainables.probe, trainables.search)


def _bound() -> dict:
    return {(m.__name__, name): getattr(m, name) for m in MODULES for name in REAL if hasattr(m, name)}


def test_the_context_carries_a_resolved_profile_and_pickles(tmp_path):
    profile = LAPTOP.with_overrides(epochs=7)
    context = TrialContext(sweep_dir=str(tmp_path), profile=profile, data={"pretrain": "a", "downstream": "b"}, cpus=2)
    import ray.cloudpickle

    for dumps, loads in ((pickle.dumps, pickle.loads), (ray.cloudpickle.dumps, ray.cloudpickle.loads)):
        copy = loads(dumps(context))
        assert copy == context and copy.profile.epochs == 7
    assert context.layout.done(PROBE, "k").startswith(str(tmp_path))


def test_a_profile_name_is_refused(tmp_path):
    with pytest.raises(TypeError, match="resolved"):
        TrialContext(sweep_dir=str(tmp_path), profile="laptop", data={})


def test_the_trainables_call_ecgmask_and_the_standin_only_inside_installed():
    bound = _bound()
    assert bound and all(value is REAL[name] for (_, name), value in bound.items())
    standin = ray_fixture.load_standin()
    with standin.installed():
        assert all(value is getattr(standin, name) for (_, name), value in _bound().items())
    assert _bound() == bound
