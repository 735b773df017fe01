"""Prediction latency of an exported ONNX graph in onnxruntime against the
fitted pipeline's ``predict``, on one row and on 10,000 rows.

The model is the command line's default NHANES pipeline (``skhealth fit``'s
preprocessing, :func:`skhealth.preprocessing.make_default_preprocessor`,
then a default MultiTaskHealthRegressor: an ensemble of 5 networks of (64, 64)
units), trained for ``--max-iter`` epochs (the latency does not depend on
them), and exported with :func:`skhealth.onnx.to_onnx`, once for the
predictions and once with their std and 90 % intervals. Each case runs
``--repeats`` times after a warm-up; the table gives the median wall time of
both, in the same run, and their ratio. The ONNX side is timed twice: the
session's ``run`` on inputs already made (what an app that holds its inputs as
arrays pays), and with the inputs made from the DataFrame by
:func:`skhealth.onnx.onnx_inputs`. It also prints the largest relative
difference between the two answers.

Run from the repository root, in the project's environment with the ``onnx``
extra and onnxruntime::

    python benchmarks/onnx_latency.py
    python benchmarks/onnx_latency.py --repeats 500 --threads 1
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd


def median_time(function, repeats):
    """The median wall time of ``function()`` in seconds, after one warm-up."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fitted_pipeline(max_iter, seed):
    """The command line's default pipeline fitted on NHANES, and its rows."""
    from skhealth import MultiTaskHealthRegressor
    from skhealth.cli._model import make_model
    from skhealth.datasets import load_nhanes

    X, Y = load_nhanes(return_X_y=True)
    model = make_model(
        X, MultiTaskHealthRegressor(max_iter=max_iter, random_state=seed)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in a few epochs
        model.fit(X, Y)
    return model, X


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200, help="runs per case")
    parser.add_argument("--max-iter", type=int, default=10, help="training epochs")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="onnxruntime's intra-op threads (default 0: its own choice)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import onnxruntime as ort

    from skhealth.onnx import onnx_inputs, to_onnx

    model, X = fitted_pipeline(args.max_iter, args.seed)
    many = pd.concat([X, X], ignore_index=True).iloc[:10_000]
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    estimator, preprocess = model[-1], model[0]

    rows = []
    for label, kwargs in (("predict", {}), ("std + 90 % interval", {"interval": 0.9})):
        start = time.perf_counter()
        graph = to_onnx(model, return_std=bool(kwargs), **kwargs)
        export_s = time.perf_counter() - start
        session = ort.InferenceSession(graph.SerializeToString(), options)
        if kwargs:

            def python(X):
                Xt = preprocess.transform(X)
                return estimator.predict(Xt, return_std=True)[0], (
                    estimator.predict_interval(Xt, confidence=0.9)
                )

        else:

            def python(X):
                return model.predict(X)

        for n_rows, data in (("1 row", X.iloc[[0]]), ("10,000 rows", many)):
            inputs = onnx_inputs(graph, data)
            repeats = args.repeats if len(data) == 1 else max(5, args.repeats // 20)
            python_s = median_time(lambda data=data: python(data), repeats)
            onnx_s = median_time(
                lambda inputs=inputs, s=session: s.run(None, inputs), repeats
            )
            feed_s = median_time(
                lambda data=data, s=session, g=graph: s.run(None, onnx_inputs(g, data)),
                repeats,
            )
            answer = session.run(None, inputs)[0]
            expected = python(data)
            expected = expected[0] if isinstance(expected, tuple) else expected
            difference = float(np.max(np.abs(answer / expected - 1)))
            rows.append(
                {
                    "outputs": label,
                    "rows": n_rows,
                    "pipeline ms": 1e3 * python_s,
                    "onnx run ms": 1e3 * onnx_s,
                    "onnx from frame ms": 1e3 * feed_s,
                    "speed-up (run)": python_s / onnx_s,
                    "speed-up (from frame)": python_s / feed_s,
                    "max rel diff": difference,
                    "export s": export_s,
                }
            )
    table = pd.DataFrame(rows).set_index(["outputs", "rows"])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            table.to_string(
                formatters={
                    "max rel diff": "{:.1e}".format,
                    "pipeline ms": "{:.3f}".format,
                    "onnx run ms": "{:.3f}".format,
                    "onnx from frame ms": "{:.3f}".format,
                    "speed-up (run)": "{:.1f}x".format,
                    "speed-up (from frame)": "{:.1f}x".format,
                    "export s": "{:.1f}".format,
                }
            )
        )
    return table


if __name__ == "__main__":
    main()
