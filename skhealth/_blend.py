"""The linear path: cross-fitted ridge regressions blended with the network.

With cross-fitted early stopping every row has an out-of-fold prediction of
the network, from the member that never trained on it. Each member's fold also
gets the prediction of a ridge regression fitted on that member's training
rows. Per task, the weight that blends the two best on those out-of-fold
predictions is the network's share in the estimator's prediction; the ridge
regressions, averaged over the members, are its linear path. On near-linear
data the blend leans on the ridge regressions, close to ``RidgeCV``; where
the network finds more, it is the network.

One member's out-of-fold prediction is noisier than the ensemble's mean, which
the estimator predicts with: fitted on it as it is, the blend would short the
network. The noise is the members' spread around their mean (their variance
times ``1 - 1 / n_members``), which is taken out of the fit (the correction
for errors in a regressor).
"""

import warnings

import numpy as np
from scipy.special import log_expit
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, RidgeCV

from ._validation import labels_and_weights

__all__ = ["blend_weights", "cross_fitted_ridge", "fit_linear_path"]

# Penalties the ridge regressions choose from, by generalised cross-validation
# (leave-one-out) on their training rows: inputs are standardised upstream.
RIDGE_ALPHAS = np.logspace(-2, 4, 13)
# Inverse penalties the logistic regressions of a binary task choose from, once
# for all folds, by 3-fold cross-validated log-loss on all its labelled rows
# (choosing per fold cost five times as much, half of a classifier's fit).
LOGISTIC_CS = np.logspace(-3, 2, 6)
# The network's shares a binary task's blend chooses from, by out-of-fold log-loss.
_SHARES = np.linspace(0.0, 1.0, 21)


def cross_fitted_ridge(X, Y, weight, fold, n_folds, binary=None):
    """Per fold and task, a ridge regression of ``Y`` on the rows outside the
    fold; a logistic regression for a binary task, in log-odds.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
        Finite targets (missing labels weigh 0).
    weight : ndarray of shape (n_samples, n_tasks)
        Label weights, 0 for a missing label.
    fold : ndarray of shape (n_samples,)
        Each row's fold, ``0`` to ``n_folds - 1``.
    n_folds : int
    binary : ndarray of shape (n_tasks,) of bool, default=None
        The binary tasks (0/1 labels); ``None``: none.

    Returns
    -------
    coef : ndarray of shape (n_features, n_tasks)
        The coefficients averaged over folds.
    intercept : ndarray of shape (n_tasks,)
        The intercepts averaged over folds.
    out_of_fold : ndarray of shape (n_samples, n_tasks)
        Each row's prediction by the regression of its fold.
    """
    X = np.asarray(X, dtype=np.float64)
    n_tasks = Y.shape[1]
    coef = np.zeros((n_folds, X.shape[1], n_tasks))
    intercept = np.zeros((n_folds, n_tasks))
    out_of_fold = np.zeros(Y.shape)
    penalty = {
        t: _logistic_penalty(X, Y[:, t], weight[:, t])
        for t in (np.flatnonzero(binary) if binary is not None else ())
    }
    for f in range(n_folds):
        inside = fold == f
        for t in range(n_tasks):
            rows = ~inside & (weight[:, t] > 0)
            if t in penalty:
                model = LogisticRegression(C=penalty[t]).fit(
                    X[rows], Y[rows, t], sample_weight=weight[rows, t]
                )
                coef[f, :, t], intercept[f, t] = model.coef_[0], model.intercept_[0]
            else:
                model = RidgeCV(alphas=RIDGE_ALPHAS).fit(
                    X[rows], Y[rows, t], sample_weight=weight[rows, t]
                )
                coef[f, :, t], intercept[f, t] = model.coef_, model.intercept_
        out_of_fold[inside] = X[inside] @ coef[f] + intercept[f]
    return coef.mean(axis=0), intercept.mean(axis=0), out_of_fold


def _logistic_penalty(X, y, weight):
    """The ``C`` of :data:`LOGISTIC_CS` whose logistic regression of the 0/1
    labels ``y`` (weighing ``weight``, 0 where missing) has the best 3-fold
    cross-validated log-loss."""
    rows = weight > 0
    model = LogisticRegressionCV(Cs=LOGISTIC_CS, cv=3, scoring="neg_log_loss")
    with warnings.catch_warnings():
        # scikit-learn 1.8's notices of defaults changing in 1.10, which leave
        # an L2-penalised binary model's C_ as it is
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(X[rows], y[rows], sample_weight=weight[rows])
    return float(model.C_[0])


def fit_linear_path(net, dataset, X, Y, sample_weight, binary):
    """The linear path of a net trained on the cross-fitted ``dataset``.

    Parameters
    ----------
    net : skhealth._net.MultiTaskNet
        Trained on ``dataset``, an ensemble whose members validate on folds.
    dataset : skhealth._net.TaskDataset
        The cross-fitted training data (its holdout's ``members`` are the folds).
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
        The standardised targets, ``NaN`` where missing.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, n_tasks)
    binary : ndarray of shape (n_tasks,) of bool
        The binary tasks, whose predictions are log-odds.

    Returns
    -------
    coef : ndarray of shape (n_features, n_tasks)
    intercept : ndarray of shape (n_tasks,)
    share : ndarray of shape (n_tasks,)
        The network's share in each task's prediction, in [0, 1].
    out_of_fold : ndarray of shape (n_samples, n_tasks)
        Each row's prediction, blended by ``share``, by the member and the
        ridge regressions that never trained on it.
    spread : ndarray of shape (n_samples, n_tasks)
        The variance of the members' predictions of each row, times
        ``share ** 2``: the ensemble's spread in the blended prediction.
    """
    Y, weight = labels_and_weights(Y, sample_weight)
    members = dataset.holdout.members
    fold = members.argmax(dim=0).cpu().numpy()
    coef, intercept, linear = cross_fitted_ridge(
        X, Y, weight, fold, len(members), binary
    )
    network, spread = net.cross_fitted_predictions(dataset)
    noise = spread * (1 - 1 / len(members))
    share = blend_weights(Y, weight, network, linear, noise)
    for t in np.flatnonzero(binary):
        share[t] = _binary_blend_weight(
            Y[:, t], weight[:, t], network[:, t], linear[:, t]
        )
    out_of_fold = share * network + (1 - share) * linear
    return coef, intercept, share, out_of_fold, share**2 * spread


def blend_weights(Y, weight, network, linear, noise=None):
    """Per task, the share ``w`` in [0, 1] of ``network`` in ``w * network +
    (1 - w) * linear`` that minimises the weighted squared error to ``Y`` (all
    ``(n_samples, n_tasks)``, out-of-fold predictions).

    ``noise``, of the same shape, is the variance of each network prediction's
    error beyond that of the prediction it stands for: taken out of the fit's
    denominator, as in the correction for errors in a regressor. A task where
    the network explains nothing beyond the noise gets the network alone.
    """
    difference = network - linear
    numerator = (weight * difference * (Y - linear)).sum(axis=0)
    denominator = (weight * difference**2).sum(axis=0)
    if noise is not None:
        denominator = denominator - (weight * noise).sum(axis=0)
    share = np.divide(
        numerator, denominator, out=np.ones_like(numerator), where=denominator > 0
    )
    return np.clip(share, 0.0, 1.0)


def _binary_blend_weight(y, weight, network, linear):
    """The share ``w`` in [0, 1] (of :data:`_SHARES`) of ``network`` in the
    log-odds ``w * network + (1 - w) * linear`` that minimises the weighted
    log-loss of the 0/1 labels ``y``; the largest among equals."""
    logits = _SHARES[:, None] * network + (1 - _SHARES[:, None]) * linear
    # log-likelihood of each label: log p for a 1, log (1 - p) for a 0
    likelihood = (weight * log_expit(np.where(y == 1, logits, -logits))).sum(axis=1)
    return _SHARES[len(_SHARES) - 1 - np.argmax(likelihood[::-1])]
