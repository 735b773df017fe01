"""The scikit-learn estimator: :class:`MultiTaskHealthRegressor`."""

import copy
import signal
import threading
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import BatchScoring, Callback, EpochScoring

from ._net import BatchIterator, MultiTaskNet, TaskDataset, use_holdout
from .architectures import (
    ARCHITECTURES,
    Architecture,
    NetworkSpec,
    build_ensemble,
    get_architecture,
)
from .callbacks import PlateauStopping, TaskMetrics
from .losses import LOSSES, MaskedMultiTaskLoss, label_weights
from .metrics import (
    _as_labels,
    _check_target_columns,
    _default_task_names,
    task_scores,
)
from .weighting import WEIGHTINGS, TaskWeighting, get_weighting

__all__ = ["MultiTaskHealthRegressor"]

# With early_stopping="auto", hold out data when there are at least this many
# rows: below it, a validation split of 10 % is too small to stop on reliably.
_AUTO_EARLY_STOPPING_ROWS = 1000


def _layer_sizes(value, name):
    sizes = [value] if isinstance(value, Integral) else list(value)
    if any(not isinstance(s, Integral) or s < 1 for s in sizes):
        raise ValueError(f"{name} must be positive integers; got {value!r}.")
    return tuple(int(s) for s in sizes)


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


def _resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'cpu', 'cuda', "
            "'cuda:N' or 'auto'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; use "
            "device='cpu' or device='auto'."
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ValueError(
            f"device={device!r} but this machine has {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}."
        )
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported; use 'cpu', 'cuda' or 'auto'."
        )
    return resolved


# The largest float32: the network computes in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _too_large(values):
    """``(column, value)``: the first column of the 2-D float array ``values``
    that holds infinity or a number beyond float32's range, and its first such
    value; ``None`` where none does."""
    with np.errstate(invalid="ignore"):
        large = np.abs(values) > _FLOAT32_MAX  # NaN is not
    columns = np.flatnonzero(large.any(axis=0))
    if not columns.size:
        return None
    column = int(columns[0])
    return column, float(values[large[:, column], column][0])


def _too_large_advice(value):
    """What is wrong with ``value``, a feature's value that :func:`_too_large`
    found, and what to do, to follow the value in a message."""
    if np.isinf(value):
        return ": every feature value must be finite."
    return (
        f", beyond the range of float32 (±{_FLOAT32_MAX:.2g}), in which the network "
        "computes: rescale that feature, e.g. divide it by a power of 10."
    )


def _validate_X(estimator, X, **kwargs):
    if sp.issparse(X):
        raise ValueError(
            "Sparse input is not supported: densify it with X.toarray(), or use "
            "OneHotEncoder(sparse_output=False) in a pipeline."
        )
    try:
        return validate_data(estimator, X, **kwargs)
    except ValueError:
        # scikit-learn names neither the feature nor the value
        _check_too_large(X)
        raise


def _check_too_large(X):
    """Raise, naming the feature and the value, where numeric ``X`` holds
    infinity or a number beyond float32's range."""
    try:
        values = check_array(X, dtype=np.float64, ensure_all_finite=False)
    except (ValueError, TypeError):
        return  # not numbers: scikit-learn's error says so
    found = _too_large(values)
    if found is None:
        return
    column, value = found
    name = X.columns[column] if hasattr(X, "columns") else None
    where = f"feature {name!r}" if isinstance(name, str) else f"column {column}"
    raise ValueError(f"Input X contains {value:g} in {where}{_too_large_advice(value)}")


def _check_target_names(y):
    """Raise, naming them, where columns of ``y`` share a name: target names are
    strings, so the columns 1 and "1" do too."""
    names = [str(name) for name in getattr(y, "columns", ())]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"y has several targets named {repeated} (target names are "
            "strings, so 1 and '1' are the same name): give each target "
            "column its own name."
        )


def _check_shared_parameters(net, task_weighting):
    """Weightings that act on shared gradients need shared weights to act on."""
    if not net.criterion__weighting.uses_shared_gradients:
        return
    try:
        shared = net.module_.last_shared_weights()
    except NotImplementedError:
        shared = []
    if not shared:
        architecture = type(net.module__architecture).__name__
        raise ValueError(
            f"task_weighting={task_weighting!r} acts on the gradients of the "
            f"parameters all tasks share, but the {architecture} "
            "network reports no shared weight matrix (shared_parameters()). Give "
            "the network shared hidden layers or use another task_weighting."
        )


@contextmanager
def _torch_seed(seed, device):
    """Seed the generators training draws from, the CPU's and that of the GPU it
    runs on, for the block; restore the caller's states after it.

    Not ``torch.manual_seed``: it would also reseed every other GPU's generator.
    """
    gpus = []
    if device.type == "cuda":
        gpus = [torch.cuda.current_device() if device.index is None else device.index]
    with torch.random.fork_rng(devices=gpus):
        torch.default_generator.manual_seed(seed)
        for index in gpus:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


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


def _whole_epoch(entry):
    """Whether the history ``entry`` is that of an epoch that ran to its end."""
    return {"train_loss", "task_weights"} <= entry.keys()


# Training diverged when the network it leaves predicts its training data this
# many times worse, in squared error, than each target's mean does (an R²
# below -999 there) and than the network it started from.
_DIVERGED_ERROR_RATIO = 1e3


class _TrainingDiverged(ValueError):
    """Training left a network whose predictions mean nothing."""


def _error_ratio(predicted, rows):
    """The squared error of the standardised predictions ``predicted`` of the
    training ``rows`` (``(X, (y, weight))``) over that of predicting the
    targets' mean, 0: 1 - R², whatever the loss trained on."""
    _, (y, weight) = rows
    weight = torch.ones_like(y) if weight is None else weight
    with torch.inference_mode():  # the predictions are inference tensors
        errors = (weight * (predicted - y).double().square()).sum()
        spread = (weight * y.double().square()).sum()
    return float(errors / spread)


# The net's components whose tensors training changes, and the settings that
# continuing to train sets (_apply_training_params, max_epochs).
_TRAINED_COMPONENTS = ("module_", "criterion_", "optimizer_")
_TRAINING_SETTINGS = ("lr", "batch_size", "iterator_train__shuffle", "max_epochs")


def _as_tensor(array, device):
    # torch shares memory with a writeable C-ordered numpy array; a read-only
    # one (e.g. a memmap) is copied rather than exposed to in-place ops.
    array = np.require(array, requirements=["C", "W"])
    return torch.from_numpy(array).to(device)


# Parameters the network (module, criterion, stopping rule, device) is built
# from: training continues on, and a model file describes, the network as built.
_NETWORK_PARAMS = (
    "hidden_layer_sizes",
    "head_layer_sizes",
    "activation",
    "dropout",
    "architecture",
    "n_members",
    "task_weighting",
    "loss",
    "early_stopping",
    "device",
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


class MultiTaskHealthRegressor(RegressorMixin, BaseEstimator):
    """Multi-task neural network regressor: a shared trunk and one head per task.

    One network predicts all targets at once. Its shared layers learn what the
    tasks have in common; each task's head specialises. The network is built
    in PyTorch and trained by a skorch net (``net_``), so skorch callbacks
    (except its scorers: each task's R² is recorded already) and its
    ``history`` work as usual. Parameter names follow
    :class:`sklearn.neural_network.MLPRegressor` wherever the concept is the same.

    Targets are standardised per task inside ``fit`` (and predictions mapped back
    to the original units), so tasks on different scales train together.
    ``NaN`` in ``y`` means "not measured": that entry is left out of the loss and
    the rest of the row is still used. Inputs are not scaled: put a
    :class:`~sklearn.preprocessing.StandardScaler` (or a
    :class:`~sklearn.compose.ColumnTransformer`) before the estimator.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(64, 64)
        Sizes of the shared hidden layers (the trunk).
    head_layer_sizes : int or array-like of int, default=()
        Sizes of each task head's own hidden layers; ``()`` gives linear heads.
    architecture : str or Architecture, default="hard"
        How tasks share parameters: a name from
        :data:`skhealth.architectures.ARCHITECTURES` or an
        :class:`~skhealth.architectures.Architecture` instance.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation after every hidden layer.
    dropout : float in [0, 1), default=0.1
        Dropout probability after every hidden layer.
    n_members : int, default=5
        Number of networks trained side by side, from different random
        initialisations and dropout masks, each on its own loss; the estimator
        predicts their mean (a deep ensemble). Averaging cancels much of the
        variance of a network fitted to noisy health data, at ``n_members``
        times the cost; 1 trains a single network. The members share the
        minibatches and stop together, on the ensemble's validation R². The
        task weightings that act on gradients see the ensemble as one network:
        ``"pcgrad"`` projects the members' gradients together, and
        ``"gradnorm"`` balances the norms of each task's gradient on the
        members' last shared layers, taken together.
    loss : str or list of str, default="squared_error"
        ``"squared_error"``, ``"absolute_error"`` or ``"huber"`` for every task, or
        a list with one per task. Computed on standardised targets;
        Huber's threshold is one standard deviation of the task.
    task_weighting : str, array-like, dict or TaskWeighting, default="equal"
        How the task losses are combined into the objective: a name from
        :data:`skhealth.weighting.WEIGHTINGS` (``"equal"``, ``"uncertainty"``,
        ``"dwa"``, ``"gradnorm"``, ``"pcgrad"``), fixed weights (one per task, or
        a dict or pandas Series keyed by target name where unnamed targets weigh
        1; rescaled to sum to the number of tasks), or a
        :class:`~skhealth.weighting.TaskWeighting` instance.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), applied as
        Adam weight decay: each step adds ``alpha * weight`` to the gradient.
        MLPRegressor divides its penalty by the batch size, so the same value is
        about ``batch_size`` times stronger here; 1e-2 already underfits.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)`` as in MLPRegressor.
        Prediction and validation, which keep no gradients, run in passes of
        ``max(batch_size, 8192)`` rows.
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Reshuffle the training data every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. An int gives bit-identical results on the same machine. PyTorch's
        global random state is left as it was.
    tol : float, default=1e-4
        Minimum improvement of the monitored value (training loss, or validation
        R² with ``early_stopping``) that resets the patience counter.
    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch table, with each task's
        training loss (and validation R² with ``early_stopping``); 2 adds each
        task's training R² (and validation loss).
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the current weights instead
        of starting again. Continued training (this, or ``partial_fit``) uses
        the current values of ``learning_rate_init``, ``alpha``, ``batch_size``,
        ``shuffle``, ``tol`` and ``n_iter_no_change``; the parameters the
        network was built from (its layers, ``activation``, ``dropout``,
        ``architecture``, ``n_members``, ``task_weighting``, ``loss``,
        ``early_stopping``, ``device``) must keep the values they had, or it
        raises a ``ValueError``. ``callbacks`` and ``verbose`` take effect at
        the next fit from scratch; keep ``validation_fraction`` too, or rows
        trained on so far move into the validation split.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the training data, stop when its R²
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore
        the weights of the best epoch. ``"auto"`` does so when the first fit has
        at least 1000 rows of positive weight (as HistGradientBoostingRegressor
        decides on its size); below that a 10 % split is too small to stop on
        reliably. ``partial_fit`` never stops early.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train and predict; ``"auto"`` takes CUDA when available.
        ``"cuda:1"`` and the like select a device. A model trained on a GPU and
        unpickled where CUDA is missing moves to the CPU (with skorch's
        ``DeviceWarning``), and its ``device`` becomes ``"cpu"``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks for the training net (copied at each fit, so the
        objects given here are never modified). skorch's ``EpochScoring`` and
        ``BatchScoring`` are a ``ValueError``: the net trains on standardised
        targets with missing labels masked, which they cannot score.

    Attributes
    ----------
    net_ : skhealth._net.MultiTaskNet
        The skorch net that trained the network (``net_.module_`` is the
        PyTorch module).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, defined only when ``X`` has string column names.
    n_tasks_ : int
        Number of tasks (columns of ``y``).
    target_names_ : ndarray of shape (`n_tasks_`,)
        Column names of ``y`` when it is a DataFrame (or the name of a Series),
        else ``task_0``, ``task_1``, ...
    do_early_stopping_ : bool
        Whether early stopping is used (``early_stopping`` resolved at the first
        fit).
    n_iter_ : int
        Number of epochs trained so far.
    loss_curve_ : list of float
        Training objective per epoch: the task losses (on standardised
        targets) combined by ``task_weighting`` (their mean with equal weights).
    best_loss_ : float or None
        Lowest training objective reached; ``None`` with early stopping.
    validation_scores_ : list of float or None
        Validation R² per epoch with early stopping; else ``None``.
    best_validation_score_ : float or None
        Best validation R² reached by the latest ``fit``, whose weights the
        model keeps; ``None`` without early stopping, and after ``partial_fit``,
        which holds nothing out.
    task_weights_ : ndarray of shape (`n_tasks_`,)
        The task weights at the end of training (see ``task_weighting``).
    history_ : skorch.History
        skorch's training history, one row per epoch: ``train_loss`` (the
        objective), ``task_weights``, and for every target name ``t``
        ``train_loss_t`` and ``train_r2_t``; with ``early_stopping`` also
        ``valid_loss``, ``valid_loss_t``, ``valid_r2_t`` and ``valid_r2``.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : Single-task-head multi-layer perceptron.
    skhealth.metrics.task_scores : Per-task R², MAE and RMSE with missing labels.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skhealth import MultiTaskHealthRegressor
    >>> X, Y = make_regression(n_samples=200, n_features=8, n_targets=3,
    ...                        random_state=0)
    >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
    >>> reg.predict(X[:2]).shape
    (2, 3)
    >>> reg.score(X, Y) > 0.9
    True
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "head_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions(set(ARCHITECTURES)), Architecture],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSSES)), list, tuple],
        "task_weighting": [
            StrOptions(set(WEIGHTINGS)),
            "array-like",
            dict,
            TaskWeighting,
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(64, 64),
        *,
        head_layer_sizes=(),
        architecture="hard",
        activation="relu",
        dropout=0.1,
        n_members=5,
        loss="squared_error",
        task_weighting="equal",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_layer_sizes = head_layer_sizes
        self.architecture = architecture
        self.activation = activation
        self.dropout = dropout
        self.n_members = n_members
        self.loss = loss
        self.task_weighting = task_weighting
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.callbacks = callbacks

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (numeric; sparse matrices are not supported).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; ``NaN`` marks a label that was not measured. Every task
            needs at least one observed value.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in every task's loss.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        ValueError
            For invalid parameters or data, and when training diverges (lower
            ``learning_rate_init`` or scale the inputs): to a network whose
            weights or predictions are not finite, or whose predictions of the
            training data are meaningless: their squared error over 1000 times
            that of predicting each target's mean (an R² below -999) and that of
            the network it started from. With early stopping, a divergence
            after the best epoch only warns: its weights are kept.
        MemoryError
            When the device runs out of memory: the training data stay on it.
        KeyboardInterrupt
            When training is interrupted (Ctrl-C). The estimator is left
            unfitted, or, continuing (``warm_start``), exactly as it was before
            this call.

        Notes
        -----
        A fit that fails leaves the estimator unfitted, except a continued one
        (``warm_start``) that did not diverge and whose network is still finite.
        """
        self._validate_params()
        reset = not (self.warm_start and hasattr(self, "net_"))
        n_epochs = self._train(X, y, sample_weight, epochs=self.max_iter, reset=reset)
        stopper = dict(self.net_.callbacks_)["plateau_stopping"]
        if n_epochs == self.max_iter and stopper.misses_ < stopper.patience:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _check_partial_fit(self):
        # as MLPRegressor's partial_fit is only there for stochastic solvers
        if self.early_stopping is True:
            raise AttributeError(
                "partial_fit does not support early_stopping=True: it trains one "
                "epoch on the data it is given and holds none out. Use fit, or set "
                "early_stopping='auto' or False."
            )
        return True

    @available_if(_check_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch on ``X`` and ``y``.

        The first call initialises the network and the target standardisation
        from its data. Later calls continue training. As in MLPRegressor, no
        data is held out and training never stops early here:
        ``early_stopping="auto"`` means no early stopping for a network built by
        ``partial_fit``, and with ``early_stopping=True`` the method is not
        available (an ``AttributeError``, as MLPRegressor's with its ``lbfgs``
        solver).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        KeyboardInterrupt
            When training is interrupted (Ctrl-C): the estimator is left as it
            was before this call (unfitted before the first call).
        """
        self._validate_params()
        self._train(
            X,
            y,
            sample_weight,
            epochs=1,
            reset=not hasattr(self, "net_"),
            holdout=False,
        )
        return self

    def _train(self, X, y, sample_weight, *, epochs, reset, holdout=None):
        """Validate data, (re)build the net when ``reset`` and train ``epochs``."""
        if reset and hasattr(self, "net_"):
            # Unfitted until the new net is built: a fit failing half-way must
            # not leave the old net beside new target statistics.
            del self.net_
        X, Y, sample_weight = self._validate_training_data(X, y, sample_weight, reset)
        y_1d, Y = Y.ndim == 1, Y.reshape(len(Y), -1)
        # Rows of weight 0 add nothing to any loss or statistic: leave them out
        # (indexing copies, so only when there are some).
        keep = sample_weight > 0
        if not keep.all():
            X, Y, sample_weight = X[keep], Y[keep], sample_weight[keep]
        if reset:
            # partial_fit never holds data out, so never stops early (as in
            # MLPRegressor); "auto" counts the rows of positive weight
            self.do_early_stopping_ = holdout is not False and (
                len(X) >= _AUTO_EARLY_STOPPING_ROWS
                if self.early_stopping == "auto"
                else self.early_stopping
            )
            self._y_1d = y_1d
            self.n_tasks_ = Y.shape[1]
            self.target_names_ = self._target_names(y, self.n_tasks_)
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self._target_scaler = StandardScaler().fit(Y, sample_weight=sample_weight)
            overflow = np.flatnonzero(~np.isfinite(self._target_scaler.scale_))
            if overflow.size:
                t = int(overflow[0])
                raise ValueError(
                    f"y's task {t} ({self.target_names_[t]!r}) has values too large "
                    "to standardise in float64 (its variance overflows): express it "
                    "in larger units, e.g. divide it by a power of 10."
                )
        else:
            self._check_network_params("continuing to train (warm_start, partial_fit)")
            if Y.shape[1] != self.n_tasks_:
                raise ValueError(
                    f"y has {Y.shape[1]} tasks but the estimator was fitted with "
                    f"{self.n_tasks_}; continuing training needs the same tasks."
                )
            _check_target_columns(y, self.target_names_)
        Y = self._target_scaler.transform(Y).astype(np.float32)

        device = _resolve_device(self.device)
        n_before = 0 if reset else len(self.net_.history)
        # continuing, an interrupted training puts the net back as it was
        before = None if reset else self._training_state()
        interrupts = []
        try:
            dataset = self._make_dataset(
                X,
                Y,
                sample_weight,
                device,
                holdout=self.do_early_stopping_ if holdout is None else holdout,
            )
            with _torch_seed(self._seed + n_before, device):
                if reset:
                    net = self._make_net(X.shape[1], len(dataset), device)
                    _check_shared_parameters(net.initialize(), self.task_weighting)
                    self.net_ = net
                    self._built_with = self._network_params()
                else:
                    self._apply_training_params(len(dataset))
                self.net_.max_epochs = epochs
                # the training rows of one evaluation pass, which the
                # divergence check predicts before and after training
                rows = dataset.batch(slice(self.net_._eval_rows()))
                start = _error_ratio(self.net_.evaluation_step((rows[0], None)), rows)
                with _recording_interrupts(interrupts):
                    self.net_.partial_fit(dataset)
            # skorch returns from a KeyboardInterrupt as from a request to stop,
            # which comes at an epoch's end: Ctrl-C, or one that cut an epoch
            # short, is an interrupt
            history = self.net_.history
            if interrupts or len(history) == n_before or not _whole_epoch(history[-1]):
                raise KeyboardInterrupt
            self._check_divergence(n_before, rows, start)
        except KeyboardInterrupt:
            self._abandon_training(before)
            raise
        except Exception as error:
            if interrupts:  # what a callback raised after Ctrl-C stopped training
                self._abandon_training(before)
                raise KeyboardInterrupt from error
            # a half-built net, or one that diverged, is no fitted model
            out_of_memory = isinstance(error, torch.OutOfMemoryError)
            diverged = isinstance(error, _TrainingDiverged)
            if reset or diverged or not (out_of_memory or self._finite_network()):
                self.__dict__.pop("net_", None)
            else:
                # the net kept: its attributes follow its history's whole epochs
                history = self.net_.history
                while len(history) > n_before and not _whole_epoch(history[-1]):
                    history.pop()
                self._record_history(n_before)
            if not out_of_memory:
                raise
            raise MemoryError(
                f"device={self.device!r} ran out of memory training on "
                f"{X.shape[0]} rows of {X.shape[1]} features, which stay on the "
                f"device while training ({str(error).splitlines()[0]}). Use "
                "device='cpu', fewer rows, a smaller batch_size or smaller layers."
            ) from error
        self._record_history(n_before)
        return len(self.net_.history) - n_before

    def _training_state(self):
        """A copy of what training changes in the net (see
        :meth:`_abandon_training`): the tensors of its network, its task
        weighting and its optimizer, its training settings and the length of
        its history. Training never changes earlier epochs of the history, and
        sets the stopping rule afresh."""
        net = self.net_
        return (
            {
                name: copy.deepcopy(getattr(net, name).state_dict())
                for name in _TRAINED_COMPONENTS
            },
            {name: getattr(net, name) for name in _TRAINING_SETTINGS},
            len(net.history),
        )

    def _abandon_training(self, state):
        """Undo an interrupted training: unfitted when it built a new net
        (``state`` is None), else the net as :meth:`_training_state` found it."""
        if state is None:
            self.__dict__.pop("net_", None)
            return
        tensors, settings, n_epochs = state
        net = self.net_
        for name, state_dict in tensors.items():
            getattr(net, name).load_state_dict(state_dict)
        for name, value in settings.items():
            setattr(net, name, value)
        del net.history[n_epochs:]

    def _finite_network(self):
        """Whether the network's weights are all finite."""
        return all(torch.isfinite(p).all() for p in self.net_.module_.parameters())

    def _check_divergence(self, n_before, rows, start):
        """Raise if training diverged to a network whose predictions of the
        training ``rows`` (``(X, (y, weight))``) are not finite, or meaningless:
        their :func:`_error_ratio` over 1000 times that of predicting the
        targets' mean and that of the network it started from (``start``). Warn
        if it diverged but the network kept is sound (early stopping's best).

        Weights of 1e20 are finite, their products may not be: the predictions
        are checked. A network still learning from unscaled inputs improves on
        the one it started from, however poor.
        """
        losses = self.net_.history[n_before:, "train_loss"]
        bad = [(n_before + e, v) for e, v in enumerate(losses, 1) if not np.isfinite(v)]
        where = f" in epoch {bad[0][0]} (training loss {bad[0][1]})" if bad else ""
        advice = "Lower learning_rate_init, or scale the inputs (e.g. StandardScaler)."
        predicted = self.net_.evaluation_step((rows[0], None))
        if not (self._finite_network() and predicted.isfinite().all()):
            raise _TrainingDiverged(
                f"Training diverged{where}: the network's weights or predictions are "
                "not finite. " + advice
            )
        ratio = _error_ratio(predicted, rows)
        if ratio > _DIVERGED_ERROR_RATIO * max(1.0, start):
            raise _TrainingDiverged(
                f"Training diverged{where}: the network's predictions of its "
                f"training data are meaningless, their squared error {ratio:.3g} "
                f"times that of predicting each target's mean (R² {1 - ratio:.3g}) "
                "and over a thousand times that of the network it started from. "
                + advice
            )
        if bad:
            kept = (
                "early stopping kept the weights of its best epoch"
                if self.do_early_stopping_
                else "the network's weights are still finite"
            )
            warnings.warn(
                f"Training diverged{where}; {kept}. " + advice,
                ConvergenceWarning,
                stacklevel=4,
            )

    @staticmethod
    def _target_names(y, n_tasks):
        if hasattr(y, "columns"):
            names = list(y.columns)
        elif getattr(y, "name", None) is not None and n_tasks == 1:
            names = [y.name]
        else:
            names = _default_task_names(n_tasks)
        names = [str(name) for name in names]  # unique: see _check_target_names
        if "best" in names:
            raise ValueError(
                "y has a target named 'best': its history keys would clash with "
                "skorch's train_loss_best and valid_loss_best. Rename it."
            )
        return np.asarray(names, dtype=object)

    def _validate_training_data(self, X, y, sample_weight, reset):
        _check_target_names(y)
        X, Y = _validate_X(
            self,
            X,
            y=_as_labels(y),
            reset=reset,
            validate_separately=(
                {"dtype": np.float32, "order": "C"},
                {
                    "ensure_2d": False,
                    "dtype": np.float64,
                    "order": "C",
                    "ensure_all_finite": "allow-nan",
                },
            ),
        )
        check_consistent_length(X, Y)
        if np.isinf(Y).any():
            raise ValueError(
                "Input y contains infinity; use NaN for a missing label and finite "
                "values otherwise."
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        observed = (
            ~np.isnan(Y.reshape(len(Y), -1)) & (sample_weight[:, None] > 0)
        ).sum(0)
        unlabelled = np.flatnonzero(observed == 0)
        # Building the network needs labels for every task (to standardise it);
        # continuing, a batch may lack some tasks (their loss is 0), not all.
        if unlabelled.size and (reset or unlabelled.size == observed.size):
            t = int(unlabelled[0])
            name = self._target_names(y, observed.size)[t]
            raise ValueError(
                f"Input y contains NaN only for task {t} ({name!r}, column {t} of "
                "y): every label is missing or has zero weight. Drop that column or "
                "provide labels."
            )
        return X, Y, sample_weight

    def _loss_kinds(self, n_tasks):
        kinds = [self.loss] * n_tasks if isinstance(self.loss, str) else list(self.loss)
        if len(kinds) != n_tasks or any(
            not isinstance(k, str) or k not in LOSSES for k in kinds
        ):
            raise ValueError(
                f"loss must be one of {sorted(LOSSES)} or a list of them, one per task "
                f"({n_tasks}); got {self.loss!r}."
            )
        return kinds

    def _make_dataset(self, X, Y, sample_weight, device, holdout):
        def dataset(X, Y, sample_weight, holdout=None):
            X, Y, sample_weight = (_as_tensor(a, device) for a in (X, Y, sample_weight))
            return TaskDataset(X, *label_weights(Y, sample_weight), holdout=holdout)

        if not holdout:
            return dataset(X, Y, sample_weight)
        X, X_val, Y, Y_val, w, w_val = train_test_split(
            X,
            Y,
            sample_weight,
            test_size=self.validation_fraction,
            random_state=self._seed,
        )
        unlabelled = np.flatnonzero(np.isnan(Y).all(axis=0))
        if unlabelled.size:
            t = int(unlabelled[0])
            raise ValueError(
                f"The training set ({len(Y)} rows, after holding out "
                f"validation_fraction={self.validation_fraction}) has no label for "
                f"task {t} ({self.target_names_[t]!r}): all of them were held out. "
                "Lower validation_fraction, provide more labels, or set "
                "early_stopping=False."
            )
        if (np.sum(~np.isnan(Y_val), axis=0) < 2).all():
            raise ValueError(
                f"The validation set ({len(Y_val)} rows, validation_fraction="
                f"{self.validation_fraction}) has fewer than 2 observed labels for "
                "every task. Increase validation_fraction or the size of the data, or "
                "set early_stopping=False."
            )
        return dataset(X, Y, w, holdout=dataset(X_val, Y_val, w_val))

    def _batch_size(self, n_samples):
        return min(200, n_samples) if self.batch_size == "auto" else self.batch_size

    def _network_params(self):
        return {name: copy.deepcopy(getattr(self, name)) for name in _NETWORK_PARAMS}

    def _check_network_params(self, action):
        """Raise if a parameter the network was built from has changed since."""
        for name, built in self._built_with.items():
            now = getattr(self, name)
            if self._configuration(name, now) != self._configuration(name, built):
                raise ValueError(
                    f"{name}={now!r}, but the network was built with {name}="
                    f"{built!r}; {action} needs the network as built. Set {name} "
                    "back, or fit again (warm_start=False) to build a new network."
                )

    def _configuration(self, name, value):
        """What a network parameter's value configures, comparable with ``==``:
        a strategy's name and an instance of its class are the same."""
        if name == "architecture":
            value = get_architecture(value)
        elif name == "task_weighting":
            value = get_weighting(value, self.target_names_)
        return _comparable(value)

    def _apply_training_params(self, n_samples):
        """Continue training with the optimisation parameters as they are now,
        as MLPRegressor's warm_start does."""
        net = self.net_
        net.set_params(lr=self.learning_rate_init)  # every parameter group's
        # set directly: skorch's set_params would look for a component to re-make
        net.batch_size = self._batch_size(n_samples)
        net.iterator_train__shuffle = self.shuffle
        # skorch puts the parameters no pattern of _make_net's
        # optimizer__param_groups matched (the decayed weights) in the last group
        net.optimizer_.param_groups[-1]["weight_decay"] = self.alpha
        stopper = dict(net.callbacks_)["plateau_stopping"]
        stopper.patience, stopper.threshold = self.n_iter_no_change, self.tol

    def _module_params(self, n_features):
        """The arguments of :func:`~skhealth.architectures.build_ensemble` that
        build the network."""
        spec = NetworkSpec(
            n_features=n_features,
            n_tasks=self.n_tasks_,
            hidden_layer_sizes=_layer_sizes(
                self.hidden_layer_sizes, "hidden_layer_sizes"
            ),
            head_layer_sizes=_layer_sizes(self.head_layer_sizes, "head_layer_sizes"),
            activation=self.activation,
            dropout=self.dropout,
            task_names=tuple(self.target_names_),
        )
        return dict(
            architecture=get_architecture(self.architecture),
            spec=spec,
            n_members=self.n_members,
        )

    def _make_net(self, n_features, n_samples, device):
        module_params = self._module_params(n_features)
        batch_size = self._batch_size(n_samples)
        if self.do_early_stopping_:
            monitor = dict(monitor="valid_r2", lower_is_better=False, load_best=True)
        else:
            monitor = dict(monitor="train_loss", lower_is_better=True, load_best=False)
        callbacks = [
            ("task_metrics", TaskMetrics(self.target_names_)),
            (
                "plateau_stopping",
                PlateauStopping(
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    **monitor,
                ),
            ),
            *_user_callbacks(self.callbacks),
        ]
        weighting = get_weighting(self.task_weighting, self.target_names_)
        return MultiTaskNet(
            # the builder rather than a module: skorch would pickle a module
            # given as a parameter as it is, beside module_, which it maps to
            # the CPU on a machine without CUDA
            module=build_ensemble,
            **{f"module__{key}": value for key, value in module_params.items()},
            criterion=MaskedMultiTaskLoss,
            criterion__losses=self._loss_kinds(self.n_tasks_),
            criterion__weighting=weighting,
            optimizer=torch.optim.Adam,
            # one kernel per parameter group instead of a dozen small ops per
            # parameter: on small networks Adam's step is much of the time
            optimizer__fused=True,
            lr=self.learning_rate_init,
            # L2 on the network's weights only, as MLPRegressor's alpha
            optimizer__param_groups=[
                ("*.bias", {"weight_decay": 0.0}),
                ("weighting.*", {"weight_decay": 0.0}),
            ],
            optimizer__weight_decay=self.alpha,
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=self.shuffle,
            train_split=use_holdout,
            callbacks=callbacks,
            # skorch tabulates every epoch even when silent: drop the table then
            **(
                {"callbacks__print_log__keys_ignored": self._untabulated_keys()}
                if self.verbose
                else {"callbacks__print_log": None}
            ),
            verbose=self.verbose,
            device=device.type if device.index is None else str(device),
        )

    def _untabulated_keys(self):
        """History keys left out of the verbose table: at verbose=1, those that
        would double its width, to keep it readable."""
        per_task = ("train_r2", "valid_loss") if self.verbose < 2 else ()
        return ["task_weights"] + [
            f"{key}_{name}" for key in per_task for name in self.target_names_
        ]

    def _record_history(self, n_before):
        history = self.net_.history
        self.n_iter_ = len(history)
        self.task_weights_ = np.asarray(history[-1, "task_weights"])
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        if self.do_early_stopping_:
            self.validation_scores_ = [
                e["valid_r2"] for e in history if "valid_r2" in e
            ]
            # the best epoch of this fit, whose weights were restored (a NaN
            # epoch, diverged or without two labels of any task, is no best)
            self.best_validation_score_ = max(
                (
                    e["valid_r2"]
                    for e in history[n_before:]
                    if np.isfinite(e.get("valid_r2", np.nan))
                ),
                default=None,
            )
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)

    @property
    def history_(self):
        """skorch's :class:`~skorch.history.History` of the training net."""
        check_is_fitted(self)
        return self.net_.history

    # --------------------------------------------------------------- predicting
    def predict(self, X):
        """Predict every task for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, `n_tasks_`)
            Float64 predictions in the units of ``y``; 1-D when ``y`` was 1-D.
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        # X stays on the CPU: the net moves one pass of rows at a time
        Y = self.net_.forward(TaskDataset(_as_tensor(X, "cpu"))).numpy()
        Y = (
            Y.astype(np.float64) * self._target_scaler.scale_
            + self._target_scaler.mean_
        )
        return Y.ravel() if self._y_1d else Y

    def _validate_X_predict(self, X):
        # validate_data's generic path (dataframe detection, dtype and name
        # checks) costs more than the network's forward pass on a few rows:
        # a plain 2-D float array of the fitted width that is all finite is
        # checked here directly; anything else, and any failure, goes through
        # validate_data and its error messages.
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype.kind == "f"
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            X32 = np.ascontiguousarray(X, dtype=np.float32)
            if np.isfinite(X32).all():
                return X32
        return _validate_X(self, X, reset=False, dtype=np.float32, order="C")

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the R² on observed labels.

        Equals scikit-learn's default ``r2_score(y, predict(X))`` (uniform
        average over outputs) when ``y`` has no missing value; entries that are
        ``NaN`` are left out of their task's R².

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return float(self.score_tasks(X, y, sample_weight=sample_weight)["r2"].mean())

    def score_tasks(self, X, y, sample_weight=None):
        """R², MAE, RMSE and the number of observed labels, per task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, `n_tasks_`)
            True targets; ``NaN`` entries are left out of their task's scores.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        scores : pandas.DataFrame
            Indexed by ``target_names_``, columns ``r2``, ``mae``, ``rmse``,
            ``n_observed`` (see :func:`skhealth.metrics.task_scores`).

        Examples
        --------
        >>> from sklearn.datasets import make_regression
        >>> from skhealth import MultiTaskHealthRegressor
        >>> X, Y = make_regression(n_samples=200, n_features=8, n_targets=2,
        ...                        random_state=0)
        >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
        >>> reg.score_tasks(X, Y).columns.tolist()
        ['r2', 'mae', 'rmse', 'n_observed']
        """
        check_is_fitted(self)
        _check_target_names(y)
        _check_target_columns(y, self.target_names_)
        return task_scores(
            _as_labels(y),
            self.predict(X),
            sample_weight=sample_weight,
            target_names=self.target_names_,
        )

    def save(self, path):
        """Write the fitted estimator to a model file that is safe to share.

        The same as ``skhealth.save(self, path)``: a zip archive of data only
        (JSON metadata and safetensors weights), which :func:`skhealth.load`
        reads without unpickling anything. See :func:`skhealth.save` for what
        the format can hold; it also saves a pipeline ending in this estimator.

        Parameters
        ----------
        path : str or path-like
            Where to write the file (``.skh`` by convention); an existing file
            is replaced.

        See Also
        --------
        skhealth.save : Save an estimator or a pipeline ending in one.
        skhealth.load : Read a model file.
        """
        from ._persistence import save  # _persistence imports this module

        save(self, path)

    def __sklearn_is_fitted__(self):
        # check_is_fitted would otherwise scan every attribute's name, at every
        # predict: a noticeable part of a one-row prediction
        return hasattr(self, "net_")

    def __setstate__(self, state):
        super().__setstate__(state)
        net = state.get("net_")
        on_gpu = self.device != "auto" and torch.device(self.device).type == "cuda"
        if net is not None and on_gpu and torch.device(net.device).type == "cpu":
            # skorch mapped a GPU-trained net to the CPU, CUDA being missing: say
            # where it is, so that it can train on and be saved
            self.device = self._built_with["device"] = "cpu"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
