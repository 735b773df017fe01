"""skorch callbacks used by :class:`~skhealth.MultiTaskHealthRegressor`.

They are ordinary skorch callbacks: they read the net's batches and write to
its ``history``, so they compose with any callback a user adds.
"""

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping

from .metrics import task_scores

__all__ = ["PlateauStopping", "ValidationR2"]


class ValidationR2(Callback):
    """Record the validation R² (mean over tasks, missing labels ignored).

    Collects the predictions the net already makes on the validation batches
    (no extra forward pass) and writes ``valid_r2`` to the epoch's history.
    Epochs without validation data record nothing.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.y_true_, self.y_pred_ = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self.y_true_.append(batch[1][0])
            self.y_pred_.append(y_pred)

    def on_epoch_end(self, net, **kwargs):
        if not self.y_pred_:
            return
        y_true = torch.cat(self.y_true_).cpu().numpy()
        y_pred = torch.cat(self.y_pred_).cpu().numpy()
        self.y_true_, self.y_pred_ = [], []
        r2 = task_scores(y_true, y_pred)["r2"].to_numpy()
        net.history.record("valid_r2", float(np.nanmean(r2)))


class PlateauStopping(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping`, skipping unscored epochs.

    Epochs whose history lacks the monitored value (for instance validation
    scores during a ``partial_fit`` that holds nothing out) neither count as a
    miss nor as an improvement.
    """

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)
