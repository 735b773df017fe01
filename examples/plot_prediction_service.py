"""
Predictions over HTTP: the prediction service
=============================================

A model of seven NHANES measurements is saved to a file, and ``skhealth
serve`` answers its predictions over HTTP, as an app or a dashboard would
call it. Here the service runs for a few seconds in a process of its own on
127.0.0.1; the script sends it records of people it has not seen, checks that
its answers are the model's own, and times requests of 1 to 1,000 records.
(``pip install "skhealth[serve]"`` installs FastAPI and uvicorn.)
"""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

import skhealth
from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
).fit(X_train, Y_train)
folder = tempfile.mkdtemp()
model_file = os.path.join(folder, "nhanes.skh")
skhealth.save(model, model_file)

# %%
# Starting the service
# --------------------
# ``skhealth serve MODEL`` reads the file, binds the port and says where it
# serves on standard error; ``--port 0`` takes any free port. (``--engine
# python`` skips the few seconds of the ONNX export that the default engine
# does where onnxruntime is installed.)
log_path = os.path.join(folder, "service.log")
with open(log_path, "w") as log:
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skhealth",
            "serve",
            model_file,
            "--port",
            "0",
            "--engine",
            "python",
        ],
        stderr=log,
    )
deadline = time.monotonic() + 120
while not (found := re.search(r"127\.0\.0\.1:(\d+)", Path(log_path).read_text())):
    if service.poll() is not None or time.monotonic() > deadline:
        raise RuntimeError(f"the service did not start: {Path(log_path).read_text()}")
    time.sleep(0.2)
print(Path(log_path).read_text().strip())
connection = http.client.HTTPConnection("127.0.0.1", int(found[1]), timeout=60)


def call(method, path, body=None):
    """The status and the parsed answer of one request, on a kept-alive
    connection."""
    connection.request(method, path, body, headers={"Content-Type": "application/json"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def records(rows):
    """Rows of a DataFrame as JSON records: ``null`` where a value is missing."""
    return json.loads(rows.to_json(orient="records"))


# %%
# What the service expects
# ------------------------
# ``GET /model`` describes the model and the columns a record holds: each
# column's name, type, categories and whether ``null`` (missing) is taken.
status, description = call("GET", "/model")
inputs = pd.DataFrame(description["inputs"]).set_index("name")
print(description["model"])
print(inputs[["type", "nullable"]].head(6))

# %%
# Predicting, and a refused request
# ---------------------------------
# ``POST /predict`` takes one record or a list, and answers one object of
# predictions per record. A record the model cannot read is a 4xx whose
# message names the column.
body = json.dumps({"records": records(X_test.head(500)), "interval": 0.9})
status, answer = call("POST", "/predict", body)
served = pd.DataFrame(answer["predictions"], index=X_test.index[:500])
own = pd.DataFrame(model.predict(X_test.head(500)), columns=Y.columns)
print(served.iloc[:2, :6].round(1))
difference = np.abs(served[Y.columns] - own.values).max().max()
print("largest difference from model.predict:", difference)

wrong = dict(records(X_test.head(1))[0], age="sixty")
print(call("POST", "/predict", json.dumps({"records": wrong})))

# %%
# How long a request takes
# ------------------------
# Requests of 1 to 1,000 records, one after another: the time of a request is
# reading and checking its records, predicting them, and writing the answer.
# A single record costs a few milliseconds; large requests predict tens of
# thousands of rows per second.
sizes = [1, 10, 100, 1000]
latencies = {}
for size in sizes:
    bodies = [
        json.dumps({"records": records(X_test.iloc[start : start + size])})
        for start in range(0, len(X_test) - size, max(size, 17))[:30]
    ]
    times = []
    for body in bodies * (2 if size < 1000 else 1):
        start = time.perf_counter()
        status, _ = call("POST", "/predict", body)
        times.append(time.perf_counter() - start)
        assert status == 200
    latencies[size] = np.median(times) * 1e3
    rate = size / latencies[size] * 1e3
    print(f"{size:>5} records: {latencies[size]:7.2f} ms, {rate:9.0f} rows/s")

connection.close()
service.terminate()
service.wait(timeout=30)

# %%
# The figure: on the left, the median time of a request by its number of
# records (for large requests, the time grows with the rows); on the right,
# the service's predictions of the seven measures against ``model.predict``
# of the same rows (each measure standardised), all on the diagonal.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
left.loglog(sizes, [latencies[s] for s in sizes], "o-")
for size in sizes:
    left.annotate(
        f"{latencies[size]:.1f} ms\n{size / latencies[size] * 1e3:,.0f} rows/s",
        (size, latencies[size]),
        textcoords="offset points",
        xytext=(-12, 10),
        fontsize=8,
    )
left.set_yticks([1, 2, 5, 10, 20, 50, 100])
left.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
left.yaxis.set_minor_formatter(plt.NullFormatter())
left.set(
    xlabel="records per request",
    ylabel="median latency (ms)",
    xlim=(0.6, 3000),
    ylim=(1, 150),
    title="Latency per request size (one client)",
)
for target in Y.columns:
    mean, scale = own[target].mean(), own[target].std()
    right.scatter(
        (own[target] - mean) / scale,
        (served[target] - mean) / scale,
        s=5,
        label=target,
    )
lims = right.get_xlim()
right.plot(lims, lims, "k--", linewidth=0.8)
difference = np.abs(served[Y.columns] - own.values).max().max()
right.set(
    xlabel="model.predict (standardised)",
    ylabel="the service's answer (standardised)",
    title=f"Service vs model: largest difference {difference:.1g}",
)
right.legend(fontsize=7, markerscale=2)
fig.tight_layout()
plt.show()
