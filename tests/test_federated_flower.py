"""Federated training on Flower's engines: the simulation engine (Ray) in
this process, and the deployment engine (a SuperLink and a SuperNode per
site) started as processes on 127.0.0.1."""

import builtins
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skhealth import MultiTaskHealthRegressor, load
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

pytest.importorskip("flwr")
from skhealth.federated.flower import APP_DIR, run_simulation

PARAMS = dict(hidden_layer_sizes=(16,), n_members=1, random_state=3)


def make_sites():
    X, Y = make_health_data(n_samples=360, n_features=4, n_tasks=2, random_state=0)
    X = pd.DataFrame(X, columns=["age", "bmi", "steps", "sleep"])
    Y = pd.DataFrame(Y, columns=["sbp", "hdl"])
    sites = {
        "north": (X[:150], Y[:150]),
        "south": (X[150:270], Y[150:270]),
        "lab-free clinic": (X[270:], Y[270:].assign(hdl=np.nan)),
    }
    return sites, X, Y


def by_hand(sites, rounds):
    """The rounds the Flower apps run, with the same functions and seeds."""
    pooled = pool_statistics(
        [site_statistics(X, Y) for X, Y in sites.values()], list(sites)
    )
    model = initial_model(MultiTaskHealthRegressor(**PARAMS), pooled)
    ownership, weights = task_ownership(model), get_weights(model)
    for server_round in range(1, rounds + 1):
        updates = []
        for partition, (X, Y) in enumerate(sites.values()):
            site = initial_model(MultiTaskHealthRegressor(**PARAMS), pooled)
            set_weights(site, weights)
            seed = 3 * 100_003 + server_round * 1009 + partition
            updates.append(local_update(site, X, Y, seed=seed))
        weights = aggregate(updates, ownership, weights)
    set_weights(model, weights)
    return model


@pytest.mark.slow
def test_the_simulation_engine_trains_what_the_rounds_do_by_hand():
    pytest.importorskip("ray")
    sites, X, _ = make_sites()
    printer = builtins.print
    model, rounds = run_simulation(
        MultiTaskHealthRegressor(**PARAMS), sites, rounds=3, local_epochs=1
    )
    # Ray's print is gone: estimators holding the built-in one still pickle
    assert builtins.print is printer
    pickle.loads(pickle.dumps(model))
    assert rounds["round"].tolist() == [1, 2, 3]
    size = sum(w.nbytes for w in get_weights(model))
    assert rounds["bytes"].tolist() == [2 * size * 3] * 3
    assert model[-1].n_iter_ == 3
    np.testing.assert_allclose(
        model.predict(X), by_hand(sites, 3).predict(X), rtol=1e-4, atol=1e-6
    )


def test_a_simulation_refuses_a_site_without_labels_before_starting():
    sites, _, _ = make_sites()
    X, Y = sites["south"]
    sites["south"] = (X, Y * np.nan)
    with pytest.raises(ValueError, match="south has no label for any task"):
        run_simulation(MultiTaskHealthRegressor(**PARAMS), sites, rounds=1)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(args, log, env):
    return subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own group: stopped with its children
    )


def _stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.slow
def test_the_deployment_engine_trains_across_supernodes(tmp_path):
    sites, X, _ = make_sites()
    for i, (X_site, Y_site) in enumerate(sites.values()):
        X_site.join(Y_site).to_csv(tmp_path / f"site{i}.csv", index=False)
    port = _free_port()
    home = tmp_path / "flwr"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "test"\n\n[superlink.test]\n'
        f'address = "127.0.0.1:{port}"\ninsecure = true\n'
    )
    env = {**os.environ, "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0"}
    bin_dir = Path(sys.executable).parent
    log = open(tmp_path / "engine.log", "w")  # noqa: SIM115 - closed below
    processes = [
        _start(
            [
                bin_dir / "flower-superlink",
                "--insecure",
                "--disable-runtime-dependency-installation",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            log,
            env,
        )
    ]
    output = tmp_path / "federated.skh"
    try:
        for i, name in enumerate(sites):
            node_config = f'data="{tmp_path / f"site{i}.csv"}" site-name="{name}"'
            processes.append(
                _start(
                    [
                        bin_dir / "flower-supernode",
                        "--insecure",
                        "--superlink",
                        f"127.0.0.1:{port}",
                        "--port",
                        str(_free_port()),
                        "--node-config",
                        node_config,
                    ],
                    log,
                    env,
                )
            )
        run_config = (
            f'targets="sbp,hdl" rounds=2 min-sites=3 random-state=3 '
            f'output="{output}" estimator=\'{{"hidden_layer_sizes": [16], '
            f'"n_members": 1}}\''
        )
        deadline = time.monotonic() + 240
        submitted = None
        while submitted is None or submitted.returncode:
            if time.monotonic() > deadline:
                break
            # the SuperLink takes a few seconds to listen
            submitted = subprocess.run(
                [bin_dir / "flwr", "run", APP_DIR, "test", "--run-config", run_config],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            time.sleep(1)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        while not output.exists() and time.monotonic() < deadline:
            time.sleep(1)
        assert output.exists(), (tmp_path / "engine.log").read_text()[-3000:]
        time.sleep(1)  # written whole: save replaces the file once complete
        model = load(output)
        assert model[-1].n_iter_ == 2
        assert model.predict(X).shape == (360, 2)
    finally:
        for process in reversed(processes):
            _stop(process)
        log.close()


@pytest.mark.slow
def test_the_simulation_engine_trains_private_sites():
    pytest.importorskip("ray")
    pytest.importorskip("opacus")
    from skhealth.privacy import DP

    sites, X, _ = make_sites()
    dp = DP(target_epsilon=3, target_bounds={"sbp": (-10, 10), "hdl": (-10, 10)})
    model, rounds = run_simulation(
        MultiTaskHealthRegressor(**PARAMS, dp=dp), sites, rounds=2
    )
    # the most any site spent, growing round by round up to the target
    assert rounds["epsilon"].is_monotonic_increasing
    assert 2.7 <= rounds["epsilon"].iloc[-1] <= 3
    assert model[-1].epsilon_ == rounds["epsilon"].iloc[-1]
    assert model[-1].net_.private
    assert np.isfinite(model.predict(X)).all()
