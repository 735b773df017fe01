"""The OpenAPI description of ``POST /predict``: pydantic models built from the
model's input columns and outputs.

They describe the body and the answer at ``/docs`` and ``/openapi.json``; the
service checks requests itself (see ``_records``), which costs a few
microseconds per record and names the column at fault in plain words."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ._engines import builtin, target_names


class ErrorBody(BaseModel):
    """What a refused request gets."""

    detail: str = Field(description="What is wrong, naming the field or column.")
    column: str | None = Field(
        None, description="The input column at fault, where one is."
    )
    record: int | None = Field(
        None, description="The position of the record at fault, where one is."
    )


def _category_type(values):
    values = tuple(builtin(v) for v in values)
    return Literal[values] if values else str


def record_model(columns, nullable, encodings):
    """The pydantic model of one record: a field per input column, by its
    name, its JSON type (a number, a string, or one of the categories where
    the encoder refuses others), nullable where the model fills in missing
    values."""
    fields = {}
    for i, column in enumerate(columns):
        if column.categories is not None and column.handle_unknown == "error":
            kind = _category_type(column.categories)
            said = "one of the categories the model knows"
        elif column.kind == "number":
            kind = float
            said = "a finite number"
        else:
            kind = str
            said = "text"
        if column.categories is not None and column.handle_unknown != "error":
            known = ", ".join(repr(builtin(v)) for v in column.categories[:20])
            said += f" (known categories: {known}; any other is encoded as none)"
        if column.name in nullable:
            kind = kind | None
            said += ", or null for a missing value, which the model fills in"
        how = encodings.get(column.name)
        description = f"{said[0].upper()}{said[1:]}." + (
            f" Encoded: {how}." if how else ""
        )
        fields[f"column_{i}"] = (
            kind,
            Field(alias=column.name, description=description),
        )
    return create_model(
        "Record",
        __config__=ConfigDict(extra="forbid", title="Record"),
        __doc__="One person's inputs: every column the model reads, by name.",
        **fields,
    )


def request_model(record, max_rows, example):
    """The pydantic model of the body of ``POST /predict``."""
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(
            extra="forbid",
            title="PredictRequest",
            json_schema_extra={"examples": [{"records": [example]}]},
        ),
        __doc__="The records to predict, and what to predict besides each value.",
        records=(
            record | list[record],
            Field(
                description=f"One record, or a list of up to {max_rows} records, "
                "each predicted as a row of its own."
            ),
        ),
        interval=(
            float | None,
            Field(
                None,
                gt=0,
                lt=1,
                description="Add each task's prediction interval that covers this "
                "share of labels (0.9 for 90 %), as <target>_lower and "
                "<target>_upper. Regressors with a calibration only.",
            ),
        ),
        return_std=(
            bool,
            Field(
                False,
                description="Add each prediction's predictive standard deviation, "
                "as <target>_std. Regressors with a calibration only.",
            ),
        ),
        groups=(
            list[str | int | bool] | None,
            Field(
                None,
                description="Each record's group, for the intervals of a model "
                "calibrated per group.",
            ),
        ),
    )


def response_model(estimator):
    """The pydantic model of the answer of ``POST /predict``."""
    outputs = []  # (name, type, default, description)
    classes = getattr(estimator, "classes_", None)
    for t, target in enumerate(target_names(estimator)):
        if classes is not None:
            per_task = classes if estimator._y_1d else classes[t]
            outputs += [
                (
                    target,
                    _category_type(per_task),
                    ...,
                    f"The predicted class of {target}.",
                ),
                (
                    f"{target}_proba",
                    float,
                    ...,
                    f"The probability of {target}'s second class.",
                ),
            ]
            continue
        outputs.append(
            (target, float | None, ..., f"The prediction of {target}, in its units.")
        )
        outputs += [
            (
                f"{target}_{end}",
                float | None,
                None,
                f"The {end} end of {target}'s interval (with interval); null for "
                "none (a binary task, or beyond the range of the target's "
                "transform).",
            )
            for end in ("lower", "upper")
        ]
        outputs.append(
            (
                f"{target}_std",
                float | None,
                None,
                f"The predictive std of {target} (with return_std).",
            )
        )
    # fields by position, aliased to the outputs' names, which need not be
    # identifiers
    prediction = create_model(
        "Prediction",
        __config__=ConfigDict(title="Prediction"),
        __doc__="The predictions of one record, named as skhealth predict names "
        "its columns.",
        **{
            f"output_{i}": (kind, Field(default, alias=name, description=said))
            for i, (name, kind, default, said) in enumerate(outputs)
        },
    )
    return create_model(
        "PredictResponse",
        __config__=ConfigDict(title="PredictResponse"),
        predictions=(
            list[prediction],
            Field(description="One object per record, in the order of the records."),
        ),
    )
