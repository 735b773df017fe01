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

import torch
from sklearn.base import BaseEstimator
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "HardSharing",
    "MultiTaskModule",
    "NetworkSpec",
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

    Attributes
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
    """

    n_features: int
    n_tasks: int
    hidden_layer_sizes: tuple
    head_layer_sizes: tuple
    activation: str
    dropout: float

    def nonlinearity(self):
        """The layers that follow every hidden linear layer: activation, dropout."""
        layers = [_ACTIVATIONS[self.activation]()]
        if self.dropout > 0:
            layers.append(nn.Dropout(self.dropout))
        return layers


class MultiTaskModule(nn.Module):
    """Base class of the modules built by architectures.

    ``forward(X)`` maps ``(n_samples, n_features)`` to ``(n_samples, n_tasks)``.
    Gradient-based task-weighting strategies need to know which parameters all
    tasks share; subclasses say so through :meth:`shared_parameters`.
    """

    def shared_parameters(self):
        """Parameters that every task's loss depends on."""
        raise NotImplementedError


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
        if x.dim() == 2:
            x = x.expand(self.weight.shape[0], *x.shape)
        return torch.baddbmm(self.bias, x, self.weight)


class _HardSharingModule(MultiTaskModule):
    def __init__(self, spec):
        super().__init__()
        trunk, width = [], spec.n_features
        for size in spec.hidden_layer_sizes:
            trunk += [nn.Linear(width, size), *spec.nonlinearity()]
            width = size
        self.trunk = nn.Sequential(*trunk)
        heads = []
        for size in spec.head_layer_sizes:
            heads += [TaskLinear(spec.n_tasks, width, size), *spec.nonlinearity()]
            width = size
        heads.append(TaskLinear(spec.n_tasks, width, 1))
        self.heads = nn.Sequential(*heads)

    def forward(self, X):
        # heads give (n_tasks, n_samples, 1); the estimator wants (n_samples, n_tasks)
        return self.heads(self.trunk(X)).squeeze(-1).T

    def shared_parameters(self):
        return self.trunk.parameters()


class Architecture(BaseEstimator):
    """Base class of multi-task architectures.

    Subclasses store their own hyper-parameters in ``__init__`` (unchanged, as
    scikit-learn estimators do) and implement :meth:`build`.
    """

    def build(self, spec):
        """Return a new :class:`MultiTaskModule` for a :class:`NetworkSpec`."""
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
        return _HardSharingModule(spec)


ARCHITECTURES = {"hard": HardSharing}


def get_architecture(architecture):
    """Return an :class:`Architecture` instance from a name or an instance."""
    if isinstance(architecture, Architecture):
        return architecture
    if isinstance(architecture, str) and architecture in ARCHITECTURES:
        return ARCHITECTURES[architecture]()
    raise ValueError(
        f"architecture={architecture!r} is not supported. Use one of "
        f"{sorted(ARCHITECTURES)} or an instance of "
        "skhealth.architectures.Architecture."
    )
