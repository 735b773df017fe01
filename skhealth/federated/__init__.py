"""Federated training: one model trained across sites that keep their rows.

Each site computes counts and sums of its rows
(:func:`site_statistics`); the server pools them into the preprocessing and
the target standardisation (:func:`pool_statistics`, :func:`initial_model`),
so that no row leaves a site. Every round, each site trains the global
weights on its rows (:func:`local_update`) and the server averages them
(:func:`aggregate`): the weights of each task's head by that task's label
counts at each site, so that a site that does not measure a task does not
dilute it; the shared weights by rows.

These functions are the pieces; Flower runs them (:mod:`skhealth.federated.flower`).
"""

from ._core import (
    aggregate,
    get_weights,
    initial_model,
    local_update,
    pool_statistics,
    set_weights,
    site_privacy,
    site_statistics,
    task_ownership,
)

__all__ = [
    "aggregate",
    "get_weights",
    "initial_model",
    "local_update",
    "pool_statistics",
    "set_weights",
    "site_privacy",
    "site_statistics",
    "task_ownership",
]
