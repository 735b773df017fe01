"""Speed and memory of skhealth's estimator against a hand-written PyTorch loop.

Every method fits the same network (64-128-128-4 ReLU, Adam with learning rate
1e-3, batches of 256, no validation split, no early stopping) on the same
synthetic float32 data, in one process, interleaved over ``--repeats`` rounds
(the median is reported, since timings on a shared machine vary a lot). The
methods are:

* ``hand loop``: tensors made once, ``torch.randperm`` and slicing, an
  ``nn.Sequential`` of Linear/ReLU, MSE loss and Adam. The 1.0x baseline.
* ``hand loop, fused Adam``: the same with ``Adam(fused=True)``, the kernel
  skhealth uses: the difference to it is skhealth's own overhead.
* ``skhealth``: :class:`skhealth.MultiTaskHealthRegressor`. On the CPU it
  trains this small network on one thread; the other methods run on torch's
  threads (see ``--threads``). The script prints both.
* ``skorch``: skorch's plain ``NeuralNetRegressor`` with its default DataLoader.
* ``sklearn MLP``: :class:`sklearn.neural_network.MLPRegressor`.
* ``hand loop + DataLoader``: the hand loop fed by ``DataLoader(TensorDataset)``.

Measured per method: the fit time, the time to predict the training rows, and
the latency of a one-row ``predict`` (median over many calls). The one-row
reference is a bare ``module(x)`` forward under ``torch.inference_mode()``.
With ``--device cuda`` the networks train and predict on the GPU (sklearn's
MLP stays on the CPU) and the one-row reference includes copying the row to
the GPU and the result back. With ``--memory``, each method also fits
1,000,000 rows for one epoch in a fresh subprocess, and the table gives its
peak resident memory above the baseline (after the data are made) divided by
the size of ``X``.

With ``--threads``, the script instead times skhealth's own fit (2 epochs) and
its predict of the training rows on a few shapes (``THREAD_CASES``: the default
estimator, one network, and networks of two 512-unit layers), each under three
settings, interleaved: torch's threads (``torch.get_num_threads()``, as skhealth
trained before it chose its threads; the 1.0x baseline), one thread
(``torch.set_num_threads(1)``), and skhealth's policy (torch's threads, of which
training uses one when the network's batch is small: see
``skhealth._net.training_threads``). The ratios in brackets are the lowest and
highest of the rounds' own ratios to the baseline. Prediction runs on torch's
threads under the policy too: its predict column compares like with like, and
shows how much the machine's load moves the timings.

Run from the repository root::

    python benchmarks/speed.py --repeats 5
    python benchmarks/speed.py --memory --repeats 1
    python benchmarks/speed.py --device cuda --repeats 3
    python benchmarks/speed.py --device cuda --bfloat16 --repeats 3
    python benchmarks/speed.py --threads --repeats 5
    python benchmarks/speed.py --quick            # smoke run, a few seconds
"""

import argparse
import contextlib
import multiprocessing
import os
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from skorch import NeuralNetRegressor
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from skhealth import MultiTaskHealthRegressor, _net

N_FEATURES, N_TASKS, HIDDEN = 64, 4, (128, 128)
BATCH_SIZE, LR, SEED = 256, 1e-3, 0
MEMORY_SAMPLES, MEMORY_EPOCHS = 1_000_000, 1


def make_data(n_samples, n_features=N_FEATURES, seed=SEED):
    """Float32 ``X`` (n_samples, n_features) and a non-linear float32 ``Y``
    (n_samples, 4).

    Drawn straight into float32, so that making them has no transient peak of
    memory above their final size.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    W = rng.standard_normal((n_features, N_TASKS), dtype=np.float32)
    Y = np.tanh(X @ (W / np.float32(np.sqrt(n_features))))
    Y += rng.standard_normal(Y.shape, dtype=np.float32) * np.float32(0.1)
    return X, Y


def make_module():
    layers, width = [], N_FEATURES
    for size in HIDDEN:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, N_TASKS))


class HandLoop:
    """The baseline: a plain PyTorch training loop over whole tensors."""

    fused = False  # PyTorch's default Adam on the CPU

    def __init__(self, epochs, device):
        self.epochs, self.device = epochs, device

    def tensors(self, X, Y):
        return (torch.from_numpy(a).to(self.device) for a in (X, Y))

    def batches(self, X, Y):
        """Minibatches of the tensors made by :meth:`tensors`."""
        order = torch.randperm(len(X), device=X.device)
        for start in range(0, len(X), BATCH_SIZE):
            index = order[start : start + BATCH_SIZE]
            yield X[index], Y[index]

    def fit(self, X, Y):
        torch.manual_seed(SEED)
        self.module_ = make_module().to(self.device)
        optimizer = torch.optim.Adam(self.module_.parameters(), lr=LR, fused=self.fused)
        X, Y = self.tensors(X, Y)
        for _ in range(self.epochs):
            for X_batch, Y_batch in self.batches(X, Y):
                X_batch, Y_batch = X_batch.to(self.device), Y_batch.to(self.device)
                optimizer.zero_grad()
                nn.functional.mse_loss(self.module_(X_batch), Y_batch).backward()
                optimizer.step()
        return self

    def predict(self, X):
        with torch.inference_mode():
            return self.module_(torch.from_numpy(X).to(self.device)).cpu().numpy()

    def one_row_predictor(self, x):
        """A call of the bare forward on a ready-made tensor: the reference
        (on a GPU, with the result copied back, as a caller needs it)."""
        x = torch.from_numpy(x).to(self.device)

        def forward():
            with torch.inference_mode():
                return self.module_(x).cpu()

        return forward


class HandLoopFused(HandLoop):
    """The hand loop with Adam's fused kernel, as skhealth uses it."""

    fused = True


class HandLoopDataLoader(HandLoop):
    """The hand loop fed (and predicting) through ``DataLoader(TensorDataset)``:
    batches are collated on the CPU, then moved to the device."""

    def tensors(self, X, Y):
        return torch.from_numpy(X), torch.from_numpy(Y)

    def batches(self, X, Y):
        return DataLoader(TensorDataset(X, Y), batch_size=BATCH_SIZE, shuffle=True)

    def predict(self, X):
        loader = DataLoader(TensorDataset(torch.from_numpy(X)), batch_size=BATCH_SIZE)
        with torch.inference_mode():
            batches = [self.module_(X_batch.to(self.device)) for (X_batch,) in loader]
            return torch.cat(batches).cpu().numpy()

    def one_row_predictor(self, x):
        return lambda: self.predict(x)


class Estimator:
    """A scikit-learn style estimator, rebuilt by ``make`` at every fit."""

    def __init__(self, make):
        self.make = make

    def fit(self, X, Y):
        self.estimator_ = self.make().fit(X, Y)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def one_row_predictor(self, x):
        return lambda: self.estimator_.predict(x)


def make_skhealth(epochs, device, precision="float32"):
    # the hand loop's work: one network, no dropout, no validation split
    return MultiTaskHealthRegressor(
        hidden_layer_sizes=HIDDEN,
        n_members=1,
        dropout=0.0,
        early_stopping=False,
        batch_size=BATCH_SIZE,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        alpha=0.0,
        random_state=SEED,
        device=device,
        precision=precision,
    )


def make_skorch(epochs, device):
    torch.manual_seed(SEED)
    return NeuralNetRegressor(
        make_module(),
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=epochs,
        batch_size=BATCH_SIZE,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
        device=device,
    )


def make_mlp(epochs, device):  # scikit-learn's MLP runs on the CPU
    return MLPRegressor(
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        learning_rate_init=LR,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs,
        shuffle=True,
        random_state=SEED,
    )


METHODS = {
    "hand loop": HandLoop,
    "hand loop, fused Adam": HandLoopFused,
    "skhealth": lambda *a: Estimator(lambda: make_skhealth(*a)),
    "skorch": lambda *a: Estimator(lambda: make_skorch(*a)),
    "sklearn MLP": lambda *a: Estimator(lambda: make_mlp(*a)),
    "hand loop + DataLoader": HandLoopDataLoader,
}


def seconds(fn):
    start = time.perf_counter()
    fn()
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()  # count the GPU's queued work, not just its launch
    return time.perf_counter() - start


def one_row_latency(predictor, n_calls):
    """Median seconds of one call, after a few warm-up calls."""
    for _ in range(5):
        predictor()
    return statistics.median(seconds(predictor) for _ in range(n_calls))


def time_methods(X, Y, epochs, repeats, n_calls, device="cpu"):
    """Median fit, predict and one-row predict seconds of every method.

    Each round runs every method once, so that slow phases of the machine hit
    all methods alike.
    """
    times = {name: {"fit": [], "predict": [], "one_row": []} for name in METHODS}
    for _ in range(repeats):
        for name, make in METHODS.items():
            method = make(epochs, device)
            times[name]["fit"].append(seconds(lambda m=method: m.fit(X, Y)))
            times[name]["predict"].append(seconds(lambda m=method: m.predict(X)))
            predictor = method.one_row_predictor(X[:1])
            times[name]["one_row"].append(one_row_latency(predictor, n_calls))
    return {
        name: {metric: statistics.median(values) for metric, values in row.items()}
        for name, row in times.items()
    }


def fit_peak_memory(name, n_samples, epochs):
    """Peak RSS growth while fitting, over ``X.nbytes``; run in a fresh process."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, Y = make_data(n_samples)
    method = METHODS[name](epochs, "cpu")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    method.fit(X, Y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (after - before) * 1024 / X.nbytes  # ru_maxrss is in KiB on Linux


def memory_ratios(n_samples, epochs):
    ratios = {}
    for name in METHODS:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            ratios[name] = pool.apply(fit_peak_memory, (name, n_samples, epochs))
    return ratios


def print_table(results, n_rows, memory=None):
    base = results["hand loop"]
    header = (
        f"{'method':<24}{'fit (s)':>9}{'ratio':>8}"
        f"{f'predict {n_rows} (ms)':>22}{'ratio':>8}"
        f"{'1-row (us)':>12}{'ratio':>8}"
    )
    if memory is not None:
        header += f"{'fit peak / X size':>19}"
    print(header)
    for name, row in results.items():
        line = (
            f"{name:<24}{row['fit']:>9.2f}{row['fit'] / base['fit']:>7.2f}x"
            f"{row['predict'] * 1e3:>22.1f}{row['predict'] / base['predict']:>7.2f}x"
            f"{row['one_row'] * 1e6:>12.0f}{row['one_row'] / base['one_row']:>7.2f}x"
        )
        if memory is not None:
            line += f"{memory[name]:>18.2f}x"
        print(line)


# The shapes of --threads: (rows, features, estimator parameters).
WIDE = {"hidden_layer_sizes": (512, 512)}
THREAD_CASES = {
    "default, 100k x 3": (100_000, 3, {}),
    "n_members=1, 100k x 3": (100_000, 3, {"n_members": 1}),
    "default, 20k x 64": (20_000, 64, {}),
    "512-512, n_members=1, batch 100, 20k x 256": (
        20_000,
        256,
        {**WIDE, "n_members": 1, "batch_size": 100},
    ),
    "512-512, n_members=1, 20k x 256": (20_000, 256, {**WIDE, "n_members": 1}),
    "512-512, 20k x 256": (20_000, 256, WIDE),
}
THREAD_EPOCHS = 2


@contextlib.contextmanager
def thread_setting(n_threads, min_parallel_work):
    """Torch on ``n_threads`` threads, skhealth's policy at ``min_parallel_work``
    (0: training keeps torch's threads), for the block."""
    before = torch.get_num_threads(), _net.MIN_PARALLEL_WORK
    torch.set_num_threads(n_threads)
    _net.MIN_PARALLEL_WORK = min_parallel_work
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        _net.MIN_PARALLEL_WORK = before[1]


def thread_settings():
    """The settings of --threads: torch's threads (the baseline), one thread,
    and skhealth's policy: name -> (threads, MIN_PARALLEL_WORK)."""
    n = torch.get_num_threads()
    return {
        f"{n} threads": (n, 0),
        "1 thread": (1, 0),
        "policy": (n, _net.MIN_PARALLEL_WORK),
    }


def fit_and_predict(X, Y, epochs, params):
    """The fitted estimator, its fit and its predict (of ``X``) seconds."""
    estimator = MultiTaskHealthRegressor(max_iter=epochs, random_state=SEED, **params)
    fit = seconds(lambda: estimator.fit(X, Y))
    return estimator, fit, seconds(lambda: estimator.predict(X))


def training_work(estimator):
    """The fitted net's multiply-adds per training batch, and the threads
    skhealth's policy (as shipped) trains it on."""
    net = estimator.net_
    n_parameters = sum(p.numel() for p in net.module_.parameters())
    return (
        n_parameters * net.batch_size,
        _net.training_threads(n_parameters, net.batch_size),
    )


def time_threads(cases, epochs, repeats):
    """Per case: its training work and the policy's threads, and the fit and
    predict seconds of every round under every setting.

    For each case, every round runs the three settings one after the other, in
    an order that turns from round to round, so that slow phases of the
    machine hit all settings alike.
    """
    settings = thread_settings()
    times = {name: {s: {"fit": [], "predict": []} for s in settings} for name in cases}
    work = {}
    for name, (rows, features, params) in cases.items():
        start = time.perf_counter()
        X, Y = make_data(rows, features)
        for round_ in range(repeats):
            order = list(settings)[round_ % 3 :] + list(settings)[: round_ % 3]
            for setting in order:
                with thread_setting(*settings[setting]):
                    estimator, fit, predict = fit_and_predict(X, Y, epochs, params)
                times[name][setting]["fit"].append(fit)
                times[name][setting]["predict"].append(predict)
        work[name] = training_work(estimator)
        took = time.perf_counter() - start
        print(f"{name}: {took:.0f} s (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    return work, times


def print_threads_table(work, times, metric, unit, scale):
    """One table of ``metric`` (fit or predict): the baseline's median, then
    each other setting's median over the baseline's, and the range of the
    rounds' own ratios."""
    baseline, *others = thread_settings()
    header = f"{metric + ' ' + unit:<44}{'work (M)':>9}{'policy':>8}{baseline:>12}"
    print(header + "".join(f"{name:>22}" for name in others))
    for name, row in times.items():
        base = row[baseline][metric]
        line = f"{name:<44}{work[name][0] / 1e6:>9.1f}{work[name][1]:>8}"
        line += f"{statistics.median(base) * scale:>12.2f}"
        for setting in others:
            values = row[setting][metric]
            ratio = statistics.median(values) / statistics.median(base)
            rounds = [v / b for v, b in zip(values, base, strict=True)]
            line += f"{ratio:>8.2f}x [{min(rounds):.2f}-{max(rounds):.2f}]"
        print(line)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of timing")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per fit")
    parser.add_argument("--n-samples", type=int, default=20_000, help="rows of X")
    parser.add_argument(
        "--memory",
        action="store_true",
        help=f"also measure fit peak memory on {MEMORY_SAMPLES:,} rows (slow)",
    )
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the networks train and predict",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="instead of the methods, time skhealth on torch's threads, one "
        "thread and its own choice, on several shapes",
    )
    parser.add_argument(
        "--bfloat16",
        action="store_true",
        help="also time skhealth with precision='bfloat16' (autocast)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny settings for a smoke run"
    )
    args = parser.parse_args()
    if args.device == "cuda" and args.memory:
        parser.error("--memory measures the CPU's memory: use it with --device cpu")
    if args.bfloat16 and (args.memory or args.threads):
        parser.error(
            "--bfloat16 adds a row to the timings: not with --memory/--threads"
        )
    if args.threads and (args.device == "cuda" or args.memory):
        parser.error("--threads times the CPU: use it without --device or --memory")
    return args


def main_threads(args):
    cases, epochs = THREAD_CASES, THREAD_EPOCHS
    if args.quick:
        cases = {
            name: (rows // 50, features, params)
            for name, (rows, features, params) in cases.items()
        }
        args.repeats, epochs = 1, 1
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, "
        f"{os.cpu_count()} CPUs; skhealth fits of {epochs} epoch(s), median of "
        f"{args.repeats} interleaved repeats; work: multiply-adds of a training "
        "batch's forward pass, in millions; policy: the threads training uses "
        f"under it (MIN_PARALLEL_WORK {_net.MIN_PARALLEL_WORK / 1e6:g} M)"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    time_threads({"warm-up": (512, 3, {})}, 1, 3)  # imports, thread pools
    work, times = time_threads(cases, epochs, args.repeats)
    print_threads_table(work, times, "fit", "(s)", 1)
    print_threads_table(work, times, "predict", "(ms)", 1e3)
    print(f"load average after: {os.getloadavg()[0]:.2f} (a busy machine skews it)")


def main():
    args = parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.threads:
        main_threads(args)
        return
    n_calls, memory_samples = 300, MEMORY_SAMPLES
    if args.quick:
        args.repeats, args.epochs, args.n_samples = 1, 2, 2_000
        n_calls, memory_samples = 20, 20_000
    if args.bfloat16:
        METHODS["skhealth, bfloat16"] = lambda *a: Estimator(
            lambda: make_skhealth(*a, precision="bfloat16")
        )
    X, Y = make_data(args.n_samples)
    n_parameters = sum(p.numel() for p in make_module().parameters())
    where = (
        torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"{torch.get_num_threads()} threads (skhealth trains this network on "
        f"{_net.training_threads(n_parameters, BATCH_SIZE)}: see --threads)"
    )
    print(
        f"torch {torch.__version__}, {where}; "
        f"X {X.shape}, {args.epochs} epochs, batch {BATCH_SIZE}, "
        f"median of {args.repeats} interleaved repeats"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    time_methods(X[:512], Y[:512], 1, 1, 5, args.device)  # imports, thread pools
    results = time_methods(X, Y, args.epochs, args.repeats, n_calls, args.device)
    memory = None
    if args.memory:
        print(f"memory: {memory_samples:,} rows, {MEMORY_EPOCHS} epoch, subprocesses")
        memory = memory_ratios(memory_samples, MEMORY_EPOCHS)
    print_table(results, args.n_samples, memory)
    print(f"load average after: {os.getloadavg()[0]:.2f} (a busy machine skews it)")


if __name__ == "__main__":
    main()
