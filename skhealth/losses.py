"""Per-task losses that skip missing labels.

``NaN`` in the targets means "not measured". Each task's loss is the
(sample-)weighted mean of the element-wise loss over that task's *observed*
entries in the batch; a task with no observed entry in a batch gets a loss of
exactly 0 and no gradient from that batch.

The mask is applied as weights: :func:`label_weights` turns ``NaN``-coded
targets into finite targets and per-label weights (0 where missing) once,
before training, so a training step pays for no masking at all when every label
is observed and the sample weights are uniform.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .weighting import Equal

__all__ = ["BINARY_LOSSES", "LOSSES", "MaskedMultiTaskLoss", "label_weights"]


def _squared_error(pred, true):
    return F.mse_loss(pred, true, reduction="none")


def _absolute_error(pred, true):
    return F.l1_loss(pred, true, reduction="none")


def _huber(pred, true):
    return F.huber_loss(pred, true, reduction="none", delta=1.0)


def _log_loss(pred, true):
    return F.binary_cross_entropy_with_logits(pred, true, reduction="none")


# Element-wise losses, computed on standardised targets (so Huber's delta of 1
# is one standard deviation of the task); ``log_loss`` on 0/1 labels, the
# network's output for its task being the log-odds of a 1.
LOSSES = {
    "squared_error": _squared_error,
    "absolute_error": _absolute_error,
    "huber": _huber,
    "log_loss": _log_loss,
}

# Losses of binary tasks: their labels are 0/1, not standardised, and their
# predictions probabilities (the logistic function of the network's output).
BINARY_LOSSES = frozenset({"log_loss"})


def label_weights(y, sample_weight=None, uniform=None):
    """Split ``NaN``-coded targets into finite targets and per-label weights.

    Parameters
    ----------
    y : tensor of shape (n_samples, n_tasks)
        Targets, ``NaN`` where a label is missing.
    sample_weight : tensor of shape (n_samples,) or (n_samples, n_tasks), \
            default=None
        Weight of each row's labels, or of each label; ``None`` weighs them
        all 1. Weights that are all equal are replaced by 1, which leaves every
        weighted mean as it is.
    uniform : bool, default=None
        Whether the sample weights are all equal, as decided for the whole
        data when ``y`` is a part of it; ``None``: from ``sample_weight``.

    Returns
    -------
    y : tensor of shape (n_samples, n_tasks)
        The targets with missing labels set to 0 (``y`` itself when none is).
    weight : tensor of shape (n_samples, n_tasks) or None
        Each label's weight: its row's sample weight, 0 where missing. ``None``
        when every label is observed and the sample weights are all equal (the
        per-task weighted means are then plain means).

    Examples
    --------
    >>> import torch
    >>> y, weight = label_weights(torch.tensor([[1.0, float("nan")], [3.0, 2.0]]))
    >>> y
    tensor([[1., 0.],
            [3., 2.]])
    >>> weight
    tensor([[1., 0.],
            [1., 1.]])
    """
    observed = ~torch.isnan(y)
    if uniform is None:
        uniform = sample_weight is None or bool(
            (sample_weight == sample_weight.flatten()[0]).all()
        )
    if uniform and observed.all():
        return y, None
    weight = observed.to(y.dtype)
    if not uniform:
        weight = weight * (
            sample_weight if sample_weight.dim() == 2 else sample_weight.unsqueeze(1)
        )
    return torch.where(observed, y, 0.0), weight


class MaskedMultiTaskLoss(nn.Module):
    """The multi-task criterion: masked per-task losses and their weighting.

    Calling it returns one loss per task; its ``weighting`` (a
    :class:`~skhealth.weighting.WeightingModule`) turns them into the objective
    and runs the backward pass. Learnable weights therefore live in the
    criterion, where skorch's optimizer finds them.

    Parameters
    ----------
    losses : sequence of str
        The element-wise loss of each task, keys of :data:`LOSSES`.
    weighting : skhealth.weighting.TaskWeighting, default=None
        How the task losses are combined; ``None`` weighs them equally.

    Examples
    --------
    >>> import torch
    >>> loss = MaskedMultiTaskLoss(["squared_error", "absolute_error"])
    >>> y_true, weight = label_weights(torch.tensor([[1.0, float("nan")], [3.0, 2.0]]))
    >>> loss(torch.zeros(2, 2), y_true, weight)
    tensor([5., 2.])
    """

    def __init__(self, losses, weighting=None):
        super().__init__()
        self.losses = tuple(losses)
        self.weighting = (weighting or Equal()).build(len(self.losses))
        # Columns grouped by loss kind, so each kind runs once on its columns.
        self._groups = [
            (LOSSES[kind], [t for t, k in enumerate(self.losses) if k == kind])
            for kind in dict.fromkeys(self.losses)
        ]
        self._binary = [t for t, k in enumerate(self.losses) if k in BINARY_LOSSES]

    def inverse_link(self, y_pred):
        """The network's outputs as predictions: a binary task's log-odds as
        the probability of a 1, the other tasks' outputs as they are.

        Parameters
        ----------
        y_pred : tensor of shape (..., n_tasks)
            The network's outputs, such as ``(n_samples, n_tasks)`` or
            ``(n_members, n_samples, n_tasks)``.

        Returns
        -------
        y_pred : tensor of the same shape
            The predictions: a new tensor with each binary task's column
            passed through the logistic function, or ``y_pred`` itself when
            no task is binary.
        """
        if not self._binary:
            return y_pred
        y_pred = y_pred.clone()
        y_pred[..., self._binary] = torch.sigmoid(y_pred[..., self._binary])
        return y_pred

    def forward(self, y_pred, y_true, weight=None):
        """Return a ``(n_tasks,)`` tensor of per-task losses.

        Parameters
        ----------
        y_pred : tensor of shape (n_samples, n_tasks)
            Or ``(n_members, n_samples, n_tasks)`` for an ensemble in training:
            the result is then the mean of the members' losses.
        y_true : tensor of shape (n_samples, n_tasks)
            Finite targets (see :func:`label_weights`).
        weight : tensor of shape (n_samples, n_tasks), default=None
            Per-label weights, 0 for a missing label; ``None`` weighs every
            label 1. For an ensemble, ``(n_members, n_samples, n_tasks)`` gives
            each member its own (0 where it does not train on a row).

        Returns
        -------
        losses : tensor of shape (n_tasks,)
            Each task's mean of the element-wise loss over the batch, weighted
            by ``weight``; 0 for a task whose labels in the batch all weigh 0.
        """
        elementwise = self._elementwise(y_pred, y_true)
        if weight is None:
            losses = elementwise.mean(dim=-2)
        else:
            # A missing label's element-wise loss is finite (its target is 0)
            # and weighs 0, so it adds neither to the loss nor to the gradient.
            # A task without labels here divides 0 by 1: by a tiny number, its
            # zero gradient could overflow to inf * 0 = NaN under a large weight.
            total = weight.sum(dim=-2)
            losses = (elementwise * weight).sum(dim=-2) / torch.where(
                total > 0, total, 1.0
            )
        # the members of an ensemble, along a leading axis, weigh equally
        return losses if losses.dim() == 1 else losses.mean(dim=0)

    def row_losses(self, y_pred, y_true, weight=None):
        """Each row's weighted element-wise losses, ``(n_samples, n_tasks)``.

        Private training (:class:`skhealth.privacy.DP`) needs a loss that is a
        sum over rows, each row's term depending on that row alone: here a
        label's loss times its weight, not divided by the batch's count of
        labels as :meth:`forward` does.

        Parameters
        ----------
        y_pred : tensor of shape (n_samples, n_tasks)
            Or ``(n_members, n_samples, n_tasks)`` for an ensemble in training:
            the result is then the mean of the members' losses.
        y_true : tensor of shape (n_samples, n_tasks)
            Finite targets (see :func:`label_weights`).
        weight : tensor of shape (n_samples, n_tasks), default=None
            Per-label weights, 0 for a missing label; ``None`` weighs every
            label 1.

        Returns
        -------
        losses : tensor of shape (n_samples, n_tasks)
            Each label's element-wise loss times its weight (0 for a missing
            label), averaged over the members of an ensemble.
        """
        losses = self._elementwise(y_pred, y_true)
        if weight is not None:
            losses = losses * weight
        return losses if losses.dim() == 2 else losses.mean(dim=0)

    def _elementwise(self, y_pred, y_true):
        y_true = y_true.expand_as(y_pred)  # a view, for an ensemble's members
        if len(self._groups) == 1:
            return self._groups[0][0](y_pred, y_true)
        elementwise = torch.empty_like(y_pred)
        for fn, cols in self._groups:
            elementwise[..., cols] = fn(y_pred[..., cols], y_true[..., cols])
        return elementwise
