"""Out-of-core training: a fit streamed from a Parquet dataset against the
same fit in memory, in peak memory and throughput.

Goals (the issue's): a fit on a Parquet dataset of 10 million rows of 64
features with a peak resident memory of at most 2 GiB, and an epoch no more
than 1.5 times as long as the in-memory fit's on the same rows.

The script first writes the dataset, unless ``--path`` already holds it (a
``_benchmark.json`` there records its shape): ``--rows`` rows of
``--features`` float32 features (standard normal) and ``--tasks`` float64
targets (a linear and mildly nonlinear function of the features plus noise,
a fifth of the labels NaN), in files of ``--partition-rows`` rows, generated
and written one file at a time with pyarrow.

Then each mode runs in its own process, so that each has its own peak
resident memory (``ru_maxrss``), and fits the same
``MultiTaskHealthRegressor(hidden_layer_sizes=(64,), n_members=1,
early_stopping=False, random_state=0)`` for ``--epochs`` epochs of batches
of ``--batch-size`` rows:

- ``stream``: ``X, y = skhealth.datasets.read_parquet(path, target=...)``
  and ``fit(X, y)``: a first pass over all partitions, then each epoch loads
  them a window at a time (the next in a background thread);
- ``memory``: the files read one by one into a preallocated float32 ``X``
  and float64 ``Y`` (numpy), then ``fit(X, Y)``.

Prints, per mode: peak resident memory (for the stream also its peak by the
end of the first pass) and that after the imports, the first pass
(the fit's time minus its epochs', so it also holds loading the rows that
the divergence check predicts; the first pass alone is printed beside it for
the stream), the mean seconds per epoch, rows per second, the time spent
loading partitions (stream), and the training loss of the last epoch; then
the two goal checks, the ratio of the epochs' times included.

``--check-small`` instead fits streamed and in memory in one process without
shuffling (20,000 rows in files of 3,000 unless ``--rows`` and
``--partition-rows`` say otherwise) and prints the largest absolute
difference of their predictions of the rows: the same batches, so the same
network to float32 rounding.

Run from the repository root (a full run writes 4 GiB of Parquet files under
/tmp, pyarrow's default encoding, and its in-memory fit needs about 4.5 GiB
of memory)::

    python benchmarks/out_of_core.py --rows 200000 --partition-rows 25000
    python benchmarks/out_of_core.py            # 10,000,000 x 64, 2 epochs
    python benchmarks/out_of_core.py --check-small
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

GIB = 2**30
MARKER = "_benchmark.json"  # Parquet readers skip files starting with "_"
RESULT = "RESULT "  # the prefix of a child's JSON line
MEMORY_GOAL_GIB = 2.0
THROUGHPUT_GOAL = 1.5


def feature_names(n_features):
    return [f"x{j:02d}" for j in range(n_features)]


def target_names(n_tasks):
    return [f"y{t}" for t in range(n_tasks)]


def peak_rss():
    """This process's peak resident memory, bytes (ru_maxrss is in KiB on
    Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss():
    """This process's resident memory now, bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return float("nan")


# ------------------------------------------------------------------- the data
def make_chunk(index, n_rows, n_features, n_tasks, seed=0):
    """The features (float32) and targets (float64, ~20% NaN) of file
    ``index``: its own random stream, the same coefficients for all."""
    coef = np.random.default_rng(seed).normal(size=(n_features, n_tasks))
    coef /= np.sqrt(n_features)
    rng = np.random.default_rng([seed, index])
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    Y = X @ coef.astype(np.float32)
    Y = Y.astype(np.float64)
    for t in range(n_tasks):  # mildly nonlinear: an interaction and a curve
        a, b = X[:, t % n_features], X[:, (t + n_tasks) % n_features]
        Y[:, t] += 0.5 * np.tanh(a * b) + 0.3 * np.sin(2.0 * a)
    Y += 0.3 * rng.standard_normal(Y.shape)
    Y[rng.random(Y.shape) < 0.2] = np.nan
    return X, Y


def write_dataset(path, n_rows, n_features, n_tasks, partition_rows):
    """Write the dataset to ``path`` (a folder) unless it is already there."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    shape = {
        "rows": n_rows,
        "features": n_features,
        "tasks": n_tasks,
        "partition_rows": partition_rows,
    }
    marker = path / MARKER
    if marker.exists():
        if json.loads(marker.read_text()) == shape:
            print(f"Dataset {path} already written: {shape}", flush=True)
            return
        sys.exit(
            f"{path} holds another dataset ({marker.read_text().strip()}), "
            f"not {shape}: remove it or give another --path."
        )
    if path.exists() and any(path.iterdir()):
        sys.exit(f"{path} is not empty and has no {MARKER}: give another --path.")
    path.mkdir(parents=True, exist_ok=True)
    names = feature_names(n_features) + target_names(n_tasks)
    schema = pa.schema(
        [(name, pa.float32()) for name in feature_names(n_features)]
        + [(name, pa.float64()) for name in target_names(n_tasks)]
    )
    start = time.perf_counter()
    n_files = -(-n_rows // partition_rows)
    for i in range(n_files):
        rows = min(partition_rows, n_rows - i * partition_rows)
        X, Y = make_chunk(i, rows, n_features, n_tasks)
        columns = [X[:, j] for j in range(n_features)]
        columns += [Y[:, t] for t in range(n_tasks)]
        table = pa.Table.from_arrays(
            [pa.array(np.ascontiguousarray(c)) for c in columns], schema=schema
        )
        assert table.column_names == names
        pq.write_table(table, path / f"part.{i:05d}.parquet")
        del X, Y, columns, table
    marker.write_text(json.dumps(shape) + "\n")
    size = sum(f.stat().st_size for f in path.glob("*.parquet"))
    print(
        f"Wrote {n_rows} x {n_features} (+{n_tasks} targets) in {n_files} files "
        f"({size / GIB:.2f} GiB) to {path} in {time.perf_counter() - start:.1f} s; "
        f"peak RSS {peak_rss() / GIB:.2f} GiB",
        flush=True,
    )


def read_in_memory(path, n_features, n_tasks):
    """The dataset as one float32 X and one float64 Y, read file by file into
    preallocated arrays (in the order Dask reads the files)."""
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet"))
    n_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    X = np.empty((n_rows, n_features), dtype=np.float32)
    Y = np.empty((n_rows, n_tasks), dtype=np.float64)
    start = 0
    for f in files:
        table = pq.read_table(f)
        stop = start + table.num_rows
        for j, name in enumerate(feature_names(n_features)):
            X[start:stop, j] = table.column(name).to_numpy()
        for t, name in enumerate(target_names(n_tasks)):
            Y[start:stop, t] = table.column(name).to_numpy()
        start = stop
        del table
    return X, Y


# ------------------------------------------------------------------ the modes
def estimator(args, shuffle):
    from skhealth import MultiTaskHealthRegressor

    return MultiTaskHealthRegressor(
        hidden_layer_sizes=(64,),
        n_members=1,
        batch_size=args.batch_size,
        max_iter=args.epochs,
        early_stopping=False,
        shuffle=shuffle,
        random_state=0,
    )


def instrument_streaming():
    """Time the first pass and every partition loaded (in this process only:
    the functions are wrapped, not changed)."""
    import skhealth._base
    from skhealth._streaming import Partitions

    times = {"first_pass": 0.0, "load": 0.0, "loads": 0}
    first_pass = skhealth._base.first_pass
    load = Partitions.load

    def timed_first_pass(*args, **kwargs):
        start = time.perf_counter()
        try:
            return first_pass(*args, **kwargs)
        finally:
            times["first_pass"] += time.perf_counter() - start
            times["peak_rss_first_pass"] = peak_rss()

    def timed_load(self, index):
        start = time.perf_counter()
        try:
            return load(self, index)
        finally:
            times["load"] += time.perf_counter() - start
            times["loads"] += 1

    skhealth._base.first_pass = timed_first_pass
    Partitions.load = timed_load
    return times


def run_mode(args):
    """One mode in this process; prints its results as a JSON line."""
    from sklearn.exceptions import ConvergenceWarning

    import skhealth  # noqa: F401
    from skhealth.datasets import read_parquet

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    result = {"mode": args.mode, "rss_imports": current_rss()}
    reg = estimator(args, shuffle=args.shuffle)
    if args.mode == "stream":
        times = instrument_streaming()
        X, y = read_parquet(args.path, target=target_names(args.tasks))
        result["partitions"] = X.npartitions
        start = time.perf_counter()
        reg.fit(X, y)
        fit_s = time.perf_counter() - start
        result.update(
            first_pass_only=times["first_pass"],
            peak_rss_first_pass=times["peak_rss_first_pass"],
            load_s=times["load"],
            loads=times["loads"],
        )
    else:
        start = time.perf_counter()
        X, Y = read_in_memory(args.path, args.features, args.tasks)
        result["read_s"] = time.perf_counter() - start
        result["rss_data"] = current_rss()
        result["partitions"] = 1
        start = time.perf_counter()
        reg.fit(X, Y)
        fit_s = time.perf_counter() - start
    epochs = [float(d) for d in reg.history_[:, "dur"]]
    result.update(
        fit_s=fit_s,
        first_pass_s=fit_s - sum(epochs),
        epoch_s=epochs,
        train_loss=[float(v) for v in reg.history_[:, "train_loss"]],
        peak_rss=peak_rss(),
    )
    print(RESULT + json.dumps(result), flush=True)


def run_child(args, mode):
    command = [
        sys.executable,
        __file__,
        "--mode",
        mode,
        "--path",
        str(args.path),
        "--rows",
        str(args.rows),
        "--features",
        str(args.features),
        "--tasks",
        str(args.tasks),
        "--batch-size",
        str(args.batch_size),
        "--epochs",
        str(args.epochs),
        "--shuffle" if args.shuffle else "--no-shuffle",
    ]
    load = os.getloadavg()[0]
    print(f"Running {mode} (load average {load:.2f}) ...", flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode or not lines:
        sys.stdout.write(done.stdout)
        sys.exit(f"The {mode} run failed (exit status {done.returncode}).")
    result = json.loads(lines[-1][len(RESULT) :])
    result["rows"] = args.rows
    print(
        f"{mode}: fit {result['fit_s']:.1f} s, epochs "
        + ", ".join(f"{s:.1f}" for s in result["epoch_s"])
        + f" s, peak RSS {result['peak_rss'] / GIB:.2f} GiB; load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return result


def report(results):
    import pandas as pd

    rows = {}
    for mode, r in results.items():
        epoch = float(np.mean(r["epoch_s"]))
        rows[mode] = {
            "rows": r["rows"],
            "partitions": r["partitions"],
            "peak RSS GiB": r["peak_rss"] / GIB,
            "peak RSS by end of 1st pass GiB": (
                r.get("peak_rss_first_pass", float("nan")) / GIB
            ),
            "RSS after imports GiB": r["rss_imports"] / GIB,
            "first pass s": r["first_pass_s"],
            "(first pass alone) s": r.get("first_pass_only", float("nan")),
            "s / epoch": epoch,
            "rows/s": r["rows"] / epoch,
            # partitions loaded: every epoch's, and the first for the
            # divergence check
            "loading s / epoch": r.get("load_s", float("nan")) / len(r["epoch_s"]),
            "last train loss": r["train_loss"][-1],
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    with pd.option_context(
        "display.width", 250, "display.max_columns", None, "display.precision", 3
    ):
        print(table)
    stream, memory = results["stream"], results["memory"]
    peak = stream["peak_rss"] / GIB
    ratio = np.mean(stream["epoch_s"]) / np.mean(memory["epoch_s"])
    print(
        f"Goal: stream peak RSS {peak:.2f} GiB <= {MEMORY_GOAL_GIB:g} GiB: "
        f"{'met' if peak <= MEMORY_GOAL_GIB else 'MISSED'}"
    )
    print(
        f"Goal: stream / memory seconds per epoch {ratio:.2f} <= "
        f"{THROUGHPUT_GOAL:g}: {'met' if ratio <= THROUGHPUT_GOAL else 'MISSED'}"
    )


def check_small(args):
    """Streamed and in-memory fits without shuffling: their predictions."""
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning

    from skhealth.datasets import read_parquet

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = read_parquet(args.path, target=target_names(args.tasks))
    stream = estimator(args, shuffle=False).fit(X, y)
    X, Y = read_in_memory(args.path, args.features, args.tasks)
    memory = estimator(args, shuffle=False).fit(X, Y)
    frame = pd.DataFrame(X, columns=feature_names(args.features))
    difference = np.abs(stream.predict(frame) - memory.predict(X)).max()
    losses = np.abs(
        np.asarray(stream.loss_curve_) - np.asarray(memory.loss_curve_)
    ).max()
    print(
        f"{len(X)} rows in files of {args.partition_rows}, {args.epochs} epochs "
        f"of batches of {args.batch_size}, no shuffling: largest absolute "
        f"difference of the predictions {difference:.3g}, of the epochs' "
        f"training losses {losses:.3g}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--partition-rows", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--shuffle", action=argparse.BooleanOptionalAction, default=True
    )
    parser.add_argument("--check-small", action="store_true")
    parser.add_argument("--mode", choices=["stream", "memory"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    small = args.check_small
    if args.rows is None:
        args.rows = 20_000 if small else 10_000_000
    if args.partition_rows is None:
        args.partition_rows = 3_000 if small else 250_000
    if args.path is None:
        args.path = Path(tempfile.gettempdir()) / (
            f"skhealth-out-of-core-{args.rows}x{args.features}-{args.tasks}t-"
            f"{args.partition_rows}"
        )
    if args.mode is not None:
        run_mode(args)
        return
    start = time.perf_counter()
    write_dataset(args.path, args.rows, args.features, args.tasks, args.partition_rows)
    if small:
        check_small(args)
    else:
        results = {mode: run_child(args, mode) for mode in ("stream", "memory")}
        report(results)
    print(f"Total wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
