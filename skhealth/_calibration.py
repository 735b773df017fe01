"""Per-task predictive uncertainty: a noise model and conformal calibration.

Each task's predictive variance at ``x`` is ``factor * (exp(f(x) @ coef +
intercept) + spread(x))``: the outcome noise, whose log is linear in the
features ``f(x)`` (the inputs, and every task's prediction and its square: a
measure's noise often grows with its level) by a ridge regression of the log
squared residuals, plus the spread of the ensemble's members; ``factor``
makes the squared residuals of new rows average 1 in units of it. A task
whose noise the features do not predict, out of fold, gets a constant one.
The root is the predictive std, in standardised target units.

The intervals are split conformal on normalised scores, ``|residual| / std``:
per task (and per group, Mondrian), the score quantile of rank
``ceil(confidence * (n + 1))`` scales each person's std. The residuals are out
of sample (out of fold with cross-fitting, the held-out rows otherwise) and so
is each score's std: the noise model that scales a row was fitted on other
folds. The intervals then cover ``confidence`` of new labels on average, with
widths that follow each person's noise.
"""

import math
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import RidgeCV

from ._blend import RIDGE_ALPHAS

__all__ = [
    "Calibration",
    "calibrate",
    "check_confidence",
    "fit_noise",
    "min_labels",
    "noise_features",
]

# Folds of the noise model's cross-fitting
_NOISE_FOLDS = 5
# Scores kept per task and group: beyond, consecutive sorted scores are kept
# as their block's largest, weighing the block's weight, which moves a
# quantile's level by at most 1 / MAX_SCORES (and only up).
MAX_SCORES = 10_000
# Squared residuals are floored at this share of their mean before the log:
# a residual of 0 would otherwise weigh without bound in the regression.
_FLOOR = 1e-3


def check_confidence(confidence):
    """``confidence`` as a float, or a ValueError unless it is in (0, 1)."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float, np.integer, np.floating))
        or not 0 < confidence < 1
    ):
        raise ValueError(
            f"confidence must be a number strictly between 0 and 1 (e.g. 0.9 for "
            f"90 % intervals); got {confidence!r}."
        )
    return float(confidence)


def min_labels(confidence):
    """The fewest calibration labels a task needs for ``confidence`` intervals:
    the score of rank ``ceil(confidence * (n + 1))`` must exist."""
    return math.ceil(confidence / (1 - confidence) - 1e-9)


@dataclass
class Calibration:
    """A fitted calibration (see the module's docstring).

    Attributes
    ----------
    coef : ndarray of shape (n_features + 2 * n_tasks, n_tasks)
    intercept : ndarray of shape (n_tasks,)
        The noise model: ``log`` noise variance ``noise_features(X,
        prediction) @ coef + intercept``.
    factor : ndarray of shape (n_tasks,)
    log_noise_range : ndarray of shape (2, n_tasks)
        The lowest and highest log noise variance of the calibration rows: a
        new row's is kept within them, so that a person far outside the
        calibration rows (where the quadratic terms grow without bound) gets
        the noisiest the calibration saw, not more.
    source : {"out_of_fold", "validation", "calibrate"}
        The calibration rows: the training rows out of fold, the validation
        rows, or those given to ``calibrate``.
    groups : list or None
        The groups' labels (Mondrian calibration), or ``None``: one group.
    scores : list of list of ndarray
        Per group and task, the normalised scores, sorted.
    weights : list of list of ndarray, or None
        Their weights, aligned, in units of the mean weight of a label;
        ``None`` when every label weighs 1.
    """

    coef: np.ndarray
    intercept: np.ndarray
    factor: np.ndarray
    log_noise_range: np.ndarray
    source: str
    groups: list | None
    scores: list
    weights: list | None = None

    def std(self, X, prediction, spread):
        """The predictive std ``(n_samples, n_tasks)`` at ``X``, given the
        prediction and the members' ``spread`` (variance) there, in
        standardised units."""
        log_noise = noise_features(X, prediction) @ self.coef + self.intercept
        log_noise = np.clip(log_noise, *self.log_noise_range)
        return np.sqrt(self.factor * (np.exp(log_noise) + spread))

    def quantiles(self, confidence, groups, task_names):
        """Per row and task, the score quantile for ``confidence`` of the
        row's group: ``(n_samples or 1, n_tasks)``."""
        if self.groups is None:
            if groups is not None:
                raise ValueError(
                    "groups were given, but the model was calibrated without "
                    "groups: leave groups out, or calibrate(X, y, groups=...) first."
                )
            return self._group_quantiles(0, confidence, task_names, None)[None, :]
        if groups is None:
            raise ValueError(
                "The model was calibrated per group (groups "
                f"{_labels(self.groups)}): pass each row's group, groups=..."
            )
        groups = _check_groups(groups)
        known = {_key(label): g for g, label in enumerate(self.groups)}
        unknown = sorted(
            {label for label in groups if _key(label) not in known}, key=str
        )
        if unknown:
            raise ValueError(
                f"groups holds {_labels(unknown)}, which the calibration has no "
                f"scores for; it knows {_labels(self.groups)}."
            )
        index = np.array([known[_key(label)] for label in groups], dtype=int)
        present = np.unique(index)
        # only the groups asked for: a small group fails its own rows only
        per_group = np.zeros((len(self.groups), len(task_names)))
        for g in present:
            per_group[g] = self._group_quantiles(
                g, confidence, task_names, self.groups[g]
            )
        return per_group[index]

    def _group_quantiles(self, g, confidence, task_names, label):
        quantiles = np.empty(len(task_names))
        for t, name in enumerate(task_names):
            scores = self.scores[g][t]
            weights = None if self.weights is None else self.weights[g][t]
            quantiles[t] = _conformal_quantile(scores, weights, confidence)
            if np.isnan(quantiles[t]):
                where = "" if label is None else f" in group {label!r}"
                n = len(scores) if weights is None else round(weights.sum())
                raise ValueError(
                    f"Task {name!r} has {n} calibration labels{where}; "
                    f"{100 * confidence:g} % intervals need at least "
                    f"{min_labels(confidence)}. Lower the confidence, or calibrate "
                    "on more labelled rows (calibrate(X, y))."
                )
        return quantiles

    def label_counts(self):
        """The number of calibration labels ``(n_groups, n_tasks)``."""
        if self.weights is None:
            return np.array([[len(s) for s in per_task] for per_task in self.scores])
        # weights are in units of a label's mean weight: they sum to the count
        return np.array(
            [[round(w.sum()) for w in per_task] for per_task in self.weights]
        )


def _conformal_quantile(scores, weights, confidence):
    """The smallest score whose weight, with those below it, is at least
    ``confidence`` of the scores' total plus one label's (the new person's,
    1); ``NaN`` when no score is. Unweighted, the score of rank
    ``ceil(confidence * (n + 1))``."""
    # a level a hair below confidence: 0.9 * 10 must be 9, not 9.000000000000002
    level = confidence - 1e-12
    if weights is None:
        rank = math.ceil(level * (len(scores) + 1)) - 1
    else:
        cumulative = np.cumsum(weights) / (weights.sum() + 1)
        rank = int(np.searchsorted(cumulative, level))
    return scores[rank] if rank < len(scores) else np.nan


SOURCES = ("out_of_fold", "validation", "calibrate")


def calibrate(X, Y, weight, prediction, spread, *, source, groups=None, seed=0):
    """A :class:`Calibration` from out-of-sample predictions.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The estimator's inputs of the calibration rows.
    Y : ndarray of shape (n_samples, n_tasks)
        Their standardised labels (any finite value where missing).
    weight : ndarray of shape (n_samples, n_tasks)
        Label weights, 0 for a missing label.
    prediction, spread : ndarray of shape (n_samples, n_tasks)
        The out-of-sample predictions and the members' variance there.
    source : {"out_of_fold", "validation", "calibrate"}
        Where the rows come from (see :class:`Calibration`).
    groups : ndarray of shape (n_samples,), default=None
        Each row's group, for per-group quantiles.
    seed : int
        Deals the rows into the noise model's folds.
    """
    squared = (Y - prediction) ** 2
    features = noise_features(X, prediction)
    (coef, intercept, factor), std = fit_noise(features, squared, spread, weight, seed)
    log_noise = features @ coef + intercept
    observed = weight > 0
    log_noise_range = np.array(
        [
            np.where(observed, log_noise, np.inf).min(axis=0),
            np.where(observed, log_noise, -np.inf).max(axis=0),
        ]
    )
    # a task without calibration labels keeps its constant (its intercept)
    log_noise_range = np.where(np.isfinite(log_noise_range), log_noise_range, intercept)
    n_samples, n_tasks = Y.shape
    scores = np.sqrt(squared) / std
    if groups is None:
        labels, index = None, np.zeros(n_samples, dtype=int)
    else:
        groups = _check_groups(groups)
        labels = sorted(set(groups.tolist()), key=lambda v: (str(type(v)), v))
        position = {label: g for g, label in enumerate(labels)}
        index = np.array([position[label] for label in groups.tolist()])
    per_group, per_group_weights = [], []
    for g in range(1 if labels is None else len(labels)):
        task_scores, task_weights = [], []
        for t in range(n_tasks):
            rows = (weight[:, t] > 0) & (index == g)
            order = np.argsort(scores[rows, t], kind="stable")
            unit = weight[rows, t].mean() if rows.any() else 1.0
            kept, kept_weight = _thin(
                scores[rows, t][order], weight[rows, t][order] / unit
            )
            task_scores.append(kept)
            task_weights.append(kept_weight)
        per_group.append(task_scores)
        per_group_weights.append(task_weights)
    unweighted = all(
        np.array_equal(w, np.ones(len(w))) for ws in per_group_weights for w in ws
    )
    return Calibration(
        coef,
        intercept,
        factor,
        log_noise_range,
        source,
        labels,
        per_group,
        None if unweighted else per_group_weights,
    )


def noise_features(X, prediction):
    """The noise model's features: the inputs ``X``, and the standardised
    ``prediction`` of every task and its square."""
    return np.hstack([np.asarray(X, dtype=np.float64), prediction, prediction**2])


def fit_noise(features, squared, spread, weight, seed):
    """Per task, the noise model ``(coef, intercept, factor)`` fitted on the
    ``squared`` residuals of the labels of positive ``weight``, and each
    row's std ``(n_samples, n_tasks)`` by the model fitted on the other folds
    (the rows dealt into them with ``seed``).

    A task's model uses the ``features`` only where, out of fold, they give
    its residuals a higher Gaussian likelihood than a constant noise does."""
    n_samples, n_tasks = squared.shape
    fold = np.random.default_rng(seed).permutation(n_samples) % _NOISE_FOLDS
    coef, intercept = np.zeros((features.shape[1], n_tasks)), np.zeros(n_tasks)
    factor, std = np.ones(n_tasks), np.ones((n_samples, n_tasks))
    for t in range(n_tasks):
        rows, w = weight[:, t] > 0, weight[:, t]
        fits = []
        for F in (features, features[:, :0]):  # adaptive, then constant
            cross_fitted = np.ones(n_samples)
            # each row scaled by a noise model that never saw its residual
            for f in range(_NOISE_FOLDS):
                inside, outside = fold == f, rows & (fold != f)
                model = _noise_model(
                    F[outside], squared[outside, t], spread[outside, t], w[outside]
                )
                cross_fitted[inside] = _std(F[inside], spread[inside, t], *model)
            nll = (
                np.average(
                    np.log(cross_fitted[rows] ** 2)
                    + squared[rows, t] / cross_fitted[rows] ** 2,
                    weights=w[rows],
                )
                if rows.any()
                else 0.0
            )
            fits.append((nll, F, cross_fitted))
        _, F, std[:, t] = min(fits, key=lambda fit: fit[0])
        model_coef, intercept[t], factor[t] = _noise_model(
            F[rows], squared[rows, t], spread[rows, t], w[rows]
        )
        coef[: F.shape[1], t] = model_coef
        if rows.any():
            # The factor makes the rows' own squared residuals average one
            # variance; new rows' run higher by as much as these rows' do
            # under the models that never saw them. The scores are scaled
            # alike, so that the intervals, quantile times std, stay as wide.
            excess = np.average(squared[rows, t] / std[rows, t] ** 2, weights=w[rows])
            factor[t] *= excess
            std[:, t] *= np.sqrt(excess)
    return (coef, intercept, factor), std


def _thin(scores, weights):
    """At most :data:`MAX_SCORES` of the sorted ``scores``: blocks of
    consecutive ones as their largest, weighing the block's weight."""
    if len(scores) <= MAX_SCORES:
        return scores, weights
    block = math.ceil(len(scores) / MAX_SCORES)
    starts = np.arange(0, len(scores), block)
    ends = np.minimum(starts + block, len(scores)) - 1
    return scores[ends], np.add.reduceat(weights, starts)


def _std(X, spread, coef, intercept, factor):
    noise = np.exp(np.clip(X @ coef + intercept, -50, 50))
    return np.sqrt(factor * (noise + spread))


def _noise_model(X, squared, spread, weight):
    """``(coef, intercept, factor)`` of one task's noise model, fitted on the
    squared residuals of the rows given (a constant one below 2 rows)."""
    if len(squared) == 0:
        return np.zeros(X.shape[1]), 0.0, 1.0
    weight = weight / weight.mean()  # the ridge's penalty is against their sum
    floor = _FLOOR * max(np.average(squared, weights=weight), 1e-12)
    target = np.log(squared + floor)
    if len(squared) < 2 or np.ptp(X, axis=0).max(initial=0) == 0:
        coef, intercept = np.zeros(X.shape[1]), np.average(target, weights=weight)
    else:
        ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(X, target, sample_weight=weight)
        coef, intercept = ridge.coef_, ridge.intercept_
    variance = np.exp(np.clip(X @ coef + intercept, -50, 50)) + spread
    factor = np.average(squared / variance, weights=weight)
    return coef, float(intercept), float(max(factor, 1e-12))


def check_groups(groups, n_samples):
    """``groups`` as a 1-D object array of str, int or bool labels, one per
    row; a ValueError naming what is wrong otherwise."""
    shape = np.shape(groups)
    if len(shape) != 1:
        raise ValueError(
            f"groups must be 1-D, one label per row; got an array of shape {shape}."
        )
    if shape[0] != n_samples:
        raise ValueError(
            f"groups has {shape[0]} entries but X has {n_samples} rows: give one "
            "group per row."
        )
    return _check_groups(groups)


def _check_groups(groups):
    labels = [
        g.item() if isinstance(g, np.generic) else g
        for g in np.asarray(groups, dtype=object).tolist()
    ]
    bad = [g for g in labels if not isinstance(g, (str, int, bool))]
    if bad:
        hint = (
            " (a float: a column of integers with a missing value reads as "
            "floats; convert the labels to int or str, and give the missing ones "
            "a label)"
            if isinstance(bad[0], float)
            else ""
        )
        raise ValueError(
            f"groups must hold one label per row: a str, int or bool; got "
            f"{bad[0]!r}{hint}."
        )
    kinds = {type(g) is bool for g in labels}
    if len(kinds) > 1:
        raise ValueError(
            "groups mixes True/False with other labels, which Python takes for "
            "1 and 0: use one kind of label."
        )
    return np.array(labels, dtype=object)


def _key(label):
    # True and 1 are equal and hash alike: as groups they must not be
    return type(label) is bool, label


def _labels(labels):
    return ", ".join(repr(label) for label in labels)
