"""Task-weighting strategies: their modules, and each one through the estimator."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn
from torch.testing import assert_close

from skhealth import MultiTaskHealthRegressor
from skhealth.architectures import HardSharing, MultiTaskModule
from skhealth.datasets import make_health_data
from skhealth.weighting import (
    DWA,
    WEIGHTINGS,
    Equal,
    Fixed,
    GradNorm,
    PCGrad,
    Uncertainty,
    project_conflicting,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class _TwoTasks(MultiTaskModule):
    """Task t's output is ``scale[t] * (shared @ x) + own[t]``: one shared weight
    matrix, one task-specific parameter per task."""

    def __init__(self, scale=(1.0, 1.0)):
        super().__init__()
        self.shared = nn.Linear(2, 1, bias=False)
        self.own = nn.Parameter(torch.zeros(2))
        self.register_buffer("scale", torch.tensor(scale))

    def forward(self, X):
        return self.shared(X) * self.scale + self.own

    def shared_parameters(self):
        return self.shared.parameters()


def _task_losses(module, X, Y):
    return ((module(X) - Y) ** 2).mean(dim=0)


@pytest.fixture
def two_tasks():
    torch.manual_seed(0)
    X = torch.randn(16, 2)
    # the tasks pull the shared weights in opposite directions
    Y = torch.stack([X @ torch.tensor([1.0, 0.5]), -(X @ torch.tensor([1.0, 0.2]))], 1)
    return _TwoTasks(), X, Y


# ------------------------------------------------------------------ modules
def test_equal_objective_is_the_mean_of_the_task_losses():
    losses = torch.tensor([1.0, 2.0, 6.0])
    assert Equal().build(3).objective(losses).item() == 3.0


def test_fixed_weights_are_rescaled_to_sum_to_the_number_of_tasks():
    assert Fixed([1.0, 1.0, 2.0]).build(3).weights().tolist() == [0.75, 0.75, 1.5]


def test_zero_fixed_weight_gives_its_task_no_gradient(two_tasks):
    module, X, Y = two_tasks
    Fixed([1.0, 0.0]).build(2).backward(_task_losses(module, X, Y), module)
    assert module.own.grad[1].item() == 0.0
    assert module.own.grad[0].item() != 0.0


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, 2.0, 3.0], "has 3 weights but y has 2 tasks"),
        ([1.0, -1.0], "finite and non-negative"),
        ([1.0, float("nan")], "finite and non-negative"),
        ([0.0, 0.0], "all 0"),
    ],
)
def test_bad_fixed_weights_are_value_errors(weights, message):
    with pytest.raises(ValueError, match=message):
        Fixed(weights).build(2)


def test_uncertainty_objective_is_minimal_at_log_variance_equal_to_log_loss():
    module = Uncertainty().build(2)
    losses = torch.tensor([0.5, 2.0])
    with torch.no_grad():
        module.log_variance.copy_(losses.log())
    module.objective(losses).backward()
    assert_close(module.log_variance.grad, torch.zeros(2))
    assert_close(module.weights(), 1 / losses)


def test_uncertainty_leaves_a_task_without_labels_in_the_batch_alone():
    module = Uncertainty().build(2)
    module.objective(torch.tensor([0.5, 0.0])).backward()  # task 1: no label
    assert_close(module.log_variance.grad, torch.tensor([0.25, 0.0]))


def test_dwa_weighs_equally_for_two_epochs_then_by_loss_ratios():
    module = DWA(temperature=2.0).build(2)
    seen = []
    for epoch_losses in ([4.0, 4.0], [2.0, 3.0], [1.0, 3.0]):
        seen.append(module.weights().tolist())
        for _ in range(2):  # two batches with the same losses
            losses = torch.tensor(epoch_losses, requires_grad=True)
            module.backward(losses, module=None)
        module.end_epoch()
    assert seen[:2] == [[1.0, 1.0], [1.0, 1.0]]
    rates = torch.tensor([2.0 / 4.0, 3.0 / 4.0])
    assert_close(seen[2], (2 * torch.softmax(rates / 2.0, 0)).tolist())
    rates = torch.tensor([1.0 / 2.0, 3.0 / 3.0])
    assert_close(module.weights(), 2 * torch.softmax(rates / 2.0, 0))


def test_dwa_epoch_mean_skips_batches_without_labels_for_a_task():
    module = DWA().build(2)
    for epoch_losses in ([[2.0, 1.0], [2.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]):
        for losses in epoch_losses:
            module.backward(torch.tensor(losses, requires_grad=True), module=None)
        module.end_epoch()
    # task 1 kept its loss of 1 (the batches with 0 had no label): rate 1
    rates = torch.tensor([0.5, 1.0])
    assert_close(module.weights(), 2 * torch.softmax(rates / 2.0, 0))


def test_dwa_task_without_labels_for_a_whole_epoch_keeps_its_last_mean():
    module = DWA().build(2)
    for losses in ([2.0, 1.0], [1.0, 0.0], [0.5, 1.0]):  # epoch 2: no label of task 1
        module.backward(torch.tensor(losses, requires_grad=True), module=None)
        module.end_epoch()
    # epoch 2 carried task 1's mean of 1 forward, so epoch 3's rates are 0.5 and 1
    rates = torch.tensor([0.5, 1.0])
    assert_close(module.weights(), 2 * torch.softmax(rates / 2.0, 0))


def test_gradnorm_raises_the_weight_of_the_task_with_smaller_gradients():
    torch.manual_seed(0)
    module = _TwoTasks(scale=(1.0, 10.0))
    X = torch.randn(16, 2)
    weighting = GradNorm(alpha=0.0).build(2)
    weighting.backward(_task_losses(module, X, torch.ones(16, 2)), module)
    grad = weighting.task_weights.grad
    assert grad[0].item() < 0 < grad[1].item()


def test_gradnorm_weights_in_use_sum_to_the_number_of_tasks():
    weighting = GradNorm().build(3)
    with torch.no_grad():
        weighting.task_weights.copy_(torch.tensor([0.5, 1.0, 4.5]))
    assert_close(weighting.weights(), torch.tensor([0.25, 0.5, 2.25]))


def test_gradnorm_weight_gradient_is_that_of_the_balance_loss(two_tasks):
    module, X, Y = two_tasks
    weighting = GradNorm(alpha=0.0).build(2)
    weighting.backward(_task_losses(module, X, Y), module)
    # with alpha=0 and equal gradient norms the balance loss is flat at 0
    norms = [
        torch.autograd.grad(loss, module.shared.weight, retain_graph=True)[0].norm()
        for loss in _task_losses(module, X, Y)
    ]
    balance_grad = (
        torch.stack(norms) - torch.stack(norms).mean()
    ).sign() * torch.stack(norms)
    assert_close(weighting.task_weights.grad, balance_grad)


def test_pcgrad_projection_leaves_no_negative_inner_products():
    torch.manual_seed(0)
    for _ in range(20):
        grads = torch.randn(2, 50)
        projected = project_conflicting(grads)
        assert projected[0] @ grads[1] >= -1e-5
        assert projected[1] @ grads[0] >= -1e-5
        assert projected[0] @ projected[1] >= -1e-5


def test_pcgrad_projects_onto_the_normal_plane_of_a_conflicting_gradient():
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    projected = project_conflicting(grads)
    assert_close(projected, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))


def test_pcgrad_leaves_agreeing_gradients_unchanged():
    grads = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    assert_close(project_conflicting(grads), grads)


def test_pcgrad_sets_shared_gradients_to_the_mean_of_projected_ones(two_tasks):
    module, X, Y = two_tasks
    losses = _task_losses(module, X, Y)
    grads = torch.stack(
        [
            torch.autograd.grad(loss, module.shared.weight, retain_graph=True)[
                0
            ].flatten()
            for loss in losses
        ]
    )
    assert grads[0] @ grads[1] < 0  # the fixture's tasks conflict
    (own_grad,) = torch.autograd.grad(losses.mean(), module.own, retain_graph=True)
    PCGrad().build(2).backward(losses, module)
    expected = project_conflicting(grads).mean(dim=0).view(1, 2)
    assert_close(module.shared.weight.grad, expected)
    # task-specific parameters keep their plain gradients
    assert_close(module.own.grad, own_grad)


# ---------------------------------------------------------- the estimator
@pytest.fixture(scope="module")
def related_tasks():
    """3 related tasks: 400 rows to train, 200 to test."""
    X, Y = make_health_data(
        n_samples=600,
        n_features=8,
        n_tasks=3,
        noise=0.2,
        nonlinearity=0.2,
        random_state=0,
    )[:2]
    return X[:400], Y[:400], X[400:], Y[400:]


def _fit(task_weighting, X, Y, **params):
    params = {"hidden_layer_sizes": (32,), "max_iter": 80, "random_state": 0, **params}
    return MultiTaskHealthRegressor(task_weighting=task_weighting, **params).fit(X, Y)


def test_dwa_weights_move_from_the_third_epoch_of_a_fit(related_tasks):
    X, Y = related_tasks[:2]
    weights = np.array(_fit("dwa", X, Y, max_iter=4).history_[:, "task_weights"])
    assert (weights[:2] == 1).all()
    assert (weights[2:] != 1).all()


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_each_strategy_trains_to_a_useful_r2(name, related_tasks):
    X, Y, X_test, Y_test = related_tasks
    reg = _fit(name, X, Y)
    assert isinstance(reg.net_.criterion_.weighting, type(WEIGHTINGS[name]().build(3)))
    assert reg.score(X_test, Y_test) > 0.7


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_weights_are_recorded_every_epoch(name, related_tasks):
    X, Y = related_tasks[:2]
    reg = _fit(name, X, Y, max_iter=3)
    weights = reg.history_[:, "task_weights"]
    assert [len(w) for w in weights] == [3, 3, 3]
    np.testing.assert_allclose(reg.task_weights_, weights[-1])


def test_fixed_weights_from_a_list(related_tasks):
    X, Y = related_tasks[:2]
    reg = _fit([1, 2, 3], X, Y, max_iter=2)
    np.testing.assert_allclose(reg.task_weights_, [0.5, 1.0, 1.5])


def test_fixed_weights_from_a_dict_keyed_by_target_name(related_tasks):
    X, Y = related_tasks[:2]
    Y = pd.DataFrame(Y, columns=["sbp", "hdl", "hba1c"])
    reg = _fit({"hdl": 4.0}, X, Y, max_iter=2)
    np.testing.assert_allclose(reg.task_weights_, [0.5, 2.0, 0.5])


def test_fixed_weights_from_a_series_keyed_by_target_name(related_tasks):
    X, Y = related_tasks[:2]
    Y = pd.DataFrame(Y, columns=["sbp", "hdl", "hba1c"])
    reg = _fit(pd.Series({"hba1c": 1.0, "hdl": 4.0}), X, Y, max_iter=2)
    np.testing.assert_allclose(reg.task_weights_, [0.5, 2.0, 0.5])


def test_dict_keys_match_integer_column_names(related_tasks):
    X, Y = related_tasks[:2]
    reg = _fit({1: 4.0}, X, pd.DataFrame(Y), max_iter=2)  # columns 0, 1, 2
    np.testing.assert_allclose(reg.task_weights_, [0.5, 2.0, 0.5])


def test_dict_naming_a_target_twice_is_a_value_error(related_tasks):
    X, Y = related_tasks[:2]
    with pytest.raises(ValueError, match=r"names a target twice"):
        _fit({1: 5.0, "1": 1.0}, X, pd.DataFrame(Y), max_iter=2)


def test_dict_naming_an_unknown_target_is_a_value_error(related_tasks):
    X, Y = related_tasks[:2]
    with pytest.raises(ValueError, match=r"unknown targets \['ldl'\]"):
        _fit({"ldl": 2.0}, X, Y, max_iter=2)


@pytest.mark.parametrize(
    "weights",
    [["a", 1, 1], [[1, 2, 3]], [1j, 1, 1], {"task_0": [1, 2]}, {"task_0": "x"}],
    ids=["string", "nested", "complex", "dict_of_list", "dict_of_string"],
)
def test_weights_that_are_not_one_number_per_task_are_a_value_error(
    weights, related_tasks
):
    X, Y = related_tasks[:2]
    with pytest.raises(ValueError, match=r"flat sequence of numbers .* one per task"):
        _fit(weights, X, Y, max_iter=2)


def test_missing_weight_in_a_dict_is_a_value_error(related_tasks):
    X, Y = related_tasks[:2]
    with pytest.raises(ValueError, match="must be finite and non-negative"):
        _fit({"task_0": None}, X, Y, max_iter=2)


def test_unknown_strategy_name_is_a_parameter_error(related_tasks):
    X, Y = related_tasks[:2]
    with pytest.raises(InvalidParameterError, match="task_weighting"):
        _fit("softmax", X, Y)


def test_strategy_hyperparameters_are_nested_estimator_parameters():
    reg = MultiTaskHealthRegressor(task_weighting=DWA())
    reg.set_params(task_weighting__temperature=5.0)
    assert reg.get_params()["task_weighting__temperature"] == 5.0


def test_bad_strategy_hyperparameter_is_a_parameter_error(related_tasks):
    X, Y = related_tasks[:2]
    with pytest.raises(InvalidParameterError, match="temperature"):
        _fit(DWA(temperature=0.0), X, Y)


@pytest.mark.parametrize("name", ["gradnorm", "pcgrad"])
@pytest.mark.parametrize(
    ("architecture", "network"),
    [("hard", "HardSharing"), ("cross_stitch", "CrossStitch")],
)
def test_gradient_strategies_need_shared_layers(
    name, architecture, network, related_tasks
):
    X, Y = related_tasks[:2]
    with pytest.raises(
        ValueError, match=rf"the {network} network reports no shared weight matrix"
    ):
        _fit(name, X, Y, architecture=architecture, hidden_layer_sizes=())


class _UnitNormTrunk(HardSharing):
    """A plug-in architecture whose build reads its weights' values."""

    def build(self, spec):
        module = super().build(spec)
        with torch.no_grad():
            for weight in module.last_shared_weights():
                weight /= torch.linalg.matrix_norm(weight).item()
        return module


@pytest.mark.parametrize("name", ["gradnorm", "pcgrad"])
def test_gradient_strategies_take_an_architecture_whose_build_reads_values(
    name, related_tasks
):
    X, Y = related_tasks[:2]
    reg = _fit(name, X, Y, architecture=_UnitNormTrunk(), max_iter=1)
    assert reg.n_iter_ == 1


@pytest.mark.parametrize("name", ["uncertainty", "gradnorm"])
def test_learned_weights_have_no_weight_decay(name, related_tasks):
    X, Y = related_tasks[:2]
    reg = _fit(name, X, Y, max_iter=1, alpha=0.1)
    weighting_params = set(reg.net_.criterion_.weighting.parameters())
    for group in reg.net_.optimizer_.param_groups:
        if weighting_params & set(group["params"]):
            assert group["weight_decay"] == 0.0
            assert weighting_params == set(group["params"])


def test_uncertainty_recovers_the_ordering_of_task_noise():
    noise = [1.0, 0.1, 0.5]
    X, Y = make_health_data(
        n_samples=600, n_features=8, n_tasks=3, noise=noise, random_state=0
    )[:2]
    reg = _fit("uncertainty", X, Y, learning_rate_init=1e-2, max_iter=60)
    # weights are inverse noise variances: ordered opposite to the noise
    assert list(np.argsort(reg.task_weights_)) == list(np.argsort(noise)[::-1])


def test_warm_start_continues_the_strategy_state(related_tasks):
    X, Y = related_tasks[:2]
    reg = _fit("dwa", X, Y, max_iter=3, warm_start=True)
    weighting = reg.net_.criterion_.weighting
    reg.fit(X, Y)
    assert reg.net_.criterion_.weighting is weighting
    assert len(reg.history_) == 6


def test_pcgrad_uses_the_random_state(related_tasks):
    X, Y = related_tasks[:2]
    a, b = (_fit("pcgrad", X, Y, max_iter=3) for _ in range(2))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_all_strategies_agree_on_a_single_task(related_tasks):
    X, Y = related_tasks[:2]
    # with one task, PCGrad has nothing to project and DWA nothing to balance
    equal, pcgrad, dwa = (
        _fit(name, X, Y[:, 0], max_iter=5) for name in ("equal", "pcgrad", "dwa")
    )
    np.testing.assert_allclose(pcgrad.predict(X), equal.predict(X), rtol=1e-5)
    np.testing.assert_allclose(dwa.predict(X), equal.predict(X), rtol=1e-5)


def test_gradnorm_with_mmoe_keeps_weights_summing_to_the_number_of_tasks():
    X, Y = make_health_data(n_samples=200, n_features=6, n_tasks=2, random_state=1)[:2]
    reg = _fit("gradnorm", X, Y, architecture="mmoe", max_iter=3)
    assert reg.task_weights_.sum() == pytest.approx(2.0)
