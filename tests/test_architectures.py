"""The multi-task architectures: their modules, and each one through the estimator."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from skhealth import MultiTaskHealthRegressor
from skhealth.architectures import (
    ARCHITECTURES,
    CrossStitch,
    HardSharing,
    Hierarchical,
    MMoE,
    NetworkSpec,
    TaskLinear,
    build_ensemble,
    get_architecture,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Every architecture, and the hierarchy at its interesting setting: task 0 read
# after the first layer, the others at the top (a dict works for any n_tasks).
ARCHITECTURE_CASES = [
    pytest.param(HardSharing(), id="hard"),
    pytest.param(MMoE(), id="mmoe"),
    pytest.param(CrossStitch(), id="cross_stitch"),
    pytest.param(Hierarchical(), id="hierarchical"),
    pytest.param(Hierarchical(task_depths={0: 1}), id="hierarchical-0at1"),
]


def make_spec(n_tasks=3, **changes):
    spec = dict(
        n_features=5,
        n_tasks=n_tasks,
        hidden_layer_sizes=(16, 8),
        head_layer_sizes=(4,),
        activation="relu",
        dropout=0.0,
    )
    return NetworkSpec(**{**spec, **changes})


def build(architecture, spec=None, seed=0):
    torch.manual_seed(seed)
    return architecture.build(spec or make_spec())


def inputs(n_samples=64):
    return torch.randn(n_samples, 5, generator=torch.Generator().manual_seed(1))


def grads(output, params):
    """Gradients of ``output.sum()``, zeros for parameters it does not reach."""
    return torch.autograd.grad(output.sum(), list(params), materialize_grads=True)


# --------------------------------------------------------------- TaskLinear
@pytest.mark.parametrize("shared_input", [True, False])
def test_task_linear_equals_separate_linear_layers(shared_input):
    torch.manual_seed(0)
    layer = TaskLinear(3, 5, 2)
    x = torch.randn(7, 5) if shared_input else torch.randn(3, 7, 5)
    expected = []
    for t in range(3):
        linear = nn.Linear(5, 2)
        with torch.no_grad():
            linear.weight.copy_(layer.weight[t].T)
            linear.bias.copy_(layer.bias[t, 0])
        expected.append(linear(x if shared_input else x[t]))
    assert_close(layer(x), torch.stack(expected))


# ------------------------------------------------------- every architecture
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_is_selected_by_name(name):
    assert type(get_architecture(name)) is ARCHITECTURES[name]


def test_architecture_hyperparameters_are_nested_estimator_parameters():
    reg = MultiTaskHealthRegressor(architecture=MMoE())
    reg.set_params(architecture__n_experts=6)
    assert reg.get_params()["architecture__n_experts"] == 6


@pytest.mark.parametrize("n_tasks", [1, 3])
@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_output_has_one_column_per_task(architecture, n_tasks):
    module = build(architecture, make_spec(n_tasks))
    assert module(inputs(10)).shape == (10, n_tasks)


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_gradients_reach_every_parameter(architecture):
    module = build(architecture)
    names, params = zip(*module.named_parameters(), strict=True)
    for name, grad in zip(names, grads(module(inputs()), params), strict=True):
        assert grad.abs().sum() > 0, name


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_shared_parameters_are_a_nonempty_subset_of_parameters(architecture):
    module = build(architecture)
    shared = {id(p) for p in module.shared_parameters()}
    assert shared
    assert shared <= {id(p) for p in module.parameters()}


@pytest.mark.parametrize(
    ("architecture", "name"),
    [
        # spec: 5 features, 3 tasks, trunk (16, 8); MMoE's default 4 experts
        (HardSharing(), "trunk.2.weight"),
        (MMoE(), "experts.2.weight"),
        (CrossStitch(), "columns.1.0.weight"),
        (Hierarchical(task_depths={0: 1}), "trunk.0.0.weight"),
    ],
)
def test_last_shared_weights_are_the_last_shared_layers_weight(architecture, name):
    module = build(architecture)
    assert module.last_shared_weights() == [module.get_parameter(name)]


def test_ensemble_last_shared_weights_are_its_members():
    ensemble = build_ensemble(MMoE(), make_spec(), n_members=2)
    expected = [w for m in ensemble.members for w in m.last_shared_weights()]
    assert ensemble.last_shared_weights() == expected


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_every_task_depends_on_every_shared_parameter(architecture):
    module = build(architecture)
    shared = list(module.shared_parameters())
    output = module(inputs())
    for task in range(3):
        task_grads = torch.autograd.grad(
            output[:, task].sum(), shared, retain_graph=True, materialize_grads=True
        )
        assert all(grad.abs().sum() > 0 for grad in task_grads), task


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_same_seed_builds_the_same_module(architecture):
    first, second = build(architecture).state_dict(), build(architecture).state_dict()
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_module_pickles(architecture):
    module = build(architecture)
    assert torch.equal(pickle.loads(pickle.dumps(module))(inputs()), module(inputs()))


@pytest.mark.gpu
@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_module_on_cuda_computes_as_on_cpu(architecture, cuda_device):
    module = build(architecture)
    expected = module(inputs())
    on_gpu = module.to(cuda_device)(inputs().to(cuda_device))
    assert_close(on_gpu.cpu(), expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------- MMoE
def test_mmoe_gates_sum_to_one_per_sample_and_task():
    weights = build(MMoE(n_experts=5)).gate_weights(inputs())
    assert weights.shape == (3, 64, 5)
    assert_close(weights.sum(-1), torch.ones(3, 64))


def test_hard_sharing_linear_heads_are_one_linear_layer_with_an_output_per_task():
    module = build(HardSharing(), make_spec(head_layer_sizes=()))
    assert isinstance(module.heads, nn.Linear)
    assert module.heads.out_features == 3
    assert_close(module(inputs()), module.heads(module.trunk(inputs())))


def test_mmoe_with_one_expert_is_hard_sharing():
    hard, mmoe = build(HardSharing()), build(MMoE(n_experts=1), seed=1)
    linears = [layer for layer in hard.trunk if isinstance(layer, nn.Linear)]
    experts = [layer for layer in mmoe.experts if isinstance(layer, TaskLinear)]
    with torch.no_grad():
        for linear, expert in zip(linears, experts, strict=True):
            expert.weight.copy_(linear.weight.T[None])
            expert.bias.copy_(linear.bias[None, None])
    mmoe.heads.load_state_dict(hard.heads.state_dict())
    assert_close(mmoe(inputs()), hard(inputs()))


def test_mmoe_needs_hidden_layers():
    with pytest.raises(ValueError, match=re.escape("got ()")):
        MMoE().build(make_spec(hidden_layer_sizes=()))


def test_mmoe_rejects_zero_experts():
    with pytest.raises(ValueError, match="'n_experts' parameter of MMoE must be"):
        MMoE(n_experts=0).build(make_spec())


# ------------------------------------------------------------- cross-stitch
@pytest.mark.parametrize(
    ("alpha_self", "alpha_other", "off_diagonal"),
    [(0.9, None, 0.05), (0.6, 0.1, 0.1), (1.0, None, 0.0)],
)
def test_cross_stitch_units_start_as_specified(alpha_self, alpha_other, off_diagonal):
    module = build(CrossStitch(alpha_self=alpha_self, alpha_other=alpha_other))
    expected = torch.full((3, 3), off_diagonal).fill_diagonal_(alpha_self)
    assert len(module.stitches) == 2
    for stitch in module.stitches:
        assert_close(stitch.detach(), expected, rtol=0, atol=0)


def test_cross_stitch_columns_are_independent_when_alpha_self_is_one():
    module = build(CrossStitch(alpha_self=1.0))
    task_linears = [m for m in module.modules() if isinstance(m, TaskLinear)]
    params = [p for layer in task_linears for p in (layer.weight, layer.bias)]
    task_0_grads = grads(module(inputs())[:, 0], params)
    assert all(torch.equal(g[1:], torch.zeros_like(g[1:])) for g in task_0_grads)
    assert all(g[0].abs().sum() > 0 for g in task_0_grads)


# ------------------------------------------------------------- hierarchical
def test_hierarchical_task_at_depth_one_ignores_the_layers_above():
    module = build(Hierarchical(task_depths=[1, 2, 2]))
    above = list(module.trunk[1].parameters())
    task_0_grads = grads(module(inputs())[:, 0], above)
    assert all(torch.equal(g, torch.zeros_like(g)) for g in task_0_grads)


def test_hierarchical_dict_leaves_unlisted_tasks_at_the_top():
    module = build(Hierarchical(task_depths={2: 1}))
    assert module.depths == [1, 2]
    assert [head[-2].weight.shape[0] for head in module.heads] == [1, 2]


def test_hierarchical_outputs_come_back_in_task_order():
    module = build(Hierarchical(task_depths=[2, 1, 2]))
    low, top = module.heads  # task 1 at depth 1; tasks 0 and 2 at depth 2
    first = module.trunk[0](inputs())
    low_out, top_out = low(first), top(module.trunk[1](first))
    expected = torch.stack([top_out[:, 0], low_out[:, 0], top_out[:, 1]], dim=1)
    assert_close(module(inputs()), expected, rtol=0, atol=0)


@pytest.mark.parametrize("head_layer_sizes", [(), (4,)])
def test_hierarchical_at_the_top_is_hard_sharing(head_layer_sizes):
    spec = make_spec(head_layer_sizes=head_layer_sizes)
    hierarchical, hard = build(Hierarchical(), spec), build(HardSharing(), spec)
    assert_close(hierarchical(inputs()), hard(inputs()), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("task_depths", "message"),
    [
        ([1, 2], "task_depths=[1, 2] gives 2 depths for 3 tasks"),
        (
            [1, 0, 2],
            "task_depths=[1, 0, 2] gives task 1 the depth 0; depths are "
            "ints from 1 to 2",
        ),
        ({0: 3}, "task_depths={0: 3} gives task 0 the depth 3"),
        ([1, 1.5, 2], "task_depths=[1, 1.5, 2] gives task 1 the depth 1.5"),
        (
            {3: 1},
            "task_depths={3: 1} has a depth for task 3, but tasks are numbered 0 "
            "to 2 or named ['sbp', 'dbp', 'hba1c']",
        ),
        (
            {"glucose": 1},
            "task_depths={'glucose': 1} has a depth for task 'glucose', but tasks "
            "are numbered 0 to 2 or named ['sbp', 'dbp', 'hba1c']",
        ),
        (
            {2: 1, "hba1c": 2},
            "task_depths={2: 1, 'hba1c': 2} gives task 2 ('hba1c') two depths",
        ),
    ],
)
def test_hierarchical_rejects_bad_task_depths(task_depths, message):
    spec = make_spec(task_names=("sbp", "dbp", "hba1c"))
    with pytest.raises(ValueError, match=re.escape(message)):
        Hierarchical(task_depths=task_depths).build(spec)


def test_hierarchical_without_task_names_takes_indices_only():
    message = "has a depth for task 'hba1c', but tasks are numbered 0 to 2."
    with pytest.raises(ValueError, match=re.escape(message)):
        Hierarchical(task_depths={"hba1c": 1}).build(make_spec())


def test_hierarchical_dict_names_tasks_by_target_name():
    spec = make_spec(task_names=("sbp", "dbp", "hba1c"))
    by_name = build(Hierarchical(task_depths={"hba1c": 1}), spec)
    by_index = build(Hierarchical(task_depths={2: 1}), spec)
    assert_close(by_name(inputs()), by_index(inputs()), rtol=0, atol=0)


def test_hierarchical_int_key_is_a_target_name_before_a_position():
    spec = make_spec(task_names=("2", "0", "1"))  # y's columns were 2, 0, 1
    by_int = build(Hierarchical(task_depths={0: 1}), spec)
    by_name = build(Hierarchical(task_depths={"0": 1}), spec)
    assert_close(by_int(inputs()), by_name(inputs()), rtol=0, atol=0)


def test_hierarchical_task_depths_name_the_estimators_targets():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = pd.DataFrame(X @ np.ones((2, 3)), columns=["sbp", "dbp", "hba1c"])
    reg = MultiTaskHealthRegressor(
        architecture=Hierarchical(task_depths={"hba1c": 1}), n_members=1, max_iter=2
    ).fit(X, Y)
    assert reg.net_.module_.depths == [1, 2]


def test_hierarchical_bad_task_depths_raise_from_fit():
    reg = MultiTaskHealthRegressor(architecture=Hierarchical(task_depths=[1, 1]))
    with pytest.raises(ValueError, match=re.escape("gives 2 depths for 3 tasks")):
        reg.fit(np.zeros((10, 2)), np.zeros((10, 3)))


# --------------------------------------------------------------- ensembles
def test_ensemble_of_one_is_the_architectures_own_module():
    module = build_ensemble(HardSharing(), make_spec(), n_members=1)
    assert type(module) is type(build(HardSharing()))


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
def test_ensemble_outputs_each_member_in_training_and_their_mean_in_eval(
    architecture,
):
    torch.manual_seed(0)
    ensemble = build_ensemble(architecture, make_spec(), n_members=3)
    X = inputs()
    with torch.no_grad():
        each = torch.stack([member(X) for member in ensemble.members])
        assert_close(ensemble(X), each)
        ensemble.eval()
        assert_close(ensemble(X), each.mean(dim=0))


def test_ensemble_members_start_from_different_weights():
    torch.manual_seed(0)
    first, second = build_ensemble(HardSharing(), make_spec(), n_members=2).members
    assert not torch.equal(first(inputs()), second(inputs()))


def test_ensemble_shares_the_parameters_its_members_share():
    ensemble = build_ensemble(MMoE(), make_spec(), n_members=2)
    expected = [p for m in ensemble.members for p in m.shared_parameters()]
    assert list(ensemble.shared_parameters()) == expected


class _ReturnsSequential(HardSharing):
    def build(self, spec):
        return nn.Sequential(nn.Linear(spec.n_features, spec.n_tasks))


class _OneOutputTooMany(HardSharing):
    def build(self, spec):
        return super().build(NetworkSpec(**{**vars(spec), "n_tasks": spec.n_tasks + 1}))


class _WrongInputWidth(HardSharing):
    def build(self, spec):
        return super().build(NetworkSpec(**{**vars(spec), "n_features": 99}))


def test_custom_build_must_return_a_multi_task_module():
    message = "_ReturnsSequential.build returned a Sequential; it must return an inst"
    with pytest.raises(TypeError, match=message):
        build_ensemble(_ReturnsSequential(), make_spec(), n_members=1)


def test_custom_build_must_give_one_output_per_task():
    message = re.escape(
        "maps an input of shape (2, 5) to an output of shape (2, 4); it must be "
        "(n_samples, n_tasks) = (2, 3)."
    )
    with pytest.raises(ValueError, match=message):
        build_ensemble(_OneOutputTooMany(), make_spec(n_tasks=3), n_members=2)


def test_custom_build_failing_on_the_input_width_is_a_value_error():
    message = re.escape(
        "_WrongInputWidth.build returned fails on an input of shape (2, 5)"
    )
    with pytest.raises(ValueError, match=message):
        MultiTaskHealthRegressor(architecture=_WrongInputWidth()).fit(
            np.zeros((4, 5)), np.zeros((4, 2))
        )


def test_build_check_leaves_the_training_random_stream_alone():
    spec = make_spec(dropout=0.5)
    torch.manual_seed(0)
    build_ensemble(HardSharing(), spec, n_members=1)
    after_checked_build = torch.rand(1)
    torch.manual_seed(0)
    HardSharing().build(spec)
    assert torch.equal(torch.rand(1), after_checked_build)


# ------------------------------------------------------------ the estimator
@pytest.fixture(scope="module")
def related_tasks():
    """3 tasks from a shared non-linear latent: 300 rows to train, 200 to test."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 8))
    latent = np.tanh(X @ rng.normal(size=(8, 2)) / 2)
    Y = latent @ rng.normal(size=(2, 3)) + 0.05 * rng.normal(size=(500, 3))
    return X[:300], Y[:300], X[300:], Y[300:]


ESTIMATOR_CASES = [
    *(pytest.param(name, id=name) for name in sorted(ARCHITECTURES)),
    pytest.param(Hierarchical(task_depths=[1, 2, 2]), id="hierarchical-122"),
]


def fit(architecture, data):
    X, Y = data[:2]
    reg = MultiTaskHealthRegressor(
        architecture=architecture, max_iter=60, random_state=0
    )
    return reg.fit(X, Y)


@pytest.fixture(scope="module", params=ESTIMATOR_CASES)
def fitted(request, related_tasks):
    return fit(request.param, related_tasks)


def test_estimator_learns_related_tasks(fitted, related_tasks):
    X_test, Y_test = related_tasks[2:]
    assert fitted.score(X_test, Y_test) > 0.8


def test_estimator_is_reproducible(fitted, related_tasks):
    refit = fit(fitted.architecture, related_tasks)
    X_test = related_tasks[2]
    np.testing.assert_array_equal(refit.predict(X_test), fitted.predict(X_test))
