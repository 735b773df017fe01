"""What each task's predictions rely on, in the user's own input columns."""

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from ._sklearn import input_indices
from ._validation import fitted_regressor, preprocessing_steps, validate_X
from .metrics import get_scorer

__all__ = ["task_attributions", "task_permutation_importance"]


def task_permutation_importance(
    model,
    X,
    y,
    *,
    scoring=None,
    n_repeats=5,
    n_jobs=None,
    random_state=None,
    sample_weight=None,
    max_samples=1.0,
):
    """Permutation importance of each input column for each task.

    :func:`sklearn.inspection.permutation_importance` with one scorer per task
    that leaves missing labels out (:func:`skhealth.metrics.get_scorer`): each
    column of ``X`` is shuffled ``n_repeats`` times, and a task's importance of
    the column is how much its score drops. Each shuffled table is predicted
    once for all tasks. Given a pipeline, the columns are those the pipeline
    reads, before any encoding: a one-hot encoded category counts as the one
    column it came from.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, MultiTaskHealthClassifier, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search fitted with ``refit=True`` whose best estimator is either.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Data to shuffle and predict, best held out from training.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Its targets; ``NaN`` marks a missing label, left out of that task's
        score.
    scoring : str, default=None
        The metric, by a name :func:`skhealth.metrics.get_scorer` takes: an
        error's importance is its increase, in the target's units. ``None``
        is the model's own ``score``: ``"r2"`` for a regressor (a binary
        task's Brier skill score), ``"roc_auc"`` for a classifier.
    n_repeats : int, default=5
        Times each column is shuffled.
    n_jobs : int, default=None
        Columns scored in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row in every task's score.
    max_samples : int or float, default=1.0
        Rows drawn (without replacement) for each repeat, as in scikit-learn.

    Returns
    -------
    importances : pandas.DataFrame
        One row per task and column, tasks in the order of the model's
        targets and columns in the order of ``X``: ``task``, ``feature``,
        ``importance_mean`` and ``importance_std`` (over the repeats).
        ``importances.pivot(index="feature", columns="task",
        values="importance_mean")`` gives the table of features by tasks.

    See Also
    --------
    sklearn.inspection.permutation_importance : The single-score version.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.inspection import task_permutation_importance
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "bmi", "steps"])
    >>> Y = pd.DataFrame({"sbp": 2 * X["age"], "hdl": -2 * X["steps"]})
    >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
    >>> importances = task_permutation_importance(reg, X, Y, random_state=0)
    >>> importances.loc[importances.groupby("task", sort=False)["importance_mean"]
    ...                 .idxmax(), ["task", "feature"]].to_numpy().tolist()
    [['sbp', 'age'], ['hdl', 'steps']]
    """
    estimator = fitted_regressor(model)
    tasks = list(estimator.target_names_)
    if scoring is None:
        scoring = "roc_auc" if is_classifier(estimator) else "r2"
    result = permutation_importance(
        model,
        X,
        y,
        scoring={task: get_scorer(scoring, task=task) for task in tasks},
        n_repeats=n_repeats,
        n_jobs=n_jobs,
        random_state=random_state,
        sample_weight=sample_weight,
        max_samples=max_samples,
    )
    features = _feature_names(X)
    return pd.DataFrame(
        {
            "task": np.repeat(tasks, len(features)),
            "feature": features * len(tasks),
            "importance_mean": np.concatenate(
                [result[task].importances_mean for task in tasks]
            ),
            "importance_std": np.concatenate(
                [result[task].importances_std for task in tasks]
            ),
        }
    )


# ------------------------------------------------------------ attributions
# Rows of the straight path from the baseline evaluated in one pass: a
# chunk of rows times n_steps points.
_PATH_ROWS = 16_384
# A row whose network attributions miss the change of the network's output by
# more than this share of a task's standard deviation is integrated again
# with twice the points, up to _REFINEMENTS times: the gradients of a ReLU
# network jump along the path, and the quadrature's error falls only as
# 1 / n_steps there.
_COMPLETENESS = 0.005
_REFINEMENTS = 4

# The transformers whose every output column is made from one input column,
# in order: their outputs are the columns they read.
_COLUMNWISE = (
    Binarizer,
    MaxAbsScaler,
    MinMaxScaler,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)


def task_attributions(model, X, *, baseline=None, n_steps=50):
    """Integrated-gradients attributions of each person's prediction, per task.

    For each row of ``X`` and each task, how much each input column moved the
    prediction away from that of a baseline input, in the target's units; for
    a binary task (a classifier's, or a regressor's ``"log_loss"`` task), in
    the probability of its positive class, as ``predict_proba`` and the
    regressor's ``predict`` give it.
    The attributions are integrated gradients (Sundararajan et al., 2017):
    the gradient of the task's prediction, averaged along the straight path
    from the baseline to the row, times the row's difference from the
    baseline. The prediction differentiated is the estimator's whole
    prediction (the ensemble's mean network and the linear path, blended by
    ``network_share_``), so a row's attributions add up to its prediction
    minus the baseline's. The path integral is a Gauss-Legendre quadrature
    of ``n_steps`` points; the gradients of a ReLU network jump along the
    path, so a row whose attributions miss the difference by more than 0.5 %
    of a task's standard deviation is integrated again with twice the
    points, up to 16 times ``n_steps``. The linear path's part is exact.

    Given a pipeline, the gradients are taken with respect to the
    estimator's inputs (after preprocessing) and summed back to the columns
    of ``X``: a one-hot encoded category counts as the one column it came
    from, by the encoder's categories, and so does a missing-value indicator.
    The preprocessing may chain imputers, scikit-learn's scalers, encoders
    and feature selectors, in pipelines and column transformers; a step that
    mixes columns (a PCA, say) is a ``ValueError``, since its outputs belong
    to no single input column.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, MultiTaskHealthClassifier, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search fitted with ``refit=True`` whose best estimator is either.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows to explain, as the model takes them.
    baseline : array-like or DataFrame of shape (n_reference, n_features) \
            or (n_features,), default=None
        The reference the predictions are explained against, in the columns
        of ``X``: the mean of these rows, once preprocessed (the estimator's
        inputs), is the baseline input. One row (a Series, a 1-D array) is a
        person of reference; a table (the training data, say) makes the
        baseline its average person, whose encoded categories are their
        frequencies. ``None`` takes the rows of ``X`` themselves, which then
        need at least two.
    n_steps : int, default=50
        Points of the Gauss-Legendre quadrature along the path, at first (see
        above); each costs a forward pass and one backward pass per task.

    Returns
    -------
    attributions : pandas.DataFrame
        One row per row of ``X``, task and column of ``X``, in that order:
        ``sample`` (the row's index label in ``X``, or its position for an
        array), ``task``, ``feature`` (the column's name, or ``x0``, ``x1``,
        ... for an array), ``value`` (the row's value of the column),
        ``attribution`` (in the task's units), and ``prediction`` and
        ``baseline_prediction``, the task's predictions for the row and for
        the baseline input, repeated on each of the row's features.
        ``attributions.pivot_table(index=["sample", "feature"],
        columns="task", values="attribution")`` gives them as a table.

    Raises
    ------
    ValueError
        When the preprocessing has a step whose outputs cannot be traced to
        single input columns, ``baseline`` is ``None`` and ``X`` has one row,
        or ``n_steps`` is not a positive integer.

    See Also
    --------
    task_permutation_importance : Which columns each task relies on overall.
    skhealth.plot.AttributionDisplay : Draws one person's attributions.

    Notes
    -----
    The network is differentiated on the scale it learnt on: the targets
    standardised, and then mapped back to the target's units by each task's
    standard deviation. For a task learnt through a ``target_transform``
    (a log, say) that map is not linear: each row's attributions on the
    transformed scale are multiplied by ``(f(x) - f(b)) / (z(x) - z(b))``,
    where ``z`` is the prediction on the transformed scale and ``f`` in the
    target's units, so that they keep their proportions and add up to the
    prediction minus the baseline's in the target's units. A binary task's
    network learns log-odds, and its attributions in log-odds are mapped to
    the probability the same way, ``f`` being the logistic function.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.inspection import task_attributions
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "bmi", "steps"])
    >>> Y = pd.DataFrame({"sbp": 2 * X["age"], "hdl": -2 * X["steps"]})
    >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
    >>> person = X.iloc[[0]]
    >>> attributions = task_attributions(reg, person, baseline=X)
    >>> attributions.loc[attributions["attribution"].abs().groupby(
    ...     attributions["task"], sort=False).idxmax(), ["task", "feature"]
    ... ].to_numpy().tolist()
    [['sbp', 'age'], ['hdl', 'steps']]
    >>> sums = attributions.groupby("task", sort=False)[
    ...     ["attribution", "prediction", "baseline_prediction"]].agg(
    ...     {"attribution": "sum", "prediction": "first",
    ...      "baseline_prediction": "first"})
    >>> bool(np.allclose(sums["attribution"],
    ...                  sums["prediction"] - sums["baseline_prediction"],
    ...                  atol=0.02))
    True
    """
    reg = fitted_regressor(model)
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}.")
    steps = preprocessing_steps(model)
    # a table's columns in the order the model read them at fit (its own
    # may be in another order, or hold more: an id, the targets)
    X = _model_columns(model, X, "X")
    features = _feature_names(X)
    rows = X.index if hasattr(X, "index") else pd.RangeIndex(np.shape(X)[0])
    sources = _sources_through(steps, len(features), reg.n_features_in_)
    Z = _estimator_input(reg, steps, X)
    if baseline is None:
        if len(Z) < 2:
            raise ValueError(
                "With baseline=None the baseline is the mean of X's rows, and X "
                "has one row: its attributions would all be 0. Pass the rows to "
                "compare with as baseline=, such as the training data."
            )
        base = Z.mean(axis=0)
    else:
        baseline = _model_columns(model, _as_rows(baseline), "baseline")
        base = _estimator_input(reg, steps, baseline).mean(axis=0)

    scale = reg._target_scaler.scale_
    share = reg.network_share_
    diff = Z.astype(np.float64) - base
    # (n_samples, n_inputs, n_tasks) on standardised targets, then the units
    # of the (transformed) targets
    network, outputs = _network_attributions(reg, Z, base, n_steps)
    linear = diff[:, :, None] * reg.linear_coef_[None]
    encoded = (share * network + (1 - share) * linear) * scale
    to_columns = np.zeros((len(sources), len(features)))
    to_columns[np.arange(len(sources)), sources] = 1
    grouped = np.einsum("nkt,kj->njt", encoded, to_columns)

    transformed = _predict_transformed(reg, np.vstack([Z, base[None]]), outputs)
    predictions = _in_units(reg, transformed)
    z, z_base = transformed[:-1], transformed[-1]
    y, y_base = predictions[:-1], predictions[-1]
    grouped *= _rescaling(reg, z, z_base, y, y_base)[:, None, :]

    values = np.asarray(X, dtype=object) if hasattr(X, "columns") else np.asarray(X)
    n_samples, n_features, n_tasks = grouped.shape
    frame = pd.DataFrame(
        {
            "sample": np.repeat(np.asarray(rows), n_tasks * n_features),
            "task": np.tile(np.repeat(reg.target_names_, n_features), n_samples),
            "feature": np.tile(features, n_samples * n_tasks),
            "value": list(np.repeat(values[:, None, :], n_tasks, axis=1).ravel()),
            "attribution": grouped.transpose(0, 2, 1).ravel(),
            "prediction": np.repeat(y.ravel(), n_features),
            "baseline_prediction": np.tile(np.repeat(y_base, n_features), n_samples),
        }
    )
    return frame


def _model_columns(model, X, name):
    """The table ``X`` (argument ``name``) with the columns ``model`` was
    fitted on, in their order: by name where both have names, else as it
    is; a ValueError names the columns it lacks."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X
    missing = [str(column) for column in names if column not in X.columns]
    if missing:
        raise ValueError(
            f"{name} lacks {len(missing)} column(s) the model was fitted on: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}."
        )
    return X[list(names)]


def _feature_names(X):
    """The names of the columns of ``X``: its own, or ``x0``, ``x1``, ..."""
    if hasattr(X, "columns"):
        return [str(column) for column in X.columns]
    return [f"x{j}" for j in range(np.shape(X)[1])]


def _as_rows(baseline):
    """``baseline`` as a table of rows: a Series or a 1-D array is one row."""
    if isinstance(baseline, pd.Series):
        return baseline.to_frame().T.infer_objects()
    if not hasattr(baseline, "columns") and np.ndim(baseline) == 1:
        return np.asarray(baseline)[None, :]
    return baseline


def _estimator_input(reg, steps, X):
    """``X`` through the ``steps``, as the estimator reads it: float32."""
    for step in steps:
        X = step.transform(X)
    return validate_X(reg, X, reset=False, dtype=np.float32, order="C")


def _sources_through(steps, n_columns, n_features_in):
    """The column of ``X`` (by position) that each input of the estimator
    comes from, through the fitted ``steps``."""
    sources = np.arange(n_columns)
    for step in steps:
        sources = _sources(step, sources)
    if len(sources) != n_features_in:
        raise ValueError(
            f"The preprocessing makes {len(sources)} columns of X's {n_columns}, "
            f"but the estimator reads {n_features_in}: the attributions cannot "
            "be traced back to the columns of X."
        )
    return sources


def _sources(step, sources):
    """The sources of the columns that the fitted ``step`` makes of columns
    from ``sources`` (the column of X of each); a ValueError where an output
    is made from several columns, or the step is unknown."""
    if step is None or step == "passthrough":
        return sources
    if step == "drop":
        return sources[:0]
    if isinstance(step, FunctionTransformer) and (
        step.func is None or step.feature_names_out == "one-to-one"
    ):
        return sources
    if isinstance(step, _COLUMNWISE):
        return sources
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            sources = _sources(inner, sources)
        return sources
    if isinstance(step, ColumnTransformer):
        return _column_transformer_sources(step, sources)
    if isinstance(step, SimpleImputer):
        kept = [j for j, s in enumerate(step.statistics_) if not pd.isna(s)]
        indicator = getattr(step, "indicator_", None)
        extra = [] if indicator is None else list(indicator.features_)
        return sources[kept + extra]
    if isinstance(step, MissingIndicator):
        return sources[step.features_]
    if isinstance(step, OneHotEncoder):
        return _encoder_sources(step, sources)
    if isinstance(step, SelectorMixin):
        return sources[step.get_support(indices=True)]
    raise ValueError(
        f"The preprocessing step {type(step).__name__} makes columns that cannot "
        "be traced to single columns of X, so attributions cannot be summed back "
        "to them. Explain the estimator on its own inputs instead: "
        "task_attributions(model[-1], model[:-1].transform(X))."
    )


def _column_transformer_sources(transformer, sources):
    blocks = transformer.output_indices_
    out = np.full(max((b.stop for b in blocks.values()), default=0), -1)
    for name, inner, _ in transformer.transformers_:
        block = blocks[name]
        if block.stop == block.start:  # dropped, or no column
            continue
        positions = input_indices(transformer, name)
        if positions is None:
            raise ValueError(
                f"The columns that the part {name!r} of the ColumnTransformer "
                "reads are unknown, so attributions cannot be summed back to the "
                "columns of X."
            )
        made = _sources(inner, sources[np.asarray(positions, dtype=int)])
        if len(made) != block.stop - block.start:
            raise ValueError(
                f"The part {name!r} of the ColumnTransformer makes "
                f"{block.stop - block.start} columns, where {len(made)} were "
                "expected: attributions cannot be summed back to the columns of X."
            )
        out[block] = made
    return out


def _encoder_sources(encoder, sources):
    """The source of each column of a fitted OneHotEncoder: a block per input,
    sized by its categories (less the one dropped, with its infrequent ones
    as one)."""
    infrequent = getattr(encoder, "infrequent_categories_", None)
    infrequent = infrequent or [None] * len(encoder.categories_)
    dropped = encoder.drop_idx_
    sizes = []
    for i, categories in enumerate(encoder.categories_):
        size = len(categories)
        if infrequent[i] is not None:
            size -= len(infrequent[i]) - 1
        if dropped is not None and dropped[i] is not None:
            size -= 1
        sizes.append(size)
    made = np.repeat(sources, sizes)
    if len(made) != len(encoder.get_feature_names_out()):
        raise ValueError(
            "The OneHotEncoder's columns could not be told apart by category, "
            "so attributions cannot be summed back to the columns of X."
        )
    return made


def _network_attributions(reg, Z, base, n_steps):
    """Integrated gradients of the network (the ensemble's mean) on
    standardised targets, (n_samples, n_inputs, n_tasks), and its outputs for
    the rows of ``Z`` then the ``base``. A row whose attributions miss the
    difference of the network's outputs by more than _COMPLETENESS of a task
    (weighed by the network's share) is integrated again with twice the
    points, up to _REFINEMENTS times."""
    module = reg.net_.module_
    training = module.training
    module.eval()  # dropout off: the members' mean, as predict computes it
    try:
        outputs = _network_outputs(module, np.vstack([Z, base[None]]))
        change = outputs[:-1] - outputs[-1]
        rows = np.arange(len(Z))
        result = np.empty((len(Z), Z.shape[1], reg.n_tasks_))
        for refinement in range(_REFINEMENTS + 1):
            result[rows] = _integrate(module, Z[rows], base, n_steps * 2**refinement)
            gap = np.abs(result[rows].sum(axis=1) - change[rows])
            rows = rows[(reg.network_share_ * gap > _COMPLETENESS).any(axis=1)]
            if not len(rows):
                break
    finally:
        module.train(training)
    return result, outputs


def _network_outputs(module, Z):
    """The network's outputs for the rows of ``Z``, float64."""
    import torch

    param = next(module.parameters())
    with torch.inference_mode():
        out = module(torch.as_tensor(Z, dtype=param.dtype, device=param.device))
    return out.double().cpu().numpy()


def _integrate(module, Z, base, n_steps):
    """Integrated gradients of ``module``'s outputs for the rows of ``Z`` by
    ``n_steps`` Gauss-Legendre points on the path from ``base``."""
    import torch

    param = next(module.parameters())
    like = {"dtype": param.dtype, "device": param.device}
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = torch.as_tensor((nodes + 1) / 2, **like)[:, None, None]
    weights = torch.as_tensor(weights / 2, **like)[:, None, None]
    b = torch.as_tensor(base, **like)
    n_samples, n_inputs = Z.shape
    result = []
    chunk = max(1, _PATH_ROWS // n_steps)
    with torch.enable_grad():
        for start in range(0, n_samples, chunk):
            diff = torch.as_tensor(Z[start : start + chunk], **like) - b
            path = (b + alphas * diff).reshape(-1, n_inputs).requires_grad_()
            out = module(path)
            tasks = []
            for t in range(out.shape[1]):
                (grad,) = torch.autograd.grad(
                    out[:, t].sum(), path, retain_graph=t < out.shape[1] - 1
                )
                mean = (weights * grad.reshape(n_steps, -1, n_inputs)).sum(0)
                tasks.append((mean * diff).double().cpu().numpy())
            result.append(np.stack(tasks, axis=-1))
    return np.concatenate(result)


def _predict_transformed(reg, Z, network):
    """The estimator's predictions for ``Z`` on the scale it learnt on (before
    the inverse of any target transform), given the ``network``'s outputs."""
    share = reg.network_share_
    linear = Z.astype(np.float64) @ reg.linear_coef_ + reg.linear_intercept_
    Y = share * network + (1 - share) * linear
    return Y * reg._target_scaler.scale_ + reg._target_scaler.mean_


def _rescaling(reg, z, z_base, y, y_base):
    """What each row's attributions on the learnt scale are multiplied by to
    add up to ``y - y_base`` in the target's units: ``(y - y_base) / (z -
    z_base)``, and the inverse transform's slope where ``z`` is ``z_base``;
    1 for a continuous task without a transform."""
    factor = np.ones_like(z)
    for t, spec in enumerate(reg._target_transforms.specs):
        if spec is None and not reg._binary_tasks[t]:
            continue
        dz = z[:, t] - z_base[t]
        close = np.abs(dz) <= 1e-9 * reg._target_scaler.scale_[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor[:, t] = np.where(close, 0.0, (y[:, t] - y_base[t]) / dz)
        if close.any():
            h = 1e-4 * reg._target_scaler.scale_[t]
            up, down = z[close], z[close]
            up[:, t] += h
            down[:, t] -= h
            factor[close, t] = (
                _in_units(reg, up)[:, t] - _in_units(reg, down)[:, t]
            ) / (2 * h)
    return factor


def _in_units(reg, z):
    """Predictions ``z`` on the learnt scale in the targets' units: through
    the inverse of any target transform, and a binary task's log-odds as the
    probability of its positive class."""
    y = reg._target_transforms.inverse_transform(z)
    binary = reg._binary_tasks
    if binary.any():
        y = np.array(y, dtype=np.float64)
        y[:, binary] = expit(z[:, binary])
    return y
