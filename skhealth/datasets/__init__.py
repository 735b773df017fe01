"""Data sets for multi-task health modelling: a real one, a generator, and
Parquet datasets larger than memory read lazily."""

from ._nhanes import load_nhanes, load_nhanes_outcomes
from ._parquet import read_parquet
from ._samples_generator import make_health_data

__all__ = ["load_nhanes", "load_nhanes_outcomes", "make_health_data", "read_parquet"]
