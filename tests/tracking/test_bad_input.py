"""What a user gets back when what they log is odd, hostile or plain wrong.

Bad input raises at the call that received it (never later, at a flush) and leaves nothing
half-written; odd but valid input (quotes, SQL, unicode, NaN) is stored exactly as given.
"""

# Greek letters in user-facing names are the point of the unicode tests here.
# ruff: noqa: RUF001

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.store import gateway

INJECTION = "x'); DROP TABLE runs;--"
QUOTES = 'it\'s a "quoted" `name` \\ with; semicolons --'
NBTRACK_TABLES = {
    "nbtrack_meta",
    "experiment_tags",
    "experiments",
    "runs",
    "run_spans",
    "params",
    "metrics",
    "latest_metrics",
    "tags",
    "journal_segments",
    "model_payloads",
    "registered_models",
    "model_versions",
    "model_version_files",
    "aliases",
    "alias_history",
    "registered_model_tags",
    "model_version_tags",
}


def _query(store_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows straight from the DuckDB file, after this process's records are in it."""
    nbtrack.flush()
    with gateway.connect(store_path, read_only=True) as con:
        rows: list[tuple[Any, ...]] = con.execute(sql, params or []).fetchall()
    return rows


def _tables(store_path: Path) -> set[str]:
    return {
        name
        for (name,) in _query(
            store_path,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
        )
    }


# -- hostile names are data, never SQL ----------------------------------------------------------


@pytest.mark.parametrize("text", [INJECTION, QUOTES], ids=["sql-injection", "quotes"])
def test_names_and_keys_with_quotes_or_sql_are_stored_verbatim(store_path: Path, text: str) -> None:
    nbtrack.set_experiment(text)
    with nbtrack.start_run(name=text) as run:
        nbtrack.log_param(text, text)
        nbtrack.log_metric(text, 1.5)
        nbtrack.set_tag(text, text)

    got = nbtrack.get_run(run.id)
    assert got.name == text
    assert got.params == {text: text}
    assert got.metrics == {text: 1.5}
    assert got.tags[text] == text
    assert nbtrack.get_experiment(text).name == text
    assert got.experiment_id == nbtrack.get_experiment(text).id
    assert nbtrack.get_metric_history(run.id, text)["value"].tolist() == [1.5]


def test_sql_in_every_name_leaves_the_tables_intact(store_path: Path) -> None:
    with nbtrack.start_run(name="before") as before:
        nbtrack.log_metric("loss", 0.5)
    nbtrack.set_experiment(INJECTION)
    with nbtrack.start_run(name=INJECTION, tags={INJECTION: INJECTION}) as run:
        nbtrack.log_params({INJECTION: INJECTION, "plain": INJECTION})
        nbtrack.log_metrics({INJECTION: 1.0})
        nbtrack.set_tag("note", INJECTION)

    assert _tables(store_path) == NBTRACK_TABLES
    assert _query(store_path, "SELECT count(*) FROM runs") == [(2,)]
    assert _query(store_path, "SELECT count(*) FROM params") == [(2,)]
    assert _query(store_path, "SELECT count(*) FROM metrics") == [(2,)]
    assert _query(store_path, "SELECT run_name FROM runs WHERE run_id = ?", [run.id]) == [
        (INJECTION,)
    ]
    assert nbtrack.get_run(before.id).metrics == {"loss": 0.5}
    assert [e.name for e in nbtrack.list_experiments()] == ["Default", INJECTION]


# -- metric values --------------------------------------------------------------------------------


def test_nan_and_infinities_round_trip_exactly(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("nan", math.nan)
        nbtrack.log_metric("pos", math.inf)
        nbtrack.log_metric("neg", -math.inf)
        nbtrack.log_metrics({"all": math.nan})
        nbtrack.log_metrics({"all": math.inf})
        nbtrack.log_metrics({"all": -math.inf})

    metrics = nbtrack.get_run(run.id).metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pos"] == math.inf
    assert metrics["neg"] == -math.inf
    assert metrics["all"] == -math.inf

    assert math.isnan(nbtrack.get_metric_history(run.id, "nan")["value"].iloc[0])
    assert nbtrack.get_metric_history(run.id, "pos")["value"].tolist() == [math.inf]
    assert nbtrack.get_metric_history(run.id, "neg")["value"].tolist() == [-math.inf]
    values = nbtrack.get_metric_history(run.id, "all")["value"].tolist()
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf]


def test_a_nan_metric_is_not_stored_as_null(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", math.nan)

    rows = _query(
        store_path,
        "SELECT isnan(value) FROM metrics WHERE run_id = ? AND key = ?",
        [run.id, "loss"],
    )
    assert rows == [(True,)]


@pytest.mark.parametrize("value", ["0.5", None, [0.5], {"v": 1}, 1 + 2j], ids=repr)
def test_a_metric_that_is_not_a_real_number_raises_naming_the_key(
    store_path: Path, value: object
) -> None:
    with nbtrack.start_run():
        with pytest.raises(nbtrack.InvalidValueError, match="val_accuracy"):
            nbtrack.log_metric("val_accuracy", value)  # type: ignore[arg-type]
        with pytest.raises(nbtrack.InvalidValueError, match="val_accuracy"):
            nbtrack.log_metrics({"val_accuracy": value})  # type: ignore[dict-item]


@pytest.mark.parametrize("value", [True, False], ids=repr)
def test_a_bool_metric_raises_naming_the_key(store_path: Path, value: bool) -> None:
    with nbtrack.start_run():
        with pytest.raises(nbtrack.InvalidValueError, match="converged") as excinfo:
            nbtrack.log_metric("converged", value)
        assert "bool" in str(excinfo.value)
        with pytest.raises(nbtrack.InvalidValueError, match="converged"):
            nbtrack.log_metrics({"converged": value})


def test_a_numpy_bool_metric_raises_naming_the_key(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    with nbtrack.start_run() as run:
        for flag in (np.bool_(True), np.bool_(False), (np.array([1.0]) > 0.5)[0]):
            with pytest.raises(nbtrack.InvalidValueError, match="converged"):
                nbtrack.log_metric("converged", flag)
            with pytest.raises(nbtrack.InvalidValueError, match="converged"):
                nbtrack.log_metrics({"converged": flag})

    assert nbtrack.get_run(run.id).metrics == {}


def test_numpy_numbers_are_accepted_as_metrics(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    with nbtrack.start_run() as run:
        nbtrack.log_metric("f32", np.float32(0.5))
        nbtrack.log_metric("i64", np.int64(3))
        nbtrack.log_metric("nan", np.float64("nan"))

    metrics = nbtrack.get_run(run.id).metrics
    assert metrics["f32"] == 0.5
    assert metrics["i64"] == 3.0
    assert math.isnan(metrics["nan"])


# -- params ---------------------------------------------------------------------------------------


def test_param_logged_twice_with_another_value_raises_and_keeps_the_first(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("lr", 0.1)
        with pytest.raises(nbtrack.InvalidValueError, match="lr") as excinfo:
            nbtrack.log_param("lr", 0.2)
        assert "0.1" in str(excinfo.value)
        assert "0.2" in str(excinfo.value)

    assert nbtrack.get_run(run.id).params == {"lr": 0.1}


def test_param_logged_again_after_a_flush_with_another_value_still_raises(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("optimizer", "adam")
        assert nbtrack.get_run(run.id).params == {"optimizer": "adam"}  # flushed now
        with pytest.raises(nbtrack.InvalidValueError, match="optimizer"):
            nbtrack.log_param("optimizer", "sgd")

    assert nbtrack.get_run(run.id).params == {"optimizer": "adam"}


def test_param_logged_twice_with_the_same_value_is_a_no_op(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("layers", [64, 32])
        nbtrack.log_param("layers", [64, 32])
        nbtrack.log_params({"layers": [64, 32], "dropout": 0.5})
        nbtrack.log_params({"dropout": 0.5})

    assert nbtrack.get_run(run.id).params == {"layers": [64, 32], "dropout": 0.5}
    rows = _query(store_path, "SELECT key, count(*) FROM params GROUP BY key ORDER BY key")
    assert rows == [("dropout", 1), ("layers", 1)]


def test_the_same_key_twice_in_one_log_params_call_cannot_disagree(store_path: Path) -> None:
    # A dict cannot hold one key twice, but a conflict with an earlier call in the same batch can.
    with nbtrack.start_run() as run:
        nbtrack.log_params({"seed": 1})
        with pytest.raises(nbtrack.InvalidValueError, match="seed"):
            nbtrack.log_params({"batch": 32, "seed": 2})

    assert nbtrack.get_run(run.id).params == {"seed": 1}


# -- size limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        lambda key: nbtrack.log_param(key, 1),
        lambda key: nbtrack.log_metric(key, 1.0),
        lambda key: nbtrack.set_tag(key, "v"),
        lambda key: nbtrack.log_metrics({key: 1.0}),
    ],
    ids=["param", "metric", "tag", "metrics"],
)
def test_a_key_over_250_characters_raises_naming_the_limit(
    store_path: Path, log: Callable[[str], None]
) -> None:
    with nbtrack.start_run() as run:
        log("k" * 250)  # at the limit: accepted
        with pytest.raises(nbtrack.InvalidValueError, match="250"):
            log("k" * 251)

    got = nbtrack.get_run(run.id)
    stored = [*got.params, *got.metrics, *(k for k in got.tags if not k.startswith("nbtrack."))]
    assert stored == ["k" * 250]


def test_a_run_or_experiment_name_over_250_characters_raises(store_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="250"):
        nbtrack.start_run(name="r" * 251)
    with pytest.raises(nbtrack.InvalidValueError, match="250"):
        nbtrack.set_experiment("e" * 251)
    assert nbtrack.active_run() is None
    assert [e.name for e in nbtrack.list_experiments()] == ["Default"]


def test_a_param_value_over_64_kib_raises_and_says_to_log_an_artifact(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="64 KiB") as excinfo:
            nbtrack.log_param("prompt", "x" * (64 * 1024 + 1))
        assert "prompt" in str(excinfo.value)
        with pytest.raises(nbtrack.InvalidValueError, match="64 KiB"):
            nbtrack.log_param("vocab", list(range(20_000)))

    assert nbtrack.get_run(run.id).params == {}


def test_a_long_param_value_under_64_kib_is_kept_whole(store_path: Path) -> None:
    value = "α" * 30_000  # 60,000 bytes of UTF-8
    with nbtrack.start_run() as run:
        nbtrack.log_param("prompt", value)

    assert nbtrack.get_run(run.id).params["prompt"] == value


def test_a_param_value_of_exactly_64_kib_is_accepted(store_path: Path) -> None:
    value = "x" * (64 * 1024)
    with nbtrack.start_run() as run:
        nbtrack.log_param("prompt", value)

    assert nbtrack.get_run(run.id).params["prompt"] == value


def test_a_tag_value_over_64_kib_raises(store_path: Path) -> None:
    with nbtrack.start_run() as run, pytest.raises(nbtrack.InvalidValueError, match="64 KiB"):
        nbtrack.set_tag("notes", "x" * (64 * 1024 + 1))

    assert "notes" not in nbtrack.get_run(run.id).tags


# -- text that cannot be stored -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["lr\x00", "lone \ud800 surrogate"], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    "log",
    [
        lambda bad: nbtrack.log_param(bad, 1),
        lambda bad: nbtrack.log_param("key", bad),
        lambda bad: nbtrack.log_params({bad: 1}),
        lambda bad: nbtrack.log_metric(bad, 1.0),
        lambda bad: nbtrack.log_metrics({bad: 1.0}),
        lambda bad: nbtrack.set_tag(bad, "v"),
        lambda bad: nbtrack.set_tag("key", bad),
        lambda bad: nbtrack.set_tags({"key": bad}),
    ],
    ids=[
        "param-key",
        "param-value",
        "params-key",
        "metric-key",
        "metrics-key",
        "tag-key",
        "tag-value",
        "tags-value",
    ],
)
def test_text_with_a_nul_byte_or_invalid_unicode_raises_when_logged(
    store_path: Path, log: Callable[[str], None], bad: str
) -> None:
    with nbtrack.start_run() as run, pytest.raises(nbtrack.InvalidValueError):
        log(bad)

    got = nbtrack.get_run(run.id)
    assert (got.params, got.metrics) == ({}, {})
    assert not [k for k in got.tags if not k.startswith("nbtrack.")]


@pytest.mark.parametrize(
    "start",
    [
        lambda bad: nbtrack.start_run(name=bad),
        lambda bad: nbtrack.start_run(experiment=bad),
        lambda bad: nbtrack.start_run(tags={bad: "v"}),
        lambda bad: nbtrack.start_run(tags={"k": bad}),
        nbtrack.set_experiment,
        nbtrack.create_experiment,
    ],
    ids=["run-name", "run-experiment", "start-tag-key", "start-tag-value", "set-exp", "create-exp"],
)
def test_a_nul_byte_in_a_run_or_experiment_name_raises_and_creates_nothing(
    store_path: Path, start: Callable[[str], object]
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="NUL"):
        start("bad\x00name")

    assert nbtrack.active_run() is None
    assert [e.name for e in nbtrack.list_experiments()] == ["Default"]
    assert _query(store_path, "SELECT count(*) FROM runs") == [(0,)]


@pytest.mark.parametrize("key", [5, None, ("a",), b"lr", ""], ids=repr)
def test_a_key_that_is_not_a_non_empty_str_raises(store_path: Path, key: object) -> None:
    with nbtrack.start_run():
        with pytest.raises(nbtrack.InvalidValueError):
            nbtrack.log_metric(key, 1.0)  # type: ignore[arg-type]
        with pytest.raises(nbtrack.InvalidValueError):
            nbtrack.log_param(key, 1)  # type: ignore[arg-type]
        with pytest.raises(nbtrack.InvalidValueError):
            nbtrack.set_tag(key, "v")  # type: ignore[arg-type]


def test_unicode_round_trips_in_names_keys_and_values(store_path: Path) -> None:
    experiment = "Versuch 実験 🧪"
    name = "Lauf α — 运行 🚀"
    nbtrack.set_experiment(experiment)
    with nbtrack.start_run(name=name) as run:
        nbtrack.log_param("Lernrate α", 0.01)
        nbtrack.log_param("説明", "schnell, 快速 ⚡")
        nbtrack.log_param("🧮", ["α", "β", "γ"])
        nbtrack.log_metric("Verlust 損失 📉", 0.25)
        nbtrack.set_tag("Mannschaft 🏆", "Ünïcödé ✓")

    got = nbtrack.get_run(run.id)
    assert got.name == name
    assert nbtrack.get_experiment(experiment).id == got.experiment_id
    assert got.params == {"Lernrate α": 0.01, "説明": "schnell, 快速 ⚡", "🧮": ["α", "β", "γ"]}
    assert got.metrics == {"Verlust 損失 📉": 0.25}
    assert got.tags["Mannschaft 🏆"] == "Ünïcödé ✓"
    assert nbtrack.get_metric_history(run.id, "Verlust 損失 📉")["value"].tolist() == [0.25]


# -- steps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1.0, 1.5, "1", True, False], ids=repr)
def test_a_step_that_is_not_an_int_raises_and_logs_nothing(store_path: Path, step: object) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="step"):
            nbtrack.log_metric("loss", 0.5, step=step)  # type: ignore[arg-type]
        with pytest.raises(nbtrack.InvalidValueError, match="step"):
            nbtrack.log_metrics({"loss": 0.5}, step=step)  # type: ignore[arg-type]
        nbtrack.log_metric("loss", 0.25)

    history = nbtrack.get_metric_history(run.id, "loss")
    assert history["step"].tolist() == [0]
    assert history["value"].tolist() == [0.25]


def test_a_step_outside_64_bits_raises(store_path: Path) -> None:
    with nbtrack.start_run(), pytest.raises(nbtrack.InvalidValueError, match="step"):
        nbtrack.log_metric("loss", 0.5, step=2**63)


# -- no run, or an ended run ----------------------------------------------------------------------

LOG_CALLS: dict[str, Callable[[], None]] = {
    "log_metric": lambda: nbtrack.log_metric("loss", 0.5),
    "log_metrics": lambda: nbtrack.log_metrics({"loss": 0.5}),
    "log_param": lambda: nbtrack.log_param("lr", 0.1),
    "log_params": lambda: nbtrack.log_params({"lr": 0.1}),
    "set_tag": lambda: nbtrack.set_tag("team", "x"),
    "set_tags": lambda: nbtrack.set_tags({"team": "x"}),
}


@pytest.mark.parametrize("log", LOG_CALLS.values(), ids=LOG_CALLS.keys())
def test_logging_with_no_active_run_raises_and_says_how_to_start_one(
    store_path: Path, log: Callable[[], None]
) -> None:
    with pytest.raises(nbtrack.NoActiveRunError, match="start_run") as excinfo:
        log()
    assert isinstance(excinfo.value, nbtrack.NbtrackError)


@pytest.mark.parametrize("log", LOG_CALLS.values(), ids=LOG_CALLS.keys())
def test_logging_after_the_with_block_raises_instead_of_reaching_the_ended_run(
    store_path: Path, log: Callable[[], None]
) -> None:
    with nbtrack.start_run() as run:
        pass
    with pytest.raises(nbtrack.NoActiveRunError, match="start_run"):
        log()

    got = nbtrack.get_run(run.id)
    assert (got.params, got.metrics) == ({}, {})


@pytest.mark.parametrize(
    "method",
    [
        lambda run: run.log_metric("loss", 0.5),
        lambda run: run.log_metrics({"loss": 0.5}),
        lambda run: run.log_param("lr", 0.1),
        lambda run: run.log_params({"lr": 0.1}),
        lambda run: run.set_tag("team", "x"),
        lambda run: run.set_tags({"team": "x"}),
    ],
    ids=LOG_CALLS.keys(),
)
def test_logging_to_an_ended_run_object_raises_and_says_how_to_reopen_it(
    store_path: Path, method: Callable[[nbtrack.ActiveRun], None]
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("kept", 1.0)
    with pytest.raises(nbtrack.NbtrackError, match=rf"start_run\(run_id='{run.id}'\)"):
        method(run)

    got = nbtrack.get_run(run.id)
    assert got.status == "FINISHED"
    assert (got.params, got.metrics) == ({}, {"kept": 1.0})


# -- all or nothing -------------------------------------------------------------------------------


def test_log_metrics_with_one_bad_value_writes_nothing(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="accuracy"):
            nbtrack.log_metrics({"loss": 0.5, "accuracy": "high", "f1": 0.7})  # type: ignore[dict-item]
        with pytest.raises(nbtrack.InvalidValueError):
            nbtrack.log_metrics({"loss": 0.5, "": 0.1})
        with pytest.raises(nbtrack.InvalidValueError, match="step"):
            nbtrack.log_metrics({"loss": 0.5}, step="3")  # type: ignore[arg-type]
        nbtrack.log_metric("other", 1.0)

    assert nbtrack.get_run(run.id).metrics == {"other": 1.0}
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.get_metric_history(run.id, "loss")


def test_a_rejected_log_metrics_does_not_advance_the_default_step(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError):
            nbtrack.log_metrics({"loss": 0.5, "accuracy": None})  # type: ignore[dict-item]
        nbtrack.log_metrics({"loss": 0.4})

    assert nbtrack.get_metric_history(run.id, "loss")["step"].tolist() == [0]


def test_log_params_with_one_bad_item_writes_nothing(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("lr", 0.1)
        with pytest.raises(nbtrack.InvalidValueError, match="model"):
            nbtrack.log_params({"batch": 32, "model": object()})
        with pytest.raises(nbtrack.InvalidValueError, match="lr"):
            nbtrack.log_params({"batch": 32, "lr": 0.2})
        with pytest.raises(nbtrack.InvalidValueError, match="250"):
            nbtrack.log_params({"batch": 32, "k" * 251: 1})

    assert nbtrack.get_run(run.id).params == {"lr": 0.1}


def test_set_tags_with_one_bad_item_writes_nothing(store_path: Path) -> None:
    with nbtrack.start_run() as run, pytest.raises(nbtrack.InvalidValueError, match="owner"):
        nbtrack.set_tags({"team": "vision", "owner": ["ann", "bob"]})

    assert "team" not in nbtrack.get_run(run.id).tags


@pytest.mark.parametrize("values", [[("lr", 0.1)], "lr=0.1", None], ids=repr)
def test_log_params_or_metrics_with_something_other_than_a_dict_raises(
    store_path: Path, values: object
) -> None:
    with nbtrack.start_run():
        with pytest.raises(nbtrack.InvalidValueError, match="dict"):
            nbtrack.log_params(values)  # type: ignore[arg-type]
        with pytest.raises(nbtrack.InvalidValueError, match="dict"):
            nbtrack.log_metrics(values)  # type: ignore[arg-type]


# -- the error tree -------------------------------------------------------------------------------


def test_invalid_value_error_is_a_value_error(store_path: Path) -> None:
    assert issubclass(nbtrack.InvalidValueError, ValueError)
    with nbtrack.start_run(), pytest.raises(ValueError, match="loss"):
        nbtrack.log_metric("loss", "low")  # type: ignore[arg-type]


def test_get_run_of_an_unknown_id_raises_a_lookup_error(store_path: Path) -> None:
    assert issubclass(nbtrack.NotFoundError, LookupError)
    with pytest.raises(LookupError, match="0123456789abcdef") as excinfo:
        nbtrack.get_run("0123456789abcdef")
    assert isinstance(excinfo.value, nbtrack.NotFoundError)


def test_get_experiment_of_an_unknown_name_raises_a_lookup_error(store_path: Path) -> None:
    nbtrack.set_experiment("churn")
    with pytest.raises(LookupError, match="chrun") as excinfo:
        nbtrack.get_experiment("chrun")
    assert isinstance(excinfo.value, nbtrack.NotFoundError)
    assert "churn" in str(excinfo.value)  # lists what exists


def test_get_metric_history_of_an_unknown_key_raises_a_lookup_error(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5)

    with pytest.raises(LookupError, match="acuracy") as excinfo:
        nbtrack.get_metric_history(run.id, "acuracy")
    assert isinstance(excinfo.value, nbtrack.NotFoundError)
    assert "loss" in str(excinfo.value)  # lists what exists
    with pytest.raises(nbtrack.NotFoundError, match="no-such-run"):
        nbtrack.get_metric_history("no-such-run", "loss")


# -- numbers beyond float64 -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["big", "negative"])
def test_an_int_beyond_float64_as_a_metric_raises_naming_the_limit(
    store_path: Path, value: int
) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="float64") as excinfo:
            nbtrack.log_metric("m", value)
        assert "'m'" in str(excinfo.value) and "401 digits" in str(excinfo.value)
        assert len(str(excinfo.value)) < 300
        with pytest.raises(nbtrack.InvalidValueError, match="float64"):
            nbtrack.log_metrics({"ok": 1.0, "m": value})
        nbtrack.log_metric("m", 2**1000)  # large, yet a float64 holds it

    assert nbtrack.get_run(run.id).metrics == {"m": float(2**1000)}


def test_a_longdouble_beyond_float64_is_refused_not_stored_as_inf(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("longdouble is float64 on this platform")
    huge = np.longdouble("1e4000")
    assert np.isfinite(huge)
    with nbtrack.start_run() as run:
        for log in (
            lambda: nbtrack.log_metric("m", huge),
            lambda: nbtrack.log_metric("m", -huge),
            lambda: nbtrack.log_metrics({"m": huge}),
        ):
            with pytest.raises(nbtrack.InvalidValueError, match="float64") as excinfo:
                log()
            assert "'m'" in str(excinfo.value) and "e+4000" in str(excinfo.value)
        nbtrack.log_metric("half", np.longdouble("0.5"))
        nbtrack.log_metric("inf", np.longdouble("inf"))  # infinite as logged: kept

    assert nbtrack.get_run(run.id).metrics == {"half": 0.5, "inf": math.inf}


def test_a_decimal_or_fraction_beyond_float64_is_refused(store_path: Path) -> None:
    from decimal import Decimal
    from fractions import Fraction

    with nbtrack.start_run() as run:
        for value in (Decimal("1e400"), Fraction(10**400, 3)):
            with pytest.raises(nbtrack.InvalidValueError, match="float64"):
                nbtrack.log_metric("m", value)  # type: ignore[arg-type]
        nbtrack.log_metric("inf", Decimal("-Infinity"))  # type: ignore[arg-type]

    assert nbtrack.get_run(run.id).metrics == {"inf": -math.inf}


def test_an_int_too_long_to_print_raises_a_short_message_wherever_it_is_given(
    store_path: Path,
) -> None:
    huge = 10**5000  # beyond Python's 4300-digit limit for turning an int into text
    calls: list[Callable[[], object]] = [
        lambda: nbtrack.log_metric("m", huge),
        lambda: nbtrack.log_metric("m", 1.0, step=huge),
        lambda: nbtrack.log_metric(huge, 1.0),  # type: ignore[arg-type]
        lambda: nbtrack.log_param("p", huge),
        lambda: nbtrack.log_param("p", [1, {"n": huge}]),
        lambda: nbtrack.set_tag("t", huge),
        lambda: nbtrack.log_dict({"n": huge}, "n.json"),
    ]
    with nbtrack.start_run() as run:
        for call in calls:
            with pytest.raises(nbtrack.InvalidValueError, match="digits") as excinfo:
                call()
            assert len(str(excinfo.value)) < 400

    got = nbtrack.get_run(run.id)
    assert (got.params, got.metrics, nbtrack.list_artifacts(run.id)) == ({}, {}, [])


def test_an_int_param_beyond_float64_is_kept_exactly(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("seed", 10**400)

    assert nbtrack.get_run(run.id).params == {"seed": 10**400}


# -- numpy arrays and scalars as params -----------------------------------------------------------


def test_a_numpy_array_param_is_stored_as_the_list_of_its_values(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    with nbtrack.start_run() as run:
        nbtrack.log_param("layers", np.array([64, 32]))
        nbtrack.log_params({"grid": np.array([[0.5, 1.0], [2.0, 4.0]]), "scalar": np.array(3)})
        nbtrack.log_param("layers", [64, 32])  # the same value: a no-op, not a conflict

    params = nbtrack.get_run(run.id).params
    assert params == {"layers": [64, 32], "grid": [[0.5, 1.0], [2.0, 4.0]], "scalar": 3}
    assert type(params["layers"][0]) is int
    assert nbtrack.search_runs()["params.layers"].tolist() == ["[64, 32]"]  # as a list shows


def test_a_numpy_value_with_no_python_equivalent_is_refused_as_a_param(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    refused = [np.clongdouble(1 + 2j), np.array([1 + 2j]), np.datetime64("2024-01-01T00:00")]
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:
        refused += [np.longdouble("1e4000"), np.array([np.longdouble("1e4000")])]
    with nbtrack.start_run() as run:
        for value in refused:
            with pytest.raises(nbtrack.InvalidValueError, match="'p'"):
                nbtrack.log_param("p", value)
        nbtrack.log_param("half", np.longdouble("0.5"))

    assert nbtrack.get_run(run.id).params == {"half": 0.5}


# -- containers that hold themselves or nest without end ------------------------------------------


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_param_that_contains_itself_raises_naming_the_limit(store_path: Path) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    own: dict[str, Any] = {"a": 1}
    own["self"] = own
    with nbtrack.start_run() as run:
        for value in (loop, own, {"outer": [own]}):
            with pytest.raises(nbtrack.InvalidValueError, match="contains itself") as excinfo:
                nbtrack.log_param("cfg", value)
            assert "'cfg'" in str(excinfo.value) and "100 levels" in str(excinfo.value)
            with pytest.raises(nbtrack.InvalidValueError, match="contains itself"):
                nbtrack.log_params({"ok": 1, "cfg": value})

    assert nbtrack.get_run(run.id).params == {}


def test_a_param_nested_deeper_than_100_levels_raises(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("deep", _nested(100))
        for depth in (101, 5000):
            with pytest.raises(nbtrack.InvalidValueError, match="100 levels") as excinfo:
                nbtrack.log_param("deeper", _nested(depth))
            assert len(str(excinfo.value)) < 400

    assert nbtrack.get_run(run.id).params == {"deep": _nested(100)}


def test_a_tag_of_a_numpy_array_or_a_list_is_refused_naming_what_tags_take(
    store_path: Path,
) -> None:
    np = pytest.importorskip("numpy")
    with nbtrack.start_run():
        for value in (np.array([1, 2]), _nested(5000)):
            with pytest.raises(nbtrack.InvalidValueError, match="tags are str"):
                nbtrack.set_tag("t", value)


def test_log_dict_refuses_a_dict_nested_deeper_than_100_levels(store_path: Path) -> None:
    deep: dict[str, Any] = {}
    for _ in range(2000):
        deep = {"a": deep}
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="100 levels") as excinfo:
            nbtrack.log_dict(deep, "deep.json")
        assert len(str(excinfo.value)) < 400
        with pytest.raises(nbtrack.InvalidValueError, match="100 levels"):
            nbtrack.log_dict({"a": _nested(100)}, "deep.yaml")
        nbtrack.log_dict({"a": _nested(99)}, "ok.yaml")

    assert nbtrack.load_dict(run.id, "ok.yaml") == {"a": _nested(99)}
    assert [f.path for f in nbtrack.list_artifacts(run.id)] == ["ok.yaml"]


def test_log_dict_refuses_a_longdouble_beyond_float64(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("longdouble is float64 on this platform")
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="float64"):
            nbtrack.log_dict({"x": np.longdouble("1e4000")}, "x.json")
        nbtrack.log_dict({"x": np.longdouble("0.25"), "v": np.array([1, 2])}, "x.json")

    assert nbtrack.load_dict(run.id, "x.json") == {"x": 0.25, "v": [1, 2]}


# -- artifact paths the file system cannot hold ---------------------------------------------------

ARTIFACT_WRITERS: dict[str, Callable[[str], object]] = {
    "log_text": lambda path: nbtrack.log_text("t", path),
    "log_dict": lambda path: nbtrack.log_dict({}, path),
    "log_artifact": lambda path: nbtrack.log_artifact("local.txt", artifact_path=path),
    "log_artifacts": lambda path: nbtrack.log_artifacts("folder", artifact_path=path),
}


@pytest.fixture
def local_files(store_path: Path) -> None:
    (store_path.parent / "local.txt").write_text("x")
    (store_path.parent / "folder").mkdir()
    (store_path.parent / "folder" / "inner.txt").write_text("y")


@pytest.mark.parametrize("write", ARTIFACT_WRITERS.values(), ids=ARTIFACT_WRITERS.keys())
@pytest.mark.parametrize(
    "path",
    ["A" * 256, "plots/" + "é" * 128, "A" * 256 + "/x.txt"],
    ids=["ascii", "utf8", "folder"],
)
def test_a_file_name_over_255_bytes_raises_naming_the_limit(
    store_path: Path, local_files: None, write: Callable[[str], object], path: str
) -> None:
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="255 bytes") as excinfo:
            write(path)
        assert "AAAA" in str(excinfo.value) or "éé" in str(excinfo.value)
        assert len(str(excinfo.value)) < 500

    assert nbtrack.list_artifacts(run.id) == []


@pytest.mark.parametrize("name", ["A" * 255, "😀" * 63], ids=["ascii", "emoji"])
def test_a_file_name_of_255_bytes_is_written_and_read_back(store_path: Path, name: str) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_text("full length", name)

    assert nbtrack.load_text(run.id, name) == "full length"


@pytest.mark.parametrize("write", ARTIFACT_WRITERS.values(), ids=ARTIFACT_WRITERS.keys())
def test_an_artifact_path_deeper_than_100_levels_raises_naming_the_limit(
    store_path: Path, local_files: None, write: Callable[[str], object]
) -> None:
    with nbtrack.start_run() as run:
        for depth in (101, 2000):
            with pytest.raises(nbtrack.InvalidValueError, match="100 levels") as excinfo:
                write("a/" * (depth - 1) + "x.txt")
            assert len(str(excinfo.value)) < 500

    assert nbtrack.list_artifacts(run.id) == []


def test_reading_an_artifact_path_deeper_than_100_levels_raises(store_path: Path) -> None:
    path = "a/" * 1999 + "x.txt"
    with nbtrack.start_run() as run:
        nbtrack.log_text("deep", "a/" * 99 + "x.txt")

    assert nbtrack.load_text(run.id, "a/" * 99 + "x.txt") == "deep"
    for read in (
        lambda: nbtrack.load_text(run.id, path),
        lambda: nbtrack.list_artifacts(run.id, path),
        lambda: nbtrack.download_artifacts(run.id, path, str(store_path.parent)),
    ):
        with pytest.raises(nbtrack.InvalidValueError, match="100 levels"):
            read()


def test_an_artifact_path_too_long_for_the_file_system_raises_and_leaves_nothing(
    store_path: Path,
) -> None:
    path = "/".join(["a" * 200] * 30)  # every part fits, the whole (6,029 bytes) does not
    with nbtrack.start_run() as run:
        with pytest.raises(nbtrack.InvalidValueError, match="4095 bytes") as excinfo:
            nbtrack.log_text("t", path)
        assert len(str(excinfo.value)) < 500

    assert nbtrack.list_artifacts(run.id) == []


# -- filters and order_by beyond what a query can hold --------------------------------------------


def _logged_run(store_path: Path) -> str:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("a", 2.0)
        nbtrack.log_param("p", 1)
    return run.id


@pytest.mark.parametrize("joiner", [" or ", " and ", " AND not "])
def test_a_filter_of_more_than_200_comparisons_raises_naming_the_limit(
    store_path: Path, joiner: str
) -> None:
    _logged_run(store_path)
    for count in (201, 1000):
        with pytest.raises(nbtrack.InvalidValueError, match="200 comparisons") as excinfo:
            nbtrack.search_runs(filter=joiner.join(["metrics.a > 1"] * count))
        assert "IN (" in str(excinfo.value)  # the way to test many values of one key
        assert len(str(excinfo.value)) < 500


def test_a_filter_and_order_by_at_every_limit_still_run(store_path: Path) -> None:
    run_id = _logged_run(store_path)
    terms = ["metrics.a > 1", "params.p = '1'", "tags.t IS NULL", "status = 'FINISHED'"] * 50
    nested = "(" * 99 + " or ".join(terms) + ")" * 99
    order_by = [f"params.p{i} DESC" for i in range(20)]  # each key once, as order_by takes

    found = nbtrack.search_runs(filter=nested, order_by=order_by)

    assert found["run_id"].tolist() == [run_id]


def test_order_by_more_than_20_items_raises_naming_the_limit(store_path: Path) -> None:
    _logged_run(store_path)
    for order_by in (["params.p"] * 21, ", ".join(["metrics.a DESC"] * 1000)):
        with pytest.raises(nbtrack.InvalidValueError, match="20 items") as excinfo:
            nbtrack.search_runs(order_by=order_by)
        assert len(str(excinfo.value)) < 500


@pytest.mark.parametrize(
    "text",
    ["metrics.a > 1e400", "metrics.a < -1e400", "params.p in (1, 1e999)"],
    ids=["big", "negative", "in"],
)
def test_a_number_beyond_float64_in_a_filter_raises_instead_of_becoming_inf(
    store_path: Path, text: str
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="float64"):
        nbtrack.search_runs(filter=text)
    nbtrack.search_runs(filter="metrics.a < inf and metrics.a > -Infinity")


@pytest.mark.parametrize(
    "search",
    [
        {"filter": "params.p = 'a\ud800'"},
        {"filter": "params.`a\ud800` = 'x'"},
        {"order_by": "params.`a\ud800`"},
    ],
    ids=["filter-value", "filter-key", "order-by"],
)
def test_a_filter_or_order_by_with_invalid_unicode_raises(
    store_path: Path, search: dict[str, str]
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="unicode"):
        nbtrack.search_runs(**search)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "search",
    [
        {"experiment": 5},
        {"experiment": [["Default"]]},
        {"experiment": "lone \ud800 surrogate"},
        {"max_results": 10**30},
        {"max_results": 2.0},
    ],
    ids=repr,
)
def test_search_runs_with_an_experiment_or_max_results_of_the_wrong_kind_raises(
    store_path: Path, search: dict[str, object]
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=next(iter(search))):
        nbtrack.search_runs(**search)  # type: ignore[arg-type]


def test_search_runs_takes_a_numpy_int_as_max_results(store_path: Path) -> None:
    np = pytest.importorskip("numpy")
    _logged_run(store_path)
    _logged_run(store_path)

    assert len(nbtrack.search_runs(max_results=np.int64(1))) == 1
