"""Training on Dask collections and Parquet datasets, streamed partition by
partition (skhealth._streaming): the same network as in memory, every row in
every epoch, shuffling across partitions, lazy prediction, clear errors."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.preprocessing import PowerTransformer
from skorch.callbacks import Callback

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.datasets import read_parquet
from skhealth.privacy import DP

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
pytest.importorskip("pyarrow")


FEATURES = [f"x{i}" for i in range(4)]
TARGETS = ["sbp", "glucose", "sleep"]
_FIT = dict(
    hidden_layer_sizes=(16,),
    n_members=2,
    batch_size=32,
    max_iter=4,
    shuffle=False,
    early_stopping=False,
    random_state=0,
)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 300
    X = rng.normal(size=(n, 4)).astype(np.float32)
    Y = X[:, :2] @ rng.normal(size=(2, 3)) * [10, 2, 1] + [120, 5, 7]
    Y += rng.normal(size=(n, 3))
    Y[rng.rand(n, 3) < 0.25] = np.nan  # labels not measured
    frame = pd.DataFrame(X, columns=FEATURES)
    frame[TARGETS] = Y
    frame["weight"] = rng.choice([0.0, 0.5, 1.0, 2.0], size=n)
    return frame


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # convergence
        return MultiTaskHealthRegressor(**{**_FIT, **params}).fit(X, y)


def _same_network(streamed, in_memory, X):
    assert_allclose(streamed.predict(X), in_memory.predict(X), rtol=1e-5, atol=1e-6)
    assert_allclose(
        streamed.history_[:, "train_loss"],
        in_memory.history_[:, "train_loss"],
        rtol=1e-5,
    )
    assert_allclose(
        streamed._target_scaler.mean_, in_memory._target_scaler.mean_, rtol=1e-12
    )
    assert_allclose(
        streamed._target_scaler.scale_, in_memory._target_scaler.scale_, rtol=1e-12
    )


def test_a_fit_on_a_dask_frame_trains_the_in_memory_network(frame):
    ddf = dd.from_pandas(frame, npartitions=7)  # 43 rows each: batches span them
    streamed = _fit(ddf[FEATURES], ddf[TARGETS])
    in_memory = _fit(frame[FEATURES], frame[TARGETS])
    _same_network(streamed, in_memory, frame[FEATURES])
    assert list(streamed.feature_names_in_) == FEATURES
    assert list(streamed.target_names_) == TARGETS
    assert streamed.n_features_in_ == 4


def test_sample_weights_stream_as_in_memory(frame):
    ddf = dd.from_pandas(frame, npartitions=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        streamed = MultiTaskHealthRegressor(**_FIT).fit(
            ddf[FEATURES], ddf[TARGETS], sample_weight=ddf["weight"]
        )
        in_memory = MultiTaskHealthRegressor(**_FIT).fit(
            frame[FEATURES], frame[TARGETS], sample_weight=frame["weight"]
        )
    _same_network(streamed, in_memory, frame[FEATURES])


def test_a_fit_on_dask_arrays_with_other_chunks_trains_the_in_memory_network(frame):
    X = frame[FEATURES].to_numpy()
    Y = frame[TARGETS].to_numpy()
    streamed = _fit(da.from_array(X, chunks=(50, 2)), da.from_array(Y, chunks=(70, 3)))
    in_memory = _fit(X, Y)
    _same_network(streamed, in_memory, X)
    assert not hasattr(streamed, "feature_names_in_")


def test_a_one_task_series_gives_one_dimensional_predictions(frame):
    labelled = frame[frame["sbp"].notna()]
    ddf = dd.from_pandas(labelled, npartitions=3)
    streamed = _fit(ddf[FEATURES], ddf["sbp"])
    in_memory = _fit(labelled[FEATURES], labelled["sbp"])
    _same_network(streamed, in_memory, labelled[FEATURES])
    assert streamed.predict(labelled[FEATURES]).shape == (len(labelled),)


def test_a_fit_on_a_parquet_dataset_trains_the_in_memory_network(frame, tmp_path):
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "data")
    X, y, w = read_parquet(
        tmp_path / "data", target=TARGETS, features=FEATURES, sample_weight="weight"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        streamed = MultiTaskHealthRegressor(**_FIT).fit(X, y, sample_weight=w)
        in_memory = MultiTaskHealthRegressor(**_FIT).fit(
            frame[FEATURES], frame[TARGETS], sample_weight=frame["weight"]
        )
    _same_network(streamed, in_memory, frame[FEATURES])


def test_read_parquet_takes_every_other_column_as_features(frame, tmp_path):
    frame.to_parquet(tmp_path / "one.parquet")
    X, y = read_parquet(tmp_path / "one.parquet", target="sbp")
    assert list(X.columns) == [*FEATURES, "glucose", "sleep", "weight"]
    assert y.name == "sbp"


def test_a_parquet_dataset_missing_a_column_is_an_error_naming_it(frame, tmp_path):
    frame.to_parquet(tmp_path / "one.parquet")
    with pytest.raises(ValueError, match=r"has no column 'hba1c', 'steps'; its"):
        read_parquet(tmp_path / "one.parquet", target=["sbp", "hba1c", "steps"])


def test_a_column_named_twice_is_an_error(frame, tmp_path):
    frame.to_parquet(tmp_path / "one.parquet")
    with pytest.raises(ValueError, match=r"more than once .*\['sbp'\]"):
        read_parquet(tmp_path / "one.parquet", target="sbp", features=["sbp", "x0"])


class _RecordBatches(Callback):
    """Record the rows of every training batch (column x0 holds the row's
    number), epoch by epoch."""

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("rows", [])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            net.history[-1]["rows"].append(batch[0][:, 0].long().tolist())


def _numbered(n=240, npartitions=8):
    """Rows numbered in x0, in partitions of 30 consecutive rows."""
    rng = np.random.RandomState(1)
    frame = pd.DataFrame({"x0": np.arange(n, dtype=np.float32)})
    frame["x1"] = rng.normal(size=n).astype(np.float32)
    frame["y"] = rng.normal(size=n)
    return dd.from_pandas(frame, npartitions=npartitions)


def test_without_shuffling_batches_are_the_rows_in_order():
    ddf = _numbered()
    reg = _fit(ddf[["x0", "x1"]], ddf["y"], callbacks=[_RecordBatches()], max_iter=1)
    batches = reg.history_[0, "rows"]
    assert [len(b) for b in batches] == [32] * 7 + [16]
    assert list(itertools.chain(*batches)) == list(range(240))


def test_shuffling_uses_every_row_once_an_epoch_mixing_partitions():
    ddf = _numbered()
    reg = _fit(
        ddf[["x0", "x1"]],
        ddf["y"],
        callbacks=[_RecordBatches()],
        max_iter=3,
        shuffle=True,
    )
    epochs = reg.history_[:, "rows"]
    for batches in epochs:
        assert sorted(list(itertools.chain(*batches))) == list(range(240))
    # a batch holds rows of several partitions (of 30 rows each) ...
    partitions = [{row // 30 for row in batch} for batch in epochs[0]]
    assert max(len(p) for p in partitions) >= 2
    # ... and the rows come in another order every epoch
    orders = [list(itertools.chain(*batches)) for batches in epochs]
    assert orders[0] != orders[1]
    assert orders[1] != orders[2]


def test_shuffled_streaming_is_reproducible():
    ddf = _numbered()
    first = _fit(ddf[["x0", "x1"]], ddf["y"], shuffle=True, max_iter=2)
    second = _fit(ddf[["x0", "x1"]], ddf["y"], shuffle=True, max_iter=2)
    assert_array_equal(
        first.predict(ddf[["x0", "x1"]]).compute(),
        second.predict(ddf[["x0", "x1"]]).compute(),
    )


def test_prediction_of_a_dask_frame_is_a_lazy_frame_with_its_index(frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    reg = _fit(ddf[FEATURES], ddf[TARGETS])
    lazy = reg.predict(ddf[FEATURES])
    assert isinstance(lazy, dd.DataFrame)
    assert list(lazy.columns) == TARGETS
    assert lazy.divisions == ddf.divisions
    computed = lazy.compute()
    assert_array_equal(computed.index, frame.index)
    assert_allclose(computed.to_numpy(), reg.predict(frame[FEATURES]), rtol=1e-6)


def test_prediction_of_a_dask_array_is_a_lazy_array_of_its_chunks(frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    reg = _fit(ddf[FEATURES], ddf[TARGETS])
    blocks = da.from_array(frame[FEATURES].to_numpy(), chunks=(100, 2))
    lazy = reg.predict(blocks)
    assert isinstance(lazy, da.Array)
    assert lazy.chunks == ((100, 100, 100), (3,))
    assert_allclose(lazy.compute(), reg.predict(frame[FEATURES]), rtol=1e-6)


def test_empty_partitions_predict_nothing(frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    reg = _fit(ddf[FEATURES], ddf[TARGETS])
    some = ddf[ddf["x0"] > 10]  # no row
    assert reg.predict(some[FEATURES]).compute().shape == (0, 3)


def test_prediction_on_dask_checks_the_columns_before_computing(frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    reg = _fit(ddf[FEATURES], ddf[TARGETS])
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(ddf[FEATURES[::-1]])
    with pytest.raises(ValueError, match="X has 3 features, but"):
        reg.predict(da.zeros((10, 3), chunks=5))
    with pytest.raises(ValueError, match="X has 3 features, but"):
        reg.predict(ddf[FEATURES[:3]])
    with pytest.raises(ValueError, match="return_std=True is not offered"):
        reg.predict(ddf[FEATURES], return_std=True)


def test_partial_fit_on_dask_trains_one_epoch_over_every_partition(frame):
    ddf = dd.from_pandas(frame, npartitions=5)
    params = {**_FIT, "early_stopping": "auto"}
    streamed = MultiTaskHealthRegressor(**params)
    in_memory = MultiTaskHealthRegressor(**params)
    for _ in range(2):
        streamed.partial_fit(ddf[FEATURES], ddf[TARGETS])
        in_memory.partial_fit(frame[FEATURES], frame[TARGETS])
    assert len(streamed.history_) == 2
    _same_network(streamed, in_memory, frame[FEATURES])


def test_warm_start_continues_on_dask_with_the_first_standardisation(frame):
    ddf = dd.from_pandas(frame, npartitions=5)
    reg = _fit(ddf[FEATURES], ddf[TARGETS], warm_start=True)
    mean = reg._target_scaler.mean_.copy()
    half = dd.from_pandas(frame.iloc[:150], npartitions=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg.fit(half[FEATURES], half[TARGETS])
    assert len(reg.history_) == 8
    assert_array_equal(reg._target_scaler.mean_, mean)


def test_a_fit_on_a_distributed_cluster_trains_the_same_network(frame, dask_cluster):
    from distributed import Client

    ddf = dd.from_pandas(frame, npartitions=4)
    local = _fit(ddf[FEATURES], ddf[TARGETS])
    with Client(dask_cluster):
        on_cluster = _fit(ddf[FEATURES], ddf[TARGETS])
        lazy = on_cluster.predict(ddf[FEATURES]).compute()
    assert_array_equal(
        on_cluster.predict(frame[FEATURES]), local.predict(frame[FEATURES])
    )
    assert_allclose(lazy, local.predict(frame[FEATURES]), rtol=1e-6)


# ---------------------------------------------------------------- bad input
def test_partitions_that_cannot_be_matched_are_an_error(frame):
    X = dd.from_pandas(frame[FEATURES], npartitions=3).clear_divisions()
    y = dd.from_pandas(frame[TARGETS], npartitions=4)
    with pytest.raises(
        ValueError, match=r"different numbers of partitions .* unknown divisions \(X\)"
    ):
        MultiTaskHealthRegressor().fit(X, y)


def test_partitions_of_other_rows_are_an_error_naming_the_partition(frame):
    # 100 rows in each partition of X, 97 or 96 in those of y
    X = dd.from_pandas(frame[FEATURES], npartitions=3).clear_divisions()
    y = dd.from_pandas(frame[TARGETS].iloc[:-10], npartitions=3).clear_divisions()
    with pytest.raises(
        ValueError,
        match=r"Partition [0-2] of X, y and sample_weight has \[100, 9[67]\] rows",
    ):
        MultiTaskHealthRegressor(**_FIT).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros(300), np.zeros((300, 2)), "X must be 2-D"),
        (np.zeros((300, 3)), np.zeros((300, 2, 2)), "y must be 1-D or 2-D"),
        (np.zeros((300, 0)), np.zeros((300, 2)), "X has 0 features and y 2 tasks"),
        (np.zeros((300, 3)), np.zeros((300, 0)), "X has 3 features and y 0 tasks"),
    ],
)
def test_dask_arrays_of_the_wrong_shape_are_an_error(X, y, message):
    with pytest.raises(ValueError, match=message):
        MultiTaskHealthRegressor().fit(
            da.from_array(X, chunks=100), da.from_array(y, chunks=100)
        )


def test_dask_arrays_of_unknown_chunk_sizes_are_an_error(frame):
    ddf = dd.from_pandas(frame, npartitions=3)
    X = ddf[FEATURES].to_dask_array()
    with pytest.raises(
        ValueError, match=r"X has unknown chunk sizes .*compute_chunk_sizes"
    ):
        MultiTaskHealthRegressor().fit(X, ddf[TARGETS].to_dask_array(lengths=True))


def test_columns_that_are_not_numbers_are_an_error_naming_them(frame):
    with_text = frame.assign(smoker=np.where(frame["x0"] > 0, "yes", "no"))
    ddf = dd.from_pandas(with_text, npartitions=3)
    with pytest.raises(
        ValueError, match=r"X has columns that are not numbers: 'smoker'"
    ):
        MultiTaskHealthRegressor().fit(ddf[[*FEATURES, "smoker"]], ddf[TARGETS])


def test_a_parquet_file_of_other_types_is_an_error_naming_its_partition(
    frame, tmp_path
):
    folder = tmp_path / "data"
    folder.mkdir()
    frame.iloc[:150].to_parquet(folder / "part.0.parquet")
    odd = frame.iloc[150:].astype({"x1": str})
    odd.to_parquet(folder / "part.1.parquet")
    X, y = read_parquet(folder, target=TARGETS, features=FEATURES)
    with pytest.raises(
        ValueError,
        match=r"Partition 1 of the training data: X has columns that are not "
        r"numbers: 'x1'",
    ):
        MultiTaskHealthRegressor(**_FIT).fit(X, y)


def test_missing_inputs_name_their_partition(frame):
    holed = frame.copy()
    holed.loc[200, "x2"] = np.nan
    ddf = dd.from_pandas(holed, npartitions=3)
    with pytest.raises(
        ValueError, match="Partition 2 of the training data: X contains NaN"
    ):
        MultiTaskHealthRegressor(**_FIT).fit(ddf[FEATURES], ddf[TARGETS])


def test_a_task_without_labels_in_any_partition_is_an_error(frame):
    ddf = dd.from_pandas(frame.assign(sleep=np.nan), npartitions=3)
    with pytest.raises(ValueError, match=r"NaN only for task 2 \('sleep'\)"):
        MultiTaskHealthRegressor(**_FIT).fit(ddf[FEATURES], ddf[TARGETS])


def test_y_of_dask_with_x_in_memory_is_an_error(frame):
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match="X is a DataFrame"):
        MultiTaskHealthRegressor().fit(frame[FEATURES], ddf[TARGETS])


def test_x_of_dask_with_y_in_memory_is_an_error(frame):
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match="y must be a Dask DataFrame, Series or Array"):
        MultiTaskHealthRegressor().fit(ddf[FEATURES], frame[TARGETS])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"early_stopping": True}, "early_stopping=True holds rows out in memory"),
        ({"early_stopping": "cross_fit"}, "early_stopping='cross_fit' holds"),
        ({"dp": DP(1.0)}, "dp: differentially private training samples rows"),
        (
            {"target_transform": {"sbp": "log", "glucose": PowerTransformer()}},
            r"learns from the labels of \['glucose'\]",
        ),
    ],
)
def test_what_streaming_cannot_do_is_an_error_before_training(frame, params, message):
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match=message):
        MultiTaskHealthRegressor(**params).fit(ddf[FEATURES], ddf[TARGETS])


def test_a_named_target_transform_streams(frame):
    positive = frame.assign(glucose=frame["glucose"].abs() + 1)
    ddf = dd.from_pandas(positive, npartitions=3)
    params = dict(target_transform={"glucose": "log"})
    streamed = _fit(ddf[FEATURES], ddf[TARGETS], **params)
    in_memory = _fit(positive[FEATURES], positive[TARGETS], **params)
    _same_network(streamed, in_memory, positive[FEATURES])


def test_the_classifier_refuses_dask_collections_for_the_regressor(frame):
    ddf = dd.from_pandas(frame.assign(sbp=frame["sbp"] > 120), npartitions=3)
    with pytest.raises(
        ValueError, match=r"MultiTaskHealthRegressor\(loss='log_loss'\)"
    ):
        MultiTaskHealthClassifier().fit(ddf[FEATURES], ddf[["sbp"]])


def test_unscaled_columns_warn_from_the_first_pass(frame):
    ddf = dd.from_pandas(frame.assign(x3=frame["x3"] * 100 + 500), npartitions=3)
    with pytest.warns(UserWarning, match=r"1 column far from standardised.*'x3'"):
        MultiTaskHealthRegressor(**_FIT).fit(ddf[FEATURES], ddf[TARGETS])
