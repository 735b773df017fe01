"""Task weighting: how per-task losses become one training objective.

A strategy is a small, parameter-holding blueprint (a scikit-learn style object,
so ``get_params``/``set_params``/``clone`` and nested grid-search parameters such
as ``task_weighting__temperature`` work) whose :meth:`~TaskWeighting.build`
returns a :class:`WeightingModule`: a PyTorch module that owns the strategy's
state (learnable weights are ``nn.Parameter``\\ s, trained by the net's optimizer
without weight decay; running statistics are buffers, saved with the model) and
runs the backward pass of every training step.

The objective is the mean over tasks of ``weight * loss`` with weights that sum
to the number of tasks (uncertainty weighting adds its log-variance terms and
leaves its weights free), so equal weighting is the plain mean of the per-task
losses.

Adding a strategy means writing one subclass here (blueprint and module) and
adding it to ``WEIGHTINGS``.
"""

from collections.abc import Mapping
from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._sklearn import Interval

__all__ = [
    "DWA",
    "WEIGHTINGS",
    "Equal",
    "Fixed",
    "GradNorm",
    "PCGrad",
    "TaskWeighting",
    "Uncertainty",
    "WeightingModule",
    "get_weighting",
    "project_conflicting",
]


class WeightingModule(nn.Module):
    """The state and backward pass of a task-weighting strategy.

    Parameters
    ----------
    n_tasks : int
        Number of tasks: the length of the per-task loss vectors it weighs.
    """

    def __init__(self, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks

    def weights(self):
        """Current task weights, a ``(n_tasks,)`` tensor summing to ``n_tasks``.

        Subclasses must implement it.

        Returns
        -------
        weights : tensor of shape (n_tasks,)
            The weights, without gradient. They sum to ``n_tasks`` for every
            strategy but :class:`Uncertainty`'s, whose weights are free.
        """
        raise NotImplementedError

    def objective(self, task_losses):
        """The scalar minimised: mean over tasks of ``weight * loss``.

        Parameters
        ----------
        task_losses : tensor of shape (n_tasks,)
            A batch's per-task losses (0 for a task without labels in it).

        Returns
        -------
        objective : tensor
            A scalar tensor, differentiable with respect to ``task_losses`` (and
            to the strategy's own parameters, where the objective uses them).
        """
        return (self.weights() * task_losses).mean()

    def backward(self, task_losses, module):
        """Accumulate gradients for one batch and return the objective's value.

        Parameters
        ----------
        task_losses : tensor of shape (n_tasks,)
            This batch's per-task losses (0 for a task without labels in it).
        module : skhealth.architectures.MultiTaskModule
            The network, for strategies that act on the gradients of its
            shared parameters.

        Returns
        -------
        objective : tensor
            The objective's value, a detached scalar tensor.
        """
        objective = self.objective(task_losses)
        objective.backward()
        return objective.detach()

    def end_epoch(self):
        """Called after every training epoch (for epoch-level strategies)."""


class _ConstantWeights(WeightingModule):
    def __init__(self, weights):
        super().__init__(len(weights))
        self.register_buffer("_weights", torch.as_tensor(weights, dtype=torch.float32))

    def weights(self):
        return self._weights


class TaskWeighting(BaseEstimator):
    """Base class of task-weighting strategies.

    Subclasses store their own hyper-parameters in ``__init__`` (unchanged, as
    scikit-learn estimators do) and implement :meth:`build`.
    """

    #: Whether the strategy reads the gradients of the network's shared
    #: parameters (:meth:`skhealth.architectures.MultiTaskModule.shared_parameters`).
    uses_shared_gradients = False

    def build(self, n_tasks):
        """Return a new :class:`WeightingModule` for ``n_tasks`` tasks.

        Subclasses must implement it. Each call returns a new module in its
        initial state: every criterion
        (:class:`~skhealth.losses.MaskedMultiTaskLoss`) builds its own.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            The strategy's state and backward pass.
        """
        raise NotImplementedError


class Equal(TaskWeighting):
    """Every task weighs the same: the objective is the mean of the task losses.

    Examples
    --------
    >>> import torch
    >>> from skhealth.weighting import Equal
    >>> Equal().build(3).objective(torch.tensor([1.0, 2.0, 6.0]))
    tensor(3.)
    """

    def build(self, n_tasks):
        """Return a new module that weighs every task 1.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its weights are constant, all 1.
        """
        return _ConstantWeights(torch.ones(n_tasks))


class Fixed(TaskWeighting):
    """Fixed task weights, rescaled to sum to the number of tasks.

    The estimator builds one from ``task_weighting=[...]`` (one weight per task)
    or ``task_weighting={"target name": weight, ...}`` (unnamed tasks weigh 1).

    Parameters
    ----------
    weights : array-like of shape (n_tasks,)
        Non-negative weights, at least one positive.

    Examples
    --------
    >>> from skhealth.weighting import Fixed
    >>> Fixed([1.0, 3.0]).build(2).weights()
    tensor([0.5000, 1.5000])
    """

    _parameter_constraints = {"weights": ["array-like"]}

    def __init__(self, weights):
        self.weights = weights

    def build(self, n_tasks):
        """Return a new module with ``weights`` rescaled to sum to ``n_tasks``.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its weights are constant: ``weights * n_tasks / sum(weights)``.

        Raises
        ------
        ValueError
            When ``weights`` is not a flat sequence of ``n_tasks`` numbers, or
            has one that is negative or not finite, or only zeros.
        """
        self._validate_params()
        try:
            weights = np.asarray(self.weights, dtype=np.float32)
        except (TypeError, ValueError):
            weights = None
        if weights is None or weights.ndim != 1:
            raise ValueError(
                "task_weighting must be a flat sequence of numbers (or a dict of "
                f"numbers), one per task; got {self.weights!r}."
            )
        weights = torch.from_numpy(weights)
        if len(weights) != n_tasks:
            raise ValueError(
                f"task_weighting has {len(weights)} weights but y has {n_tasks} "
                "tasks; give one weight per task."
            )
        if not torch.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(
                f"task weights must be finite and non-negative; got {self.weights!r}."
            )
        if weights.sum() == 0:
            raise ValueError("task weights are all 0: give some task a weight.")
        return _ConstantWeights(weights * (n_tasks / weights.sum()))


class _UncertaintyModule(WeightingModule):
    def __init__(self, n_tasks):
        super().__init__(n_tasks)
        # s_t = log(sigma_t^2), the log-variance of task t's noise
        self.log_variance = nn.Parameter(torch.zeros(n_tasks))

    def weights(self):
        return torch.exp(-self.log_variance.detach())

    def objective(self, task_losses):
        # Kendall et al.'s regression likelihood up to constants and a factor
        # 2: exp(-s) * L + s, minimised over s at s = log(L). A task without
        # labels in the batch (loss 0) adds nothing: its s would be pushed down.
        observed = task_losses.detach() > 0
        s = self.log_variance
        return (torch.exp(-s) * task_losses + s * observed).mean()


class Uncertainty(TaskWeighting):
    """Homoscedastic-uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    Each task has a learned noise variance ``sigma_t^2``; the objective is the
    mean over tasks of ``loss_t / sigma_t^2 + log(sigma_t^2)``, whose optimum is
    ``sigma_t^2 = loss_t``. Noisy tasks (high irreducible loss) are down-weighted,
    so they do not drown the others. The reported weights are ``1 / sigma_t^2``
    (1 at the start); unlike the other strategies they are not rescaled to sum
    to the number of tasks, which is what lets the noise level be learned.

    Examples
    --------
    >>> import torch
    >>> from skhealth.weighting import Uncertainty
    >>> Uncertainty().build(2).weights()
    tensor([1., 1.])
    """

    def build(self, n_tasks):
        """Return a new module with one learnable log-variance per task.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its ``log_variance`` parameter, ``log(sigma_t^2)`` of shape
            ``(n_tasks,)``, starts at 0: every weight is 1.
        """
        return _UncertaintyModule(n_tasks)


class _DWAModule(WeightingModule):
    def __init__(self, n_tasks, temperature):
        super().__init__(n_tasks)
        self.temperature = temperature
        self.register_buffer("_weights", torch.ones(n_tasks))
        # mean task losses of the last two epochs (NaN: not trained yet) and
        # the running sums and batch counts of the current epoch
        self.register_buffer("_epoch_losses", torch.full((2, n_tasks), torch.nan))
        self.register_buffer("_loss_sum", torch.zeros(n_tasks))
        self.register_buffer("_batch_count", torch.zeros(n_tasks))

    def weights(self):
        return self._weights

    def backward(self, task_losses, module):
        losses = task_losses.detach()
        self._loss_sum += losses
        self._batch_count += losses > 0
        return super().backward(task_losses, module)

    def end_epoch(self):
        # A task with no label in any batch of the epoch keeps its last mean
        # (ratio 1): a mean of 0 would make the next ratio explode.
        mean = torch.where(
            self._batch_count > 0,
            self._loss_sum / self._batch_count.clamp_min(1),
            self._epoch_losses[1],
        )
        self._epoch_losses = torch.stack([self._epoch_losses[1], mean])
        self._loss_sum.zero_()
        self._batch_count.zero_()
        previous, last = self._epoch_losses
        if torch.isnan(previous).any():
            return
        # A task's weight grows with the ratio of its last two epoch losses:
        # tasks that stopped improving get more attention.
        rate = last / previous.clamp_min(torch.finfo(previous.dtype).tiny)
        self._weights = self.n_tasks * torch.softmax(rate / self.temperature, dim=0)


class DWA(TaskWeighting):
    """Dynamic weight average (Liu, Johns & Davison, CVPR 2019).

    After two epochs, each epoch's weights are ``n_tasks * softmax(r / T)``,
    where ``r_t`` is the ratio of task t's mean training loss in the last two
    epochs: the slower a task's loss falls, the more weight it gets. The first
    two epochs weigh tasks equally.

    Parameters
    ----------
    temperature : float, default=2.0
        ``T`` above; larger values make the weights more equal.

    Examples
    --------
    >>> from skhealth.weighting import DWA
    >>> DWA(temperature=2.0).build(3).weights()
    tensor([1., 1., 1.])
    """

    _parameter_constraints = {
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, temperature=2.0):
        self.temperature = temperature

    def build(self, n_tasks):
        """Return a new module that updates the weights after every epoch.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its weights are all 1 until it has seen two epochs' losses; its
            running loss statistics are buffers, saved with the model.

        Raises
        ------
        ValueError
            When ``temperature`` is not a positive number.
        """
        self._validate_params()
        return _DWAModule(n_tasks, float(self.temperature))


def _shared(module):
    return [p for p in module.shared_parameters() if p.requires_grad]


def _task_gradients(task_losses, params):
    """``(n_tasks, n_params)`` gradients of each task's loss on ``params``."""
    rows = []
    for loss in task_losses:
        grads = torch.autograd.grad(
            loss, params, retain_graph=True, allow_unused=True, materialize_grads=True
        )
        rows.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(rows)


class _GradNormModule(WeightingModule):
    def __init__(self, n_tasks, alpha):
        super().__init__(n_tasks)
        self.alpha = alpha
        self.task_weights = nn.Parameter(torch.ones(n_tasks))
        # each task's first observed batch loss (NaN until it has one)
        self.register_buffer("_initial_losses", torch.full((n_tasks,), torch.nan))

    def weights(self):
        # the optimizer moves the raw weights; in use they sum to n_tasks
        weights = self.task_weights.detach().clamp_min(1e-3)
        return weights * (self.n_tasks / weights.sum())

    def backward(self, task_losses, module):
        with torch.no_grad():
            self.task_weights.copy_(self.weights())
        losses = task_losses.detach()
        observed = losses > 0
        self._initial_losses = torch.where(
            torch.isnan(self._initial_losses) & observed, losses, self._initial_losses
        )
        # Gradient norms of each task's loss on the last shared weight matrix
        # (one per member of an ensemble, taken together)
        weights = [w for w in module.last_shared_weights() if w.requires_grad]
        norms = _task_gradients(task_losses, weights).norm(dim=1)
        weighted_norms = self.task_weights * norms
        ratios = losses[observed] / self._initial_losses[observed]
        target = (
            weighted_norms[observed].detach().mean()
            * (ratios / ratios.mean()) ** self.alpha
        )
        balance = (weighted_norms[observed] - target).abs().sum()
        (weights_grad,) = torch.autograd.grad(balance, self.task_weights)
        objective = (self.weights() * task_losses).mean()
        objective.backward()
        self.task_weights.grad = weights_grad
        return objective.detach()


class GradNorm(TaskWeighting):
    """Gradient normalisation (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

    Learns task weights so that the norm of each task's weighted gradient on the
    last shared weight matrix tracks the average norm times
    ``(relative inverse training rate) ** alpha``: tasks that have trained less
    (loss still close to its first value) get larger gradients. The weights are
    trained by the net's optimizer on the GradNorm balance loss only, then
    renormalised to sum to the number of tasks before every step.

    Costs one extra backward pass per task through the network's top shared
    layer.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the pull towards equal training rates (0: equal gradient
        norms).

    Examples
    --------
    >>> from skhealth.weighting import GradNorm
    >>> GradNorm(alpha=1.5).build(2).weights()
    tensor([1., 1.])
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}
    uses_shared_gradients = True

    def __init__(self, alpha=1.5):
        self.alpha = alpha

    def build(self, n_tasks):
        """Return a new module with learnable task weights, balanced by GradNorm.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its ``task_weights`` parameter starts at 1 for every task.

        Raises
        ------
        ValueError
            When ``alpha`` is not a non-negative number.
        """
        self._validate_params()
        return _GradNormModule(n_tasks, float(self.alpha))


def project_conflicting(grads, order=None):
    """PCGrad's projection of conflicting task gradients.

    Each task's gradient is projected, task by task in ``order``, onto the
    normal plane of every *original* task gradient it conflicts with (negative
    inner product).

    Parameters
    ----------
    grads : tensor of shape (n_tasks, n_params)
        Each task's gradient on the shared parameters, flattened into a row.
    order : sequence of int, default=None
        The order in which other tasks are visited; ``range(n_tasks)`` when None
        (PCGrad draws a random order at every step).

    Returns
    -------
    projected : tensor of shape (n_tasks, n_params)
        The projected gradients, in a new tensor (``grads`` is left as it
        is); a task's row is its own gradient where it conflicts with none.

    Examples
    --------
    >>> import torch
    >>> from skhealth.weighting import project_conflicting
    >>> project_conflicting(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))
    tensor([[0.5000, 0.5000],
            [0.0000, 1.0000]])
    """
    order = range(len(grads)) if order is None else order
    squared_norms = (grads * grads).sum(dim=1)
    projected = grads.clone()
    for i in range(len(grads)):
        for j in order:
            if j == i or squared_norms[j] == 0:
                continue
            dot = projected[i] @ grads[j]
            if dot < 0:
                projected[i] -= dot / squared_norms[j] * grads[j]
    return projected


class _PCGradModule(_ConstantWeights):
    def __init__(self, n_tasks):
        super().__init__(torch.ones(n_tasks))

    def backward(self, task_losses, module):
        params = _shared(module)
        grads = _task_gradients(task_losses, params)
        order = torch.randperm(self.n_tasks).tolist()
        # the objective is a mean over tasks, so is the shared gradient
        shared_grad = project_conflicting(grads, order).sum(dim=0) / self.n_tasks
        objective = super().backward(task_losses, module)
        for param, grad in zip(
            params, shared_grad.split([p.numel() for p in params]), strict=True
        ):
            param.grad = grad.view_as(param)
        return objective


class PCGrad(TaskWeighting):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020).

    On the shared parameters, each task's gradient is projected onto the normal
    plane of any other task's gradient it conflicts with (see
    :func:`project_conflicting`, tasks visited in a random order at every step)
    before the gradients are averaged; task-specific parameters get their plain
    gradients. Tasks weigh equally. Costs one extra backward pass per task.

    Examples
    --------
    >>> from skhealth.weighting import PCGrad
    >>> PCGrad().build(2).weights()
    tensor([1., 1.])
    """

    uses_shared_gradients = True

    def build(self, n_tasks):
        """Return a new module that projects conflicting shared gradients.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.

        Returns
        -------
        module : WeightingModule
            Its weights are constant, all 1; its backward pass sets the shared
            parameters' gradients to the mean of the tasks' projected gradients
            (see :func:`project_conflicting`).
        """
        return _PCGradModule(n_tasks)


WEIGHTINGS = {
    "equal": Equal,
    "uncertainty": Uncertainty,
    "dwa": DWA,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
}


def get_weighting(task_weighting, target_names):
    """Return a :class:`TaskWeighting` from what ``task_weighting=`` accepts.

    Parameters
    ----------
    task_weighting : str, TaskWeighting, dict, pandas.Series or array-like
        A name from :data:`WEIGHTINGS`, an instance, ``{target name: weight}``
        or a Series indexed by target name (unnamed targets weigh 1), or one
        weight per task.
    target_names : sequence of str
        The tasks' names, to resolve a dict or a Series.

    Returns
    -------
    task_weighting : TaskWeighting
        The instance given, a new one of the named strategy with its default
        parameters, or a :class:`Fixed` of the weights given (of a dict or
        Series: one per target in the order of ``target_names``, 1 for those
        it leaves out).

    Raises
    ------
    ValueError
        For an unknown name, and for a dict or Series that names a target
        twice (target names are strings: ``1`` and ``"1"`` are one) or names
        an unknown target.
    """
    if isinstance(task_weighting, TaskWeighting):
        return task_weighting
    if isinstance(task_weighting, str):
        if task_weighting not in WEIGHTINGS:
            raise ValueError(
                f"task_weighting={task_weighting!r} is not supported. Use one of "
                f"{sorted(WEIGHTINGS)}, per-task weights (a list or a dict keyed by "
                "target name) or a skhealth.weighting.TaskWeighting instance."
            )
        return WEIGHTINGS[task_weighting]()
    if isinstance(task_weighting, Mapping | pd.Series):
        # target names are strings (those of y's columns, whatever their type);
        # a Series is keyed by its index, as a dict by its keys
        named = {str(name): w for name, w in task_weighting.items()}
        if len(named) < len(task_weighting):
            raise ValueError(
                f"task_weighting={task_weighting!r} names a target twice (target "
                "names are strings): give each target one weight."
            )
        task_weighting = named
        unknown = sorted(set(task_weighting) - set(target_names))
        if unknown:
            raise ValueError(
                f"task_weighting names unknown targets {unknown}; the targets are "
                f"{list(target_names)}."
            )
        return Fixed([task_weighting.get(name, 1.0) for name in target_names])
    return Fixed(task_weighting)
