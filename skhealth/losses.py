"""Per-task losses that skip missing labels.

``NaN`` in the targets means "not measured". Each task's loss is the
(sample-)weighted mean of the element-wise loss over that task's *observed*
entries in the batch; a task with no observed entry in a batch gets a loss of
exactly 0 and no gradient from that batch.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .weighting import Equal

__all__ = ["LOSSES", "MaskedMultiTaskLoss"]


def _squared_error(pred, true):
    return F.mse_loss(pred, true, reduction="none")


def _absolute_error(pred, true):
    return F.l1_loss(pred, true, reduction="none")


def _huber(pred, true):
    return F.huber_loss(pred, true, reduction="none", delta=1.0)


# Element-wise losses, computed on standardised targets (so Huber's delta of 1
# is one standard deviation of the task).
LOSSES = {
    "squared_error": _squared_error,
    "absolute_error": _absolute_error,
    "huber": _huber,
}


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
    >>> y_true = torch.tensor([[1.0, float("nan")], [3.0, 2.0]])
    >>> loss(torch.zeros(2, 2), y_true)
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

    def forward(self, y_pred, y_true, sample_weight=None):
        """Return a ``(n_tasks,)`` tensor of per-task losses.

        Parameters
        ----------
        y_pred : tensor of shape (n_samples, n_tasks)
        y_true : tensor of shape (n_samples, n_tasks)
            ``NaN`` marks a missing label.
        sample_weight : tensor of shape (n_samples,), default=None
        """
        observed = ~torch.isnan(y_true)
        # Replace missing labels by the prediction itself: the element-wise loss
        # there is 0 with 0 gradient, and no NaN ever enters autograd.
        y_true = torch.where(observed, y_true, y_pred.detach())
        weight = observed.to(y_pred.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight.unsqueeze(1)
        if len(self._groups) == 1:
            elementwise = self._groups[0][0](y_pred, y_true)
        else:
            elementwise = torch.empty_like(y_pred)
            for fn, cols in self._groups:
                elementwise[:, cols] = fn(y_pred[:, cols], y_true[:, cols])
        total_weight = weight.sum(dim=0)
        return (elementwise * weight).sum(dim=0) / total_weight.clamp_min(
            torch.finfo(total_weight.dtype).tiny
        )
