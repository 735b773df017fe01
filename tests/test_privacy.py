"""Differentially private training (skhealth.privacy): the per-row gradients,
the clipping and noise of Opacus' DPOptimizer, Poisson batches, the
accounting, and the settings a private fit refuses."""

import copy
import json
import zipfile

import numpy as np
import pytest
import torch

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor, load, save
from skhealth.datasets import make_health_data
from skhealth.privacy import DP, PoissonBatches

pytest.importorskip("opacus")

ARCHITECTURES = ["hard", "mmoe", "cross_stitch", "hierarchical"]


@pytest.fixture(scope="module")
def data():
    X, Y = make_health_data(n_samples=400, n_features=6, n_tasks=3, random_state=0)
    Y[::5, 1] = np.nan
    return X.astype(np.float32), Y


def bounds(Y):
    return [(float(np.nanmin(c)) - 1, float(np.nanmax(c)) + 1) for c in Y.T]


def private(Y, **params):
    dp = params.pop("dp", {})
    defaults = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0, dropout=0)
    return MultiTaskHealthRegressor(
        **{**defaults, **params},
        dp=DP(**{"target_epsilon": 3, "target_bounds": bounds(Y), **dp}),
    )


def training_batch(reg, X, Y, rows):
    """Rows of the net's training data (standardised, with label weights)."""
    Z = reg._target_scaler.transform(Y[rows]).astype(np.float32)
    observed = ~np.isnan(Z)
    return (
        torch.as_tensor(X[rows]),
        (torch.as_tensor(np.where(observed, Z, 0)), torch.as_tensor(observed * 1.0)),
    )


def row_gradients_by_loop(net, batch):
    """Each row's gradient of its own loss, one backward pass per row."""
    X, (y, weight) = batch
    module, criterion = net.module_, net.criterion_
    module.train()
    grads = []
    for i in range(len(X)):
        module.zero_grad()
        out = module(X[i : i + 1])
        losses = criterion.row_losses(out, y[i : i + 1], weight[i : i + 1])[0]
        criterion.weighting.objective(losses).backward()
        grads.append({n: p.grad.clone() for n, p in module.named_parameters()})
    return grads


@pytest.mark.parametrize("n_members", [1, 3])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_per_row_gradients_equal_a_loop_over_rows(data, architecture, n_members):
    X, Y = data
    reg = private(
        Y, architecture=architecture, n_members=n_members, head_layer_sizes=(8,)
    ).fit(X, Y)
    batch = training_batch(reg, X, Y, np.arange(10))
    net = reg.net_
    net.train_step_single(batch)
    expected = row_gradients_by_loop(net, batch)
    for name, p in net.module_.named_parameters():
        loop = torch.stack([row[name] for row in expected])
        torch.testing.assert_close(p.grad_sample, loop, rtol=1e-4, atol=1e-6)


def test_per_row_gradients_of_mixed_losses_equal_a_loop(data):
    X, Y = data
    Y = Y.copy()
    Y[:, 2] = (Y[:, 2] > 0).astype(float)
    reg = private(Y, loss=["squared_error", "huber", "log_loss"]).fit(X, Y)
    batch = training_batch(reg, X, Y, np.arange(8))
    reg.net_.train_step_single(batch)
    expected = row_gradients_by_loop(reg.net_, batch)
    for name, p in reg.net_.module_.named_parameters():
        loop = torch.stack([row[name] for row in expected])
        torch.testing.assert_close(p.grad_sample, loop, rtol=1e-4, atol=1e-6)


def test_without_noise_or_clipping_a_private_step_is_an_ordinary_one(data):
    X, Y = data
    reg = private(Y).fit(X, Y)
    net = reg.net_
    optimizer = net.optimizer_
    optimizer.noise_multiplier, optimizer.max_grad_norm = 0.0, 1e9
    # a batch of the expected size, every label observed: the ordinary loss's
    # per-task means are then the private loss's sum over the expected size
    complete = np.flatnonzero(~np.isnan(Y).any(axis=1))[: optimizer.expected_batch_size]
    batch = training_batch(reg, X, Y, complete)
    ordinary = copy.deepcopy(net)
    adam = ordinary.optimizer_.original_optimizer
    adam.zero_grad()
    ordinary.module_.train()
    X_batch, (y, weight) = batch
    task_losses = ordinary.criterion_(ordinary.module_(X_batch), y, weight)
    ordinary.criterion_.weighting.objective(task_losses).backward()
    adam.step()

    net.train_step(batch)
    for (name, p), q in zip(
        net.module_.named_parameters(), ordinary.module_.parameters(), strict=True
    ):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7, msg=name)


def summed_clipped_gradient(net, batch):
    net.optimizer_.zero_grad()
    net.train_step_single(batch)
    net.optimizer_.clip_and_accumulate()
    return torch.cat([p.summed_grad.flatten() for p in net.optimizer_.params])


def test_removing_one_row_moves_the_clipped_sum_by_at_most_the_clip_norm(data):
    X, Y = data
    clip = 0.01
    reg = private(Y, dp={"max_grad_norm": clip}).fit(X, Y)
    rows = np.arange(30)
    batch = training_batch(reg, X, Y, rows)
    reg.net_.train_step_single(batch)
    norms = torch.stack(
        [p.grad_sample.flatten(1).norm(dim=1) for p in reg.net_.optimizer_.params]
    ).norm(dim=0)
    assert (norms > 10 * clip).all()  # clipping is what bounds them
    whole = summed_clipped_gradient(reg.net_, batch)
    for left_out in (0, 7, 29):
        fewer = training_batch(reg, X, Y, np.delete(rows, left_out))
        moved = (whole - summed_clipped_gradient(reg.net_, fewer)).norm()
        assert moved <= clip * (1 + 1e-4)
        assert moved >= clip * (1 - 1e-4)  # a clipped row moves it by exactly C


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
@pytest.mark.parametrize("target_epsilon", [1.0, 8.0])
def test_the_epsilon_spent_is_at_most_the_target(data, accountant, target_epsilon):
    X, Y = data
    reg = private(
        Y, max_iter=3, dp={"target_epsilon": target_epsilon, "accountant": accountant}
    ).fit(X, Y)
    assert 0.9 * target_epsilon <= reg.epsilon_ <= target_epsilon
    assert reg.delta_ == 1e-5
    # 3 epochs of n / batch_size Poisson batches
    steps = sum(step for _, _, step in reg.net_.privacy.history)
    assert steps == 3 * (400 // reg.net_.batch_size)


def test_poisson_batches_average_the_expected_size():
    from skhealth._net import TaskDataset

    torch.manual_seed(0)
    dataset = TaskDataset(torch.arange(1000.0)[:, None], torch.zeros(1000, 1))
    batches = PoissonBatches(dataset, 50)
    assert len(batches) == 20
    sizes = np.array([len(X) for _ in range(50) for X, _ in batches])
    # each size is Binomial(1000, 0.05): mean 50, standard deviation 6.9
    assert abs(sizes.mean() - 50) < 3 * 6.9 / np.sqrt(sizes.size)
    assert sizes.std() == pytest.approx(6.9, rel=0.15)


def test_a_private_fit_standardises_by_the_bounds_alone(data):
    X, Y = data
    reg = private(Y, dp={"target_bounds": [(-1, 1), (0, 10), (-5, 5)]}).fit(X, Y)
    np.testing.assert_array_equal(reg._target_scaler.mean_, [0, 5, 0])
    np.testing.assert_array_equal(reg._target_scaler.scale_, [0.5, 2.5, 2.5])
    assert reg._target_scaler.n_samples_seen_ == 0


def test_a_label_outside_its_bounds_trains_as_the_bound(data):
    X, Y = data
    ranges = [(-1, 1), (0, 10), (-5, 5)]
    outlier, at_bound = Y.copy(), Y.copy()
    outlier[3, 0], at_bound[3, 0] = 1e6, 1.0
    outlier[4, 2], at_bound[4, 2] = -1e6, -5.0
    one = private(Y, dp={"target_bounds": ranges}).fit(X, outlier)
    two = private(Y, dp={"target_bounds": ranges}).fit(X, at_bound)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))


def test_a_private_fit_trains_max_iter_epochs_without_a_convergence_warning(
    data, recwarn
):
    X, Y = data
    reg = private(Y, max_iter=4, tol=10.0, n_iter_no_change=1).fit(X, Y)
    assert reg.n_iter_ == 4
    assert not [w for w in recwarn if "Maximum iterations" in str(w.message)]
    assert not hasattr(reg, "validation_scores_") or reg.validation_scores_ is None


def test_continuing_past_the_planned_epochs_warns_of_the_epsilon_spent(data):
    X, Y = data
    reg = private(Y, max_iter=2).fit(X, Y)
    first = reg.epsilon_
    with pytest.warns(UserWarning, match=r"spent epsilon=.* more than dp\.target"):
        reg.partial_fit(X, Y)
    assert reg.epsilon_ > first
    assert reg.noise_multiplier_ == reg.net_.privacy.noise_multiplier


def test_the_same_random_state_gives_the_same_private_model(data):
    X, Y = data
    one = private(Y).fit(X, Y).predict(X)
    two = private(Y).fit(X, Y).predict(X)
    np.testing.assert_array_equal(one, two)


def test_a_private_classifier_trains_and_accounts(data):
    X, Y = data
    labels = (Y > 0).astype(float)
    labels[np.isnan(Y)] = np.nan
    clf = MultiTaskHealthClassifier(
        hidden_layer_sizes=(16,), max_iter=2, random_state=0, dp=DP(target_epsilon=2)
    ).fit(X, labels)
    assert 1.8 <= clf.epsilon_ <= 2
    assert clf.predict_proba(X).shape == (400, 3)


@pytest.mark.parametrize(
    ("dp", "message"),
    [
        ({"target_epsilon": 0}, r"'target_epsilon' parameter of DP must be"),
        ({"target_epsilon": -1}, r"'target_epsilon' parameter of DP must be"),
        ({"target_delta": 0}, r"'target_delta' parameter of DP must be"),
        ({"target_delta": 1}, r"'target_delta' parameter of DP must be"),
        ({"max_grad_norm": 0}, r"'max_grad_norm' parameter of DP must be"),
        ({"accountant": "gdp"}, r"'accountant' parameter of DP must be"),
        (
            {"target_bounds": None},
            r"no range for task 0 \('task_0'\).*\{'task_0': \(low",
        ),
        ({"target_bounds": [(0, 1)]}, r"has 1 entries but y has 3 tasks"),
        ({"target_bounds": {"sbp": (0, 1)}}, r"no range for task 0 \('task_0'\)"),
        ({"target_bounds": {5: (0, 1)}}, r"task index 5, but y has 3 tasks"),
        (
            {"target_bounds": [(1, 0), (0, 1), (0, 1)]},
            r"task 0 \('task_0'\) must be two finite numbers .*low < high; "
            r"got \(1, 0\)",
        ),
    ],
)
def test_bad_privacy_settings_are_value_errors_naming_them(data, dp, message):
    X, Y = data
    with pytest.raises(ValueError, match=message):
        private(Y, dp=dp).fit(X, Y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"early_stopping": True}, r"early_stopping=True cannot be used.*=False"),
        ({"early_stopping": "cross_fit", "n_members": 2}, r"='cross_fit' cannot"),
        ({"task_weighting": "uncertainty"}, r"'uncertainty' cannot be used with dp"),
        ({"task_weighting": "gradnorm"}, r"'gradnorm' cannot be used with dp.*'equal'"),
    ],
)
def test_settings_that_read_private_rows_unaccounted_are_refused(data, params, message):
    X, Y = data
    with pytest.raises(ValueError, match=message):
        private(Y, **params).fit(X, Y)


def test_fixed_task_weights_are_allowed_with_dp(data):
    X, Y = data
    reg = private(Y, task_weighting=[1, 2, 1]).fit(X, Y)
    np.testing.assert_allclose(reg.task_weights_, [0.75, 1.5, 0.75])


def test_a_learnt_target_transform_is_refused_with_dp(data):
    from sklearn.preprocessing import QuantileTransformer

    X, Y = data
    with pytest.raises(ValueError, match=r"fits a transformer to the labels of 'task"):
        private(Y, target_transform=QuantileTransformer(n_quantiles=10)).fit(X, Y)


def test_balanced_class_weight_is_refused_with_dp(data):
    X, Y = data
    labels = (Y > 0).astype(float)
    clf = MultiTaskHealthClassifier(
        max_iter=1, class_weight="balanced", dp=DP(target_epsilon=2)
    )
    with pytest.raises(ValueError, match=r"class_weight='balanced' cannot be used"):
        clf.fit(X, labels)


def test_a_model_file_keeps_the_privacy_spent_and_no_training_loss(data, tmp_path):
    X, Y = data
    reg = private(Y).fit(X, Y)
    path = tmp_path / "private.skh"
    save(reg, path)
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["attributes"]["loss_curve_"] is None
    assert all(
        set(epoch) <= {"epoch", "dur", "task_weights", "batches"}
        for epoch in metadata["net"]["history"]
    )
    loaded = load(path)
    assert loaded.epsilon_ == reg.epsilon_
    assert loaded.dp.get_params() == reg.dp.get_params()
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    # continuing to train after loading stays private, and accounts on
    with pytest.warns(UserWarning, match="more than dp.target_epsilon"):
        loaded.partial_fit(X, Y)
    assert loaded.net_.private
    assert loaded.epsilon_ > reg.epsilon_


def test_a_pickled_private_model_predicts_and_trains_on_privately(data):
    import pickle

    X, Y = data
    reg = private(Y).fit(X, Y)
    copy_ = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy_.predict(X), reg.predict(X))
    assert type(copy_.net_.optimizer_).__name__ == "DPOptimizer"
    with pytest.warns(UserWarning, match="more than dp.target_epsilon"):
        copy_.partial_fit(X, Y)
    assert copy_.epsilon_ > reg.epsilon_


def test_info_shows_the_privacy_spent(data, tmp_path, capsys):
    from skhealth.cli import main

    X, Y = data
    reg = private(Y, dp={"target_epsilon": 2, "accountant": "rdp"}).fit(X, Y)
    save(reg, tmp_path / "private.skh")
    assert main(["info", str(tmp_path / "private.skh")]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(line for line in lines if line.startswith("privacy:"))
    assert line == (
        f"privacy: differentially private, epsilon = {reg.epsilon_:.3g} spent at "
        f"delta = 1e-05 (target epsilon 2; DP-SGD, noise multiplier "
        f"{reg.noise_multiplier_:.3g}, gradients clipped to 1, rdp accountant)"
    )


def test_a_private_models_file_refuses_a_data_profile(data, tmp_path):
    X, Y = data
    reg = private(Y).fit(X, Y)
    with pytest.raises(ValueError, match=r"trained with dp.*Save with\s+profile=False"):
        save(reg, tmp_path / "private.skh", profile=X)
    assert not (tmp_path / "private.skh").exists()


def test_bounds_of_tasks_y_lacks_are_ignored(data):
    X, Y = data
    ranges = {f"task_{t}": bound for t, bound in enumerate(bounds(Y))}
    reg = private(Y, dp={"target_bounds": {**ranges, "hba1c": (3.5, 17)}}).fit(X, Y)
    np.testing.assert_array_equal(
        reg._target_scaler.mean_, [(low + high) / 2 for low, high in bounds(Y)]
    )
