"""The scikit-learn regressor: :class:`MultiTaskHealthRegressor`.

It keeps the regressor's surface: its targets (standardised, optionally
transformed, or binary), predict with its uncertainty, the calibration of
that uncertainty, and score. What it shares with the classifier (training,
the linear path, the learned attributes, model files) is in ``_base``.
"""

import warnings

import numpy as np
from scipy.special import expit
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from . import metrics
from ._base import MultiTaskBase
from ._calibration import calibrate, check_confidence, check_groups
from ._sklearn import HasMethods, StrOptions
from ._streaming import is_dask_collection, predict_lazily
from ._targets import TRANSFORMS, TargetTransforms, task_transforms
from ._validation import (
    check_target_columns,
    labels_and_weights,
    loss_kinds,
    validate_training_data,
)
from .losses import LOSSES

__all__ = ["MultiTaskHealthRegressor"]


class MultiTaskHealthRegressor(RegressorMixin, MultiTaskBase):
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
        minibatches and stop together, on the ensemble's validation R² (out of
        fold, with ``early_stopping="cross_fit"``, the default for ensembles). The
        task weightings that act on gradients see the ensemble as one network:
        ``"pcgrad"`` projects the members' gradients together, and
        ``"gradnorm"`` balances the norms of each task's gradient on the
        members' last shared layers, taken together.
    loss : str or list of str, default="squared_error"
        ``"squared_error"``, ``"absolute_error"`` or ``"huber"`` for every task, or
        a list with one per task. Computed on standardised targets;
        Huber's threshold is one standard deviation of the task.
        ``"log_loss"`` makes a task binary, trained beside the continuous
        ones in the same network: its labels are 0 or 1 (``NaN`` unknown),
        not standardised; its column of :meth:`predict` is the probability
        of a 1; ``predict(X, return_std=True)`` gives its Bernoulli std
        ``sqrt(p (1 - p))``, :meth:`predict_interval` ``NaN`` bounds; its R²
        (in ``score``, ``score_tasks`` and the history) is that of its
        probabilities, the Brier skill score; its linear path is a logistic
        regression blended in log-odds. For binary tasks alone, see
        :class:`MultiTaskHealthClassifier`.
    target_transform : None, "log", "log1p", transformer, list or dict, \
            default=None
        A transform of each task's labels, learnt on instead of the labels
        themselves (before standardisation): ``"log"`` (labels above 0; the
        predictions, ``exp`` of the network's, are positive), ``"log1p"``
        (labels above -1), or a scikit-learn transformer, cloned and fitted on
        the task's observed labels (as in
        :class:`~sklearn.compose.TransformedTargetRegressor`, e.g.
        ``PowerTransformer()``). One value applies to every task; a list gives
        one per task (``None`` keeps a task's units), a dict one per target
        name or index (the others keep their units). Skewed, positive lab
        values (bilirubin, triglycerides, HbA1c) often fit better on a log
        scale. Predictions, ``score`` and ``score_tasks`` stay in the units of
        ``y``; the losses and validation R² in ``history_`` are on the
        transformed scale. A model file holds the named transforms, not a
        transformer.
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
        Minibatch size. ``"auto"`` is an eighth of the training rows, between
        32 and 200 (and at most the rows): every epoch takes at least 8 steps
        where the data allow, so that ``n_iter_no_change`` epochs of patience
        are enough steps on small data too; from 1600 rows it is 200, as
        MLPRegressor's ``min(200, n_samples)``. Prediction and validation,
        which keep no gradients, run in passes of ``max(batch_size, 8192)`` rows.
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
    early_stopping : "auto", "cross_fit" or bool, default="auto"
        Stop when a validation R² has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the epoch with
        the best one. ``"cross_fit"`` validates without giving up rows: they
        are dealt at random into ``n_members`` folds, one per member of the
        ensemble; each member trains on the other folds, and the validation R²
        is that of each row predicted by the member that never trained on it.
        Every row trains ``n_members - 1`` members, and the validation set is
        as large as the data, so even a few hundred rows stop reliably. It also
        gives the ensemble its linear path (see ``network_share_``). ``True``
        holds out ``validation_fraction`` of the rows instead, which no member
        trains on (as MLPRegressor does). ``"auto"`` cross-fits an ensemble
        with at least 10 rows per member when each member's training rows
        label every task (``"cross_fit"`` is a ``ValueError`` otherwise),
        holds out for a single network of at least 1000 rows of positive
        weight (as HistGradientBoostingRegressor decides on its size), and
        otherwise does not stop early.
        ``partial_fit`` never stops early.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train and predict; ``"auto"`` takes CUDA when available.
        ``"cuda:1"`` and the like select a device. A model trained on a GPU and
        unpickled where CUDA is missing moves to the CPU (with skorch's
        ``DeviceWarning``), and its ``device`` becomes ``"cpu"``.
    precision : {"float32", "bfloat16"}, default="float32"
        The arithmetic of the network's forward passes. ``"bfloat16"`` runs
        them under :func:`torch.autocast` in bfloat16 (the weights, the
        optimiser, the losses and the predictions returned stay float32): it
        can speed up wide networks on GPUs with bfloat16 units, at the cost
        of some accuracy; on most CPUs it is slower. Not with ``dp``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks for the training net (copied at each fit, so the
        objects given here are never modified). skorch's ``EpochScoring`` and
        ``BatchScoring`` are a ``ValueError``: the net trains on standardised
        targets with missing labels masked, which they cannot score.

    dp : skhealth.privacy.DP, default=None
        Train with differential privacy (DP-SGD, with Opacus; the ``privacy``
        extra): exactly ``max_iter`` epochs of Poisson-sampled batches, each
        row's gradient clipped and the sum noised to spend at most
        ``dp.target_epsilon``. The targets are standardised by
        ``dp.target_bounds`` instead of the labels, nothing is held out
        (``early_stopping`` must be ``False`` or ``"auto"``) and the tasks
        weigh by constants. See :class:`skhealth.privacy.DP`.

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
    cross_fit_ : bool
        Whether each member validates on its own fold (``early_stopping``
        resolved to ``"cross_fit"`` at the first fit).
    network_share_ : ndarray of shape (`n_tasks_`,)
        Each task's share of the network in the prediction, in [0, 1]; the rest
        is the linear path's. The prediction is ``share * network + (1 - share)
        * (X @ linear_coef_ + linear_intercept_)`` in standardised target
        units. With cross-fitting, the share that blends best the out-of-fold
        predictions of the network (corrected for the noise of one member's
        prediction against the ensemble's) and of ridge regressions fitted on
        each member's training rows (``RidgeCV`` by leave-one-out over
        penalties from 1e-2 to 1e4); else 1. Near-linear data lean on the
        ridge regressions, so on a small near-linear table the estimator comes
        within about 0.01 R² of ``RidgeCV``.
        Continued training (``warm_start``, ``partial_fit``) keeps them, except
        a ``fit`` that cross-fits again.
    linear_coef_ : ndarray of shape (`n_features_in_`, `n_tasks_`)
        Coefficients of the linear path (the ridge regressions averaged over
        the members), on standardised targets; zeros without cross-fitting.
    linear_intercept_ : ndarray of shape (`n_tasks_`,)
        Intercepts of the linear path, on standardised targets.
    n_iter_ : int
        Number of epochs trained so far.
    epsilon_ : float
        With ``dp``: the privacy spent so far, the epsilon of Opacus'
        accountant at ``delta_``; at most ``dp.target_epsilon`` after a fit
        (continuing to train spends more).
    delta_ : float
        With ``dp``: the delta of ``epsilon_``, ``dp.target_delta``.
    noise_multiplier_ : float
        With ``dp``: the Gaussian noise's standard deviation over
        ``dp.max_grad_norm``, set at the first fit for ``max_iter`` epochs.
    loss_curve_ : list of float
        Training objective per epoch: the task losses (on standardised
        targets) combined by ``task_weighting`` (their mean with equal weights).
    best_loss_ : float or None
        Lowest training objective reached; ``None`` with early stopping.
    validation_scores_ : list of float or None
        Validation R² per epoch with early stopping; else ``None``.
    best_validation_score_ : float or None
        Best validation R² of the network reached by the latest ``fit``, whose
        weights the model keeps (out of fold when cross-fitted); ``None``
        without early stopping, and after ``partial_fit``, which holds nothing
        out.
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
        **MultiTaskBase._parameter_constraints,
        "loss": [StrOptions(set(LOSSES)), list, tuple],
        "target_transform": [
            None,
            StrOptions(set(TRANSFORMS)),
            list,
            tuple,
            dict,
            HasMethods(["fit", "transform", "inverse_transform"]),
        ],
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
        target_transform=None,
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
        precision="float32",
        callbacks=None,
        dp=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_layer_sizes = head_layer_sizes
        self.architecture = architecture
        self.activation = activation
        self.dropout = dropout
        self.n_members = n_members
        self.loss = loss
        self.target_transform = target_transform
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
        self.precision = precision
        self.callbacks = callbacks
        self.dp = dp

    # --------------------------------------------------------------- predicting
    def _task_losses(self, n_tasks):
        return loss_kinds(self.loss, n_tasks)

    def _make_target_transforms(self):
        specs = task_transforms(self.target_transform, self.target_names_)
        for t in np.flatnonzero(self._binary_tasks):
            if specs[t] is not None:
                raise ValueError(
                    f"target_transform gives the binary task {t} "
                    f"({self.target_names_[t]!r}, loss='log_loss') the transform "
                    f"{specs[t]!r}: its labels are 0/1. Give that task None (a "
                    "list or a dict of transforms for the other tasks)."
                )
        return TargetTransforms(specs, self.target_names_)

    def _calibrate_held_out(self, held_out):
        continuous = ~self._binary_tasks
        if held_out is None or not continuous.any():
            self._calibration = None
            return
        X, *columns = held_out
        self._calibration = calibrate(
            X,
            *(a[:, continuous] for a in columns),
            source="out_of_fold" if self.cross_fit_ else "validation",
            seed=self._seed,
        )

    def predict(self, X, return_std=False):
        """Predict every task for ``X``, and optionally how sure each is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on. A Dask
            DataFrame or Array gives a Dask array, predicted partition by
            partition when computed.
        return_std : bool, default=False
            Also return each prediction's predictive standard deviation (as
            :class:`~sklearn.gaussian_process.GaussianProcessRegressor` does):
            the spread of the ensemble's members plus the outcome noise, whose
            log is linear in the inputs and in every task's prediction and
            its square, fitted on held-out residuals (out of fold with
            cross-fitting) and scaled so that the squared residuals of new
            rows average one variance. With a ``target_transform``, half the width
            of the interval ``prediction ± std`` mapped back to y's units.
            Needs a calibrated model (see :meth:`predict_interval`).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, `n_tasks_`)
            Float64 predictions in the units of ``y``; 1-D when ``y`` was 1-D.
        y_std : ndarray of the shape of ``y_pred``
            Their predictive standard deviations, in the units of ``y``. Only
            with ``return_std=True``.

        Raises
        ------
        ValueError
            With ``return_std=True``, for a model without a calibration.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            if return_std:
                raise ValueError(
                    "return_std=True is not offered for Dask inputs: call predict "
                    "with it on each partition (X.map_partitions)."
                )
            return predict_lazily(self, X)
        continuous = ~self._binary_tasks
        calibration = (
            self._fitted_calibration() if return_std and continuous.any() else None
        )
        X = self._validate_X_predict(X)
        Z, spread = self._standardised_prediction(X, with_spread=return_std)
        Y = self._in_target_units(Z)
        undefined = np.isnan(Y).sum(axis=0)
        if undefined.any():
            t = int(np.flatnonzero(undefined)[0])
            warnings.warn(
                f"{undefined[t]} of the {len(Y)} predictions of task {t} "
                f"({self.target_names_[t]!r}) are NaN: the network's prediction "
                "lies beyond the range of its target_transform's inverse (a "
                "PowerTransformer's is bounded), as for inputs far from the "
                "training data. Use target_transform='log' there, or check those "
                "rows.",
                RuntimeWarning,
                stacklevel=2,
            )
        if not return_std:
            return Y.ravel() if self._y_1d else Y
        # a binary task's outcome, 1 with probability p, has the std
        # sqrt(p (1 - p)); the continuous tasks' are replaced below
        Y_std = np.sqrt(np.where(self._binary_tasks, Y * (1 - Y), 0.0))
        std = np.zeros_like(Z)
        if continuous.any():
            std[:, continuous] = calibration.std(
                X, Z[:, continuous], spread[:, continuous]
            )
        if self._target_transforms.identity:
            Y_std[:, continuous] = (std * self._target_scaler.scale_)[:, continuous]
        else:
            lower, upper = self._interval_in_target_units(Z, std, Y)
            # half the width; one side's distance where the other side's end
            # is beyond the transform's range (infinite)
            distances = np.stack([Y - lower, upper - Y])
            distances[np.isinf(distances)] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # both sides
                half_width = np.nanmean(distances, axis=0)
            half_width[np.isnan(half_width)] = np.inf
            Y_std[:, continuous] = half_width[:, continuous]
        return (Y.ravel(), Y_std.ravel()) if self._y_1d else (Y, Y_std)

    def predict_interval(self, X, confidence=0.9, groups=None):
        """Prediction intervals for every task, calibrated to cover
        ``confidence`` of the labels.

        Split conformal calibration per task on normalised residuals: each
        interval is the prediction ± its predictive std (see :meth:`predict`)
        times a quantile of the calibration rows' residuals in units of their
        std, of rank ``ceil(confidence * (n + 1))`` among a task's ``n``
        labels. The intervals of new people from the population of the
        calibration rows cover ``confidence`` of their labels, per task, and
        their widths follow each person's noise. The calibration rows are
        held out from training: with ``early_stopping="cross_fit"`` (what
        ``"auto"`` chooses for an ensemble of at least 10 rows per member)
        every training row, predicted by the member and ridge regressions that
        never trained on it; with
        ``early_stopping=True`` the validation rows; or the rows given to
        :meth:`calibrate`, which may be grouped (Mondrian calibration). With a
        ``target_transform``, the interval is found on its scale and mapped
        back.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.
        confidence : float in (0, 1), default=0.9
            The share of labels the intervals are to cover.
        groups : array-like of shape (n_samples,), default=None
            Each row's group (str, int or bool labels), needed when and only
            when :meth:`calibrate` was given groups: each row's interval is
            then calibrated on the rows of its group.

        Returns
        -------
        y_interval : ndarray of shape (n_samples, `n_tasks_`, 2)
            Per row and task, the lower and the upper bound, in the units of
            ``y``; ``(n_samples, 2)`` when ``y`` was 1-D.

        Raises
        ------
        ValueError
            For a ``confidence`` outside (0, 1); a model without a calibration
            (fitted without held-out rows, trained on since, or by an skhealth
            that kept none: see :meth:`calibrate`); a task (or group) with too
            few calibration labels for ``confidence`` (``c / (1 - c)``: 9 for
            90 %, 19 for 95 %); ``groups`` that the calibration does not know.

        See Also
        --------
        calibrate : Calibrate on held-out labelled rows, optionally per group.

        Examples
        --------
        >>> from skhealth import MultiTaskHealthRegressor
        >>> from skhealth.datasets import make_health_data
        >>> X, Y = make_health_data(n_samples=300, n_features=5, n_tasks=2,
        ...                         random_state=0)
        >>> reg = MultiTaskHealthRegressor(max_iter=30, random_state=0).fit(X, Y)
        >>> intervals = reg.predict_interval(X[:4], confidence=0.9)
        >>> intervals.shape
        (4, 2, 2)
        >>> bool((intervals[..., 0] < intervals[..., 1]).all())
        True
        """
        confidence = check_confidence(confidence)
        check_is_fitted(self)
        calibration = self._fitted_calibration()
        X = self._validate_X_predict(X)
        if groups is not None:
            groups = check_groups(groups, len(X))
        continuous = ~self._binary_tasks
        quantile = calibration.quantiles(
            confidence, groups, self.target_names_[continuous]
        )
        Z, spread = self._standardised_prediction(X, with_spread=True)
        half_width = np.zeros_like(Z)
        half_width[:, continuous] = quantile * calibration.std(
            X, Z[:, continuous], spread[:, continuous]
        )
        interval = self._interval_in_target_units(
            Z, half_width, self._in_target_units(Z)
        )
        bounds = np.stack(interval, axis=-1)
        bounds[:, self._binary_tasks] = np.nan  # a probability has no interval
        return bounds[:, 0] if self._y_1d else bounds

    def calibrate(self, X, y, sample_weight=None, groups=None):
        """Calibrate the uncertainty on held-out labelled rows.

        Replaces the calibration that fitting made (see
        :meth:`predict_interval`) with split conformal calibration on ``X``
        and ``y``, rows the model never trained on, drawn from the population
        it will predict for. The noise model behind ``return_std`` is fitted
        on their residuals too, cross-fitted so that no row's std saw its own
        residual. With ``groups``, each group gets its own quantiles (Mondrian
        calibration): its intervals then cover ``confidence`` within the
        group, e.g. for each sex.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out inputs with the features the estimator was fitted on.
        y : array-like of shape (n_samples,) or (n_samples, `n_tasks_`)
            Their labels, the tasks the estimator was fitted on; ``NaN`` for a
            label that was not measured.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the quantiles (weighted conformal), relative
            to the others: a new person weighs as much as the mean row, so
            weights do not add labels (5 rows of weight 2 are 5 labels).
        groups : array-like of shape (n_samples,), default=None
            Each row's group: str, int or bool labels (not bools mixed with
            others, which Python takes for 1 and 0).

        Returns
        -------
        self : object
            The estimator, calibrated.
        """
        check_is_fitted(self)
        X, Y, sample_weight = validate_training_data(
            self, X, y, sample_weight, reset=False
        )
        Y = Y.reshape(len(Y), -1)
        if Y.shape[1] != self.n_tasks_:
            raise ValueError(
                f"y has {Y.shape[1]} tasks but the estimator was fitted with "
                f"{self.n_tasks_}; calibrating needs the same tasks."
            )
        check_target_columns(y, self.target_names_)
        if groups is not None:
            groups = check_groups(groups, len(X))
        continuous = ~self._binary_tasks
        if not continuous.any():
            raise ValueError(
                "Every task of this model is binary (loss='log_loss'): its "
                "predictions are probabilities, which calibrate does not "
                "calibrate. It calibrates the continuous tasks' intervals."
            )
        Y = self._target_scaler.transform(self._target_transforms.transform(Y))
        Y, weight = labels_and_weights(Y, sample_weight)
        Z, spread = self._standardised_prediction(X, with_spread=True)
        self._calibration = calibrate(
            X,
            Y[:, continuous],
            weight[:, continuous],
            Z[:, continuous],
            spread[:, continuous],
            source="calibrate",
            groups=groups,
            seed=self._seed,
        )
        return self

    def _fitted_calibration(self):
        calibration = getattr(self, "_calibration", False)
        if calibration is False:
            raise ValueError(
                "This model was fitted by an earlier skhealth, which kept no "
                "calibration of its uncertainty: call calibrate(X, y) with "
                "held-out labelled rows, or fit it again."
            )
        if calibration is None:
            why = (
                "it was trained on since its calibration (partial_fit, or a "
                "warm_start fit without early stopping)"
                if self.do_early_stopping_
                else "it was fitted without held-out rows (no early stopping), or "
                "trained on since calibrate"
            )
            raise ValueError(
                f"The model has no calibration of its uncertainty: {why}. Fit "
                "it with early_stopping='cross_fit' (an ensemble, n_members >= "
                "2, of at least 10 rows per member) or early_stopping=True, or "
                "call calibrate(X, y) with held-out labelled rows."
            )
        return calibration

    def _interval_in_target_units(self, Z, half_width, Y):
        """The interval ``Z ± half_width`` (standardised units) in the units
        of y, ``(lower, upper)``, given the prediction ``Y`` there. A
        decreasing target transform swaps the ends; an end beyond the range of
        a transform's inverse (a PowerTransformer's, say) is that side's end of
        the target's range, infinite."""
        with warnings.catch_warnings():
            # an inverse's warnings of NaN: an end without value, handled here
            warnings.simplefilter("ignore")
            ends = [
                self._in_target_units(Z - half_width),
                self._in_target_units(Z + half_width),
            ]
        lower, upper = np.fmin(*ends), np.fmax(*ends)  # ignoring a NaN end
        missing = np.isnan(ends[0]) | np.isnan(ends[1])
        if missing.any():
            # the end that has a value lies on one side of the prediction:
            # the one without lies on the other
            lower[missing & ~(lower < Y)] = -np.inf
            upper[missing & ~(upper > Y)] = np.inf
        return lower, upper

    def _in_target_units(self, Z):
        """Standardised predictions ``Z`` (2-D) in the units of ``y``: a
        binary task's log-odds as the probability of a 1."""
        Y = Z * self._target_scaler.scale_ + self._target_scaler.mean_
        Y[:, self._binary_tasks] = expit(Z[:, self._binary_tasks])
        return self._target_transforms.inverse_transform(Y)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the R² on observed labels.

        Equals scikit-learn's default ``r2_score(y, predict(X))`` (uniform
        average over outputs) when ``y`` has no missing value; entries that are
        ``NaN`` are left out of their task's R².

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; ``NaN`` entries are left out of their task's R².
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in every task's R².

        Returns
        -------
        score : float
            The mean of the ``r2`` column of :meth:`score_tasks`; a task whose
            R² is undefined (fewer than two observed labels) is left out of the
            mean.
        """
        return float(self.score_tasks(X, y, sample_weight=sample_weight)["r2"].mean())

    def score_tasks(self, X, y, sample_weight=None):
        """R², MAE, RMSE and the number of observed labels, per task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.
        y : array-like of shape (n_samples,) or (n_samples, `n_tasks_`)
            True targets; ``NaN`` entries are left out of their task's scores.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in every task's scores; rows of weight 0 are
            left out, and not counted in ``n_observed``.

        Returns
        -------
        scores : pandas.DataFrame
            Indexed by ``target_names_``, columns ``r2``, ``mae``, ``rmse``,
            ``n_observed`` (see :func:`skhealth.metrics.task_scores`).

        See Also
        --------
        skhealth.score_tasks : The same for a fitted pipeline ending in this
            estimator.

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
        return metrics.score_tasks(self, X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
