"""skhealth: multi-task learning for health data, the scikit-learn way."""

from ._estimator import MultiTaskHealthRegressor
from ._torch_utils import DeviceError
from .model_files import ModelFileError, load, save

__version__ = "0.1.0"

__all__ = [
    "DeviceError",
    "ModelFileError",
    "MultiTaskHealthRegressor",
    "__version__",
    "load",
    "save",
]
