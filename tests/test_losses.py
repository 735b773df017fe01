"""The masked per-task losses, against the same losses computed by hand."""

import numpy as np
import pytest
import torch

from skhealth.losses import LOSSES, MaskedMultiTaskLoss, label_weights

# each element-wise loss of a prediction (a log-odds for log_loss) and a label
_BY_HAND = {
    "squared_error": lambda p, t: (p - t) ** 2,
    "absolute_error": lambda p, t: np.abs(p - t),
    "huber": lambda p, t: np.where(
        np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5
    ),
    # -log(sigmoid(p)) for a 1, -log(1 - sigmoid(p)) for a 0
    "log_loss": lambda p, t: np.logaddexp(0, p) - t * p,
}


@pytest.fixture
def batch():
    rng = np.random.RandomState(0)
    y_pred = rng.normal(size=(12, 3)).astype(np.float32)
    y_true = (y_pred + 2 * rng.normal(size=(12, 3))).astype(np.float32)
    y_true[rng.rand(12, 3) < 0.4] = np.nan
    y_true[:, 2] = np.nan  # a task without any label in this batch
    weight = rng.uniform(0.5, 2.0, size=12).astype(np.float32)
    return y_pred, y_true, weight


def _by_hand(kind, y_pred, y_true, weight):
    losses = []
    for t in range(y_true.shape[1]):
        observed = ~np.isnan(y_true[:, t])
        if not observed.any():
            losses.append(0.0)
            continue
        elementwise = _BY_HAND[kind](y_pred[observed, t], y_true[observed, t])
        w = weight[observed]
        losses.append(float((w * elementwise).sum() / w.sum()))
    return losses


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_masked_loss_equals_the_weighted_loss_on_observed_labels(kind, batch):
    y_pred, y_true, weight = batch
    loss = MaskedMultiTaskLoss([kind] * 3)(
        torch.from_numpy(y_pred),
        *label_weights(torch.from_numpy(y_true), torch.from_numpy(weight)),
    )
    np.testing.assert_allclose(
        loss.numpy(), _by_hand(kind, y_pred, y_true, weight), rtol=1e-6
    )


def test_each_task_gets_its_own_loss(batch):
    y_pred, y_true, weight = batch
    kinds = ["huber", "absolute_error", "squared_error"]
    loss = MaskedMultiTaskLoss(kinds)(
        torch.from_numpy(y_pred),
        *label_weights(torch.from_numpy(y_true), torch.from_numpy(weight)),
    )
    expected = [
        _by_hand(kind, y_pred, y_true, weight)[t] for t, kind in enumerate(kinds)
    ]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)


def test_missing_labels_give_no_gradient_and_no_nan(batch):
    y_pred, y_true, weight = batch
    pred = torch.from_numpy(y_pred).requires_grad_()
    loss = MaskedMultiTaskLoss(["squared_error"] * 3)(
        pred, *label_weights(torch.from_numpy(y_true), torch.from_numpy(weight))
    )
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert (pred.grad[np.isnan(y_true)] == 0).all()
    assert (pred.grad[~np.isnan(y_true)] != 0).all()


def test_a_task_without_labels_gets_no_gradient_under_any_task_weight():
    # 0 / a tiny number would overflow to inf * 0 = NaN under a large weight
    y_true, weight = label_weights(torch.tensor([[1.0, float("nan")]] * 4))
    pred = torch.zeros(4, 2, requires_grad=True)
    losses = MaskedMultiTaskLoss(["squared_error"] * 2)(pred, y_true, weight)
    (losses * torch.tensor([1.0, 1e6])).sum().backward()
    assert torch.equal(pred.grad[:, 1], torch.zeros(4))


def test_complete_labels_with_uniform_weights_need_no_weights():
    y = torch.randn(5, 2)
    y_out, weight = label_weights(y, torch.full((5,), 3.0))
    assert y_out is y
    assert weight is None


def test_unweighted_loss_equals_the_loss_with_unit_weights(batch):
    y_pred, y_true, _ = batch
    y_true = np.nan_to_num(y_true)
    loss = MaskedMultiTaskLoss(["huber"] * 3)
    pred, true = torch.from_numpy(y_pred), torch.from_numpy(y_true)
    torch.testing.assert_close(loss(pred, true), loss(pred, true, torch.ones(12, 3)))


@pytest.mark.parametrize("kinds", [["huber"] * 3, ["huber", "absolute_error", "huber"]])
def test_ensemble_loss_is_the_mean_of_its_members_losses(batch, kinds):
    y_pred, y_true, weight = batch
    members = np.stack([y_pred, 2 * y_pred, y_pred - 1])
    targets = label_weights(torch.from_numpy(y_true), torch.from_numpy(weight))
    loss = MaskedMultiTaskLoss(kinds)
    expected = torch.stack([loss(torch.from_numpy(m), *targets) for m in members])
    torch.testing.assert_close(
        loss(torch.from_numpy(members), *targets), expected.mean(dim=0)
    )
