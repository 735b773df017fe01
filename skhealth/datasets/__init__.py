"""Data sets for multi-task health modelling: a real one and a generator."""

from ._nhanes import load_nhanes
from ._samples_generator import make_health_data

__all__ = ["load_nhanes", "make_health_data"]
