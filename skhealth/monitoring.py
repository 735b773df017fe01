"""Keeping a fitted model current: a profile of the data it was trained on,
drift reports of new data against it, and updating the model on new rows.

- :func:`data_profile` summarises a table column by column: percentiles,
  decile bins, mean, std and missing share of a number column, category
  shares of a string column. It holds summaries, never rows; a model file
  stores it beside the model (``skhealth.save(model, path, profile=X_train)``,
  and ``skhealth fit`` does so), and :func:`skhealth.load` gives it back as
  the model's ``data_profile_``.
- :func:`drift_report` compares new data with a profile: the population
  stability index (PSI) and an approximate Kolmogorov-Smirnov statistic of
  each column, its shift in mean and missing share, and its new categories,
  the columns that moved most first.
- :func:`update` continues training a copy of a fitted model (an estimator or
  a pipeline ending in one) on new rows, and reports per-task scores on a
  holdout of them before and after, the drift, and what it kept or refitted.
"""

import copy
import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from ._validation import final_step, fitted_regressor, regressor_input

__all__ = [
    "ColumnProfile",
    "DataProfile",
    "UpdateReport",
    "data_profile",
    "drift_report",
    "update",
]

# The percentiles a number column's profile keeps: 1 % to 99 %
PERCENTILES = tuple(range(1, 100))
# A category seen in fewer rows than this joins the "other" share, and no
# stored percentile lies beyond the MIN_COUNT-th smallest or largest value of
# its column: the few most extreme people of each end are never in a profile.
MIN_COUNT = 5
# A number column with fewer observed values than this gets no distribution
# summary (no percentiles, bins, mean or std): only its missing share.
MIN_OBSERVED = 2 * MIN_COUNT
# Shares are floored at this before the PSI's logarithm: an empty bin would
# otherwise weigh without bound.
PSI_FLOOR = 1e-4
# The usual reading of the PSI: below 0.1 stable, 0.1 to 0.25 moderate, above
# 0.25 a major shift.
PSI_LEVELS = (0.1, 0.25)


# ------------------------------------------------------------------ profiles
@dataclass(frozen=True)
class ColumnProfile:
    """The summary of one column of a table, as :func:`data_profile` makes it.

    A frozen dataclass: its fields are both the constructor's parameters and
    the instance's attributes.

    Parameters
    ----------
    name : str
        The column's name (``"x<i>"`` for a column of an array).
    kind : {"number", "string"}
        A column of numbers (bools as 0 and 1), or of text or categories
        (compared as their text).
    n_missing : int
        Its missing values (NaN, None, infinite numbers).
    mean, std : float or None
        A number column's mean and standard deviation (``ddof=0``) of its
        observed values, the 4 most extreme of each end counted as the 5th;
        None for a string column, or one of fewer than 10 observed values.
    quantiles : tuple of float or None
        A number column's percentiles 1 to 99 (99 values) by NumPy's
        ``"inverted_cdf"`` method: each is a value of the column, clipped to
        lie between its 5th smallest and 5th largest values. None where
        ``mean`` is.
    bin_shares : tuple of float or None
        The share of the column's observed values in each bin of
        :attr:`bin_edges`; None where ``mean`` is.
    categories : tuple of str or None
        A string column's categories seen in at least 5 rows, the 50 most
        frequent at most (see :func:`data_profile`), most frequent first.
    shares : tuple of float or None
        The share of the observed values in each of ``categories``.
    other : float or None
        The share of the observed values in no category listed.
    """

    name: str
    kind: str
    n_missing: int
    mean: float | None = None
    std: float | None = None
    quantiles: tuple | None = None
    bin_shares: tuple | None = None
    categories: tuple | None = None
    shares: tuple | None = None
    other: float | None = None

    @property
    def bin_edges(self):
        """A number column's bin edges: its distinct deciles.

        The deciles are the percentiles 10 to 90; the bins ``(-inf, e1], (e1,
        e2], ..., (ek, inf)``. A column of few values (0 and 1, codes) gets a
        bin per value this way. None without percentiles.
        """
        if self.quantiles is None:
            return None
        return np.unique(np.asarray(self.quantiles)[9::10])

    def to_dict(self):
        """The column's summary as JSON-ready builtins.

        Returns
        -------
        data : dict
            Its fields by name: lists for tuples, None where absent.
        """
        data = {"name": self.name, "kind": self.kind, "n_missing": self.n_missing}
        if self.kind == "number":
            data |= {
                "mean": self.mean,
                "std": self.std,
                "quantiles": _list(self.quantiles),
                "bin_shares": _list(self.bin_shares),
            }
        else:
            data |= {
                "categories": list(self.categories),
                "shares": list(self.shares),
                "other": self.other,
            }
        return data


def _list(values):
    return None if values is None else [float(v) for v in values]


@dataclass(frozen=True)
class DataProfile:
    """A per-column summary of a table (see :func:`data_profile`).

    A frozen dataclass: its fields are both the constructor's parameters and
    the instance's attributes.

    Parameters
    ----------
    n_rows : int
        The rows summarised.
    columns : tuple of ColumnProfile
        One per column, in the table's order.
    """

    n_rows: int
    columns: tuple

    @property
    def names(self):
        """The columns' names, in order."""
        return [column.name for column in self.columns]

    def __getitem__(self, name):
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self):
        """The profile as JSON-ready builtins: what a model file stores.

        Returns
        -------
        data : dict
            ``{"n_rows": int, "columns": [ColumnProfile.to_dict(), ...]}``.
        """
        return {
            "n_rows": self.n_rows,
            "columns": [column.to_dict() for column in self.columns],
        }

    @classmethod
    def from_dict(cls, data):
        """The profile that :meth:`to_dict` gave ``data`` for.

        Parameters
        ----------
        data : dict
            What :meth:`to_dict` returns. It is not checked here: loading a
            model file checks it before.

        Returns
        -------
        profile : DataProfile
        """
        columns = []
        for column in data["columns"]:
            column = dict(column)
            for key in ("quantiles", "bin_shares", "categories", "shares"):
                if column.get(key) is not None:
                    column[key] = tuple(column[key])
            columns.append(ColumnProfile(**column))
        return cls(int(data["n_rows"]), tuple(columns))

    def to_frame(self):
        """The profile as a table, one row per column.

        Its columns: kind, missing share, mean, std, median, and the number of
        categories listed.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by column name.
        """
        rows = []
        for c in self.columns:
            rows.append(
                {
                    "column": c.name,
                    "kind": c.kind,
                    "missing": c.n_missing / self.n_rows,
                    "mean": np.nan if c.mean is None else c.mean,
                    "std": np.nan if c.std is None else c.std,
                    "median": np.nan if c.quantiles is None else c.quantiles[49],
                    "n_categories": np.nan
                    if c.categories is None
                    else len(c.categories),
                }
            )
        return pd.DataFrame(rows).set_index("column")

    def __repr__(self):
        kinds = [c.kind for c in self.columns]
        return (
            f"DataProfile(n_rows={self.n_rows}, {kinds.count('number')} number "
            f"and {kinds.count('string')} string columns: "
            f"{_shown(self.names)})"
        )


def _shown(names, n=4):
    names = [str(name) for name in names]
    return ", ".join(names[:n]) + (f", ... ({len(names)})" if len(names) > n else "")


def data_profile(X, *, max_categories=50):
    """Summarise a table column by column: summaries, never rows.

    A number column keeps its missing count, mean and std, its percentiles 1
    to 99 and the share of its values in each bin between its distinct
    deciles; a string column (text, categories, bools of an object column)
    its missing count and the share of each category. What a drift report
    needs, and no more:

    - each percentile is a value of the column (NumPy's ``"inverted_cdf"``),
      clipped to lie between the 5th smallest and the 5th largest values, so
      that the minimum and maximum (an outlier's value) are never stored;
    - the mean and std count the 4 most extreme values of each end as the
      5th, so that an extreme value cannot be worked out from them (``n *
      mean`` less the other values, where those are all alike);
    - a category seen in fewer than 5 rows counts only in the ``other`` share;
    - a number column of fewer than 10 observed values keeps its missing
      count only.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table, such as a model's training inputs (before any
        preprocessing). An array's columns are named ``x0``, ``x1``, ...
    max_categories : int, default=50
        The most categories a string column lists (the most frequent); the
        rest count in ``other``.

    Returns
    -------
    profile : DataProfile
        One :class:`ColumnProfile` per column of ``X``, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> from skhealth.monitoring import data_profile
    >>> X = pd.DataFrame({"age": range(20, 80), "sex": ["F", "M"] * 30})
    >>> profile = data_profile(X)
    >>> profile
    DataProfile(n_rows=60, 1 number and 1 string columns: age, sex)
    >>> profile["age"].quantiles[49], profile["sex"].categories
    (49.0, ('F', 'M'))
    """
    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, numbers.Integral)
        or max_categories < 1
    ):
        raise ValueError(
            f"max_categories must be a positive int; got {max_categories!r}."
        )
    frame = _as_frame(X, "X")
    if len(frame) == 0:
        raise ValueError("X has no rows to profile.")
    columns = []
    for name in frame.columns:
        values = frame[name]
        if _is_number_column(values):
            columns.append(_number_profile(str(name), _numbers(values)))
        else:
            columns.append(
                _string_profile(str(name), _strings(values), int(max_categories))
            )
    return DataProfile(len(frame), tuple(columns))


def _as_frame(X, what):
    """``X`` as a DataFrame with str column names (``x0``, ... for an array)."""
    if isinstance(X, pd.DataFrame):
        frame = X.copy(deep=False)
        frame.columns = [str(c) for c in X.columns]
        if frame.columns.duplicated().any():
            twice = frame.columns[frame.columns.duplicated()][0]
            raise ValueError(f"{what} has the column {twice!r} twice.")
        return frame
    if hasattr(X, "toarray"):
        raise TypeError(f"{what} is a sparse matrix; pass a dense table.")
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"{what} must be 2-D (rows, columns); got an array of shape {array.shape}."
        )
    return pd.DataFrame(array, columns=_default_names(array.shape[1]))


def _default_names(n):
    return [f"x{i}" for i in range(n)]


def _is_number_column(values):
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return True
    present = values.dropna()
    return len(present) > 0 and all(
        isinstance(v, numbers.Real) and not isinstance(v, str) for v in present
    )


def _numbers(values):
    """A column's observed values as floats, NaN where missing or infinite."""
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("float64")
    array = pd.to_numeric(values, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return np.where(np.isfinite(array), array, np.nan)


def _strings(values):
    """A column's values as text, None where missing."""
    return [None if _missing(v) else str(v) for v in values.tolist()]


def _missing(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and not np.isfinite(value)


def _number_profile(name, values):
    observed = np.sort(values[~np.isnan(values)])
    n_missing = len(values) - len(observed)
    if len(observed) < MIN_OBSERVED:
        return ColumnProfile(name, "number", n_missing)
    quantiles = np.quantile(
        observed, np.asarray(PERCENTILES) / 100, method="inverted_cdf"
    )
    quantiles = np.clip(quantiles, observed[MIN_COUNT - 1], observed[-MIN_COUNT])
    edges = np.unique(quantiles[9::10])
    counts = np.bincount(_bins(edges, observed), minlength=len(edges) + 1)
    inner = _without_extremes(observed)
    return ColumnProfile(
        name,
        "number",
        n_missing,
        mean=float(inner.mean()),
        std=float(inner.std()),
        quantiles=tuple(float(q) for q in quantiles),
        bin_shares=tuple(float(c) for c in counts / len(observed)),
    )


def _without_extremes(observed):
    """The sorted values ``observed``, the MIN_COUNT - 1 most extreme of each
    end set to the next (the MIN_COUNT-th smallest or largest), where there
    are MIN_OBSERVED or more: a mean then says nothing of one extreme value
    (else ``n * mean`` less the others would be it)."""
    if len(observed) < MIN_OBSERVED:
        return observed
    return np.clip(observed, observed[MIN_COUNT - 1], observed[-MIN_COUNT])


def _bins(edges, values):
    """Each value's bin among ``(-inf, e1], (e1, e2], ..., (ek, inf)``."""
    return np.searchsorted(edges, values, side="left")


def _string_profile(name, values, max_categories):
    present = [v for v in values if v is not None]
    n_missing = len(values) - len(present)
    counts = pd.Series(present, dtype=object).value_counts()
    counts = counts[counts >= MIN_COUNT]
    # most frequent first, ties by name: the same table gives the same profile
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = order[:max_categories]
    n = len(present)
    shares = tuple(count / n for _, count in kept)
    listed = sum(count for _, count in kept)
    return ColumnProfile(
        name,
        "string",
        n_missing,
        categories=tuple(category for category, _ in kept),
        shares=tuple(float(s) for s in shares),
        other=float((n - listed) / n) if n else 0.0,
    )


# -------------------------------------------------------------------- drift
def _profile_of(reference):
    """The profile ``reference`` stands for: itself, a model's
    ``data_profile_``, or that of a table."""
    if isinstance(reference, DataProfile):
        return reference
    if hasattr(reference, "predict"):
        model = reference  # a search's own profile, else its best model's
        profile = getattr(model, "data_profile_", None)
        while profile is None and hasattr(model, "best_estimator_"):
            model = model.best_estimator_
            profile = getattr(model, "data_profile_", None)
        if profile is None:
            raise ValueError(
                f"This {type(model).__name__} holds no data profile of its "
                "training data: pass one, drift_report(data_profile(X_train), "
                "X_new), or the training table itself. A model file keeps one "
                "when saved with skhealth.save(model, path, profile=X_train) or "
                "written by skhealth fit; load gives it back as data_profile_."
            )
        return profile
    return data_profile(reference)


def drift_report(reference, X_new):
    """How far each column of new data moved from the training data.

    Parameters
    ----------
    reference : fitted model, DataProfile or array-like
        A model with a ``data_profile_`` (one loaded from a model file that
        holds a profile, or returned by :func:`update`), a
        :class:`DataProfile`, or the training table itself.
    X_new : DataFrame or array-like of shape (n_samples, n_features)
        The new data: exactly the profile's columns (in any order for a
        DataFrame), an array for a profile of an array (``x0``, ``x1``, ...).

    Returns
    -------
    report : pandas.DataFrame
        One row per column, indexed by name, the columns that moved most
        (by PSI) first:

        - ``kind``: ``"number"`` or ``"string"``;
        - ``psi``: the population stability index ``sum((a - e) * ln(a / e))``
          over the bins, ``e`` the training data's share of each bin and
          ``a`` the new data's (both floored at 1e-4). A number column's bins
          lie between its distinct training deciles (about 10 bins; a bin per
          value for a column of few values); a string column's are its
          categories and ``other``. Values below the lowest decile are a bin
          of their own, of training share 0, where that decile is also the 1st
          percentile (a constant column, one of few values): a value under the
          training range is seen. Missing values are a bin of their own; a
          number column profiled without a distribution (fewer than 10 values)
          is compared by its missing share alone. NaN without new rows;
        - ``drift``: ``"stable"`` (PSI below 0.1), ``"moderate"`` (to 0.25) or
          ``"major"``, the usual reading. The PSI of two samples of the same
          data is about ``(bins - 1) * (1 / n_reference + 1 / n_new)``, so a
          few hundred new rows read a little above 0;
        - ``ks``: a number column's Kolmogorov-Smirnov statistic, the largest
          gap between the two distributions' CDFs, the training one known at
          its percentiles: within about 0.01 of the exact two-sample value;
        - ``mean_shift``: the new mean's distance from the training mean, in
          training standard deviations (each mean, as the profile's, with the
          4 most extreme values of each end counted as the 5th);
        - ``missing_before``, ``missing_after``: the share of missing values;
        - ``new_categories``: a string column's values not among the
          profile's categories (those of at least 5 training rows);
        - ``n_new``: the new data's observed values of the column.

    Raises
    ------
    ValueError
        When ``X_new`` lacks columns of the profile or has others (the error
        names them), or holds text in a number column; or when ``reference``
        is a model without a data profile.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhealth.monitoring import data_profile, drift_report
    >>> rng = np.random.default_rng(0)
    >>> old = pd.DataFrame({"age": rng.normal(50, 10, 1000),
    ...                     "bmi": rng.normal(27, 4, 1000)})
    >>> new = old.assign(age=old["age"] + 10)
    >>> report = drift_report(data_profile(old), new)
    >>> report.index.tolist(), report["drift"].tolist()
    (['age', 'bmi'], ['major', 'stable'])
    >>> float(report.loc["bmi", "psi"])
    0.0
    """
    profile = _profile_of(reference)
    frame, _ = _columns_like(X_new, profile.names, "X_new")
    rows = []
    for column in profile.columns:
        values = frame[column.name]
        if column.kind == "number":
            if not _is_number_column(values):
                coerced = pd.to_numeric(values, errors="coerce")
                text = values[values.notna() & coerced.isna()]
                if len(text):
                    raise ValueError(
                        f"X_new's column {column.name!r} holds {text.iloc[0]!r}, "
                        "but it held numbers in the training data."
                    )
            rows.append(_number_drift(column, _numbers(values), profile.n_rows))
        else:
            rows.append(_string_drift(column, _strings(values), profile.n_rows))
    report = pd.DataFrame(rows).set_index("column")
    order = np.lexsort((-report["ks"].fillna(-1), -report["psi"].fillna(-1)))
    return report.iloc[order]


def _psi(expected, actual):
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _with_missing(shares, missing):
    """Shares of the observed values and a missing share, as shares of all."""
    return [s * (1 - missing) for s in shares] + [missing]


def _level(psi):
    if np.isnan(psi):
        return "unknown"
    if psi < PSI_LEVELS[0]:
        return "stable"
    return "moderate" if psi <= PSI_LEVELS[1] else "major"


def _row(column, n_rows, n_new, missing_after, psi, **values):
    return {
        "column": column.name,
        "kind": column.kind,
        "psi": psi,
        "drift": _level(psi),
        "ks": values.get("ks", np.nan),
        "mean_shift": values.get("mean_shift", np.nan),
        "missing_before": column.n_missing / n_rows,
        "missing_after": missing_after,
        "new_categories": values.get("new_categories", ()),
        "n_new": n_new,
    }


def _number_drift(column, values, n_rows):
    observed = np.sort(values[~np.isnan(values)])
    n = len(values)
    missing = (n - len(observed)) / n if n else np.nan
    if n == 0:
        return _row(column, n_rows, 0, missing, np.nan)
    missing_before = column.n_missing / n_rows
    if column.quantiles is None:  # no distribution: its missing share only
        psi = _psi([1 - missing_before, missing_before], [1 - missing, missing])
        return _row(column, n_rows, len(observed), missing, psi)
    edges, expected = column.bin_edges, list(column.bin_shares)
    if column.quantiles[0] == edges[0]:
        # The lowest decile is the 1st percentile: a value of a tenth of the
        # rows or more, below which less than 1 % of them lay (a constant
        # column, a column of few values). Below it is a bin of its own, of
        # training share 0, else a value under the training range would share
        # the lowest value's bin unseen.
        edges = np.r_[np.nextafter(edges[0], -np.inf), edges]
        expected = [0.0, *expected]
    if len(observed):
        counts = np.bincount(_bins(edges, observed), minlength=len(edges) + 1)
        shares = counts / len(observed)
    else:
        shares = np.zeros(len(edges) + 1)
    psi = _psi(
        _with_missing(expected, missing_before),
        _with_missing(shares, missing),
    )
    values = {}
    if len(observed):
        values["ks"] = _ks(np.asarray(column.quantiles), observed)
        mean = _without_extremes(observed).mean()  # as the profile's
        values["mean_shift"] = (
            (mean - column.mean) / column.std if column.std > 0 else np.nan
        )
    return _row(column, n_rows, len(observed), missing, psi, **values)


def _ks(quantiles, observed):
    """The largest gap between the CDF of the sorted ``observed`` values and
    the one the percentiles ``quantiles`` describe: at each distinct
    percentile value v, held by percentiles a to b, the reference CDF is b %
    at v and a % just below it."""
    values, first = np.unique(quantiles, return_index=True)
    last = len(quantiles) - 1 - np.unique(quantiles[::-1], return_index=True)[1]
    levels = np.asarray(PERCENTILES, dtype=float) / 100
    below, upto = levels[first], levels[last]
    n = len(observed)
    new_below = np.searchsorted(observed, values, side="left") / n
    new_upto = np.searchsorted(observed, values, side="right") / n
    return float(max(np.abs(new_upto - upto).max(), np.abs(new_below - below).max()))


def _string_drift(column, values, n_rows):
    present = [v for v in values if v is not None]
    n = len(values)
    missing = (n - len(present)) / n if n else np.nan
    listed = {category: i for i, category in enumerate(column.categories)}
    counts = np.zeros(len(listed) + 1)
    unseen = {}
    for value in present:
        i = listed.get(value)
        if i is None:
            counts[-1] += 1
            unseen[value] = unseen.get(value, 0) + 1
        else:
            counts[i] += 1
    shares = counts / len(present) if present else counts
    psi = _psi(
        _with_missing([*column.shares, column.other], column.n_missing / n_rows),
        _with_missing(shares, missing),
    )
    new = tuple(sorted(unseen, key=lambda v: (-unseen[v], v)))
    return _row(column, n_rows, len(present), missing, psi, new_categories=new)


def _columns_like(X, names, what, named=None):
    """``(frame, X)``: ``X`` as a DataFrame of the columns ``names`` in that
    order, and as the model reads it: reordered where the model is ``named``
    (fitted on named columns; by default unless ``names`` are ``x0``, ...),
    else an array. A ValueError names the columns missing or extra."""
    default = names == _default_names(len(names))
    named = not default if named is None else named
    if isinstance(X, pd.DataFrame):
        columns = _same_columns(
            X,
            names,
            what,
            "lacks the model's columns {}",
            "has columns the model does not read {}",
            f"The model reads exactly {_quoted(names)}: rename or drop columns "
            "to match (a renamed column is one missing and one extra).",
        )
        frame = _as_frame(X, what)[names]
        if not named:
            return frame, frame.to_numpy()
        return frame, X[[X.columns[columns.index(n)] for n in names]]
    frame = _as_frame(X, what)
    if not default:
        raise ValueError(
            f"{what} is an array, but the model's columns are named "
            f"{_quoted(names)}: pass a DataFrame with these columns."
        )
    if frame.shape[1] != len(names):
        raise ValueError(
            f"{what} has {frame.shape[1]} columns, but the model reads "
            f"{len(names)} ({_quoted(names)})."
        )
    return frame, X


def _same_columns(frame, names, what, lacks, has, fix):
    """The columns of ``frame`` (the argument ``what``) as str, or a
    ValueError where they are not ``names`` (in any order): ``lacks`` and
    ``has`` say which are missing and extra (their ``{}`` the names), ``fix``
    what to do."""
    columns = [str(c) for c in frame.columns]
    missing = [n for n in names if n not in columns]
    extra = [c for c in columns if c not in names]
    if missing or extra:
        said = []
        if missing:
            said.append(lacks.format(_quoted(missing)))
        if extra:
            said.append(has.format(_quoted(extra)))
        raise ValueError(f"{what} {' and '.join(said)}. {fix}")
    return columns


def _quoted(names, n=8):
    shown = ", ".join(repr(str(name)) for name in names[:n])
    return f"[{shown}{', ...' if len(names) > n else ''}]"


# ------------------------------------------------------------------- update
@dataclass
class UpdateReport:
    """What :func:`update` did, and how the model scored before and after.

    A dataclass: its fields are both the constructor's parameters and the
    instance's attributes.

    Parameters
    ----------
    scores_before, scores_after : pandas.DataFrame or None
        The per-task scores (:func:`skhealth.score_tasks`) of the model before
        and after the update on the holdout of the new data; None without a
        holdout (``validation_fraction=0``).
    drift : pandas.DataFrame or None
        :func:`drift_report` of the new data against the model's training
        data; None when the model held no data profile.
    n_train, n_holdout : int
        The new rows trained on and held out.
    n_replay : int
        The old rows trained on beside them (``replay``).
    n_epochs, max_epochs : int
        The epochs trained, and the most allowed (``epochs``).
    early_stopping : bool
        Whether training held out some of its rows to stop on (the model's
        early stopping, decided when it was first fitted).
    preprocessing, target_scaling, calibration, profile : str
        What became of each, in words: kept or refitted, and on which rows.
    """

    scores_before: pd.DataFrame | None
    scores_after: pd.DataFrame | None
    drift: pd.DataFrame | None
    n_train: int
    n_holdout: int
    n_replay: int
    n_epochs: int
    max_epochs: int
    early_stopping: bool
    preprocessing: str
    target_scaling: str
    calibration: str
    profile: str

    @property
    def scores(self):
        """The holdout scores before and after, side by side.

        A DataFrame of ``<score>_before`` and ``<score>_after`` for each score,
        then ``n_observed``, one row per task; None without a holdout.
        """
        if self.scores_before is None:
            return None
        columns = {}
        for name in self.scores_before.columns:
            if name == "n_observed":
                continue
            columns[f"{name}_before"] = self.scores_before[name]
            columns[f"{name}_after"] = self.scores_after[name]
        columns["n_observed"] = self.scores_after["n_observed"]
        return pd.DataFrame(columns)

    def summary(self, top=10):
        """The report as text.

        The drift table (its ``top`` columns), how the model was trained and
        what was kept, and the scores.

        Parameters
        ----------
        top : int, default=10
            The most columns of the drift table shown, those that moved most.

        Returns
        -------
        text : str
            Lines, as ``skhealth update`` prints them.
        """
        lines = []
        if self.drift is None:
            lines.append(
                "Drift: the model holds no data profile of its training data, so "
                "nothing to compare the new data with."
            )
        else:
            shown = min(top, len(self.drift))
            lines.append(
                "Drift of the new data from the training data (PSI over the "
                "training deciles or categories: < 0.1 stable, 0.1-0.25 moderate, "
                f"> 0.25 major), {shown} of {len(self.drift)} columns, most moved "
                "first:"
            )
            lines.append(_format_drift(self.drift.head(top)))
        lines.append("")
        stop = (
            "early stopping on rows held out of those trained on"
            if self.early_stopping
            else ("no early stopping")
        )
        replayed = f" and {_count(self.n_replay, 'old row')}" if self.n_replay else ""
        lines.append(
            f"Trained on {_count(self.n_train, 'new row')}{replayed} "
            f"({_count(self.n_holdout, 'new row')} held out for scores): "
            f"{_count(self.n_epochs, 'epoch')} of at most {self.max_epochs}, "
            f"{stop}."
        )
        lines.append(f"preprocessing: {self.preprocessing}")
        lines.append(f"target scaling: {self.target_scaling}")
        lines.append(f"calibration: {self.calibration}")
        lines.append(f"data profile: {self.profile}")
        lines.append("")
        if self.scores_before is None:
            lines.append("No holdout: no scores before and after.")
        else:
            lines.append(
                f"Scores on the {self.n_holdout} held-out new rows, before and "
                "after the update:"
            )
            scores = self.scores
            lines.append(scores.to_string(float_format=lambda v: f"{v:.3f}"))
            main = "r2" if "r2" in self.scores_before else "roc_auc"
            label = "R2" if main == "r2" else "ROC-AUC"
            lines.append(
                f"mean {label}: {self.scores_before[main].mean():.3f} before, "
                f"{self.scores_after[main].mean():.3f} after"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.summary()


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _format_drift(drift):
    """A drift report as a text table (numbers to 3 decimals, new categories
    as their first few)."""
    table = drift.copy()
    table["new_categories"] = [
        ", ".join(map(str, values[:3])) + (", ..." if len(values) > 3 else "")
        for values in table["new_categories"]
    ]
    return table.to_string(
        float_format=lambda v: f"{v:.3f}", na_rep="-", max_colwidth=40
    )


def update(
    model,
    X_new,
    y_new,
    *,
    epochs=None,
    refit_preprocessing=False,
    recalibrate=True,
    validation_fraction=0.2,
    sample_weight=None,
    replay=None,
    random_state=None,
):
    """Continue training a fitted model on new rows, and report the change.

    The model is copied; the copy trains on the new rows (those not held
    out) by ``warm_start``: from its current weights and optimiser state, with
    its own parameters, for at most ``epochs`` epochs. Trained on the new rows
    only, a network forgets much of what it learnt of the old ones: pass some
    of them as ``replay`` to train on beside the new ones, and keep it.

    What is kept, and what is refitted:

    - **Preprocessing** (the steps of a pipeline before its estimator) is kept
      as fitted on the old data, and the new rows go through it unchanged.
      ``refit_preprocessing=True`` refits it on the new training rows first:
      an imputer's medians, a scaler's means and scales then follow the new
      data, and the same raw value reaches the network as another input,
      which training must adapt to. It must produce the same columns, by
      number and by the names its steps give them (an encoder meeting other
      categories does not): else a ValueError.
    - **Target scaling** (each task's standardisation, and its transform) is
      always kept: the network's outputs are in the units it learnt.
    - **Early stopping** is as the model was first fitted: a model that held
      rows out (or cross-fitted its ensemble) holds out some of the new
      training rows the same way, keeps its best epoch, and refits its linear
      path and the calibration of its intervals on them.
    - **Calibration.** Training on invalidates the calibration of the
      intervals. Where early stopping did not refit it, the copy is
      recalibrated on the holdout (``recalibrate=True``; :meth:`calibrate
      <skhealth.MultiTaskHealthRegressor.calibrate>`), or left without one.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, MultiTaskHealthClassifier or Pipeline
        A fitted estimator, or a fitted pipeline whose last step is one. It is
        not modified.
    X_new : DataFrame or array-like of shape (n_samples, n_features)
        The new rows: exactly the model's input columns (in any order for a
        DataFrame).
    y_new : DataFrame, Series or array-like of shape (n_samples, n_tasks)
        Their targets, the model's tasks (a DataFrame's columns named as
        them, in any order); NaN where a label is missing.
    epochs : int, default=None
        The most epochs to train; None for the model's ``max_iter``.
    refit_preprocessing : bool, default=False
        Refit a pipeline's preprocessing on the new training rows (see above).
    recalibrate : bool, default=True
        Calibrate the intervals on the holdout where training left none.
    validation_fraction : float in [0, 1), default=0.2
        The share of the new rows held out to score the model before and
        after (and to recalibrate on); 0 holds out none.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each new row in training and in the scores.
    replay : tuple (X_old, y_old), default=None
        Old rows (the model's columns and tasks, as ``X_new`` and ``y_new``)
        to train on beside the new ones, each of weight 1, so that the model
        keeps what it learnt of them (rehearsal). They are not held out,
        scored, profiled nor compared for drift, and a refitted preprocessing
        is fitted on the new rows only.
    random_state : int, RandomState instance or None, default=None
        Draws the holdout.

    Returns
    -------
    updated : estimator or Pipeline
        The updated copy of ``model``, whose ``data_profile_`` is the profile
        of ``X_new`` (all its rows): later drift reports compare with the
        data the model was last trained on.
    report : UpdateReport
        The scores before and after, the drift from the model's profile, and
        what was kept or refitted; ``print(report)`` shows it.

    Raises
    ------
    ValueError
        When ``X_new`` lacks columns of the model or has others, ``y_new``
        lacks tasks of the model or has others (the errors name them), the
        refitted preprocessing gives other columns, the holdout leaves fewer
        than 2 rows to score on or none to train on, or the new training rows
        are too few for the model's early stopping (which holds out some of
        them as when it was first fitted).

    Examples
    --------
    >>> import pandas as pd
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import make_health_data
    >>> from skhealth.monitoring import update
    >>> X, Y = make_health_data(n_samples=300, n_features=4, n_tasks=2,
    ...                         random_state=0)
    >>> X = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    >>> Y = pd.DataFrame(Y, columns=["sbp", "hdl"])
    >>> model = MultiTaskHealthRegressor(max_iter=20, random_state=0)
    >>> model = model.fit(X[:200], Y[:200])
    >>> updated, report = update(model, X[200:], Y[200:], epochs=5,
    ...                          random_state=0)
    >>> report.n_train, report.n_holdout, report.scores.index.tolist()
    (80, 20, ['sbp', 'hdl'])
    >>> updated is model, model.n_iter_, updated.n_iter_ > model.n_iter_
    (False, 20, True)
    """
    from sklearn.model_selection import train_test_split

    from ._inputs import input_columns
    from .metrics import score_tasks

    estimator = fitted_regressor(model)
    if estimator is not final_step(model):  # a search
        raise TypeError(
            "update continues a MultiTaskHealthRegressor, a "
            "MultiTaskHealthClassifier or a Pipeline ending in one; pass a "
            "search's best_estimator_."
        )
    if epochs is not None and (
        isinstance(epochs, bool)
        or not isinstance(epochs, numbers.Integral)
        or epochs < 1
    ):
        raise ValueError(f"epochs must be a positive int or None; got {epochs!r}.")
    if not (
        isinstance(validation_fraction, numbers.Real)
        and not isinstance(validation_fraction, bool)
        and 0 <= validation_fraction < 1
    ):
        raise ValueError(
            "validation_fraction must be a number in [0, 1); got "
            f"{validation_fraction!r}."
        )
    pipeline = isinstance(model, Pipeline) and len(model) > 1
    if refit_preprocessing and not pipeline:
        raise ValueError(
            f"refit_preprocessing=True refits a pipeline's preprocessing, but the "
            f"model is a bare {type(model).__name__}, which has none."
        )
    names = [column.name for column in input_columns(model)]
    named = getattr(model, "feature_names_in_", None) is not None
    frame, X = _columns_like(X_new, names, "X_new", named)
    if len(frame) == 0:
        raise ValueError("X_new has no rows to update the model on.")
    y = _targets_like(y_new, estimator, len(frame))
    weight = None if sample_weight is None else np.asarray(sample_weight, float)
    if weight is not None and weight.shape != (len(frame),):
        raise ValueError(
            f"sample_weight has shape {weight.shape}; X_new has {len(frame)} rows."
        )
    max_epochs = estimator.max_iter if epochs is None else int(epochs)

    rows = np.arange(len(frame))
    if validation_fraction > 0:
        validation_fraction = float(validation_fraction)
        _check_holdout(len(frame), validation_fraction)
        train, hold = train_test_split(
            rows, test_size=validation_fraction, random_state=random_state
        )
    else:
        train, hold = rows, rows[:0]

    def part(data, index):
        if data is None:
            return None
        return data.iloc[index] if hasattr(data, "iloc") else data[index]

    X_train, y_train, w_train = part(X, train), part(y, train), part(weight, train)
    n_replay = 0
    if replay is not None:
        X_train, y_train, w_train, n_replay = _with_replay(
            replay, names, named, estimator, X_train, y_train, w_train
        )
    X_hold, y_hold, w_hold = part(X, hold), part(y, hold), part(weight, hold)
    before = (
        score_tasks(model, X_hold, y_hold, sample_weight=w_hold) if len(hold) else None
    )

    updated = copy.deepcopy(model)
    new = final_step(updated)
    if refit_preprocessing:
        preprocess = updated[:-1]
        Xt_train = _refit(preprocess, X_train, y_train, len(X_train) - n_replay)
        _check_refitted(model[:-1], preprocess, Xt_train, new)
        preprocessing = (
            f"refitted on the {len(train)} new training rows: the network's "
            "inputs now mean the new data's scaling and imputation"
        )
    else:
        Xt_train = regressor_input(updated, X_train) if pipeline else X_train
        preprocessing = (
            "kept as fitted on the old data" if pipeline else "none (a bare estimator)"
        )

    n_before_epochs = new.n_iter_
    params = new.get_params(deep=False)
    new.set_params(warm_start=True, max_iter=max_epochs)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Maximum iterations", category=ConvergenceWarning
            )
            new.fit(Xt_train, y_train, sample_weight=w_train)
    except ValueError as error:
        raise _early_stopping_error(new, error, len(train), n_replay) from error
    finally:
        new.set_params(warm_start=params["warm_start"], max_iter=params["max_iter"])
    n_epochs = new.n_iter_ - n_before_epochs

    calibration = _recalibrate(
        new, updated, (X_hold, y_hold, w_hold), recalibrate, len(train), n_replay
    )
    groups = getattr(getattr(estimator, "_calibration", None), "groups", None)
    if groups is not None and getattr(new, "_calibration", None) is not None:
        calibration += (
            "; without groups: the old one was per group "
            f"({', '.join(map(repr, groups))}): call calibrate(X, y, groups=...) "
            "with held-out labelled new rows for one again"
        )
    after = (
        score_tasks(updated, X_hold, y_hold, sample_weight=w_hold)
        if len(hold)
        else None
    )
    reference = getattr(model, "data_profile_", None)
    drift = None if reference is None else drift_report(reference, frame)
    updated.data_profile_ = data_profile(frame)
    report = UpdateReport(
        scores_before=before,
        scores_after=after,
        drift=drift,
        n_train=len(train),
        n_replay=n_replay,
        n_holdout=len(hold),
        n_epochs=n_epochs,
        max_epochs=max_epochs,
        early_stopping=bool(new.do_early_stopping_),
        preprocessing=preprocessing,
        target_scaling=(
            "none (binary labels are learnt as 0 and 1)"
            if new._binary_tasks.all()
            else "kept (each task's standardisation as first fitted)"
        ),
        calibration=calibration,
        profile=f"of the {len(frame)} new rows (replaces the old one)",
    )
    return updated, report


def _refit(preprocess, X, y, n_new):
    """``X`` through ``preprocess`` refitted on its first ``n_new`` rows and
    their targets ``y`` (as a pipeline fits it: ``fit_transform``, with the
    targets for steps that learn from them), the other rows (replayed old
    ones) transformed after them."""

    def rows(data, start, stop):
        return data.iloc[start:stop] if hasattr(data, "iloc") else data[start:stop]

    Xt = preprocess.fit_transform(rows(X, 0, n_new), rows(y, 0, n_new))
    if n_new == len(X):
        return Xt
    Xt_old = preprocess.transform(rows(X, n_new, len(X)))
    if hasattr(Xt, "iloc"):
        return pd.concat([Xt, Xt_old], ignore_index=True)
    return np.concatenate([np.asarray(Xt), np.asarray(Xt_old)])


def _check_refitted(old, new, Xt, estimator):
    """A ValueError where the refitted preprocessing ``new`` (which made
    ``Xt``) makes other columns than ``old`` did for ``estimator``: other
    names where its steps name them, else another number of them."""
    fix = (
        ": an encoder met other categories than at first, or an imputer a "
        "column of no value, say. The network cannot continue on other "
        "columns: update with refit_preprocessing=False, or fit a new model."
    )
    before, after = _names_out(old), _names_out(new)
    if before is None and getattr(estimator, "feature_names_in_", None) is not None:
        before = [str(c) for c in estimator.feature_names_in_]
    if after is None and hasattr(Xt, "columns"):
        after = [str(c) for c in Xt.columns]
    if before is not None and after is not None and before != after:
        gone = [name for name in before if name not in after]
        come = [name for name in after if name not in before]
        said = [f"{_quoted(gone)} gone"] if gone else []
        said += [f"{_quoted(come)} come"] if come else []
        said = " and ".join(said) or "the same in another order"
        raise ValueError(
            "The preprocessing refitted on the new rows makes other columns "
            f"than the network was fitted on: {said}{fix}"
        )
    n_before, n_after = estimator.n_features_in_, np.shape(Xt)[1]
    if n_after != n_before:
        raise ValueError(
            f"The preprocessing refitted on the new rows gives {n_after} "
            f"columns, but the network reads {n_before}{fix}"
        )


def _names_out(preprocess):
    """The names of the columns a fitted preprocessing makes, as str; None
    where its steps do not say."""
    try:
        return [str(name) for name in preprocess.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        return None


def _early_stopping_error(estimator, error, n_train, n_replay):
    """``error``, raised training ``estimator`` on, where it is early
    stopping's: which held-out rows the new training rows are too few for,
    without its advice to set ``early_stopping=False``, which update cannot
    follow (a fitted model stops early as it was first fitted)."""
    message = str(error)
    advice = "set early_stopping=False."
    if not (estimator.do_early_stopping_ and message.endswith(advice)):
        return error
    # the problem is the message's first sentence, the advice the others
    problem = message.split(". ")[0].rstrip(".") + "."
    held_out = (
        f"one fold per member ({estimator.n_members} folds)"
        if estimator.cross_fit_
        else f"validation_fraction={estimator.validation_fraction}"
    )
    replayed = f" (and {n_replay} old rows)" if n_replay else ""
    return ValueError(
        f"The model stops early on {held_out} of its training rows, as it was "
        f"first fitted, and the {n_train} new training rows{replayed} are too "
        f"few for it: {problem} Update on more new rows, each task labelled in "
        "several of them."
    )


def _check_holdout(n_rows, fraction, given=None, none="pass 0"):
    """A ValueError where holding out ``fraction`` of ``n_rows`` new rows (as
    ``train_test_split`` counts them) leaves fewer than 2 to score on or none
    to train on. ``given`` names the fraction in the message, ``none`` says
    how to hold out none."""
    given = f"validation_fraction={fraction}" if given is None else given
    if n_rows < 3:
        raise ValueError(
            f"{given}: {n_rows} new rows are too few to hold out 2 to score on "
            f"and train on the others: give more rows, or {none} to hold out "
            "none (and score nothing)."
        )
    n_hold = math.ceil(fraction * n_rows)  # as train_test_split's test_size
    if n_hold < 2:
        raise ValueError(
            f"{given} holds out {n_hold} of the {n_rows} new rows, fewer than "
            f"the 2 to score on: raise it, or {none} to hold out none (and score "
            "nothing)."
        )
    if n_hold >= n_rows:
        raise ValueError(
            f"{given} holds out all {n_rows} new rows, leaving none to train on: "
            "lower it."
        )


def _with_replay(replay, names, named, estimator, X, y, weight):
    """``(X, y, weight, n_replay)``: the new training rows and the old rows
    of ``replay`` after them, each old row of weight 1."""
    if not (isinstance(replay, tuple) and len(replay) == 2):
        raise ValueError(
            "replay must be a tuple (X_old, y_old) of old rows to train on; got "
            f"{type(replay).__name__}."
        )
    _, X_old = _columns_like(replay[0], names, "replay's X_old", named)
    y_old = _targets_like(replay[1], estimator, len(X_old), "replay's y_old")
    n_replay = len(X_old)
    if hasattr(X, "iloc"):
        X = pd.concat([X, X_old], ignore_index=True)
    else:
        X = np.concatenate([np.asarray(X), np.asarray(X_old)])
    if hasattr(y, "iloc"):
        y = pd.concat([y, y_old], ignore_index=True)
    else:
        y = np.concatenate([np.asarray(y), np.asarray(y_old)])
    if weight is not None:
        weight = np.concatenate([weight, np.ones(n_replay)])
    return X, y, weight, n_replay


def _targets_like(y, estimator, n_rows, what="y_new"):
    """``y`` with the model's tasks in order; a ValueError naming tasks
    missing or extra."""
    names = [str(n) for n in estimator.target_names_]
    one_d = bool(estimator._y_1d)
    if isinstance(y, pd.DataFrame):
        columns = _same_columns(
            y,
            names,
            what,
            "lacks the model's tasks {}",
            "has columns of no task {}",
            f"The model's tasks are {_quoted(names)}: give it one column per "
            "task, named as it.",
        )
        y = y[[y.columns[columns.index(n)] for n in names]]
        if one_d:
            y = y.iloc[:, 0]
    elif isinstance(y, pd.Series):
        if len(names) != 1:
            raise ValueError(
                f"{what} is one column, but the model has {len(names)} tasks "
                f"{_quoted(names)}."
            )
        if y.name is not None and names != ["task_0"] and str(y.name) != names[0]:
            raise ValueError(
                f"{what} is named {str(y.name)!r}, but the model's task is "
                f"{names[0]!r}."
            )
        if not one_d:
            y = y.to_frame(names[0])
    else:
        array = np.asarray(y)
        width = 1 if array.ndim == 1 else array.shape[1] if array.ndim == 2 else -1
        if width != len(names):
            raise ValueError(
                f"{what} has shape {array.shape}, but the model has {len(names)} "
                f"tasks {_quoted(names)}: one column per task."
            )
        y = array.ravel() if one_d else array.reshape(len(array), -1)
    if len(y) != n_rows:
        raise ValueError(f"{what} has {len(y)} rows, but its X has {n_rows}.")
    return y


def _recalibrate(new, updated, held_out, recalibrate, n_train, n_replay):
    """Calibrate ``new`` (the estimator of ``updated``, trained on ``n_train``
    new rows and ``n_replay`` old ones) on the holdout ``held_out``, ``(X, y,
    weight)``, where training left it without a calibration; what became of
    it, in words."""
    if hasattr(new, "classes_"):
        return "none (a classifier predicts probabilities)"
    calibration = getattr(new, "_calibration", None)
    rows = f"{n_train} new training rows" + (
        f" and {n_replay} old rows" if n_replay else ""
    )
    if calibration is not None and new.cross_fit_:
        return (
            f"refitted out of fold on the {rows} (cross-fitted early stopping; "
            "the old one described the network before the update)"
        )
    if calibration is not None:
        return (
            f"refitted on the rows that early stopping held out of the {rows} "
            "(the old one described the network before the update)"
        )
    if not (~new._binary_tasks).any():
        return "none (every task is binary)"
    X_hold, y_hold, w_hold = held_out
    dropped = (
        "dropped: training on invalidated the old one; call calibrate(X, y) "
        "with held-out labelled new rows"
    )
    if not recalibrate or len(X_hold) == 0:
        return dropped
    X = regressor_input(updated, X_hold)
    try:
        new.calibrate(X, y_hold, sample_weight=w_hold)
    except ValueError as error:
        return f"{dropped} (calibrating on the holdout failed: {error})"
    return (
        f"recalibrated on the {len(X_hold)} held-out new rows (calibrate); the "
        "scores are of the same rows, which calibrating does not change"
    )
