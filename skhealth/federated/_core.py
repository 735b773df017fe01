"""The pieces of federated training, as plain functions.

A site computes :func:`site_statistics` of its rows; the server pools them
(:func:`pool_statistics`) and builds the model every site starts from
(:func:`initial_model`); each round, every site sets the global weights
(:func:`set_weights`), trains on its rows (:func:`local_update`) and sends
back its weights and label counts, which :func:`aggregate` averages, each
task's own weights by that task's label counts. Flower runs these
(:mod:`skhealth.federated`); the tests call them directly.
"""

import copy
from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from skorch.callbacks import Callback

from .._estimator import MultiTaskHealthRegressor
from .._torch_utils import resolve_device, torch_seed
from .._training import NetworkConfig, TrainingSettings, make_net
from ..losses import BINARY_LOSSES
from ..privacy import PrivateTraining, check_private_settings, private_target_scaler


# ------------------------------------------------------------- statistics
def site_statistics(X, Y):
    """What a site tells the server of its rows: counts and sums, no row.

    Parameters
    ----------
    X : pandas.DataFrame
        The site's features. Numeric columns are summarised by their count of
        values, sum and sum of squares; the others (text, categorical,
        boolean) by their categories: a pandas categorical's declared
        categories, else the values seen.
    Y : pandas.DataFrame
        The site's targets, ``NaN`` where not measured: per task, the count
        of labels, their sum and sum of squares.

    Returns
    -------
    statistics : dict
        JSON data: ``n_rows``, ``columns`` (in order), ``numeric`` and
        ``categorical`` (per column) and ``targets`` (per task).
    """
    if not (hasattr(X, "columns") and hasattr(Y, "columns")):
        raise TypeError(
            "site_statistics needs X and Y as pandas DataFrames, whose column "
            "names every site must share; got "
            f"{type(X).__name__} and {type(Y).__name__}."
        )
    numeric = X.select_dtypes("number").columns
    statistics = {
        "n_rows": len(X),
        "columns": [str(c) for c in X.columns],
        "targets": {},
        "numeric": {},
        "categorical": {},
    }
    for column in X.columns:
        values = X[column]
        if column in numeric:
            statistics["numeric"][str(column)] = _moments(values.to_numpy(float))
        else:
            if isinstance(values.dtype, pd.CategoricalDtype):
                categories = values.cat.categories
            else:
                categories = pd.unique(values.dropna())
            statistics["categorical"][str(column)] = sorted(map(str, categories))
    for task in Y.columns:
        statistics["targets"][str(task)] = _moments(Y[task].to_numpy(float))
    return statistics


def _moments(values):
    observed = values[~np.isnan(values)]
    return {
        "count": int(observed.size),
        "sum": float(observed.sum()),
        "sum_squares": float(np.square(observed).sum()),
    }


def pool_statistics(statistics, site_names=None):
    """Pool the sites' :func:`site_statistics`, checking that they agree.

    Parameters
    ----------
    statistics : list of dict
        Each site's statistics, in the order of ``site_names``.
    site_names : list of str, default=None
        The sites' names, for messages; ``site 0``, ``site 1``, ... if None.

    Returns
    -------
    pooled : dict
        ``columns``, ``targets`` (names in order), ``n_rows``,
        ``numeric``: per column its pooled ``mean`` and ``std`` (of the column
        with its missing values set to the mean; 0 and 1 for a column without
        any value), ``categorical``: per
        column its categories, and ``target_mean``, ``target_var``,
        ``target_count``: per task, over every site's labels.

    Raises
    ------
    ValueError
        Naming the site: one with no row, one with no label for any task,
        one whose columns, targets or categories differ from the first
        site's. No site is left out silently.
    """
    if not statistics:
        raise ValueError("pool_statistics needs the statistics of one site at least.")
    names = site_names or [f"site {i}" for i in range(len(statistics))]
    first, first_name = statistics[0], names[0]
    for name, site in zip(names, statistics, strict=True):
        if site["n_rows"] == 0:
            raise ValueError(
                f"{name} has no rows: every site must train on some. Remove it "
                "from the federation, or give it data."
            )
        if not any(task["count"] for task in site["targets"].values()):
            raise ValueError(
                f"{name} has no label for any task ({', '.join(site['targets'])}): "
                "it would train nothing. Give it labels, or remove it."
            )
        for part, what in (("columns", "columns"), ("targets", "targets")):
            if list(site[part]) != list(first[part]):
                raise ValueError(
                    f"{name}'s {what} {list(site[part])} differ from {first_name}'s "
                    f"{list(first[part])}: every site must have the same {what}, "
                    "in the same order (a task a site does not measure is a column "
                    "of NaN)."
                )
        if site["numeric"].keys() != first["numeric"].keys():
            kinds = sorted(site["numeric"].keys() ^ first["numeric"].keys())
            raise ValueError(
                f"{name}'s column {kinds[0]!r} is numeric at one site and "
                f"categorical at the other than {first_name}: give it the same "
                "dtype at every site."
            )
        for column, categories in site["categorical"].items():
            if categories != first["categorical"][column]:
                raise ValueError(
                    f"{name}'s categories of {column!r} {categories} differ from "
                    f"{first_name}'s {first['categorical'][column]}: declare the "
                    "same categories at every site, e.g. with "
                    "pd.CategoricalDtype([...])."
                )
    pooled = {
        "columns": list(first["columns"]),
        "targets": list(first["targets"]),
        "n_rows": sum(site["n_rows"] for site in statistics),
        "numeric": {},
        "categorical": dict(first["categorical"]),
    }
    for column in first["numeric"]:
        count, mean, var = _pooled([site["numeric"][column] for site in statistics])
        # after imputing the mean, as the preprocessing scales it: the filled
        # values add rows, no spread
        var = var * count / pooled["n_rows"]
        pooled["numeric"][column] = {
            "mean": mean if count else 0.0,
            "std": float(np.sqrt(var)) if count and var > 0 else 1.0,
        }
    moments = [
        _pooled([site["targets"][task] for site in statistics])
        for task in first["targets"]
    ]
    for t, (count, _, _) in enumerate(moments):
        if count == 0:
            raise ValueError(
                f"No site has a label for task {first['targets'][t]!r}: every "
                "task needs labels at one site at least."
            )
    pooled["target_count"] = [count for count, _, _ in moments]
    pooled["target_mean"] = [mean for _, mean, _ in moments]
    pooled["target_var"] = [var for _, _, var in moments]
    return pooled


def _pooled(moments):
    """The count, mean and (population) variance of the pooled values."""
    count = sum(m["count"] for m in moments)
    if count == 0:
        return 0, 0.0, 0.0
    mean = sum(m["sum"] for m in moments) / count
    var = max(sum(m["sum_squares"] for m in moments) / count - mean**2, 0.0)
    return count, mean, var


# ---------------------------------------------------------- the model
def initial_model(estimator, pooled):
    """The model every site starts from: preprocessing and target
    standardisation from the ``pooled`` statistics, and a network initialised
    from ``estimator.random_state``.

    Parameters
    ----------
    estimator : MultiTaskHealthRegressor
        Its parameters (unfitted); ``early_stopping`` is not used: the sites
        hold no rows out.
    pooled : dict
        From :func:`pool_statistics`.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        A fitted ``Pipeline(ColumnTransformer, MultiTaskHealthRegressor)``:
        numeric columns mean-imputed and standardised by the pooled means and
        standard deviations, the others imputed with their first category and
        one-hot encoded by their declared categories; it has trained no epoch.
    """
    if type(estimator) is not MultiTaskHealthRegressor:
        raise TypeError(
            "Federated training trains a MultiTaskHealthRegressor (binary tasks "
            f"with loss='log_loss'); got {type(estimator).__name__}."
        )
    preprocessor = _preprocessor(pooled)
    reg = clone(estimator)
    reg._validate_params()
    if reg.target_transform is not None:
        raise ValueError(
            "Federated training pools the targets' counts and sums as they are: "
            f"target_transform={reg.target_transform!r} is not supported. "
            "Transform the targets at every site before training."
        )
    n_features = len(preprocessor.get_feature_names_out())
    _start(reg, n_features, pooled)
    return make_pipeline(preprocessor, reg)


def _preprocessor(pooled):
    """A ColumnTransformer fitted to pseudo-rows with the pooled moments: two
    rows of mean - std and mean + std give each numeric column the pooled mean
    and (population) standard deviation; the categories are declared."""
    numeric = list(pooled["numeric"])
    categorical = list(pooled["categorical"])
    rows = {}
    for column in pooled["columns"]:
        if column in pooled["numeric"]:
            m, s = pooled["numeric"][column]["mean"], pooled["numeric"][column]["std"]
            rows[column] = [m - s, m + s]
        else:
            first = pooled["categorical"][column][0]
            rows[column] = [first, first]
    frame = pd.DataFrame(rows, columns=pooled["columns"])
    for column in categorical:
        frame[column] = frame[column].astype(str)
    steps = []
    if numeric:
        steps.append(
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
                numeric,
            )
        )
    if categorical:
        steps.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(
                        categories=[pooled["categorical"][c] for c in categorical],
                        handle_unknown="ignore",
                        sparse_output=False,
                    ),
                ),
                categorical,
            )
        )
    return ColumnTransformer(steps).fit(frame)


def _start(reg, n_features, pooled):
    """Set what a first fit sets, from the pooled statistics, and build the
    network; no epoch trained."""
    names = np.asarray(pooled["targets"], dtype=object)
    reg._seed = int(check_random_state(reg.random_state).randint(2**31 - 1))
    reg.do_early_stopping_, reg.cross_fit_ = False, False
    reg._y_1d = False
    reg.n_features_in_ = n_features
    reg.n_tasks_ = len(names)
    reg.target_names_ = names
    losses = reg._task_losses(reg.n_tasks_)
    reg._binary_tasks = np.isin(losses, list(BINARY_LOSSES))
    reg._target_transforms = reg._make_target_transforms()
    binary = reg._binary_tasks
    if reg.dp is not None:
        # each site trains privately: the targets are standardised by the
        # ranges given, not by the labels' pooled moments
        check_private_settings(reg)
        scaler = private_target_scaler(reg.dp, names, binary, reg._target_transforms)
    else:
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(pooled["target_mean"], dtype=float)
        scaler.var_ = np.asarray(pooled["target_var"], dtype=float)
        scaler.scale_ = np.where(scaler.var_ > 0, np.sqrt(scaler.var_), 1.0)
        scaler.n_samples_seen_ = np.asarray(pooled["target_count"])
        scaler.n_features_in_ = reg.n_tasks_
    scaler.mean_[binary], scaler.var_[binary], scaler.scale_[binary] = 0.0, 1.0, 1.0
    reg._target_scaler = scaler
    device = resolve_device(reg.device)
    config = NetworkConfig.from_params(reg.get_params(), vars(reg), losses)
    settings = TrainingSettings.from_params(reg.get_params())
    with torch_seed(reg._seed, device):
        reg.net_ = make_net(config, settings, pooled["n_rows"], device).initialize()
    reg._network = config
    reg._fit_held_out(None, None, None, None, holds_out=False)


# ------------------------------------------------------------ the weights
def get_weights(model):
    """The network's weights, as NumPy arrays in the module's order.

    Parameters
    ----------
    model : Pipeline or MultiTaskHealthRegressor
        A model from :func:`initial_model`, or its last step.

    Returns
    -------
    weights : list of ndarray
        Copies of every tensor of the network's state, in its order.
    """
    module = _estimator(model).net_.module_
    return [t.detach().cpu().numpy().copy() for t in module.state_dict().values()]


def set_weights(model, weights):
    """Set the network's weights from :func:`get_weights`' arrays.

    Parameters
    ----------
    model : Pipeline or MultiTaskHealthRegressor
        A model from :func:`initial_model`, or its last step.
    weights : list of ndarray
        One array per tensor of the network's state, in its order and shapes.

    Raises
    ------
    ValueError
        When the arrays are not those of this network: another count, or
        another shape.
    """
    module = _estimator(model).net_.module_
    state = module.state_dict()
    if len(weights) != len(state):
        raise ValueError(
            f"Got {len(weights)} weight arrays for a network of {len(state)}: "
            "the weights come from another network."
        )
    for (key, tensor), array in zip(state.items(), weights, strict=True):
        if tuple(np.shape(array)) != tuple(tensor.shape):
            raise ValueError(
                f"The weights of {key!r} have shape {np.shape(array)}, but the "
                f"network's are {tuple(tensor.shape)}: they come from another "
                "network."
            )
    module.load_state_dict(
        {
            key: torch.as_tensor(np.asarray(array), dtype=tensor.dtype)
            for (key, tensor), array in zip(state.items(), weights, strict=True)
        }
    )


def _estimator(model):
    return model[-1] if isinstance(model, Pipeline) else model


def task_ownership(model):
    """Which task owns each weight: ``t`` for a weight that only task ``t``'s
    prediction depends on (its head), ``-1`` for one shared by several.

    Found by differentiating each task's prediction of random inputs with
    respect to every weight: whatever the architecture, a head's weights
    move one task's prediction only.

    Parameters
    ----------
    model : Pipeline or MultiTaskHealthRegressor
        A model from :func:`initial_model`, or its last step.

    Returns
    -------
    ownership : list of ndarray of int
        One per array of :func:`get_weights`, of its shape: each weight's
        task, or -1 for a shared one.
    """
    reg = _estimator(model)
    module = copy.deepcopy(reg.net_.module_).cpu().eval()
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(256, reg.n_features_in_, generator=generator)
    named = dict(module.named_parameters())
    touched = []
    for t in range(reg.n_tasks_):
        module.zero_grad()
        module(X)[:, t].sum().backward()
        touched.append(
            {
                name: (p.grad != 0)
                if p.grad is not None
                else torch.zeros_like(p, dtype=bool)
                for name, p in named.items()
            }
        )
    ownership = []
    for name, tensor in module.state_dict().items():
        owner = np.full(tuple(tensor.shape), -1)
        if name in named:
            by_task = torch.stack([touched[t][name] for t in range(reg.n_tasks_)])
            only_one = by_task.sum(dim=0) == 1
            owner[only_one.numpy()] = (
                by_task.int().argmax(dim=0).numpy()[only_one.numpy()]
            )
        ownership.append(owner)
    return ownership


def aggregate(updates, ownership, current):
    """Average the sites' weights: each task's own weights by the sites'
    counts of that task's labels, the shared weights by their rows.

    Parameters
    ----------
    updates : list of (list of arrays, dict)
        Each site's weights (:func:`get_weights`) and counts
        (``{"rows": int, "labels": [int per task]}``).
    ownership : list of int arrays
        From :func:`task_ownership`.
    current : list of arrays
        The global weights the round started from: a task's weights that no
        site labelled in this round keep them.

    Returns
    -------
    weights : list of ndarray
        The averaged weights, in the dtypes of ``current``.
    """
    rows = np.array([counts["rows"] for _, counts in updates], dtype=float)
    labels = np.array([counts["labels"] for _, counts in updates], dtype=float)
    # per site, the weight of each owner: -1 (shared) is the last column
    by_owner = np.concatenate([labels, rows[:, None]], axis=1)
    result = []
    for i, owner in enumerate(ownership):
        shares = by_owner[:, owner]  # (n_sites, *shape)
        total = shares.sum(axis=0)
        stacked = np.stack(
            [np.asarray(weights[i], dtype=float) for weights, _ in updates]
        )
        averaged = (shares * stacked).sum(axis=0) / np.where(total > 0, total, 1.0)
        merged = np.where(total > 0, averaged, current[i])
        result.append(merged.astype(np.asarray(current[i]).dtype))
    return result


def _use_private_net(model, n_rows, privacy):
    """Give the model a private net (a PrivateMultiTaskNet training with
    ``privacy`` on ``n_rows`` rows) with the weights it has."""
    reg = _estimator(model)
    weights = get_weights(model)
    settings = TrainingSettings.from_params(reg.get_params())
    device = resolve_device(reg.device)
    # its initial weights are replaced: drawn from the model's seed, so that
    # the caller's random state is left alone
    with torch_seed(reg._seed, device):
        reg.net_ = make_net(reg._network, settings, n_rows, device, privacy)
        reg.net_.initialize()
    set_weights(model, weights)


def record_rounds(model, train_losses, privacy=None):
    """Record the federated rounds in the model's history: one epoch per
    round, with the sites' mean training loss (weighted by rows). With
    ``dp``, ``privacy`` is the privacy state of the site that spent the most
    (the guarantee of every person is at least as strong): the model's
    ``epsilon_`` is its, and training on goes on counting from it."""
    reg = _estimator(model)
    if privacy is not None:
        _use_private_net(model, reg.net_.batch_size, privacy)
    reg.net_.record_epochs(train_losses)
    reg._record_history(0)


# ---------------------------------------------------------- a site's round
class _Proximal(Callback):
    """FedProx's proximal term: adds ``mu * (w - w_global)`` to each weight's
    gradient, the gradient of ``mu / 2 * ||w - w_global||²``."""

    def __init__(self, mu, module):
        self.mu = mu
        # by identity: skorch names the module's and the criterion's
        # parameters alike
        self.anchors = {id(p): p.detach().clone() for p in module.parameters()}

    def on_grad_computed(self, net, named_parameters, **kwargs):
        if not self.mu:
            return
        with torch.no_grad():
            for _, p in named_parameters:
                anchor = self.anchors.get(id(p))
                if anchor is not None and p.grad is not None:
                    p.grad.add_(p - anchor, alpha=self.mu)


def site_privacy(model, n_rows, epochs):
    """The privacy state a site trains with, for an estimator with ``dp``:
    noise for ``epochs`` epochs (rounds times local epochs) over its
    ``n_rows`` rows, to spend ``dp.target_epsilon`` on them.

    Parameters
    ----------
    model : Pipeline or MultiTaskHealthRegressor
        A model from :func:`initial_model` whose estimator has ``dp``.
    n_rows : int
        The site's rows.
    epochs : int
        The epochs the site will train in all: rounds times local epochs.

    Returns
    -------
    privacy : skhealth.privacy.PrivateTraining
        Pass it to every :func:`local_update` of the site: its accountant
        history grows by each round's steps.
    """
    reg = _estimator(model)
    settings = TrainingSettings.from_params(reg.get_params())
    return PrivateTraining.plan(reg.dp, n_rows, settings.batch_size_for(n_rows), epochs)


def local_update(model, X, Y, *, epochs=1, proximal_mu=0.0, seed=None, privacy=None):
    """Train the site's ``model`` (with the global weights set) on its rows.

    Parameters
    ----------
    model : Pipeline
        From :func:`initial_model`, its weights the round's global ones.
    X, Y : DataFrame
        The site's rows: its features and targets (``NaN`` where not
        measured).
    epochs : int, default=1
        Local epochs.
    proximal_mu : float, default=0.0
        FedProx's proximal weight: > 0 pulls the site's weights towards the
        global ones, ``mu / 2 * ||w - w_global||²`` added to the loss.
    seed : int, default=None
        The seed of the round's shuffling and dropout; None keeps the
        model's.
    privacy : skhealth.privacy.PrivateTraining, default=None
        With an estimator that has ``dp``, the site's :func:`site_privacy`,
        the same at every round: the site trains by DP-SGD, and its epsilon
        spent so far is ``counts["epsilon"]``.

    Returns
    -------
    weights : list of arrays
        The trained weights (:func:`get_weights`).
    counts : dict
        ``{"rows": int, "labels": [int per task], "loss": float}``: the
        weights :func:`aggregate` gives this site, and its last epoch's
        training loss; with ``dp``, ``"epsilon"`` too.
    """
    if not (isinstance(proximal_mu, Real) and proximal_mu >= 0):
        raise ValueError(f"proximal_mu must be a number >= 0; got {proximal_mu!r}.")
    reg = _estimator(model)
    Xt = model[:-1].transform(X) if isinstance(model, Pipeline) else X
    Y = pd.DataFrame(Y)
    if seed is not None:
        reg._seed = int(seed)
    if reg.dp is not None:
        if privacy is None:
            raise ValueError(
                "The estimator has dp: pass the site's privacy state, "
                "privacy=site_privacy(model, n_rows, rounds * local_epochs), the "
                "same at every round, so that its steps are all accounted."
            )
        # the site's own private net, from the round's weights
        _use_private_net(model, len(X), privacy)
    proximal = _Proximal(proximal_mu, reg.net_.module_)
    with reg.net_.extra_callback("proximal", proximal):
        reg._train(Xt, Y, None, epochs=epochs, reset=False, holdout=False)
    counts = {
        "rows": len(Xt),
        "labels": [int(c) for c in Y.notna().sum(axis=0)],
        "loss": float(reg.loss_curve_[-1]),
    }
    if reg.dp is not None:
        counts["epsilon"] = reg.epsilon_
    return get_weights(model), counts
