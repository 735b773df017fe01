"""Differential privacy: training by DP-SGD, with Opacus.

``MultiTaskHealthRegressor(dp=DP(target_epsilon=3))`` (or the classifier)
trains its network so that the fitted model hardly depends on any one row:
whether a person was in the training data changes the probability of any
model by a factor of at most ``exp(epsilon)``, except with probability
``delta``. Each step draws a batch by Poisson sampling (every row with the same
probability), clips each row's gradient to ``max_grad_norm`` and adds Gaussian
noise to their sum: Opacus' ``DPOptimizer`` clips and adds the noise, its
accountant (PRV or RDP) tracks the privacy spent, and the per-row gradients come
from :func:`torch.func.vmap`, which handles every architecture and ensembles
(Opacus' own hooks do not support skhealth's task-specific layers).

What the guarantee covers, and what it does not, is in the user guide
(``docs/user_guide/privacy.rst``).
"""

import contextlib
import dataclasses
import importlib
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from torch.func import functional_call, grad_and_value, vmap

from ._net import MultiTaskNet
from ._sklearn import Interval, StrOptions

__all__ = ["DP"]


class DP(BaseEstimator):
    """Differentially private training (DP-SGD), as an estimator's ``dp``.

    Training runs exactly ``max_iter`` epochs of Poisson-sampled batches,
    each row's gradient clipped to ``max_grad_norm`` and the sum noised so that
    the whole run spends at most ``(target_epsilon, target_delta)``. After fit
    the estimator's ``epsilon_`` is the epsilon actually spent (by Opacus'
    accountant), at its ``delta_``.

    A private model must not read the training rows outside the accounting,
    so the estimator, with ``dp`` set:

    - standardises each task's targets by the range given in
      ``target_bounds`` (labels outside it are clipped to it), not by the
      labels' mean and standard deviation;
    - never stops early (``early_stopping`` must be ``False`` or ``"auto"``)
      and holds no rows out, so it has no linear path and no calibrated
      intervals (``predict(return_std=True)`` gives the network's spread);
    - weighs tasks by constants only (``task_weighting="equal"`` or fixed
      weights), and a label's loss is not divided by the batch's count of
      labels: each row's gradient depends on that row alone.

    Parameters
    ----------
    target_epsilon : float
        The privacy budget's epsilon, > 0: smaller is more private and adds
        more noise. 1 to 10 is the usual range.
    target_delta : float, default=1e-5
        The probability, in (0, 1), that the bound fails; well below one over
        the number of rows.
    max_grad_norm : float, default=1.0
        Each row's gradient is clipped to this L2 norm, > 0: the most one
        person can move a step.
    target_bounds : dict or sequence of (float, float), default=None
        Each continuous task's range ``(low, high)``, in the target's units:
        a dict keyed by target name (or column index; names of tasks ``y``
        does not have are ignored, so that one table of ranges serves any
        subset of tasks), or one pair per task in column order (``None`` for a
        binary task). Take them from clinical
        knowledge, not from the training data. Required when a task is
        continuous; binary tasks need none.
    accountant : {"prv", "rdp"}, default="prv"
        Opacus' privacy accountant: ``"prv"`` (privacy random variables,
        tight) or ``"rdp"`` (Rényi DP, a looser upper bound).

    See Also
    --------
    skhealth.MultiTaskHealthRegressor : Its ``dp`` parameter.

    Examples
    --------
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import make_health_data
    >>> from skhealth.privacy import DP
    >>> X, Y = make_health_data(n_samples=500, n_tasks=2, random_state=0)
    >>> dp = DP(target_epsilon=3, target_bounds=[(-10, 10), (-10, 10)])
    >>> reg = MultiTaskHealthRegressor(dp=dp, max_iter=5, random_state=0).fit(X, Y)
    >>> bool(reg.epsilon_ <= 3), reg.delta_
    (True, 1e-05)
    """

    _parameter_constraints = {
        "target_epsilon": [Interval(Real, 0, None, closed="neither")],
        "target_delta": [Interval(Real, 0, 1, closed="neither")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither")],
        "target_bounds": [dict, list, tuple, None],
        "accountant": [StrOptions({"prv", "rdp"})],
    }

    def __init__(
        self,
        target_epsilon,
        target_delta=1e-5,
        max_grad_norm=1.0,
        target_bounds=None,
        accountant="prv",
    ):
        self.target_epsilon = target_epsilon
        self.target_delta = target_delta
        self.max_grad_norm = max_grad_norm
        self.target_bounds = target_bounds
        self.accountant = accountant


@contextlib.contextmanager
def _quiet_accounting():
    # Opacus' PRV accountant bounds its domain by RDP, which warns when its
    # best order is the largest it tries: a looser bound on the domain, not
    # on the epsilon reported
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Optimal order is the largest alpha")
        yield


def _opacus(module):
    """Opacus' ``module``, or an ImportError saying how to install it."""
    try:
        return importlib.import_module(f"opacus.{module}")
    except ImportError as error:
        raise ImportError(
            "Training with dp needs Opacus: pip install 'skhealth[privacy]'."
        ) from error


def check_private_settings(estimator):
    """Raise a ValueError for an estimator setting that would read the private
    rows outside the accounting; ``estimator.dp`` is set."""
    estimator.dp._validate_params()
    if estimator.precision != "float32":
        raise ValueError(
            f"precision={estimator.precision!r} cannot be used with dp: the "
            "per-row gradients, clipped and noised, are computed in float32. Set "
            "precision='float32'."
        )
    if estimator.early_stopping is True or estimator.early_stopping == "cross_fit":
        raise ValueError(
            f"early_stopping={estimator.early_stopping!r} cannot be used with dp: "
            "it would choose the epoch by a score on held-out private rows, "
            "outside the privacy accounting. Set early_stopping=False (with dp, "
            "'auto' never stops early either): training runs max_iter epochs."
        )
    # imported here: the weightings import nothing of this module, but keep
    # the strategies' module free of privacy concerns
    from .weighting import Equal, Fixed, get_weighting

    weighting = get_weighting(estimator.task_weighting, estimator.target_names_)
    if not isinstance(weighting, Equal | Fixed):
        raise ValueError(
            f"task_weighting={estimator.task_weighting!r} cannot be used with dp: "
            "it sets the task weights from the batches' losses, so that one row's "
            "gradient depends on the others' and clipping no longer bounds it. "
            "Use task_weighting='equal' or fixed weights (a list or dict)."
        )
    specs = estimator._target_transforms.specs
    learnt = [
        name
        for name, spec in zip(estimator.target_names_, specs, strict=True)
        if not (spec is None or isinstance(spec, str))
    ]
    if learnt:
        raise ValueError(
            f"target_transform fits a transformer to the labels of {learnt[0]!r}, "
            "which dp cannot account for. Use a named transform ('log', 'log1p') "
            "or none."
        )
    if getattr(estimator, "class_weight", None) == "balanced":
        raise ValueError(
            "class_weight='balanced' cannot be used with dp: it counts the private "
            "labels' classes outside the privacy accounting. Give the weights as "
            "a dict (e.g. {0: 1, 1: 4}) or leave class_weight=None."
        )


# A private fit's standardised labels of a continuous task lie in
# [-CLIP, CLIP]: its range maps there, and labels outside are clipped to it.
CLIP = 2.0


def private_target_scaler(dp, names, binary, transforms):
    """The target standardisation of a private fit, from ``dp.target_bounds``
    alone: each continuous task's range (in the units its ``transforms``
    learn in) mapped to ``[-CLIP, CLIP]``; binary tasks as they are."""
    n_tasks = len(names)
    pairs = _bounds_per_task(dp.target_bounds, names, binary)
    # a binary task's (0, 1) is only a placeholder: it is not standardised
    ends = np.array([(0.0, 1.0) if pair is None else pair for pair in pairs]).T
    low, high = transforms.transform(ends)
    continuous = ~np.asarray(binary)
    scaler = StandardScaler()
    scaler.mean_ = np.where(continuous, (low + high) / 2, 0.0)
    scaler.scale_ = np.where(continuous, (high - low) / (2 * CLIP), 1.0)
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = n_tasks
    # a count of rows would be a statistic of the private data
    scaler.n_samples_seen_ = 0
    return scaler


def _bounds_per_task(bounds, names, binary):
    """``target_bounds`` as one ``(low, high)`` or ``None`` per task, checked."""
    n_tasks = len(names)
    if bounds is None:
        pairs = [None] * n_tasks
    elif isinstance(bounds, dict):
        pairs = [None] * n_tasks
        for key, pair in bounds.items():
            if key in names:
                pairs[list(names).index(key)] = pair
            elif isinstance(key, int | np.integer):
                if not 0 <= key < n_tasks:
                    raise ValueError(
                        f"dp.target_bounds has the task index {key}, but y has "
                        f"{n_tasks} tasks (0 to {n_tasks - 1})."
                    )
                pairs[int(key)] = pair
            # a name y lacks is a range of a task not fitted here (a table of
            # ranges, such as load_nhanes().target_ranges): a task y has
            # without a range is still an error below
    else:
        pairs = list(bounds)
        if len(pairs) != n_tasks:
            raise ValueError(
                f"dp.target_bounds has {len(pairs)} entries but y has {n_tasks} "
                "tasks: give one (low, high) per task (None for a binary one), "
                "or a dict keyed by target name."
            )
    checked = []
    for t, pair in enumerate(pairs):
        if binary[t]:
            checked.append(None)  # 0/1 labels are bounded already
            continue
        if pair is None:
            raise ValueError(
                f"dp.target_bounds gives no range for task {t} ({names[t]!r}): a "
                "private fit standardises each continuous task by a range known "
                "beforehand, since the labels' own mean and spread would be read "
                "outside the privacy accounting. Add e.g. "
                f"{{{names[t]!r}: (low, high)}}, from clinical knowledge."
            )
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            low = high = None
        if low is None or not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(
                f"dp.target_bounds for task {t} ({names[t]!r}) must be two finite "
                f"numbers (low, high) with low < high; got {pair!r}."
            )
        checked.append((low, high))
    return checked


@dataclasses.dataclass
class PrivateTraining:
    """The privacy state a private net trains with.

    Parameters
    ----------
    dp : DP
    noise_multiplier : float
        The Gaussian noise's standard deviation over ``dp.max_grad_norm``.
    history : list of (float, float, int)
        Opacus' accountant history: ``(noise_multiplier, sample_rate,
        steps)`` of the steps taken so far.
    """

    dp: DP
    noise_multiplier: float
    history: list

    @classmethod
    def plan(cls, dp, n_samples, batch_size, epochs):
        """The noise for ``epochs`` epochs over ``n_samples`` rows in
        Poisson batches of ``batch_size`` rows on average, to spend
        ``dp.target_epsilon``."""
        with _quiet_accounting():
            noise_multiplier = _opacus("accountants.utils").get_noise_multiplier(
                target_epsilon=dp.target_epsilon,
                target_delta=dp.target_delta,
                sample_rate=min(1.0, batch_size / n_samples),
                steps=epochs * steps_per_epoch(n_samples, batch_size),
                accountant=dp.accountant,
            )
        return cls(dp, float(noise_multiplier), [])

    def epsilon(self):
        """The epsilon spent by the steps taken, at ``dp.target_delta``."""
        if not self.history:
            return 0.0
        accountant = _opacus("accountants").create_accountant(self.dp.accountant)
        accountant.history = list(self.history)
        with _quiet_accounting():
            return float(accountant.get_epsilon(delta=self.dp.target_delta))


def steps_per_epoch(n_samples, batch_size):
    """Poisson batches an epoch: one over the sampling rate (Opacus' count)."""
    return max(1, int(n_samples / batch_size))


class PoissonBatches:
    """Minibatches of a :class:`~skhealth._net.TaskDataset` by Poisson
    sampling: each of :func:`steps_per_epoch` batches takes every row with
    probability ``batch_size / n_samples`` (Opacus' sampler, drawing from
    torch's random state), as the privacy accountant assumes."""

    def __init__(self, dataset, batch_size):
        self.dataset = dataset
        n = len(dataset)
        sampler = _opacus("utils.uniform_sampler").UniformWithReplacementSampler
        self.sampler = sampler(
            num_samples=n,
            sample_rate=min(1.0, batch_size / n),
            steps=steps_per_epoch(n, batch_size),
        )

    def __len__(self):
        return len(self.sampler)

    def __iter__(self):
        device = self.dataset.X.device
        for rows in self.sampler:
            yield self.dataset.batch(torch.as_tensor(rows, device=device))


class PrivateMultiTaskNet(MultiTaskNet):
    """The net of a private fit: Poisson batches, per-row gradients clipped
    and noised by Opacus' ``DPOptimizer``, every step accounted.

    Parameters
    ----------
    privacy : PrivateTraining
        Its ``history`` grows by every step taken.
    """

    private = True

    def __init__(self, *args, privacy, **kwargs):
        super().__init__(*args, **kwargs)
        self.privacy = privacy

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        self._wrap_optimizer()
        return self

    def _wrap_optimizer(self):
        self.optimizer_ = _opacus("optimizers").DPOptimizer(
            self.optimizer_,
            noise_multiplier=self.privacy.noise_multiplier,
            max_grad_norm=self.privacy.dp.max_grad_norm,
            expected_batch_size=self.batch_size,
            loss_reduction="mean",
        )
        self.optimizer_.attach_step_hook(self._account)

    # Opacus' DPOptimizer does not unpickle: the net pickles (and copies) the
    # optimizer it wraps, and wraps it again
    def __getstate__(self):
        wrapped = self.__dict__.get("optimizer_")
        if wrapped is None:
            return super().__getstate__()
        self.optimizer_ = wrapped.original_optimizer
        try:
            return super().__getstate__()
        finally:
            self.optimizer_ = wrapped

    def __setstate__(self, state):
        super().__setstate__(state)
        if "optimizer_" in self.__dict__:
            self._wrap_optimizer()

    def _account(self, optimizer):
        rate = min(1.0, self.batch_size / self._n_rows)
        history = self.privacy.history
        if history and history[-1][:2] == (optimizer.noise_multiplier, rate):
            history[-1] = (*history[-1][:2], history[-1][2] + 1)
        else:
            history.append((optimizer.noise_multiplier, rate, 1))

    def get_iterator(self, dataset, training=False):
        if training:
            self._n_rows = len(dataset)
            return PoissonBatches(dataset, self.batch_size)
        return super().get_iterator(dataset, training)

    def apply_training_settings(self, settings, n_samples):
        super().apply_training_settings(settings, n_samples)
        # the loss of a batch is its rows' summed loss over the expected size
        self.optimizer_.expected_batch_size = self.batch_size

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        X, (y, weight) = batch
        weight = torch.ones_like(y) if weight is None else weight
        module, criterion = self.module_, self.criterion_
        params = {name: p.detach() for name, p in module.named_parameters()}
        buffers = dict(module.named_buffers())

        def row_loss(params, x, y, w):
            out = functional_call(module, (params, buffers), (x[None],))
            losses = criterion.row_losses(out, y[None], w[None])[0]
            return criterion.weighting.objective(losses), out

        if len(X):
            grads, (losses, out) = vmap(
                grad_and_value(row_loss, has_aux=True),
                in_dims=(None, 0, 0, 0),
                randomness="different",
            )(params, X, y, weight)
            # (n_rows, [n_members,] 1, n_tasks): the rows' axis where the net
            # puts it, after the members'
            y_pred = out.squeeze(-2)
            if y_pred.dim() == 3:
                y_pred = y_pred.transpose(0, 1)
        else:  # a Poisson batch may be empty: it still takes a noised step
            grads = {name: p.new_zeros((0, *p.shape)) for name, p in params.items()}
            losses = X.new_zeros(0)
            y_pred = module(X)
        for name, p in module.named_parameters():
            p.grad_sample = grads[name]
        loss = losses.sum() / self.optimizer_.expected_batch_size
        with torch.no_grad():
            task_losses = criterion(y_pred, y, weight)
        return {"loss": loss.detach(), "y_pred": y_pred, "task_losses": task_losses}
