"""Parquet datasets larger than memory, as Dask frames to train on."""

__all__ = ["read_parquet"]


def read_parquet(path, target, *, features=None, sample_weight=None, **kwargs):
    """Read a Parquet dataset lazily as the Dask frames a fit streams.

    Nothing is loaded but the schema: the estimators' ``fit`` on the frames
    returned reads the dataset partition by partition (a first pass, then one
    per epoch), holding a few partitions in memory at a time.

    Parameters
    ----------
    path : str or path-like
        A Parquet file, a directory of them, or a glob (anything
        :func:`dask.dataframe.read_parquet` reads).
    target : str or list of str
        The column(s) to predict: a str gives a Series (a 1-D ``y``).
    features : list of str, default=None
        The input columns; ``None``: every column but the targets and the
        weights.
    sample_weight : str, default=None
        A column of row weights.
    **kwargs
        Passed to :func:`dask.dataframe.read_parquet` (``filesystem``,
        ``blocksize``, ``filters``, ...).

    Returns
    -------
    X : dask.dataframe.DataFrame
        The feature columns.
    y : dask.dataframe.DataFrame or Series
        The target column(s).
    sample_weight : dask.dataframe.Series
        The weights; only when ``sample_weight`` is given.

    Raises
    ------
    ValueError
        When a column named is not in the dataset, or one is named twice.

    Examples
    --------
    >>> import pandas as pd
    >>> from skhealth.datasets import read_parquet
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> frame = pd.DataFrame({"age": [0.1, -0.3], "bmi": [1.2, 0.4],
    ...                       "sbp": [118.0, None]})
    >>> frame.to_parquet(os.path.join(folder, "part.0.parquet"))
    >>> X, y = read_parquet(folder, target=["sbp"])
    >>> list(X.columns), list(y.columns)
    (['age', 'bmi'], ['sbp'])
    """
    try:
        import dask.dataframe as dd
    except ImportError as error:
        raise ImportError(
            "read_parquet needs dask[dataframe] and pyarrow: pip install "
            "'skhealth[dask]'."
        ) from error
    frame = dd.read_parquet(path, **kwargs)
    columns = [str(c) for c in frame.columns]
    targets = [target] if isinstance(target, str) else list(target)
    weights = [] if sample_weight is None else [sample_weight]
    if features is None:
        features = [c for c in columns if c not in targets + weights]
    named = list(features) + targets + weights
    missing = [c for c in dict.fromkeys(named) if c not in columns]
    if missing:
        raise ValueError(
            f"The Parquet dataset at {str(path)!r} has no column "
            f"{', '.join(map(repr, missing))}; its columns are {columns}."
        )
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ValueError(
            f"Columns named more than once among features, target and "
            f"sample_weight: {twice}; each column has one role."
        )
    X = frame[list(features)]
    y = frame[target] if isinstance(target, str) else frame[targets]
    if sample_weight is None:
        return X, y
    return X, y, frame[sample_weight]
