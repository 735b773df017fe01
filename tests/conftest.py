import os

import numpy as np
import pandas as pd
import pytest
import torch

# Under pytest-xdist each worker gets one core; two threads per worker on two
# cores would oversubscribe them (as joblib's loky workers avoid doing).
if "PYTEST_XDIST_WORKER" in os.environ:
    torch.set_num_threads(1)


@pytest.fixture
def regression_data():
    """Three related tasks on very different scales (mmHg, mg/dL, hours)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 6))
    latent = np.tanh(X[:, :3] @ rng.normal(size=(3, 2)))
    Y = latent @ rng.normal(size=(2, 3)) + 0.05 * rng.normal(size=(240, 3))
    Y = Y * np.array([15.0, 400.0, 0.5]) + np.array([120.0, 180.0, 7.0])
    return X, Y


@pytest.fixture
def health_frame():
    """A mixed-type DataFrame as a data scientist gets it, with three targets."""
    rng = np.random.RandomState(1)
    n = 300
    age = rng.uniform(20, 80, n)
    sex = rng.choice(["female", "male"], n)
    smoker = pd.Categorical(rng.choice(["never", "former", "current"], n))
    sleep = rng.normal(7, 1, n)
    sleep[rng.rand(n) < 0.1] = np.nan
    steps = rng.poisson(7000, n)
    X = pd.DataFrame(
        {"age": age, "sex": sex, "smoker": smoker, "sleep_hours": sleep, "steps": steps}
    )
    male = (sex == "male").astype(float)
    current = (np.asarray(smoker) == "current").astype(float)
    Y = pd.DataFrame(
        {
            "systolic_bp": 100
            + 0.5 * age
            + 5 * male
            + 4 * current
            + rng.normal(0, 4, n),
            "hdl": 60 - 8 * male - 5 * current + 0.001 * steps + rng.normal(0, 3, n),
            "hba1c": 5 + 0.02 * age - 0.00005 * steps + rng.normal(0, 0.2, n),
        }
    )
    return X, Y


@pytest.fixture
def cuda_device():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return "cuda"


@pytest.fixture(scope="module")
def dask_cluster():
    """A Dask cluster in this process: one worker of two threads, on 127.0.0.1
    (tcp), for the module's tests."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster
