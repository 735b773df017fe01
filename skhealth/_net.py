"""The skorch side: a tensor dataset, a slicing batch iterator and the net.

skorch's default path wraps data in a ``Dataset`` whose ``__getitem__`` returns
one sample, then a ``DataLoader`` collates samples one by one: most of the time
of a small network goes there. Here the data are tensors from the start
(training data on the training device; data to predict on the CPU, moved one
pass at a time), and a batch is a slice (or one gather, when shuffling) of
those tensors. Everything else (the epoch loop, callbacks, history) is skorch's.

Training a small network on the CPU runs on one intra-op thread (see
:func:`training_threads`).
"""

import contextlib
import copy
import math
import threading

import torch
from skorch import NeuralNet


class TaskDataset(torch.utils.data.Dataset):
    """Inputs, standardised targets and per-label weights.

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features)
    y : tensor of shape (n_samples, n_tasks), default=None
        Finite targets (see :func:`skhealth.losses.label_weights`); ``None``
        for prediction.
    weight : tensor of shape (n_samples, n_tasks), default=None
        Per-label weights, 0 for a missing label; ``None`` weighs all labels 1.
    holdout : TaskDataset, default=None
        Validation data scored after every epoch (see :func:`use_holdout`).
    members : tensor of shape (n_members, n_samples), default=None
        For an ensemble trained on cross-fitted folds: 1 where a member reads a
        row (trains on it, or, in a validation set, is scored on it), else 0.
        The batches' label weights then have a leading member axis.
    """

    def __init__(self, X, y=None, weight=None, holdout=None, members=None):
        self.X, self.y, self.weight, self.holdout = X, y, weight, holdout
        self.members = members

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """``(X, (y, weight))`` rows at ``index`` (``(X, None)`` without y).

        ``weight`` is ``(n_rows, n_tasks)``, or ``None`` when every label weighs
        1; with ``members``, ``(n_members, n_rows, n_tasks)``: each member's.
        """
        if self.y is None:
            return self.X[index], None
        weight = None if self.weight is None else self.weight[index]
        if self.members is not None:
            members = self.members[:, index, None]
            weight = members if weight is None else members * weight
        return self.X[index], (self.y[index], weight)


def label_weight(weight):
    """The label weights ``(n_rows, n_tasks)`` of a batch's ``weight``: each
    label's, whichever members read it (see :attr:`TaskDataset.members`)."""
    if weight is None or weight.dim() == 2:
        return weight
    # a label weighs the same for every member that reads it, 0 for the others
    return weight.amax(dim=0)


def use_holdout(dataset, y=None, **fit_params):
    """skorch ``train_split``: train on ``dataset``, validate on its holdout."""
    return dataset, dataset.holdout


class BatchIterator:
    """Minibatches of a :class:`TaskDataset` by slicing whole tensors, or
    those of any dataset with a ``batches(batch_size, shuffle)`` method (a
    stream of partitions: :class:`skhealth._streaming.StreamDataset`).

    Parameters
    ----------
    dataset : TaskDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation (from torch's random state) every epoch.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        if hasattr(self.dataset, "batches"):
            yield from self.dataset.batches(self.batch_size, self.shuffle)
            return
        n = len(self.dataset)
        order = (
            torch.randperm(n, device=self.dataset.X.device) if self.shuffle else None
        )
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            yield self.dataset.batch(
                slice(start, stop) if order is None else order[start:stop]
            )


# Rows per forward pass when predicting or validating (at least a training
# batch). Without gradients the activations of many rows fit in memory, and
# every pass has a fixed cost: on a GPU, launching its kernels costs more than
# running them on a training batch.
_EVAL_ROWS = 8192
# On a GPU, the fixed cost of a pass (launches, copies both ways) outweighs
# its rows' work further: a pass takes up to this many rows.
_GPU_EVAL_ROWS = 65536


# Multiply-adds of the forward pass over one training batch (the batch size
# times the network's parameters) below which training on the CPU uses one
# intra-op thread. Measured on 2 cores (docs/user_guide/performance.rst): on a
# lightly loaded machine two threads took 0.90-1.09 times as long as one up to
# 42 million, and 0.74-0.96 times from 79 million; on a busy one they took up
# to 16 times as long at every size. 0 keeps torch's setting for every network.
MIN_PARALLEL_WORK = 50_000_000


def training_threads(n_parameters, batch_size):
    """The intra-op threads to train a network on the CPU.

    Parameters
    ----------
    n_parameters : int
        The network's parameters: about the multiply-adds of its forward pass
        for one row.
    batch_size : int

    Returns
    -------
    n_threads : int
        1 when ``batch_size * n_parameters`` is below ``MIN_PARALLEL_WORK``:
        a small network's matrix products are too small to share between
        threads, which then wait on each other; else ``torch.get_num_threads()``.
    """
    if batch_size * n_parameters < MIN_PARALLEL_WORK:
        return 1
    return torch.get_num_threads()


_share_lock = threading.Lock()
_running = 0  # blocks of cpu_share running in this process, in all threads
_local = threading.local()  # the block running in this thread, if any


class cpu_share:
    """Run the block on at most ``n_threads`` intra-op threads, and on no
    more than its share of this thread's torch setting: the setting divided
    by the blocks (fits, predictions) running at once in the process.

    Torch's setting (:func:`torch.set_num_threads`) holds for the thread that
    sets it (and becomes the default of threads that have not used torch yet).
    Predictions in the threads of one process, as in a Dask ``LocalCluster(
    processes=False, threads_per_worker=2)`` or joblib's threading backend,
    and the fit beside them (fits there take turns: see
    :func:`skhealth._torch_utils.torch_seed`), would each use every core:
    here they share them. The share is taken again at every epoch
    (:func:`refresh_cpu_share`), as blocks start and end.
    The thread's setting is restored at the end, also when the block raises
    (``KeyboardInterrupt`` too). A block inside another in the same thread
    keeps the outer one's threads.

    Parameters
    ----------
    n_threads : int, default=None
        At most this many threads; ``None`` for the share alone.
    """

    def __init__(self, n_threads=None):
        self.n_threads = n_threads

    def __enter__(self):
        global _running
        self.outer = getattr(_local, "share", None)
        if self.outer is not None:
            return self
        self.restore = torch.get_num_threads()
        with _share_lock:
            _running += 1
        _local.share = self
        self.refresh()
        return self

    def refresh(self):
        """Take this block's share of the threads as the process runs now."""
        threads = max(1, self.restore // _running)
        if self.n_threads is not None:
            threads = min(threads, self.n_threads)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def __exit__(self, *exc_info):
        global _running
        if self.outer is not None:
            return
        _local.share = None
        with _share_lock:
            _running -= 1
        if torch.get_num_threads() != self.restore:
            torch.set_num_threads(self.restore)


def refresh_cpu_share():
    """Take again the share of the :class:`cpu_share` block running in this
    thread (none: nothing to do)."""
    share = getattr(_local, "share", None)
    if share is not None:
        share.refresh()


def _member_mean(each):
    """The mean of the members' predictions ``each``, summed in the order of
    the ensemble's forward: bit for bit, the ensemble's prediction."""
    mean = each[0]
    for member in each[1:]:
        mean = mean + member
    return mean / len(each)


class MultiTaskNet(NeuralNet):
    """A skorch net whose criterion returns one loss per task.

    The criterion (:class:`skhealth.losses.MaskedMultiTaskLoss`) gets the batch's
    label weights; its task weighting turns the per-task losses into the
    objective and runs the backward pass (gradient-based strategies act on the
    module's shared parameters there). The weights in force during each epoch
    are recorded in the history as ``task_weights``. Prediction runs under
    :func:`torch.inference_mode`. Training on the CPU runs on the threads of
    :func:`training_threads`; training and prediction take no more than their
    share of the process's threads (:class:`cpu_share`).
    """

    #: Whether the net trains with differential privacy (see skhealth.privacy)
    private = False
    #: The forward passes' arithmetic (a net pickled before it was a setting)
    precision = "float32"

    def __init__(self, *args, precision="float32", **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision

    def _autocast(self):
        """The forward passes' arithmetic: bfloat16 autocast where asked."""
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.precision == "bfloat16",
        )

    def infer(self, x, **fit_params):
        with self._autocast():
            # the losses and whatever reads the predictions, in float32
            return super().infer(x, **fit_params).float()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # skorch's fit trains through here too
        if not self.initialized_:
            self.initialize()
        n_threads = None
        if torch.device(self.device).type == "cpu":
            n_parameters = sum(p.numel() for p in self.module_.parameters())
            n_threads = training_threads(n_parameters, self.batch_size)
        with cpu_share(n_threads):
            return super().partial_fit(X, y, classes, **fit_params)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        # fits running beside this one may have started or ended
        refresh_cpu_share()

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        X, (y, weight) = batch
        y_pred = self.infer(X, **fit_params)
        task_losses = self.criterion_(y_pred, y, weight)
        loss = self.criterion_.weighting.backward(task_losses, self.module_)
        # skorch hands the step's results to the callbacks' on_batch_end
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses.detach()}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        X, (y, weight) = batch
        with torch.no_grad():
            if weight is not None and weight.dim() == 3:
                # cross-fitted: each row is predicted by the member that
                # validates on it, which never trained on it
                each = self._each_member(X)
                y_pred = (each * (weight > 0)).sum(dim=0)
                weight = label_weight(weight)
            else:
                y_pred = self.infer(X, **fit_params)
            task_losses = self.criterion_(y_pred, y, weight)
            loss = self.criterion_.weighting.objective(task_losses)
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses}

    def evaluation_step(self, batch, training=False):
        if training:
            return super().evaluation_step(batch, training=True)
        # The estimator checked that it is fitted, and X is one tensor: the
        # module is called directly, skipping infer's checks for other inputs.
        with torch.inference_mode():
            self._set_training(False)
            X = batch[0].to(self.device)
            if self.precision != "float32" and hasattr(self.module_, "each_member"):
                # members averaged in float32, as member_moments averages them
                return _member_mean(self._each_member(X))
            with self._autocast():
                return self.module_(X).float()

    def cross_fitted_predictions(self, dataset):
        """Each row of a cross-fitted ``dataset`` (see
        :attr:`TaskDataset.members`) as predicted by the member that validates
        on it, and the variance of the members' predictions of it.

        Returns two float64 arrays of shape ``(n_samples, n_tasks)``.
        """
        validation, parts = dataset.holdout, []
        with torch.inference_mode():
            self._set_training(False)
            for start in range(0, len(validation), self.eval_rows()):
                rows = slice(start, start + self.eval_rows())
                each = self._each_member(validation.X[rows])
                picks = validation.members[:, rows, None]
                parts.append(torch.stack([(each * picks).sum(0), each.var(dim=0)]))
        return tuple(torch.cat(parts, dim=1).double().cpu().numpy())

    def member_moments(self, X):
        """The mean and the variance of the members' predictions of the rows
        of the tensor ``X``, in passes of :meth:`eval_rows` rows.

        Returns two float64 arrays of shape ``(n_samples, n_tasks)``; the
        variance of one network is 0.
        """
        parts = []
        with cpu_share(), torch.inference_mode():
            self._set_training(False)
            for start in range(0, len(X), self.eval_rows()):
                rows = X[start : start + self.eval_rows()].to(self.device)
                if hasattr(self.module_, "each_member"):
                    each = self._each_member(rows)
                    mean = _member_mean(each)
                    # written out: torch's var reduces over a leading axis
                    # twenty times slower on one CPU thread
                    variance = ((each - mean) ** 2).sum(dim=0) / (len(each) - 1)
                    parts.append(torch.stack([mean, variance]))
                else:
                    with self._autocast():
                        mean = self.module_(rows).float()
                    parts.append(torch.stack([mean, torch.zeros_like(mean)]))
        return tuple(torch.cat(parts, dim=1).double().cpu().numpy())

    def _each_member(self, X):
        """Every member's prediction of ``X``, in float32."""
        with self._autocast():
            return self.module_.each_member(X).float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, weight = y_true
        return self.criterion_.weighting.objective(self.criterion_(y_pred, y, weight))

    def forward(self, X, training=False, device="cpu"):
        with cpu_share():
            if training or not isinstance(X, TaskDataset) or len(X) > self.eval_rows():
                return super().forward(X, training=training, device=device)
            # Data that fit in one pass (one person being served, say) go
            # straight to the evaluation step, without the batch loop.
            return self.evaluation_step((X.X, None)).to(device)

    def get_iterator(self, dataset, training=False):
        if training:
            return super().get_iterator(dataset, training=True)
        # Validation and prediction: large batches in order. skorch would
        # gather the iterator's parameters by scanning the net's attributes, at
        # every predict: a noticeable part of a one-row prediction.
        return BatchIterator(dataset, self.eval_rows())

    def eval_rows(self):
        """Rows per forward pass when predicting or validating."""
        on_cpu = torch.device(self.device).type == "cpu"
        return max(self.batch_size, _EVAL_ROWS if on_cpu else _GPU_EVAL_ROWS)

    def _set_training(self, training=True):
        # skorch sets the mode of every submodule at every batch; once the
        # top-level modules are in the requested mode, so is the rest.
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def on_epoch_end(self, net, **kwargs):
        weighting = self.criterion_.weighting
        self.history.record("task_weights", weighting.weights().tolist())
        weighting.end_epoch()

    # Training settings and state of a live net: the one place that reads or
    # changes skorch's components (param groups, callbacks) once built.
    def apply_training_settings(self, settings, n_samples):
        """Continue training with the optimisation ``settings``
        (:class:`~skhealth._training.TrainingSettings`) as they are now, on
        ``n_samples`` rows, as MLPRegressor's ``warm_start`` does."""
        self.set_params(lr=settings.learning_rate_init)  # every group's
        # set directly: skorch's set_params would look for a component to re-make
        self.batch_size = settings.batch_size_for(n_samples)
        self.iterator_train__shuffle = settings.shuffle
        self.precision = settings.precision
        # skorch puts the parameters no pattern of optimizer__param_groups
        # matched (the decayed weights) in the last group
        self.optimizer_.param_groups[-1]["weight_decay"] = settings.alpha
        stopper = dict(self.callbacks_).get("plateau_stopping")
        if stopper is not None:  # a private net has none
            stopper.patience = settings.n_iter_no_change
            stopper.threshold = settings.tol

    def plateaued(self):
        """Whether training stopped because its monitored score stopped
        improving (rather than at ``max_epochs``)."""
        stopper = dict(self.callbacks_).get("plateau_stopping")
        return stopper is not None and stopper.misses_ >= stopper.patience

    def check_shared_parameters(self, task_weighting):
        """Raise if the task weighting acts on the gradients of shared weights
        and the network has none: ``task_weighting`` is the parameter given."""
        if not self.criterion__weighting.uses_shared_gradients:
            return
        try:
            shared = self.module_.last_shared_weights()
        except NotImplementedError:
            shared = []
        if not shared:
            architecture = type(self.module__architecture).__name__
            raise ValueError(
                f"task_weighting={task_weighting!r} acts on the gradients of the "
                f"parameters all tasks share, but the {architecture} network "
                "reports no shared weight matrix (shared_parameters()). Give the "
                "network shared hidden layers or use another task_weighting."
            )

    @contextlib.contextmanager
    def extra_callback(self, name, callback):
        """Train with the skorch ``callback`` (initialised) beside the net's
        own, for the block."""
        entry = (name, callback.initialize())
        self.callbacks_.append(entry)
        try:
            yield
        finally:
            self.callbacks_.remove(entry)

    def record_epochs(self, train_losses):
        """Add to the history one epoch per training loss, trained elsewhere
        (a federated round: skhealth.federated), with the task weights."""
        for loss in train_losses:
            self.history.new_epoch()
            self.history.record("epoch", len(self.history))
            self.history.record("train_loss", float(loss))
            self.history.record(
                "task_weights", self.criterion_.weighting.weights().tolist()
            )
        # this net's optimizer took none of those steps: its state is Adam's
        # before any, as a model file holds it
        optimizer = self.optimizer_
        for group in optimizer.param_groups:
            for p in group["params"]:
                if not optimizer.state.get(p):
                    optimizer.state[p] = {
                        "step": torch.tensor(0.0, device=p.device),
                        "exp_avg": torch.zeros_like(p),
                        "exp_avg_sq": torch.zeros_like(p),
                    }

    def is_finite(self):
        """Whether the network's weights are all finite."""
        return all(torch.isfinite(p).all() for p in self.module_.parameters())

    def whole_epoch(self, index):
        """Whether the history's epoch ``index`` ran to its end."""
        return {"train_loss", "task_weights"} <= self.history[index].keys()

    # The components whose tensors training changes, and the settings that
    # continuing to train sets (apply_training_settings, max_epochs).
    _TRAINED_COMPONENTS = ("module_", "criterion_", "optimizer_")
    _TRAINING_SETTINGS = (
        "lr",
        "batch_size",
        "iterator_train__shuffle",
        "max_epochs",
        "precision",
    )

    def training_state(self):
        """A copy of what training changes (see :meth:`restore_training_state`):
        the tensors of the network, the task weighting and the optimizer, the
        training settings and the length of the history. Training never changes
        earlier epochs of the history, and sets the stopping rule afresh."""
        return (
            {
                name: copy.deepcopy(getattr(self, name).state_dict())
                for name in self._TRAINED_COMPONENTS
            },
            {name: getattr(self, name) for name in self._TRAINING_SETTINGS},
            len(self.history),
        )

    def restore_training_state(self, state):
        """Put the net back as :meth:`training_state` found it."""
        tensors, settings, n_epochs = state
        for name, state_dict in tensors.items():
            getattr(self, name).load_state_dict(state_dict)
        for name, value in settings.items():
            setattr(self, name, value)
        del self.history[n_epochs:]
