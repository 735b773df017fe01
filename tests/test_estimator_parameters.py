"""Parameters as fit checks them, device included: bad values, CUDA, device memory."""

import numpy as np
import pytest
import torch
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast

from skhealth._net import MultiTaskNet
from skhealth.architectures import CrossStitch

pytestmark = NO_CONVERGENCE_NOISE


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_layer_sizes": (32, 0)}, r"hidden_layer_sizes must be positive"),
        ({"head_layer_sizes": [-1]}, r"head_layer_sizes must be positive"),
        ({"loss": ["huber", "squared_error"]}, r"one per task \(3\)"),
        ({"loss": ["huber", "hinge", "huber"]}, r"loss must be one of"),
        ({"loss": [["huber"]] * 3}, r"loss must be one of"),
        ({"architecture": "tree"}, r"'architecture' parameter .* must be"),
        ({"device": "tpu"}, r"device='tpu' is not a valid torch device"),
        ({"learning_rate_init": 0.0}, r"'learning_rate_init' parameter"),
        ({"dropout": 1.0}, r"'dropout' parameter"),
        ({"n_members": 0}, r"'n_members' parameter"),
        ({"early_stopping": "yes"}, r"'early_stopping' parameter"),
        ({"callbacks": ["x"]}, r"skorch Callback instances .*; got 'x'"),
        (
            {"architecture": CrossStitch(alpha_self=np.nan)},
            r"'alpha_self' parameter of CrossStitch",
        ),
    ],
)
def test_bad_parameters_are_value_errors_at_fit(regression_data, params, message):
    X, Y = regression_data
    with pytest.raises(ValueError, match=message):
        fast(**params).fit(X, Y)


# -------------------------------------------------------------------- device
@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_a_clear_error(regression_data):
    X, Y = regression_data
    with pytest.raises(ValueError, match=r"CUDA is not available.*device='cpu'"):
        fast(device="cuda").fit(X, Y)


def test_cuda_index_beyond_the_devices_is_a_clear_error(regression_data, monkeypatch):
    X, Y = regression_data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"has 2 CUDA device\(s\), cuda:0 to cuda:1"):
        fast(device="cuda:2").fit(X, Y)


def test_running_out_of_device_memory_is_a_memory_error_naming_the_fixes(
    regression_data, monkeypatch
):
    X, Y = regression_data

    def out_of_memory(net, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB.\n")

    monkeypatch.setattr(MultiTaskNet, "partial_fit", out_of_memory)
    reg = fast(device="auto")
    message = (
        r"device='auto' ran out of memory training on 240 rows of 6 features, "
        r"which stay on the device while training \(CUDA out of memory. Tried to "
        r"allocate 2 GiB.\). Use device='cpu', fewer rows, a smaller batch_size"
    )
    with pytest.raises(MemoryError, match=message):
        reg.fit(X, Y)
    assert not hasattr(reg, "net_")


def test_auto_device_trains_where_it_can(regression_data):
    X, Y = regression_data
    reg = fast(device="auto").fit(X, Y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(reg.net_.module_.parameters()).device.type == expected
