"""What computes the predictions of checked records: the fitted model itself
(the ``"python"`` engine), or its ONNX graph in onnxruntime (``"onnx"``).

An engine's ``predict(records, interval, return_std)`` returns the output
columns of :func:`output_names`, in that order, each an array of one value
per record."""

import numpy as np
import pandas as pd

from .._inputs import _builtin as builtin
from .._validation import fitted_regressor, regressor_input


def output_names(estimator, interval, return_std):
    """The names of the values predicted per record, as ``skhealth predict``
    names its columns: per target, ``<target>`` (a regressor's prediction, a
    classifier's class), then ``<target>_lower`` and ``<target>_upper`` with an
    interval, ``<target>_std`` with ``return_std``, or a classifier's
    ``<target>_proba``."""
    names = []
    classifier = hasattr(estimator, "classes_")
    for target in target_names(estimator):
        names.append(target)
        if classifier:
            names.append(f"{target}_proba")
            continue
        if interval is not None:
            names += [f"{target}_lower", f"{target}_upper"]
        if return_std:
            names.append(f"{target}_std")
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(
                f"The model has a target named {name!r}, the name of another "
                "target's added value: leave out interval and return_std."
            )
        seen.add(name)
    return names


def target_names(estimator):
    """The model's targets, as strings."""
    return [str(name) for name in estimator.target_names_]


class PythonEngine:
    """Predict with the fitted model: its preprocessing on a table of the
    records (a DataFrame of the columns it was fitted on, or an array for a
    model fitted on one), then its estimator's ``predict``, ``predict_proba``
    and ``predict_interval``.

    A preprocessing of the steps that ``_compiled`` computes (the command
    line's) is computed there, without pandas, once it has given exactly
    scikit-learn's array on probe rows; ``compiled`` says whether it is."""

    name = "python"

    def __init__(self, model, columns):
        from ._compiled import compile_preprocessing

        self.model = model
        self.estimator = fitted_regressor(model)
        self._names = [column.name for column in columns]
        self._named = getattr(model, "feature_names_in_", None) is not None
        self._all_numbers = all(column.kind == "number" for column in columns)
        self._compiled = None
        if not hasattr(self.estimator, "feature_names_in_"):
            self._compiled = compile_preprocessing(model, columns)
        self.compiled = self._compiled is not None

    def table(self, records):
        """The records as the model's input: a DataFrame with the columns it was
        fitted on, or a 2-D array."""
        if self._named:
            return pd.DataFrame(records.columns, columns=self._names, copy=False)
        dtype = np.float64 if self._all_numbers else object
        return np.column_stack(
            [records.columns[name].astype(dtype) for name in self._names]
        )

    def predict(self, records, interval, return_std):
        estimator = self.estimator
        n = records.n_rows
        if self._compiled is not None:
            X = self._compiled(records.columns)
        else:
            X = regressor_input(self.model, self.table(records))
        outputs = []
        if hasattr(estimator, "classes_"):
            classes = np.asarray(estimator.predict(X), dtype=object).reshape(n, -1)
            proba = estimator.predict_proba(X)
            proba = proba[:, 1:] if estimator._y_1d else proba
            for t in range(classes.shape[1]):
                outputs += [[builtin(c) for c in classes[:, t]], proba[:, t]]
            return outputs
        if return_std:
            Y, std = estimator.predict(X, return_std=True)
            std = std.reshape(n, -1)
        else:
            Y = estimator.predict(X)
        Y = Y.reshape(n, -1)
        if interval is not None:
            bounds = estimator.predict_interval(X, interval, records.groups)
            bounds = bounds.reshape(n, -1, 2)
        for t in range(Y.shape[1]):
            outputs.append(Y[:, t])
            if interval is not None:
                outputs += [bounds[:, t, 0], bounds[:, t, 1]]
            if return_std:
                outputs.append(std[:, t])
        return outputs


def make_engine(name, python, columns, nullable, threads):
    """The engine ``name`` for the model of the Python engine ``python``:
    "python", "onnx", or "auto", the
    ONNX engine where onnxruntime and skhealth's ONNX export are installed and
    the model exports and agrees with itself, else the Python one."""
    if name not in ("auto", "python", "onnx"):
        raise ValueError(f"engine={name!r} is not one of 'auto', 'python' and 'onnx'.")
    if name == "python":
        return python
    from ._compiled import probe_columns
    from ._onnx import onnx_engine
    from ._records import Records

    values = probe_columns(columns, nullable)
    probe = Records(values, len(next(iter(values.values()))))
    engine = onnx_engine(python.model, columns, python, threads, probe, name == "onnx")
    return python if engine is None else engine
