"""The scoring app through Starlette's test client: every request shape, every error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient

import nbtrack
from nbtrack._version import __version__
from nbtrack.http.settings import Settings, check_settings
from nbtrack.models import load_model, save_model
from nbtrack.models.params import check_params
from nbtrack.models.signatures import ColSpec, Signature
from nbtrack.serving.app import create_app
from nbtrack.serving.following import Follower, Served, served, target
from nbtrack.serving.protocol import MLFLOW_VERSION
from tests.models.test_params import Echo as EchoParams
from tests.models.test_params import with_params
from tests.serving.conftest import Churn, Fixed, is_mlflow_error

BASE = "http://127.0.0.1:5001"
SECRET = "SECRET-7f3a"
# A value no message may repeat either: it would be the request's data.
SECRET_NUMBER = "12345.678"
ACCEPTED_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


@pytest.fixture
def follower(churn: Churn) -> Iterator[Follower]:
    follower = Follower.start(target("churn"))
    yield follower
    follower.stop()


def _client(follower: Follower, settings: Settings, base: str = BASE) -> TestClient:
    return TestClient(create_app(follower, settings), base_url=base)


@pytest.fixture
def client(follower: Follower) -> Iterator[TestClient]:
    with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
        yield client


def _rows(features: pd.DataFrame) -> list[dict[str, float]]:
    return features.to_dict(orient="records")  # type: ignore[return-value]


# -- request shapes -----------------------------------------------------------------------------


def _shapes(features: pd.DataFrame) -> dict[str, object]:
    rows = _rows(features)
    columns = {name: features[name].tolist() for name in features.columns}
    split = features.to_dict(orient="split")
    return {
        "dataframe_split": {
            "dataframe_split": {"columns": split["columns"], "data": split["data"]}
        },
        "dataframe_split with index": {"dataframe_split": split},
        "dataframe_records": {"dataframe_records": rows},
        "instances as records": {"instances": rows},
        "instances as columns": {"instances": columns},
        "inputs as records": {"inputs": rows},
        "inputs as columns": {"inputs": columns},
        "inputs as rows": {"inputs": features.to_numpy().tolist()},
        # Clients send keys of their own beside the input; MLflow ignores them.
        "inputs and another key": {"inputs": rows, "client_request_id": "a"},
        "empty params": {"inputs": rows, "params": {}},
    }


@pytest.mark.parametrize("shape", list(_shapes(pd.DataFrame({"x": [0.0], "z": [0.0]}))))
def test_every_json_shape_predicts_what_the_model_predicts(
    client: TestClient, churn: Churn, shape: str
) -> None:
    features = churn.features.head(5)
    response = client.post("/invocations", json=_shapes(features)[shape])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": churn.v1[:5].tolist()}


def test_csv_and_a_utf8_charset_are_accepted(client: TestClient, churn: Churn) -> None:
    features = churn.features.head(4)
    for content_type in ("text/csv", "text/csv; charset=utf-8", "TEXT/CSV;charset=UTF-8"):
        response = client.post(
            "/invocations",
            content=features.to_csv(index=False).encode(),
            headers={"content-type": content_type},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": churn.v1[:4].tolist()}
    response = client.post(
        "/invocations",
        content=json.dumps({"inputs": _rows(features)}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json() == {"predictions": churn.v1[:4].tolist()}


def test_columns_in_another_order_and_extra_columns_are_fine(
    client: TestClient, churn: Churn
) -> None:
    features = churn.features.head(3)[["z", "x"]].assign(unused="a")
    response = client.post("/invocations", json={"dataframe_records": _rows(features)})
    assert response.json() == {"predictions": churn.v1[:3].tolist()}


def test_params_the_signature_does_not_declare_are_refused_saying_how_to_choose_a_method(
    client: TestClient, churn: Churn
) -> None:
    # MLflow drops them with a line in its log, and the caller believes predict_proba answered.
    payload = {"inputs": _rows(churn.features.head(1)), "params": {"method": "predict_proba"}}
    response = client.post("/invocations", json=payload)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert response.json()["message"] == (
        "1 param sent, but the model's signature declares no params: it would change nothing; "
        "a prediction method (predict_proba, ...) is chosen when the model is logged: "
        "log_model(..., pyfunc_predict_fn='predict_proba')"
    )
    # Names are counted, not repeated: they are the request's.
    payload["params"] = {SECRET: SECRET_NUMBER, "k": 1}
    response = client.post("/invocations", json=payload)
    assert response.json()["message"].startswith("2 params sent")
    assert_safe_error(response)


def test_a_model_logged_with_predict_proba_serves_probabilities(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run():
        info = nbtrack.log_model(
            model, "model", input_example=features.head(2), pyfunc_predict_fn="predict_proba"
        )
    follower = Follower.start(target(info.model_uri))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            response = client.post("/invocations", json={"inputs": _rows(features.head(3))})
            metadata = client.get("/metadata").json()
    finally:
        follower.stop()
    assert response.json() == {"predictions": model.predict_proba(features.head(3)).tolist()}
    assert metadata["predict_fn"] == "predict_proba"


def test_declared_params_reach_a_model_whose_predict_takes_them(tmp_path: Path) -> None:
    folder = with_params(EchoParams(), tmp_path / "model")
    model = load_model(folder, trusted=True)
    app = create_app(
        Fixed(served(model, str(folder))), check_settings("127.0.0.1", None, False, 4096)
    )
    with TestClient(app, base_url=BASE) as client:
        given = client.post("/invocations", json={"inputs": {"x": [1.0]}, "params": {"k": 9}})
        wrong = client.post("/invocations", json={"inputs": {"x": [1.0]}, "params": {"k": "9"}})
    expected = {**check_params(model.params, {}), "k": 9}
    assert given.json() == {"predictions": [repr(sorted(expected.items()))]}
    assert wrong.status_code == 400
    assert wrong.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert wrong.json()["message"] == "param 'k' is a str, which cannot become long"


def test_a_dataframe_output_becomes_records_and_numpy_values_plain_json(
    store_path: Path,
) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(_frame_model, "model", input_example=pd.DataFrame({"x": [1.0]}))
    nbtrack.register_model(info.model_uri, "framed")
    follower = Follower.start(target("models:/framed/1"))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            response = client.post("/invocations", json={"inputs": {"x": [1.0, 2.0]}})
    finally:
        follower.stop()
    assert response.json() == {
        "predictions": [
            {"double": 2.0, "label": "a", "when": "2024-01-01T00:00:00"},
            {"double": 4.0, "label": "a", "when": "2024-01-01T00:00:00"},
        ]
    }


def _frame_model(data: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"double": data["x"] * 2, "label": "a", "when": pd.Timestamp("2024-01-01")})


def test_a_one_column_model_takes_a_flat_list_as_its_column(store_path: Path) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(_double, "model", input_example=pd.DataFrame({"x": [1.0]}))
    follower = Follower.start(target(info.model_uri))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            response = client.post("/invocations", json={"inputs": [1.0, 2.5]})
            csv = client.post(
                "/invocations", content=b"x\n3\n", headers={"content-type": "text/csv"}
            )
    finally:
        follower.stop()
    assert response.json() == {"predictions": [2.0, 5.0]}
    assert csv.json() == {"predictions": [6.0]}


def _double(data: pd.DataFrame) -> np.ndarray:
    return data["x"].to_numpy() * 2


def test_csv_numbers_for_a_float_column_are_read_at_float32_as_mlflow_reads_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "model"
    save_model(_column_x, folder, signature=Signature(inputs=(ColSpec("float", "x"),)))
    model = load_model(folder, trusted=True)
    app = create_app(
        Fixed(served(model, str(folder))), check_settings("127.0.0.1", None, False, 4096)
    )
    values = np.array([np.pi, 0.1], np.float32)
    written = pd.DataFrame({"x": values}).to_csv(index=False)  # x\n3.1415927\n0.1\n
    csv = {"content-type": "text/csv"}
    with TestClient(app, base_url=BASE) as client:
        read = client.post("/invocations", content=written, headers=csv)
        too_large = client.post("/invocations", content=b"x\n1e300\n", headers=csv)
        text = client.post("/invocations", content=f"x\n{SECRET}\n".encode(), headers=csv)
    assert read.json() == {"predictions": values.tolist()}
    # A number float32 cannot hold is refused, not read as infinity; text is refused by name.
    assert too_large.status_code == text.status_code == 400
    assert too_large.json()["message"].endswith("some are too large for float32")
    assert text.json()["message"].startswith("column 'x' holds str values")
    assert_safe_error(text)


def _column_x(data: pd.DataFrame) -> np.ndarray:
    return data["x"].to_numpy()


# -- the other endpoints ------------------------------------------------------------------------


def test_ping_health_version_and_metadata(client: TestClient, churn: Churn) -> None:
    for path in ("/ping", "/health"):
        assert client.get(path).status_code == 200
    version = client.get("/version")
    # The MLflow version whose protocol is spoken, as MLflow's server answers; nbtrack's own
    # is in /metadata.
    assert version.text == MLFLOW_VERSION
    assert version.headers["content-type"].startswith("text/plain")
    metadata = client.get("/metadata").json()
    assert metadata["nbtrack_version"] == __version__
    assert metadata["predict_fn"] == "predict"
    expected_run = nbtrack.get_model_version("churn", 1).run_id
    assert metadata["name"] == "churn" and metadata["version"] == 1
    assert metadata["alias"] == "champion" and metadata["follows"] == "champion"
    assert metadata["model_uri"] == "models:/churn@champion"
    assert metadata["served_uri"] == "models:/churn/1"
    assert metadata["run_id"] == expected_run
    assert [c["name"] for c in metadata["signature"]["inputs"]] == ["x", "z"]
    assert metadata["signature"]["outputs"][0]["type"] == "tensor"


def test_unknown_paths_and_methods_get_mlflow_shaped_errors(client: TestClient) -> None:
    missing = client.get(f"/{SECRET}/predict")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "/invocations" in missing.json()["message"]
    assert_safe_error(missing)
    wrong = client.request("DELETE", f"/invocations?{SECRET}=1")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert "DELETE" not in wrong.json()["message"]
    assert_safe_error(wrong)


def test_an_unexpected_failure_is_a_json_500_without_detail() -> None:
    class Broken:
        @property
        def current(self) -> Served:
            raise RuntimeError(f"broken: {SECRET}")

    app = create_app(Broken(), check_settings("127.0.0.1", None, False, 4096))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        response = client.get("/metadata")
    assert response.status_code == 500
    assert response.json()["error_code"] == "INTERNAL_ERROR"
    assert_safe_error(response)


# -- bad requests -------------------------------------------------------------------------------


def assert_safe_error(response: httpx.Response) -> None:
    """MLflow's error shape, and nothing of the request in it: no value, no path, no trace."""
    assert is_mlflow_error(response.json()), response.text
    assert response.headers["content-type"] == "application/json"
    for echo in (SECRET, SECRET_NUMBER, "Traceback", 'File "'):
        assert echo not in response.text, response.text


BAD_REQUESTS: dict[str, tuple[bytes, str, int, str]] = {
    "bad JSON": (b'{"inputs": [' + SECRET.encode(), "application/json", 400, "not valid JSON"),
    "not UTF-8": (b'{"inputs": ["\xff' + SECRET.encode() + b'"]}', "application/json", 400,
                  "not UTF-8"),
    "a bare list": (json.dumps([{"x": SECRET}]).encode(), "application/json", 400,
                    "exactly one of dataframe_split, dataframe_records, instances, inputs"),
    "a JSON string": (json.dumps(SECRET).encode(), "application/json", 400, "exactly one of"),
    "no input key": (json.dumps({SECRET: [1]}).encode(), "application/json", 400,
                     "it holds none of them"),
    "two input keys": (json.dumps({"inputs": [SECRET], "instances": [1]}).encode(),
                       "application/json", 400, "it holds instances and inputs"),
    "params not an object": (json.dumps({"inputs": [{"x": 1}], "params": [SECRET]}).encode(),
                             "application/json", 400, "params must be a JSON object"),
    "split without data": (json.dumps({"dataframe_split": {"columns": [SECRET]}}).encode(),
                           "application/json", 400, "holds data and optionally columns"),
    "split as a list": (json.dumps({"dataframe_split": [[SECRET]]}).encode(),
                        "application/json", 400, "must be an object with data"),
    "split of the wrong width": (
        json.dumps({"dataframe_split": {"columns": ["x", "z"], "data": [[1, 2, SECRET]]}}).encode(),
        "application/json", 400, "dataframe_split's row 0 has 3 values for 2 columns"),
    "records as an object": (json.dumps({"dataframe_records": {"x": SECRET}}).encode(),
                             "application/json", 400, "must be a list of records"),
    "empty inputs": (json.dumps({"inputs": []}).encode(), "application/json", 400,
                     "inputs must be a non-empty list"),
    "scalar instances": (json.dumps({"instances": SECRET}).encode(), "application/json", 400,
                         "it is a JSON string"),
    "a missing column": (json.dumps({"inputs": [{"x": 1.0, SECRET: 2}]}).encode(),
                         "application/json", 400, "input is missing column 'z'"),
    "text in a number column": (json.dumps({"inputs": [{"x": SECRET, "z": 1.0}]}).encode(),
                                "application/json", 400, "column 'x' holds str values"),
    "rows of the wrong width": (json.dumps({"inputs": [[1.0, 2.0, 3.0]]}).encode(),
                                "application/json", 400, "the model takes 2 columns"),
    "CSV without the column": (f"x,{SECRET}\n1,2\n".encode(), "text/csv", 400,
                               "input is missing column 'z'"),
    "CSV that does not parse": (f'x,z\n1,"{SECRET}\n'.encode(), "text/csv", 400,
                                "a quoted field that starts at row 1 is never closed"),
    "CSV with a long row": (f"x,z\n1,2\n3,4,{SECRET}\n".encode(), "text/csv", 400,
                            "line 3 has 3 fields; the header has 2"),
    "split with an index that is no list": (
        json.dumps({"dataframe_split": {"columns": ["x", "z"], "data": [[1, 2]],
                                        "index": SECRET}}).encode(),
        "application/json", 400, "dataframe_split's index must be a list of one label per row"),
    "split with an index of another length": (
        json.dumps({"dataframe_split": {"columns": ["x", "z"], "data": [[1, 2]],
                                        "index": [SECRET, "b"]}}).encode(),
        "application/json", 400, "dataframe_split's index has 2 labels for 1 row"),
    "split with columns that are no list": (
        json.dumps({"dataframe_split": {"columns": SECRET, "data": [[1, 2]]}}).encode(),
        "application/json", 400, "dataframe_split's columns must be a list of column names"),
    "split with a short row": (
        json.dumps({"dataframe_split": {"columns": ["x", "z"],
                                        "data": [[1, 2], [SECRET]]}}).encode(),
        "application/json", 400, "dataframe_split's row 1 has 1 value for 2 columns"),
    "split with data that is no list": (
        json.dumps({"dataframe_split": {"columns": ["x", "z"], "data": SECRET}}).encode(),
        "application/json", 400, "dataframe_split's data must be a list of rows"),
    "records holding a string": (json.dumps({"dataframe_records": [{"x": 1}, SECRET]}).encode(),
                                 "application/json", 400,
                                 "dataframe_records' item 1 is a JSON string"),
    "columns of different lengths": (
        json.dumps({"inputs": {"x": [1.0, 2.0], "z": [SECRET]}}).encode(), "application/json",
        400, "the input cannot be read as a table"),
    "empty CSV": (b"", "text/csv", 400, "not CSV with a header row"),
    "text/plain": (SECRET.encode(), "text/plain", 415, "send application/json or text/csv"),
    "form data": (SECRET.encode(), "application/x-www-form-urlencoded", 415, "not accepted"),
    "latin-1": (b'{"inputs": [1]}', "application/json; charset=latin-1", 415, "only charset"),
    "legacy pandas-split": (b'{"columns": [], "data": []}',
                            "application/json; format=pandas-split", 415,
                            "only charset=utf-8 may follow"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_a_clear_error_without_echo_or_traceback(
    client: TestClient, case: str
) -> None:
    body, content_type, status, message = BAD_REQUESTS[case]
    response = client.post("/invocations", content=body, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    error = response.json()
    # What the signature refuses after the input is read is MLflow's INVALID_PARAMETER_VALUE.
    code = "INVALID_PARAMETER_VALUE" if case in SCHEMA_REFUSALS else "BAD_REQUEST"
    assert error["error_code"] == code
    assert message in error["message"]
    assert_safe_error(response)


SCHEMA_REFUSALS = {"a missing column", "rows of the wrong width", "CSV without the column"}


# The signature's verdicts as the server words them: the column and the types, never a value.
TYPED_INPUT = {"n": 1, "s": "a", "flag": True, "when": "2024-01-01", "x": 1.5}
DROP = object()  # a column left out of the record
SIGNATURE_VERDICTS: dict[str, tuple[dict[str, object], str]] = {
    "a fractional long": ({"n": float(SECRET_NUMBER)},
                          "column 'n' holds float64 values, which cannot become long: some have "
                          "a fractional part"),
    "a missing long": ({"n": None}, "column 'n' holds empty values, which cannot become long: "
                                    "some are missing (NaN) or infinite"),
    "a long too large": ({"n": 1e30}, "column 'n' holds float64 values, which cannot become "
                                      "long: they do not fit in int64"),
    "text for a boolean": ({"flag": SECRET}, "column 'flag' holds str values, which cannot "
                                             "become boolean"),
    "text for a date": ({"when": SECRET}, "column 'when' holds str values that are not ISO 8601 "
                                          "dates; the model expects datetime"),
    "a column missing": ({"x": DROP, SECRET: 1}, "input is missing column 'x'; the model takes "
                                                 "n (long), s (string), flag (boolean), when "
                                                 "(datetime), x (double)"),
}  # fmt: skip


@pytest.fixture
def typed_client(store_path: Path) -> Iterator[TestClient]:
    example = pd.DataFrame([TYPED_INPUT]).assign(when=pd.Timestamp("2024-01-01"))
    with nbtrack.start_run():
        info = nbtrack.log_model(_zeros, "model", input_example=example)
    follower = Follower.start(target(info.model_uri))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            yield client
    finally:
        follower.stop()


def _zeros(data: object) -> np.ndarray:
    return np.zeros(len(data))  # type: ignore[arg-type]


@pytest.mark.parametrize("case", list(SIGNATURE_VERDICTS))
def test_the_signatures_verdict_names_the_column_and_types_never_the_value(
    typed_client: TestClient, case: str
) -> None:
    change, message = SIGNATURE_VERDICTS[case]
    record = {key: value for key, value in {**TYPED_INPUT, **change}.items() if value is not DROP}
    response = typed_client.post("/invocations", json={"dataframe_records": [record]})
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message
    assert_safe_error(response)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [[float(SECRET_NUMBER), 2]],
            "input holds float64 values, which cannot become int64: some have a fractional part",
        ),
        (
            [[SECRET, 2]],
            "input holds str values, which cannot become int64: no conversion from "
            "str to int64 keeps every value",
        ),
        ([[1, 2, 3]], "input has shape (1, 3); the model takes shape (-1, 2) (-1: any length)"),
        ([[1], [1, SECRET]], "the input cannot be read as a table or an array"),
    ],
)
def test_a_tensor_models_verdict_names_types_and_shapes_never_values(
    store_path: Path, rows: list[list[object]], message: str
) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(_zeros, "model", input_example=np.array([[1, 2]], dtype=np.int64))
    follower = Follower.start(target(info.model_uri))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            response = client.post("/invocations", json={"inputs": rows})
    finally:
        follower.stop()
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(message)
    assert_safe_error(response)


def test_no_content_type_is_415(client: TestClient) -> None:
    response = client.post("/invocations", content=b'{"inputs": [1]}')
    assert response.status_code == 415
    assert "no Content-Type" in response.json()["message"]


def test_a_model_exception_is_a_short_400_and_its_traceback_goes_to_the_log(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(
            _fails_below_zero, "model", input_example=pd.DataFrame({"x": [1.0]})
        )
    follower = Follower.start(target(info.model_uri))
    try:
        with (
            _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client,
            caplog.at_level(logging.INFO, logger="nbtrack.serve"),
        ):
            response = client.post("/invocations", json={"inputs": {"x": [-1.0]}})
            fine = client.post("/invocations", json={"inputs": {"x": [1.0]}})
    finally:
        follower.stop()
    # MLflow answers a model that raises with 400: the input is what made it fail.
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "BAD_REQUEST",
        "message": "the model raised RuntimeError on this input; check that the input is what "
        "the model takes (GET /metadata); the server log has the details",
        "error_class": "INVALID_PARAMETER_VALUE",
        "sqlstate": "KAM00",
    }
    assert fine.json() == {"predictions": [1.0]}
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.exc_info is not None and SECRET in str(failure.exc_info[1])


def _fails_below_zero(data: pd.DataFrame) -> np.ndarray:
    if (data["x"] < 0).any():
        raise RuntimeError(f"negative input: {SECRET}")
    return data["x"].to_numpy()


def test_an_output_json_cannot_hold_is_a_500_naming_its_type(store_path: Path) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(_a_set, "model")
    follower = Follower.start(target(info.model_uri))
    try:
        with _client(follower, check_settings("127.0.0.1", None, False, 4096)) as client:
            response = client.post("/invocations", json={"inputs": {"x": [1.0]}})
    finally:
        follower.stop()
    assert response.status_code == 500
    assert response.json()["message"] == (
        "the model's output cannot be written as JSON: the model returned a set, which JSON "
        "cannot hold"
    )


def _a_set(data: pd.DataFrame) -> set[int]:
    return {1}


# -- body size ----------------------------------------------------------------------------------


def _records_body(size: int) -> bytes:
    """A valid body of exactly ``size`` bytes (padded with spaces, which JSON ignores)."""
    body = json.dumps({"inputs": [{"x": 1.0, "z": 1.0}]}).encode()
    return body + b" " * (size - len(body))


def test_a_body_over_the_limit_is_413_before_parsing(client: TestClient) -> None:
    exactly = client.post(
        "/invocations", content=_records_body(4096), headers={"content-type": "application/json"}
    )
    assert exactly.status_code == 200
    over = client.post(
        "/invocations", content=_records_body(4097), headers={"content-type": "application/json"}
    )
    assert over.status_code == 413
    assert over.json()["error_code"] == "RESOURCE_LIMIT_EXCEEDED"
    assert "4096 bytes" in over.json()["message"]
    # Not even JSON: refused on its size, never parsed.
    junk = client.post("/invocations", content=b"[" * 5000, headers={"content-type": "text/csv"})
    assert junk.status_code == 413


def test_a_chunked_body_counts_toward_the_limit(client: TestClient) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        body = _records_body(total)
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    fine = client.post(
        "/invocations", content=chunks(4000), headers={"content-type": "application/json"}
    )
    assert fine.request.headers.get("transfer-encoding") == "chunked"
    assert fine.status_code == 200
    over = client.post(
        "/invocations", content=chunks(9000), headers={"content-type": "application/json"}
    )
    assert over.status_code == 413


# -- Host and token -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:5001", "127.0.0.1", "localhost:80", "LOCALHOST", "[::1]:5001", "localhost."],
)
def test_loopback_host_headers_are_accepted_whatever_the_port(
    client: TestClient, host: str
) -> None:
    assert client.get("/ping", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5001", "127.0.0.2", "0.0.0.0"])
def test_another_host_header_is_403(client: TestClient, host: str) -> None:
    for path in ("/ping", "/invocations"):
        response = client.request(
            "GET" if path == "/ping" else "POST", path, headers={"host": host}
        )
        assert response.status_code == 403
        assert response.json()["error_code"] == "PERMISSION_DENIED"
        assert "evil" not in response.text


def test_allowed_hosts_add_names(follower: Follower) -> None:
    settings = check_settings("127.0.0.1", None, False, 4096, ["models.example.com"])
    with _client(follower, settings) as client:
        assert client.get("/ping", headers={"host": "models.example.com:443"}).status_code == 200
        assert client.get("/ping", headers={"host": "other.example.com"}).status_code == 403


def test_bound_to_every_address_any_host_passes_unless_hosts_are_listed(
    follower: Follower,
) -> None:
    with _client(follower, check_settings("0.0.0.0", "t0ken", False, 4096)) as client:
        assert client.get("/ping", headers={"host": "10.1.2.3:5001"}).status_code == 200
    listed = check_settings("0.0.0.0", "t0ken", False, 4096, ["10.1.2.3"])
    with _client(follower, listed) as client:
        assert client.get("/ping", headers={"host": "10.1.2.3:5001"}).status_code == 200
        assert client.get("/ping", headers={"host": "localhost"}).status_code == 200
        assert client.get("/ping", headers={"host": "10.9.9.9"}).status_code == 403


def test_bound_to_an_address_its_own_host_passes(follower: Follower) -> None:
    with _client(follower, check_settings("10.1.2.3", "t0ken", False, 4096)) as client:
        assert client.get("/ping", headers={"host": "10.1.2.3:5001"}).status_code == 200
        assert client.get("/ping", headers={"host": "10.1.2.4:5001"}).status_code == 403


def test_a_token_guards_everything_but_ping_and_health(follower: Follower, churn: Churn) -> None:
    settings = check_settings("127.0.0.1", "s3cret-token", False, 4096)
    payload = {"inputs": _rows(churn.features.head(2))}
    with _client(follower, settings) as client:
        assert client.get("/ping").status_code == 200
        assert client.get("/health").status_code == 200
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret-token"},
                        {"authorization": "Basic s3cret-token"}):  # fmt: skip
            for method, path in (("POST", "/invocations"), ("GET", "/metadata"),
                                 ("GET", "/version")):  # fmt: skip
                response = client.request(method, path, json=payload, headers=headers)
                assert response.status_code == 401, (headers, path)
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["error_code"] == "UNAUTHENTICATED"
                assert "s3cret" not in response.text
        good = {"authorization": "Bearer s3cret-token"}
        response = client.post("/invocations", json=payload, headers=good)
        assert response.json() == {"predictions": churn.v1[:2].tolist()}
        assert client.get("/metadata", headers={"authorization": "bearer s3cret-token"}).is_success


def test_one_access_log_line_per_request(
    client: TestClient, churn: Churn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="nbtrack.serve"):
        client.get("/ping")
        client.post("/invocations", json={"inputs": _rows(churn.features.head(1))})
        client.post("/invocations", content=b"{", headers={"content-type": "application/json"})
        client.get("/ping", headers={"host": "evil.example"})
        client.get("/x%0A127.0.0.1:1 GET /forged 200 0.1ms")
    lines = [r.getMessage() for r in caplog.records if r.name == "nbtrack.serve"]
    assert len(lines) == 5
    for line, expected in zip(
        lines,
        ["GET /ping 200", "POST /invocations 200", "POST /invocations 400", "GET /ping 403",
         "GET /x%0A127.0.0.1:1%20GET%20/forged%20200%200.1ms 404"],
        strict=True,
    ):  # fmt: skip
        assert expected in line
        assert line.endswith("ms")
