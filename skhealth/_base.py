"""The core the multi-task estimators share: training, the linear path,
the learned attributes and the state model files read.

:class:`~skhealth.MultiTaskHealthRegressor` and
:class:`~skhealth.MultiTaskHealthClassifier` differ in their targets (what a
label is, how it is encoded and which loss each task trains on) and in what
they predict from the network's outputs; everything else is here. Training
itself (the network as built, the skorch net, a run's policies) is in
``_training``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
)

from ._blend import fit_linear_path
from ._net import TaskDataset
from ._sklearn import Interval, StrOptions
from ._streaming import (
    Partitions,
    StreamDataset,
    first_pass,
    is_dask_collection,
    standardised_target_sums,
    target_scaler,
)
from ._targets import TargetTransforms
from ._torch_utils import as_tensor, resolve_device
from ._training import (
    NetworkConfig,
    TrainingDiverged,
    TrainingSettings,
    fit_net,
    make_dataset,
    unlabelled_fold,
)
from ._validation import (
    check_binary_labels,
    check_target_columns,
    check_target_names,
    labels_and_weights,
    target_names,
    validate_training_data,
    validate_X,
    warn_far_from_standardised,
)
from .architectures import ARCHITECTURES, Architecture
from .losses import BINARY_LOSSES
from .privacy import (
    CLIP,
    DP,
    PrivateTraining,
    check_private_settings,
    private_target_scaler,
)
from .weighting import WEIGHTINGS, TaskWeighting

# With early_stopping="auto", hold out data when there are at least this many
# rows: below it, a validation split of 10 % is too small to stop on reliably.
_AUTO_EARLY_STOPPING_ROWS = 1000
# With early_stopping="auto" and an ensemble, cross-fit when every member's
# fold has at least this many rows (and the rest of the rows label every task).
_CROSS_FIT_ROWS_PER_MEMBER = 10


class MultiTaskBase(BaseEstimator):
    """What the multi-task estimators share (not for direct use).

    A subclass says what its targets are through three hooks:
    :meth:`_task_losses` (the loss of each task, which makes it binary or
    continuous), :meth:`_encode_targets` (its ``y`` as float labels, ``NaN``
    where missing) and :meth:`_label_weights` (each label's weight in the
    loss); and what it does with held-out predictions
    (:meth:`_calibrate_held_out`).
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
        "early_stopping": [StrOptions({"auto", "cross_fit"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "callbacks": [list, None],
        "dp": [DP, None],
    }

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
        # a private fit runs max_iter epochs by design: its budget is spread
        # over them
        if self.dp is None and n_epochs == self.max_iter and not self.net_.plateaued():
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _check_partial_fit(self):
        # as MLPRegressor's partial_fit is only there for stochastic solvers
        if self.early_stopping is True or self.early_stopping == "cross_fit":
            raise AttributeError(
                "partial_fit does not support "
                f"early_stopping={self.early_stopping!r}: it trains one epoch on "
                "the data it is given and holds none out. Use fit, or set "
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
            Training inputs (numeric; sparse matrices are not supported), with
            the features of the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets, the same tasks at every call; ``NaN`` marks a label that
            was not measured. The first call needs an observed value for every
            task, later calls for at least one.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in every task's loss.

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
        if any(is_dask_collection(v) for v in (X, y, sample_weight)):
            return self._train_stream(X, y, sample_weight, epochs=epochs, reset=reset)
        if reset and hasattr(self, "net_"):
            # Unfitted until the new net is built: a fit failing half-way must
            # not leave the old net beside new target statistics.
            del self.net_
        y = self._encode_targets(y, reset)
        X, Y, sample_weight = validate_training_data(self, X, y, sample_weight, reset)
        y_1d, Y = Y.ndim == 1, Y.reshape(len(Y), -1)
        names = target_names(y, Y.shape[1]) if reset else self.target_names_
        binary = np.isin(self._task_losses(Y.shape[1]), list(BINARY_LOSSES))
        check_binary_labels(Y, binary, sample_weight > 0, names, both_classes=reset)
        # Rows of weight 0 add nothing to any loss or statistic: leave them out
        # (indexing copies, so only when there are some).
        keep = sample_weight > 0
        rows = None  # each row's row of y, for messages
        if not keep.all():
            X, Y, sample_weight = X[keep], Y[keep], sample_weight[keep]
            rows = np.flatnonzero(keep)
        if reset:
            # partial_fit never holds data out, so never stops early (as in
            # MLPRegressor); "auto" counts the rows of positive weight
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self.do_early_stopping_, self.cross_fit_ = self._early_stopping_for(
                Y, holdout
            )
            self._start_targets(names, binary, y_1d)
            self._target_transforms.fit(Y)
            Y = self._target_transforms.transform(Y, rows)
            self._set_target_scaler(
                private_target_scaler(self.dp, names, binary, self._target_transforms)
                if self.dp is not None
                else StandardScaler().fit(Y, sample_weight=sample_weight)
            )
        else:
            self._check_continuing(Y.shape[1], y)
            Y = self._target_transforms.transform(Y, rows)
        Y = self._target_scaler.transform(Y).astype(np.float32)
        if self.dp is not None:  # labels outside dp.target_bounds, to them
            Y[:, ~self._binary_tasks] = np.clip(Y[:, ~self._binary_tasks], -CLIP, CLIP)
        # each label's weight: its row's, times its class's where classes weigh
        sample_weight = self._label_weights(Y, sample_weight, reset)

        device = resolve_device(self.device)
        holds_out = self.do_early_stopping_ if holdout is None else holdout

        def dataset():
            return make_dataset(
                X,
                Y,
                sample_weight,
                device,
                holdout=(
                    self.validation_fraction
                    if holds_out and not self.cross_fit_
                    else None
                ),
                folds=self.n_members if holds_out and self.cross_fit_ else None,
                seed=self._seed,
                task_names=self.target_names_,
            )

        dataset, n_epochs = self._fit_net(
            dataset,
            device,
            epochs=epochs,
            reset=reset,
            memory_hint=f"{X.shape[0]} rows of {X.shape[1]} features, which stay "
            "on the device while training",
        )
        if reset or holds_out:
            self._fit_held_out(dataset, X, Y, sample_weight, holds_out)
        else:
            # trained on without held-out rows: what was learnt of held-out
            # rows no longer describes the network
            self._calibrate_held_out(None)
        return n_epochs

    def _fit_net(self, make_dataset, device, *, epochs, reset, memory_hint):
        """Train on the dataset ``make_dataset()`` builds (a new net when
        ``reset``); record the history. Returns the dataset and the epochs
        trained. On failure, only a continued net still fit to use is kept."""
        n_before = 0 if reset else len(self.net_.history)
        settings = TrainingSettings.from_params(self.get_params(deep=False))
        try:
            dataset = make_dataset()
            config = (
                NetworkConfig.from_params(
                    self.get_params(), vars(self), self._task_losses(self.n_tasks_)
                )
                if reset
                else self._network
            )
            privacy = None
            if self.dp is not None:
                privacy = (
                    PrivateTraining.plan(
                        self.dp,
                        len(dataset),
                        settings.batch_size_for(len(dataset)),
                        self.max_iter,
                    )
                    if reset
                    else self.net_.privacy
                )
            self.net_, n_epochs = fit_net(
                config,
                settings,
                dataset,
                device,
                epochs=epochs,
                seed=self._seed,
                net=None if reset else self.net_,
                privacy=privacy,
            )
            self._network = config
        except Exception as error:
            # a half-built net, or one that diverged, is no fitted model
            out_of_memory = isinstance(error, torch.OutOfMemoryError)
            kept = not (reset or isinstance(error, TrainingDiverged)) and (
                out_of_memory or self.net_.is_finite()
            )
            if kept:  # its attributes follow its history's whole epochs
                self._record_history(n_before)
            else:
                self.__dict__.pop("net_", None)
            if not out_of_memory:
                raise
            raise MemoryError(
                f"device={self.device!r} ran out of memory training on "
                f"{memory_hint} ({str(error).splitlines()[0]}). Use "
                "device='cpu', fewer rows, a smaller batch_size or smaller layers."
            ) from error
        self._record_history(n_before)
        return dataset, n_epochs

    def _check_streaming(self):
        """Raise where a fit on Dask collections cannot do what is asked."""
        if self.early_stopping is True or self.early_stopping == "cross_fit":
            raise ValueError(
                f"early_stopping={self.early_stopping!r} holds rows out in memory, "
                "which a fit on Dask collections does not: set "
                "early_stopping=False (or 'auto'), or hold out a validation set "
                "yourself and score it after fitting."
            )
        if self.dp is not None:
            raise ValueError(
                "dp: differentially private training samples rows from the whole "
                "data at every step, which a fit on Dask collections (streamed "
                "partition by partition) does not: fit in memory for dp."
            )

    def _train_stream(self, X, y, sample_weight, *, epochs, reset):
        """:meth:`_train` on Dask collections, streamed partition by partition
        (see ``skhealth._streaming``): a first pass for the checks and the
        target standardisation, then ``epochs`` passes of training."""
        if not is_dask_collection(X):
            raise ValueError(
                f"y or sample_weight is a Dask collection but X is a "
                f"{type(X).__name__}: give all of them as Dask collections taken "
                "from the same frame, or compute them all."
            )
        self._check_streaming()
        check_target_names(y)
        parts = Partitions(X, y, sample_weight)
        n_tasks = parts.n_tasks
        binary = np.isin(self._task_losses(n_tasks), list(BINARY_LOSSES))
        if reset:
            self.__dict__.pop("net_", None)
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self.do_early_stopping_ = self.cross_fit_ = False
            self._start_targets(target_names(y, n_tasks), binary, parts.y_1d)
            learnt = [
                name
                for name, spec in zip(
                    self.target_names_, self._target_transforms.specs, strict=True
                )
                if not (spec is None or isinstance(spec, str))
            ]
            if learnt:
                raise ValueError(
                    f"target_transform learns from the labels of {learnt}, which a "
                    "fit on Dask collections does not hold in memory: use a named "
                    "transform ('log', 'log1p') or None for those tasks."
                )
            self._target_transforms.fit(np.empty((0, n_tasks)))
        else:
            self._check_continuing(n_tasks, y)
        _check_n_features(self, parts.meta, reset=reset)
        _check_feature_names(self, parts.meta, reset=reset)
        stats = first_pass(parts, binary, self._target_transforms)
        self._check_stream_labels(stats, reset)
        if reset:
            self._set_target_scaler(target_scaler(stats))
            total, mean, m2 = stats["features"]
            warn_far_from_standardised(
                np.arange(len(mean)),
                mean,
                np.sqrt(m2 / np.maximum(total, 1)),
                getattr(self, "feature_names_in_", None),
                stacklevel=5,
            )

        def prepare(X, Y, w):
            keep = w > 0
            if not keep.all():
                X, Y, w = X[keep], Y[keep], w[keep]
            Y = self._target_transforms.transform(Y)
            Y = self._target_scaler.transform(Y).astype(np.float32)
            return X, Y, self._label_weights(Y, w, reset)

        low, high = stats["weights"]
        device = resolve_device(self.device)
        dataset, n_epochs = self._fit_net(
            lambda: StreamDataset(
                parts,
                prepare,
                stats["rows"],
                uniform_weights=low == high,
                weighted=low != high or stats["labels"].sum() < stats["rows"] * n_tasks,
                target_sums=standardised_target_sums(stats, self._target_scaler),
                device=device,
            ),
            device,
            epochs=epochs,
            reset=reset,
            memory_hint=f"{len(parts)} partitions of {stats['rows']} rows",
        )
        if reset:
            self._fit_held_out(dataset, None, None, None, holds_out=False)
        else:
            self._calibrate_held_out(None)
        return n_epochs

    def _check_stream_labels(self, stats, reset):
        """Raise, as an in-memory fit, for tasks without labels (any task at a
        first fit, all of them continuing) or a binary task of one class."""
        labels = stats["labels"]
        unlabelled = np.flatnonzero(labels == 0)
        if unlabelled.size and (reset or unlabelled.size == labels.size):
            t = int(unlabelled[0])
            raise ValueError(
                f"Input y contains NaN only for task {t} "
                f"({self.target_names_[t]!r}): every label is missing or has zero "
                "weight in every partition. Drop that column or provide labels."
            )
        if reset:
            mean = stats["targets"][1]
            for t in np.flatnonzero(self._binary_tasks):
                if not 0 < mean[t] < 1:
                    raise ValueError(
                        f"The binary task {t} ({self.target_names_[t]!r}) has labels "
                        f"of one class only ({round(mean[t])}): it needs both "
                        "0 and 1."
                    )

    def _start_targets(self, names, binary, y_1d):
        """Set what a first fit knows of its targets before seeing labels:
        their names, shape, binary tasks and (unfitted) transforms."""
        self._y_1d = y_1d
        self.n_tasks_ = len(names)
        self.target_names_ = names
        self._binary_tasks = binary
        self._target_transforms = self._make_target_transforms()
        if self.dp is not None:
            check_private_settings(self)

    def _set_target_scaler(self, scaler):
        """Standardise the (transformed) labels with ``scaler``, fitted; the
        binary tasks' labels are learnt as they are, 0 and 1."""
        binary = self._binary_tasks
        scaler.mean_[binary] = 0.0
        scaler.var_[binary] = scaler.scale_[binary] = 1.0
        overflow = np.flatnonzero(~np.isfinite(scaler.scale_))
        if overflow.size:
            t = int(overflow[0])
            raise ValueError(
                f"y's task {t} ({self.target_names_[t]!r}) has values too large "
                "to standardise in float64 (its variance overflows): express it "
                "in larger units, e.g. divide it by a power of 10."
            )
        self._target_scaler = scaler

    def _check_continuing(self, n_tasks, y):
        """Raise unless training can continue on ``y``'s ``n_tasks`` tasks."""
        self._network.check_unchanged(
            self.get_params(deep=False),
            "continuing to train (warm_start, partial_fit)",
        )
        if n_tasks != self.n_tasks_:
            raise ValueError(
                f"y has {n_tasks} tasks but the estimator was fitted with "
                f"{self.n_tasks_}; continuing training needs the same tasks."
            )
        check_target_columns(y, self.target_names_)

    def _fit_held_out(self, dataset, X, Y, sample_weight, holds_out):
        """Set what is learnt on held-out rows: the linear path and each
        task's share of the network in the predictions (chosen on out-of-fold
        predictions when cross-fitted, else none: the network alone), and the
        calibration of the uncertainty (none without held-out rows)."""
        self.linear_coef_ = np.zeros((self.n_features_in_, self.n_tasks_))
        self.linear_intercept_ = np.zeros(self.n_tasks_)
        self.network_share_ = np.ones(self.n_tasks_)
        if not holds_out:
            self._calibrate_held_out(None)
            return
        if self.cross_fit_:
            (
                self.linear_coef_,
                self.linear_intercept_,
                self.network_share_,
                prediction,
                spread,
            ) = fit_linear_path(
                self.net_, dataset, X, Y, sample_weight, self._binary_tasks
            )
            Y, weight = labels_and_weights(Y, sample_weight)
        else:
            holdout = dataset.holdout
            X = holdout.X.cpu().numpy()
            Y = holdout.y.double().cpu().numpy()
            weight = (
                np.ones(Y.shape)
                if holdout.weight is None
                else holdout.weight.double().cpu().numpy()
            )
            prediction, spread = self.net_.member_moments(holdout.X)
        self._calibrate_held_out((X, Y, weight, prediction, spread))

    # ----------------------------------------------------------------- the hooks
    def _task_losses(self, n_tasks):
        """The name of each of the ``n_tasks`` tasks' loss (a key of
        :data:`skhealth.losses.LOSSES`); those of ``BINARY_LOSSES`` make a task
        binary."""
        raise NotImplementedError

    def _encode_targets(self, y, reset):
        """``y`` as float labels (``NaN`` where missing), the names of its
        columns kept; ``reset`` at a first fit, which learns the encoding."""
        return y

    def _label_weights(self, Y, sample_weight, reset):
        """Each label's weight in the loss, ``(n_samples,)`` (its row's) or
        ``(n_samples, n_tasks)``, given the encoded labels ``Y``; ``reset`` at
        a first fit."""
        return sample_weight

    def _make_target_transforms(self):
        """The (unfitted) transforms of the tasks' labels."""
        return TargetTransforms([None] * self.n_tasks_, self.target_names_)

    def _calibrate_held_out(self, held_out):
        """Learn from ``held_out`` = ``(X, Y, weight, prediction, spread)``,
        held-out rows' labels (standardised, finite, weighted) and the
        predictions of them (out of fold when cross-fitted) with the variance
        of the members' share; ``None`` when nothing was held out."""

    def _early_stopping_for(self, Y, holdout):
        """``(do_early_stopping_, cross_fit_)`` for a first fit on the targets
        ``Y``; ``holdout=False`` (partial_fit) holds nothing out."""
        # a private fit holds nothing out (check_private_settings refuses
        # the settings that would)
        if holdout is False or self.early_stopping is False or self.dp is not None:
            return False, False
        if self.early_stopping == "cross_fit":
            if self.n_members < 2:
                raise ValueError(
                    "early_stopping='cross_fit' validates each member of the "
                    "ensemble on its own fold, which needs n_members >= 2; got "
                    f"n_members={self.n_members}. Use early_stopping=True to hold "
                    "out validation_fraction of the rows instead."
                )
            return True, True
        if self.early_stopping == "auto":
            n_samples = len(Y)
            if self.n_members >= 2:
                # and every member's training rows label every task
                cross_fit = (
                    n_samples >= _CROSS_FIT_ROWS_PER_MEMBER * self.n_members
                    and unlabelled_fold(Y, self.n_members, self._seed) is None
                )
                return cross_fit, cross_fit
            return n_samples >= _AUTO_EARLY_STOPPING_ROWS, False
        return True, False

    def _record_history(self, n_before):
        history = self.net_.history
        if self.net_.private:
            privacy = self.net_.privacy
            self.epsilon_ = privacy.epsilon()
            self.delta_ = privacy.dp.target_delta
            self.noise_multiplier_ = privacy.noise_multiplier
            self._privacy_history = [list(step) for step in privacy.history]
            if self.epsilon_ > privacy.dp.target_epsilon:
                warnings.warn(
                    f"Training has spent epsilon={self.epsilon_:.3g}, more than "
                    f"dp.target_epsilon={privacy.dp.target_epsilon:g}: the noise "
                    f"was set for max_iter={self.max_iter} epochs, and continuing "
                    "to train (warm_start, partial_fit) spends more.",
                    UserWarning,
                    stacklevel=4,
                )
        self.n_iter_ = len(history)
        self.task_weights_ = np.asarray(history[-1, "task_weights"])
        # a private model's file leaves its training losses out (see
        # skhealth.privacy): its loaded epochs have none
        self.loss_curve_ = [float(e.get("train_loss", np.nan)) for e in history]
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
            known = [loss for loss in self.loss_curve_ if not np.isnan(loss)]
            self.best_loss_ = min(known, default=None)

    @property
    def history_(self):
        """skorch's :class:`~skorch.history.History` of the training net."""
        check_is_fitted(self)
        return self.net_.history

    def _standardised_prediction(self, X, with_spread=False):
        """The prediction of the validated ``X`` in standardised units, and
        (``with_spread``) the variance of the members' share in it, else
        ``None``."""
        # X stays on the CPU: the net moves one pass of rows at a time
        spread = None
        if with_spread:
            Y, spread = self.net_.member_moments(as_tensor(X, "cpu"))
            spread = spread * self.network_share_**2
        else:
            Y = self.net_.forward(TaskDataset(as_tensor(X, "cpu"))).numpy()
            Y = Y.astype(np.float64)
        share = self.network_share_
        if (share < 1).any():
            linear = X @ self.linear_coef_ + self.linear_intercept_
            Y = share * Y + (1 - share) * linear
        return Y, spread

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
        return validate_X(self, X, reset=False, dtype=np.float32, order="C")

    def save(self, path, *, profile=None):
        """Write the fitted estimator to a model file that is safe to share.

        An alias of ``skhealth.save(self, path, profile=profile)``: a zip
        archive of data only (JSON metadata and safetensors weights), which
        :func:`skhealth.load` reads without unpickling anything. See
        :func:`skhealth.save` for what the format can hold; it also saves a
        pipeline ending in this estimator.

        Parameters
        ----------
        path : str or path-like
            Where to write the file (``.skh`` by convention); an existing file
            is replaced only once the new one is complete.
        profile : array-like, DataProfile, None or False, default=None
            A profile of the training inputs to store for drift reports
            (:func:`skhealth.monitoring.data_profile`: percentiles and
            category shares, no rows); None stores the estimator's
            ``data_profile_`` where it has one, False none.

        See Also
        --------
        skhealth.save : Save an estimator or a pipeline ending in one.
        skhealth.load : Read a model file.
        """
        # imported here: model_files builds estimators, so imports this module
        from .model_files import save

        save(self, path, profile=profile)

    # The pair of hooks through which model files read and restore what fitting
    # learned: the learned attributes (the private ones fitting sets too), the
    # target standardisation and the training net.
    _FITTED_ATTRIBUTES = (
        "n_features_in_",
        "feature_names_in_",
        "n_tasks_",
        "target_names_",
        "_y_1d",
        "_seed",
        "do_early_stopping_",
        "cross_fit_",
        "n_iter_",
        "loss_curve_",
        "best_loss_",
        "validation_scores_",
        "best_validation_score_",
        "task_weights_",
        "linear_coef_",
        "linear_intercept_",
        "network_share_",
        "epsilon_",
        "delta_",
        "noise_multiplier_",
        "_privacy_history",
    )

    def _get_fitted_state(self):
        """What fitting learned, as ``{"attributes": {name: value},
        "target_scaler": StandardScaler, "net": MultiTaskNet, "calibration":
        Calibration or None}`` (no calibration for a model fitted before
        skhealth kept one).

        Raises a ValueError when a parameter the network is built from changed
        since: the parameters would not describe the network."""
        check_is_fitted(self)
        self._network.check_unchanged(self.get_params(deep=False), "saving")
        return {
            "attributes": {
                name: getattr(self, name)
                for name in self._FITTED_ATTRIBUTES
                if hasattr(self, name)
            },
            "target_scaler": self._target_scaler,
            "net": self.net_,
        } | (
            {"calibration": self._calibration} if hasattr(self, "_calibration") else {}
        )

    def _set_fitted_state(self, state):
        """Make this estimator the fitted one ``state`` describes (as
        :meth:`_get_fitted_state` gives it): its net must be the one its
        parameters and attributes configure."""
        attributes = state["attributes"]
        if "network_share_" not in attributes:  # saved before the linear path
            n_features, n_tasks = attributes["n_features_in_"], attributes["n_tasks_"]
            attributes = {
                "cross_fit_": False,
                "linear_coef_": np.zeros((n_features, n_tasks)),
                "linear_intercept_": np.zeros(n_tasks),
                "network_share_": np.ones(n_tasks),
                **attributes,
            }
        for name, value in attributes.items():
            setattr(self, name, value)
        self._target_scaler = state["target_scaler"]
        losses = self._task_losses(self.n_tasks_)
        self._binary_tasks = np.isin(losses, list(BINARY_LOSSES))
        # a model file holds named transforms only, which learn nothing
        self._target_transforms = self._make_target_transforms()
        self.net_ = state["net"]
        self._network = NetworkConfig.from_params(self.get_params(), vars(self), losses)
        if "calibration" in state:
            self._calibration = state["calibration"]
        else:  # fitted before skhealth kept one
            self.__dict__.pop("_calibration", None)

    def __sklearn_is_fitted__(self):
        # check_is_fitted would otherwise scan every attribute's name, at every
        # predict: a noticeable part of a one-row prediction
        return hasattr(self, "net_")

    def __setstate__(self, state):
        # an estimator pickled before precision was a parameter
        state.setdefault("precision", "float32")
        super().__setstate__(state)
        net = state.get("net_")
        on_gpu = self.device != "auto" and torch.device(self.device).type == "cuda"
        if net is not None and on_gpu and torch.device(net.device).type == "cpu":
            # skorch mapped a GPU-trained net to the CPU, CUDA being missing: say
            # where it is, so that it can train on and be saved
            self.device = "cpu"
            self._network = self._network.on_device("cpu")
