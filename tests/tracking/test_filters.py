"""What a user gets from a filter or order_by string: the right runs, or one clear error.

The grammar is tested with plain asserts on what it compiles to; the meaning is tested by
running the SQL over a real in-memory DuckDB holding nbtrack's own schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import duckdb
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.store.filter_sql import SqlFragment
from nbtrack.store.schema import schema_sql
from nbtrack.tracking.filters import compile_filter, compile_order_by

T0 = 1_700_000_000_000  # milliseconds since the epoch, as a user writes times in a filter
TRICKY = "x' OR '1'='1"

# run name -> (status, start ms, end ms, user, parent, experiment)
RUNS: dict[str, tuple[str, int, int | None, str | None, str | None, str]] = {
    "alpha": ("FINISHED", T0, T0 + 60_000, "ana", None, "0"),
    "beta": ("FAILED", T0 + 1_000_000, T0 + 1_060_000, "bo", None, "0"),
    "gamma": ("RUNNING", T0 + 2_000_000, None, "ana", "id-alpha", "0"),
    "delta": ("FINISHED", T0 + 3_000_000, T0 + 3_060_000, None, None, "1"),
    "it's": ("KILLED", T0 + 4_000_000, T0 + 4_060_000, "eve", None, "0"),
}
PARAMS: dict[str, dict[str, object]] = {
    "alpha": {"lr": 0.1, "optimizer": "adam", "depth": 10, "early_stop": True, "model.depth": 5},
    "beta": {"lr": 0.01, "optimizer": "sgd", "depth": 9, "early_stop": False},
    "gamma": {"lr": "0.5", "optimizer": "Adam", "depth": "deep", "layers": [1, 2]},
    "it's": {"my key": "x", "lr": math.nan},
}
METRICS: dict[str, dict[str, float]] = {
    "alpha": {"acc": 0.9, "loss": 0.2, "val/acc": 0.85},
    "beta": {"acc": 0.95, "loss": math.nan},
    "gamma": {"acc": 0.5, "loss": 1.5, "my key": 1.0},
    "it's": {"acc": math.inf},
}
TAGS: dict[str, dict[str, str]] = {
    "alpha": {"team": "vision", "mlflow.note": "first"},
    "beta": {"team": "nlp"},
    "gamma": {"team": "Vision", "it's": "quoted"},
    "it's": {"team": TRICKY},
}
ALL = ["alpha", "beta", "delta", "gamma", "it's"]  # every run, in run_name order


def _param_text(value: object) -> str:
    """The text nbtrack stores for a param, as MLflow shows it."""
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, list) else str(value)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory store with nbtrack's schema and the five runs above."""
    connection = duckdb.connect()
    connection.execute(schema_sql())
    for name, (status, start, end, user, parent, experiment) in RUNS.items():
        # 500 µs past the millisecond: filters compare whole milliseconds, as MLflow stores them
        start_us = start * 1000 + (500 if name == "it's" else 0)
        connection.execute(
            "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, end_time, "
            "last_seen, parent_run_id, source_name, git_commit, user_id, artifact_uri) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f"id-{name}",
                experiment,
                name,
                status,
                start_us,
                None if end is None else end * 1000,
                start_us,
                parent,
                "train.ipynb" if name == "alpha" else None,
                "abc123" if name == "alpha" else "def456",
                user,
                f"nbtrack-artifacts/{experiment}/id-{name}",
            ],
        )
    for name, params in PARAMS.items():
        for key, value in params.items():
            connection.execute(
                "INSERT INTO params VALUES (?, ?, ?, ?, json_type(?), 0)",
                [f"id-{name}", key, _param_text(value), json.dumps(value), json.dumps(value)],
            )
    for name, metrics in METRICS.items():
        for key, number in metrics.items():
            connection.execute(
                "INSERT INTO latest_metrics VALUES (?, ?, ?, 0, 0, 1, ?, ?, 1, 1)",
                [f"id-{name}", key, number, number, number],
            )
    for name, tags in TAGS.items():
        for key, text in tags.items():
            connection.execute("INSERT INTO tags VALUES (?, ?, ?, 0)", [f"id-{name}", key, text])
    yield connection
    connection.close()


def _runs(
    con: duckdb.DuckDBPyConnection,
    filter_text: str | None,
    order_by: str | list[str] | None = "run_name",
) -> list[str]:
    """Run names matching the filter, the way search_runs puts the two fragments together."""
    where = compile_filter(filter_text)
    order = compile_order_by(order_by)
    rows = con.execute(
        f"SELECT r.run_name FROM runs r WHERE {where.sql} ORDER BY {order.sql}",
        where.params + order.params,
    ).fetchall()
    return [name for (name,) in rows]


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    return {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        for table in sorted(tables)
    }


def _error(text: str) -> str:
    with pytest.raises(InvalidValueError) as caught:
        compile_filter(text)
    return str(caught.value)


# -- the grammar ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_an_empty_filter_matches_every_run(text: str | None) -> None:
    assert compile_filter(text) == SqlFragment("TRUE", [])


def test_and_binds_tighter_than_or() -> None:
    got = compile_filter("status = 'A' or status = 'B' and run_name = 'C'")

    assert got.sql == (
        "(COALESCE(r.status = ?, FALSE) OR "
        "(COALESCE(r.status = ?, FALSE) AND COALESCE(r.run_name = ?, FALSE)))"
    )
    assert got.params == ["A", "B", "C"]


def test_parentheses_and_not_group_as_written() -> None:
    got = compile_filter("not (status = 'A' or status = 'B') and run_name = 'C'")

    assert got.sql == (
        "((NOT (COALESCE(r.status = ?, FALSE) OR COALESCE(r.status = ?, FALSE))) "
        "AND COALESCE(r.run_name = ?, FALSE))"
    )


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        (
            "status = 'A' AND run_name = 'b' Or run_id = 'c'",
            "status = 'A' and run_name = 'b' or run_id = 'c'",
        ),
        ("NOT status = 'A'", "not status = 'A'"),
        ("params.x In ('a')", "params.x in ('a')"),
        ("params.x Not In ('a')", "params.x NOT IN ('a')"),
        ("params.x Is Not Null", "params.x IS NOT NULL"),
        ("params.x like 'a%'", "params.x LIKE 'a%'"),
        ("params.x IlIkE 'a%'", "params.x ILIKE 'a%'"),
        ("Metrics.acc > 1", "metrics.acc > 1"),
        ("STATUS = 'A'", "attributes.status = 'A'"),
        ("Attributes.Start_Time > 1", "start_time > 1"),
        ("metrics.acc = NAN", "metrics.acc = nan"),
        ("metrics.acc = -INF", "metrics.acc = -inf"),
    ],
)
def test_keywords_and_entity_names_are_case_insensitive(text: str, same_as: str) -> None:
    got, expected = compile_filter(text), compile_filter(same_as)

    assert got.sql == expected.sql
    assert repr(got.params) == repr(expected.params)  # repr: NaN is never == NaN


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("metric.acc > 1", "metrics.acc > 1"),
        ("param.lr = '1'", "params.lr = '1'"),
        ("tag.team = 'x'", "tags.team = 'x'"),
        ("attribute.status = 'x'", "attributes.status = 'x'"),
        ("attr.status = 'x'", "attributes.status = 'x'"),
        ("status = 'x'", "attributes.status = 'x'"),
        ("attributes.user = 'x'", "attributes.user_id = 'x'"),
        ("metrics.acc == 1", "metrics.acc = 1"),
        ("metrics.acc <> 1", "metrics.acc != 1"),
        ('params.opt = "adam"', "params.opt = 'adam'"),
        ("metrics.acc>1", "metrics.acc > 1"),
        ("metrics.`acc` > 1", "metrics.acc > 1"),
        ('metrics."acc" > 1', "metrics.acc > 1"),
        ("run.status = 'x'", "attributes.status = 'x'"),
        ("`metric`.acc > 1", "metrics.acc > 1"),
        ("`tags`.team = 'x'", "tags.team = 'x'"),
        ("`params`.`my key` = 'x'", "params.`my key` = 'x'"),
        ("parameter.lr = '1'", "params.lr = '1'"),
        ("parameters.lr = '1'", "params.lr = '1'"),
        ("attributes.created > 1", "attributes.start_time > 1"),
        ("attributes.Created > 1", "attributes.start_time > 1"),
        ("created > 1", "start_time > 1"),
        ("attributes.`Run name` = 'x'", "run_name = 'x'"),
        ("attributes.`Run Name` = 'x'", "run_name = 'x'"),
        ("attributes.`run NAME` = 'x'", "run_name = 'x'"),
        ("`Run name` = 'x'", "run_name = 'x'"),
        ("\"status\" = 'x'", "status = 'x'"),
        ("user_id = 'x'", "attributes.user_id = 'x'"),
        ("artifact_uri LIKE '%x'", "attributes.artifact_uri LIKE '%x'"),
        ("tags.mlflow.runName = 'x'", "run_name = 'x'"),
        ("tags.`mlflow.runName` != 'x'", "run_name != 'x'"),
    ],
)
def test_each_spelling_mlflow_accepts_means_the_same(text: str, same_as: str) -> None:
    assert compile_filter(text) == compile_filter(same_as)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.val/acc > 1", "val/acc"),
        ("params.model.depth = '3'", "model.depth"),
        ("metrics.val-loss < 1", "val-loss"),
        ("tags.mlflow.source:name = 'x'", "mlflow.source:name"),
        ("metrics.`my key` > 1", "my key"),
        ('metrics."my key" > 1', "my key"),
        ("metrics.`a``b` > 1", "a`b"),
        ('metrics."a""b" > 1', 'a"b'),
        ("params.`x'; DROP TABLE runs; --` = 'a'", "x'; DROP TABLE runs; --"),
        ("params.précision = 'a'", "précision"),
    ],
)
def test_keys_may_hold_dots_slashes_dashes_or_be_quoted(text: str, key: str) -> None:
    assert compile_filter(text).params[0] == key


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.x = 'it''s'", "it's"),
        ('params.x = "say ""hi"""', 'say "hi"'),
        ("params.x = ''", ""),
        ("params.x = '--; DROP TABLE runs'", "--; DROP TABLE runs"),
        ("metrics.x > -1", -1.0),
        ("metrics.x > +2.5", 2.5),
        ("metrics.x > 1e-3", 0.001),
        ("metrics.x > -2.5E+3", -2500.0),
        ("metrics.x > .5", 0.5),
        ("metrics.x = inf", math.inf),
        ("metrics.x = -Infinity", -math.inf),
    ],
)
def test_values_are_quoted_text_or_numbers(text: str, value: object) -> None:
    assert compile_filter(text).params[1] == value


@pytest.mark.parametrize(
    "text",
    [
        "params.`ZQ'; DROP TABLE runs; --` = 'ZQ'' OR 1=1 --'",
        'tags."ZQ\' OR \'1\'=\'1" = "ZQ"" OR 1=1"',
        "run_name LIKE 'ZQ%' or run_id IN ('ZQ1', 'ZQ2') and status != 'ZQ?'",
        "metrics.`ZQ?` > 1 or not params.ZQ IS NULL or tags.ZQ NOT ILIKE '%ZQ%'",
        "params.ZQ > 0.5 and attributes.start_time > 1 and end_time IS NOT NULL",
    ],
)
def test_user_keys_and_values_never_reach_the_sql_text(text: str) -> None:
    got = compile_filter(text)

    assert "zq" not in got.sql.lower()
    assert not any(char in got.sql for char in "'\"`;")
    assert "--" not in got.sql
    assert got.sql.count("?") == len(got.params)
    assert any("ZQ" in str(param) for param in got.params)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("metrics.acc > 0.9 and", 22, "expected a key, found the end"),
        ("metrics.acc", 12, "expected an operator after 'metrics.acc'"),
        ("metrics.acc >", 14, "expected a value"),
        ("metrics.acc >> 1", 14, "expected a value"),
        ("metrics. > 1", 1, "empty key after 'metrics.'"),
        ("metrics.`` > 1", 1, "empty key after 'metrics.'"),
        ("run_name = 'abc", 12, "unterminated '...': add the closing '"),
        ("metrics.`abc > 1", 9, "unterminated `"),
        ("metrics.acc > 1 metrics.b < 2", 17, "expected 'and', 'or' or the end"),
        ("metrics.acc > 1)", 16, "expected 'and', 'or' or the end"),
        ("(metrics.acc > 1", 17, "expected ')', found the end"),
        ("()", 2, "expected a key"),
        (";", 1, "';' is not accepted"),
        ("status = 'a';", 13, "';' is not accepted"),
        ("status = 'a' -- why not", 14, "comments are not part of the syntax"),
        ("status = 'a' /* c */", 14, "comments are not part of the syntax"),
        ("1=1", 1, "expected a key, found '1'"),
        ("'a' = 'a'", 1, "expected a key, found \"'a'\""),
        ("status = 'a' and 1 = 1", 18, "expected a key, found '1'"),
        ("and status = 'a'", 1, "expected a key, found 'and'"),
        ("status = 'a' and or run_name = 'b'", 18, "expected a key, found 'or'"),
        ("not", 4, "expected a key, found the end"),
        ("metrics.acc > 1abc", 15, "malformed number"),
        ("metrics.acc > 1.2.3", 15, "malformed number"),
        ("metrics.acc > - 1", 15, "unexpected '-'"),
        ("run_name = ?", 12, "unexpected '?'"),
        ("run_name = $$x$$", 12, "unexpected '$'"),
        ("params.x = adam", 12, "unquoted text 'adam': put text in single quotes"),
        ("params.x = True", 12, "unquoted text 'True'"),
        ("params.x = `adam`", 12, "backticks quote keys"),
        ("params.x = NULL", 12, "IS NULL or IS NOT NULL"),
        ("params.x IS 'a'", 13, "expected NULL"),
        ("params.x NOT = 'a'", 14, "expected IN, LIKE or ILIKE after NOT"),
        ("params.x IN 'a'", 13, "expected '(' after IN"),
        ("params.x IN ()", 14, "expected a value"),
        ("params.x IN ('a' 'b')", 18, "expected ',' or ')'"),
        ("params.x IN ('a', 1)", 19, "either quoted texts or numbers, not both"),
        ("params.x LIKE 5", 15, "LIKE takes a quoted pattern"),
        ("metrics.acc LIKE '0.9%'", 13, "LIKE takes a quoted pattern and works on text"),
        ("metrics.acc > '0.9'", 15, "'metrics.acc' is a number: compare it with a number"),
        ("metrics.acc IN (1, '2')", 20, "'metrics.acc' is a number"),
        ("start_time > '2024-01-01'", 14, "milliseconds since the epoch"),
        ("tags.team = 5", 13, "'tags.team' is text: quote the value, e.g. tags.team = '5'"),
        ("status = 1", 10, "'status' is text"),
        ("metrics.acc > NaN", 13, "NaN is neither smaller nor larger"),
        ("params.depth > '5'", 14, "> compares numbers, not the text '5': compare it with an"),
        ("tags.team <= 'a'", 11, "<= compares numbers, not the text 'a': text compares with ="),
        ("run_name >= 'a'", 10, ">= compares numbers"),
        ("datasets.name = 'x'", 1, "nbtrack does not record dataset inputs"),
        ("`dataset`.name = 'x'", 1, "nbtrack does not record dataset inputs"),
        ('"metrics".acc > 1', 10, "unexpected '.'"),
        ("params.lr <= nan", 11, "NaN is neither smaller nor larger"),
        ("tags.`x` = 'a' OR 1=1 --", 23, "comments are not part of the syntax"),
        ("tags.`x` = 'a' OR 1=1", 19, "expected a key, found '1'"),
    ],
)
def test_a_syntax_error_names_its_position_and_points_at_it(
    text: str, position: int, message: str
) -> None:
    error = _error(text)

    headline, shown, caret = error.split("\n")
    assert headline.startswith(f"invalid filter at position {position}: ")
    assert message in headline
    assert shown == "  " + text
    assert caret == " " * (position + 1) + "^"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("foo.bar = 1", ["unknown entity 'foo' in 'foo.bar'", "metrics.", "params.", "tags."]),
        ("metricz.acc > 1", ["unknown entity 'metricz'", "attributes."]),
        ("attributes.colour = 'red'", ["unknown attribute 'colour'", "status", "run_name"]),
        ("attributes.`status; DROP TABLE runs` = 'x'", ["unknown attribute 'status; DROP"]),
        ("acc > 0.9", ["unknown attribute 'acc'", "metrics.acc", "params.acc", "tags.acc"]),
        ("user = 'ana'", ["unknown attribute 'user'", "status, run_name, run_id"]),
    ],
)
def test_an_unknown_entity_or_attribute_is_named_with_what_is_valid(
    text: str, names: list[str]
) -> None:
    error = _error(text)

    for name in names:
        assert name in error


def test_an_error_deep_in_a_long_filter_shows_the_text_around_it() -> None:
    text = " and ".join(f"metrics.m{i} > {i}" for i in range(30)) + " and metrics.x >"

    headline, shown, caret = _error(text).split("\n")

    assert headline.startswith(f"invalid filter at position {len(text) + 1}:")
    assert shown.startswith("  ...")
    assert shown.endswith("metrics.x >")
    assert len(caret) == len(shown) + 1


def test_a_caret_stays_under_the_culprit_in_a_filter_over_several_lines() -> None:
    text = "metrics.acc > 0.9\n\tand params.lr = adam"

    _, shown, caret = _error(text).split("\n")

    assert shown[caret.index("^") :].startswith("adam")


def test_deep_nesting_is_refused_before_it_exhausts_the_stack() -> None:
    assert compile_filter("(" * 50 + "status = 'A'" + ")" * 50).params == ["A"]
    assert "nested deeper than 100" in _error("(" * 200 + "status = 'A'" + ")" * 200)
    assert "nested deeper than 100" in _error("not " * 200 + "status = 'A'")


@pytest.mark.parametrize("value", [5, b"status = 'a'", ["status = 'a'"]])
def test_a_filter_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="a filter is a string"):
        compile_filter(value)  # type: ignore[arg-type]


# -- order_by, compiled -----------------------------------------------------------------------


def test_one_key_may_be_ordered_by_as_a_metric_a_param_and_a_tag() -> None:
    assert compile_order_by(["params.a", "metrics.a", "tags.a"]).params == ["a", "a", "a", "a"]


@pytest.mark.parametrize("items", [None, [], "", "  ", ()])
def test_no_order_by_means_newest_first(items: str | list[str] | None) -> None:
    assert compile_order_by(items) == SqlFragment("r.start_time DESC, r.run_id", [])


def test_order_by_keys_are_bound_and_ties_fall_back_to_newest_then_run_id() -> None:
    got = compile_order_by(["metrics.`a'; DROP` DESC", "tags.team"])

    assert got.params == ["a'; DROP", "team"]
    assert "DROP" not in got.sql
    assert got.sql.count("?") == 2
    assert got.sql.endswith("r.start_time DESC, r.run_id")


def test_ordering_by_start_time_yourself_keeps_your_direction() -> None:
    assert compile_order_by("attributes.start_time") == SqlFragment(
        "r.start_time ASC NULLS LAST, r.run_id", []
    )


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("metrics.acc DOWN", "order_by item 'metrics.acc DOWN' at position 13: expected ASC"),
        ("acc DESC", "unknown attribute 'acc'"),
        ("metrics.acc DESC; DROP TABLE runs", "';' is not accepted"),
        ("metrics.acc DESC NULLS FIRST", "expected ASC, DESC, ',' or the end"),
        ("metrics.acc DESC,", "expected a key, found the end"),
        ("foo.acc", "unknown entity 'foo'"),
        (["metrics.acc", "metrics.acc DESC"], "order_by names 'metrics.acc' twice"),
        ("status, status DESC", "order_by names 'status' twice"),
        (["start_time", "attributes.created DESC"], "'attributes.created' twice"),
        (["run_name", "tags.mlflow.runName"], "'tags.mlflow.runName' twice"),
        (["metrics.acc", ""], "order_by item '' is not accepted: use '<entity>.<key> [ASC|DESC]'"),
        (["metrics.acc", None], "order_by item None is not accepted"),
        (5, "order_by is a list of strings like 'metrics.acc DESC', got 5"),
    ],
)
def test_a_bad_order_by_item_is_named_with_what_is_accepted(items: object, message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        compile_order_by(items)  # type: ignore[arg-type]

    assert message in str(caught.value)


# -- filters over a real store ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc > 0.8", ["alpha", "beta", "it's"]),
        ("metrics.acc >= 0.95", ["beta", "it's"]),
        ("metrics.acc < 0.9", ["gamma"]),
        ("metrics.acc <= 0.9", ["alpha", "gamma"]),
        ("metrics.acc = 0.9", ["alpha"]),
        ("metrics.acc != 0.9", ["beta", "gamma", "it's"]),
        ("metrics.acc = inf", ["it's"]),
        ("metrics.acc > 1e-1", ["alpha", "beta", "gamma", "it's"]),
        ("metric.acc > -inf", ["alpha", "beta", "gamma", "it's"]),
        ("metrics.acc IN (0.9, 0.5)", ["alpha", "gamma"]),
        ("metrics.acc NOT IN (0.9, 0.5)", ["beta", "it's"]),
        ("metrics.val/acc > 0.8", ["alpha"]),
        ("metrics.`my key` = 1", ["gamma"]),
        ('metrics."my key" >= 1', ["gamma"]),
        ("metrics.missing > 0", []),
    ],
)
def test_metrics_compare_numerically_with_their_latest_value(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.loss > 0", ["alpha", "gamma"]),
        ("metrics.loss < 1", ["alpha"]),
        ("metrics.loss <= inf", ["alpha", "gamma"]),
        ("metrics.loss = NaN", ["beta"]),
        ("metrics.loss != nan", ["alpha", "gamma"]),
        ("metrics.loss IN (NaN, 0.2)", ["alpha", "beta"]),
        ("metrics.loss IS NULL", ["delta", "it's"]),
        ("metrics.loss IS NOT NULL", ["alpha", "beta", "gamma"]),
    ],
)
def test_a_nan_metric_is_neither_small_nor_large_but_equals_nan(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.lr = '0.1'", ["alpha"]),
        ("params.lr = '0.5'", ["gamma"]),
        ("params.lr = 0.1", ["alpha"]),
        ("params.lr > 0.05", ["alpha", "gamma"]),
        ("params.lr = 0.5", ["gamma"]),
        ("params.lr < 1", ["alpha", "beta", "gamma"]),
        ("params.lr != 0.1", ["beta", "gamma", "it's"]),
        ("params.lr != '0.1'", ["beta", "gamma", "it's"]),
        ("params.lr = NaN", ["it's"]),
        ("params.depth >= 10", ["alpha"]),
        ("params.depth > 0", ["alpha", "beta"]),
        ("params.depth IN (9, 10)", ["alpha", "beta"]),
        ("params.depth NOT IN (9)", ["alpha"]),
        ("params.early_stop = 'True'", ["alpha"]),
        ("params.early_stop = 1", []),
        ("params.model.depth = 5", ["alpha"]),
        ("params.layers = '[1, 2]'", ["gamma"]),
        ("params.layers > 0", []),
        ("param.`my key` = 'x'", ["it's"]),
    ],
)
def test_params_compare_as_text_and_unquoted_numbers_match_values_that_read_as_numbers(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.optimizer = 'adam'", ["alpha"]),
        ('params.optimizer = "adam"', ["alpha"]),
        ("params.optimizer LIKE 'a%'", ["alpha"]),
        ("params.optimizer ILIKE 'a%'", ["alpha", "gamma"]),
        ("params.optimizer NOT LIKE 'a%'", ["beta", "gamma"]),
        ("params.optimizer NOT ILIKE 'A%'", ["beta"]),
        ("params.optimizer IN ('adam', 'sgd')", ["alpha", "beta"]),
        ("params.optimizer NOT IN ('adam', 'sgd')", ["gamma"]),
        ("params.optimizer IS NULL", ["delta", "it's"]),
        ("params.optimizer IS NOT NULL", ["alpha", "beta", "gamma"]),
        ("tags.team = 'vision'", ["alpha"]),
        ("tags.team ILIKE 'vision'", ["alpha", "gamma"]),
        ("tags.team != 'nlp'", ["alpha", "gamma", "it's"]),
        ("tags.mlflow.note = 'first'", ["alpha"]),
        ("tags.`it's` = 'quoted'", ["gamma"]),
        ("tag.team IS NOT NULL", ["alpha", "beta", "gamma", "it's"]),
        ("tags.team LIKE '%''%'", ["it's"]),
    ],
)
def test_text_comparisons_like_in_and_is_null_on_params_and_tags(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.status = 'FINISHED'", ["alpha", "delta"]),
        ("status != 'FINISHED'", ["beta", "gamma", "it's"]),
        ("attr.status IN ('FAILED', 'KILLED')", ["beta", "it's"]),
        ("run_name = 'it''s'", ["it's"]),
        ("run_name LIKE '%a'", ["alpha", "beta", "delta", "gamma"]),
        ("run_id = 'id-beta'", ["beta"]),
        (f"start_time >= {T0 + 2_000_000}", ["delta", "gamma", "it's"]),
        (f"start_time = {T0 + 4_000_000}", ["it's"]),
        (f"attributes.start_time < {T0 + 1_000_000}", ["alpha"]),
        ("end_time IS NULL", ["gamma"]),
        ("attributes.end_time > 0", ["alpha", "beta", "delta", "it's"]),
        ("attributes.user = 'ana'", ["alpha", "gamma"]),
        ("attributes.user_id != 'ana'", ["beta", "it's"]),
        ("attributes.parent_run_id = 'id-alpha'", ["gamma"]),
        ("attributes.parent_run_id IS NULL", ["alpha", "beta", "delta", "it's"]),
        ("attributes.experiment_id = '1'", ["delta"]),
        ("attributes.source_name = 'train.ipynb'", ["alpha"]),
        ("attributes.git_commit LIKE 'abc%'", ["alpha"]),
        (f"created >= {T0 + 2_000_000}", ["delta", "gamma", "it's"]),
        ("attributes.`Run name` = 'beta'", ["beta"]),
        ("tags.mlflow.runName = 'beta'", ["beta"]),
        ("tags.`mlflow.runName` IN ('alpha', 'it''s')", ["alpha", "it's"]),
        ("tags.mlflow.runName IS NULL", []),
        ("tags.mlflow.runName IS NOT NULL", ALL),
        ("attributes.artifact_uri = 'nbtrack-artifacts/1/id-delta'", ["delta"]),
        ("artifact_uri LIKE '%/id-b%'", ["beta"]),
    ],
)
def test_attributes_compare_with_the_run_itself_and_times_in_milliseconds(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc > 0.9 or params.optimizer = 'adam'", ["alpha", "beta", "it's"]),
        (
            "params.optimizer = 'sgd' or params.optimizer = 'adam' and metrics.acc < 0.95",
            ["alpha", "beta"],
        ),
        (
            "(params.optimizer = 'sgd' or params.optimizer = 'adam') and metrics.acc < 0.95",
            ["alpha"],
        ),
        ("metrics.acc > 0.8 AND tags.team = 'nlp' Or run_name = 'gamma'", ["beta", "gamma"]),
        ("not params.optimizer = 'adam'", ["beta", "delta", "gamma", "it's"]),
        ("not (status = 'FINISHED' or status = 'FAILED')", ["gamma", "it's"]),
        ("NOT end_time > 0", ["gamma"]),
        ("not not status = 'RUNNING'", ["gamma"]),
        ("((metrics.acc > 0.8))", ["alpha", "beta", "it's"]),
        ("status = 'FINISHED' and (metrics.acc > 0.5 or metrics.acc IS NULL)", ["alpha", "delta"]),
    ],
)
def test_and_or_not_and_parentheses_combine_conditions(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str]
) -> None:
    assert _runs(con, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "params.optimizer = 'adam'",
        "params.lr > 0.05",
        "metrics.loss > 0",
        "attributes.end_time > 0",
        "attributes.user != 'ana'",
        "tags.team IS NULL",
        "run_name NOT LIKE 'a%'",
    ],
)
def test_not_matches_exactly_the_runs_the_condition_does_not(
    con: duckdb.DuckDBPyConnection, text: str
) -> None:
    matched = _runs(con, text)
    negated = _runs(con, f"not ({text})")

    assert sorted(matched + negated) == sorted(ALL)
    assert not set(matched) & set(negated)


# -- order_by over a real store ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["it's", "delta", "gamma", "beta", "alpha"]),
        ("start_time", ["alpha", "beta", "gamma", "delta", "it's"]),
        ("metrics.acc DESC", ["it's", "beta", "alpha", "gamma", "delta"]),
        ("metrics.acc", ["gamma", "alpha", "beta", "it's", "delta"]),
        ("metrics.loss", ["alpha", "gamma", "beta", "it's", "delta"]),
        ("metrics.loss DESC", ["gamma", "alpha", "beta", "it's", "delta"]),
        ("params.depth", ["beta", "alpha", "gamma", "it's", "delta"]),
        ("params.depth DESC", ["alpha", "beta", "gamma", "it's", "delta"]),
        ("params.optimizer asc", ["gamma", "alpha", "beta", "it's", "delta"]),
        ("tags.team", ["gamma", "beta", "alpha", "it's", "delta"]),
        ("run_name DESC", ["it's", "gamma", "delta", "beta", "alpha"]),
        ("tags.mlflow.runName DESC", ["it's", "gamma", "delta", "beta", "alpha"]),
        ("attributes.created", ["alpha", "beta", "gamma", "delta", "it's"]),
        ("attributes.experiment_id", ["it's", "gamma", "beta", "alpha", "delta"]),
        (["attributes.status", "metrics.acc DESC"], ["beta", "alpha", "delta", "it's", "gamma"]),
        ("status, run_name DESC", ["beta", "delta", "alpha", "it's", "gamma"]),
    ],
)
def test_order_by_sorts_nan_after_the_numbers_and_missing_values_last(
    con: duckdb.DuckDBPyConnection, order_by: str | list[str] | None, expected: list[str]
) -> None:
    assert _runs(con, None, order_by) == expected


def test_filter_and_order_by_bind_their_parameters_together(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert _runs(con, "tags.team IS NOT NULL and metrics.acc < inf", ["metrics.acc DESC"]) == [
        "beta",
        "alpha",
        "gamma",
    ]


# -- hostile input ----------------------------------------------------------------------------

REJECTED = None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run_name = 'a' OR 1=1 --", REJECTED),
        ("run_name = 'a' OR 1=1", REJECTED),
        ("params.x = 'a'; DROP TABLE runs", REJECTED),
        ("params.x = 'a'\n; DROP TABLE runs", REJECTED),
        ("status = 'FINISHED') OR (1=1", REJECTED),
        ("metrics.acc > 0 UNION SELECT run_id FROM runs", REJECTED),
        ("metrics.acc > 0 OR run_id IN (SELECT run_id FROM runs)", REJECTED),
        ("run_name LIKE '%' ESCAPE '\\'", REJECTED),
        ("params.x = '\\' OR 1=1 --'", REJECTED),
        ("params.x;y = 'a'", REJECTED),
        ("run_name = ?", REJECTED),
        ("attributes.`status; DROP TABLE runs` = 'x'", REJECTED),
        ("tags.\"x' OR '1'='1\" = 'y'", []),
        (f"tags.team = '{TRICKY.replace(chr(39), chr(39) * 2)}'", ["it's"]),
        ("tags.team = 'x'' OR ''1''=''1' OR run_name = 'beta'", ["beta", "it's"]),
        ("tags.team = \"x' OR '1'='1\"", ["it's"]),
        ('tags.team = "x"" OR 1=1 --"', []),
        ("params.`x; DROP TABLE runs` = 'a'", []),
        ("params.`x'); DROP TABLE runs;--` IS NULL", ALL),
        ("run_name = '?'", []),
        ("run_name = 'it''s' -- '", REJECTED),
        ("run_name = 'it''s'", ["it's"]),
    ],
)
def test_injection_attempts_are_refused_or_match_literally_and_leave_the_store_intact(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[str] | None
) -> None:
    before = _table_counts(con)

    if expected is REJECTED:
        with pytest.raises(InvalidValueError):
            _runs(con, text)
    else:
        assert _runs(con, text) == expected

    assert _table_counts(con) == before
    assert before["runs"] == len(RUNS)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("metrics.acc DESC; DROP TABLE runs", REJECTED),
        ("run_name, (SELECT 1)", REJECTED),
        ("metrics.acc -- DESC", REJECTED),
        (["metrics.`acc; DROP TABLE runs` DESC"], ["it's", "delta", "gamma", "beta", "alpha"]),
    ],
)
def test_hostile_order_by_items_are_refused_or_bound(
    con: duckdb.DuckDBPyConnection, order_by: str | list[str], expected: list[str] | None
) -> None:
    before = _table_counts(con)

    if expected is REJECTED:
        with pytest.raises(InvalidValueError):
            _runs(con, None, order_by)
    else:
        assert _runs(con, None, order_by) == expected

    assert _table_counts(con) == before
