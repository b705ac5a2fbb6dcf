import pytest
import torch

from ecgmask.device import autocast, resolve_device


def test_auto_device_is_cuda_only_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_asking_for_cuda_without_one_names_the_device():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_autocast_leaves_cpu_in_float32():
    with autocast(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


def test_a_trial_without_gpus_or_on_the_cpu_by_choice_passes(monkeypatch):
    from ecgmask.device import check_gpus_visible

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    check_gpus_visible([], "auto")  # no GPU given
    check_gpus_visible([0], "cpu")  # given one, but the settings chose the CPU
    check_gpus_visible(["1"], torch.device("cpu"))


def test_a_trial_given_a_gpu_it_cannot_see_fails_naming_the_node(monkeypatch):
    import socket

    from ecgmask.device import GpuNotVisible, check_gpus_visible

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(GpuNotVisible) as err:
        check_gpus_visible([3], "auto")
    message = str(err.value)
    assert "\n" not in message
    assert f"node {socket.gethostname()}" in message and "GPU 3" in message and "CUDA_VISIBLE_DEVICES='3'" in message


def test_a_visible_gpu_passes(monkeypatch):
    from ecgmask.device import check_gpus_visible

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    check_gpus_visible([0], "auto")
