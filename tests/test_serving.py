"""The prediction service (``skhealth serve``): a real process on 127.0.0.1,
called over HTTP; its answers are the model's own, and every refused request
is a 4xx whose message names the field at fault."""

import json
import re
import socket
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

import skhealth
from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.preprocessing import make_default_preprocessor

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

MAX_ROWS = 50
MAX_BYTES = 60_000


@pytest.fixture(scope="module")
def nhanes():
    X, Y = load_nhanes(return_X_y=True)
    return X.iloc[:200], Y.iloc[:200]


@pytest.fixture(scope="module")
def model(nhanes):
    X, Y = nhanes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=5 has not converged
        return make_pipeline(
            make_default_preprocessor(X),
            MultiTaskHealthRegressor(max_iter=5, n_members=2, random_state=0),
        ).fit(X, Y)


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("service") / "nhanes.skh"
    skhealth.save(model, path)
    return path


def _start(args, log_path, deadline_s=90):
    """``(process, base URL)`` of ``skhealth serve ARGS`` once it answers
    /health; its standard error goes to ``log_path``."""
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "skhealth", "serve", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service stopped: {log_path.read_text()}")
        found = re.search(r"at (http://127\.0\.0\.1:\d+) ", log_path.read_text())
        if found:
            try:
                if httpx.get(f"{found[1]}/health", timeout=2).status_code == 200:
                    return process, found[1]
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    _stop(process)
    raise AssertionError(f"no answer within {deadline_s} s: {log_path.read_text()}")


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def service(model_file, tmp_path_factory):
    """The base URL of one service for the module's tests."""
    log = tmp_path_factory.mktemp("log") / "serve.log"
    args = [model_file, "--port", 0, "--max-rows", MAX_ROWS, "--max-bytes", MAX_BYTES]
    args += ["--engine", "python"]  # the ONNX engine's export takes seconds
    process, url = _start(args, log)
    yield url
    _stop(process)


def _records(X):
    """Rows of ``X`` as the JSON records a client sends (null where missing)."""
    return json.loads(X.to_json(orient="records"))


def _post(url, body):
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{url}/predict", content=content, timeout=30)


def _refused(url, body):
    answer = _post(url, body)
    return answer.status_code, answer.json()


# ---------------------------------------------------------------- answers
def test_health_says_ok(service):
    answer = httpx.get(f"{service}/health")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_predictions_are_the_models_own(service, model, nhanes):
    X, Y = nhanes
    answer = _post(service, {"records": _records(X.iloc[:40])})
    assert answer.status_code == 200
    predictions = pd.DataFrame(answer.json()["predictions"])
    assert predictions.columns.tolist() == Y.columns.tolist()
    np.testing.assert_allclose(predictions, model.predict(X.iloc[:40]), rtol=1e-6)


def test_one_record_is_an_object_and_gets_a_list_of_one(service, model, nhanes):
    X, _ = nhanes
    answer = _post(service, {"records": _records(X.iloc[[3]])[0]})
    (prediction,) = answer.json()["predictions"]
    np.testing.assert_allclose(
        list(prediction.values()), model.predict(X.iloc[[3]])[0], rtol=1e-6
    )


def test_interval_and_std_are_the_models_own(service, model, nhanes):
    X, Y = nhanes
    rows = X.iloc[:5]
    answer = _post(
        service, {"records": _records(rows), "interval": 0.8, "return_std": True}
    )
    predictions = pd.DataFrame(answer.json()["predictions"])
    target = Y.columns[0]
    assert predictions.columns[:4].tolist() == [
        target,
        f"{target}_lower",
        f"{target}_upper",
        f"{target}_std",
    ]
    Xt = model[0].transform(rows)
    bounds = model[-1].predict_interval(Xt, 0.8)
    _, std = model[-1].predict(Xt, return_std=True)
    np.testing.assert_allclose(predictions[f"{target}_lower"], bounds[:, 0, 0])
    np.testing.assert_allclose(predictions[f"{target}_upper"], bounds[:, 0, 1])
    np.testing.assert_allclose(predictions[f"{target}_std"], std[:, 0])


def test_null_is_a_missing_value_that_the_model_imputes(service, model, nhanes):
    X, _ = nhanes
    record = _records(X.iloc[[0]])[0]
    record.update(age=None, sex=None)
    answer = _post(service, {"records": [record]})
    assert answer.status_code == 200
    expected = X.iloc[[0]].copy()
    expected[["age", "sex"]] = np.nan
    np.testing.assert_allclose(
        list(answer.json()["predictions"][0].values()),
        model.predict(expected)[0],
        rtol=1e-6,
    )


def test_unknown_category_is_taken_where_the_encoder_ignores_it(service, model, nhanes):
    X, _ = nhanes
    record = dict(_records(X.iloc[[0]])[0], smoking_status="Occasionally")
    answer = _post(service, {"records": record})
    assert answer.status_code == 200
    expected = X.iloc[[0]].astype({"smoking_status": object})
    expected["smoking_status"] = "Occasionally"
    np.testing.assert_allclose(
        list(answer.json()["predictions"][0].values()),
        model.predict(expected)[0],
        rtol=1e-6,
    )


def test_concurrent_requests_each_get_their_own_rows(service, model, nhanes):
    X, _ = nhanes
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: _post(service, {"records": _records(X.iloc[[i, i + 1]])}),
                range(0, 48, 2),
            )
        )
    got = np.vstack([pd.DataFrame(a.json()["predictions"]) for a in answers])
    np.testing.assert_allclose(got, model.predict(X.iloc[:48]), rtol=1e-6)


def test_model_describes_the_inputs_tasks_and_versions(service, nhanes):
    X, Y = nhanes
    description = httpx.get(f"{service}/model").json()
    assert description["estimator"] == "MultiTaskHealthRegressor"
    assert description["skhealth_version"] == skhealth.__version__
    assert description["saved_with"]["skhealth"] == skhealth.__version__
    assert [task["name"] for task in description["tasks"]] == Y.columns.tolist()
    assert description["intervals"].startswith("calibrated on the training rows")
    assert [column["name"] for column in description["inputs"]] == X.columns.tolist()
    sex = description["inputs"][1]
    assert sex == {
        "name": "sex",
        "type": "string",
        "categories": ["Female", "Male"],
        "handle_unknown": "ignore",
        "nullable": True,
        "encoding": "categorical, imputed with its most frequent value, one-hot "
        "encoded as 'Female', 'Male'",
    }
    assert description["limits"] == {"max_rows": MAX_ROWS, "max_bytes": MAX_BYTES}
    assert description["engine"] == "python"


def test_openapi_describes_a_record_by_its_columns(service, nhanes):
    X, _ = nhanes
    document = httpx.get(f"{service}/openapi.json").json()
    record = document["components"]["schemas"]["Record"]
    assert list(record["properties"]) == X.columns.tolist()
    assert record["required"] == X.columns.tolist()
    assert record["additionalProperties"] is False
    assert record["properties"]["age"]["anyOf"] == [
        {"type": "number"},
        {"type": "null"},
    ]
    body = document["paths"]["/predict"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictRequest"
    }
    assert httpx.get(f"{service}/docs").status_code == 200


# ---------------------------------------------------------------- refusals
def test_missing_column_is_422_naming_it(service, nhanes):
    X, _ = nhanes
    record = _records(X.iloc[[0]])[0]
    del record["sleep_hours"]
    assert _refused(service, {"records": [record]}) == (
        422,
        {
            "detail": "records[0] lacks the column 'sleep_hours', which the model "
            "reads; send null for a missing value where the model fills it in "
            "(see GET /model).",
            "column": "sleep_hours",
            "record": 0,
        },
    )


def test_extra_column_is_422_naming_it_and_the_closest(service, nhanes):
    X, _ = nhanes
    record = _records(X.iloc[[0]])[0]
    record["sleep_hour"] = record.pop("sleep_hours")
    status, body = _refused(service, {"records": [record]})
    assert status == 422
    assert body["detail"].startswith(
        "records[0] has the column 'sleep_hour', which the model does not read. "
        "Did you mean 'sleep_hours'? Its columns are age, sex, race_ethnicity,"
    )
    assert body["column"] == "sleep_hour"


def test_string_in_a_number_column_is_422(service, nhanes):
    X, _ = nhanes
    records = _records(X.iloc[:3])
    records[2]["age"] = "62"
    assert _refused(service, {"records": records}) == (
        422,
        {
            "detail": "records[2]: column 'age' is the string '62', but the model "
            "reads a number there.",
            "column": "age",
            "record": 2,
        },
    )


def test_number_in_a_text_column_is_422_listing_its_categories(service, nhanes):
    X, _ = nhanes
    record = dict(_records(X.iloc[[0]])[0], sex=1)
    assert _refused(service, {"records": record}) == (
        422,
        {
            "detail": "records: column 'sex' is the number 1, but the model reads "
            "text there: one of 'Female', 'Male'.",
            "column": "sex",
            "record": 0,
        },
    )


def test_boolean_in_a_number_column_is_422(service, nhanes):
    X, _ = nhanes
    record = dict(_records(X.iloc[[0]])[0], vigorous_work=True)
    status, body = _refused(service, {"records": record})
    assert (status, body["detail"]) == (
        422,
        "records: column 'vigorous_work' is true (a boolean), but the model reads "
        "a number there.",
    )


@pytest.mark.parametrize(
    ("literal", "said"),
    [("NaN", "NaN"), ("Infinity", "infinite"), ("-1e999", "infinite")],
)
def test_non_finite_number_is_422(service, nhanes, literal, said):
    X, _ = nhanes
    record = _records(X.iloc[[0]])[0]
    body = json.dumps({"records": [dict(record, age=0.5)]}).replace("0.5", literal)
    assert _refused(service, body) == (
        422,
        {
            "detail": f"records[0]: column 'age' is {said}; send a finite number, or "
            "null for a missing value.",
            "column": "age",
            "record": 0,
        },
    )


def test_number_beyond_float32_is_422(service, nhanes):
    X, _ = nhanes
    record = dict(_records(X.iloc[[0]])[0], energy_kcal=1e300)
    status, body = _refused(service, {"records": record})
    assert (status, body["detail"]) == (
        422,
        "records: column 'energy_kcal' is 1e+300, beyond the range of float32 "
        "(±3.4e+38), in which the model computes.",
    )


def test_malformed_json_is_400(service):
    assert _refused(service, b'{"records": [{"age": 1,}]}') == (
        400,
        {
            "detail": "The body is not valid JSON: Expecting property name enclosed "
            "in double quotes: line 1 column 24 (char 23)."
        },
    )


def test_json_nested_too_deep_is_400(service):
    status, body = _refused(service, "[" * 50_000)
    assert status == 400
    assert body["detail"].startswith("The body is not valid JSON: maximum recursion")


def test_body_without_records_is_422(service):
    assert _refused(service, {"rows": []}) == (
        422,
        {
            "detail": "The body has the field 'rows', which POST /predict does not "
            "take; it takes records, interval, return_std and groups."
        },
    )


def test_interval_outside_0_1_is_422(service, nhanes):
    X, _ = nhanes
    status, body = _refused(service, {"records": _records(X.iloc[:1]), "interval": 90})
    assert (status, body["detail"]) == (
        422,
        "interval is the number 90; it must be a number strictly between 0 and 1 "
        "(0.9 for 90 % intervals), or null for none.",
    )


def test_more_records_than_max_rows_is_413(service, nhanes):
    X, _ = nhanes
    records = _records(X.iloc[:1]) * (MAX_ROWS + 1)
    assert _refused(service, {"records": records}) == (
        413,
        {
            "detail": f"records holds {MAX_ROWS + 1} records, more than the "
            f"{MAX_ROWS} this service takes in one request: send them in several "
            "requests."
        },
    )


def test_body_larger_than_max_bytes_is_413(service):
    body = json.dumps({"records": [], "padding": "x" * MAX_BYTES})
    assert _refused(service, body) == (
        413,
        {
            "detail": f"The body has {len(body)} bytes, more than the {MAX_BYTES} "
            "this service takes: send the records in several requests."
        },
    )


def test_unknown_path_and_method_are_404_and_405(service):
    assert httpx.get(f"{service}/predictions").status_code == 404
    assert httpx.get(f"{service}/predict").status_code == 405


# ------------------------------------------------------------ startup
def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listens(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_damaged_model_file_stops_startup_before_the_port_is_bound(
    model_file, tmp_path
):
    damaged = tmp_path / "damaged.skh"
    damaged.write_bytes(model_file.read_bytes()[:2000])
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-m", "skhealth", "serve", str(damaged), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"skhealth: error: {damaged} is not a skhealth model file: it is not a zip "
        "archive, or it is truncated.\n"
    )
    assert not _listens(port)


# ---------------------------------------------- in-process (make_app)
@pytest.fixture(scope="module")
def client_of():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's about httpx
        from fastapi.testclient import TestClient

    from skhealth.serving import make_app

    def client_of(model, engine="python"):
        return TestClient(make_app(model, engine=engine))

    return client_of


def test_unknown_category_is_422_where_the_encoder_errs(client_of, nhanes):
    X, Y = nhanes
    X = X[["age", "sex"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            make_column_transformer(
                (StandardScaler(), ["age"]),
                (OneHotEncoder(handle_unknown="error", sparse_output=False), ["sex"]),
            ),
            MultiTaskHealthRegressor(max_iter=2, n_members=1, random_state=0),
        ).fit(X.dropna(), Y.loc[X.dropna().index, ["bmi"]])
    answer = client_of(model).post(
        "/predict",
        json={"records": [{"age": 40, "sex": "Female"}, {"age": 50, "sex": "F"}]},
    )
    assert (answer.status_code, answer.json()) == (
        422,
        {
            "detail": "records[1]: column 'sex' is the string 'F', which is not one "
            "of the categories the model knows: 'Female', 'Male'.",
            "column": "sex",
            "record": 1,
        },
    )


def test_unknown_code_is_422_listing_the_codes_as_numbers(client_of):
    X = pd.DataFrame({"age": np.linspace(20, 80, 40), "stage": [1, 2, 3, 4] * 10})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            make_column_transformer(
                (StandardScaler(), ["age"]),
                (OneHotEncoder(handle_unknown="error", sparse_output=False), ["stage"]),
            ),
            MultiTaskHealthRegressor(max_iter=2, n_members=1, random_state=0),
        ).fit(X, X["age"])
    client = client_of(model)
    refused = client.post("/predict", json={"records": {"age": 50, "stage": 5}})
    assert (refused.status_code, refused.json()["detail"]) == (
        422,
        "records: column 'stage' is the number 5, which is not one of the "
        "categories the model knows: 1, 2, 3, 4.",
    )
    answer = client.post("/predict", json={"records": {"age": 50, "stage": 2}})
    assert answer.status_code == 200


def test_null_is_422_where_the_model_does_not_impute(client_of):
    X = pd.DataFrame({"age": np.linspace(20, 80, 40), "bmi": np.linspace(18, 35, 40)})
    model = MultiTaskHealthRegressor(max_iter=2, n_members=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, X["age"] / 10 + X["bmi"])
    answer = client_of(model).post(
        "/predict", json={"records": {"age": 40, "bmi": None}}
    )
    assert (answer.status_code, answer.json()["detail"]) == (
        422,
        "records: column 'bmi' is null, but the model does not fill in missing "
        "values there (no imputer reads it); send a value.",
    )


@pytest.mark.parametrize("engine", ["python", "onnx"])
def test_classifier_answers_class_and_probability(client_of, nhanes, engine):
    if engine == "onnx":
        for module in ("onnxruntime", "onnx", "skl2onnx", "onnxscript"):
            pytest.importorskip(module)
    X, _ = nhanes
    X = X[["age", "sex"]].dropna()
    labels = pd.DataFrame(
        {"older": np.where(X["age"] > 50, "yes", "no"), "male": X["sex"] == "Male"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            make_default_preprocessor(X),
            MultiTaskHealthClassifier(max_iter=3, n_members=1, random_state=0),
        ).fit(X, labels)
    client = client_of(model, engine=engine)
    assert client.get("/model").json()["engine"] == engine
    answer = client.post("/predict", json={"records": _records(X.iloc[:6])})
    predictions = pd.DataFrame(answer.json()["predictions"])
    assert predictions.columns.tolist() == [
        "older",
        "older_proba",
        "male",
        "male_proba",
    ]
    classes = model.predict(X.iloc[:6])
    assert predictions["older"].tolist() == classes[:, 0].tolist()
    assert predictions["male"].tolist() == classes[:, 1].tolist()
    np.testing.assert_allclose(
        predictions[["older_proba", "male_proba"]], model.predict_proba(X.iloc[:6])
    )
    refused = client.post(
        "/predict", json={"records": _records(X.iloc[:1]), "interval": 0.9}
    )
    assert (refused.status_code, refused.json()["detail"]) == (
        422,
        "interval and return_std: the model is a classifier, which predicts "
        "probabilities (<target>_proba) rather than intervals; leave them out.",
    )


def test_preprocessing_is_computed_without_pandas_where_it_gives_sklearns(
    model, nhanes
):
    from skhealth._inputs import input_columns
    from skhealth.serving._engines import PythonEngine
    from skhealth.serving._records import RecordSchema

    X, _ = nhanes
    columns = input_columns(model)
    engine = PythonEngine(model, columns)
    records = RecordSchema(columns, {c.name for c in columns}, 1000).read(_records(X))
    assert engine.compiled
    assert np.array_equal(engine._compiled(records.columns), model[0].transform(X))


def test_other_preprocessing_is_the_pipelines_own(client_of, nhanes):
    X, Y = nhanes
    X = X[["age", "energy_kcal"]].fillna(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            QuantileTransformer(n_quantiles=50),
            MultiTaskHealthRegressor(max_iter=2, n_members=1, random_state=0),
        ).fit(X, Y[["bmi"]].fillna(25))
    client = client_of(model)
    answer = client.post("/predict", json={"records": _records(X.iloc[:5])})
    np.testing.assert_allclose(
        [p["bmi"] for p in answer.json()["predictions"]],
        model.predict(X.iloc[:5]).ravel(),
        rtol=1e-6,
    )


def test_python_engine_answers_as_the_model(client_of, model, nhanes):
    X, _ = nhanes
    rows = X.iloc[:30]
    client = client_of(model, engine="python")
    body = {"records": _records(rows), "interval": 0.9, "return_std": True}
    predictions = pd.DataFrame(client.post("/predict", json=body).json()["predictions"])
    Xt = model[0].transform(rows)
    Y, std = model[-1].predict(Xt, return_std=True)
    bounds = model[-1].predict_interval(Xt, 0.9)
    target = model[-1].target_names_[-1]
    np.testing.assert_allclose(predictions[target], Y[:, -1])
    np.testing.assert_allclose(predictions[f"{target}_std"], std[:, -1])
    np.testing.assert_allclose(predictions[f"{target}_upper"], bounds[:, -1, 1])


def test_onnx_engine_answers_as_the_model(client_of, model, nhanes):
    for module in ("onnxruntime", "onnx", "skl2onnx", "onnxscript"):
        pytest.importorskip(module)
    X, _ = nhanes
    rows = X.iloc[:30]
    client = client_of(model, engine="auto")
    assert client.get("/model").json()["engine"] == "onnx"
    Xt = model[0].transform(rows)
    Y, std = model[-1].predict(Xt, return_std=True)
    bounds = model[-1].predict_interval(Xt, 0.9)
    body = {"records": _records(rows), "return_std": True}
    predictions = pd.DataFrame(client.post("/predict", json=body).json()["predictions"])
    target = model[-1].target_names_[0]
    np.testing.assert_allclose(predictions[target], Y[:, 0], rtol=1e-6)
    np.testing.assert_allclose(predictions[f"{target}_std"], std[:, 0], rtol=1e-6)
    # intervals, of any level, are the Python model's
    body = {"records": _records(rows), "interval": 0.9}
    predictions = pd.DataFrame(client.post("/predict", json=body).json()["predictions"])
    np.testing.assert_allclose(predictions[f"{target}_lower"], bounds[:, 0, 0])


def test_mounted_under_a_prefix_it_answers_the_same(client_of, model, nhanes):
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    X, _ = nhanes
    service = client_of(model).app
    client = TestClient(Starlette(routes=[Mount("/v1", app=service)]))
    body = {"records": _records(X.iloc[:3])}
    answer = client.post("/v1/predict", json=body)
    assert answer.json() == client_of(model).post("/predict", json=body).json()
    assert client.post("/v1/predict", json={"records": []}).status_code == 422


def test_an_internal_error_is_a_plain_500(client_of, model, nhanes, monkeypatch):
    X, _ = nhanes
    client = client_of(model)

    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(client.app.state.batcher.engine, "predict", broken)
    answer = client.post("/predict", json={"records": _records(X.iloc[:1])})
    assert (answer.status_code, answer.json()) == (
        500,
        {"detail": "Internal error; the service's log has the details."},
    )
