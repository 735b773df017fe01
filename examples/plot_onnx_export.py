"""
Deploying without Python: the whole pipeline as one ONNX graph
==============================================================

A model that predicts on a phone or in a small service cannot carry Python,
PyTorch and scikit-learn along. :func:`skhealth.onnx.to_onnx` exports a fitted
pipeline, its preprocessing included, as one ONNX graph that reads the raw
columns of a table (numbers, and categories as text) and returns every
measure's prediction in its units, with its std and prediction interval.
onnxruntime runs it anywhere, and answers as the pipeline does, many times
faster.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.onnx import onnx_inputs, to_onnx
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
model = make_pipeline(
    make_default_preprocessor(X),
    MultiTaskHealthRegressor(max_iter=20, random_state=0),
).fit(X_train, Y_train)

# %%
# The graph reads one input per column, a ``string`` for the categories and a
# ``double`` for the numbers (``NaN`` where missing: the graph imputes as the
# pipeline does), and returns the predictions, one column per measure.
# ``to_onnx(model, return_std=True, interval=0.9)`` adds their std and 90 %
# intervals as the outputs ``std``, ``lower`` and ``upper``; ``path=`` writes
# the graph to a file, as ``skhealth export model.skh -o model.onnx`` does.
graph = to_onnx(model)
print(
    "inputs: ", [(i.name, i.type.tensor_type.elem_type) for i in graph.graph.input][:5]
)
print("outputs:", [o.name for o in graph.graph.output])
session = ort.InferenceSession(graph.SerializeToString())
(prediction,) = session.run(None, onnx_inputs(graph, X_test))

# %%
# onnxruntime's predictions against the pipeline's, measure by measure: on the
# diagonal, to the last bits of float64 (the tests hold them to 1e-5
# relative).
expected = model.predict(X_test)
relative = np.abs(prediction / expected - 1)
print(f"largest relative difference: {relative.max():.1e}")
fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), layout="constrained")
for t, ax in enumerate(axes.flat[: Y.shape[1]]):
    ax.scatter(expected[:, t], prediction[:, t], s=4, alpha=0.4)
    low, high = expected[:, t].min(), expected[:, t].max()
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    ax.set_title(f"{Y.columns[t]}\nlargest rel. diff {relative[:, t].max():.0e}")
    ax.set_xlabel("pipeline.predict")
    ax.set_ylabel("onnxruntime")
for ax in axes.flat[Y.shape[1] :]:
    ax.set_axis_off()

# %%
# The latency of one person's prediction, and of 1,000 people's: the
# pipeline pays for pandas and scikit-learn's checks, onnxruntime for little
# more than the arithmetic. The median of repeated runs, in milliseconds.


def median_ms(function, repeats):
    function()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


latency = {}
for label, rows, repeats in (
    ("1 row", X_test.iloc[[0]], 100),
    ("1,000 rows", X_test.iloc[:1000], 10),
):
    inputs = onnx_inputs(graph, rows)
    latency[label] = (
        median_ms(lambda rows=rows: model.predict(rows), repeats),
        median_ms(lambda inputs=inputs: session.run(None, inputs), repeats),
    )
    python_ms, onnx_ms = latency[label]
    print(f"{label}: pipeline {python_ms:.2f} ms, onnxruntime {onnx_ms:.3f} ms")

fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
positions = np.arange(len(latency))
ax.bar(positions - 0.2, [v[0] for v in latency.values()], 0.4, label="pipeline.predict")
ax.bar(positions + 0.2, [v[1] for v in latency.values()], 0.4, label="onnxruntime")
for p, (python, onnx) in zip(positions, latency.values(), strict=True):
    ax.annotate(
        f"{python / onnx:.0f}x faster", (p + 0.2, onnx), ha="center", va="bottom"
    )
ax.set_xticks(positions, list(latency))
ax.set_yscale("log")
ax.set_ylabel("median latency (ms, log scale)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()
