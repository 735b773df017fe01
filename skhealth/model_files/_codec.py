"""The codec: parameters and learned values as tagged JSON, and back.

Plain JSON values stand for themselves. Other types are objects with one tag
(``{"tuple": [...]}``, ``{"ndarray": [...], "dtype": "<f8", "shape": [...]}``,
...), so that a value decodes to the type it was. skhealth's own
architectures and task weightings are stored by name with their parameters.
"""

import numpy as np
import pandas as pd

from .._sklearn import validate_parameter_constraints
from .._training import NETWORK_PARAMS
from ..architectures import ARCHITECTURES
from ..privacy import DP
from ..weighting import WEIGHTINGS, Fixed
from ._container import ModelFileError

# The parameters that may hold an instance of one of skhealth's own classes,
# stored by name. Fixed is what task_weighting=[...] builds, so it is saved too;
# a private model's DP settings too.
REGISTRIES = {
    "architecture": ARCHITECTURES,
    "task_weighting": {**WEIGHTINGS, "fixed": Fixed},
    "dp": {"dp": DP},
}


def encode(value, name, *, settable=True):
    """``value`` as JSON data, tagged so that it decodes to the same types; a
    ValueError naming the parameter ``name`` for what a file cannot hold (and,
    where ``settable``, that another value set before saving would do)."""

    def encode_item(item):
        if isinstance(item, np.generic) and item.dtype.kind in "biuf":
            return {"scalar": item.item(), "dtype": item.dtype.str}
        if item is None or isinstance(item, (bool, int, float, str)):
            return item
        if isinstance(item, list):
            return [encode_item(element) for element in item]
        if isinstance(item, tuple):
            return {"tuple": [encode_item(element) for element in item]}
        if isinstance(item, dict) and all(isinstance(key, str) for key in item):
            return {
                "dict": {key: encode_item(element) for key, element in item.items()}
            }
        if isinstance(item, dict):  # keys JSON objects cannot hold, e.g. task indices
            return {
                "items": [[encode_item(k), encode_item(v)] for k, v in item.items()]
            }
        if isinstance(item, pd.Series):  # task_weighting keyed by target name
            return {
                "series": [[encode_item(k), encode_item(v)] for k, v in item.items()]
            }
        if isinstance(item, np.ndarray) and (
            item.dtype.kind in "biuf"
            or (
                item.dtype.kind == "O"
                and all(isinstance(element, str) for element in item.flat)
            )
        ):
            return {
                "ndarray": item.tolist(),
                "dtype": item.dtype.str,
                "shape": list(item.shape),
            }
        fix = (
            "Set a plain value with set_params before saving, or save"
            if settable
            else "The network was fitted with it: save"
        )
        raise ValueError(
            f"{name}={value!r} cannot be stored in a model file, which holds "
            "parameters as data (None, bools, numbers, strings, and lists, tuples, "
            f"dicts and arrays of them). {fix} the model with pickle or joblib."
        )

    return encode_item(value)


def _dtype(text):
    dtype = np.dtype(text)
    if dtype.kind not in "biufO":
        raise ValueError(f"unsupported dtype {text!r}")
    return dtype


def decode(data):
    """The value that :func:`encode` gave ``data`` for."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if data.keys() == {"tuple"}:
        return tuple(decode(item) for item in data["tuple"])
    if data.keys() == {"dict"}:
        return {key: decode(item) for key, item in data["dict"].items()}
    if data.keys() == {"items"}:
        return {decode(key): decode(item) for key, item in data["items"]}
    if data.keys() == {"series"}:
        pairs = [(decode(key), decode(value)) for key, value in data["series"]]
        return pd.Series(dict(pairs))
    if data.keys() == {"scalar", "dtype"}:
        return _dtype(data["dtype"]).type(data["scalar"])
    if data.keys() == {"ndarray", "dtype", "shape"}:
        array = np.asarray(data["ndarray"], dtype=_dtype(data["dtype"]))
        return array.reshape(data["shape"])
    raise ValueError(f"unknown value {data!r}")


def encode_params(params):
    """The estimator's ``params`` (``get_params(deep=False)``) as JSON data."""
    encoded = {}
    for name, value in params.items():
        registry = REGISTRIES.get(name)
        if registry is not None and hasattr(value, "get_params"):
            encoded[name] = _encode_instance(value, name, registry)
        else:
            encoded[name] = encode(value, name, settable=name not in NETWORK_PARAMS)
    return encoded


def _encode_instance(value, name, registry):
    names = [key for key, cls in registry.items() if type(value) is cls]
    if not names:
        raise ValueError(
            f"{name}={value!r} is not one of skhealth's own classes "
            f"({', '.join(sorted(registry))}): a model file stores parameters as "
            "data and cannot rebuild a custom class. Save this model with pickle "
            "or joblib instead."
        )
    return {
        "class": names[0],
        "params": {
            key: encode(item, f"{name}__{key}")
            for key, item in value.get_params(deep=False).items()
        },
    }


def decode_param(param, data, name):
    """The value of the parameter ``param`` that :func:`encode_params` gave
    ``data`` for; a ModelFileError for a class this skhealth does not have."""
    if not (isinstance(data, dict) and data.keys() == {"class", "params"}):
        return decode(data)
    registry = REGISTRIES[param]
    if data["class"] not in registry:
        raise ModelFileError(
            f"{name} needs the {param} {data['class']!r}, which this skhealth does "
            f"not have ({', '.join(sorted(registry))}): upgrade skhealth."
        )
    cls = registry[data["class"]]
    instance = cls(**{key: decode(item) for key, item in data["params"].items()})
    validate_parameter_constraints(
        getattr(cls, "_parameter_constraints", {}),
        instance.get_params(deep=False),
        caller_name=cls.__name__,
    )
    return instance


def plain(value):
    """JSON fallback for history values: NumPy scalars and arrays."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise ValueError(
        f"the training history holds a {type(value).__name__} ({value!r}), which "
        "a model file cannot store; save this model with pickle or joblib."
    )
