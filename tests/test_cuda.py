"""Training and serving on a CUDA device.

CI has no GPU: these tests skip there, and run on a machine with one
(``python -m pytest -m gpu``).
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.exceptions import DeviceWarning

import skhealth
from skhealth import MultiTaskHealthRegressor
from skhealth.cli import main

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

ARCHITECTURES = ["hard", "mmoe", "cross_stitch", "hierarchical"]
WEIGHTINGS = ["equal", [1.0, 2.0, 0.5], "uncertainty", "dwa", "gradnorm", "pcgrad"]


def fast(**params):
    """Small, without dropout and training every epoch asked for, so that CPU
    and GPU fits can be compared (early stopping could stop them at different
    epochs over a rounding difference)."""
    defaults = dict(
        hidden_layer_sizes=(32,),
        max_iter=30,
        n_members=2,
        dropout=0.0,
        early_stopping=False,
        random_state=0,
    )
    return MultiTaskHealthRegressor(**{**defaults, **params})


def devices_of(reg):
    """The devices of every tensor the fitted net trains: network and criterion."""
    net = reg.net_
    tensors = [
        *net.module_.parameters(),
        *net.module_.buffers(),
        *net.criterion_.parameters(),
        *net.criterion_.buffers(),
    ]
    return {t.device.type for t in tensors}


def with_missing_labels(Y, rate=0.2, seed=0):
    Y = Y.copy()
    Y[np.random.RandomState(seed).rand(*Y.shape) < rate] = np.nan
    return Y


def assert_trains_on_cuda_like_on_cpu(X, Y, sample_weight=None, **params):
    """The same training on the GPU and on the CPU: only float rounding differs.

    Without shuffling, as the GPU draws its permutations from its own generator.
    """
    params.setdefault("shuffle", False)
    on_gpu = fast(device="cuda", **params).fit(X, Y, sample_weight=sample_weight)
    assert devices_of(on_gpu) == {"cuda"}
    on_cpu = fast(**params).fit(X, Y, sample_weight=sample_weight)
    scale = np.nanstd(Y, axis=0)  # each task in its own units
    np.testing.assert_allclose(
        on_gpu.predict(X) / scale, on_cpu.predict(X) / scale, rtol=1e-2, atol=2e-2
    )


# --------------------------------------------------------------- training
def test_fit_on_cuda_predicts_like_cpu(regression_data):
    X, Y = regression_data  # every label observed: no label weights
    assert_trains_on_cuda_like_on_cpu(X, Y)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_architecture_trains_on_cuda_like_on_cpu(regression_data, architecture):
    X, Y = regression_data
    assert_trains_on_cuda_like_on_cpu(
        X, with_missing_labels(Y), architecture=architecture
    )


@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=str)
def test_every_weighting_trains_on_cuda_like_on_cpu(regression_data, weighting):
    X, Y = regression_data
    assert_trains_on_cuda_like_on_cpu(
        X, with_missing_labels(Y), task_weighting=weighting
    )


def test_cross_fitting_on_cuda_scores_as_on_cpu(regression_data):
    X, Y = regression_data
    Y = with_missing_labels(Y)
    params = dict(early_stopping="cross_fit", n_members=3, shuffle=False)
    on_gpu = fast(device="cuda", **params).fit(X, Y)
    assert devices_of(on_gpu) == {"cuda"}
    assert on_gpu.cross_fit_
    on_cpu = fast(**params).fit(X, Y)
    assert on_gpu.best_validation_score_ == pytest.approx(
        on_cpu.best_validation_score_, abs=0.02
    )
    np.testing.assert_allclose(on_gpu.network_share_, on_cpu.network_share_, atol=0.1)
    assert on_gpu.score(X, Y) == pytest.approx(on_cpu.score(X, Y), abs=0.02)


def test_sample_weight_on_cuda_weighs_as_on_cpu(regression_data):
    X, Y = regression_data
    sample_weight = np.random.RandomState(0).uniform(0.1, 3.0, len(X))
    assert_trains_on_cuda_like_on_cpu(X, Y, sample_weight)


def test_early_stopping_on_cuda_keeps_the_best_epoch(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda", early_stopping=True, max_iter=60).fit(X, Y)
    assert devices_of(reg) == {"cuda"}
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert r2_score(Y, reg.predict(X)) > 0.5


def test_same_random_state_on_cuda_gives_bit_identical_predictions(regression_data):
    X, Y = regression_data
    params = dict(device="cuda", dropout=0.2, early_stopping=True, shuffle=True)
    np.testing.assert_array_equal(
        fast(**params).fit(X, Y).predict(X), fast(**params).fit(X, Y).predict(X)
    )


def test_fit_on_cuda_leaves_the_callers_cuda_random_state_alone(regression_data):
    X, Y = regression_data
    before = torch.cuda.get_rng_state()
    fast(device="cuda", dropout=0.2).fit(X, Y)
    assert torch.equal(torch.cuda.get_rng_state(), before)


def test_fit_on_the_cpu_leaves_the_cuda_random_state_alone(regression_data):
    X, Y = regression_data
    before = torch.cuda.get_rng_state()
    fast(dropout=0.2).fit(X, Y)
    assert torch.equal(torch.cuda.get_rng_state(), before)


def test_explicit_device_index_trains_there(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda:0", max_iter=2).fit(X, Y)
    assert {p.device for p in reg.net_.module_.parameters()} == {
        torch.device("cuda", 0)
    }


def test_partial_fit_continues_on_cuda(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda").partial_fit(X, Y)
    reg.partial_fit(X, Y)
    assert reg.n_iter_ == 2
    assert devices_of(reg) == {"cuda"}


def test_warm_start_continues_on_cuda(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda", warm_start=True, max_iter=5).fit(X, Y)
    weights = {k: v.clone() for k, v in reg.net_.module_.state_dict().items()}
    reg.fit(X, Y)
    assert reg.n_iter_ == 10
    assert devices_of(reg) == {"cuda"}
    assert any(
        not torch.equal(before, reg.net_.module_.state_dict()[key])
        for key, before in weights.items()
    )


def test_grid_search_over_a_cuda_pipeline(regression_data):
    X, Y = regression_data
    search = GridSearchCV(
        make_pipeline(StandardScaler(), fast(device="cuda", max_iter=5)),
        {"multitaskhealthregressor__hidden_layer_sizes": [(8,), (16,)]},
        cv=2,
    ).fit(X, Y)
    assert devices_of(search.best_estimator_[-1]) == {"cuda"}
    assert search.predict(X).shape == Y.shape


# ---------------------------------------------------------------- serving
def test_predict_on_cuda_returns_float64_numpy_for_one_row_and_many(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda", max_iter=5).fit(X, Y)
    one, many = reg.predict(X[:1]), reg.predict(X)
    assert (type(one), one.dtype, one.shape) == (np.ndarray, np.float64, (1, 3))
    assert (type(many), many.dtype, many.shape) == (np.ndarray, np.float64, Y.shape)
    np.testing.assert_allclose(one, many[:1], rtol=1e-5)


def test_predict_on_cuda_holds_one_pass_of_rows_on_the_gpu(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda", max_iter=2).fit(X, Y)
    many = np.tile(X, (10_000, 1)).astype(np.float32)  # 2.4 million rows, 58 MB
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    assert reg.predict(many).shape == (len(many), 3)
    assert torch.cuda.max_memory_allocated() - before < many.nbytes / 4


def test_pickled_cuda_model_predicts_identically_on_cuda(regression_data):
    X, Y = regression_data
    reg = fast(device="cuda", early_stopping=True).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(reg))
    assert devices_of(loaded) == {"cuda"}
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_pickled_cuda_model_unpickles_onto_the_cpu_without_cuda(
    regression_data, monkeypatch
):
    X, Y = regression_data
    reg = fast(device="cuda", early_stopping=True).fit(X, Y)
    data = pickle.dumps(reg)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        loaded = pickle.loads(data)
    assert devices_of(loaded) == {"cpu"}
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X), rtol=1e-4)


def test_cuda_model_unpickled_without_cuda_trains_on_and_saves_from_the_cpu(
    regression_data, monkeypatch, tmp_path
):
    X, Y = regression_data
    data = pickle.dumps(fast(device="cuda").fit(X, Y))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        loaded = pickle.loads(data)
    assert loaded.device == "cpu"
    n_iter = loaded.n_iter_
    loaded.partial_fit(X, Y)
    assert loaded.n_iter_ == n_iter + 1
    loaded.save(tmp_path / "model.skh")
    assert skhealth.load(tmp_path / "model.skh").device == "cpu"


def test_cpu_model_file_loads_onto_cuda(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(max_iter=5).fit(X, Y)
    reg.save(tmp_path / "model.skh")
    loaded = skhealth.load(tmp_path / "model.skh", device="cuda")
    assert loaded.device == "cuda"
    assert devices_of(loaded) == {"cuda"}
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X), rtol=1e-4)


def test_cli_fits_on_cuda_and_predicts_on_the_cpu(health_frame, tmp_path, capsys):
    X, Y = health_frame
    data, model, out = (tmp_path / name for name in ("h.csv", "m.skh", "p.csv"))
    X.join(Y).to_csv(data, index=False)
    targets = [arg for name in Y.columns for arg in ("--target", name)]
    fit = ["fit", data, *targets, "--param", "device=cuda", "--param", "max_iter=5"]
    assert main([str(a) for a in [*fit, "--quiet", "-o", model]]) == 0
    assert devices_of(skhealth.load(model)[-1]) == {"cuda"}
    predict = ["predict", model, data, "--device", "cpu", "-o", out]
    assert main([str(a) for a in predict]) == 0
    capsys.readouterr()
    assert list(pd.read_csv(out).columns) == list(Y.columns)
