"""precision="bfloat16": the forward passes under bfloat16 autocast, the
weights, losses and predictions in float32, and nearly the accuracy of
float32."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor, load
from skhealth.datasets import make_health_data
from skhealth.privacy import DP


@pytest.fixture(scope="module")
def data():
    X, Y = make_health_data(n_samples=1500, n_features=8, n_tasks=3, random_state=0)
    return np.asarray(X), np.asarray(Y)


def _fit(data, device="cpu", **params):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return MultiTaskHealthRegressor(
            max_iter=15, random_state=0, device=device, **params
        ).fit(X[:1000], Y[:1000])


def _mean_r2(reg, data):
    X, Y = data
    predicted = reg.predict(X[1000:])
    scores = []
    for t in range(Y.shape[1]):
        labelled = ~np.isnan(Y[1000:, t])
        scores.append(r2_score(Y[1000:, t][labelled], predicted[labelled, t]))
    return np.mean(scores)


class _Dtypes:
    """Record the dtype of the first hidden layer's output at every forward."""

    def __init__(self, module):
        self.seen = []
        first = next(m for m in module.modules() if isinstance(m, torch.nn.Linear))
        first.register_forward_hook(lambda m, args, out: self.seen.append(out.dtype))


def test_bfloat16_runs_the_forward_passes_in_bfloat16(data):
    reg = _fit(data, precision="bfloat16", n_members=1)
    dtypes = _Dtypes(reg.net_.module_)
    reg.predict(data[0][:10])
    assert dtypes.seen == [torch.bfloat16]
    assert {p.dtype for p in reg.net_.module_.parameters()} == {torch.float32}
    assert reg.predict(data[0][:10]).dtype == np.float64


def test_float32_runs_them_in_float32(data):
    reg = _fit(data, n_members=1)
    dtypes = _Dtypes(reg.net_.module_)
    reg.predict(data[0][:10])
    assert dtypes.seen == [torch.float32]


def test_bfloat16_scores_within_0_01_of_float32(data):
    float32 = _mean_r2(_fit(data), data)
    bfloat16 = _mean_r2(_fit(data, precision="bfloat16"), data)
    assert float32 > 0.5
    assert abs(bfloat16 - float32) < 0.01


def test_the_classifier_trains_in_bfloat16(data):
    X, Y = data
    labels = (np.nan_to_num(Y) > np.nanmedian(Y, axis=0)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf = MultiTaskHealthClassifier(
            precision="bfloat16", max_iter=5, random_state=0
        ).fit(X, labels)
    proba = clf.predict_proba(X)
    assert all(p.dtype == np.float64 for p in proba)


def test_a_model_file_keeps_the_precision(data, tmp_path):
    reg = _fit(data, precision="bfloat16", n_members=1)
    reg.save(tmp_path / "model.skh")
    loaded = load(tmp_path / "model.skh")
    assert loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.predict(data[0]), reg.predict(data[0]))


def test_continuing_in_float32_changes_the_net(data):
    reg = _fit(data, precision="bfloat16", n_members=1, warm_start=True)
    reg.set_params(precision="float32", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg.fit(*data)
    assert reg.net_.precision == "float32"


def test_dp_refuses_bfloat16(data):
    with pytest.raises(ValueError, match="precision='bfloat16' cannot be used with dp"):
        MultiTaskHealthRegressor(
            precision="bfloat16", dp=DP(1.0, target_bounds=(-10, 10))
        ).fit(*data)


def test_an_unknown_precision_is_an_error(data):
    with pytest.raises(ValueError, match=r"'precision' parameter .* Got 'float16'"):
        MultiTaskHealthRegressor(precision="float16").fit(*data)


@pytest.mark.gpu
def test_bfloat16_on_a_gpu_scores_within_0_01_of_float32(data, cuda_device):
    float32 = _mean_r2(_fit(data, device=cuda_device), data)
    bfloat16 = _mean_r2(_fit(data, device=cuda_device, precision="bfloat16"), data)
    assert abs(bfloat16 - float32) < 0.01


def test_bfloat16_predict_is_the_mean_of_predict_with_std(data):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg = MultiTaskHealthRegressor(
            max_iter=5, n_members=3, random_state=0, precision="bfloat16"
        ).fit(X, Y)
    mean, _ = reg.predict(X, return_std=True)
    np.testing.assert_array_equal(reg.predict(X), mean)


def test_a_model_pickled_before_precision_existed_predicts_in_float32(data):
    reg = _fit(data, n_members=1)
    old = pickle.loads(pickle.dumps(reg))
    del old.__dict__["precision"]
    del old.net_.__dict__["precision"]
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["precision"] == "float32"
    np.testing.assert_array_equal(loaded.predict(data[0]), reg.predict(data[0]))


def test_onnx_export_refuses_a_bfloat16_model(data):
    pytest.importorskip("onnx")
    from skhealth.onnx import to_onnx

    reg = _fit(data, precision="bfloat16", n_members=1)
    with pytest.raises(ValueError, match="predicts in precision='bfloat16'"):
        to_onnx(reg)
