"""The schema: what loading accepts of each value a model file holds.

Each learned attribute has a constraint in the manner of scikit-learn's
``_parameter_constraints``: an object that says whether a value satisfies it
and what it expects. What it accepts is what fitting gives; a value that
fitting never gives is damage, or a forgery, refused with a
:class:`ModelFileError` that names the file, the value and what was expected.
"""

import contextlib
import itertools
import reprlib
import zipfile
from numbers import Integral, Real

import numpy as np
import safetensors
import torch

from .._calibration import SOURCES
from ..monitoring import MIN_OBSERVED, PERCENTILES
from ._container import ModelFileError

# A device's errors (out of memory, busy) are RuntimeErrors, but no damage to
# the file. torch.AcceleratorError came with torch 2.8.
DEVICE_ERRORS = (torch.OutOfMemoryError, getattr(torch, "AcceleratorError", ()))


@contextlib.contextmanager
def malformed(name, what="its content"):
    """Report content that a checked file should not have as a ModelFileError
    that says where it is."""
    try:
        yield
    except (ModelFileError, *DEVICE_ERRORS):
        raise
    except (
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        RuntimeError,
        TypeError,
        ValueError,
        safetensors.SafetensorError,
        zipfile.BadZipFile,
    ) as exc:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} is malformed "
            f"({exc!r})."
        ) from exc


def expect(ok, value, expected, field, name):
    """Refuse the file unless ``ok``: its ``field`` is ``value``, not ``expected``."""
    if not ok:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: its {field} is "
            f"{reprlib.repr(value)}, not {expected}."
        )


def some(names, n=4):
    """The first ``n`` of ``names``, sorted, and how many more there are."""
    names = sorted(names)
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return (", ".join(names[:n]) or "none") + more


# ------------------------------------------------------------- constraints
def is_int(value, low=1, high=None):
    return (
        isinstance(value, Integral)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    )


def is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def is_reals(value):
    return isinstance(value, list) and all(map(is_real, value))


def is_bool(value):
    return isinstance(value, (bool, np.bool_))


class Int:
    """An int (not a bool) from ``low`` to ``high``."""

    def __init__(self, low=1, high=None, description="a positive int"):
        self.low, self.high, self.description = low, high, description

    def is_satisfied_by(self, value, attributes):
        return is_int(value, self.low, self.high)

    def __str__(self):
        return self.description


class Number:
    """A number, or ``None`` where ``none`` is allowed."""

    def __init__(self, none=False):
        self.none = none

    def is_satisfied_by(self, value, attributes):
        return (self.none and value is None) or is_real(value)

    def __str__(self):
        return "a number or None" if self.none else "a number"


class Numbers:
    """A list of numbers, or ``None`` where ``none`` is allowed."""

    def __init__(self, none=False):
        self.none = none

    def is_satisfied_by(self, value, attributes):
        return (self.none and value is None) or is_reals(value)

    def __str__(self):
        return "a list of numbers or None" if self.none else "a list of numbers"


class PrivacySteps:
    """Opacus' accountant history: ``[noise_multiplier, sample_rate, steps]``
    per run of steps, a noise >= 0, a rate in (0, 1] and a positive int."""

    def is_satisfied_by(self, value, attributes):
        return isinstance(value, list) and all(
            isinstance(step, list)
            and len(step) == 3
            and is_real(step[0])
            and 0 <= step[0] < float("inf")
            and is_real(step[1])
            and 0 < step[1] <= 1
            and is_int(step[2])
            for step in value
        )

    def __str__(self):
        return "a list of [noise_multiplier, sample_rate, steps]"


class Flag:
    """A bool; ``True`` only where ``true_if(attributes)`` holds."""

    def __init__(self, true_if=None, description="a bool"):
        self.true_if, self.description = true_if, description

    def is_satisfied_by(self, value, attributes):
        return is_bool(value) and (
            not value or self.true_if is None or self.true_if(attributes)
        )

    def __str__(self):
        return self.description


class Array:
    """An array of finite floats (``kind="f"``) or of str (``kind="O"``), one
    per feature or task: its shape is that of the attributes named by
    ``shape`` (a name, or a tuple of names)."""

    def __init__(self, kind, shape, description):
        self.kind, self.description = kind, description
        self.shape = (shape,) if isinstance(shape, str) else shape

    def is_satisfied_by(self, value, attributes):
        return (
            isinstance(value, np.ndarray)
            and value.shape == tuple(attributes[name] for name in self.shape)
            and value.dtype.kind == self.kind
            and (
                all(isinstance(item, str) for item in value)
                if self.kind == "O"
                else bool(np.isfinite(value).all())
            )
        )

    def __str__(self):
        return self.description


# The estimator's learned attributes, saved when present (all but
# feature_names_in_ always are), in the order they are checked: a constraint
# may depend on the attributes above it. The network is built from them.
ATTRIBUTES = {
    "n_features_in_": Int(),
    "feature_names_in_": Array("O", "n_features_in_", "one str per feature"),
    "n_tasks_": Int(),
    "target_names_": Array("O", "n_tasks_", "one str per task"),
    "_y_1d": Flag(
        lambda a: a["n_tasks_"] == 1, description="a bool, true only for one task"
    ),
    # the seeds training draws from: randint(2**31 - 1) plus the epoch
    "_seed": Int(0, 2**31 - 2, "an int from 0 to 2**31 - 2"),
    "do_early_stopping_": Flag(),
    "cross_fit_": Flag(),
    "n_iter_": Int(),
    # None in a private model's file, which leaves the training losses out
    "loss_curve_": Numbers(none=True),
    "best_loss_": Number(none=True),
    "validation_scores_": Numbers(none=True),
    "best_validation_score_": Number(none=True),
    "task_weights_": Array("f", "n_tasks_", "one float per task"),
    "linear_coef_": Array(
        "f", ("n_features_in_", "n_tasks_"), "one float per feature and task"
    ),
    "linear_intercept_": Array("f", "n_tasks_", "one float per task"),
    "network_share_": Array("f", "n_tasks_", "one float per task"),
    # a private model's (see PRIVATE_ATTRIBUTES)
    "epsilon_": Number(),
    "delta_": Number(),
    "noise_multiplier_": Number(),
    "_privacy_history": PrivacySteps(),
}
# feature_names_in_ is set only for named columns; files written before the
# linear path lack the rest (the estimator then predicts with its network)
# What a model trained with dp learns, and no other does.
PRIVATE_ATTRIBUTES = ("epsilon_", "delta_", "noise_multiplier_", "_privacy_history")
OPTIONAL_ATTRIBUTES = (
    *PRIVATE_ATTRIBUTES,
    "feature_names_in_",
    "cross_fit_",
    "linear_coef_",
    "linear_intercept_",
    "network_share_",
)
SCALER_ATTRIBUTES = ("mean_", "scale_", "var_", "n_samples_seen_", "n_features_in_")


def _are_classes(value):
    """Whether ``value`` is a task's classes as fitting learns them: an array
    of two distinct str, bools, ints or finite floats, sorted."""
    if not (isinstance(value, np.ndarray) and value.shape == (2,)):
        return False
    kind = value.dtype.kind
    if kind == "O":
        if not all(isinstance(item, str) for item in value):
            return False
    elif kind == "f":
        if not np.isfinite(value).all():
            return False
    elif kind not in "biu":
        return False
    return bool(value[0] < value[1])


class Classes:
    """The classes of a classifier's tasks: one task's (see
    :func:`_are_classes`) for a 1-D ``y`` (``_y_1d``), else a list of each
    task's."""

    def is_satisfied_by(self, value, attributes):
        if attributes["_y_1d"]:
            return _are_classes(value)
        return (
            isinstance(value, list)
            and len(value) == attributes["n_tasks_"]
            and all(map(_are_classes, value))
        )

    def __str__(self):
        return (
            "two distinct classes per task, sorted (str, bools, ints or finite "
            "floats): an array for a 1-D y, else a list of one per task"
        )


class ClassWeights:
    """The weights of each task's two classes: positive finite floats of shape
    ``(n_tasks_, 2)``."""

    def is_satisfied_by(self, value, attributes):
        return (
            isinstance(value, np.ndarray)
            and value.dtype.kind == "f"
            and value.shape == (attributes["n_tasks_"], 2)
            and bool(np.isfinite(value).all())
            and bool((value > 0).all())
        )

    def __str__(self):
        return "positive finite floats of shape (n_tasks_, 2)"


# The learned attributes of each estimator a model file may hold beyond
# ATTRIBUTES, by the class name it records; all are saved, and checked after
# ATTRIBUTES.
CLASS_ATTRIBUTES = {
    "MultiTaskHealthRegressor": {},
    "MultiTaskHealthClassifier": {
        "classes_": Classes(),
        "class_weight_": ClassWeights(),
    },
}


def _is_class_weight(value):
    """Whether ``value`` is a dict of positive finite weights by class (str,
    bool or finite number)."""
    return isinstance(value, dict) and all(
        (
            isinstance(key, (str, bool, np.bool_))
            or (is_real(key) and bool(np.isfinite(key)))
        )
        and is_real(weight)
        and bool(np.isfinite(weight))
        and weight > 0
        for key, weight in value.items()
    )


def check_class_weight(value, name):
    """Refuse a classifier's ``class_weight`` parameter that fitting refuses:
    other than None, "balanced", a dict of positive finite weights by class or
    a list of them."""
    expect(
        value is None
        or (isinstance(value, str) and value == "balanced")
        or _is_class_weight(value)
        or (isinstance(value, list) and all(map(_is_class_weight, value))),
        value,
        'None, "balanced", a dict {class: positive weight} or a list of them',
        "parameter class_weight",
        name,
    )


def check_attributes(attributes, name, estimator_class="MultiTaskHealthRegressor"):
    """Refuse learned ``attributes`` (decoded) that fitting an
    ``estimator_class`` (a key of :data:`CLASS_ATTRIBUTES`) never gives: one
    it does not learn, one missing, or a value it never learns."""
    extra = CLASS_ATTRIBUTES[estimator_class]
    unknown = attributes.keys() - ATTRIBUTES.keys() - extra.keys()
    if unknown:
        raise ModelFileError(
            f"{name} is damaged: it holds the attributes {some(unknown)}, which "
            f"a {estimator_class} does not learn."
        )
    for attribute, constraint in {**ATTRIBUTES, **extra}.items():
        if attribute not in attributes:
            if attribute not in OPTIONAL_ATTRIBUTES:
                raise ModelFileError(f"{name} is damaged: it lacks {attribute}.")
            continue
        value = attributes[attribute]
        expect(
            constraint.is_satisfied_by(value, attributes),
            value,
            constraint,
            attribute,
            name,
        )


def check_target_statistics(scaler, n_tasks, name, binary=None):
    """Refuse target statistics other than what predict computes with: one
    finite float per task, the scale the root of the variance (or 1 for a
    constant task), as fitting gives; for the ``binary`` tasks (a mask, where
    given), whose 0/1 labels are learnt as they are, a mean of 0 and a scale
    and variance of 1. A scale whose square overflows would make predictions
    overflow."""
    per_task = [np.asarray(getattr(scaler, a)) for a in ("mean_", "scale_", "var_")]
    if (
        scaler.n_features_in_ != n_tasks
        or any(
            value.shape != (n_tasks,)
            or value.dtype.kind != "f"
            or not np.isfinite(value).all()
            for value in per_task
        )
        or not (per_task[1] > 0).all()
        or not np.all(
            np.isclose(per_task[1], np.sqrt(per_task[2]), rtol=1e-6, atol=0)
            | (per_task[1] == 1.0)
        )
    ):
        raise ModelFileError(
            f"{name} is damaged: its target statistics are not one finite float "
            f"per task ({n_tasks}), with positive scales that are the root of the "
            "variances."
        )
    if binary is not None and binary.any():
        mean, scale, var = (value[binary] for value in per_task)
        expect(
            (mean == 0).all() and (scale == 1).all() and (var == 1).all(),
            {"mean_": mean, "scale_": scale, "var_": var},
            "a mean of 0 and a scale and variance of 1, as for 0/1 labels",
            "target statistics of the binary tasks",
            name,
        )


def is_epoch(record, number, n_tasks, private=False):
    """Whether ``record`` is the history of epoch ``number`` as fitting records
    it: its number, training loss, task weights and batches, and otherwise
    numbers, flags and lists of numbers under str keys."""
    return (
        isinstance(record, dict)
        and type(record.get("epoch")) is int
        and record["epoch"] == number
        # a private model's file leaves the training loss out
        and (private or is_real(record.get("train_loss")))
        and is_reals(record.get("task_weights"))
        and len(record["task_weights"]) == n_tasks
        and isinstance(record.get("batches"), list)
        and all(
            isinstance(batch, dict)
            and all(isinstance(k, str) and is_real(v) for k, v in batch.items())
            for batch in record["batches"]
        )
        and all(
            isinstance(key, str)
            and (
                key == "batches"
                or value is None
                or is_bool(value)
                or is_real(value)
                or is_reals(value)
            )
            for key, value in record.items()
        )
    )


def check_net_record(saved, batch_size, attributes, name):
    """Refuse a batch size, history or optimizer record that fitting never
    gives."""
    expect(is_int(batch_size), batch_size, "a positive int", "batch size", name)
    history = saved["history"]
    expect(
        isinstance(history, list)
        and len(history) == attributes["n_iter_"]
        and all(
            is_epoch(record, number, attributes["n_tasks_"], "epsilon_" in attributes)
            for number, record in enumerate(history, 1)
        ),
        history,
        "one record per epoch (n_iter_) of what fitting records",
        "training history",
        name,
    )
    optimizer = saved["optimizer"]
    # Adam's state is all tensors (fused, its step is one too): in the weights
    if not (
        isinstance(optimizer, dict)
        and optimizer.keys() == {"param_groups", "state"}
        and optimizer["state"] == {}
    ):
        raise ModelFileError(
            f"{name} is damaged: its optimizer record is not Adam's parameter "
            "groups with its state in weights.safetensors."
        )


def fits_group(group, built):
    """Whether a saved parameter group is the ``built`` one: the same parameters
    and settings, but for the learning rate and weight decay, which follow
    learning_rate_init and alpha."""
    return (
        isinstance(group, dict)
        and group.keys() == built.keys()
        and group["params"] == built["params"]
        and all(
            is_real(group[key]) and group[key] >= 0 for key in ("lr", "weight_decay")
        )
        and all(
            group[key] == value
            for key, value in built.items()
            if key not in ("params", "lr", "weight_decay")
        )
    )


# Bounds on a calibration's values, far beyond what calibrating gives, within
# which intervals and stds stay finite: a factor around 1, scores of a few
# stds, a label's weight relative to the mean label's, log noise variances of
# a standardised target.
_CALIBRATION_BOUND = 1e12
_LOG_NOISE_BOUND = 100.0


def check_calibration(data, attributes, name, n_tasks=None):
    """Refuse a calibration (decoded, or ``None``) that fitting never gives:
    a noise model of the model's features and its ``n_tasks`` continuous
    tasks (``None``: all of them) whose stds stay finite, and per group and
    task sorted, non-negative scores with positive weights, all within bounds
    that keep intervals finite. A model without continuous tasks has none."""
    if n_tasks is None:
        n_tasks = attributes["n_tasks_"]
    if data is None:
        return
    expect(
        n_tasks > 0,
        data,
        "None: the model has no continuous task to calibrate",
        "calibration",
        name,
    )
    n_features = attributes["n_features_in_"]
    fields = {
        "coef",
        "intercept",
        "factor",
        "log_noise_range",
        "source",
        "groups",
        "scores",
        "weights",
    }
    expect(
        isinstance(data, dict) and data.keys() == fields,
        data,
        f"a calibration with the fields {some(fields, 8)}",
        "calibration",
        name,
    )
    expect(
        data["source"] in SOURCES,
        data["source"],
        f"one of {', '.join(SOURCES)}",
        "calibration's source",
        name,
    )
    for field, shape, low, high, bounds in (
        ("coef", (n_features + 2 * n_tasks, n_tasks), -np.inf, np.inf, ""),
        ("intercept", (n_tasks,), -np.inf, np.inf, ""),
        ("factor", (n_tasks,), 0, _CALIBRATION_BOUND, ", positive, at most 1e12"),
        (
            "log_noise_range",
            (2, n_tasks),
            -_LOG_NOISE_BOUND,
            _LOG_NOISE_BOUND,
            ", lowest then highest, from -100 to 100",
        ),
    ):
        value = data[field]
        expect(
            _is_floats(value, shape)
            and (value > low).all()
            and (value <= high).all()
            and (field != "log_noise_range" or (value[0] <= value[1]).all()),
            value,
            f"finite floats of shape {shape}{bounds}",
            f"calibration's {field}",
            name,
        )
    groups = data["groups"]
    expect(
        groups is None
        or (
            isinstance(groups, list)
            and groups
            and all(isinstance(g, (str, int, bool)) for g in groups)
            and len({(type(g) is bool, g) for g in groups}) == len(groups)
            and len({type(g) is bool for g in groups}) == 1
        ),
        groups,
        "None or a list of distinct str, int or bool labels, not bools with others",
        "calibration's groups",
        name,
    )
    n_groups = 1 if groups is None else len(groups)
    for field in ("scores", "weights"):
        value = data[field]
        expect(
            (field == "weights" and value is None)
            or (
                isinstance(value, list)
                and len(value) == n_groups
                and all(isinstance(v, list) and len(v) == n_tasks for v in value)
                and all(
                    _is_floats(a, (len(a),) if isinstance(a, np.ndarray) else None)
                    for v in value
                    for a in v
                )
            ),
            value,
            f"a list per group ({n_groups}) of one array of floats per task "
            f"({n_tasks})",
            f"calibration's {field}",
            name,
        )
    for g, per_task in enumerate(data["scores"]):
        for t, scores in enumerate(per_task):
            weights = None if data["weights"] is None else data["weights"][g][t]
            expect(
                (scores >= 0).all()
                and (scores <= _CALIBRATION_BOUND).all()
                and (np.diff(scores) >= 0).all()
                and (
                    weights is None
                    or (
                        weights.shape == scores.shape
                        and (weights >= 1 / _CALIBRATION_BOUND).all()
                        and (weights <= _CALIBRATION_BOUND).all()
                    )
                ),
                scores,
                "sorted scores from 0 to 1e12, with as many weights from 1e-12 to 1e12",
                f"calibration's scores of task {t} in group {g}",
                name,
            )


def _is_floats(value, shape):
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
        and value.shape == shape
        and bool(np.isfinite(value).all())
    )


# The most categories a data profile's string column may list: far beyond
# what profiling lists (50 by default), and a bound on what loading keeps.
_PROFILE_CATEGORIES = 10_000
# The tolerance of shares that sum to 1
_SHARES_SUM = 1e-6


def check_profile(data, names, name):
    """Refuse a data profile (plain JSON data) that profiling never gives:
    one summary per input column of the model (``names``, in order), with
    counts within its rows and finite, sorted percentiles and shares that sum
    to 1 (see :func:`skhealth.monitoring.data_profile`)."""
    expect(
        isinstance(data, dict) and data.keys() == {"n_rows", "columns"},
        data,
        "a profile with the fields columns, n_rows",
        "data profile",
        name,
    )
    n_rows = data["n_rows"]
    expect(is_int(n_rows), n_rows, "a positive int", "data profile's n_rows", name)
    columns = data["columns"]
    expect(
        isinstance(columns, list)
        and len(columns) == len(names)
        and all(
            isinstance(c, dict) and c.get("name") == n
            for c, n in zip(columns, names, strict=False)
        ),
        [c.get("name") if isinstance(c, dict) else c for c in columns]
        if isinstance(columns, list)
        else columns,
        f"one summary per input column of the model, in order ({some(names, 8)})",
        "data profile's columns",
        name,
    )
    kinds = {
        "number": {
            "name",
            "kind",
            "n_missing",
            "mean",
            "std",
            "quantiles",
            "bin_shares",
        },
        "string": {"name", "kind", "n_missing", "categories", "shares", "other"},
    }
    for column in columns:
        field = f"column {column['name']!r}"
        kind = column.get("kind")
        expect(
            kind in kinds and column.keys() == kinds[kind],
            column,
            "a number column's name, kind, n_missing, mean, std, quantiles and "
            "bin_shares, or a string column's name, kind, n_missing, categories, "
            "shares and other",
            f"data profile's {field}",
            name,
        )
        n_missing = column["n_missing"]
        expect(
            is_int(n_missing, 0, n_rows),
            n_missing,
            f"an int from 0 to n_rows ({n_rows})",
            f"data profile's n_missing of {field}",
            name,
        )
        observed = n_rows - n_missing
        if kind == "number":
            _check_number_profile(
                column, observed, field, name, MIN_OBSERVED, len(PERCENTILES)
            )
        else:
            _check_string_profile(column, observed, field, name)


def _finite(value):
    return is_real(value) and bool(np.isfinite(value))


def _shares(values):
    return isinstance(values, list) and all(_finite(v) and 0 <= v <= 1 for v in values)


def _check_number_profile(column, observed, field, name, min_observed, n_quantiles):
    summary = ("mean", "std", "quantiles", "bin_shares")
    if observed < min_observed:
        expect(
            all(column[key] is None for key in summary),
            {key: column[key] for key in summary},
            f"None for each, as for a column of fewer than {min_observed} "
            "observed values",
            f"data profile's summary of {field}",
            name,
        )
        return
    expect(
        _finite(column["mean"]),
        column["mean"],
        "a finite number",
        f"data profile's mean of {field}",
        name,
    )
    expect(
        _finite(column["std"]) and column["std"] >= 0,
        column["std"],
        "a finite number, 0 or more",
        f"data profile's std of {field}",
        name,
    )
    quantiles = column["quantiles"]
    expect(
        isinstance(quantiles, list)
        and len(quantiles) == n_quantiles
        and all(map(_finite, quantiles))
        and all(a <= b for a, b in itertools.pairwise(quantiles)),
        quantiles,
        f"{n_quantiles} finite numbers in increasing order",
        f"data profile's quantiles of {field}",
        name,
    )
    n_bins = len(np.unique(np.asarray(quantiles, dtype=float)[9::10])) + 1
    shares = column["bin_shares"]
    expect(
        _shares(shares)
        and len(shares) == n_bins
        and abs(sum(shares) - 1) <= _SHARES_SUM,
        shares,
        f"{n_bins} shares from 0 to 1 that sum to 1, one per bin between the "
        "distinct deciles",
        f"data profile's bin_shares of {field}",
        name,
    )


def _check_string_profile(column, observed, field, name):
    categories, shares, other = column["categories"], column["shares"], column["other"]
    expect(
        isinstance(categories, list)
        and len(categories) <= _PROFILE_CATEGORIES
        and all(isinstance(c, str) for c in categories)
        and len(set(categories)) == len(categories),
        categories,
        f"a list of at most {_PROFILE_CATEGORIES} distinct str",
        f"data profile's categories of {field}",
        name,
    )
    total = 0.0 if observed == 0 else 1.0
    expect(
        _shares(shares)
        and len(shares) == len(categories)
        and _finite(other)
        and 0 <= other <= 1
        and abs(sum(shares) + other - total) <= _SHARES_SUM
        and (observed > 0 or not categories),
        {"shares": shares, "other": other},
        "one share from 0 to 1 per category, and an other share, that sum to 1 "
        "(to 0, with no category, for a column of no observed value)",
        f"data profile's shares of {field}",
        name,
    )
