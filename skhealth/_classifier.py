"""The scikit-learn classifier: :class:`MultiTaskHealthClassifier`.

It keeps the classifier's surface: each task's classes and their encoding as
0/1, class weights, predict, predict_proba and the per-task scores. Training,
the linear path and model files are the regressor's, in ``_base``.
"""

from numbers import Real

import numpy as np
import pandas as pd
from scipy.special import log_expit
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from . import metrics
from ._base import MultiTaskBase
from ._sklearn import StrOptions
from ._validation import target_names

__all__ = ["MultiTaskHealthClassifier"]


class MultiTaskHealthClassifier(ClassifierMixin, MultiTaskBase):
    """Multi-task neural network classifier: binary outcomes, one head per task.

    One network predicts several binary health outcomes at once (hypertension,
    diabetes, obesity, depression, ...): its shared layers learn what the
    outcomes have in common, each task's head its log-odds. It is
    :class:`MultiTaskHealthRegressor`'s network, training, ensembles, linear
    path (here cross-fitted logistic regressions, blended in log-odds), history
    and model files, with a log-loss per task. ``NaN`` in ``y`` means "not
    known": that label is left out of its task's loss and the rest of the row
    is still used. To train binary outcomes beside continuous measurements in
    one network, use :class:`MultiTaskHealthRegressor` with
    ``loss="log_loss"`` for the binary tasks.

    ``y`` follows scikit-learn's conventions: 1-D, any two classes (strings,
    numbers, bools; ``NaN`` or ``None`` where unknown), as for
    :class:`~sklearn.neural_network.MLPClassifier`; or 2-D, one binary task per
    column, each with two numeric classes (a multilabel indicator matrix of 0
    and 1, with ``NaN`` where unknown). A task with one class, or more than
    two, is a ``ValueError``: one-hot encode a multiclass outcome into binary
    tasks. With unknown labels, give scikit-learn's searches and
    ``cross_validate`` ``cv=KFold(...)``: their default for a classifier,
    ``StratifiedKFold``, refuses ``NaN`` in ``y``.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(64, 64)
        Sizes of the shared hidden layers (the trunk).
    head_layer_sizes : int or array-like of int, default=()
        Sizes of each task head's own hidden layers; ``()`` gives linear heads.
    architecture : str or Architecture, default="hard"
        How tasks share parameters (see :class:`MultiTaskHealthRegressor`).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation after every hidden layer.
    dropout : float in [0, 1), default=0.1
        Dropout probability after every hidden layer.
    n_members : int, default=5
        Networks trained side by side (a deep ensemble); the classifier
        predicts the logistic function of their mean log-odds.
    class_weight : None, "balanced", dict or list of dict, default=None
        Weights of the classes in each task's loss, for rare outcomes: a dict
        ``{class: weight}`` (1-D ``y``), a list of them, one per task (2-D
        ``y``), or ``"balanced"``: each task's classes weigh
        ``n_observed / (2 * n_class)`` (as scikit-learn's
        ``compute_class_weight``). Set at the first fit (``class_weight_``).
        Weighting shifts the predicted probabilities towards the weighted
        class: they are no longer calibrated.
    task_weighting : str, array-like, dict or TaskWeighting, default="equal"
        How the task losses are combined (see :class:`MultiTaskHealthRegressor`).
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, as Adam weight decay.
    batch_size : int or "auto", default="auto"
        Minibatch size (see :class:`MultiTaskHealthRegressor`).
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Reshuffle the training data every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split.
    tol : float, default=1e-4
        Minimum improvement of the monitored value that resets the patience.
    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch table; 2 adds per-task columns.
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the current weights, with
        the same classes.
    early_stopping : "auto", "cross_fit" or bool, default="auto"
        As in :class:`MultiTaskHealthRegressor`; the validation score watched
        is each task's Brier skill score (the R² of its probabilities),
        averaged over tasks.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train and predict.
    precision : {"float32", "bfloat16"}, default="float32"
        The arithmetic of the network's forward passes. ``"bfloat16"`` runs
        them under :func:`torch.autocast` in bfloat16 (the weights, the
        optimiser, the losses and the predictions returned stay float32): it
        can speed up wide networks on GPUs with bfloat16 units, at the cost
        of some accuracy; on most CPUs it is slower. Not with ``dp``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks for the training net.

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
    classes_ : ndarray of shape (2,) or list of such arrays
        The classes, sorted: those of a 1-D ``y``, or a list of each task's
        for a 2-D ``y``. The second is the positive class, whose probability
        :meth:`predict_proba` gives.
    class_weight_ : ndarray of shape (`n_tasks_`, 2)
        Each task's weights of its two classes in the loss (ones without
        ``class_weight``).
    net_ : skhealth._net.MultiTaskNet
        The skorch net that trained the network.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, defined only when ``X`` has string column names.
    n_tasks_ : int
        Number of tasks.
    target_names_ : ndarray of shape (`n_tasks_`,)
        Column names of ``y`` (or the name of a Series), else ``task_0``, ...
    do_early_stopping_ : bool
        Whether early stopping is used.
    cross_fit_ : bool
        Whether each member validates on its own fold.
    network_share_ : ndarray of shape (`n_tasks_`,)
        Each task's share of the network in the predicted log-odds, chosen by
        out-of-fold log-loss (cross-fitted); the rest is the linear path's.
    linear_coef_ : ndarray of shape (`n_features_in_`, `n_tasks_`)
        Coefficients of the linear path, in log-odds (logistic regressions
        averaged over the members' training rows); zeros without cross-fitting.
    linear_intercept_ : ndarray of shape (`n_tasks_`,)
        Intercepts of the linear path, in log-odds.
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
        Training objective (mean log-loss, weighted by task) per epoch.
    best_loss_ : float or None
        Lowest training objective reached; ``None`` with early stopping.
    validation_scores_ : list of float or None
        Validation Brier skill score per epoch with early stopping.
    best_validation_score_ : float or None
        Best validation score of the latest ``fit``.
    task_weights_ : ndarray of shape (`n_tasks_`,)
        The task weights at the end of training.
    history_ : skorch.History
        skorch's training history (see :class:`MultiTaskHealthRegressor`).

    See Also
    --------
    MultiTaskHealthRegressor : Continuous tasks, and binary ones beside them.
    sklearn.neural_network.MLPClassifier : Multilabel, without missing labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth import MultiTaskHealthClassifier
    >>> from skhealth.datasets import make_health_data
    >>> X, Y = make_health_data(n_samples=300, n_features=6, n_tasks=3,
    ...                         random_state=0)
    >>> Y = (Y > 0).astype(float)
    >>> Y[::5, 2] = np.nan  # unknown
    >>> clf = MultiTaskHealthClassifier(max_iter=30, random_state=0).fit(X, Y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    >>> clf.score_tasks(X, Y).columns.tolist()
    ['roc_auc', 'log_loss', 'brier', 'balanced_accuracy', 'n_observed']
    """

    _parameter_constraints = {
        **MultiTaskBase._parameter_constraints,
        "class_weight": [None, StrOptions({"balanced"}), dict, list],
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
        class_weight=None,
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
        self.class_weight = class_weight
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

    # ----------------------------------------------------------------- targets
    def _check_streaming(self):
        raise ValueError(
            "MultiTaskHealthClassifier does not train on Dask collections: it "
            "learns its classes from all labels at once. For 0/1 outcomes, use "
            "MultiTaskHealthRegressor(loss='log_loss'), which does."
        )

    def _task_losses(self, n_tasks):
        return ["log_loss"] * n_tasks

    def _encode_targets(self, y, reset):
        """``y`` as 0/1 labels of each task's second class, ``NaN`` where
        unknown, in a container of its kind (a DataFrame keeps its columns, a
        Series its name); ``reset`` learns ``classes_``."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: give each row's classes."
            )
        labels = np.asarray(y, dtype=object if _has_strings(y) else None)
        if labels.ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D or 2-D; got an array of shape {labels.shape}."
            )
        if len(labels) == 0:
            raise ValueError(
                f"Found y with 0 sample(s) (shape={labels.shape}) while a minimum "
                "of 1 is required."
            )
        columns = labels.reshape(len(labels), -1)
        names = target_names(y, columns.shape[1])
        if reset:
            given = getattr(self, "_classes_given", None)
            if given is None:
                classes = [
                    _task_classes(columns[:, t], names[t], t)
                    for t in range(columns.shape[1])
                ]
            else:
                classes = _declared_classes(given, labels.ndim, columns.shape[1])
            self.classes_ = classes[0] if labels.ndim == 1 else classes
            classes_1d = labels.ndim == 1
        else:  # the tasks of the fit, whatever the shape of this y
            classes_1d = self._y_1d
        classes = [self.classes_] if classes_1d else self.classes_
        if len(classes) != columns.shape[1]:
            shape = "a 1-D y" if classes_1d else "a 2-D y"
            raise ValueError(
                f"y has {columns.shape[1]} task{'s' * (columns.shape[1] > 1)} "
                f"(shape {labels.shape}) but the classifier was fitted on {shape} "
                f"of {len(classes)} task{'s' * (len(classes) > 1)}; it needs the "
                "same tasks."
            )
        encoded = np.column_stack(
            [
                _encode(columns[:, t], classes[t], names[t], t)
                for t in range(columns.shape[1])
            ]
        )
        if labels.ndim == 1:
            encoded = encoded[:, 0]
        if hasattr(y, "columns"):
            return pd.DataFrame(encoded, index=y.index, columns=y.columns)
        if isinstance(y, pd.Series):
            return pd.Series(encoded, index=y.index, name=y.name)
        return encoded

    @available_if(MultiTaskBase._check_partial_fit)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``X`` and ``y``.

        As :meth:`MultiTaskHealthRegressor.partial_fit
        <skhealth.MultiTaskHealthRegressor.partial_fit>`, with the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, with the features of the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Classes, the same tasks at every call; ``NaN`` where unknown.
        classes : array-like of shape (2,) or list of them, default=None
            The classes of every call, given at the first (scikit-learn's
            convention): those of a 1-D ``y``, or a list with each task's.
            ``None`` takes them from the first call's ``y``. Either way, the
            first call needs labels of both classes of every task.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in every task's loss.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if classes is not None and hasattr(self, "net_"):
            known = [self.classes_] if self._y_1d else self.classes_
            declared = _declared_classes(classes, 2 - self._y_1d, len(known))
            if any(list(a) != list(b) for a, b in zip(declared, known, strict=True)):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the first "
                    f"call, {self.classes_!r}: give the same classes, or none."
                )
        self._classes_given = classes
        try:
            return super().partial_fit(X, y, sample_weight=sample_weight)
        finally:
            del self._classes_given

    def _label_weights(self, Y, sample_weight, reset):
        if reset:  # continuing, the classes weigh as they did
            self.class_weight_ = self._class_weights(Y)
        if (self.class_weight_ == 1).all():
            return sample_weight
        weight = np.where(Y == 1, self.class_weight_[:, 1], self.class_weight_[:, 0])
        return sample_weight[:, None] * weight

    def _class_weights(self, Y):
        """``(n_tasks, 2)``: each task's weights of its classes."""
        n_tasks = Y.shape[1]
        if self.class_weight is None:
            return np.ones((n_tasks, 2))
        if isinstance(self.class_weight, str):  # "balanced", on observed labels
            counts = np.stack(
                [np.sum(Y == 0, axis=0), np.sum(Y == 1, axis=0)], axis=1
            ).astype(float)
            return counts.sum(axis=1, keepdims=True) / (2 * counts)
        given = (
            [self.class_weight]
            if isinstance(self.class_weight, dict)
            else list(self.class_weight)
        )
        classes = [self.classes_] if self._y_1d else self.classes_
        one_task_dict = isinstance(self.class_weight, dict) == self._y_1d
        if not one_task_dict or len(given) != n_tasks:
            raise ValueError(
                "class_weight must be a dict {class: weight} for a 1-D y, or a "
                f"list of {n_tasks} such dicts, one per task, for a 2-D y; got "
                f"{self.class_weight!r}."
            )
        weights = np.ones((n_tasks, 2))
        for t, (task_weights, task_classes) in enumerate(
            zip(given, classes, strict=True)
        ):
            if not isinstance(task_weights, dict):
                raise ValueError(
                    f"class_weight's entry for task {t} ({self.target_names_[t]!r}) "
                    f"must be a dict {{class: weight}} ({{}} for no weights); got "
                    f"{task_weights!r}."
                )
            for label, value in task_weights.items():
                known = [c for c in task_classes if c == label]
                if not known:
                    raise ValueError(
                        f"class_weight gives a weight to the class {label!r} of "
                        f"task {t} ({self.target_names_[t]!r}), whose classes "
                        f"are {task_classes.tolist()}."
                    )
                if not (
                    isinstance(value, Real)
                    and not isinstance(value, bool)
                    and np.isfinite(value)
                    and value > 0
                ):
                    raise ValueError(
                        f"class_weight of the class {label!r} of task {t} must be "
                        f"a positive number; got {value!r}."
                    )
                weights[t, list(task_classes).index(known[0])] = value
        return weights

    # --------------------------------------------------------------- predicting
    def predict_proba(self, X):
        """Probability of each task's positive class (its second, ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2) or (n_samples, `n_tasks_`)
            For a 1-D ``y``, the probabilities of both classes, in the order of
            ``classes_``; for a 2-D ``y``, each task's probability of its second
            class (scikit-learn's multilabel convention, as MLPClassifier's).
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """The log of :meth:`predict_proba`, computed without its rounding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.

        Returns
        -------
        log_proba : ndarray of the shape of :meth:`predict_proba`'s
            The natural logarithm of those probabilities.
        """
        logits = self._log_odds(X)
        if self._y_1d:
            return np.column_stack([log_expit(-logits[:, 0]), log_expit(logits[:, 0])])
        return log_expit(logits)

    def predict(self, X):
        """Each task's more probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, `n_tasks_`)
            Classes of ``classes_``: for 0/1 tasks, a multilabel indicator
            matrix. A probability of exactly 0.5 predicts the first class.
        """
        positive = self._log_odds(X) > 0
        if self._y_1d:
            return self.classes_[positive[:, 0].astype(int)]
        return np.column_stack(
            [
                classes[positive[:, t].astype(int)]
                for t, classes in enumerate(self.classes_)
            ]
        )

    def _log_odds(self, X):
        check_is_fitted(self)
        return self._standardised_prediction(self._validate_X_predict(X))[0]

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of the ROC-AUC on observed labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.
        y : array-like of shape (n_samples,) or (n_samples, `n_tasks_`)
            True classes; ``NaN`` (or ``None``) where unknown.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in every task's score.

        Returns
        -------
        score : float
            The mean of the ``roc_auc`` column of :meth:`score_tasks`, over
            the tasks where it is defined (both classes observed). Unlike
            scikit-learn's other classifiers, not the accuracy: an outcome's
            rarity makes accuracy say little of a risk model.
        """
        return float(
            self.score_tasks(X, y, sample_weight=sample_weight)["roc_auc"].mean()
        )

    def score_tasks(self, X, y, sample_weight=None):
        """ROC-AUC, log-loss, Brier score and balanced accuracy per task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs with the features the estimator was fitted on.
        y : array-like of shape (n_samples,) or (n_samples, `n_tasks_`)
            True classes; ``NaN`` (or ``None``) where unknown, left out.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in every task's scores.

        Returns
        -------
        scores : pandas.DataFrame
            Indexed by ``target_names_`` (see
            :func:`skhealth.metrics.classification_task_scores`).
        """
        return metrics.score_tasks(self, X, y, sample_weight=sample_weight)

    def _binary_labels(self, y):
        """``y``'s classes as 2-D 0/1 labels, ``NaN`` where unknown."""
        check_is_fitted(self)
        return np.asarray(self._encode_targets(y, reset=False), dtype=float).reshape(
            len(y), -1
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = True
        return tags


def _has_strings(y):
    values = np.asarray(y)
    return values.dtype.kind in "OUS"


def _plain(value):
    """A NumPy scalar as the Python value it holds, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(labels):
    return np.asarray(pd.isna(labels), dtype=bool)


def _task_classes(labels, name, t):
    """The two classes of a task's ``labels`` (1-D, ``NaN``/``None`` unknown),
    sorted, or a ValueError naming the task."""
    observed = labels[~_missing(labels)]
    if observed.dtype.kind == "f" and np.isinf(observed).any():
        raise ValueError(
            f"Input y contains infinity in task {t} ({name!r}); use NaN for an "
            "unknown label."
        )
    kind = type_of_target(observed) if observed.size else "unknown"
    if kind == "continuous":
        raise ValueError(
            f"Unknown label type: 'continuous' in task {t} ({name!r}): "
            "MultiTaskHealthClassifier predicts classes. Use "
            "MultiTaskHealthRegressor for measurements, or threshold them into "
            "0/1 outcomes."
        )
    try:
        classes = np.unique(observed)
    except TypeError as error:
        raise ValueError(
            f"Task {t} ({name!r}) mixes label types ({error}): give its classes "
            "one type, e.g. all strings."
        ) from None
    if classes.dtype == object and not any(isinstance(c, str) for c in classes):
        # numbers or bools of an object column (a DataFrame of nullable or
        # mixed columns): as NumPy holds them, as a model file restores them
        classes = np.asarray(classes.tolist())
    if len(classes) > 2:
        raise ValueError(
            f"Only binary classification is supported. Task {t} ({name!r}) has "
            f"{len(classes)} classes {classes[:5].tolist()} ({kind}): one-hot encode "
            "a multiclass outcome into binary tasks, one per class."
        )
    if len(classes) != 2:
        what = (
            f"only one class, {_plain(classes[0])!r}"
            if len(classes) == 1
            else f"{len(classes)} classes {classes[:5].tolist()}"
            if len(classes)
            else "no observed class"
        )
        advice = (
            "one-hot encode a multiclass outcome into binary tasks (one per class)"
            if len(classes) > 2
            else "it needs labels of both classes to learn from"
        )
        raise ValueError(
            f"Task {t} ({name!r}) has {what} among its observed labels: "
            f"MultiTaskHealthClassifier's tasks are binary, so {advice}."
        )
    return classes


def _declared_classes(classes, ndim, n_tasks):
    """``classes`` given to partial_fit as one sorted array of two classes per
    task, or a ValueError."""
    per_task = [classes] if ndim == 1 else list(classes)
    result = [np.unique(np.asarray(c)) for c in per_task]
    if len(result) != n_tasks or any(len(c) != 2 for c in result):
        raise ValueError(
            "classes must hold the two classes of a 1-D y, or a list with each "
            f"task's two classes for a 2-D y ({n_tasks} tasks); got {classes!r}."
        )
    return result


def _encode(labels, classes, name, t):
    """A task's ``labels`` as 0/1 (the second class 1), ``NaN`` where unknown,
    or a ValueError for a label that is not one of ``classes``."""
    missing = _missing(labels)
    encoded = np.full(len(labels), np.nan)
    observed = labels[~missing]
    positive = observed == classes[1]
    unknown = ~(positive | (observed == classes[0]))
    if unknown.any():
        raise ValueError(
            f"Task {t} ({name!r}) has the label {_plain(observed[unknown][0])!r}, "
            f"which is not one of its classes {classes.tolist()}: give each task "
            "the classes it was fitted on, NaN where unknown."
        )
    encoded[~missing] = positive
    return encoded
