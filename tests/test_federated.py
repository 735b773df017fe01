"""Federated training (skhealth.federated): statistics pooled without rows,
one initial model, per-task aggregation, local rounds, and the site errors.
The Flower engines run in tests/test_federated_flower.py."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from skhealth import MultiTaskHealthRegressor, load, save
from skhealth.datasets import make_health_data
from skhealth.federated import (
    aggregate,
    get_weights,
    initial_model,
    local_update,
    pool_statistics,
    set_weights,
    site_statistics,
    task_ownership,
)
from skhealth.federated._core import record_rounds

SEX = pd.CategoricalDtype(["female", "male"])


def make_rows(rows, missing_task=None):
    """Rows of one synthetic population: features with a categorical column
    and missing values, three targets with missing labels."""
    X, Y = make_health_data(n_samples=750, n_features=3, n_tasks=3, random_state=0)
    sex = np.random.default_rng(0).choice(["female", "male"], 750)
    X = pd.DataFrame(X, columns=["age", "bmi", "steps"]).assign(
        sex=pd.Series(sex).astype(SEX)
    )
    X.loc[::7, "bmi"] = np.nan
    Y = pd.DataFrame(Y, columns=["sbp", "hdl", "hba1c"])
    Y.loc[::5, "hdl"] = np.nan
    X, Y = X.iloc[rows].reset_index(drop=True), Y.iloc[rows].reset_index(drop=True)
    if missing_task is not None:
        Y[missing_task] = np.nan
    return X, Y


@pytest.fixture(scope="module")
def sites():
    return {
        "north": make_rows(slice(0, 200)),
        "south": make_rows(slice(200, 350)),
        "clinic": make_rows(slice(350, 450), missing_task="hba1c"),
    }


@pytest.fixture(scope="module")
def pooled(sites):
    return pool_statistics(
        [site_statistics(X, Y) for X, Y in sites.values()], list(sites)
    )


def estimator(**params):
    defaults = dict(hidden_layer_sizes=(16,), n_members=1, random_state=0)
    return MultiTaskHealthRegressor(**{**defaults, **params})


def test_pooled_statistics_are_those_of_the_pooled_rows(sites, pooled):
    X = pd.concat([X for X, _ in sites.values()])
    Y = pd.concat([Y for _, Y in sites.values()])
    assert pooled["n_rows"] == 450
    np.testing.assert_allclose(pooled["target_mean"], Y.mean().to_numpy())
    np.testing.assert_allclose(pooled["target_var"], Y.var(ddof=0).to_numpy())
    assert pooled["target_count"] == Y.notna().sum().tolist()
    assert pooled["numeric"]["bmi"]["mean"] == pytest.approx(X["bmi"].mean())
    filled = X["bmi"].fillna(X["bmi"].mean())
    assert pooled["numeric"]["bmi"]["std"] == pytest.approx(filled.std(ddof=0))
    assert pooled["categorical"] == {"sex": ["female", "male"]}


def test_site_statistics_hold_no_row(sites):
    X, Y = sites["north"]
    statistics = site_statistics(X, Y)
    assert statistics["numeric"]["age"].keys() == {"count", "sum", "sum_squares"}
    assert statistics["targets"]["hdl"]["count"] == Y["hdl"].notna().sum()


def test_the_initial_model_preprocesses_as_the_pooled_data_would_be(sites, pooled):
    model = initial_model(estimator(), pooled)
    X = pd.concat([X for X, _ in sites.values()])
    numeric = model[0].transform(X)[:, :3]
    filled = X[["age", "bmi", "steps"]].fillna(X[["age", "bmi", "steps"]].mean())
    np.testing.assert_allclose(
        numeric, StandardScaler().fit_transform(filled), atol=1e-9
    )
    encoded = model[0].transform(X)[:, 3:]
    np.testing.assert_array_equal(encoded[:, 1], (X["sex"] == "male").to_numpy())


def test_the_initial_model_standardises_targets_by_the_pooled_moments(pooled):
    reg = initial_model(estimator(), pooled)[-1]
    np.testing.assert_allclose(reg._target_scaler.mean_, pooled["target_mean"])
    np.testing.assert_allclose(reg._target_scaler.scale_**2, pooled["target_var"])


def test_every_site_builds_the_same_initial_weights(pooled):
    one, two = initial_model(estimator(), pooled), initial_model(estimator(), pooled)
    for a, b in zip(get_weights(one), get_weights(two), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("architecture", ["hard", "mmoe", "cross_stitch"])
def test_each_tasks_head_is_owned_by_that_task_and_the_trunk_by_none(
    pooled, architecture
):
    model = initial_model(
        estimator(architecture=architecture, head_layer_sizes=(4,)), pooled
    )
    ownership = task_ownership(model)
    owners = np.concatenate([o.ravel() for o in ownership])
    # every task owns some weights (its head), and some are shared
    assert set(np.unique(owners)) == {-1, 0, 1, 2}
    # a weight owned by task 0 does not move task 1's prediction
    weights = get_weights(model)
    X = np.random.default_rng(0).normal(size=(20, model[-1].n_features_in_))
    before = model[-1].predict(X.astype(np.float32))
    set_weights(
        model, [w + (o == 0) * 0.5 for w, o in zip(weights, ownership, strict=True)]
    )
    after = model[-1].predict(X.astype(np.float32))
    set_weights(model, weights)
    assert not np.allclose(after[:, 0], before[:, 0])
    np.testing.assert_array_equal(after[:, 1:], before[:, 1:])


def test_a_tasks_head_is_averaged_over_the_sites_that_label_it():
    ownership = [np.array([-1, 0, 1])]
    current = [np.zeros(3)]
    updates = [
        ([np.array([1.0, 1.0, 1.0])], {"rows": 100, "labels": [100, 0]}),
        ([np.array([4.0, 4.0, 4.0])], {"rows": 300, "labels": [100, 300]}),
    ]
    (weights,) = aggregate(updates, ownership, current)
    # shared: by rows 1:3; task 0: by labels 1:1; task 1: the labelling site only
    np.testing.assert_allclose(weights, [3.25, 2.5, 4.0])


def test_a_task_no_site_labelled_keeps_its_weights():
    updates = [([np.array([1.0, 1.0])], {"rows": 10, "labels": [10, 0]})]
    (weights,) = aggregate(updates, [np.array([0, 1])], [np.array([7.0, 7.0])])
    np.testing.assert_allclose(weights, [1.0, 7.0])


def test_a_local_update_trains_the_site_rows_and_counts_its_labels(sites, pooled):
    X, Y = sites["clinic"]
    model = initial_model(estimator(), pooled)
    start = get_weights(model)
    weights, counts = local_update(model, X, Y, epochs=2, seed=1)
    assert counts["rows"] == 100
    assert counts["labels"] == [100, Y["hdl"].notna().sum(), 0]
    assert any(not np.array_equal(a, b) for a, b in zip(start, weights, strict=True))
    assert model[-1].n_iter_ == 2


def test_a_proximal_term_keeps_a_site_near_the_global_weights(sites, pooled):
    X, Y = sites["north"]
    moved = {}
    for mu in (0.0, 10.0):
        model = initial_model(estimator(learning_rate_init=0.01), pooled)
        start = get_weights(model)
        weights, _ = local_update(model, X, Y, epochs=5, proximal_mu=mu, seed=1)
        moved[mu] = sum(
            np.square(w - s).sum() for w, s in zip(weights, start, strict=True)
        )
    assert moved[10.0] < 0.5 * moved[0.0]


def federated(sites, pooled, rounds=10, **params):
    model = initial_model(estimator(**params), pooled)
    ownership, weights = task_ownership(model), get_weights(model)
    site_models = {name: initial_model(estimator(**params), pooled) for name in sites}
    for r in range(rounds):
        updates = []
        for i, (name, (X, Y)) in enumerate(sites.items()):
            set_weights(site_models[name], weights)
            updates.append(local_update(site_models[name], X, Y, seed=100 * r + i))
        weights = aggregate(updates, ownership, weights)
    set_weights(model, weights)
    return model


def test_federated_rounds_learn_and_repeat_exactly(sites, pooled):
    X, Y = make_rows(slice(450, 750))
    model = federated(sites, pooled, learning_rate_init=0.01)
    prediction = model.predict(X)
    start = initial_model(estimator(), pooled).predict(X)
    error = np.nanmean((prediction - Y.to_numpy()) ** 2)
    assert error < 0.6 * np.nanmean((start - Y.to_numpy()) ** 2)
    again = federated(sites, pooled, learning_rate_init=0.01)
    np.testing.assert_array_equal(again.predict(X), prediction)


def test_a_federated_model_saves_with_its_rounds(sites, pooled, tmp_path):
    model = federated(sites, pooled, rounds=3)
    record_rounds(model, [0.9, 0.8, 0.7])
    assert model[-1].loss_curve_ == [0.9, 0.8, 0.7]
    save(model, tmp_path / "federated.skh")
    loaded = load(tmp_path / "federated.skh")
    X, _ = sites["north"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, Y: (X.iloc[:0], Y.iloc[:0]), r"clinic has no rows"),
        (lambda X, Y: (X, Y * np.nan), r"clinic has no label for any task"),
        (
            lambda X, Y: (X.drop(columns="steps"), Y),
            r"clinic's columns \['age', 'bmi', 'sex'\] differ from north's",
        ),
        (
            lambda X, Y: (X, Y.drop(columns="hba1c")),
            r"clinic's targets \['sbp', 'hdl'\] differ from north's",
        ),
        (
            lambda X, Y: (
                X.assign(sex=X["sex"].cat.add_categories(["other"])),
                Y,
            ),
            r"clinic's categories of 'sex' \['female', 'male', 'other'\] differ "
            r"from north's \['female', 'male'\]",
        ),
        (
            lambda X, Y: (X.assign(age=X["age"].astype(str)), Y),
            r"clinic's column 'age' is numeric at one site",
        ),
    ],
)
def test_a_site_that_does_not_fit_is_an_error_naming_it(sites, change, message):
    changed = dict(sites)
    changed["clinic"] = change(*sites["clinic"])
    statistics = [site_statistics(X, Y) for X, Y in changed.values()]
    with pytest.raises(ValueError, match=message):
        pool_statistics(statistics, list(changed))


def test_weights_of_another_network_are_refused(pooled):
    model = initial_model(estimator(), pooled)
    other = initial_model(estimator(hidden_layer_sizes=(8,)), pooled)
    with pytest.raises(
        ValueError, match=r"have shape \(8, 5\), but the network's are \(16, 5\)"
    ):
        set_weights(model, get_weights(other))


def test_sites_train_privately_and_the_model_keeps_the_largest_epsilon(
    sites, pooled, tmp_path
):
    from skhealth.federated import site_privacy
    from skhealth.privacy import DP

    dp = DP(target_epsilon=2, target_bounds=[(-10, 10)] * 3)
    model = initial_model(estimator(dp=dp), pooled)
    np.testing.assert_array_equal(model[-1]._target_scaler.scale_, [5.0, 5.0, 5.0])
    ownership, weights = task_ownership(model), get_weights(model)
    rounds = 3
    privacy = {
        name: site_privacy(model, len(X), rounds) for name, (X, _) in sites.items()
    }
    spent = {}
    for r in range(rounds):
        updates = []
        for i, (name, (X, Y)) in enumerate(sites.items()):
            site = initial_model(estimator(dp=dp), pooled)
            set_weights(site, weights)
            update = local_update(site, X, Y, seed=10 * r + i, privacy=privacy[name])
            assert site[-1].net_.private
            spent[name] = update[1]["epsilon"]
            updates.append(update)
        weights = aggregate(updates, ownership, weights)
    set_weights(model, weights)
    # each site spends its budget on its own rows over all the rounds
    assert all(1.8 <= epsilon <= 2 for epsilon in spent.values())
    most = max(privacy.values(), key=lambda p: p.epsilon())
    record_rounds(model, [1.0] * rounds, most)
    assert model[-1].epsilon_ == max(spent.values())
    save(model, tmp_path / "private.skh")
    assert load(tmp_path / "private.skh")[-1].epsilon_ == model[-1].epsilon_


def test_a_private_site_without_its_privacy_state_is_refused(sites, pooled):
    from skhealth.privacy import DP

    dp = DP(target_epsilon=2, target_bounds=[(-10, 10)] * 3)
    model = initial_model(estimator(dp=dp), pooled)
    X, Y = sites["north"]
    with pytest.raises(ValueError, match=r"pass the site's privacy state"):
        local_update(model, X, Y)
