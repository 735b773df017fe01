"""Synthetic multi-task data with known task relatedness, noise and nonlinearity,
continuous or binary tasks."""

from numbers import Integral, Real

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.utils import check_random_state

from .._sklearn import Interval, validate_params


def _task_weights(generator, n_inputs, n_tasks, task_relatedness):
    """Unit-norm weights per task, mixing one shared draw and one draw per task."""
    shared = generator.standard_normal(size=(n_inputs, 1))
    own = generator.standard_normal(size=(n_inputs, n_tasks))
    weights = np.sqrt(task_relatedness) * shared + np.sqrt(1 - task_relatedness) * own
    return weights / np.linalg.norm(weights, axis=0)


# The logistic distribution's scale for a standard deviation of 1.
_LOGISTIC_SCALE = np.sqrt(3) / np.pi


def _positive_probability(signal, noise, prevalence):
    """P(label = 1) of each sample: the probability that the signal plus a
    logistic noise of standard deviation ``noise`` passes the threshold at
    which the mean probability over the samples is ``prevalence``."""
    if noise == 0:
        return (signal > np.quantile(signal, 1 - prevalence)).astype(np.float64)
    scale = noise * _LOGISTIC_SCALE

    def excess(threshold):
        return expit((signal - threshold) / scale).mean() - prevalence

    # Every sample's probability is over ``prevalence`` at the lower end of the
    # bracket and under it at the upper end.
    shift = scale * logit(prevalence)
    threshold = brentq(
        excess, signal.min() - shift - scale, signal.max() - shift + scale
    )
    return expit((signal - threshold) / scale)


def _per_task(name, value, n_tasks, count_name, valid, requirement):
    """``value``, a float or one per task, as an array of one float per task;
    a ValueError unless every one is finite and ``valid``."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        value = np.full(n_tasks, value)
    if value.shape != (n_tasks,):
        raise ValueError(
            f"{name} must be a float or an array of length {count_name}={n_tasks}; "
            f"got an array of shape {value.shape}."
        )
    if not np.all(np.isfinite(value) & valid(value)):
        raise ValueError(
            f"{name} must be finite and {requirement}; got {value.tolist()}."
        )
    return value


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "n_latent": [Interval(Integral, 1, None, closed="left"), None],
        "task_relatedness": [Interval(Real, 0, 1, closed="both")],
        "noise": [Interval(Real, 0, None, closed="left"), "array-like"],
        "nonlinearity": [Interval(Real, 0, 1, closed="both")],
        "missing_rate": [Interval(Real, 0, 1, closed="left")],
        "n_binary_tasks": [Interval(Integral, 0, None, closed="left")],
        "prevalence": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_health_data(
    n_samples=1000,
    n_features=20,
    n_tasks=4,
    *,
    n_latent=None,
    task_relatedness=0.5,
    noise=0.1,
    nonlinearity=0.5,
    missing_rate=0.0,
    n_binary_tasks=0,
    prevalence=0.5,
    coef=False,
    random_state=None,
):
    """Generate a multi-task problem shaped like health data, with continuous or
    binary tasks.

    Several outcomes (tasks) are driven by one low-dimensional latent health
    state, as blood pressure, cholesterol and HbA1c share metabolic causes. How
    much the tasks share, how nonlinear they are, how noisy each one is and how
    many labels are missing are all set by the caller, so a multi-task model can
    be checked against known ground truth.

    The features ``X`` are independent standard normal. A latent state
    ``H = X @ V`` of ``n_latent`` independent standard normal factors is taken
    along random orthonormal directions ``V``. Each task's signal is

    ``f_t = sqrt(1 - nonlinearity) * H @ w_t + sqrt(nonlinearity) * Q(H) @ u_t``

    where ``Q(H)`` holds the second-degree Hermite terms of the latent state
    (the products ``H_j * H_k`` for ``j < k`` and ``(H_j ** 2 - 1) / sqrt(2)``)
    and ``w_t`` and ``u_t`` are unit-norm random weights. Every ``f_t`` has mean
    0 and variance 1 over the population, and its quadratic part is uncorrelated
    with any linear function of ``X``. Then ``Y[:, t] = f_t + noise[t] * e_t``
    with ``e_t`` standard normal.

    The last ``n_binary_tasks`` tasks are binary instead, as a diagnosis is a
    measurement over a cut-off: ``Y[:, t]`` is 1 where ``f_t`` plus a logistic
    noise of standard deviation ``noise[t]`` is over a threshold ``c_t``, and 0
    elsewhere. That is a Bernoulli draw with probability

    ``P(Y[:, t] = 1 | X) = sigmoid((f_t - c_t) / s_t)``

    where ``s_t = noise[t] * sqrt(3) / pi`` is the logistic scale of that
    standard deviation: a logistic model of the signal. The threshold ``c_t`` is
    set so that the mean of this probability over the drawn samples is
    ``prevalence[t]``; the share of positives then differs from it only by the
    Bernoulli draws, a standard deviation of at most ``0.5 / sqrt(n_samples)``.
    At ``noise[t] = 0`` a binary label is 1 exactly where ``f_t`` is over its
    ``1 - prevalence[t]`` quantile.

    Parameters
    ----------
    n_samples : int, default=1000
        The number of samples.

    n_features : int, default=20
        The number of features. All of them feed the latent state.

    n_tasks : int, default=4
        The number of tasks (columns of ``Y``).

    n_latent : int, default=None
        The dimension of the latent state shared by the tasks; at most
        ``n_features``. None uses ``min(5, n_features)``.

    task_relatedness : float in [0, 1], default=0.5
        How much the tasks share. Each task's weights are
        ``sqrt(task_relatedness) * w_shared + sqrt(1 - task_relatedness) * w_own``
        (then scaled to unit norm): at 0 every task has its own independent
        weights, at 1 all tasks have the same signal and differ only by noise.

    noise : float or array-like of shape (n_tasks,), default=0.1
        The standard deviation of each task's Gaussian noise, relative to the
        signal's standard deviation of 1; a float applies to every task. The
        best achievable R² of task ``t`` is ``1 / (1 + noise[t] ** 2)``. For a
        binary task it is the standard deviation of a logistic noise, which
        sets how far the labels are from a function of ``X``: at 0 each label
        is one.

    nonlinearity : float in [0, 1], default=0.5
        The share of each task's signal variance that is quadratic in the latent
        state, which no linear model of ``X`` can explain. At 0 the tasks are
        linear in ``X``, at 1 purely quadratic.

    missing_rate : float in [0, 1), default=0.0
        The fraction of each task's labels replaced by ``NaN``, completely at
        random and independently per task. Each task loses exactly
        ``round(missing_rate * n_samples)`` labels but always keeps at least one,
        so every task can be fitted. A row may lose all of its labels. Binary
        tasks lose theirs likewise.

    n_binary_tasks : int, default=0
        The number of binary tasks, the last columns of ``Y``, labelled 0.0 or
        1.0; at most ``n_tasks``. The other tasks are continuous.

    prevalence : float in (0, 1) or array-like of shape (n_binary_tasks,), \
            default=0.5
        The expected share of positive labels of each binary task; a float
        applies to every one. Labels that go missing are chosen at random, so
        they leave it unchanged.

    coef : bool, default=False
        Also return the coefficients of each task's linear part on ``X``
        (as :func:`sklearn.datasets.make_regression` does): with
        ``nonlinearity=0`` and ``noise=0``, ``Y == X @ coef`` for the
        continuous tasks. Their sizes
        say which features each task relies on, the ground truth for
        feature importances and attributions. A binary task's coefficients are
        those of its signal's linear part, as if it were continuous: with
        ``nonlinearity=0`` its log-odds are ``(X @ coef[:, t] - c_t) / s_t``,
        so a logistic regression of its labels on ``X`` estimates
        ``coef[:, t] / s_t``.

    random_state : int, RandomState instance or None, default=None
        Determines random number generation for dataset creation. Pass an int
        for reproducible output across multiple function calls. The draws do not
        depend on ``noise``, ``missing_rate``, ``n_binary_tasks`` or
        ``prevalence``, so two calls that differ only in those share ``X``, the
        noiseless signal and which labels are missing; if they differ only in
        ``n_binary_tasks`` or ``prevalence``, a task that is continuous in both
        has the same labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The input samples.

    Y : ndarray of shape (n_samples, n_tasks)
        The targets, one column per task, the last ``n_binary_tasks`` holding
        0.0 or 1.0; ``NaN`` marks a missing label.

    coef : ndarray of shape (n_features, n_tasks)
        The coefficients of each task's linear part,
        ``sqrt(1 - nonlinearity) * V @ w_t``, for a binary task those of its
        signal. Only returned if ``coef`` is True.

    See Also
    --------
    sklearn.datasets.make_regression : Linear regression problem.
    skhealth.datasets.load_nhanes : Real health data with seven targets.
    skhealth.datasets.load_nhanes_outcomes : Real health data with binary
        outcomes.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.datasets import make_health_data
    >>> X, Y = make_health_data(
    ...     n_samples=500, n_tasks=3, missing_rate=0.2, random_state=0
    ... )
    >>> X.shape, Y.shape
    ((500, 20), (500, 3))
    >>> np.isnan(Y).sum(axis=0)
    array([100, 100, 100])

    Identical tasks at ``task_relatedness=1``, up to their noise:

    >>> _, Y = make_health_data(task_relatedness=1, noise=0, random_state=0)
    >>> bool(np.allclose(Y[:, 0], Y[:, 1]))
    True

    One continuous task and two binary ones, 10 % and 30 % positive:

    >>> _, Y = make_health_data(
    ...     n_samples=2000, n_tasks=3, n_binary_tasks=2, prevalence=[0.1, 0.3],
    ...     noise=1.0, random_state=0,
    ... )
    >>> np.unique(Y[:, 1:]).tolist()
    [0.0, 1.0]
    >>> Y[:, 1:].mean(axis=0).round(2)
    array([0.1 , 0.29])
    """
    n_latent = min(5, n_features) if n_latent is None else n_latent
    if n_latent > n_features:
        raise ValueError(
            f"n_latent must be at most n_features={n_features}; got {n_latent}."
        )
    noise = _per_task(
        "noise", noise, n_tasks, "n_tasks", lambda v: v >= 0, "non-negative"
    )
    if n_binary_tasks > n_tasks:
        raise ValueError(
            f"n_binary_tasks must be at most n_tasks={n_tasks}; got {n_binary_tasks}."
        )
    prevalence = _per_task(
        "prevalence",
        prevalence,
        n_binary_tasks,
        "n_binary_tasks",
        lambda v: (v > 0) & (v < 1),
        "strictly between 0 and 1",
    )

    generator = check_random_state(random_state)
    X = generator.standard_normal(size=(n_samples, n_features))
    # Orthonormal directions keep the latent factors independent standard normal.
    directions, _ = np.linalg.qr(generator.standard_normal(size=(n_features, n_latent)))
    latent = X @ directions

    # Second-degree Hermite terms: zero mean, unit variance, uncorrelated with one
    # another and with the latent factors themselves.
    rows, cols = np.triu_indices(n_latent)
    quadratic = latent[:, rows] * latent[:, cols]
    square = rows == cols
    quadratic[:, square] = (quadratic[:, square] - 1) / np.sqrt(2)

    w = _task_weights(generator, n_latent, n_tasks, task_relatedness)
    u = _task_weights(generator, len(rows), n_tasks, task_relatedness)
    signal = np.sqrt(1 - nonlinearity) * (latent @ w) + np.sqrt(nonlinearity) * (
        quadratic @ u
    )
    Y = signal + noise * generator.standard_normal(size=(n_samples, n_tasks))

    n_missing = min(round(missing_rate * n_samples), n_samples - 1)
    missing = generator.uniform(size=(n_samples, n_tasks)).argsort(axis=0)[:n_missing]
    if n_binary_tasks:
        # Drawn last, so that the continuous tasks and X do not depend on it.
        draws = generator.uniform(size=(n_samples, n_binary_tasks))
        for k, task in enumerate(range(n_tasks - n_binary_tasks, n_tasks)):
            probability = _positive_probability(
                signal[:, task], noise[task], prevalence[k]
            )
            Y[:, task] = (draws[:, k] < probability).astype(np.float64)
    np.put_along_axis(Y, missing, np.nan, axis=0)
    if coef:
        return X, Y, np.sqrt(1 - nonlinearity) * (directions @ w)
    return X, Y
