"""Multi-task network architectures.

An architecture is a small, parameter-holding blueprint (a scikit-learn style
object, so ``get_params``/``set_params``/``clone`` and nested grid-search
parameters such as ``architecture__n_experts`` work) whose :meth:`~Architecture.build`
turns a :class:`NetworkSpec` into a :class:`MultiTaskModule`: a PyTorch module
mapping a ``(n_samples, n_features)`` float tensor to ``(n_samples, n_tasks)``.

Adding an architecture means writing one subclass here and adding it to
``ARCHITECTURES``.
"""

import math
from dataclasses import dataclass
from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._sklearn import Interval

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "CrossStitch",
    "HardSharing",
    "Hierarchical",
    "MMoE",
    "MultiTaskModule",
    "NetworkSpec",
    "build_ensemble",
    "get_architecture",
]

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


@dataclass(frozen=True)
class NetworkSpec:
    """The shape of the network the estimator asks an architecture to build.

    A frozen dataclass: its fields are both the constructor's parameters and
    the instance's attributes.

    Parameters
    ----------
    n_features : int
        Width of the input.
    n_tasks : int
        Number of outputs, one per task.
    hidden_layer_sizes : tuple of int
        Sizes of the shared hidden layers (the trunk).
    head_layer_sizes : tuple of int
        Sizes of each task head's own hidden layers (empty: linear heads).
    activation : {"identity", "logistic", "tanh", "relu"}
        Non-linearity after every hidden layer.
    dropout : float
        Dropout probability after every hidden layer (0 disables it).
    task_names : tuple of str, default=()
        The tasks' names (the estimator passes its ``target_names_``), so that
        architecture parameters can name tasks; empty when the tasks are known
        by index only.
    """

    n_features: int
    n_tasks: int
    hidden_layer_sizes: tuple
    head_layer_sizes: tuple
    activation: str
    dropout: float
    task_names: tuple = ()

    def nonlinearity(self):
        """The layers that follow every hidden linear layer: activation, dropout.

        Returns
        -------
        layers : list of torch.nn.Module
            A new activation module, then a new dropout module when
            ``dropout > 0``.
        """
        layers = [_ACTIVATIONS[self.activation]()]
        if self.dropout > 0:
            layers.append(nn.Dropout(self.dropout))
        return layers


class MultiTaskModule(nn.Module):
    """Base class of the modules built by architectures.

    ``forward(X)`` maps ``(n_samples, n_features)`` to ``(n_samples, n_tasks)``.
    Gradient-based task-weighting strategies need to know which parameters all
    tasks share; subclasses say so through :meth:`shared_parameters`.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`torch.nn.Module`, which takes none by default. A
        subclass's constructor takes its own parameters and calls
        ``super().__init__()``.
    """

    def shared_parameters(self):
        """Parameters that every task's loss depends on.

        Subclasses must implement it.

        Returns
        -------
        parameters : iterable of torch.nn.Parameter
            The shared parameters, for one pass: an iterator such as
            :meth:`torch.nn.Module.parameters` returns, or a generator, is fine
            (callers call the method again for every pass).
        """
        raise NotImplementedError

    def last_shared_weights(self):
        """Weights of the last layer whose output every task reads.

        :class:`~skhealth.weighting.GradNorm` balances the tasks' gradient
        norms there. The default is the last parameter of
        :meth:`shared_parameters` with more than one dimension: override it
        when that is not the last shared layer's weight matrix.

        Returns
        -------
        weights : list of torch.nn.Parameter
            That weight matrix, or several (an ensemble gives one per member);
            empty when there is none.
        """
        return [p for p in self.shared_parameters() if p.dim() > 1][-1:]


class TaskLinear(nn.Module):
    """``n_tasks`` independent linear layers, evaluated as one batched matmul.

    Input is ``(n_tasks, n_samples, in_features)`` (or ``(n_samples,
    in_features)``, shared by all tasks); output is ``(n_tasks, n_samples,
    out_features)``. Each task's weights are initialised as :class:`torch.nn.Linear`
    initialises its own.
    """

    def __init__(self, n_tasks, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_tasks, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_tasks, 1, out_features))
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.dim() == 3:
            return torch.baddbmm(self.bias, x, self.weight)
        # A shared input meets all tasks' weights side by side in one GEMM.
        n_tasks, _, out_features = self.weight.shape
        weight = self.weight.transpose(0, 1).flatten(1)
        out = torch.addmm(self.bias.flatten(), x, weight)
        return out.view(-1, n_tasks, out_features).transpose(0, 1)


def _task_layers(spec, n_tasks, width, sizes):
    """``n_tasks`` parallel stacks of layers of ``sizes``, each one followed by
    the non-linearity, as TaskLinear layers on a leading task axis."""
    layers = []
    for size in sizes:
        layers += [TaskLinear(n_tasks, width, size), *spec.nonlinearity()]
        width = size
    return layers


def _heads(spec, n_tasks, width):
    """One head per task on ``width`` inputs: ``head_layer_sizes``, then 1 output.

    Maps ``(n_tasks, n_samples, width)`` (or ``(n_samples, width)`` read by every
    task) to ``(n_tasks, n_samples, 1)``.
    """
    hidden = _task_layers(spec, n_tasks, width, spec.head_layer_sizes)
    width = (width, *spec.head_layer_sizes)[-1]
    return nn.Sequential(*hidden, TaskLinear(n_tasks, width, 1))


def _by_sample(heads_output):
    # heads give (n_tasks, n_samples, 1); the estimator wants (n_samples, n_tasks)
    return heads_output.squeeze(-1).T


class _BySample(nn.Module):
    def forward(self, heads_output):
        return _by_sample(heads_output)


def _shared_input_heads(spec, n_tasks, width):
    """Heads for tasks that all read the same ``(n_samples, width)`` input.

    Maps it to ``(n_samples, n_tasks)``. Linear heads on a shared input are one
    linear layer with an output per task: a single ``nn.Linear``, the cheapest
    form (a one-row prediction is mostly per-module overhead).
    """
    if not spec.head_layer_sizes:
        return nn.Linear(width, n_tasks)
    return nn.Sequential(*_heads(spec, n_tasks, width), _BySample())


class _HardSharingModule(MultiTaskModule):
    def __init__(self, spec):
        super().__init__()
        trunk, width = [], spec.n_features
        for size in spec.hidden_layer_sizes:
            trunk += [nn.Linear(width, size), *spec.nonlinearity()]
            width = size
        self.trunk = nn.Sequential(*trunk)
        self.heads = _shared_input_heads(spec, spec.n_tasks, width)

    def forward(self, X):
        return self.heads(self.trunk(X))

    def shared_parameters(self):
        return self.trunk.parameters()


class Architecture(BaseEstimator):
    """Base class of multi-task architectures.

    Subclasses store their own hyper-parameters in ``__init__`` (unchanged, as
    scikit-learn estimators do) and implement :meth:`build`.
    """

    def build(self, spec):
        """Return a new :class:`MultiTaskModule` for a :class:`NetworkSpec`.

        Subclasses must implement it. An ensemble calls it once per member,
        so each call must return a new, independently initialised network.

        Parameters
        ----------
        spec : NetworkSpec
            The shape of the network: input width, number of tasks, layer
            sizes, non-linearity and dropout.

        Returns
        -------
        module : MultiTaskModule
            A network mapping ``(n_samples, n_features)`` to ``(n_samples,
            n_tasks)``.
        """
        raise NotImplementedError


class HardSharing(Architecture):
    """Hard parameter sharing: a shared trunk and one head per task.

    The trunk is a stack of fully connected layers (``hidden_layer_sizes``) that
    every task reads; each task then has its own head, with its own hidden
    layers (``head_layer_sizes``) and a linear output. This is the classic
    multi-task network (Caruana, 1997): cheap, and a strong default when tasks
    are related.

    Examples
    --------
    >>> from skhealth.architectures import HardSharing, NetworkSpec
    >>> spec = NetworkSpec(n_features=5, n_tasks=3, hidden_layer_sizes=(16,),
    ...                    head_layer_sizes=(8,), activation="relu", dropout=0.0)
    >>> import torch
    >>> HardSharing().build(spec)(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    """

    def build(self, spec):
        """Return a new hard-sharing network for ``spec``.

        Parameters
        ----------
        spec : NetworkSpec
            The shape of the network: ``hidden_layer_sizes`` for the trunk,
            ``head_layer_sizes`` for each head.

        Returns
        -------
        module : MultiTaskModule
            The trunk and the heads; its :meth:`~MultiTaskModule.shared_parameters`
            are the trunk's.
        """
        return _HardSharingModule(spec)


class _MMoEModule(MultiTaskModule):
    def __init__(self, spec, n_experts):
        super().__init__()
        self.experts = nn.Sequential(
            *_task_layers(spec, n_experts, spec.n_features, spec.hidden_layer_sizes)
        )
        self.gates = TaskLinear(spec.n_tasks, spec.n_features, n_experts)
        width = (spec.n_features, *spec.hidden_layer_sizes)[-1]
        self.heads = _heads(spec, spec.n_tasks, width)

    def gate_weights(self, X):
        """Each task's softmax weights over the experts, ``(n_tasks, n_samples,
        n_experts)``."""
        return torch.softmax(self.gates(X), dim=-1)

    def forward(self, X):
        experts = self.experts(X)
        mixtures = torch.einsum("tne,end->tnd", self.gate_weights(X), experts)
        return _by_sample(self.heads(mixtures))

    def shared_parameters(self):
        return self.experts.parameters()

    def last_shared_weights(self):
        # the experts' last layer (TaskLinear's stacked biases are 3-D too)
        layers = [layer for layer in self.experts if isinstance(layer, TaskLinear)]
        return [layers[-1].weight]


class MMoE(Architecture):
    """Multi-gate mixture of experts (Ma et al., KDD 2018).

    ``n_experts`` expert networks, each a stack of fully connected layers shaped
    by ``hidden_layer_sizes``, all read the input. Every task has a gate, a
    linear layer of the input followed by a softmax over the experts, and its
    head (``head_layer_sizes``, then a linear output) reads the gate-weighted
    mixture of the experts' outputs. Tasks share the experts but each chooses,
    sample by sample, how much of each it uses.

    Use it when tasks are related only in part, or conflict: hard sharing makes
    them all use one representation, while MMoE's gates let them use different
    mixes of the experts. It costs ``n_experts`` times the compute and
    parameters of hard sharing's trunk, so experts are often made narrower.

    Parameters
    ----------
    n_experts : int, default=4
        Number of expert networks. With one expert every gate is 1 and the
        network is hard sharing. The experts need ``hidden_layer_sizes``: with
        none, building raises a ``ValueError``.

    Notes
    -----
    ``shared_parameters()`` are the experts': every task's mixture reads every
    expert (the softmax weights are never zero). Gates and heads are per task.
    ``gate_weights(X)`` of the built module returns the gates' weights.

    References
    ----------
    J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi. "Modeling Task
    Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts".
    KDD 2018. https://doi.org/10.1145/3219819.3220007

    Examples
    --------
    >>> import torch
    >>> from skhealth.architectures import MMoE, NetworkSpec
    >>> spec = NetworkSpec(n_features=5, n_tasks=3, hidden_layer_sizes=(16,),
    ...                    head_layer_sizes=(), activation="relu", dropout=0.0)
    >>> module = MMoE(n_experts=6).build(spec)
    >>> module(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    >>> module.gate_weights(torch.zeros(4, 5)).shape  # tasks, samples, experts
    torch.Size([3, 4, 6])
    """

    _parameter_constraints = {"n_experts": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_experts=4):
        self.n_experts = n_experts

    def build(self, spec):
        """Return a new multi-gate mixture-of-experts network for ``spec``.

        Parameters
        ----------
        spec : NetworkSpec
            The shape of the network: ``hidden_layer_sizes`` for each expert,
            ``head_layer_sizes`` for each head.

        Returns
        -------
        module : MultiTaskModule
            The experts, gates and heads; its ``gate_weights(X)`` returns the
            gates' weights, of shape ``(n_tasks, n_samples, n_experts)``.

        Raises
        ------
        ValueError
            When ``n_experts`` is invalid, or ``spec`` has no hidden layers.
        """
        self._validate_params()
        if not spec.hidden_layer_sizes:
            raise ValueError(
                "MMoE needs hidden layers: hidden_layer_sizes shapes its experts, "
                f"and got {spec.hidden_layer_sizes!r}."
            )
        return _MMoEModule(spec, self.n_experts)


class _CrossStitchModule(MultiTaskModule):
    def __init__(self, spec, alpha_self, alpha_other):
        super().__init__()
        n_tasks, width = spec.n_tasks, spec.n_features
        mixing = torch.full((n_tasks, n_tasks), float(alpha_other))
        mixing.fill_diagonal_(alpha_self)
        self.columns, self.stitches = nn.ModuleList(), nn.ParameterList()
        for size in spec.hidden_layer_sizes:
            self.columns.append(
                nn.Sequential(*_task_layers(spec, n_tasks, width, (size,)))
            )
            self.stitches.append(nn.Parameter(mixing.clone()))
            width = size
        self.heads = _heads(spec, n_tasks, width)

    def forward(self, X):
        h = X
        for column, stitch in zip(self.columns, self.stitches, strict=True):
            # column t of the next layer reads sum_s stitch[t, s] * column s
            h = torch.einsum("ts,snd->tnd", stitch, column(h))
        return _by_sample(self.heads(h))

    def shared_parameters(self):
        # Through the mixing, every task reads every column. The last unit is
        # left out: its row t only reaches task t, so it is part of the heads.
        yield from self.columns.parameters()
        yield from list(self.stitches)[:-1]

    def last_shared_weights(self):
        # the columns' last layer: the units come after it in shared_parameters;
        # without hidden layers there is none (the heads read the input)
        return [self.columns[-1][0].weight] if self.columns else []


class CrossStitch(Architecture):
    """Cross-stitch networks (Misra et al., CVPR 2016).

    Each task has its own column, a stack of fully connected layers shaped by
    ``hidden_layer_sizes``. After every hidden layer, a cross-stitch unit (a
    learned ``n_tasks`` by ``n_tasks`` matrix) replaces each column's activations
    by a linear combination of all columns': ``h_t <- sum_s alpha[t, s] h_s``.
    Each task's head (``head_layer_sizes``, then a linear output) reads its
    column. The units start near the identity, so training begins close to
    independent networks and learns, layer by layer, how much to share.

    Use it for a few tasks when it is unclear how much, or at which depth, they
    should share: the mixing learns it. Parameters and compute grow as
    ``n_tasks`` times a single network's.

    Parameters
    ----------
    alpha_self : float, default=0.9
        Initial weight of a column on itself (the units' diagonal).
    alpha_other : float, default=None
        Initial weight of a column on each other column (off the diagonal);
        ``None`` spreads ``1 - alpha_self`` evenly over the other tasks, so that
        each row of a unit sums to 1. ``alpha_self=1`` (with ``None``) starts
        from independent columns.

    Notes
    -----
    ``shared_parameters()`` are the columns and all cross-stitch units but the
    last: with non-zero mixing, every task's output depends on each of them.
    The last unit's row ``t`` only reaches task ``t``, so it is treated like a
    head. The units' weights get the estimator's L2 penalty (``alpha``), which
    pulls them towards 0 rather than the identity; keep ``alpha`` small.

    References
    ----------
    I. Misra, A. Shrivastava, A. Gupta and M. Hebert. "Cross-stitch Networks for
    Multi-task Learning". CVPR 2016. https://arxiv.org/abs/1604.03539

    Examples
    --------
    >>> import torch
    >>> from skhealth.architectures import CrossStitch, NetworkSpec
    >>> spec = NetworkSpec(n_features=5, n_tasks=3, hidden_layer_sizes=(16, 8),
    ...                    head_layer_sizes=(), activation="relu", dropout=0.0)
    >>> module = CrossStitch().build(spec)
    >>> module(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    >>> module.stitches[0].detach()  # the first cross-stitch unit
    tensor([[0.9000, 0.0500, 0.0500],
            [0.0500, 0.9000, 0.0500],
            [0.0500, 0.0500, 0.9000]])
    """

    _parameter_constraints = {
        "alpha_self": [Interval(Real, None, None, closed="neither")],
        "alpha_other": [Interval(Real, None, None, closed="neither"), None],
    }

    def __init__(self, alpha_self=0.9, alpha_other=None):
        self.alpha_self = alpha_self
        self.alpha_other = alpha_other

    def build(self, spec):
        """Return a new cross-stitch network for ``spec``.

        Parameters
        ----------
        spec : NetworkSpec
            The shape of the network: ``hidden_layer_sizes`` for each task's
            column (one cross-stitch unit after each layer),
            ``head_layer_sizes`` for each head.

        Returns
        -------
        module : MultiTaskModule
            The columns, units and heads; its ``stitches`` are the units'
            ``(n_tasks, n_tasks)`` mixing matrices.

        Raises
        ------
        ValueError
            When ``alpha_self`` or ``alpha_other`` is invalid.
        """
        self._validate_params()
        alpha_other = self.alpha_other
        if alpha_other is None:
            alpha_other = (1 - self.alpha_self) / max(spec.n_tasks - 1, 1)
        return _CrossStitchModule(spec, self.alpha_self, alpha_other)


class _HierarchicalModule(MultiTaskModule):
    def __init__(self, spec, task_depths):
        super().__init__()
        widths = (spec.n_features, *spec.hidden_layer_sizes)
        # Layers above the deepest read-out would get no gradient: not built.
        self.trunk = nn.ModuleList(
            nn.Sequential(nn.Linear(widths[i], widths[i + 1]), *spec.nonlinearity())
            for i in range(max(task_depths))
        )
        # One batch of heads per read-out depth; tasks come out grouped by depth
        # and _order puts them back.
        self.depths = sorted(set(task_depths))
        self.heads = nn.ModuleList(
            _shared_input_heads(spec, task_depths.count(depth), widths[depth])
            for depth in self.depths
        )
        grouped = sorted(range(spec.n_tasks), key=task_depths.__getitem__)
        self.register_buffer(
            "_order", torch.tensor(grouped).argsort(), persistent=False
        )
        self.n_shared = min(task_depths)

    def forward(self, X):
        readouts = [X]
        for layer in self.trunk:
            readouts.append(layer(readouts[-1]))
        grouped = [
            head(readouts[d]) for d, head in zip(self.depths, self.heads, strict=True)
        ]
        return torch.cat(grouped, dim=1)[:, self._order]

    def shared_parameters(self):
        # Only the layers up to the lowest read-out feed every task.
        return self.trunk[: self.n_shared].parameters()


class Hierarchical(Architecture):
    """Tasks read out at different depths of a shared trunk (Søgaard & Goldberg,
    ACL 2016).

    The trunk is a stack of fully connected layers (``hidden_layer_sizes``) as
    in :class:`HardSharing`, but each task's head (``head_layer_sizes``, then a
    linear output) reads the trunk after its own number of layers. Supervising
    a lower-level task at a lower layer makes the layers above build on
    what it learnt; a higher-level task then reads a deeper representation.

    Use it when tasks form a hierarchy: a direct measurement (say, a blood
    test) read low in the network, and an outcome it informs (say, a risk
    score) read at the top. With every task at the top it is hard sharing.

    Parameters
    ----------
    task_depths : array-like of int or dict, default=None
        Number of trunk layers each task's head reads after, from 1 to
        ``len(hidden_layer_sizes)``: one per task, or a dict mapping tasks
        (target names, compared as strings as ``task_weighting``'s keys are;
        else indices of ``y``'s columns) to depths, the tasks it leaves out read
        at the top. ``None`` reads every task at the top.
        Checked against the network when it is built, so a mismatch is raised
        by the estimator's ``fit``.

    Notes
    -----
    Trunk layers above the deepest read-out are not built.
    ``shared_parameters()`` are the trunk layers up to the lowest read-out
    depth: only those feed every task.

    References
    ----------
    A. Søgaard and Y. Goldberg. "Deep multi-task learning with low level tasks
    supervised at lower layers". ACL 2016. https://aclanthology.org/P16-2038

    Examples
    --------
    >>> import torch
    >>> from skhealth.architectures import Hierarchical, NetworkSpec
    >>> spec = NetworkSpec(n_features=5, n_tasks=3, hidden_layer_sizes=(16, 8),
    ...                    head_layer_sizes=(), activation="relu", dropout=0.0)
    >>> module = Hierarchical(task_depths={0: 1}).build(spec)  # others at 2
    >>> module(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    >>> Hierarchical(task_depths=[1, 2]).build(spec)
    Traceback (most recent call last):
    ...
    ValueError: task_depths=[1, 2] gives 2 depths for 3 tasks; give one per task,
    or a dict {task: depth}.
    """

    _parameter_constraints = {"task_depths": ["array-like", dict, None]}

    def __init__(self, task_depths=None):
        self.task_depths = task_depths

    def build(self, spec):
        """Return a new network for ``spec`` reading tasks out at their depths.

        Parameters
        ----------
        spec : NetworkSpec
            The shape of the network: ``hidden_layer_sizes`` for the trunk,
            ``head_layer_sizes`` for each head; ``task_names`` resolve
            ``task_depths``' keys.

        Returns
        -------
        module : MultiTaskModule
            The trunk, up to the deepest read-out, and the heads.

        Raises
        ------
        ValueError
            When ``task_depths`` does not fit ``spec``: a list without one depth
            per task, a dict key that names no task, or a task named twice, or a
            depth that is not an int from 1 to ``len(hidden_layer_sizes)``.
        """
        self._validate_params()
        return _HierarchicalModule(spec, self._task_depths(spec))

    def _task_depths(self, spec):
        """``task_depths`` as a checked list of ints, one per task."""
        n_layers, n_tasks = len(spec.hidden_layer_sizes), spec.n_tasks
        if self.task_depths is None:
            return [n_layers] * n_tasks
        if isinstance(self.task_depths, dict):
            depths = [n_layers] * n_tasks
            given = set()
            for task, depth in self.task_depths.items():
                index = self._task_index(task, spec)
                if index in given:
                    raise ValueError(
                        f"task_depths={self.task_depths!r} gives task {index} "
                        f"({spec.task_names[index]!r}) two depths: give it one."
                    )
                given.add(index)
                depths[index] = depth
        else:
            depths = list(self.task_depths)
            if len(depths) != n_tasks:
                raise ValueError(
                    f"task_depths={self.task_depths!r} gives {len(depths)} depths "
                    f"for {n_tasks} tasks; give one per task, or a dict "
                    "{task: depth}."
                )
        for task, depth in enumerate(depths):
            if not (isinstance(depth, Integral) and 1 <= depth <= n_layers):
                raise ValueError(
                    f"task_depths={self.task_depths!r} gives task {task} the depth "
                    f"{depth!r}; depths are ints from 1 to {n_layers}, the number "
                    f"of hidden layers (hidden_layer_sizes="
                    f"{spec.hidden_layer_sizes})."
                )
        return [int(depth) for depth in depths]

    def _task_index(self, task, spec):
        """The column of ``y`` that a ``task_depths`` key names: a target name
        (compared as a string, as ``task_weighting``'s keys are), else a
        position."""
        if str(task) in spec.task_names:
            return spec.task_names.index(str(task))
        if isinstance(task, Integral) and 0 <= task < spec.n_tasks:
            return int(task)
        names = f" or named {list(spec.task_names)}" if spec.task_names else ""
        raise ValueError(
            f"task_depths={self.task_depths!r} has a depth for task {task!r}, but "
            f"tasks are numbered 0 to {spec.n_tasks - 1}{names}."
        )


ARCHITECTURES = {
    "hard": HardSharing,
    "mmoe": MMoE,
    "cross_stitch": CrossStitch,
    "hierarchical": Hierarchical,
}


def get_architecture(architecture):
    """Return an :class:`Architecture` instance from a name or an instance.

    Parameters
    ----------
    architecture : str or Architecture
        A key of :data:`ARCHITECTURES` (``"hard"``, ``"mmoe"``,
        ``"cross_stitch"``, ``"hierarchical"``), or an instance.

    Returns
    -------
    architecture : Architecture
        The instance given, or a new one of the named class with its default
        parameters.

    Raises
    ------
    ValueError
        When ``architecture`` is neither.
    """
    if isinstance(architecture, Architecture):
        return architecture
    if isinstance(architecture, str) and architecture in ARCHITECTURES:
        return ARCHITECTURES[architecture]()
    raise ValueError(
        f"architecture={architecture!r} is not supported. Use one of "
        f"{sorted(ARCHITECTURES)} or an instance of "
        "skhealth.architectures.Architecture."
    )


class _Ensemble(MultiTaskModule):
    """Members built by one architecture, computed side by side.

    In training mode the output is ``(n_members, n_samples, n_tasks)``, so that
    each member is trained on its own loss (the criterion averages the members'
    losses); in evaluation mode it is the members' mean prediction.
    """

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, X):
        if self.training:
            return self.each_member(X)
        # Summed member by member: no stacked copy of every member's output.
        out = self.members[0](X)
        for member in self.members[1:]:
            out = out + member(X)
        return out / len(self.members)

    def each_member(self, X):
        """Every member's prediction, ``(n_members, n_samples, n_tasks)``."""
        return torch.stack([member(X) for member in self.members])

    def shared_parameters(self):
        for member in self.members:
            yield from member.shared_parameters()

    def last_shared_weights(self):
        return [w for member in self.members for w in member.last_shared_weights()]


def build_ensemble(architecture, spec, n_members):
    """Build ``n_members`` modules of ``architecture`` for ``spec``, as one.

    One member is returned as it is; more are wrapped in a module that trains
    them side by side and predicts their mean.

    Parameters
    ----------
    architecture : Architecture
        Builds each member: its :meth:`~Architecture.build` is called once per
        member, so members are initialised independently.
    spec : NetworkSpec
        The shape of every member's network.
    n_members : int
        Number of members, at least 1.

    Returns
    -------
    module : MultiTaskModule
        The member itself when ``n_members=1``. Otherwise a module whose output
        is ``(n_members, n_samples, n_tasks)`` in training mode (each member's
        prediction, each trained on its own loss) and the members' mean
        prediction, ``(n_samples, n_tasks)``, in evaluation mode; its shared
        parameters are all the members'.

    Raises
    ------
    TypeError
        When ``build`` returns something other than a :class:`MultiTaskModule`.
    ValueError
        When the built network fails on an input of shape ``(2, n_features)``,
        or does not map it to ``(2, n_tasks)``.

    Examples
    --------
    >>> import torch
    >>> from skhealth.architectures import HardSharing, NetworkSpec, build_ensemble
    >>> spec = NetworkSpec(n_features=5, n_tasks=3, hidden_layer_sizes=(16,),
    ...                    head_layer_sizes=(), activation="relu", dropout=0.0)
    >>> ensemble = build_ensemble(HardSharing(), spec, n_members=4)
    >>> ensemble(torch.zeros(2, 5)).shape  # training mode: one output per member
    torch.Size([4, 2, 3])
    >>> ensemble.eval()(torch.zeros(2, 5)).shape
    torch.Size([2, 3])
    """
    members = [_checked_build(architecture, spec) for _ in range(n_members)]
    return members[0] if n_members == 1 else _Ensemble(members)


def _checked_build(architecture, spec):
    """``architecture.build(spec)``, checked to give ``(n, n_tasks)`` outputs, so
    that a user's architecture fails here with its name, not deep in training."""
    name = type(architecture).__name__
    module = architecture.build(spec)
    if not isinstance(module, MultiTaskModule):
        raise TypeError(
            f"{name}.build returned a {type(module).__name__}; it must return an "
            "instance of skhealth.architectures.MultiTaskModule."
        )
    param = next(module.parameters(), None)
    X = torch.zeros(
        2,
        spec.n_features,
        device=None if param is None else param.device,
        dtype=None if param is None else param.dtype,
    )
    training = module.training
    try:  # in eval mode: dropout would draw from the training's random stream
        with torch.no_grad():
            shape = tuple(module.eval()(X).shape)
    except Exception as error:
        raise ValueError(
            f"The network that {name}.build returned fails on an input of shape "
            f"(2, {spec.n_features}) (n_samples, n_features): {error}"
        ) from error
    finally:
        module.train(training)
    if shape != (2, spec.n_tasks):
        raise ValueError(
            f"The network that {name}.build returned maps an input of shape "
            f"(2, {spec.n_features}) to an output of shape {shape}; it must be "
            f"(n_samples, n_tasks) = (2, {spec.n_tasks})."
        )
    return module
