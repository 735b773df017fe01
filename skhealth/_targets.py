"""Per-task target transforms: the ``target_transform`` parameter of
:class:`~skhealth.MultiTaskHealthRegressor`, resolved, fitted and applied.

Each task's labels go through its transform (none, a log, or a scikit-learn
transformer) before the estimator standardises them, and its predictions come
back through the inverse, so that predictions and scores are in the units of
``y``. Missing labels (``NaN``) stay missing.
"""

import warnings

import numpy as np
from sklearn.base import clone


class _Log:
    """``log(y)``, for labels above 0; predictions ``exp``, so positive."""

    name, low, advice = "log", 0.0, "use 'log1p' for labels of 0 or more"
    transform, inverse_transform = staticmethod(np.log), staticmethod(np.exp)


class _Log1p:
    """``log(1 + y)``, for labels above -1; predictions above -1."""

    name, low, advice = "log1p", -1.0, "shift the labels, or use None"
    transform, inverse_transform = staticmethod(np.log1p), staticmethod(np.expm1)


TRANSFORMS = {transform.name: transform for transform in (_Log, _Log1p)}


def is_transformer(value):
    return all(
        callable(getattr(value, method, None))
        for method in ("fit", "transform", "inverse_transform")
    )


def task_transforms(target_transform, target_names):
    """The parameter ``target_transform`` as one transform per task: None, a
    name from TRANSFORMS or a transformer; a ValueError where it cannot be."""
    n_tasks = len(target_names)
    names = [str(name) for name in target_names]
    one = target_transform is None or isinstance(target_transform, str)
    if one or is_transformer(target_transform):
        specs = [target_transform] * n_tasks
    elif isinstance(target_transform, dict):
        specs, keys = [None] * n_tasks, {}
        for key, spec in target_transform.items():
            t = _task_index(key, names)
            if t in keys:
                raise ValueError(
                    f"target_transform names the task {names[t]!r} twice, as "
                    f"{keys[t]!r} and {key!r}: give it once."
                )
            specs[t], keys[t] = spec, key
    else:
        specs = list(target_transform)
        if len(specs) != n_tasks:
            raise ValueError(
                f"target_transform has {len(specs)} entries for {n_tasks} tasks "
                f"({names}): give one per task (None where a task keeps its "
                "units), or a dict keyed by target name."
            )
    for name, spec in zip(names, specs, strict=True):
        if not (spec is None or spec in TRANSFORMS or is_transformer(spec)):
            raise ValueError(
                f"target_transform for task {name!r} must be None, 'log', 'log1p' "
                "or a transformer with fit, transform and inverse_transform (e.g. "
                f"sklearn.preprocessing.PowerTransformer()); got {spec!r}."
            )
    return specs


def _task_index(key, names):
    """The task that a key of a ``target_transform`` dict names: by name (a
    column named 2015 is the task '2015'), else an int by position."""
    if str(key) in names:
        return names.index(str(key))
    integer = isinstance(key, int | np.integer) and not isinstance(key, bool)
    if integer and 0 <= key < len(names):
        return int(key)
    raise ValueError(
        f"target_transform names the task {key!r}, which y does not have; its "
        f"tasks are {names} (or their indices 0 to {len(names) - 1})."
    )


class TargetTransforms:
    """The fitted transforms of each task's labels.

    Parameters
    ----------
    specs : list
        One per task, from :func:`task_transforms`.
    target_names : sequence of str
        The tasks' names, for messages.
    """

    def __init__(self, specs, target_names):
        self.specs = specs
        self.target_names = [str(name) for name in target_names]
        # the named transforms learn nothing: usable unfitted (as a model
        # file's, which holds no other)
        self.transforms_ = [
            TRANSFORMS[spec] if isinstance(spec, str) else spec for spec in specs
        ]

    @property
    def identity(self):
        return all(spec is None for spec in self.specs)

    def fit(self, Y):
        """Fit a clone of each transformer on its task's observed labels of
        the 2-D ``Y`` (the named transforms learn nothing; :meth:`transform`
        checks their labels)."""
        for t, spec in enumerate(self.specs):
            if is_transformer(spec):
                labels = Y[~np.isnan(Y[:, t]), t].reshape(-1, 1)
                self.transforms_[t] = clone(spec).fit(labels)
                _check_inverse(self.transforms_[t], labels, self.target_names[t])
        return self

    def transform(self, Y, rows=None):
        """``Y`` (2-D, ``NaN`` for a missing label) with each task's observed
        labels transformed; a ValueError for a label outside a named
        transform's domain, naming its row of y (``rows``: the row of y of
        each row of ``Y``; default their positions)."""
        if self.identity:
            return Y
        self._check_domain(Y, rows)
        Y = Y.copy()
        for t, transform in enumerate(self.transforms_):
            if transform is not None:
                observed = ~np.isnan(Y[:, t])
                column = Y[observed, t].reshape(-1, 1)
                Y[observed, t] = np.ravel(transform.transform(column))
        return Y

    def inverse_transform(self, Y):
        """Predictions ``Y`` (2-D) back in the units of ``y``."""
        if self.identity:
            return Y
        Y = Y.copy()
        for t, transform in enumerate(self.transforms_):
            if transform is not None:
                with np.errstate(over="ignore"):
                    Y[:, t] = np.ravel(transform.inverse_transform(Y[:, [t]]))
        return Y

    def _check_domain(self, Y, rows):
        for t, spec in enumerate(self.specs):
            transform = TRANSFORMS.get(spec) if isinstance(spec, str) else None
            if transform is None:
                continue
            with np.errstate(invalid="ignore"):
                outside = np.flatnonzero(Y[:, t] <= transform.low)
            if outside.size:
                first = int(outside[0])
                row = first if rows is None else int(rows[first])
                raise ValueError(
                    f"target_transform={spec!r} for task {self.target_names[t]!r} "
                    f"needs labels above {transform.low:g}, but y has "
                    f"{Y[first, t]:g} in row {row}, counting from 0 ({outside.size} "
                    f"such label{'s' * (outside.size > 1)}): {transform.advice}."
                )


def _check_inverse(transformer, labels, name):
    """Warn, as TransformedTargetRegressor does, when ``transformer``'s inverse
    does not give back a sample of the ``labels`` it was fitted on."""
    sample = labels[:: max(1, len(labels) // 10)]
    back = np.asarray(transformer.inverse_transform(transformer.transform(sample)))
    if not np.allclose(back.reshape(sample.shape), sample):
        warnings.warn(
            f"The target_transform of task {name!r} ({type(transformer).__name__}) "
            "is not inverted by its inverse_transform on the training labels: "
            "predictions will not be in the units of y.",
            UserWarning,
            stacklevel=5,  # the estimator's fit
        )
