"""skhealth: multi-task learning for health data, the scikit-learn way."""

from ._estimator import MultiTaskHealthRegressor

__version__ = "0.1.0"

__all__ = ["MultiTaskHealthRegressor", "__version__"]
