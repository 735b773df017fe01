"""Training: the network as built, the skorch net that trains it, and a run.

The estimator validates the data and standardises the targets; this module
receives what it needs as arguments (the parameters, a prepared dataset, the
device and the seed) and never imports the estimator:

- :class:`NetworkConfig`, the network as built: what a model file describes,
  and what continuing to train must keep;
- :class:`TrainingSettings`, the optimisation settings, which may change
  between calls;
- :func:`make_dataset`, :func:`make_net` and :func:`fit_net`, a training run with
  its policies: seeding, Ctrl-C, divergence and running out of memory.
"""

import copy
import dataclasses
import signal
import threading
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from skorch.callbacks import BatchScoring, Callback, EpochScoring

from ._net import BatchIterator, MultiTaskNet, TaskDataset, label_weight, use_holdout
from ._torch_utils import as_tensor, torch_seed
from ._validation import layer_sizes
from .architectures import NetworkSpec, build_ensemble, get_architecture
from .callbacks import PlateauStopping, TaskMetrics, TaskPrintLog
from .losses import MaskedMultiTaskLoss, label_weights
from .weighting import get_weighting

# Parameters the network (module, criterion, the targets it learns, stopping
# rule, device, privacy) is built from: training continues on, and a model file
# describes, the network as built.
NETWORK_PARAMS = (
    "hidden_layer_sizes",
    "head_layer_sizes",
    "activation",
    "dropout",
    "architecture",
    "n_members",
    "task_weighting",
    "loss",
    "target_transform",
    "early_stopping",
    "device",
    "dp",
)


def _comparable(value):
    """``value`` with estimators as (class, parameters) and arrays as tuples,
    so that ``==`` compares what they configure."""
    if hasattr(value, "get_params"):
        params = value.get_params(deep=False)
        return type(value), {key: _comparable(item) for key, item in params.items()}
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return tuple(_comparable(item) for item in value)
    return value


@dataclasses.dataclass(frozen=True, eq=False)
class NetworkConfig:
    """The network as built.

    Parameters
    ----------
    params : dict
        The estimator's parameters the network is built from
        (``NETWORK_PARAMS``), copies of the values given; not to be changed.
    n_features : int
    task_names : tuple of str
    holds_out : bool
        Whether training holds data out to stop early on (the estimator's
        ``do_early_stopping_``).
    losses : tuple of str
        Each task's loss, a key of :data:`~skhealth.losses.LOSSES`.
    """

    params: dict
    n_features: int
    task_names: tuple
    holds_out: bool
    losses: tuple

    @classmethod
    def from_params(cls, params, attributes, losses):
        """The configuration of an estimator's ``params`` (``get_params()``),
        learned ``attributes`` (by name) and tasks' ``losses``. A parameter of
        ``NETWORK_PARAMS`` that the estimator does not have (a classifier's
        ``loss``) configures nothing."""
        return cls(
            params={
                name: copy.deepcopy(params[name])
                for name in NETWORK_PARAMS
                if name in params
            },
            n_features=int(attributes["n_features_in_"]),
            task_names=tuple(attributes["target_names_"]),
            holds_out=bool(attributes["do_early_stopping_"]),
            losses=tuple(losses),
        )

    @property
    def n_tasks(self):
        return len(self.task_names)

    @property
    def n_members(self):
        return self.params["n_members"]

    @property
    def n_layers(self):
        """Hidden layers of the trunk and of a head: those the network builds."""
        spec = self.spec()
        return len(spec.hidden_layer_sizes) + len(spec.head_layer_sizes)

    def configures(self, name, value):
        """What ``value`` of the network parameter ``name`` configures,
        comparable with ``==``: a strategy's name and an instance of its class
        are the same."""
        if name == "architecture":
            value = get_architecture(value)
        elif name == "task_weighting":
            value = get_weighting(value, self.task_names)
        return _comparable(value)

    def check_unchanged(self, params, action):
        """Raise a ValueError if ``params`` configure another network: ``action``
        (continuing to train, saving) needs the network as built."""
        for name, built in self.params.items():
            now = params[name]
            if self.configures(name, now) != self.configures(name, built):
                raise ValueError(
                    f"{name}={now!r}, but the network was built with {name}="
                    f"{built!r}; {action} needs the network as built. Set {name} "
                    "back, or fit again (warm_start=False) to build a new network."
                )

    def on_device(self, device):
        """This configuration with the ``device`` parameter set to ``device``."""
        return dataclasses.replace(self, params={**self.params, "device": device})

    def spec(self):
        params = self.params
        return NetworkSpec(
            n_features=self.n_features,
            n_tasks=self.n_tasks,
            hidden_layer_sizes=layer_sizes(
                params["hidden_layer_sizes"], "hidden_layer_sizes"
            ),
            head_layer_sizes=layer_sizes(
                params["head_layer_sizes"], "head_layer_sizes"
            ),
            activation=params["activation"],
            dropout=params["dropout"],
            task_names=self.task_names,
        )

    def build_member(self):
        """One member of the ensemble, as the architecture builds it."""
        return get_architecture(self.params["architecture"]).build(self.spec())

    def module_params(self):
        """The arguments of :func:`~skhealth.architectures.build_ensemble`."""
        return dict(
            architecture=get_architecture(self.params["architecture"]),
            spec=self.spec(),
            n_members=self.n_members,
        )


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """The optimisation settings of a training run, taken from the estimator's
    parameters at every call (as MLPRegressor's ``warm_start`` does)."""

    learning_rate_init: float
    alpha: float
    batch_size: object  # an int or "auto"
    shuffle: bool
    n_iter_no_change: int
    tol: float
    verbose: int
    callbacks: object  # a list of skorch callbacks, or None
    precision: str  # "float32" or "bfloat16"

    @classmethod
    def from_params(cls, params):
        return cls(
            **{field.name: params[field.name] for field in dataclasses.fields(cls)}
        )

    def batch_size_for(self, n_samples):
        """The rows per training batch for ``n_samples`` training rows."""
        if self.batch_size != "auto":
            return self.batch_size
        # at least 8 steps an epoch, so that patience counts enough of them
        return min(200, n_samples, max(32, n_samples // 8))


def _user_callbacks(callbacks):
    """A copy of ``callbacks`` (each fit trains with fresh ones), checked."""
    for item in callbacks or []:
        pair = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
        callback = item[1] if pair else item
        if not isinstance(callback, Callback):
            raise ValueError(
                "callbacks must be skorch Callback instances or (name, Callback) "
                f"pairs; got {item!r}."
            )
        if isinstance(callback, EpochScoring | BatchScoring):
            # the net sees standardised targets with a mask of missing labels,
            # which skorch's scorers cannot read
            raise ValueError(
                f"callbacks: {type(callback).__name__} cannot score this net, whose "
                "targets are standardised and may be missing. Each task's R² is "
                "in history_ already (train_r2_<task>, valid_r2_<task>, and "
                "valid_r2 with early_stopping); score other metrics on held-out "
                "data with score_tasks."
            )
    return copy.deepcopy(callbacks or [])


def make_net(config, settings, n_samples, device, privacy=None):
    """The skorch net (uninitialised) for the network ``config`` describes,
    trained with ``settings`` on ``n_samples`` rows on ``device``; privately
    with ``privacy`` (a :class:`~skhealth.privacy.PrivateTraining`)."""
    if config.holds_out:
        monitor = dict(monitor="valid_r2", lower_is_better=False, load_best=True)
    else:
        monitor = dict(monitor="train_loss", lower_is_better=True, load_best=False)
    stopping = [
        (
            "plateau_stopping",
            PlateauStopping(
                patience=settings.n_iter_no_change,
                threshold=settings.tol,
                threshold_mode="abs",
                **monitor,
            ),
        )
    ]
    callbacks = [
        ("task_metrics", TaskMetrics(config.task_names)),
        # stopping on the private rows' loss would read them unaccounted
        *(stopping if privacy is None else []),
        *_user_callbacks(settings.callbacks),
    ]
    # verbose=1 leaves out the columns that would double the table's width
    per_task = ("train_r2", "valid_loss") if settings.verbose < 2 else ()
    untabulated = ["task_weights"] + [
        f"{key}_{name}" for key in per_task for name in config.task_names
    ]
    net_class, private = MultiTaskNet, {}
    if privacy is not None:
        # imported here: privacy imports the net, and Opacus only when used
        from .privacy import PrivateMultiTaskNet

        net_class, private = PrivateMultiTaskNet, {"privacy": privacy}
    return net_class(
        **private,
        # the builder rather than a module: skorch would pickle a module
        # given as a parameter as it is, beside module_, which it maps to
        # the CPU on a machine without CUDA
        module=build_ensemble,
        **{f"module__{key}": value for key, value in config.module_params().items()},
        criterion=MaskedMultiTaskLoss,
        criterion__losses=config.losses,
        criterion__weighting=get_weighting(
            config.params["task_weighting"], config.task_names
        ),
        optimizer=torch.optim.Adam,
        # one kernel per parameter group instead of a dozen small ops per
        # parameter: on small networks Adam's step is much of the time
        optimizer__fused=True,
        lr=settings.learning_rate_init,
        # L2 on the network's weights only, as MLPRegressor's alpha
        optimizer__param_groups=[
            ("*.bias", {"weight_decay": 0.0}),
            ("weighting.*", {"weight_decay": 0.0}),
        ],
        optimizer__weight_decay=settings.alpha,
        batch_size=settings.batch_size_for(n_samples),
        iterator_train=BatchIterator,
        iterator_train__shuffle=settings.shuffle,
        precision=settings.precision,
        train_split=use_holdout,
        callbacks=callbacks,
        # skorch tabulates every epoch even when silent: drop the table then;
        # its columns come in target order, not skorch's alphabetical one
        callbacks__print_log=(
            TaskPrintLog(config.task_names, keys_ignored=untabulated)
            if settings.verbose
            else None
        ),
        verbose=settings.verbose,
        device=device.type if device.index is None else str(device),
    )


def make_dataset(
    X, Y, sample_weight, device, *, holdout=None, folds=None, seed, task_names
):
    """The training :class:`~skhealth._net.TaskDataset` on ``device``.

    With ``holdout``, a share of the rows (drawn with ``seed``) is held out as
    the validation set. With ``folds``, the number of members of an ensemble,
    the rows are dealt (at random, with ``seed``) into one fold per member:
    each member trains on the other folds and is scored on its own, so every
    row trains some members and validates one. With neither, nothing is held
    out.
    """

    def dataset(X, Y, sample_weight, holdout=None):
        X, Y, sample_weight = (as_tensor(a, device) for a in (X, Y, sample_weight))
        return TaskDataset(X, *label_weights(Y, sample_weight), holdout=holdout)

    if folds is not None:
        return _cross_fitted(dataset(X, Y, sample_weight), Y, folds, seed, task_names)
    if holdout is None:
        return dataset(X, Y, sample_weight)
    X, X_val, Y, Y_val, w, w_val = train_test_split(
        X, Y, sample_weight, test_size=holdout, random_state=seed
    )
    unlabelled = np.flatnonzero(np.isnan(Y).all(axis=0))
    if unlabelled.size:
        t = int(unlabelled[0])
        raise ValueError(
            f"The training set ({len(Y)} rows, after holding out "
            f"validation_fraction={holdout}) has no label for task {t} "
            f"({task_names[t]!r}): all of them were held out. Lower "
            "validation_fraction, provide more labels, or set early_stopping=False."
        )
    if (np.sum(~np.isnan(Y_val), axis=0) < 2).all():
        raise ValueError(
            f"The validation set ({len(Y_val)} rows, validation_fraction="
            f"{holdout}) has fewer than 2 observed labels for every task. Increase "
            "validation_fraction or the size of the data, or set "
            "early_stopping=False."
        )
    return dataset(X, Y, w, holdout=dataset(X_val, Y_val, w_val))


def _folds(n_rows, n_folds, seed):
    """Each row's fold: the rows dealt at random into ``n_folds`` folds whose
    sizes differ by at most 1."""
    return np.random.default_rng(seed).permutation(n_rows) % n_folds


def unlabelled_fold(Y, n_folds, seed):
    """``(fold, task)`` of the first fold outside which ``Y`` (``NaN`` where
    missing) has no label of a task, with the folds that ``seed`` deals;
    ``None`` when every fold's complement labels every task."""
    return _unlabelled(Y, _folds(len(Y), n_folds, seed), n_folds)


def _unlabelled(Y, fold, n_folds):
    observed = ~np.isnan(Y)
    for m in range(n_folds):
        unlabelled = np.flatnonzero(~observed[fold != m].any(axis=0))
        if unlabelled.size:
            return m, int(unlabelled[0])
    return None


def _cross_fitted(dataset, Y, n_folds, seed, task_names):
    """``dataset`` (of the targets ``Y``) with its rows dealt into ``n_folds``
    folds, one per member: member ``m`` trains on the rows outside fold ``m``
    and validates on fold ``m``, in a validation set sharing the tensors."""
    fold = _folds(len(Y), n_folds, seed)
    unlabelled = _unlabelled(Y, fold, n_folds)
    if unlabelled is not None:
        m, t = unlabelled
        raise ValueError(
            f"Cross-fitted early stopping deals the {len(Y)} rows into "
            f"{n_folds} folds, one per member, and member {m} trains on the "
            f"rows outside its fold: they have no label for task {t} "
            f"({task_names[t]!r}). Provide more labels, or set "
            "early_stopping=False."
        )
    member = np.arange(n_folds)[:, None]
    validates = torch.as_tensor(fold == member, device=dataset.X.device)
    dtype = dataset.X.dtype
    dataset.holdout = TaskDataset(
        dataset.X, dataset.y, dataset.weight, members=validates.to(dtype)
    )
    dataset.members = (~validates).to(dtype)
    return dataset


# ------------------------------------------------------------- the run
class TrainingDiverged(ValueError):
    """Training left a network whose predictions mean nothing."""


# Training diverged when the network it leaves predicts its training data this
# many times worse, in squared error, than each target's mean does (an R²
# below -999 there) and than the network it started from.
_DIVERGED_ERROR_RATIO = 1e3

_ADVICE = "Lower learning_rate_init, or scale the inputs (e.g. StandardScaler)."


def _error_ratio(net, predicted, rows):
    """The squared error of ``net``'s standardised predictions of the training
    ``rows`` (``(X, (y, weight))``), its outputs ``predicted`` (probabilities
    for a binary task), over that of predicting the targets' mean, 0: 1 - R²,
    whatever the loss trained on."""
    _, (y, weight) = rows
    weight = torch.ones_like(y) if weight is None else label_weight(weight)
    with torch.inference_mode():  # the predictions are inference tensors
        predicted = net.criterion_.inverse_link(predicted)
        errors = (weight * (predicted - y).double().square()).sum()
        spread = (weight * y.double().square()).sum()
    return float(errors / spread)


@contextmanager
def _recording_interrupts(interrupts):
    """Append to the list ``interrupts`` the signal of a Ctrl-C (SIGINT) that
    comes during the block.

    skorch takes a ``KeyboardInterrupt`` during training for a request to stop
    (its early stopping raises one) and returns as if training had ended: the
    list tells a Ctrl-C apart. The handler in place still decides: only when it
    raises ``KeyboardInterrupt`` (Python's default) is the signal recorded.
    Signals reach the main thread only, so elsewhere nothing is recorded.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield
        return

    def record(signum, frame):
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            interrupts.append(signum)
            raise

    signal.signal(signal.SIGINT, record)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def fit_net(config, settings, dataset, device, *, epochs, seed, net=None, privacy=None):
    """Train a new net for the network ``config`` describes, or continue
    training ``net``, ``epochs`` epochs on ``dataset`` with ``settings``;
    check what it left.

    Its random numbers (the initial weights, shuffling, dropout) come from
    ``seed`` plus the epochs ``net`` trained before. A new net trains
    privately with ``privacy`` (a :class:`~skhealth.privacy.PrivateTraining`).

    Returns
    -------
    net : MultiTaskNet
        The net trained: ``net`` itself when given.
    n_epochs : int
        The epochs trained; fewer than ``epochs`` when it stopped early.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C; a ``net`` given is put back as it was before the call.
    TrainingDiverged
        When the network's weights or predictions are not finite, or its
        predictions are meaningless (see ``_DIVERGED_ERROR_RATIO``).

    On any other error (the device out of memory, say) the history of a
    ``net`` given is left with its whole epochs only.
    """
    n_before = 0 if net is None else len(net.history)
    # continuing, an interrupted training puts the net back as it was
    before = None if net is None else net.training_state()
    interrupts = []
    try:
        with torch_seed(seed + n_before, device):
            if net is None:
                net = make_net(
                    config, settings, len(dataset), device, privacy
                ).initialize()
                net.check_shared_parameters(config.params["task_weighting"])
            else:
                net.apply_training_settings(settings, len(dataset))
            net.max_epochs = epochs
            # the training rows of one evaluation pass, which the divergence
            # check predicts before and after training
            rows = dataset.batch(slice(net.eval_rows()))
            start = (
                None
                if net.private
                else _error_ratio(net, net.evaluation_step((rows[0], None)), rows)
            )
            with _recording_interrupts(interrupts):
                net.partial_fit(dataset)
        # skorch returns from a KeyboardInterrupt as from a request to stop,
        # which comes at an epoch's end: Ctrl-C, or one that cut an epoch
        # short, is an interrupt
        history = net.history
        if interrupts or len(history) == n_before or not net.whole_epoch(-1):
            raise KeyboardInterrupt
        _check_divergence(net, n_before, rows, start, dataset.holdout is not None)
    except KeyboardInterrupt:
        if before is not None:
            net.restore_training_state(before)
        raise
    except Exception as error:
        if interrupts:  # what a callback raised after Ctrl-C stopped training
            if before is not None:
                net.restore_training_state(before)
            raise KeyboardInterrupt from error
        if before is not None:
            while len(net.history) > n_before and not net.whole_epoch(-1):
                net.history.pop()
        raise
    return net, len(net.history) - n_before


def _check_divergence(net, n_before, rows, start, holds_out):
    """Raise if training diverged to a network whose predictions of the
    training ``rows`` (``(X, (y, weight))``) are not finite, or meaningless:
    their :func:`_error_ratio` over 1000 times that of predicting the targets'
    mean and that of the network it started from (``start``). Warn if it
    diverged but the network kept is sound (early stopping's best).

    Weights of 1e20 are finite, their products may not be: the predictions
    are checked. A network still learning from unscaled inputs improves on the
    one it started from, however poor.

    A private net is checked by its weights alone: whether a model is kept
    must not depend on the private rows outside the privacy accounting.
    """
    losses = net.history[n_before:, "train_loss"]
    bad = [(n_before + e, v) for e, v in enumerate(losses, 1) if not np.isfinite(v)]
    where = f" in epoch {bad[0][0]} (training loss {bad[0][1]})" if bad else ""
    if net.private:
        if not net.is_finite():
            raise TrainingDiverged(
                "Training diverged: the network's weights are not finite. "
                "Lower learning_rate_init or dp.max_grad_norm, or scale the inputs."
            )
        return
    predicted = net.evaluation_step((rows[0], None))
    if not (net.is_finite() and predicted.isfinite().all()):
        raise TrainingDiverged(
            f"Training diverged{where}: the network's weights or predictions are "
            "not finite. " + _ADVICE
        )
    ratio = _error_ratio(net, predicted, rows)
    if ratio > _DIVERGED_ERROR_RATIO * max(1.0, start):
        raise TrainingDiverged(
            f"Training diverged{where}: the network's predictions of its "
            f"training data are meaningless, their squared error {ratio:.3g} "
            f"times that of predicting each target's mean (R² {1 - ratio:.3g}) "
            "and over a thousand times that of the network it started from. " + _ADVICE
        )
    if bad:
        kept = (
            "early stopping kept the weights of its best epoch"
            if holds_out
            else "the network's weights are still finite"
        )
        warnings.warn(
            f"Training diverged{where}; {kept}. " + _ADVICE,
            ConvergenceWarning,
            stacklevel=5,
        )
