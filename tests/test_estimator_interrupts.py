"""Ctrl-C while training: fit leaves it unfitted, continuing leaves it as it was."""

import copy
import signal

import numpy as np
import pytest
import torch
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

pytestmark = NO_CONVERGENCE_NOISE


class _CtrlCIn(Callback):
    """Send this process SIGINT, as Ctrl-C does, in the given epoch: after its
    first training batch, or at its end (once the epoch is recorded)."""

    def __init__(self, epoch, at_end=False):
        self.epoch, self.at_end = epoch, at_end

    def on_batch_end(self, net, training=False, **kwargs):
        if training and not self.at_end and len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)

    def on_epoch_end(self, net, **kwargs):
        if self.at_end and len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)


class _KeyboardInterruptIn(Callback):
    """Raise KeyboardInterrupt after the given epoch's first training batch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    "callback",
    [_CtrlCIn(2), _CtrlCIn(2, at_end=True), _KeyboardInterruptIn(2)],
    ids=["ctrl_c_mid_epoch", "ctrl_c_at_the_epochs_end", "keyboard_interrupt"],
)
def test_interrupted_fit_raises_keyboard_interrupt_leaving_it_unfitted(
    regression_data, callback
):
    X, Y = regression_data
    reg = fast(max_iter=5, callbacks=[callback])
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_interrupted_refit_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(KeyboardInterrupt):
        reg.set_params(callbacks=[_CtrlCIn(1)]).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


class _FailAtTheEnd(Callback):
    """Raise when training ends, as a callback whose clean-up fails would."""

    def on_train_end(self, net, **kwargs):
        raise RuntimeError("clean-up failed")


def test_ctrl_c_followed_by_a_failing_callback_is_still_an_interrupt(
    regression_data,
):
    X, Y = regression_data
    reg = fast(max_iter=5, callbacks=[_CtrlCIn(2), _FailAtTheEnd()])
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def _trained_state(reg):
    """Copies of everything training changes, to compare after an interrupt."""
    net = reg.net_
    return {
        "module": copy.deepcopy(net.module_.state_dict()),
        "criterion": copy.deepcopy(net.criterion_.state_dict()),
        "optimizer": copy.deepcopy(net.optimizer_.state_dict()),
        "settings": (
            net.lr,
            net.batch_size,
            net.iterator_train__shuffle,
            net.max_epochs,
        ),
        "history": copy.deepcopy(list(net.history)),
        "attributes": copy.deepcopy(
            {
                name: getattr(reg, name)
                for name in ("n_iter_", "loss_curve_", "best_loss_", "task_weights_")
            }
        ),
    }


def _assert_same_state(state, expected):
    assert state.keys() == expected.keys()
    for key, value in state.items():
        if key in ("module", "criterion"):
            assert value.keys() == expected[key].keys()
            for name, tensor in value.items():
                torch.testing.assert_close(tensor, expected[key][name], rtol=0, atol=0)
        elif key == "optimizer":
            assert value["param_groups"] == expected[key]["param_groups"]
            torch.testing.assert_close(
                value["state"], expected[key]["state"], rtol=0, atol=0
            )
        else:
            np.testing.assert_equal(value, expected[key])


@pytest.mark.parametrize(
    ("method", "callback"),
    [
        ("partial_fit", _CtrlCIn(4)),
        ("fit", _CtrlCIn(5)),  # its second epoch: the first changed the weights
        ("fit", _CtrlCIn(4, at_end=True)),
        ("fit", _KeyboardInterruptIn(5)),
    ],
    ids=["partial_fit", "warm_start", "warm_start_at_an_epochs_end", "keyboard_int"],
)
def test_interrupted_continuation_leaves_the_estimator_as_it_was(
    regression_data, method, callback
):
    X, Y = regression_data
    reg = fast(
        max_iter=3,
        warm_start=True,
        task_weighting="uncertainty",  # the criterion learns too
        callbacks=[callback],
    ).fit(X, Y)
    before, predicted = _trained_state(reg), reg.predict(X)
    reg.set_params(learning_rate_init=0.05, batch_size=50, shuffle=False)
    with pytest.raises(KeyboardInterrupt):
        getattr(reg, method)(X, Y)
    _assert_same_state(_trained_state(reg), before)
    np.testing.assert_array_equal(reg.predict(X), predicted)
