"""Federated training on Flower: a ``ServerApp`` and a ``ClientApp``.

The server first asks every site for its :func:`~skhealth.federated.site_statistics`
(a ``query`` message) and pools them; then it runs FedAvg or FedProx rounds
(Flower's strategies), aggregating each task's weights by the sites' label
counts (:func:`~skhealth.federated.aggregate`), and saves the final model
where asked. Two ways to run them:

- :func:`run_simulation`: N sites on one machine, on Flower's simulation
  engine (Ray);
- the deployment engine: a SuperLink and one SuperNode per site, each
  SuperNode started with ``--node-config 'data="site.csv"'`` and the run
  submitted with ``flwr run`` from a Flower App whose components are
  ``skhealth.federated.flower:server_app`` and ``...:client_app`` (see the
  user guide's federated page).

Settings come from the run config (Flower's ``--run-config``), with these
keys: ``targets`` (the target columns, comma-separated), ``rounds``,
``local-epochs``, ``strategy`` (``"fedavg"`` or ``"fedprox"``),
``proximal-mu``, ``estimator`` (the regressor's parameters, as JSON),
``min-sites`` (the sites to wait for), ``output`` (where the server saves the
model, a ``.skh`` file; empty for nowhere) and ``random-state``. A site's
``data`` (a CSV or Parquet file of features and targets) and ``site-name``
come from its node config.
"""

import builtins
import contextlib
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .._estimator import MultiTaskHealthRegressor
from ..privacy import DP, PrivateTraining
from ._core import (
    aggregate,
    get_weights,
    initial_model,
    local_update,
    pool_statistics,
    record_rounds,
    set_weights,
    site_privacy,
    site_statistics,
    task_ownership,
)

# Flower reports usage to flower.ai unless told not to: a health project's
# runs stay private unless its user opts in (FLWR_TELEMETRY_ENABLED=1)
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

try:
    from flwr.app import (
        ArrayRecord,
        ConfigRecord,
        Message,
        MessageType,
        MetricRecord,
        RecordDict,
    )
    from flwr.clientapp import ClientApp
    from flwr.serverapp import ServerApp
    from flwr.serverapp.strategy import FedAvg, FedProx
except ImportError as error:  # pragma: no cover - the extra's message
    raise ImportError(
        "skhealth.federated.flower needs Flower: pip install 'skhealth[federated]'."
    ) from error

# the apps of the deployment engine and their folder (APP_DIR) are attributes
# the module docstring describes
__all__ = ["make_client_app", "make_server_app", "run_simulation"]

#: The Flower App folder to ``flwr run`` on the deployment engine: its
#: ``pyproject.toml`` names this module's apps and the run config's defaults.
APP_DIR = Path(__file__).parent / "app"

DEFAULTS = {
    "targets": "",
    "rounds": 20,
    "local-epochs": 1,
    "strategy": "fedavg",
    "proximal-mu": 0.01,
    "estimator": "{}",
    "min-sites": 2,
    "output": "",
    "random-state": 0,
}


def _settings(defaults, context):
    settings = {**DEFAULTS, **defaults, **dict(context.run_config)}
    if settings["strategy"] not in ("fedavg", "fedprox"):
        raise ValueError(
            f"strategy={settings['strategy']!r}: use 'fedavg' or 'fedprox'."
        )
    return settings


def _estimator(settings):
    params = json.loads(settings["estimator"]) if settings["estimator"] else {}
    params.setdefault("random_state", int(settings["random-state"]))
    if isinstance(params.get("dp"), dict):  # DP's parameters, as JSON holds them
        params["dp"] = DP(**params["dp"])
    # the sites hold no rows out: nothing to stop early on
    return MultiTaskHealthRegressor(**{**params, "early_stopping": False})


# ------------------------------------------------------------------ server
class _PerTask:
    """Aggregate each task's weights by the sites' label counts, the shared
    ones by rows (:func:`~skhealth.federated.aggregate`), and refuse a round
    that lost a site rather than train on without it."""

    def __init__(self, ownership, n_sites, **kwargs):
        super().__init__(
            min_train_nodes=n_sites,
            min_available_nodes=n_sites,
            fraction_evaluate=0.0,
            **kwargs,
        )
        self.ownership, self.n_sites = ownership, n_sites
        self.rounds = []  # per round: loss, bytes, seconds (and epsilon)
        self.privacy = {}  # with dp: each node's last privacy record

    def configure_train(self, server_round, arrays, config, grid):
        self._current = arrays.to_numpy_ndarrays()
        self._started = time.perf_counter()
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round, replies):
        replies = list(replies)
        failed = [m for m in replies if m.has_error()]
        if failed or len(replies) < self.n_sites:
            reasons = "; ".join(
                f"node {m.metadata.src_node_id}: {m.error.reason}" for m in failed
            )
            raise RuntimeError(
                f"Round {server_round}: {len(replies) - len(failed)} of "
                f"{self.n_sites} sites trained ({reasons or 'no reply'}); "
                "federated training does not go on without a site."
            )
        updates = []
        for message in replies:
            metrics = message.content["metrics"]
            counts = {"rows": int(metrics["num-examples"]), "labels": metrics["labels"]}
            updates.append((message.content["arrays"].to_numpy_ndarrays(), counts))
        weights = aggregate(updates, self.ownership, self._current)
        rows = np.array([c["rows"] for _, c in updates], dtype=float)
        losses = [float(m.content["metrics"]["train-loss"]) for m in replies]
        size = sum(np.asarray(w).nbytes for w in weights)
        self.rounds.append(
            {
                "round": server_round,
                "train_loss": float(np.average(losses, weights=rows)),
                # the global weights to every site, and each site's back
                "bytes": 2 * size * len(replies),
                "seconds": time.perf_counter() - self._started,
            }
        )
        for message in replies:
            if "privacy" in message.content:
                record = message.content["privacy"]
                self.privacy[message.metadata.src_node_id] = record
        if self.privacy:
            spent = max(float(r["epsilon"]) for r in self.privacy.values())
            self.rounds[-1]["epsilon"] = spent
        return ArrayRecord(weights), MetricRecord(
            {"train-loss": self.rounds[-1]["train_loss"]}
        )


class _PerTaskFedAvg(_PerTask, FedAvg):
    pass


class _PerTaskFedProx(_PerTask, FedProx):
    pass


def _wait_for_sites(grid, n_sites, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        nodes = list(grid.get_node_ids())
        if len(nodes) >= n_sites:
            return nodes
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(nodes)} of min-sites={n_sites} sites connected within "
                f"{timeout:g} s: start a SuperNode per site."
            )
        time.sleep(0.5)


def make_server_app(defaults=None, result=None):
    """A ``ServerApp`` running the federated training.

    Parameters
    ----------
    defaults : dict, default=None
        Settings (see the module's keys) under the run config's.
    result : dict, default=None
        Filled with the trained ``model`` (a fitted Pipeline), ``pooled``
        statistics and the ``rounds`` (a DataFrame of each round's training
        loss, bytes sent and seconds) when the run ends.

    Returns
    -------
    app : flwr.serverapp.ServerApp
        Its main asks the sites for their statistics, builds the initial
        model and runs the rounds.
    """
    app = ServerApp()

    @app.main()
    def main(grid, context):
        settings = _settings(defaults or {}, context)
        nodes = _wait_for_sites(grid, int(settings["min-sites"]))
        # 1. every site's counts and sums, no row
        queries = [
            Message(
                content=RecordDict(
                    {"config": ConfigRecord({"targets": settings["targets"]})}
                ),
                message_type=MessageType.QUERY,
                dst_node_id=node,
            )
            for node in nodes
        ]
        replies = list(grid.send_and_receive(queries, timeout=300))
        failed = [m for m in replies if m.has_error()]
        if failed or len(replies) < len(nodes):
            raise RuntimeError(
                "Sites failed to send their statistics: "
                + "; ".join(
                    f"node {m.metadata.src_node_id}: {m.error.reason}" for m in failed
                )
            )
        replies.sort(key=lambda m: m.content["statistics"]["site"])
        names = [m.content["statistics"]["site"] for m in replies]
        statistics = [json.loads(m.content["statistics"]["json"]) for m in replies]
        pooled = pool_statistics(statistics, names)
        # 2. one initial model for every site
        model = initial_model(_estimator(settings), pooled)
        strategy_class = (
            _PerTaskFedProx if settings["strategy"] == "fedprox" else _PerTaskFedAvg
        )
        extra = (
            {"proximal_mu": float(settings["proximal-mu"])}
            if settings["strategy"] == "fedprox"
            else {}
        )
        strategy = strategy_class(task_ownership(model), len(nodes), **extra)
        outcome = strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord(get_weights(model)),
            num_rounds=int(settings["rounds"]),
            train_config=ConfigRecord(
                {
                    "pooled": json.dumps(pooled),
                    "local-epochs": int(settings["local-epochs"]),
                    "rounds": int(settings["rounds"]),
                    "estimator": settings["estimator"],
                    "random-state": int(settings["random-state"]),
                }
            ),
        )
        set_weights(model, outcome.arrays.to_numpy_ndarrays())
        rounds = pd.DataFrame(strategy.rounds)
        privacy = None
        if strategy.privacy:  # the site that spent the most
            record = max(strategy.privacy.values(), key=lambda r: float(r["epsilon"]))
            privacy = _privacy_from(record, model[-1].dp)
        record_rounds(model, rounds["train_loss"].tolist(), privacy)
        if settings["output"]:
            from ..model_files import save

            save(model, settings["output"])
        if result is not None:
            result.update(model=model, pooled=pooled, rounds=rounds)

    return app


def _privacy_from(record, dp):
    """A site's privacy state from its record (noise and accountant history)."""
    history = [tuple(step) for step in json.loads(record["history"])]
    return PrivateTraining(dp, float(record["noise"]), history)


# ------------------------------------------------------------------ client
def _site_data(context, settings, site_data):
    """The site's features and targets: its frames in a simulation, else the
    node config's ``data`` file."""
    targets = [t for t in str(settings["targets"]).split(",") if t]
    if site_data is not None:
        name, (X, Y) = site_data[int(context.node_config["partition-id"])]
        return name, X, Y
    path = str(context.node_config["data"])
    name = str(context.node_config.get("site-name", path))
    frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise ValueError(f"{name}: its data {path} lacks the target columns {missing}.")
    return name, frame.drop(columns=targets), frame[targets]


def make_client_app(defaults=None, site_data=None):
    """A ``ClientApp``: a site's statistics, and its rounds of training.

    Parameters
    ----------
    defaults : dict, default=None
        Settings (see the module's keys) under the run config's.
    site_data : list of (str, (DataFrame, DataFrame)), default=None
        In a simulation, each partition's site name, features and targets;
        else each site reads the file of its node config's ``data``.

    Returns
    -------
    app : flwr.clientapp.ClientApp
        It answers the server's query with the site's statistics, and its
        train messages with a local update.
    """
    app = ClientApp()

    @app.query()
    def statistics(message, context):
        settings = _settings(defaults or {}, context)
        name, X, Y = _site_data(context, settings, site_data)
        record = ConfigRecord({"site": name, "json": json.dumps(site_statistics(X, Y))})
        return Message(RecordDict({"statistics": record}), reply_to=message)

    @app.train()
    def train(message, context):
        settings = _settings(defaults or {}, context)
        config = message.content["config"]
        _, X, Y = _site_data(context, settings, site_data)
        model = initial_model(_estimator(settings), json.loads(config["pooled"]))
        set_weights(model, message.content["arrays"].to_numpy_ndarrays())
        # each site and round draws its own batches, reproducibly
        seed = (
            int(config["random-state"]) * 100_003 + int(config["server-round"]) * 1009
        )
        seed += int(context.node_config.get("partition-id", 0))
        privacy = None
        if model[-1].dp is not None:
            # the site's accountant counts every round's steps: kept in the
            # node's state between rounds
            if "privacy" in context.state:
                privacy = _privacy_from(context.state["privacy"], model[-1].dp)
            else:
                epochs = int(config["rounds"]) * int(config["local-epochs"])
                privacy = site_privacy(model, len(X), epochs)
        weights, counts = local_update(
            model,
            X,
            Y,
            epochs=int(config["local-epochs"]),
            proximal_mu=float(config.get("proximal-mu", 0.0)),
            seed=seed % (2**31 - 1),
            privacy=privacy,
        )
        metrics = MetricRecord(
            {
                "num-examples": counts["rows"],
                "labels": counts["labels"],
                "train-loss": counts["loss"],
            }
        )
        content = RecordDict({"arrays": ArrayRecord(weights), "metrics": metrics})
        if privacy is not None:
            record = ConfigRecord(
                {
                    "noise": privacy.noise_multiplier,
                    "history": json.dumps(privacy.history),
                    "epsilon": counts["epsilon"],
                }
            )
            context.state["privacy"] = record
            content["privacy"] = record
        return Message(content, reply_to=message)

    return app


# The apps of the deployment engine: everything from the run and node configs
server_app = make_server_app()
client_app = make_client_app()


@contextlib.contextmanager
def _in_process_simulation():
    """Run Flower's in-process simulation as this process was.

    Ray replaces ``builtins.print`` in the driver (its progress bars' print)
    and leaves it so: objects that hold the built-in print (skorch's
    callbacks) would no longer pickle. And Flower 1.42 logs that its
    in-process ``run_simulation`` is deprecated for ``flwr run``, which needs
    each site's data in a file: :func:`run_simulation` keeps the sites'
    frames in memory, and says so in its docs.
    """

    def drop(record):
        return "`run_simulation` function is deprecated" not in record.getMessage()

    logger = logging.getLogger("flwr")
    logger.addFilter(drop)
    printer = builtins.print
    try:
        yield
    finally:
        builtins.print = printer
        logger.removeFilter(drop)


def run_simulation(
    estimator,
    sites,
    *,
    rounds=20,
    local_epochs=1,
    strategy="fedavg",
    proximal_mu=0.01,
):
    """Train ``estimator`` across ``sites`` on Flower's simulation engine.

    The sites' frames stay in this process, handed to Flower's in-process
    simulation (``flwr.simulation.run_simulation``, which Flower 1.42
    deprecates for ``flwr run``; its notice is silenced here). The deployment
    engine runs ``server_app`` and ``client_app`` instead.

    Parameters
    ----------
    estimator : MultiTaskHealthRegressor
        Its parameters (JSON-able values) and ``random_state``.
    sites : dict of str to (DataFrame, DataFrame)
        Each site's features and targets (``NaN`` where not measured), by
        name; every site has the same columns and targets.
    rounds : int, default=20
        Rounds of training: every site trains, then the server averages.
    local_epochs : int, default=1
        Epochs each site trains on its rows in a round.
    strategy : {"fedavg", "fedprox"}, default="fedavg"
        Flower's strategy: FedProx adds a proximal term to each site's loss.
    proximal_mu : float, default=0.01
        FedProx's proximal weight.

    Returns
    -------
    model : Pipeline
        The federated model, preprocessing included.
    rounds : DataFrame
        Each round's training loss, bytes sent and seconds.
    """
    from flwr.simulation import run_simulation as flower_run_simulation

    # a site's errors are raised here, naming it, before any engine starts
    pool_statistics([site_statistics(X, Y) for X, Y in sites.values()], list(sites))
    targets = list(next(iter(sites.values()))[1].columns)
    params = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if key != "random_state"
    }
    if params.get("dp") is not None:
        params["dp"] = params["dp"].get_params()
    try:
        encoded = json.dumps(params)
    except TypeError as error:
        raise ValueError(
            "run_simulation sends the estimator's parameters to the sites as "
            f"JSON, which cannot hold one of them ({error}): give strategies by "
            "name (architecture='mmoe') and plain values."
        ) from error
    defaults = {
        "targets": ",".join(targets),
        "rounds": rounds,
        "local-epochs": local_epochs,
        "strategy": strategy,
        "proximal-mu": proximal_mu,
        "estimator": encoded,
        "min-sites": len(sites),
        "random-state": estimator.random_state or 0,
    }
    result = {}
    with _in_process_simulation():
        flower_run_simulation(
            server_app=make_server_app(defaults, result),
            client_app=make_client_app(defaults, list(sites.items())),
            num_supernodes=len(sites),
            backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
        )
    if "model" not in result:
        raise RuntimeError("The Flower simulation ended without a model: see its log.")
    return result["model"], result["rounds"]
