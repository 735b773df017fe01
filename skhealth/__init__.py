"""skhealth: multi-task learning for health data, the scikit-learn way."""

import importlib

__version__ = "0.1.0"

# The public names, each imported from its module on first use, so that
# importing skhealth (as the command line does to answer --version and --help)
# does not load PyTorch.
_LAZY = {
    "DeviceError": "._torch_utils",
    "ModelFileError": ".model_files",
    "MultiTaskHealthRegressor": "._estimator",
    "MultiTaskHealthClassifier": "._classifier",
    "load": ".model_files",
    "predict_frame": "._frames",
    "save": ".model_files",
    "score_tasks": ".metrics",
}

# The public modules, imported on first use as attributes too (skhealth.metrics
# after a bare import skhealth)
_SUBMODULES = (
    "architectures",
    "callbacks",
    "cli",
    "datasets",
    "federated",
    "inspection",
    "losses",
    "metrics",
    "model_files",
    "monitoring",
    "onnx",
    "parallel",
    "plot",
    "preprocessing",
    "privacy",
    "serving",
    "weighting",
)

__all__ = [*_LAZY, "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES})
