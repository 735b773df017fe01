"""The default preprocessing of a table of mixed-type features.

The network reads numbers only, with no missing values, and learns best from
inputs of similar scales. :func:`make_default_preprocessor` builds the
scikit-learn transformer that ``skhealth fit`` puts before the estimator; put
it first in a pipeline of your own to get the same model in Python.
"""

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["make_default_preprocessor"]


def make_default_preprocessor(X, *, categorical=()):
    """Make the transformer that imputes, scales and encodes the columns of ``X``.

    Numeric columns are median-imputed, then standardised. Every other column
    (text, categorical or boolean), and every column named in ``categorical``,
    is imputed with its most frequent value, then one-hot encoded; a category
    not seen in ``fit`` is encoded as none of them. The columns are chosen
    now, by name, from the dtypes of ``X``: fit and apply the transformer to
    tables with the same columns. A kind of column that ``X`` lacks gets no
    step (scikit-learn would leave a step of no column unfitted, and a model
    file holds fitted steps only).

    This is the preprocessing of ``skhealth fit`` and ``skhealth demo``.

    Parameters
    ----------
    X : pandas.DataFrame
        The features (only their names and dtypes are read).

    categorical : str or list of str, default=()
        Columns to one-hot encode whatever their dtype: numbers that code
        categories (a treatment 1 or 2, a stage 1 to 4) rather than measure a
        quantity, which standardising would treat as one. A single name, such
        as ``"stage"``, is that one column, as in ``X.drop(columns="stage")``.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
        Unfitted, with a ``"numeric"`` step for the numeric columns and a
        ``"categorical"`` step for the others, each a
        :class:`~sklearn.pipeline.Pipeline` of a
        :class:`~sklearn.impute.SimpleImputer` and a
        :class:`~sklearn.preprocessing.StandardScaler` or a
        :class:`~sklearn.preprocessing.OneHotEncoder`.

    Raises
    ------
    TypeError
        When ``X`` is not a DataFrame: an array has no dtype per column to
        tell numbers from categories.
    ValueError
        When ``categorical`` names a column that ``X`` lacks.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import load_nhanes
    >>> from skhealth.preprocessing import make_default_preprocessor
    >>> X, Y = load_nhanes(return_X_y=True)
    >>> preprocessor = make_default_preprocessor(X)
    >>> [(name, len(columns)) for name, _, columns in preprocessor.transformers]
    [('numeric', 17), ('categorical', 4)]
    >>> model = make_pipeline(
    ...     preprocessor, MultiTaskHealthRegressor(max_iter=2, random_state=0)
    ... )
    >>> model.fit(X, Y).predict(X).shape
    (5263, 7)

    Codes that are numbers are one-hot encoded when named in ``categorical``:

    >>> import pandas as pd
    >>> trial = pd.DataFrame({"age": [52.0, 61.0, 47.0], "stage": [1, 3, 1]})
    >>> preprocessor = make_default_preprocessor(trial, categorical="stage")
    >>> preprocessor.fit(trial).get_feature_names_out().tolist()
    ['numeric__age', 'categorical__stage_1', 'categorical__stage_3']
    """
    if not hasattr(X, "select_dtypes"):
        raise TypeError(
            "make_default_preprocessor needs X as a pandas DataFrame, whose dtypes "
            f"tell numeric columns from categorical ones; got {type(X).__name__}. "
            "Pass pd.DataFrame(X, columns=...) with categorical columns as "
            "strings or pandas categoricals."
        )
    if not pd.api.types.is_list_like(categorical):
        categorical = [categorical]  # one name, not the letters of a string
    unknown = [column for column in categorical if column not in X.columns]
    if unknown:
        raise ValueError(
            f"categorical names {unknown[0]!r}, which is not a column of X; the "
            f"columns of X are {', '.join(map(repr, X.columns))}"
        )
    numeric = [
        column
        for column in X.select_dtypes("number").columns
        if column not in categorical
    ]
    categorical = [column for column in X.columns if column not in numeric]
    steps = [
        (
            "numeric",
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            numeric,
        ),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            categorical,
        ),
    ]
    return ColumnTransformer([step for step in steps if step[2]])
