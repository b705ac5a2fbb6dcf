"""A trial's start record says where Ray runs it."""

from __future__ import annotations

import pytest

from trainables.context import ray_placement


def test_outside_ray_there_is_no_placement_and_ray_is_not_started():
    import ray

    if ray.is_initialized():
        pytest.skip("a Ray session of this test run is up")
    assert ray_placement() == {}
    assert not ray.is_initialized()


@pytest.mark.slow
def test_inside_ray_the_placement_names_the_node_and_the_gpus(ray_session):
    import ray

    placement = ray_placement()
    assert placement["node_id"] == ray.get_runtime_context().get_node_id()
    assert placement["gpu_ids"] == []  # the driver holds no GPU
