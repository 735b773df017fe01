"""skorch callbacks used by :class:`~skhealth.MultiTaskHealthRegressor`.

They are ordinary skorch callbacks: they read the net's batches and write to
its ``history``, so they compose with any callback a user adds.
"""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from tqdm import tqdm

from ._net import label_weight

__all__ = ["PlateauStopping", "TaskMetrics", "TaskPrintLog", "TrainingProgress"]

# The per-task history keys TaskMetrics records, ``<key>_<target>``.
_TASK_KEYS = ("train_loss", "train_r2", "valid_loss", "valid_r2")


def _target_sums(dataset):
    """Per task, in float64: the labels' total weight, weighted sum, weighted sum
    of squares and count (what R² needs of the targets, the same every epoch).
    A dataset streamed from partitions has them from its first pass."""
    if hasattr(dataset, "target_sums"):
        return dataset.target_sums()
    y, weight = dataset.y, dataset.weight
    if weight is None:
        n = torch.full(
            (y.shape[1],), float(len(y)), dtype=torch.float64, device=y.device
        )
        return torch.stack(
            [n, y.sum(0, dtype=n.dtype), y.square().sum(0, dtype=n.dtype), n]
        )
    weighted = weight * y
    return torch.stack(
        [
            weight.sum(0, dtype=torch.float64),
            weighted.sum(0, dtype=torch.float64),
            (weighted * y).sum(0, dtype=torch.float64),
            (weight > 0).sum(0).double(),
        ]
    )


def _epoch_scores(target_sums, weighted_losses, sse):
    """Per-task loss and R² of an epoch, from :func:`_target_sums` and the
    epoch's sums of batch losses times batch weights and of squared errors.

    The loss is ``NaN`` for a task without labels; R² follows
    :func:`sklearn.metrics.r2_score`'s conventions: ``NaN`` under two labels, 1
    or 0 for a constant task.
    """
    total, y_sum, y2_sum, count = target_sums
    total = total.clamp_min(torch.finfo(total.dtype).tiny)
    sst = (y2_sum - y_sum**2 / total).clamp_min(0)
    r2 = torch.where(sst > 0, 1 - sse / sst, (sse == 0).to(sse.dtype))
    losses = torch.where(count > 0, weighted_losses / total, torch.nan)
    return losses, torch.where(count >= 2, r2, torch.nan)


class TaskMetrics(Callback):
    """Record each task's loss and R² per epoch, on training and validation data.

    Uses the predictions and per-task losses the net already computes on every
    batch (no extra forward pass), summed over the epoch as it goes, so that
    memory does not grow with the data: training figures are therefore those
    of the epoch's training-mode predictions (dropout on, weights moving), as
    Keras reports them. For every target name ``t`` the history gets
    ``train_loss_t`` and ``train_r2_t``, and with validation data
    ``valid_loss_t``, ``valid_r2_t`` and ``valid_r2`` (the mean over tasks).
    Losses are the criterion's, on standardised targets and without task
    weights; missing labels are left out. A binary task's R² is that of its
    predicted probabilities of the 0/1 labels: its Brier skill score. For an
    ensemble, the training loss is the mean of its members' losses (each
    member trains on its own), the validation loss that of their mean
    prediction, which is what it predicts; R² is always that of the mean
    prediction.

    It reads the net's data as a :class:`skhealth._net.TaskDataset` and each
    step's per-task losses, as skhealth's net provides them.

    Parameters
    ----------
    target_names : sequence of str
        Names of the tasks, in column order.
    """

    def __init__(self, target_names):
        self.target_names = target_names

    def __getstate__(self):
        # The sums are tensors on the training device, remade at every fit:
        # leaving them out lets a model trained on CUDA unpickle without it
        # (skorch maps only the net's modules and optimizers to the CPU).
        state = self.__dict__.copy()
        state.pop("target_sums_", None)
        state.pop("sums_", None)
        return state

    def on_train_begin(self, net, X=None, **kwargs):
        # X is the net's TaskDataset, its validation split in its holdout
        self.target_sums_ = {True: _target_sums(X)}
        if X.holdout is not None:
            self.target_sums_[False] = _target_sums(X.holdout)

    def on_epoch_begin(self, net, **kwargs):
        self.sums_ = {}

    def on_batch_end(
        self, net, batch=None, training=False, y_pred=None, task_losses=None, **kwargs
    ):
        # Only what depends on the predictions is summed batch by batch: the
        # batch's losses times its label weights, and its squared errors.
        # (the net's steps give detached losses; no_grad covers the predictions)
        y, weight = batch[1]
        weight = label_weight(weight)
        with torch.no_grad():
            if y_pred.dim() == 3:  # an ensemble is scored by its mean prediction
                y_pred = y_pred.mean(dim=0)
            # a binary task's R² is that of its probabilities (Brier skill score)
            y_pred = net.criterion_.inverse_link(y_pred)
            squared = (y - y_pred).square_()
            if weight is None:
                total = len(y)
            else:
                total = weight.sum(dim=0)
                squared.mul_(weight)
            sums = torch.stack([task_losses * total, squared.sum(dim=0)])
        if training in self.sums_:
            self.sums_[training].add_(sums)
        else:
            self.sums_[training] = sums.double()

    def on_epoch_end(self, net, **kwargs):
        for training, prefix in ((True, "train"), (False, "valid")):
            if training not in self.sums_:
                continue
            scores = _epoch_scores(self.target_sums_[training], *self.sums_[training])
            losses, r2 = (v.tolist() for v in scores)
            for name, loss, score in zip(self.target_names, losses, r2, strict=True):
                net.history.record(f"{prefix}_loss_{name}", loss)
                net.history.record(f"{prefix}_r2_{name}", score)
            if not training:
                net.history.record("valid_r2", float(np.nanmean(r2)))
        self.sums_ = {}


class TaskPrintLog(PrintLog):
    """skorch's :class:`~skorch.callbacks.PrintLog`, with each task's columns in
    the order of the targets.

    skorch sorts the table's columns by name, so that ``train_loss_dbp`` would
    come before ``train_loss_sbp`` whatever the order of the targets. This table
    keeps skorch's columns where skorch puts them, and lists the columns of
    :class:`TaskMetrics` (``train_loss_<target>``, ``valid_r2_<target>``, ...)
    of each kind in the order of ``target_names``. It is the table that
    ``MultiTaskHealthRegressor(verbose=1)`` prints.

    Parameters
    ----------
    target_names : sequence of str
        Names of the tasks, in column order.
    keys_ignored : str or list of str, default=None
        History keys not to print, as in :class:`~skorch.callbacks.PrintLog`.
    sink : callable, default=print
        Where the table's lines go.
    tablefmt : str, default="simple"
        The table format of ``tabulate``.
    floatfmt : str, default=".4f"
        The format of numbers.
    stralign : str, default="right"
        The alignment of strings.

    Examples
    --------
    >>> from skhealth.callbacks import TaskPrintLog
    >>> log = TaskPrintLog(["sbp", "dbp"], keys_ignored=["dur"]).initialize()
    >>> print(log.table({"epoch": 1, "train_loss": 0.5, "train_loss_sbp": 0.25,
    ...                  "train_loss_dbp": 0.75, "dur": 0.1}))
      epoch    train_loss    train_loss_sbp    train_loss_dbp
    -------  ------------  ----------------  ----------------
          1        0.5000            0.2500            0.7500
    """

    def __init__(
        self,
        target_names,
        keys_ignored=None,
        sink=print,
        tablefmt="simple",
        floatfmt=".4f",
        stralign="right",
    ):
        super().__init__(
            keys_ignored=keys_ignored,
            sink=sink,
            tablefmt=tablefmt,
            floatfmt=floatfmt,
            stralign=stralign,
        )
        self.target_names = target_names

    def _sorted_keys(self, keys):
        # skorch's private hook for the column order: the per-task columns take
        # the places skorch gives them, filled in target order by kind
        columns = super()._sorted_keys(keys)
        rank = {
            f"{key}_{name}": (key, t)
            for key in _TASK_KEYS
            for t, name in enumerate(self.target_names)
        }
        places = [i for i, column in enumerate(columns) if column in rank]
        in_order = sorted((columns[i] for i in places), key=rank.__getitem__)
        for i, column in zip(places, in_order, strict=True):
            columns[i] = column
        return columns


class PlateauStopping(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping`, skipping unscored epochs.

    Epochs whose history lacks the monitored value (for instance validation
    scores during a ``partial_fit`` that holds nothing out) neither count as a
    miss nor as an improvement. Patience counts epochs without an improvement
    larger than ``threshold``, as in skorch; the best epoch, whose weights
    ``load_best`` restores, is that of the best score, as in MLPRegressor.

    Its parameters are skorch's; each says how the estimator sets it.

    Parameters
    ----------
    monitor : str, default="valid_loss"
        The history key watched. The estimator watches ``"valid_r2"`` when it
        holds data out, else ``"train_loss"``.
    patience : int, default=5
        Number of scored epochs in a row without improvement after which
        training stops (the estimator's ``n_iter_no_change``).
    threshold : float, default=1e-4
        An improvement of ``monitor`` on its best value counts only when
        larger than this (the estimator's ``tol``).
    threshold_mode : {"rel", "abs"}, default="rel"
        Whether ``threshold`` is a fraction of the best value so far, or an
        absolute amount, as the estimator sets it.
    lower_is_better : bool, default=True
        Whether smaller values of ``monitor`` are better (``False`` for the
        estimator's ``"valid_r2"``).
    sink : callable, default=print
        Where the messages on stopping and on restoring the best weights go;
        ``print`` prints them only when the net is verbose.
    load_best : bool, default=False
        Whether to restore the network's weights of the best epoch when
        training ends (the estimator does when it holds data out).
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_score_ = None

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return
        score = net.history[-1, self.monitor]
        # patience counts the epochs without an improvement over threshold...
        if self._is_score_improved(score):
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(score)
        else:
            self.misses_ += 1
        # ...but the best epoch is that of the best score (a NaN never is), as
        # MLPRegressor keeps it: a smaller gain still gives better weights
        best = self.best_score_
        if best is None or (score < best if self.lower_is_better else score > best):
            self.best_score_, self.best_epoch_ = score, net.history[-1, "epoch"]
            if self.load_best:
                self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())
        if self.misses_ >= self.patience:
            self._sink(
                f"Stopping since {self.monitor} has not improved in the last "
                f"{self.patience} epochs.",
                verbose=net.verbose,
            )
            raise KeyboardInterrupt


class TrainingProgress(Callback):
    """A tqdm progress bar over the epochs of a fit.

    The bar counts epochs out of the net's ``max_epochs`` and shows the latest
    values of ``postfix_keys``; a fit that stops early ends with the bar full
    at the epochs it trained. With ``batches=True`` a second bar counts each
    epoch's training batches. Use it as
    ``MultiTaskHealthRegressor(callbacks=[TrainingProgress()])``. (skorch's
    :class:`~skorch.callbacks.ProgressBar` is another bar, over the batches of
    each epoch.)

    Parameters
    ----------
    batches : bool, default=False
        Also show a bar over the training batches of each epoch.
    postfix_keys : tuple of str, default=("train_loss", "valid_r2")
        History keys shown beside the bar, when the epoch recorded them.
    file : file-like object, default=None
        Where the bars are written; ``None`` is ``sys.stderr``. The stream is
        shared, never copied, when the estimator copies its callbacks.
    disable : bool or None, default=None
        tqdm's switch: ``True`` hides the bars, ``False`` always shows them,
        ``None`` shows them only when ``file`` is a terminal.

    Attributes
    ----------
    pbar_ : tqdm.tqdm
        The epoch bar of the latest fit (closed when the fit ends).
    batch_pbar_ : tqdm.tqdm or None
        The batch bar of the latest fit, with ``batches=True``.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import make_regression
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.callbacks import TrainingProgress
    >>> X, Y = make_regression(n_samples=100, n_features=5, n_targets=2,
    ...                        random_state=0)
    >>> log = io.StringIO()
    >>> reg = MultiTaskHealthRegressor(
    ...     max_iter=50, n_iter_no_change=2, tol=0.5, random_state=0,
    ...     callbacks=[TrainingProgress(file=log, disable=False)]).fit(X, Y)
    >>> bar = dict(reg.net_.callbacks_)["TrainingProgress"].pbar_
    >>> bar.n == bar.total == reg.n_iter_
    True
    >>> "train_loss=" in log.getvalue()
    True
    """

    def __init__(
        self,
        batches=False,
        postfix_keys=("train_loss", "valid_r2"),
        file=None,
        disable=None,
    ):
        self.batches = batches
        self.postfix_keys = postfix_keys
        self.file = file
        self.disable = disable

    def initialize(self):
        self.pbar_ = self.batch_pbar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self._close()  # bars left open by a fit that raised
        self.first_epoch_ = len(net.history)
        bar = dict(file=self.file, disable=self.disable)
        self.pbar_ = tqdm(total=net.max_epochs, unit="epoch", desc="epochs", **bar)
        if self.batches:
            self.batch_pbar_ = tqdm(unit="batch", desc="batches", leave=False, **bar)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.batches:
            n_batches = len(net.get_iterator(dataset_train, training=True))
            self.batch_pbar_.reset(total=n_batches)

    def on_batch_end(self, net, training=None, **kwargs):
        if self.batches and training:
            self.batch_pbar_.update()

    def on_epoch_end(self, net, **kwargs):
        self._advance(net)

    def on_train_end(self, net, **kwargs):
        # An early stop ends the fit inside another callback's on_epoch_end,
        # before this one's: catch up on that last epoch here.
        n_epochs = len(net.history) - self.first_epoch_
        if n_epochs:
            self._advance(net)
        self.pbar_.total = n_epochs
        self._close()

    def _advance(self, net):
        entry = net.history[-1]
        postfix = {key: entry[key] for key in self.postfix_keys if key in entry}
        self.pbar_.set_postfix(postfix, refresh=False)
        self.pbar_.update(len(net.history) - self.first_epoch_ - self.pbar_.n)

    def _close(self):
        for bar in (self.batch_pbar_, self.pbar_):
            if bar is not None:
                bar.close()

    def __sklearn_clone__(self):
        # The stream is shared, not copied: sys.stdout or an open file cannot
        # be copied, and the caller reads the output from the stream they gave.
        return type(self)(**self.get_params())

    def __deepcopy__(self, memo):
        # The estimator deep-copies its callbacks at each fit.
        return self.__sklearn_clone__()

    def __getstate__(self):
        # tqdm bars hold a stream and a lock: a pickled net keeps no bar.
        return {**self.__dict__, "pbar_": None, "batch_pbar_": None}
