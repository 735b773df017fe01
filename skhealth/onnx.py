"""ONNX export of a fitted model, its preprocessing included.

:func:`to_onnx` turns a fitted :class:`~skhealth.MultiTaskHealthRegressor` or
:class:`~skhealth.MultiTaskHealthClassifier`, a pipeline ending in one, or a
search that refitted one, into one ONNX graph that reads the raw columns of a
table and returns the predictions in the units of ``y`` (and, where asked, their
std and prediction intervals). onnxruntime, on a phone, a server or in a
browser, then predicts without Python, PyTorch or scikit-learn.

The graph is built in three parts joined into one:

- the preprocessing (a ColumnTransformer of imputers, scalers, encoders, ...),
  converted by skl2onnx, in float64 as scikit-learn computes it (its
  SimpleImputer by a converter here: skl2onnx's runs in float32 only);
- the network ensemble, exported by ``torch.onnx.export`` (the dynamo
  exporter) in float32, as the estimator runs it: any architecture;
- everything after it, written here as ONNX nodes from the estimator's fitted
  attributes, in float64 and in the order of the estimator's own operations:
  the members' mean and spread, the blend with the linear path, the target
  standardisation, the binary tasks' probabilities, the inverse target
  transforms, and the noise model and conformal quantiles behind the std and
  the intervals.

They need the optional dependencies ``onnx``, ``onnxscript`` and ``skl2onnx``:
``pip install "skhealth[onnx]"``.
"""

import contextlib
import copy
import io
import json
import logging
import math
import os
import re
import tempfile
import warnings

import numpy as np

__all__ = ["onnx_inputs", "to_onnx"]

# The opset of the default domain when none is asked for: the one
# torch.onnx.export writes by default, which onnxruntime 1.17 and later run.
DEFAULT_OPSET = 20
# The opset of skl2onnx's "ai.onnx.ml" domain (encoders, imputers).
_ML_OPSET = 3
# The name of the preprocessed features between the two parts of the graph.
_FEATURES = "skhealth_features"
# The raw columns side by side, where the preprocessing reads them so.
_RAW = "skhealth_columns"


def _require_onnx():
    """Import onnx, onnxscript and skl2onnx, or an ImportError that says how
    to install them."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs onnx, onnxscript and skl2onnx ({error.name} is "
            'missing): pip install "skhealth[onnx]"'
        ) from error


def to_onnx(
    model, *, return_std=False, interval=None, group=None, target_opset=None, path=None
):
    """Export a fitted model, preprocessing and all, as one ONNX graph.

    The graph reads raw columns, as the fitted model does, and computes what
    :meth:`~skhealth.MultiTaskHealthRegressor.predict` (with ``return_std``)
    and :meth:`~skhealth.MultiTaskHealthRegressor.predict_interval` do, or a
    classifier's ``predict_proba`` and ``predict``: onnxruntime's answers match
    the model's within 1e-5 relative, most to the last bits of float64. Every
    input and output has a dynamic batch dimension, first.

    **Inputs.** A model fitted on a DataFrame has one input per column, named
    as the column, of shape ``(n_samples, 1)``: a ``string`` tensor for a
    column that an encoder reads as text categories (a missing category is the
    empty string ``""`` where an imputer fills it), else a ``double``
    (float64) tensor, ``NaN`` where a value is missing and the model imputes it.
    Float64 is what pandas reads and what scikit-learn preprocesses in, so the
    preprocessing is exactly the model's; the network then reads float32, as
    the estimator does. A model fitted on an array has one ``double`` input,
    ``"X"``, of shape ``(n_samples, n_features)``.

    **Outputs** (``double``, one column per task, in the order of
    ``target_names_``; 2-D also when ``y`` was 1-D):

    - a regressor: ``"prediction"``, in the units of ``y`` (a binary task's
      probability of a 1); with ``return_std``, ``"std"``; with ``interval``,
      ``"lower"`` and ``"upper"``, the bounds of ``predict_interval(X,
      confidence=interval)`` (``NaN`` for a binary task);
    - a classifier: ``"label"``, each task's predicted class (of ``classes_``:
      a ``string``, ``int64``, ``double`` or ``bool`` tensor, as the classes
      are), and ``"probabilities"``, each task's probability of its positive
      (second) class.

    Parameters
    ----------
    model : estimator, Pipeline or search
        A fitted MultiTaskHealthRegressor or MultiTaskHealthClassifier, a
        Pipeline ending in one whose other steps skl2onnx converts
        (ColumnTransformer, SimpleImputer, StandardScaler, OneHotEncoder, ...),
        or a search (GridSearchCV, ...) that refitted one.
    return_std : bool, default=False
        Add the ``"std"`` output: each prediction's predictive standard
        deviation, as ``predict(X, return_std=True)``. A regressor's only; it
        needs a calibrated model.
    interval : float in (0, 1), default=None
        Add ``"lower"`` and ``"upper"``: prediction intervals covering
        ``interval`` of the labels, as ``predict_interval(X,
        confidence=interval)``. The split conformal quantile of each task is
        fixed in the graph. A regressor's only; it needs a calibrated model.
    group : str, int or bool, default=None
        For a model calibrated per group (``calibrate(X, y, groups=...)``),
        the group whose quantiles the intervals use: export one graph per
        group. Needed then with ``interval``, and not otherwise.
    target_opset : int, default=None
        The opset of the default ONNX domain, from 18; ``None`` is 20.
    path : str or path-like, default=None
        Also write the graph there (``.onnx`` by convention); an existing
        file is replaced once the new one is complete.

    Returns
    -------
    onnx_model : onnx.ModelProto
        The graph, checked by ``onnx.checker.check_model``. Its
        ``metadata_props`` describe it (keys beginning ``skhealth.``, values in
        JSON): the inputs (``input_columns``), the outputs, the target names,
        the confidence of the intervals and, for a classifier, the classes.

    Raises
    ------
    ImportError
        When onnx, onnxscript or skl2onnx is not installed.
    ValueError
        For a step of the pipeline that skl2onnx cannot convert (naming it);
        a ``target_transform`` that cannot be inverted in ONNX (naming its
        task); ``return_std`` or ``interval`` for a classifier or for a model
        without a calibration; a ``group`` the calibration does not know.

    See Also
    --------
    onnx_inputs : The graph's inputs for the rows of a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.onnx import to_onnx
    >>> from skhealth.preprocessing import make_default_preprocessor
    >>> X = pd.DataFrame({"age": [30.0, 50, 70, np.nan] * 25,
    ...                   "sex": ["F", "M", "F", "M"] * 25})
    >>> Y = pd.DataFrame({"sbp": [110.0, 125, 140, 120] * 25,
    ...                   "bmi": [22.0, 27, 29, 25] * 25})
    >>> model = make_pipeline(
    ...     make_default_preprocessor(X),
    ...     MultiTaskHealthRegressor(max_iter=5, random_state=0),
    ... ).fit(X, Y)
    >>> onnx_model = to_onnx(model, interval=0.9)
    >>> [i.name for i in onnx_model.graph.input]
    ['age', 'sex']
    >>> [o.name for o in onnx_model.graph.output]
    ['prediction', 'lower', 'upper']
    >>> session = ort.InferenceSession(onnx_model.SerializeToString())
    >>> prediction, lower, upper = session.run(None, {
    ...     "age": X[["age"]].to_numpy(), "sex": X[["sex"]].to_numpy(dtype=object)})
    >>> bool(np.allclose(prediction, model.predict(X), rtol=1e-5))
    True
    >>> expected = model[-1].predict_interval(model[0].transform(X), confidence=0.9)
    >>> bool(np.allclose(np.stack([lower, upper], axis=-1), expected, rtol=1e-5))
    True
    """
    _require_onnx()
    from ._calibration import check_confidence
    from ._inputs import _unwrapped, input_columns
    from ._validation import fitted_regressor

    estimator = fitted_regressor(model)
    model = _unwrapped(model)
    if target_opset is None:
        target_opset = DEFAULT_OPSET
    if isinstance(target_opset, bool) or not isinstance(target_opset, int | np.integer):
        raise TypeError(f"target_opset must be an int; got {target_opset!r}.")
    if target_opset < 18:
        raise ValueError(
            f"target_opset={target_opset} is too old: the network's graph needs "
            "opset 18 or later (onnxruntime 1.14 and later run it)."
        )
    if estimator.net_.precision != "float32":
        raise ValueError(
            f"The model predicts in precision={estimator.net_.precision!r}, and "
            "an ONNX graph computes in float32: its predictions would differ "
            "from the model's. Fit it with precision='float32' to export it."
        )
    classifier = hasattr(estimator, "classes_")
    if interval is not None:
        interval = check_confidence(interval)
    if classifier and (return_std or interval is not None):
        raise ValueError(
            "return_std and interval are a regressor's: a classifier's ONNX "
            "graph outputs each task's probability and predicted class."
        )
    quantile = None
    calibration = None
    continuous = ~estimator._binary_tasks
    if interval is not None or (return_std and continuous.any()):
        # as predict and predict_interval ask for it
        calibration = estimator._fitted_calibration()
    if interval is not None and continuous.any():
        quantile = _quantile(calibration, interval, group, estimator)
    elif group is not None:
        raise ValueError(
            "group chooses the quantiles of the intervals of a model calibrated "
            "per group: give it with interval=..., or leave it out."
        )
    columns = input_columns(model)
    outputs = (
        ["label", "probabilities"]
        if classifier
        else ["prediction"]
        + ["std"] * bool(return_std)
        + ["lower", "upper"] * (interval is not None)
    )
    named = hasattr(model, "feature_names_in_")
    clash = (
        sorted({c.name for c in columns} & {*outputs, _FEATURES, _RAW}) if named else []
    )
    if clash:
        raise ValueError(
            f"The model reads a column named {clash[0]!r}, the name of an output "
            "of its ONNX graph: rename that column and fit again."
        )
    preprocessing = _preprocessing(model)
    head = _Head(estimator, outputs, calibration, quantile)
    n_features = estimator.n_features_in_
    with _quiet():
        if preprocessing is not None:
            front = _convert_preprocessing(
                preprocessing, columns, named, target_opset, model
            )
        else:
            front = _concatenation(columns, named, n_features, target_opset)
        head_model = _export_head(head, n_features, target_opset)
    graph = _join(front, head_model, classifier and estimator)
    if named:  # the columns the preprocessing drops are no inputs
        read = {name for node in graph.graph.node for name in node.input}
        for value in list(graph.graph.input):
            if value.name not in read:
                graph.graph.input.remove(value)
        columns = [c for c in columns if c.name in read]
    _describe(graph, model, estimator, columns, outputs, interval, group)
    import onnx

    onnx.checker.check_model(graph, full_check=True)
    if path is not None:
        _write(graph, path)
    return graph


def onnx_inputs(onnx_model, X):
    """The inputs of an exported graph for the rows of ``X``, for onnxruntime.

    Parameters
    ----------
    onnx_model : onnx.ModelProto
        A graph that :func:`to_onnx` made.
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        The rows, with the columns the model was fitted on (a DataFrame), or
        an array for a model fitted on one.

    Returns
    -------
    inputs : dict
        For each input of the graph, its array: a column of shape
        ``(n_samples, 1)``, float64 or text (``NaN`` and ``None`` as ``""``,
        a missing category), or the whole ``X`` as float64 for the input
        ``"X"``: what ``onnxruntime.InferenceSession.run(None, inputs)`` takes.

    See Also
    --------
    to_onnx : Export a fitted model as an ONNX graph.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.onnx import onnx_inputs, to_onnx
    >>> X = np.random.RandomState(0).normal(size=(100, 3))
    >>> model = MultiTaskHealthRegressor(max_iter=5, random_state=0).fit(X, X[:, :2])
    >>> onnx_model = to_onnx(model)
    >>> session = ort.InferenceSession(onnx_model.SerializeToString())
    >>> prediction, = session.run(None, onnx_inputs(onnx_model, X))
    >>> bool(np.allclose(prediction, model.predict(X), rtol=1e-5))
    True
    """
    import onnx

    graph_inputs = onnx_model.graph.input
    if [value.name for value in graph_inputs] == ["X"] and not hasattr(X, "columns"):
        return {"X": np.asarray(X, dtype=np.float64)}
    inputs = {}
    for value in graph_inputs:
        column = X[value.name]
        column = column.to_numpy() if hasattr(column, "to_numpy") else column
        if value.type.tensor_type.elem_type != onnx.TensorProto.STRING:
            inputs[value.name] = np.asarray(column, dtype=np.float64).reshape(-1, 1)
            continue
        texts = [
            "" if text is None or text != text else str(text)  # NaN != NaN
            for text in np.asarray(column, dtype=object).tolist()
        ]
        inputs[value.name] = np.array(texts, dtype=object).reshape(-1, 1)
    return inputs


# ------------------------------------------------------------------ checks
def _quantile(calibration, confidence, group, estimator):
    """The conformal quantile ``(1, n_continuous)`` of ``group``'s
    calibration rows for ``confidence`` intervals."""
    names = estimator.target_names_[~estimator._binary_tasks]
    if calibration.groups is None:
        if group is not None:
            raise ValueError(
                f"group={group!r} was given, but the model was calibrated without "
                "groups: leave group out."
            )
        return calibration.quantiles(confidence, None, names)
    if group is None:
        known = ", ".join(map(repr, calibration.groups))
        raise ValueError(
            f"The model was calibrated per group ({known}): its intervals depend "
            "on each row's group, which the ONNX graph does not read. Export one "
            "graph per group with to_onnx(..., interval=..., group=...) (skhealth "
            "export --group), or export without interval."
        )
    return calibration.quantiles(confidence, [group], names)


def _preprocessing(model):
    """The steps of ``model`` before its estimator, as one transformer, or
    None for an estimator alone; a ValueError naming a step that skl2onnx
    cannot convert."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model) < 2:
        return None
    steps = [
        (name, step)
        for name, step in model.steps[:-1]
        if step not in (None, "passthrough")
    ]
    if not steps:
        return None
    for name, step in steps:
        _check_convertible(step, [name])
    return steps[0][1] if len(steps) == 1 else Pipeline(steps)


def _check_convertible(step, path):
    """A ValueError naming ``step`` (at ``path``, the names of the steps that
    hold it) or a part of it that skl2onnx cannot convert."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(step, str):  # "drop", "passthrough"
        return
    if isinstance(step, Pipeline):
        for name, inner in step.steps:
            _check_convertible(inner, [*path, name])
        return
    if isinstance(step, ColumnTransformer):
        for name, part, _ in step.transformers_:
            _check_convertible(part, [*path, name])
        return
    if isinstance(step, FeatureUnion):
        for name, part in step.transformer_list:
            _check_convertible(part, [*path, name])
        return
    identity = isinstance(step, FunctionTransformer) and step.func is None
    if type(step) in sklearn_operator_name_map and (
        identity or not isinstance(step, FunctionTransformer)
    ):
        return
    where = " > ".join(repr(name) for name in path)
    raise ValueError(
        f"skl2onnx cannot convert the step {where} ({type(step).__name__}) of "
        "the pipeline, so the model cannot be exported to ONNX. Replace it with "
        "transformers skl2onnx converts (see skl2onnx.supported_converters(); "
        "skhealth.preprocessing.make_default_preprocessor uses them), apply it "
        "to the data before the pipeline, or register a converter for it with "
        "skl2onnx.update_registered_converter."
    )


# ----------------------------------------------------- after preprocessing
class _Graph:
    """A few ONNX nodes at a time: each method adds one node (or a constant)
    and returns the name of its output."""

    def __init__(self, prefix):
        self.prefix, self.nodes, self.initializers, self.count = prefix, [], [], 0

    def name(self, hint):
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def const(self, value, hint="c"):
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type, *inputs, output=None, **attributes):
        from onnx import helper

        output = output or self.name(op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [output], **attributes)
        )
        return output

    def columns(self, x, index):
        """The columns ``index`` (a list) of ``x``."""
        return self.op("Gather", x, self.const(np.array(index, dtype=np.int64)), axis=1)

    def where_nan(self, x, fill, other):
        return self.op("Where", self.op("IsNaN", x), fill, other)

    def fmin(self, a, b):  # NumPy's fmin: the smaller, ignoring a NaN
        return self.where_nan(a, b, self.where_nan(b, a, self.op("Min", a, b)))

    def fmax(self, a, b):
        return self.where_nan(a, b, self.where_nan(b, a, self.op("Max", a, b)))


class _Head:
    """Writes, as ONNX nodes, what the estimator computes from its
    preprocessed features (the network itself aside): the members' mean and
    spread, the blend with the linear path, the target units, the noise model
    and the intervals, with the estimator's operations in its order."""

    def __init__(self, estimator, outputs, calibration, quantile):
        self.estimator, self.outputs = estimator, outputs
        self.calibration, self.quantile = calibration, quantile
        self.classifier = hasattr(estimator, "classes_")
        binary = np.asarray(estimator._binary_tasks, dtype=bool)
        self.binary, self.n_tasks = binary, len(binary)
        self.continuous = np.flatnonzero(~binary).tolist()
        self.uncertain = "std" in outputs or "lower" in outputs
        self.ensemble = hasattr(estimator.net_.module_, "each_member")
        if not self.classifier:
            transforms = estimator._target_transforms
            self.identity = transforms.identity
            self.inverses = [
                _inverse(transform, name)
                for transform, name in zip(
                    transforms.transforms_, transforms.target_names, strict=True
                )
            ]

    def network(self):
        """The PyTorch module to export: each member's prediction ``(n_members,
        n, n_tasks)`` where the spread is needed, else the prediction."""
        import torch

        module = copy.deepcopy(self.estimator.net_.module_).cpu().eval()
        each = self.ensemble and self.uncertain

        class Network(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.module = module

            def forward(self, X):
                return self.module.each_member(X) if each else self.module(X)

        return Network().eval()

    def write(self, g, features, network_in, network_out):
        """Add to ``g`` the nodes from ``features`` (float64) to the outputs;
        the network reads ``network_in`` and writes ``network_out``."""
        from onnx import TensorProto

        estimator = self.estimator
        g.op("Cast", features, output=network_in, to=TensorProto.FLOAT)
        # -- as MultiTaskBase._standardised_prediction
        spread = None
        if self.uncertain and self.ensemble:
            n_members = len(estimator.net_.module_.members)
            each = [
                g.op("Gather", network_out, g.const(np.int64(m)), axis=0)
                for m in range(n_members)
            ]
            mean = each[0]
            for member in each[1:]:  # in the order of the ensemble's forward
                mean = g.op("Add", mean, member)
            mean = g.op("Div", mean, g.const(np.float32(n_members)))
            deviation = g.op("Sub", network_out, mean)
            squares = g.op("Mul", deviation, deviation)
            total = g.op(
                "ReduceSum", squares, g.const(np.array([0], np.int64)), keepdims=0
            )
            variance = g.op("Div", total, g.const(np.float32(n_members - 1)))
            Z = g.op("Cast", mean, to=TensorProto.DOUBLE)
            share = np.asarray(estimator.network_share_, dtype=np.float64)
            spread = g.op(
                "Mul", g.op("Cast", variance, to=TensorProto.DOUBLE), g.const(share**2)
            )
        else:
            Z = g.op("Cast", network_out, to=TensorProto.DOUBLE)
            if self.uncertain:
                spread = g.op("Mul", Z, g.const(0.0))
        share = np.asarray(estimator.network_share_, dtype=np.float64)
        X = g.op("Cast", network_in, to=TensorProto.DOUBLE)  # float32 values
        if (share < 1).any():
            linear = g.op(
                "Add",
                g.op("MatMul", X, g.const(estimator.linear_coef_.astype(np.float64))),
                g.const(estimator.linear_intercept_.astype(np.float64)),
            )
            Z = g.op(
                "Add",
                g.op("Mul", g.const(share), Z),
                g.op("Mul", g.const(1 - share), linear),
            )
        if self.classifier:
            zero = g.const(0.0)
            g.op(
                "Cast",
                g.op("Greater", Z, zero),
                output="skhealth_label_index",
                to=TensorProto.INT64,
            )
            g.op("Sigmoid", Z, output="probabilities")
            return
        Y = self.in_target_units(g, Z)
        g.op("Identity", Y, output="prediction")
        if not self.uncertain:
            return
        binary_mask = g.const(self.binary)
        zeros = g.op("Mul", Z, g.const(0.0))
        nan = g.op("Add", zeros, g.const(math.nan))
        std = self.noise_std(g, X, Z, spread) if self.continuous else None
        if "std" in self.outputs:
            # a binary task's outcome, 1 with probability p, has the std
            # sqrt(p (1 - p)); the continuous tasks' are replaced below
            variance = g.op("Mul", Y, g.op("Sub", g.const(1.0), Y))
            binary_std = g.op("Sqrt", g.op("Where", binary_mask, variance, zeros))
            if std is None:
                result = binary_std
            elif self.identity:
                scale = estimator._target_scaler.scale_[self.continuous]
                scaled = g.op("Mul", std, g.const(scale.astype(np.float64)))
                result = self.widen(g, scaled, binary_std)
            else:
                lower, upper = self.interval(g, Z, self.widen(g, std, zeros), Y)
                infinity = g.const(math.inf)
                distances = []
                for d in (g.op("Sub", Y, lower), g.op("Sub", upper, Y)):
                    distances.append(g.op("Where", g.op("IsInf", d), nan, d))
                # their mean, ignoring a NaN: half the width
                valid = [g.op("Not", g.op("IsNaN", d)) for d in distances]
                total = g.op(
                    "Add",
                    g.op("Where", valid[0], distances[0], zeros),
                    g.op("Where", valid[1], distances[1], zeros),
                )
                count = g.op(
                    "Add",
                    g.op("Cast", valid[0], to=TensorProto.DOUBLE),
                    g.op("Cast", valid[1], to=TensorProto.DOUBLE),
                )
                half = g.op("Div", total, count)
                half = g.where_nan(half, infinity, half)
                result = self.widen(g, g.columns(half, self.continuous), binary_std)
            g.op("Identity", result, output="std")
        if "lower" in self.outputs:
            if std is None:
                lower = upper = nan
            else:
                half_width = g.op("Mul", std, g.const(np.ravel(self.quantile)))
                lower, upper = self.interval(g, Z, self.widen(g, half_width, zeros), Y)
                # a probability has no interval
                lower = g.op("Where", binary_mask, nan, lower)
                upper = g.op("Where", binary_mask, nan, upper)
            g.op("Identity", lower, output="lower")
            g.op("Identity", upper, output="upper")

    def in_target_units(self, g, Z):
        """As MultiTaskHealthRegressor._in_target_units."""
        scaler = self.estimator._target_scaler
        Y = g.op(
            "Add",
            g.op("Mul", Z, g.const(scaler.scale_.astype(np.float64))),
            g.const(scaler.mean_.astype(np.float64)),
        )
        if self.binary.any():
            Y = g.op("Where", g.const(self.binary), g.op("Sigmoid", Z), Y)
        if self.identity:
            return Y
        columns = []
        for t, inverse in enumerate(self.inverses):
            column = g.columns(Y, [t])
            columns.append(column if inverse is None else inverse(g, column))
        return g.op("Concat", *columns, axis=1)

    def interval(self, g, Z, half_width, Y):
        """As MultiTaskHealthRegressor._interval_in_target_units."""
        first = self.in_target_units(g, g.op("Sub", Z, half_width))
        second = self.in_target_units(g, g.op("Add", Z, half_width))
        lower, upper = g.fmin(first, second), g.fmax(first, second)
        missing = g.op("Or", g.op("IsNaN", first), g.op("IsNaN", second))
        lower = g.op(
            "Where",
            g.op("And", missing, g.op("Not", g.op("Less", lower, Y))),
            g.const(-math.inf),
            lower,
        )
        upper = g.op(
            "Where",
            g.op("And", missing, g.op("Not", g.op("Greater", upper, Y))),
            g.const(math.inf),
            upper,
        )
        return lower, upper

    def noise_std(self, g, X, Z, spread):
        """As Calibration.std, for the continuous tasks."""
        calibration = self.calibration
        Zc = g.columns(Z, self.continuous)
        features = g.op("Concat", X, Zc, g.op("Mul", Zc, Zc), axis=1)
        log_noise = g.op(
            "Add",
            g.op("MatMul", features, g.const(calibration.coef.astype(np.float64))),
            g.const(np.asarray(calibration.intercept, dtype=np.float64)),
        )
        low, high = calibration.log_noise_range.astype(np.float64)
        log_noise = g.op("Min", g.op("Max", log_noise, g.const(low)), g.const(high))
        variance = g.op(
            "Add", g.op("Exp", log_noise), g.columns(spread, self.continuous)
        )
        factor = g.const(np.asarray(calibration.factor, dtype=np.float64))
        return g.op("Sqrt", g.op("Mul", factor, variance))

    def widen(self, g, columns, fill):
        """The continuous tasks' ``columns`` as ``(n, n_tasks)``, with the
        binary tasks' columns of ``fill``."""
        parts = []
        for t in range(self.n_tasks):
            if self.binary[t]:
                parts.append(g.columns(fill, [t]))
            else:
                parts.append(g.columns(columns, [self.continuous.index(t)]))
        return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _inverse(transform, name):
    """A function ``(graph, column)`` that adds the nodes mapping a task's
    column from the transformed scale back to the units of ``y``, as
    ``transform``'s inverse does; None for no transform; a ValueError naming
    the task where the inverse has no ONNX form."""
    from sklearn.preprocessing import PowerTransformer, StandardScaler

    from ._targets import TRANSFORMS

    if transform is None:
        return None
    if transform is TRANSFORMS["log"]:
        return lambda g, y: g.op("Exp", y)
    if transform is TRANSFORMS["log1p"]:
        return lambda g, y: g.op("Sub", g.op("Exp", y), g.const(1.0))
    if isinstance(transform, StandardScaler):
        scale = 1.0 if transform.scale_ is None else float(transform.scale_[0])
        mean = 0.0 if transform.mean_ is None else float(transform.mean_[0])
        return lambda g, y: g.op("Add", g.op("Mul", y, g.const(scale)), g.const(mean))
    if isinstance(transform, PowerTransformer):
        return _power_inverse(transform)
    raise ValueError(
        f"The target_transform of task {name!r} ({type(transform).__name__}) "
        "has no ONNX form: skhealth exports 'log', 'log1p', PowerTransformer and "
        "StandardScaler. Fit the model with one of those for that task to export "
        "it."
    )


def _power_inverse(transformer):
    """PowerTransformer's inverse of one column, as ONNX nodes."""
    lmbda = float(transformer.lambdas_[0])
    eps = float(np.spacing(1.0))

    def box_cox(g, y):  # scipy's inv_boxcox: exp(log1p(lmbda y) / lmbda)
        if lmbda == 0:
            return g.op("Exp", y)
        log1p = g.op("Log", g.op("Add", g.op("Mul", y, g.const(lmbda)), g.const(1.0)))
        return g.op("Exp", g.op("Div", log1p, g.const(lmbda)))

    def yeo_johnson(g, y):
        # as PowerTransformer._yeo_johnson_inverse_transform, both sides
        one = g.const(1.0)
        if abs(lmbda) < eps:
            positive = g.op("Sub", g.op("Exp", y), one)
        else:
            base = g.op("Add", g.op("Mul", y, g.const(lmbda)), one)
            positive = g.op("Sub", g.op("Pow", base, g.const(1 / lmbda)), one)
        if abs(lmbda - 2) > eps:
            base = g.op("Add", g.op("Mul", y, g.const(-(2 - lmbda))), one)
            negative = g.op("Sub", one, g.op("Pow", base, g.const(1 / (2 - lmbda))))
        else:
            negative = g.op("Sub", one, g.op("Exp", g.op("Neg", y)))
        return g.op(
            "Where", g.op("GreaterOrEqual", y, g.const(0.0)), positive, negative
        )

    inverse = box_cox if transformer.method == "box-cox" else yeo_johnson
    if not transformer.standardize:
        return inverse
    scaler = transformer._scaler
    scale, mean = float(scaler.scale_[0]), float(scaler.mean_[0])
    return lambda g, y: inverse(
        g, g.op("Add", g.op("Mul", y, g.const(scale)), g.const(mean))
    )


# ------------------------------------------------------------- the graphs
@contextlib.contextmanager
def _quiet():
    """Silence the exporters' progress lines, logs and warnings."""
    loggers = [logging.getLogger(name) for name in ("torch", "onnxscript", "skl2onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _export_head(head, n_features, opset):
    """The ONNX model from ``_FEATURES`` (double, dynamic batch) to the
    outputs: the network exported by PyTorch's dynamo exporter, in the nodes
    that :class:`_Head` writes."""
    import torch
    from onnx import TensorProto, helper

    network = head.network()
    try:
        program = torch.onnx.export(
            network,
            (torch.zeros(3, n_features),),
            dynamo=True,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            input_names=["skhealth_network_in"],
            output_names=["skhealth_network_out"],
            opset_version=opset,
            optimize=True,
            verbose=False,
            external_data=False,
        )
    except Exception as error:  # the exporter raises many kinds
        architecture = head.estimator.architecture
        if not isinstance(architecture, str):
            architecture = type(architecture).__name__
        # its first line, without the terminal's colours
        message = (
            re.sub(r"\x1b\[[0-9;]*m", "", str(error))
            .strip()
            .split("\n")[0]
            .rstrip(" :.")
        )
        raise ValueError(
            f"PyTorch's ONNX exporter (torch.onnx.export, dynamo=True) could not "
            f"export the network (architecture={architecture!r}): "
            f"{type(error).__name__}: {message}. "
            "An architecture of your own must be traceable by torch.export "
            "(no data-dependent Python control flow in forward)."
        ) from error
    model = program.model_proto
    graph = model.graph
    g = _Graph("skhealth_")
    head.write(g, _FEATURES, "skhealth_network_in", "skhealth_network_out")
    network = list(graph.node)
    del graph.node[:]
    # in order: the cast to the network's input, the network, the rest
    graph.node.extend([g.nodes[0], *network, *g.nodes[1:]])
    graph.initializer.extend(g.initializers)
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(_FEATURES, TensorProto.DOUBLE, [None, n_features])
    )
    del graph.output[:]
    n_tasks = head.n_tasks
    for name in head.outputs:
        kind = TensorProto.INT64 if name == "label" else TensorProto.DOUBLE
        name = "skhealth_label_index" if name == "label" else name
        graph.output.append(
            helper.make_tensor_value_info(name, kind, ["batch", n_tasks])
        )
    return model


def _string_or_double(column, width=1, text=False):
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    if column.kind == "string" or text:
        return StringTensorType([None, width])
    return DoubleTensorType([None, width])


def _convert_preprocessing(preprocessing, columns, named, opset, model):
    """skl2onnx's graph of the fitted ``preprocessing``, from the model's raw
    inputs (one per column where ``named``, else ``"X"``) to ``_FEATURES``."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    first = preprocessing
    while isinstance(first, Pipeline):
        first = first.steps[0][1]
    # A ColumnTransformer picks its columns by name, from one input each; any
    # other first step reads the columns side by side, which skl2onnx would
    # join in float32 (FeatureVectorizer): they are joined here, in float64.
    joined = named and (
        not isinstance(first, ColumnTransformer) and len({c.kind for c in columns}) == 1
    )
    as_text = set()
    if named and isinstance(first, ColumnTransformer):
        preprocessing, as_text = _codes_as_text(preprocessing, first, columns)
    if joined:
        types = [(_RAW, _string_or_double(columns[0], len(columns)))]
    elif named:
        types = [
            (c.name, _string_or_double(c, text=c.name in as_text)) for c in columns
        ]
    else:
        types = [("X", DoubleTensorType([None, len(columns)]))]
    try:
        converted = convert_sklearn(
            preprocessing,
            initial_types=types,
            target_opset={"": opset, "ai.onnx.ml": _ML_OPSET},
            custom_conversion_functions={SimpleImputer: _convert_imputer},
            custom_shape_calculators={SimpleImputer: _imputer_shape},
            naming="skl_",
        )
    except Exception as error:  # skl2onnx raises many kinds
        raise ValueError(
            f"skl2onnx could not convert the preprocessing of the "
            f"{type(model).__name__} ({type(preprocessing).__name__}): "
            f"{type(error).__name__}: {error}"
        ) from error
    output = converted.graph.output[0]
    _rename(converted.graph, output.name, _FEATURES)
    for position, column in enumerate(columns):
        if column.name in as_text:
            _cast_input_to_text(converted.graph, column.name, position)
    if joined:
        from onnx import helper

        concat = helper.make_node("Concat", [c.name for c in columns], [_RAW], axis=1)
        converted.graph.node.insert(0, concat)
        raw = converted.graph.input[0]
        elem = raw.type.tensor_type.elem_type
        del converted.graph.input[:]
        converted.graph.input.extend(
            helper.make_tensor_value_info(c.name, elem, [None, 1]) for c in columns
        )
    return converted


def _codes_as_text(preprocessing, transformer, columns):
    """``preprocessing`` (whose first step is the ColumnTransformer
    ``transformer``) ready for skl2onnx where a part of it reads text and
    number columns together (codes such as a stage 1 to 4, with categories,
    as ``skhealth fit --categorical`` makes): one ONNX tensor holds one type,
    so those numbers are read as text. Returns a copy whose fitted
    statistics and categories of those columns are their text, as
    onnxruntime casts a double to a string, and the names of those columns;
    or ``preprocessing`` itself and no name."""
    from ._sklearn import input_indices

    mixed = {}
    for name, part, _ in transformer.transformers_:
        read = input_indices(transformer, name)
        if read is None or isinstance(part, str):
            continue
        kinds = [columns[i].kind for i in read]
        if "string" in kinds and "number" in kinds:
            mixed[name] = [k for k, kind in enumerate(kinds) if kind == "number"]
    if not mixed:
        return preprocessing, set()
    preprocessing = copy.deepcopy(preprocessing)
    first = preprocessing
    while hasattr(first, "steps"):
        first = first.steps[0][1]
    as_text = set()
    for name, part, _ in first.transformers_:
        if name not in mixed:
            continue
        read = input_indices(first, name)
        as_text.update(columns[read[k]].name for k in mixed[name])
        for step in part.steps if hasattr(part, "steps") else [part]:
            step = step[1] if isinstance(step, tuple) else step
            statistics = getattr(step, "statistics_", None)
            if statistics is not None:
                step.statistics_ = statistics.astype(object)
                for k in mixed[name]:
                    step.statistics_[k] = _code_text(statistics[k])
                # onnxruntime casts NaN to "NaN": missing, as in Python
                step._skhealth_missing_texts = ("", "NaN")
            categories = getattr(step, "categories_", None)
            if categories is not None:
                for k in mixed[name]:
                    categories[k] = np.array(
                        [_code_text(value) for value in categories[k]], dtype=object
                    )
    return preprocessing, as_text


def _code_text(value):
    """A number as onnxruntime's Cast to string writes it: the shortest text
    that reads back as it, without a trailing ".0" (``2.0`` is "2")."""
    if isinstance(value, str):
        return value
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _cast_input_to_text(graph, name, position):
    """Make the graph's text input ``name`` a double input, cast to text."""
    from onnx import TensorProto, helper

    inner = f"skhealth_text_{name}"
    _rename(graph, name, inner)
    graph.input.remove(next(value for value in graph.input if value.name == inner))
    graph.input.insert(
        position, helper.make_tensor_value_info(name, TensorProto.DOUBLE, [None, 1])
    )
    cast = helper.make_node("Cast", [name], [inner], to=TensorProto.STRING)
    graph.node.insert(0, cast)


def _convert_imputer(scope, operator, container):
    """skl2onnx converter of a fitted SimpleImputer in the input's own type
    (skl2onnx's runs float32 only, which onnxruntime lacks for float64): a
    missing value (``NaN``, or a given number; ``""`` for text, where a
    DataFrame has ``NaN``) is replaced by the fitted statistic."""
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
    from skl2onnx.operator_converters.common import concatenate_variables
    from skl2onnx.proto import onnx_proto

    imputer = operator.raw_operator
    X = concatenate_variables(scope, operator.inputs, container)
    statistics = imputer.statistics_
    kind = operator.inputs[0].type
    unique = scope.get_unique_variable_name
    name = scope.get_unique_operator_name
    fill, missing = unique("fill"), unique("missing")
    if isinstance(kind, StringTensorType):
        if imputer.add_indicator:
            raise NotImplementedError(
                "SimpleImputer(add_indicator=True) of text columns has no ONNX "
                "form in skhealth: its output mixes text and numbers"
            )
        tokens = getattr(imputer, "_skhealth_missing_texts", None) or (
            imputer.missing_values if isinstance(imputer.missing_values, str) else "",
        )
        values = [str(value).encode() for value in statistics]
        container.add_initializer(
            fill, onnx_proto.TensorProto.STRING, [1, len(values)], values
        )
        code = unique("code")
        container.add_node(
            "LabelEncoder",
            [X],
            [code],
            op_domain="ai.onnx.ml",
            op_version=2,
            keys_strings=list(tokens),
            values_int64s=[1] * len(tokens),
            default_int64=0,
            name=name("LabelEncoder"),
        )
        container.add_node(
            "Cast", [code], [missing], to=onnx_proto.TensorProto.BOOL, name=name("Cast")
        )
        output = operator.outputs[0].full_name
        container.add_node("Where", [missing, fill, X], [output], name=name("Where"))
        return
    dtype = (
        onnx_proto.TensorProto.DOUBLE
        if isinstance(kind, DoubleTensorType)
        else onnx_proto.TensorProto.FLOAT
    )
    statistics = np.asarray(statistics, dtype=np.float64)
    keep = ~np.isnan(statistics) | getattr(imputer, "keep_empty_features", False)
    filled = np.where(np.isnan(statistics), 0.0, statistics)
    container.add_initializer(fill, dtype, [1, len(filled)], filled.tolist())
    if isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values):
        container.add_node("IsNaN", [X], [missing], name=name("IsNaN"))
    else:
        token = unique("token")
        container.add_initializer(token, dtype, [], [float(imputer.missing_values)])
        container.add_node("Equal", [X, token], [missing], name=name("Equal"))
    output = operator.outputs[0].full_name
    parts = []
    imputed = unique("imputed")
    container.add_node("Where", [missing, fill, X], [imputed], name=name("Where"))
    if keep.all():
        parts.append(imputed)
    else:  # scikit-learn drops a column that was all missing in fit
        kept, gathered = unique("kept"), unique("gathered")
        container.add_initializer(
            kept, onnx_proto.TensorProto.INT64, [int(keep.sum())], np.flatnonzero(keep)
        )
        container.add_node(
            "Gather", [imputed, kept], [gathered], axis=1, name=name("Gather")
        )
        parts.append(gathered)
    if imputer.add_indicator:
        # the MissingIndicator's columns: 1 where missing, of the features
        # that had missing values in fit (or all, with features="all")
        features = imputer.indicator_.features_
        flags, chosen, indicator = unique("flags"), unique("chosen"), unique("ind")
        container.add_node("Cast", [missing], [flags], to=dtype, name=name("Cast"))
        container.add_initializer(
            chosen, onnx_proto.TensorProto.INT64, [len(features)], list(features)
        )
        container.add_node(
            "Gather", [flags, chosen], [indicator], axis=1, name=name("Gather")
        )
        parts.append(indicator)
    if len(parts) == 1:
        container.add_node("Identity", parts, [output], name=name("Identity"))
    else:
        container.add_node("Concat", parts, [output], axis=1, name=name("Concat"))


def _imputer_shape(operator):
    """skl2onnx shape calculator of :func:`_convert_imputer`: the columns
    kept, then the missing-value indicators."""
    imputer = operator.raw_operator
    width = len(imputer.statistics_)
    if operator.inputs[0].type.__class__.__name__ != "StringTensorType":
        statistics = np.asarray(imputer.statistics_, dtype=np.float64)
        if not getattr(imputer, "keep_empty_features", False):
            width = int((~np.isnan(statistics)).sum())
    if imputer.add_indicator:
        width += len(imputer.indicator_.features_)
    output = operator.outputs[0]
    output.type = operator.inputs[0].type.__class__(
        [operator.inputs[0].get_first_dimension(), width]
    )


def _concatenation(columns, named, n_features, opset):
    """A graph from the estimator's raw inputs to ``_FEATURES``: the columns
    side by side, or the one input ``"X"``."""
    from onnx import TensorProto, helper

    if named:
        inputs = [
            helper.make_tensor_value_info(c.name, TensorProto.DOUBLE, [None, 1])
            for c in columns
        ]
        node = helper.make_node(
            "Concat", [c.name for c in columns], [_FEATURES], axis=1
        )
    else:
        inputs = [
            helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, n_features])
        ]
        node = helper.make_node("Identity", ["X"], [_FEATURES])
    output = helper.make_tensor_value_info(
        _FEATURES, TensorProto.DOUBLE, [None, n_features]
    )
    graph = helper.make_graph([node], "skhealth_inputs", inputs, [output])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _rename(graph, old, new):
    """Rename the tensor ``old`` to ``new`` throughout ``graph``."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.name == old:
            value.name = new


def _join(front, head, classifier):
    """``front`` (raw inputs to ``_FEATURES``) followed by ``head``
    (``_FEATURES`` to the outputs) as one model; for a classifier, its class
    indices turned into its classes."""
    import onnx
    from onnx import compose, helper

    head = compose.add_prefix(
        head, "skhealth_net_", rename_inputs=False, rename_outputs=False
    )
    opsets = {}
    for model in (front, head):
        for opset in model.opset_import:
            opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
    ir_version = max(front.ir_version, head.ir_version)
    for model in (front, head):
        del model.opset_import[:]
        model.opset_import.extend(
            helper.make_opsetid(domain, version) for domain, version in opsets.items()
        )
        model.ir_version = ir_version
    features = front.graph.output[0]
    if features.type.tensor_type.elem_type != onnx.TensorProto.DOUBLE:
        cast = helper.make_node(
            "Cast",
            [features.name],
            ["skhealth_features_double"],
            to=onnx.TensorProto.DOUBLE,
        )
        front.graph.node.append(cast)
        _rename(head.graph, _FEATURES, "skhealth_features_double")
        front.graph.output[0].name = "skhealth_features_double"
        front.graph.output[0].type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    joined = compose.merge_models(
        front,
        head,
        io_map=[(front.graph.output[0].name, head.graph.input[0].name)],
        producer_name="skhealth",
        producer_version=_version(),
        name="skhealth",
    )
    if classifier:
        _add_labels(joined.graph, classifier)
    return joined


def _add_labels(graph, estimator):
    """Replace the classifier's output ``skhealth_label_index`` (0 or 1 per task) by
    ``label``: the class of ``classes_`` it stands for."""
    import onnx
    from onnx import helper, numpy_helper

    classes = [estimator.classes_] if estimator._y_1d else list(estimator.classes_)
    n_tasks = len(classes)
    values = [
        value.item() if isinstance(value, np.generic) else value
        for c in classes
        for value in c
    ]
    if any(isinstance(value, str) for value in values):
        table = np.array([str(v) for v in values], dtype=object)
        elem = onnx.TensorProto.STRING
    elif all(isinstance(value, bool) for value in values):
        table, elem = np.array(values, dtype=bool), onnx.TensorProto.BOOL
    elif all(isinstance(value, int) for value in values):
        table, elem = np.array(values, dtype=np.int64), onnx.TensorProto.INT64
    else:
        table, elem = np.array(values, dtype=np.float64), onnx.TensorProto.DOUBLE
    # classes are stored task by task: task t's class k is at 2 t + k
    table = table.reshape(n_tasks, 2).T.reshape(-1)  # class k of task t at k T + t
    graph.initializer.extend(
        [
            numpy_helper.from_array(table, "skhealth_classes"),
            numpy_helper.from_array(np.int64(n_tasks), "skhealth_n_tasks"),
            numpy_helper.from_array(
                np.arange(n_tasks, dtype=np.int64), "skhealth_tasks"
            ),
        ]
    )
    graph.node.extend(
        [
            helper.make_node(
                "Mul", ["skhealth_label_index", "skhealth_n_tasks"], ["skhealth_offset"]
            ),
            helper.make_node(
                "Add", ["skhealth_offset", "skhealth_tasks"], ["skhealth_at"]
            ),
            helper.make_node("Gather", ["skhealth_classes", "skhealth_at"], ["label"]),
        ]
    )
    position = [o.name for o in graph.output].index("skhealth_label_index")
    label = helper.make_tensor_value_info("label", elem, [None, n_tasks])
    graph.output.remove(graph.output[position])
    graph.output.insert(position, label)


def _describe(graph, model, estimator, columns, outputs, interval, group):
    """Record what the graph reads and returns in its ``metadata_props``."""
    from onnx import helper

    properties = {
        "skhealth.version": _version(),
        "skhealth.model": type(model).__name__,
        "skhealth.estimator": type(estimator).__name__,
        "skhealth.inputs": [c.to_dict() for c in columns]
        if hasattr(model, "feature_names_in_")
        else [{"name": "X", "kind": "number", "shape": [None, len(columns)]}],
        "skhealth.outputs": outputs,
        "skhealth.target_names": [str(name) for name in estimator.target_names_],
        "skhealth.y_1d": bool(estimator._y_1d),
    }
    if interval is not None:
        properties["skhealth.confidence"] = interval
    if group is not None:
        properties["skhealth.group"] = group
    if hasattr(estimator, "classes_"):
        classes = [estimator.classes_] if estimator._y_1d else list(estimator.classes_)
        properties["skhealth.classes"] = [
            [value.item() if isinstance(value, np.generic) else value for value in c]
            for c in classes
        ]
    helper.set_model_props(
        graph, {key: json.dumps(value) for key, value in properties.items()}
    )
    graph.doc_string = (
        f"{type(estimator).__name__} exported by skhealth {_version()}: outputs "
        f"{', '.join(outputs)} for the tasks "
        f"{', '.join(properties['skhealth.target_names'])}."
    )


def _version():
    from . import __version__

    return __version__


def _write(graph, path):
    """Write ``graph`` to ``path``, replacing a file there once complete."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".onnx.partial")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(graph.SerializeToString())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
