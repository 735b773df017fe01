"""Training that diverges or fails leaves the estimator unfitted or consistent."""

import numpy as np
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch.callbacks import Callback

pytestmark = NO_CONVERGENCE_NOISE


def test_failed_refit_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="one per task"):
        reg.set_params(loss=["huber"]).fit(X, Y * 1000)
    with pytest.raises(NotFittedError):
        reg.predict(X)


class _FailAt(Callback):
    """Raise in the given epoch's end, as a callback hitting a full disk would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("the disk is full")


def test_failed_continued_fit_keeps_attributes_matching_the_history(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=3, warm_start=True, callbacks=[_FailAt(5)]).fit(X, Y)
    with pytest.raises(RuntimeError, match="the disk is full"):
        reg.fit(X, Y)
    # epoch 5 failed at its end: the network kept is the one after epoch 5
    assert reg.n_iter_ == len(reg.history_) == 5
    assert reg.loss_curve_ == reg.history_[:, "train_loss"]
    np.testing.assert_array_equal(reg.task_weights_, reg.history_[-1, "task_weights"])


# ---------------------------------------------------------------- divergence
def test_diverging_training_is_a_value_error_leaving_the_estimator_unfitted(
    regression_data,
):
    X, Y = regression_data
    reg = fast(learning_rate_init=1e20)
    # the first loss overflows to inf or nan depending on the BLAS kernels
    message = r"diverged in epoch 1 \(training loss (nan|inf)\): the network's weights"
    with pytest.raises(ValueError, match=message):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_a_last_step_to_infinite_weights_is_a_divergence(regression_data):
    X, Y = regression_data  # one batch: the step after its loss breaks the weights
    reg = fast(n_members=1, batch_size=len(X), learning_rate_init=1e20)
    with pytest.raises(ValueError, match=r"diverged: the network's weights or predic"):
        reg.partial_fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


@pytest.mark.parametrize(
    ("loss", "learning_rate_init"),
    [("squared_error", 1e3), ("absolute_error", 1e4), ("huber", 1e4)],
)
def test_training_to_meaningless_predictions_is_a_divergence_leaving_it_unfitted(
    regression_data, loss, learning_rate_init
):
    X, Y = regression_data
    reg = fast(loss=loss, learning_rate_init=learning_rate_init)
    message = (
        r"^Training diverged: the network's predictions of its training data are "
        r"meaningless, their squared error \S+ times that of predicting each "
        r"target's mean \(R² -\S+\) and over a thousand times that of the network "
        r"it started from\. Lower learning_rate_init, or scale the inputs"
    )
    with pytest.raises(ValueError, match=message):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_continuing_to_meaningless_predictions_leaves_the_estimator_unfitted(
    regression_data,
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="predictions of its training data are mea"):
        reg.set_params(learning_rate_init=1e3).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_training_on_to_divergence_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="Training diverged"):
        reg.set_params(learning_rate_init=1e20).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


@pytest.mark.filterwarnings("ignore:Input X has .* far from standardised")
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_network_still_learning_from_unscaled_inputs_has_not_diverged(
    regression_data, method
):
    X, Y = regression_data
    X = 10_000 * X  # the network starts far off, and improves
    reg = getattr(fast(), method)(X, Y)
    assert reg.score(X, Y) < -999


class _BlowUpAt(Callback):
    """Set a learning rate that ruins the network from the given epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            for group in net.optimizer_.param_groups:
                group["lr"] = 1e20


def test_early_stopping_keeps_its_best_weights_when_training_diverges(
    regression_data,
):
    X, Y = regression_data
    reg = fast(early_stopping=True, n_iter_no_change=3, callbacks=[_BlowUpAt(6)])
    with pytest.warns(ConvergenceWarning, match=r"diverged in epoch 6 .*early stopp"):
        reg.fit(X, Y)
    assert np.isfinite(reg.predict(X)).all()
    assert reg.best_validation_score_ == max(reg.validation_scores_[:5])


def test_best_validation_score_is_that_of_the_weights_kept(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, warm_start=True, max_iter=40, n_members=1)
    reg.fit(X, Y)
    first = reg.best_validation_score_
    # a second fit at a rate that ruins the network: its best epoch is kept
    reg.set_params(learning_rate_init=1.0, max_iter=3).fit(X, Y)
    assert reg.best_validation_score_ == max(reg.validation_scores_[-3:])
    assert reg.best_validation_score_ < first
