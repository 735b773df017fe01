"""How fit trains: losses, decay, sample weights, missing labels, stopping, seeds."""

import numpy as np
import pytest
import torch
from _estimator_helpers import NO_CONVERGENCE_NOISE, decay_by_parameter, fast
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import make_health_data

pytestmark = NO_CONVERGENCE_NOISE


# ----------------------------------------------------------------- optimiser
def test_each_task_trains_with_its_own_loss():
    # Constant inputs: each task's prediction is the constant that minimises its
    # loss, the median under absolute error, the mean under squared error.
    X, Y = np.zeros((400, 2)), np.random.RandomState(0).exponential(size=(400, 2))
    reg = MultiTaskHealthRegressor(
        loss=["absolute_error", "squared_error"],
        hidden_layer_sizes=(8,),
        n_members=1,
        dropout=0.0,
        learning_rate_init=1e-2,
        batch_size=200,  # steps noisy enough to matter are not what this tests
        early_stopping=False,
        random_state=0,
    ).fit(X, Y)
    np.testing.assert_allclose(
        reg.predict(X[:1])[0], [np.median(Y[:, 0]), Y[:, 1].mean()], atol=0.02
    )


def test_alpha_decays_the_weights_and_not_the_biases(regression_data):
    X, Y = regression_data
    reg = fast(alpha=1e-3, n_members=1, max_iter=1).fit(X, Y)
    for name, decay in decay_by_parameter(reg).items():
        assert decay == (0.0 if name.endswith("bias") else 1e-3), name


# ------------------------------------------------------------ sample weights
def test_zero_sample_weight_equals_removing_the_rows(regression_data):
    X, Y = regression_data
    weights = np.ones(len(X))
    weights[::3] = 0
    np.testing.assert_array_equal(
        fast().fit(X, Y, sample_weight=weights).predict(X),
        fast().fit(X[weights > 0], Y[weights > 0]).predict(X),
    )


def test_integer_sample_weight_equals_repeating_rows_to_float32_precision():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    weights = rng.randint(1, 4, size=40)
    # One full batch per epoch, no shuffling and no dropout: both fits see the
    # same sums.
    params = dict(batch_size=200, shuffle=False, dropout=0.0, n_members=1)
    np.testing.assert_allclose(
        fast(**params).fit(X, y, sample_weight=weights).predict(X),
        fast(**params).fit(np.repeat(X, weights, 0), np.repeat(y, weights)).predict(X),
        rtol=1e-4,
        atol=1e-5,
    )


def test_sample_weight_changes_the_fit(regression_data):
    X, Y = regression_data
    weights = np.where(X[:, 0] > 0, 10.0, 1.0)
    assert not np.array_equal(
        fast().fit(X, Y, sample_weight=weights).predict(X), fast().fit(X, Y).predict(X)
    )


# ------------------------------------------------------------ missing labels
def test_partially_labelled_rows_beat_complete_rows_only():
    # 4 related tasks, 30 % of each task's labels missing at random: only
    # 0.7**4 = 24 % of rows are complete, the other rows still carry labels.
    X, Y = make_health_data(
        n_samples=1000,
        n_features=10,
        n_tasks=4,
        task_relatedness=0.8,
        noise=0.3,
        nonlinearity=0.3,
        random_state=0,
    )[:2]
    X_test, Y_test = X[600:], Y[600:]
    X, Y = X[:600], Y[:600].copy()
    Y[np.random.RandomState(1).rand(*Y.shape) < 0.3] = np.nan
    complete = ~np.isnan(Y).any(axis=1)
    params = dict(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=60, batch_size=200)
    partial = fast(**params).fit(X, Y).score(X_test, Y_test)
    complete_only = fast(**params).fit(X[complete], Y[complete]).score(X_test, Y_test)
    assert partial > complete_only + 0.1  # 0.80 against 0.57 when written


# ------------------------------------------------------------------ stopping
def test_training_stops_when_the_loss_stops_improving(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=500, tol=10.0, n_iter_no_change=3).fit(X, Y)
    assert reg.n_iter_ == 4  # the first epoch sets the best; three misses stop it


def test_reaching_max_iter_warns_about_convergence(regression_data):
    X, Y = regression_data
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        fast(max_iter=3).fit(X, Y)


def test_early_stopping_records_validation_r2_and_keeps_the_best(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=300, n_iter_no_change=5).fit(X, Y)
    assert reg.n_iter_ < 300
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_loss_ is None
    assert reg.validation_scores_ == list(reg.history_[:, "valid_r2"])


@pytest.mark.parametrize(
    ("early_stopping", "n_samples", "expected"),
    [
        ("auto", 999, False),
        ("auto", 1000, True),
        (True, 240, True),
        (False, 1000, False),
    ],
)
def test_early_stopping_auto_holds_out_data_from_1000_rows(
    early_stopping, n_samples, expected
):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(n_samples, 3)), rng.normal(size=n_samples)
    reg = fast(early_stopping=early_stopping, max_iter=2, n_members=1).fit(X, y)
    assert reg.do_early_stopping_ is expected
    assert ("valid_r2" in reg.history_[-1]) is expected


def test_early_stopping_with_too_little_validation_data_is_a_value_error():
    X, y = np.random.RandomState(0).normal(size=(10, 2)), np.arange(10.0)
    with pytest.raises(ValueError, match=r"validation set .* fewer than 2 observed"):
        fast(early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_held_out_labels_leaving_a_task_none_to_train_on_is_a_value_error():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    Y[2:, 1] = np.nan  # task 1 has 2 labels
    reg = fast(early_stopping=True, validation_fraction=0.5)
    # seeds whose split holds out both of task 1's labels, and one that does not
    with pytest.raises(ValueError, match=r"no label for task 1 \('task_1'\)"):
        reg.set_params(random_state=4).fit(X, Y)
    reg.set_params(random_state=0).fit(X, Y)


# ------------------------------------------------------------------- history
def test_history_records_each_tasks_loss_and_r2(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=4, n_iter_no_change=10).fit(X, Y)
    for split in ("train", "valid"):
        for metric in ("loss", "r2"):
            keys = [f"{split}_{metric}_task_{t}" for t in range(3)]
            assert all(len(reg.history_[:, key]) == 4 for key in keys)
    last = reg.history_[-1]
    assert last["valid_r2"] == pytest.approx(
        np.mean([last[f"valid_r2_task_{t}"] for t in range(3)])
    )


def test_validation_r2_per_task_is_that_of_the_restored_model(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=40, n_iter_no_change=3).fit(X, Y)
    best = int(np.argmax(reg.validation_scores_))
    # the held-out rows, as the estimator drew them
    _, X_val, _, Y_val = train_test_split(
        X, Y, test_size=reg.validation_fraction, random_state=reg._seed
    )
    scores = reg.score_tasks(X_val, Y_val)["r2"]
    recorded = [reg.history_[best, f"valid_r2_task_{t}"] for t in range(3)]
    np.testing.assert_allclose(scores, recorded, atol=1e-5)


def test_per_task_training_losses_average_to_the_equal_weighted_loss(
    regression_data,
):
    X, Y = regression_data
    # one batch per epoch: the epoch loss is that batch's objective
    reg = fast(batch_size=len(X), max_iter=3).fit(X, Y)
    for epoch in reg.history_:
        per_task = [epoch[f"train_loss_task_{t}"] for t in range(3)]
        assert np.mean(per_task) == pytest.approx(epoch["train_loss"], rel=1e-6)


# ---------------------------------------------------------------- randomness
def test_same_random_state_gives_bit_identical_predictions(regression_data):
    X, Y = regression_data
    params = dict(dropout=0.2, early_stopping=True)
    np.testing.assert_array_equal(
        fast(**params).fit(X, Y).predict(X), fast(**params).fit(X, Y).predict(X)
    )


def test_different_random_states_give_different_models(regression_data):
    X, Y = regression_data
    a = fast(random_state=0).fit(X, Y).predict(X)
    b = fast(random_state=1).fit(X, Y).predict(X)
    assert not np.array_equal(a, b)


def test_fit_leaves_torch_global_random_state_alone(regression_data):
    X, Y = regression_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fast(dropout=0.3).fit(X, Y)
    np.testing.assert_array_equal(torch.rand(3), expected)
