"""The ``"onnx"`` engine: the whole fitted model as one ONNX graph
(:func:`skhealth.onnx.to_onnx`) in onnxruntime, a tenth of a millisecond for
one NHANES row where the Python model takes 0.7 ms.

The graph computes the predictions and, for a calibrated regressor, their
standard deviations; intervals, whose level each request chooses, are the
Python model's. Before serving, the engine's answers on probe rows are
compared with the Python model's: a graph that differs by more than float
rounding is not used."""

import logging

import numpy as np

from .._validation import fitted_regressor
from ._engines import builtin

logger = logging.getLogger("skhealth.serving")

# How far the graph's answers may be from the model's: float32 rounding in
# the network (the model's own answers move that much with the batch).
RTOL = 1e-5


class OnnxEngine:
    """Predict in onnxruntime, with ``fallback`` (the Python engine) for what
    the graph does not compute: intervals, and the std of a model exported
    without it."""

    name = "onnx"

    def __init__(self, model, columns, fallback, threads):
        import onnx
        import onnxruntime

        from ..onnx import to_onnx

        estimator = fitted_regressor(model)
        self.estimator = estimator
        self.fallback = fallback
        self._classifier = hasattr(estimator, "classes_")
        self._with_std = False
        graph = None
        if not self._classifier:
            try:
                graph = to_onnx(model, return_std=True)
                self._with_std = True
            except ValueError:  # no calibration: the std is the fallback's
                graph = None
        if graph is None:
            graph = to_onnx(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._outputs = [output.name for output in graph.graph.output]
        self._inputs = [
            (value.name, value.type.tensor_type.elem_type == onnx.TensorProto.STRING)
            for value in graph.graph.input
        ]
        self._names = [column.name for column in columns]
        # a graph's labels are one tensor: the classes of every task as text
        # where the tasks' classes are of different kinds; each back to its
        # class, as the model predicts it
        self._classes = []
        if self._classifier:
            classes = estimator.classes_
            for per_task in [classes] if estimator._y_1d else classes:
                self._classes.append({str(c): builtin(c) for c in per_task})

    def _feed(self, records):
        values = records.columns
        if [name for name, _ in self._inputs] == ["X"] and "X" not in values:
            return {
                "X": np.column_stack([values[name] for name in self._names]).astype(
                    np.float64
                )
            }
        feed = {}
        for name, text in self._inputs:
            column = values[name]
            if text:
                missing = [value is np.nan or value != value for value in column]
                if any(missing):
                    column = column.copy()
                    column[np.array(missing)] = ""
            feed[name] = column.reshape(-1, 1)
        return feed

    def predict(self, records, interval, return_std):
        if interval is not None or (return_std and not self._with_std):
            return self.fallback.predict(records, interval, return_std)
        found = dict(
            zip(
                self._outputs,
                self._session.run(None, self._feed(records)),
                strict=True,
            )
        )
        outputs = []
        if self._classifier:
            labels, proba = found["label"], found["probabilities"]
            for t, classes in enumerate(self._classes):
                outputs += [
                    [classes[str(c)] for c in labels[:, t].tolist()],
                    proba[:, t],
                ]
            return outputs
        Y = found["prediction"]
        for t in range(Y.shape[1]):
            outputs.append(Y[:, t])
            if return_std:
                outputs.append(found["std"][:, t])
        return outputs


def agrees(engine, reference, records):
    """Whether ``engine`` answers as ``reference`` (the Python engine) on
    ``records``, with and without the std where the model has one."""
    options = [(None, False)]
    if getattr(engine, "_with_std", False):
        options.append((None, True))
    for interval, return_std in options:
        got = engine.predict(records, interval, return_std)
        expected = reference.predict(records, interval, return_std)
        for a, b in zip(got, expected, strict=True):
            if isinstance(b, list):
                if a != b:
                    return False
            elif not np.allclose(a, b, rtol=RTOL, atol=0, equal_nan=True):
                return False
    return True


def onnx_engine(model, columns, fallback, threads, probe, required):
    """The ONNX engine of ``model``, checked against ``fallback`` on the
    records ``probe``; None, said in the log, where it cannot be had and is
    not ``required`` (else the error)."""
    try:
        engine = OnnxEngine(model, columns, fallback, threads)
        if not agrees(engine, fallback, probe):
            raise ValueError(
                "the ONNX graph's predictions differ from the model's by more "
                f"than {RTOL:g} relative on probe rows"
            )
    except Exception as exc:
        if required:
            if isinstance(exc, ImportError):
                raise ImportError(
                    'engine="onnx" needs onnx, onnxscript, skl2onnx and '
                    f'onnxruntime: pip install "skhealth[onnx]" onnxruntime ({exc})'
                ) from exc
            raise
        logger.warning(
            "skhealth.serving: the model is served by the python engine: %s",
            " ".join(str(exc).split()) or type(exc).__name__,
        )
        return None
    return engine
