"""Training on data larger than memory: Dask collections streamed partition by
partition.

A fit on a Dask DataFrame or Array (one read from a Parquet dataset, say)
makes two kinds of passes over its partitions, each loaded by Dask (on the
cluster of the current ``distributed`` client, if any):

* a first pass, all partitions at once as Dask schedules them, of which only
  small per-partition sums come back: row counts, each task's weighted label
  moments (the target standardisation, merged exactly as a single pass would
  find them), the features' moments (the warning about unscaled columns),
  and every check an in-memory fit makes, named by partition;
* one pass per epoch, partition by partition in order, or, when shuffling, in
  a new order every epoch with the rows of :data:`WINDOW` partitions mixed; the
  next partitions load in a background thread while the network trains.

Without shuffling, the batches are those of the in-memory fit on the
concatenated rows, so the two train the same network (to float32 rounding).
"""

import concurrent.futures
import sys

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import _check_feature_names, _check_n_features

from ._torch_utils import as_tensor
from .losses import label_weights

# Partitions whose rows are shuffled together when shuffling: rows of a
# partition meet rows of others, in other pairs every epoch.
WINDOW = 2
# Partitions the first pass loads at once in this process, without a cluster.
LOCAL_PARTITIONS = 2


def is_dask_collection(value):
    """Whether ``value`` is a Dask collection (never when Dask is not loaded:
    no object can be one then)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(value)


def _dask():
    try:
        import dask
        import dask.array
        import dask.dataframe
    except ImportError as error:  # pragma: no cover - with dask collections given
        raise ImportError(
            "Training on Dask collections needs dask[dataframe]: pip install "
            "'skhealth[dask]'."
        ) from error
    return dask


def _kind(value, name):
    """``"frame"`` for a Dask DataFrame or Series, ``"array"`` for a Dask Array."""
    dask = _dask()
    if isinstance(value, (dask.dataframe.DataFrame, dask.dataframe.Series)):
        return "frame"
    if isinstance(value, dask.array.Array):
        return "array"
    raise ValueError(
        f"{name} must be a Dask DataFrame, Series or Array when X is a Dask "
        f"collection, got {type(value).__name__}: take X and y (and "
        "sample_weight) from the same Dask frame, e.g. frame[features] and "
        "frame[targets]."
    )


def _check_numeric(value, name):
    if hasattr(value, "dtypes"):  # a frame: its columns' dtypes
        dtypes = value.dtypes if hasattr(value.dtypes, "items") else None
        items = dtypes.items() if dtypes is not None else [(value.name, value.dtype)]
        bad = [
            f"{column!r} ({dtype})"
            for column, dtype in items
            if not (
                pd.api.types.is_numeric_dtype(dtype)
                and not pd.api.types.is_complex_dtype(dtype)
            )
        ]
        if bad:
            raise ValueError(
                f"{name} has columns that are not numbers: {', '.join(bad)}. "
                "Encode them before training (e.g. dask.dataframe's get_dummies "
                "after categorize(), or a numeric code), or leave them out."
            )
    elif not np.issubdtype(value.dtype, np.number):
        raise ValueError(
            f"{name} has dtype {value.dtype}, not numbers: convert it first."
        )


class Partitions:
    """The rows of ``X``, ``y`` and ``sample_weight`` (Dask collections) as
    aligned partitions, checked from their metadata only.

    Attributes
    ----------
    parts : list of tuple
        Per partition, Dask's delayed ``(X, y, sample_weight)`` (the last
        ``None`` without weights).
    feature_names : ndarray of str or None
        X's columns, for a frame.
    n_features, n_tasks : int
    y_1d : bool
        Whether y is 1-D (a Series or a 1-D array).
    """

    def __init__(self, X, y, sample_weight=None):
        dask = _dask()
        kinds = {"X": _kind(X, "X"), "y": _kind(y, "y")}
        if sample_weight is not None:
            kinds["sample_weight"] = _kind(sample_weight, "sample_weight")
        if len(set(kinds.values())) > 1:
            raise ValueError(
                "X, y and sample_weight must be all Dask frames (DataFrame, "
                f"Series) or all Dask arrays, got {kinds}: rows of one kind "
                "cannot be matched with the other's without computing them: take "
                "them all from one Dask frame, or make them all arrays."
            )
        values = {"X": X, "y": y, "sample_weight": sample_weight}
        values = {name: v for name, v in values.items() if v is not None}
        for name, value in values.items():
            _check_numeric(value, name)
        if kinds["X"] == "frame":
            self._align_frames(values)
            self.feature_names = np.asarray(X.columns, dtype=object)
            self.n_features = len(X.columns)
            self.y_1d = isinstance(y, dask.dataframe.Series)
        else:
            if values["X"].ndim != 2:
                raise ValueError(
                    f"X must be 2-D (rows, features), got {values['X'].ndim}-D."
                )
            if values["y"].ndim not in (1, 2):
                raise ValueError(
                    f"y must be 1-D or 2-D (rows, tasks), got {values['y'].ndim}-D."
                )
            values = self._align_arrays(values)
            self.feature_names = None
            self.n_features = values["X"].shape[1]
            self.y_1d = values["y"].ndim == 1
        self.n_tasks = 1 if self.y_1d else values["y"].shape[1]
        if self.n_features == 0 or self.n_tasks == 0:
            raise ValueError(
                f"X has {self.n_features} features and y {self.n_tasks} tasks: "
                "training needs at least one of each."
            )
        # X without rows: its columns and dtypes
        self.meta = (
            values["X"]._meta
            if kinds["X"] == "frame"
            else np.empty((0, self.n_features), dtype=values["X"].dtype)
        )
        if kinds["X"] == "frame":
            self.parts = _frame_parts(values)
        else:
            blocks = [value.to_delayed().ravel() for value in values.values()]
            if sample_weight is None:
                blocks.append([None] * len(blocks[0]))
            self.parts = list(zip(*blocks, strict=True))

    @staticmethod
    def _align_frames(frames):
        n = {name: f.npartitions for name, f in frames.items()}
        if len(set(n.values())) > 1:
            unknown = [name for name, f in frames.items() if not f.known_divisions]
            raise ValueError(
                f"X, y and sample_weight have different numbers of partitions "
                f"({n}) and {'unknown divisions' if unknown else 'divisions'}"
                f"{' (' + ', '.join(unknown) + ')' if unknown else ''}: their rows "
                "cannot be matched. Take them from one frame (frame[features], "
                "frame[targets]), or repartition all with the same divisions."
            )
        divisions = {
            name: f.divisions for name, f in frames.items() if f.known_divisions
        }
        if len(divisions) > 1 and len(set(divisions.values())) > 1:
            raise ValueError(
                "X, y and sample_weight have partitions with different index "
                "divisions: their rows cannot be matched. Take them from one "
                "frame, or repartition all with the same divisions."
            )

    @staticmethod
    def _align_arrays(arrays):
        for name, array in arrays.items():
            if any(np.isnan(c) for c in array.chunks[0]):
                raise ValueError(
                    f"{name} has unknown chunk sizes (rows per block): call "
                    f"{name}.compute_chunk_sizes() first, or pass Dask frames."
                )
        rows = {name: a.shape[0] for name, a in arrays.items()}
        if len(set(rows.values())) > 1:
            raise ValueError(f"X, y and sample_weight have different rows: {rows}.")
        blocks = arrays["X"].chunks[0]
        # each block of X whole (all its columns), y and weights cut as X
        return {
            name: a.rechunk({0: blocks, **({1: -1} if a.ndim == 2 else {})})
            for name, a in arrays.items()
        }

    def __len__(self):
        return len(self.parts)

    def load(self, index):
        """Partition ``index``'s ``X`` (float32), ``Y`` (2-D float64, NaN for
        a missing label) and sample weights (float32; ones without)."""
        x, y, w = _dask().compute(*self.parts[index])
        return to_arrays(x, y, w)


def _joined(*frames, partition_info=None):
    """The columns of a partition of each frame side by side, named by their
    position (names may repeat across frames); raises when their rows
    differ."""
    rows = {len(f) for f in frames}
    if len(rows) > 1:
        number = "" if partition_info is None else f" {partition_info['number']}"
        raise ValueError(
            f"Partition{number} of X, y and sample_weight has "
            f"{[len(f) for f in frames]} rows: their partitions do not hold the "
            "same rows. Take them from one frame."
        )
    parts = [f.to_frame() if f.ndim == 1 else f for f in frames]
    joined = pd.concat([p.reset_index(drop=True) for p in parts], axis=1)
    joined.columns = range(joined.shape[1])
    return joined


def _split(joined, names):
    """The frames :func:`_joined` put side by side, their columns named
    ``names`` again (one list per frame; ``None`` for a Series)."""
    frames, start = [], 0
    for columns in names:
        width = 1 if columns is None else len(columns)
        part = joined.iloc[:, start : start + width]
        if columns is None:
            part = part.iloc[:, 0]
        else:
            part.columns = columns
        frames.append(part)
        start += width
    return tuple(frames) + (None,) * (3 - len(frames))


def _frame_parts(frames):
    """Per partition, delayed ``(X, y, sample_weight)`` of the Dask frames
    ``frames`` (X, y and maybe weights), loaded together: Dask may otherwise
    group a narrow column's partitions differently from X's."""
    dask = _dask()
    frames = list(frames.values())
    joined = dask.dataframe.map_partitions(
        _joined,
        *frames,
        align_dataframes=False,
        meta=_joined(*(f._meta for f in frames)),
    )
    names = [None if f.ndim == 1 else list(f.columns) for f in frames]
    return [
        tuple(dask.delayed(_split, nout=3)(part, names)) for part in joined.to_delayed()
    ]


def to_arrays(x, y, w):
    """A partition's pandas or numpy values as training arrays."""
    for name, part in (("X", x), ("y", y)):
        if isinstance(part, pd.DataFrame):
            _check_numeric(part, name)  # a file's types may differ from the first's
    X = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    Y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    if len(Y) != len(X):
        raise ValueError(f"X has {len(X)} rows and y {len(Y)}")
    if w is None:
        w = np.ones(len(X), dtype=np.float32)
    w = np.asarray(w, dtype=np.float32).reshape(-1)
    if len(w) != len(X):
        raise ValueError(f"X has {len(X)} rows and sample_weight {len(w)}")
    return X, Y, w


def _weighted_moments(values, weights):
    """Per column: total weight, weighted mean and sum of squared deviations
    (float64), over the rows where ``values`` is not NaN."""
    observed = ~np.isnan(values)
    w = np.where(observed, weights[:, None], 0.0)
    total = w.sum(0)
    filled = np.where(observed, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, (w * filled).sum(0) / total, 0.0)
    m2 = (w * (filled - mean) ** 2).sum(0)
    return np.stack([total, mean, m2])


def _feature_moments(X, rows=65536):
    """:func:`_weighted_moments` of the finite float32 ``X``, every row
    weighing 1, in float64 a block of ``rows`` rows at a time (a float64
    copy of a whole partition would double its memory)."""
    moments = np.zeros((3, X.shape[1]))
    for start in range(0, len(X), rows):
        block = X[start : start + rows]
        mean = block.mean(axis=0, dtype=np.float64)
        m2 = np.square(block - mean).sum(axis=0)
        moments = merge_moments(
            moments, np.stack([np.full_like(mean, len(block)), mean, m2])
        )
    return moments


def merge_moments(a, b):
    """Moments of two parts' rows from each part's (Chan et al.'s update)."""
    (wa, ma, m2a), (wb, mb, m2b) = a, b
    w = wa + wb
    delta = mb - ma
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(w > 0, wb / w, 0.0)
    return np.stack([w, ma + delta * share, m2a + m2b + delta**2 * wa * share])


def partition_statistics(x, y, w, index, binary, transforms):
    """What the first pass needs of one partition (raises naming it)."""
    try:
        X, Y, w = to_arrays(x, y, w)
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinity: impute or drop them first")
        if np.isinf(Y).any():
            raise ValueError("y contains infinity: use NaN for a missing label")
        if (w < 0).any() or not np.isfinite(w).all():
            raise ValueError("sample_weight has negative or non-finite values")
        keep = w > 0
        X, Y, w = X[keep], Y[keep], w[keep]
        labels = Y[:, binary]
        if not np.isin(labels[~np.isnan(labels)], (0.0, 1.0)).all():
            raise ValueError(
                "a binary task (loss='log_loss') has labels other than 0/1"
            )
        Y = transforms.transform(Y)
    except ValueError as error:
        raise ValueError(f"Partition {index} of the training data: {error}.") from error
    return {
        "rows": len(X),
        "features": _feature_moments(X),
        "targets": _weighted_moments(Y, w.astype(np.float64)),
        "labels": (~np.isnan(Y)).sum(0),
        "weights": (w.min(), w.max()) if len(w) else (np.inf, -np.inf),
    }


def first_pass(partitions, binary, transforms):
    """Merge every partition's :func:`partition_statistics` (computed by Dask,
    all at once as it schedules them)."""
    dask = _dask()
    tasks = [
        dask.delayed(partition_statistics)(x, y, w, i, binary, transforms)
        for i, (x, y, w) in enumerate(partitions.parts)
    ]
    parts = dask.compute(*tasks, **_local_pass_settings())
    merged = dict(parts[0])
    for part in parts[1:]:
        merged["rows"] += part["rows"]
        merged["features"] = merge_moments(merged["features"], part["features"])
        merged["targets"] = merge_moments(merged["targets"], part["targets"])
        merged["labels"] = merged["labels"] + part["labels"]
        merged["weights"] = (
            min(merged["weights"][0], part["weights"][0]),
            max(merged["weights"][1], part["weights"][1]),
        )
    return merged


def _local_pass_settings():
    """Without a Dask cluster, the first pass loads at most
    :data:`LOCAL_PARTITIONS` partitions at once in this process (Dask's
    threads would otherwise hold one each, one per core); a cluster's
    workers load partitions in their own memory."""
    try:
        from distributed import default_client

        default_client()
        return {}
    except (ImportError, ValueError):
        return {"num_workers": LOCAL_PARTITIONS}


def target_scaler(stats):
    """The StandardScaler a fit on the rows would be, from their moments."""
    total, mean, m2 = stats["targets"]
    scaler = StandardScaler()
    scaler.mean_ = mean
    with np.errstate(invalid="ignore", divide="ignore"):
        scaler.var_ = np.where(total > 0, m2 / total, 0.0)
    scale = np.sqrt(scaler.var_)
    # as StandardScaler leaves a constant column unscaled
    scale[scale < 10 * np.finfo(scale.dtype).eps] = 1.0
    scaler.scale_ = scale
    scaler.n_samples_seen_ = stats["labels"].astype(np.int64)
    scaler.n_features_in_ = len(mean)
    return scaler


class StreamDataset(torch.utils.data.Dataset):
    """The training rows of a fit on Dask collections, loaded a window of
    partitions at a time.

    Parameters
    ----------
    partitions : Partitions
    prepare : callable
        ``prepare(X, Y, w)`` of a partition's arrays: the training arrays
        (``X`` float32, ``Y`` standardised float32, ``w`` float32), rows of
        weight 0 left out.
    n_rows : int
        Training rows in all (from the first pass).
    uniform_weights : bool
        Whether all sample weights are equal (every label then weighs 1).
    weighted : bool
        Whether batches carry label weights (some label is missing or the
        weights differ), as the in-memory dataset would.
    target_sums : tensor of shape (4, n_tasks)
        What :class:`skhealth.callbacks.TaskMetrics` needs of the targets.
    device : torch.device
    """

    holdout = None

    def __init__(
        self,
        partitions,
        prepare,
        n_rows,
        *,
        uniform_weights,
        weighted,
        target_sums,
        device,
    ):
        self.partitions, self.prepare, self.n_rows = partitions, prepare, n_rows
        self.uniform_weights, self.weighted = uniform_weights, weighted
        self._target_sums, self.device = target_sums, device

    def __len__(self):
        return self.n_rows

    def target_sums(self):
        return self._target_sums.to(self.device)

    def _load(self, indices):
        """The tensors of the partitions ``indices``, rows concatenated."""
        parts = [self.prepare(*self.partitions.load(i)) for i in indices]
        X, Y, w = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        Y, weight = label_weights(
            torch.from_numpy(Y), torch.from_numpy(w), uniform=self.uniform_weights
        )
        if weight is None and self.weighted:
            weight = torch.ones_like(Y)
        return [
            as_tensor(X, self.device),
            Y.to(self.device),
            None if weight is None else weight.to(self.device),
        ]

    def batch(self, index):
        """The first rows, up to ``index.stop`` (a slice from 0): the rows
        the divergence check predicts."""
        rows, loaded = [], 0
        for i in range(len(self.partitions)):
            X, Y, weight = self._load([i])
            rows.append((X, Y, weight))
            loaded += len(X)
            if loaded >= index.stop:
                break
        X, Y, weight = (
            None if parts[0] is None else torch.cat(parts)
            for parts in zip(*rows, strict=True)
        )
        # copies: a view would keep the partitions loaded for the whole fit
        stop = index.stop
        return X[:stop].clone(), (
            Y[:stop].clone(),
            None if weight is None else weight[:stop].clone(),
        )

    def batches(self, batch_size, shuffle):
        """One epoch's batches: partitions in order, or in a new order with
        the rows of each window of :data:`WINDOW` partitions (and those left
        over from the last) shuffled together; the next window loads in a
        background thread meanwhile."""
        n = len(self.partitions)
        order = torch.randperm(n).tolist() if shuffle else list(range(n))
        step = WINDOW if shuffle else 1
        windows = [order[i : i + step] for i in range(0, n, step)]
        rest = None
        loader = concurrent.futures.ThreadPoolExecutor(1)
        try:
            future = loader.submit(self._load, windows[0])
            for k in range(len(windows)):
                tensors = future.result()
                if k + 1 < len(windows):
                    future = loader.submit(self._load, windows[k + 1])
                if rest is not None:
                    tensors = [
                        None if a is None else torch.cat([a, b])
                        for a, b in zip(rest, tensors, strict=True)
                    ]
                n_rows = len(tensors[0])
                # a shuffled window's batches gather their rows: a shuffled
                # copy of the window would double its memory
                rows = (
                    torch.randperm(n_rows, device=self.device)
                    if shuffle
                    else torch.arange(n_rows, device=self.device)
                )
                last = k + 1 == len(windows)
                stop = n_rows if last else n_rows - n_rows % batch_size
                for start in range(0, stop, batch_size):
                    index = (
                        rows[start : start + batch_size]
                        if shuffle
                        else slice(start, start + batch_size)
                    )
                    X, Y, weight = (None if t is None else t[index] for t in tensors)
                    yield X, (Y, weight)
                # the rows left over, copied: the window itself can go
                rest = [None if t is None else t[rows[stop:]] for t in tensors]
                del tensors
        finally:
            # an interrupted epoch does not wait for the window loading
            loader.shutdown(wait=False, cancel_futures=True)


def standardised_target_sums(stats, scaler):
    """Per task, of the standardised labels: total label weight, weighted sum,
    weighted sum of squares and count (see ``skhealth.callbacks``), from the
    first pass's moments of the transformed labels. Equal weights count 1
    each, as :func:`skhealth.losses.label_weights` weighs them."""
    total, mean, m2 = stats["targets"]
    low, high = stats["weights"]
    if low == high:  # every label weighs 1
        total, m2 = total / high, m2 / high
    mu, sigma = scaler.mean_, scaler.scale_
    s1 = total * mean
    s2 = m2 + total * mean**2
    return torch.tensor(
        np.stack(
            [
                total,
                (s1 - mu * total) / sigma,
                (s2 - 2 * mu * s1 + mu**2 * total) / sigma**2,
                stats["labels"].astype(np.float64),
            ]
        ),
        dtype=torch.float64,
    )


def predict_lazily(estimator, X):
    """``estimator.predict`` of each partition of the Dask collection ``X``,
    computed when asked, as dask-ml's ParallelPostFit: a Dask DataFrame (a
    Series for a 1-D ``y``) with X's index and the targets' names for a
    frame, a Dask array for an array. Columns are checked now."""
    dask = _dask()
    kind = _kind(X, "X")
    one_task = estimator._y_1d
    n_tasks = estimator.n_tasks_
    if kind == "frame":
        if isinstance(X, dask.dataframe.Series):
            raise ValueError("X must be a Dask DataFrame or a 2-D Dask Array.")
        _check_numeric(X, "X")
        _check_n_features(estimator, X._meta, reset=False)
        _check_feature_names(estimator, X._meta, reset=False)
        names = [str(name) for name in estimator.target_names_]

        def predict_frame(part):
            values = _predict_block(estimator, part, one_task, n_tasks)
            if one_task:
                return pd.Series(values, index=part.index, name=names[0])
            return pd.DataFrame(values, index=part.index, columns=names)

        return X.map_partitions(
            predict_frame,
            meta=predict_frame(X._meta.astype(np.float32)),
        )
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got {X.ndim}-D.")
    _check_n_features(estimator, np.empty((0, X.shape[1])), reset=False)
    return X.rechunk({1: -1}).map_blocks(
        lambda block: _predict_block(estimator, block, one_task, n_tasks),
        dtype=np.float64,
        chunks=(X.chunks[0],) if one_task else (X.chunks[0], (n_tasks,)),
        drop_axis=[1] if one_task else [],
        meta=np.empty((0,) if one_task else (0, 0), dtype=np.float64),
    )


def _predict_block(estimator, block, one_task, n_tasks):
    """The predictions of one partition (an empty one predicts nothing)."""
    if len(block) == 0:
        return np.empty((0,) if one_task else (0, n_tasks))
    return estimator.predict(block)
