"""The skorch side: a tensor dataset, a slicing batch iterator and the net.

skorch's default path wraps data in a ``Dataset`` whose ``__getitem__`` returns
one sample, then a ``DataLoader`` collates samples one by one: most of the time
of a small network goes there. Here the data are tensors from the start
(training data on the training device; data to predict on the CPU, moved one
pass at a time), and a batch is a slice (or one gather, when shuffling) of
those tensors. Everything else (the epoch loop, callbacks, history) is skorch's.
"""

import math

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
    """

    def __init__(self, X, y=None, weight=None, holdout=None):
        self.X, self.y, self.weight, self.holdout = X, y, weight, holdout

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """``(X, (y, weight))`` rows at ``index`` (``(X, None)`` without y)."""
        if self.y is None:
            return self.X[index], None
        weight = None if self.weight is None else self.weight[index]
        return self.X[index], (self.y[index], weight)


def use_holdout(dataset, y=None, **fit_params):
    """skorch ``train_split``: train on ``dataset``, validate on its holdout."""
    return dataset, dataset.holdout


class BatchIterator:
    """Minibatches of a :class:`TaskDataset` by slicing whole tensors.

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


class MultiTaskNet(NeuralNet):
    """A skorch net whose criterion returns one loss per task.

    The criterion (:class:`skhealth.losses.MaskedMultiTaskLoss`) gets the batch's
    label weights; its task weighting turns the per-task losses into the
    objective and runs the backward pass (gradient-based strategies act on the
    module's shared parameters there). The weights in force during each epoch
    are recorded in the history as ``task_weights``. Prediction runs under
    :func:`torch.inference_mode`.
    """

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
            return self.module_(batch[0].to(self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, weight = y_true
        return self.criterion_.weighting.objective(self.criterion_(y_pred, y, weight))

    def forward(self, X, training=False, device="cpu"):
        if training or not isinstance(X, TaskDataset) or len(X) > self._eval_rows():
            return super().forward(X, training=training, device=device)
        # Data that fit in one pass (one person being served, say) go straight
        # to the evaluation step, without the batch loop and concatenation.
        return self.evaluation_step((X.X, None)).to(device)

    def get_iterator(self, dataset, training=False):
        if training:
            return super().get_iterator(dataset, training=True)
        # Validation and prediction: large batches in order. skorch would
        # gather the iterator's parameters by scanning the net's attributes, at
        # every predict: a noticeable part of a one-row prediction.
        return BatchIterator(dataset, self._eval_rows())

    def _eval_rows(self):
        return max(self.batch_size, _EVAL_ROWS)

    def _set_training(self, training=True):
        # skorch sets the mode of every submodule at every batch; once the
        # top-level modules are in the requested mode, so is the rest.
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def on_epoch_end(self, net, **kwargs):
        weighting = self.criterion_.weighting
        self.history.record("task_weights", weighting.weights().tolist())
        weighting.end_epoch()
