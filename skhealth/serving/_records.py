"""What ``POST /predict`` reads: the body's records, checked column by column
against the model's raw input columns (:func:`skhealth._inputs.input_columns`)
and turned into one NumPy array per column, without pandas.

Every check is of a whole column at once (the set of the types of its values,
the set of its values against the known categories), so that a request of a
thousand records costs a few list passes per column; only a column found at
fault is walked value by value, to name the first record at fault."""

import difflib
import itertools
import math
import numbers
import operator

import numpy as np

# The largest float32: the network computes in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NUMBERS = frozenset({int, float})
_STRINGS = frozenset({str})
_NULL = type(None)

# What the body of POST /predict may hold besides ``records``.
OPTIONS = ("interval", "return_std", "groups")


class RequestError(Exception):
    """A request the service refuses: its HTTP ``status``, the ``message``
    that names what is at fault, and the ``column`` and ``record`` (its
    position among the records) where one is."""

    def __init__(self, status, message, *, column=None, record=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.column = column
        self.record = record

    def body(self):
        """The JSON body of the error response."""
        body = {"detail": self.message}
        if self.column is not None:
            body["column"] = self.column
        if self.record is not None:
            body["record"] = self.record
        return body


def json_kind(value):
    """``value``, parsed from JSON, in JSON's words for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, numbers.Real):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other kind


def _shown(values, limit=8):
    """``values`` quoted, the first ``limit`` of them, for a message."""
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


class Records:
    """The checked records of one request: ``columns`` maps each input column
    to its values (float64 for a number column, NaN where missing; object for
    a text column, ``np.nan`` where missing), ``n_rows`` counts them and
    ``groups`` holds each record's calibration group, or is None."""

    __slots__ = ("columns", "groups", "n_rows")

    def __init__(self, columns, n_rows, groups=None):
        self.columns = columns
        self.n_rows = n_rows
        self.groups = groups


class RecordSchema:
    """What a record must be, from the model's input columns.

    Parameters
    ----------
    columns : list of InputColumn
        The model's raw input columns (see ``skhealth._inputs.input_columns``).
    nullable : set of str
        The columns where ``null`` (a missing value) is accepted: those the
        model fills in (an imputer reads them).
    max_rows : int
        The most records one request may hold (more is a 413).
    """

    def __init__(self, columns, nullable, max_rows):
        self.columns = list(columns)
        self.names = [column.name for column in self.columns]
        self.nullable = frozenset(nullable)
        self.max_rows = max_rows
        self._expected = frozenset(self.names)
        # number columns without categories to check, read as one array
        self._plain_numbers = [
            column.name
            for column in self.columns
            if column.kind == "number" and column.name not in self._known_names()
        ]
        self._number_kinds = _NUMBERS
        if all(name in self.nullable for name in self._plain_numbers):
            self._number_kinds = _NUMBERS | {_NULL}
        if len(self._plain_numbers) == 1:
            (only,) = self._plain_numbers
            self._number_getter = lambda record: (record[only],)
        elif self._plain_numbers:
            self._number_getter = operator.itemgetter(*self._plain_numbers)
        self._known = {}
        for column in self.columns:
            if column.categories is not None and column.handle_unknown == "error":
                self._known[column.name] = frozenset(
                    value
                    for value in column.categories
                    if not (isinstance(value, float) and math.isnan(value))
                )

    def _known_names(self):
        return {
            column.name
            for column in self.columns
            if column.categories is not None and column.handle_unknown == "error"
        }

    # ------------------------------------------------------------- the body
    def read_body(self, body):
        """``(records, options)`` of a parsed JSON ``body``: the checked
        :class:`Records` and ``(interval, return_std)``."""
        if not isinstance(body, dict):
            raise RequestError(
                422,
                f"The body is {json_kind(body)}; it must be a JSON object such as "
                '{"records": [{"column": value, ...}, ...]} (see GET /docs).',
            )
        unknown = [key for key in body if key != "records" and key not in OPTIONS]
        if unknown:
            raise RequestError(
                422,
                f"The body has the field {unknown[0]!r}, which POST /predict does "
                "not take; it takes records, interval, return_std and groups.",
            )
        if "records" not in body:
            raise RequestError(
                422,
                'The body lacks "records": one record (an object of column: value) '
                "or a list of them.",
            )
        records = body["records"]
        single = isinstance(records, dict)
        if single:
            records = [records]
        elif not isinstance(records, list):
            raise RequestError(
                422,
                f"records is {json_kind(records)}; it must be one record (an object "
                "of column: value) or a list of them.",
            )
        if not records:
            raise RequestError(
                422, "records is an empty list: send one record or more."
            )
        if len(records) > self.max_rows:
            raise RequestError(
                413,
                f"records holds {len(records)} records, more than the {self.max_rows} "
                "this service takes in one request: send them in several requests.",
            )
        interval = body.get("interval")
        if interval is not None and (
            type(interval) not in _NUMBERS or not 0 < interval < 1
        ):
            raise RequestError(
                422,
                f"interval is {json_kind(interval)}; it must be a number strictly "
                "between 0 and 1 (0.9 for 90 % intervals), or null for none.",
            )
        return_std = body.get("return_std", False)
        if type(return_std) is not bool:
            raise RequestError(
                422, f"return_std is {json_kind(return_std)}; it must be true or false."
            )
        groups = self._groups(body.get("groups"), len(records), single)
        return self.read(records, single=single, groups=groups), (
            None if interval is None else float(interval),
            return_std,
        )

    def _groups(self, groups, n_rows, single):
        """Each record's group, an object array, or None."""
        if groups is None:
            return None
        if single and not isinstance(groups, list):
            groups = [groups]
        if not isinstance(groups, list) or len(groups) != n_rows:
            raise RequestError(
                422,
                f"groups is {json_kind(groups)}; it must be a list of one group per "
                f"record ({n_rows}), each a string, a number or a boolean.",
            )
        for i, group in enumerate(groups):
            if group is None or isinstance(group, (list, dict)):
                raise RequestError(
                    422,
                    f"groups[{i}] is {json_kind(group)}; a group is a string, a "
                    "number or a boolean.",
                    record=i,
                )
        values = np.empty(n_rows, dtype=object)
        values[:] = groups
        return values

    # ---------------------------------------------------------- the records
    def read(self, records, *, single=False, groups=None):
        """The :class:`Records` of ``records``, a list of parsed JSON records,
        each checked against the model's columns."""
        expected = self._expected
        for i, record in enumerate(records):
            if type(record) is not dict:
                raise RequestError(
                    422,
                    f"{_where(i, single)} is {json_kind(record)}; a record is an "
                    "object of column: value.",
                    record=i,
                )
            if record.keys() != expected:
                self._wrong_columns(record, i, single)
        columns = self._number_matrix(records, single)
        for column in self.columns:
            name = column.name
            if name in columns:
                continue
            values = [record[name] for record in records]
            if column.kind == "number":
                columns[name] = self._numbers(column, values, single)
            else:
                columns[name] = self._strings(column, values, single)
        columns = {name: columns[name] for name in self.names}
        return Records(columns, len(records), groups)

    def _number_matrix(self, records, single):
        """``{name: values}`` of the number columns whose values are all
        numbers (or null, where every number column takes null) of float32's
        range, checked and converted in one array; the others are left to
        :meth:`_numbers`, which names what is wrong."""
        names = self._plain_numbers
        if not names:
            return {}
        rows = [self._number_getter(record) for record in records]
        flat = list(itertools.chain.from_iterable(rows))
        if not set(map(type, flat)) <= self._number_kinds:
            return {}
        try:
            matrix = np.array(rows, dtype=np.float64)  # None is NaN
        except OverflowError:
            return {}
        matrix = matrix.reshape(len(rows), len(names))
        outside = ~(np.abs(matrix) <= _FLOAT32_MAX)  # NaN too
        if outside.sum() == flat.count(None):  # each NaN a null
            return {name: matrix[:, j] for j, name in enumerate(names)}
        # a column with NaN sent, or a number too large, is checked value by
        # value, which names it
        fine = ~outside.any(axis=0)
        return {name: matrix[:, j] for j, name in enumerate(names) if fine[j]}

    def _wrong_columns(self, record, i, single):
        """Raise naming a column of ``record`` that the model does not read
        (a misspelling, which explains a missing column too), else the
        first column it lacks."""
        where = _where(i, single)
        extra = [str(key) for key in record if key not in self._expected]
        if extra:
            close = difflib.get_close_matches(extra[0], self.names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RequestError(
                422,
                f"{where} has the column {extra[0]!r}, which the model does not "
                f"read.{hint} Its columns are {', '.join(self.names)}.",
                column=extra[0],
                record=i,
            )
        missing = [name for name in self.names if name not in record]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RequestError(
            422,
            f"{where} lacks the column {missing[0]!r}{more}, which the model "
            "reads; send null for a missing value where the model fills it in "
            "(see GET /model).",
            column=missing[0],
            record=i,
        )

    def _numbers(self, column, values, single):
        name = column.name
        kinds = set(map(type, values))
        nulls = _NULL in kinds
        if not kinds <= _NUMBERS | {_NULL}:
            i = next(
                i
                for i, v in enumerate(values)
                if type(v) not in _NUMBERS and v is not None
            )
            raise RequestError(
                422,
                f"{_where(i, single)}: column {name!r} is {json_kind(values[i])}, but "
                f"the model reads a number there.",
                column=name,
                record=i,
            )
        if nulls and name not in self.nullable:
            self._refuse_null(name, values.index(None), single)
        try:
            array = np.array(values, dtype=np.float64)  # None is NaN
        except OverflowError:  # an integer beyond float64
            array = np.array(
                [v if v is None or abs(v) < 1e308 else math.inf for v in values],
                dtype=np.float64,
            )
        with np.errstate(invalid="ignore"):
            out_of_range = ~(np.abs(array) <= _FLOAT32_MAX)
        if out_of_range.any():
            for i in np.flatnonzero(out_of_range):
                value = values[i]
                if value is None:
                    continue
                if isinstance(value, float) and not math.isfinite(value):
                    said = "NaN" if math.isnan(value) else "infinite"
                    null = (
                        ", or null for a missing value" if name in self.nullable else ""
                    )
                    raise RequestError(
                        422,
                        f"{_where(i, single)}: column {name!r} is {said}; send a "
                        f"finite number{null}.",
                        column=name,
                        record=int(i),
                    )
                raise RequestError(
                    422,
                    f"{_where(i, single)}: column {name!r} is {value:g}, beyond the "
                    f"range of float32 (±{_FLOAT32_MAX:.2g}), in which the model "
                    "computes.",
                    column=name,
                    record=int(i),
                )
        known = self._known.get(name)
        if known is not None:
            self._check_categories(column, array[~np.isnan(array)], values, single)
        return array

    def _strings(self, column, values, single):
        name = column.name
        kinds = set(map(type, values))
        if not kinds <= _STRINGS | {_NULL}:
            i = next(
                i for i, v in enumerate(values) if type(v) is not str and v is not None
            )
            listed = (
                f": one of {_shown(column.to_dict()['categories'])}"
                if column.categories is not None
                else ""
            )
            raise RequestError(
                422,
                f"{_where(i, single)}: column {name!r} is {json_kind(values[i])}, but "
                f"the model reads text there{listed}.",
                column=name,
                record=i,
            )
        array = np.empty(len(values), dtype=object)
        if _NULL in kinds:
            if name not in self.nullable:
                self._refuse_null(name, values.index(None), single)
            array[:] = [np.nan if v is None else v for v in values]
            given = [v for v in values if v is not None]
        else:
            array[:] = values
            given = values
        if name in self._known:
            self._check_categories(column, given, values, single)
        return array

    def _check_categories(self, column, given, values, single):
        """Refuse a value of ``given`` that the encoder, which errs on unknown
        categories, does not know."""
        known = self._known[column.name]
        unknown = set(given) - known
        if not unknown:
            return
        i = next(i for i, v in enumerate(values) if v is not None and v not in known)
        raise RequestError(
            422,
            f"{_where(i, single)}: column {column.name!r} is {json_kind(values[i])}, "
            "which is not one of the categories the model knows: "
            f"{_shown(column.to_dict()['categories'], limit=20)}.",
            column=column.name,
            record=i,
        )

    def _refuse_null(self, name, i, single):
        raise RequestError(
            422,
            f"{_where(i, single)}: column {name!r} is null, but the model does not "
            "fill in missing values there (no imputer reads it); send a value.",
            column=name,
            record=i,
        )


def _where(i, single):
    """Record ``i`` of the body, as a message names it."""
    return "records" if single else f"records[{i}]"
