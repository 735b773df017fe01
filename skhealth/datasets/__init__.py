"""Data sets for multi-task health modelling: a real one and a generator."""

from ._nhanes import load_nhanes, load_nhanes_outcomes
from ._samples_generator import make_health_data

__all__ = ["load_nhanes", "load_nhanes_outcomes", "make_health_data"]
