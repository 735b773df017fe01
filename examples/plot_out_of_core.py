"""
Out-of-core training: a Parquet dataset streamed partition by partition
=======================================================================

A table too large for memory can still train a
:class:`~skhealth.MultiTaskHealthRegressor`: given Dask collections (here
read lazily from a Parquet dataset by
:func:`skhealth.datasets.read_parquet`), ``fit`` makes a first pass over the
partitions that brings back only sums (the targets' standardisation, label
counts, the checks), then streams them, a few at a time, once per epoch.
Without shuffling its batches are those of an in-memory fit on the same rows,
so both train the same network. Here NHANES stands in for a large table:
written to eight Parquet files, fitted streamed and in memory.
"""

import tempfile
import time
import warnings
from pathlib import Path

import dask.dataframe as dd
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes, read_parquet
from skhealth.preprocessing import make_default_preprocessor

# a few epochs, far from converged
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# A streamed fit reads numbers only, roughly standardised, as they lie in the
# files: the preprocessing (imputing, scaling, one-hot encoding) happens
# before. Here it is fitted in memory on the training rows; for a table
# larger than memory, fit it on a sample and apply it partition by partition
# (``X.map_partitions(preprocessor.transform)``).
X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=0)
preprocessor = make_default_preprocessor(X_train).set_output(transform="pandas")
X_train = preprocessor.fit_transform(X_train)
X_test = preprocessor.transform(X_test)
features, targets = list(X_train.columns), list(Y_train.columns)

workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name) / "nhanes"
table = X_train.join(Y_train).reset_index(drop=True)
dd.from_pandas(table, npartitions=8).to_parquet(folder)
print(f"{len(table)} rows in {len(list(folder.glob('*.parquet')))} Parquet files")

# %%
# :func:`~skhealth.datasets.read_parquet` reads only the schema: ``X_lazy``
# and ``Y_lazy`` are Dask frames of the features and the targets, taken from
# one frame so that their partitions hold the same rows. Early stopping would
# hold rows out in memory, so a streamed fit trains ``max_iter`` epochs;
# ``shuffle=False`` streams the partitions in order, as the in-memory fit
# batches the rows. Each epoch reads every partition from disk again (the
# next while the network trains on one): with partitions of a few hundred
# rows, as here, that takes longer than the training itself.
# ``benchmarks/out_of_core.py`` measures it on ten million rows.
X_lazy, Y_lazy = read_parquet(folder, target=targets, features=features)
settings = dict(
    n_members=1,
    max_iter=8,
    batch_size=128,
    shuffle=False,
    early_stopping=False,
    random_state=0,
)
start = time.perf_counter()
streamed = MultiTaskHealthRegressor(**settings).fit(X_lazy, Y_lazy)
streamed_seconds = time.perf_counter() - start
start = time.perf_counter()
in_memory = MultiTaskHealthRegressor(**settings).fit(X_train, Y_train)
memory_seconds = time.perf_counter() - start
print(
    f"fit streamed from Parquet: {streamed_seconds:.1f} s, in memory: "
    f"{memory_seconds:.1f} s"
)

# %%
# The two fits trained the same network: the same loss at every epoch and the
# same predictions for held-out people, to float32 rounding.
loss = streamed.history_[:, "train_loss"], in_memory.history_[:, "train_loss"]
predicted = streamed.predict(X_test), in_memory.predict(X_test)
print(f"largest difference of training loss: {np.max(np.abs(np.subtract(*loss))):.1e}")
print(
    f"largest difference of predictions: {np.max(np.abs(np.subtract(*predicted))):.1e}"
)
print(
    f"held-out mean R², streamed: {streamed.score(X_test, Y_test):.3f}, "
    f"in memory: {in_memory.score(X_test, Y_test):.3f}"
)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
epochs = np.arange(1, len(loss[0]) + 1)
left.plot(epochs, loss[1], linewidth=4, alpha=0.4, label="in memory")
left.plot(epochs, loss[0], "k--", label="streamed from 8 Parquet files")
left.set_xlabel("epoch")
left.set_ylabel("training loss")
left.set_title("The same loss at every epoch")
left.legend()
for task, name in enumerate(targets):
    right.scatter(predicted[1][:, task], predicted[0][:, task], s=4, label=name)
low, high = right.get_xlim()
right.plot([low, high], [low, high], color="grey", linewidth=0.8)
right.set_xscale("log")
right.set_yscale("log")
right.set_xlabel("prediction of the in-memory fit")
right.set_ylabel("prediction of the streamed fit")
right.set_title("The same predictions for held-out people")
right.legend(markerscale=3, fontsize="small")
fig.tight_layout()
plt.show()

# %%
# ``predict`` on a Dask frame is lazy: a Dask frame with X's index and one
# column per target, predicted partition by partition when it is computed
# (here, into one frame in memory) or written out (``lazy.to_parquet(...)``,
# a partition at a time). Its columns are checked against the model's when
# ``predict`` is called, before any row is read.
lazy = streamed.predict(X_lazy)
print(repr(lazy))
Y_hat = lazy.compute()
print(
    f"computed: {Y_hat.shape}; equal to predict in memory: "
    f"{np.allclose(Y_hat.to_numpy(), streamed.predict(X_train), rtol=1e-6)}"
)
workdir.cleanup()
