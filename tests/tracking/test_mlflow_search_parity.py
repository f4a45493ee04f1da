"""MLflow's own search tests, asked of nbtrack and of MLflow 3 holding the same runs.

The cases come from MLflow's ``tests/utils/test_search_utils.py`` and the search tests of
``tests/store/tracking/test_sqlalchemy_store.py`` (each names its test), a few from what
MLflow's code says of NaN, and a few more on nbtrack's extensions; the runs they search are in
``mlflow_parity_worlds.py``. A case's answer is the runs' names in order, or REFUSED
when the filter or order_by is refused. Each case says what MLflow answers:

- ``SAME``: nbtrack answers as MLflow does.
- ``DELIBERATE``: nbtrack answers otherwise on purpose, for the reason given; the README's
  "nbtrack and MLflow" section lists these.

Every case is checked against nbtrack; where MLflow is installed, MLflow's answer is checked
too, on its own SQLite store, so a case whose answer MLflow changes fails here.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tracking.mlflow_parity_worlds import (
    REFUSED,
    SCENARIOS,
    Answer,
    World,
    mlflow_world,
    nbtrack_world,
)

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


@dataclass(frozen=True)
class Case:
    source: str  # the MLflow test it comes from
    scenarios: tuple[str, ...]
    filter: str | None = None  # a template: {id[name]}, {start[name]}, {uri[name]}, ...
    order_by: tuple[str, ...] = ()
    max_results: int | None = None
    all_runs: bool = False
    answer: Answer = ()  # MLflow's, and nbtrack's too unless deliberately different
    nbtrack: Answer | None = None  # nbtrack's answer where it differs on purpose
    reason: str = ""

    def ask(self, world: World) -> Answer:
        text = None if self.filter is None else self.filter.format_map(world.values())
        return world.search(self.scenarios, text, self.order_by, self.max_results, self.all_runs)

    @property
    def name(self) -> str:
        shown = " | ".join(part for part in (self.filter, ", ".join(self.order_by)) if part) or "-"
        return f"{self.source}: {shown}"


def _case(
    source: str,
    scenarios: str | tuple[str, ...],
    filter: str | None,
    order_by: tuple[str, ...] = (),
    *,
    max_results: int | None = None,
    all_runs: bool = False,
    answer: Answer,
    nbtrack: Answer | None = None,
    reason: str = "",
) -> Case:
    scenarios = (scenarios,) if isinstance(scenarios, str) else scenarios
    return Case(source, scenarios, filter, order_by, max_results, all_runs, answer, nbtrack, reason)


def _filters(
    source: str, scenarios: str | tuple[str, ...], cases: list[tuple[str | None, Answer]]
) -> list[Case]:
    return [_case(source, scenarios, text, answer=answer) for text, answer in cases]


def _orders(
    source: str, scenarios: str | tuple[str, ...], cases: list[tuple[tuple[str, ...], Answer]]
) -> list[Case]:
    return [_case(source, scenarios, None, order_by, answer=answer) for order_by, answer in cases]


U = "test_search_utils.py::"
S = "test_sqlalchemy_store.py::"
A = ("attrs_1", "attrs_2")

# Why nbtrack answers otherwise: each is in the README's "nbtrack and MLflow" section.
OR_REASON = (
    "or, not (also NOT LIKE, NOT ILIKE) and parentheses are nbtrack's documented extension; "
    "MLflow joins conditions with and only"
)
NULL_REASON = "IS NULL / IS NOT NULL on metrics and attributes is an nbtrack extension"
NUMPARAM_REASON = (
    "an unquoted number compares a param by the number its text reads as: an nbtrack "
    "extension (MLflow compares params as text only)"
)
ATTR_REASON = (
    "nbtrack's own attributes (experiment_id, source_name, git_commit, parent_run_id) can be "
    "searched and ordered by"
)
DATASET_REASON = (
    "nbtrack records no dataset inputs: a dataset filter is refused rather than matching no run"
)
SPACE_REASON = "whitespace around an order_by item is ignored"
IN_REASON = "IN / NOT IN work on every key in nbtrack (MLflow: run_id only)"
SPELL_REASON = "nbtrack also takes == and <>, and entity and attribute names in any case"
NAN_REASON = "NaN, inf and -inf are values a filter may name in nbtrack"
INF_REASON = (
    "nbtrack keeps inf as inf; MLflow's SQL store keeps it as the largest float, so there "
    "1.7976931348623157e308 finds inf"
)
NUMORDER_REASON = (
    "params that read as numbers sort as numbers, before text ('9' before '10'); MLflow sorts "
    "every param as text"
)
COMMA_REASON = "one order_by string may hold several items, separated by commas"

SAME: list[Case] = [
    *_filters(
        U + "test_correct_filtering",
        "utils",
        [
            (None, ("u2", "u1", "u0")),
            ("", ("u2", "u1", "u0")),
            ("attributes.status = 'FAILED'", ("u2", "u0")),
            ("metrics.key1 = 123", ("u1",)),
            ("metrics.key1 != 123", ("u2", "u0")),
            ("metrics.key1 >= 123", ("u2", "u1")),
            ("params.my_param = 'A'", ("u1", "u0")),
            ("tags.tag1 = 'D'", ("u2",)),
            ("tags.tag1 != 'D'", ("u1",)),
            ("params.my_param = 'A' AND attributes.status = 'FAILED'", ("u0",)),
        ],
    ),
    *_filters(
        U + "test_correct_sorting",
        "utils",
        [
            (None, ("u2", "u1", "u0")),
        ],
    ),
    *_orders(
        U + "test_correct_sorting",
        "utils",
        [
            (("tags.noSuchTag",), ("u2", "u1", "u0")),
            (("attributes.status",), ("u2", "u0", "u1")),
            (("attributes.start_time",), ("u0", "u1", "u2")),
            (("metrics.key1 asc",), ("u0", "u1", "u2")),
            (('metrics."key1"  desc',), ("u2", "u1", "u0")),
            (("params.my_param",), ("u1", "u0", "u2")),
            (("params.my_param aSc", "attributes.status  ASC"), ("u0", "u1", "u2")),
            (("params.my_param", "attributes.status DESC"), ("u1", "u0", "u2")),
            (("params.my_param DESC", "attributes.status   DESC"), ("u2", "u1", "u0")),
            (("params.`my_param` DESC", "attributes.status DESC"), ("u2", "u1", "u0")),
            (("tags.tag1",), ("u1", "u2", "u0")),
            (("tags.tag1    DESC",), ("u2", "u1", "u0")),
        ],
    ),
    *_filters(
        U + "test_bad_comparators",
        "utils",
        [
            ("metrics.abc ~ 1.0", REFUSED),
            ("metrics.abc ~= 1.0", REFUSED),
            ("params.abc > 'my-param-value'", REFUSED),
            ("params.abc < 'my-param-value'", REFUSED),
            ("params.abc >= 'my-param-value'", REFUSED),
            ("params.abc <= 'my-param-value'", REFUSED),
            ("params.abc ~ 'my-param-value'", REFUSED),
            ("tags.abc > 'my-tag-value'", REFUSED),
            ("tags.abc < 'my-tag-value'", REFUSED),
            ("tags.abc >= 'my-tag-value'", REFUSED),
            ("tags.abc <= 'my-tag-value'", REFUSED),
            ("tags.abc ~ 'my-tag-value'", REFUSED),
            ("attributes.status > 'my-tag-value'", REFUSED),
            ("attributes.status < 'my-tag-value'", REFUSED),
            ("attributes.status >= 'my-tag-value'", REFUSED),
            ("attributes.status <= 'my-tag-value'", REFUSED),
            ("attributes.status ~ 'my-tag-value'", REFUSED),
            ("attributes.start_time LIKE 1234", REFUSED),
            ("attributes.start_time ILIKE 1234", REFUSED),
            ("datasets.name > 'my-dataset-name'", REFUSED),
            ("datasets.name < 'my-dataset-name'", REFUSED),
            ("datasets.name >= 'my-dataset-name'", REFUSED),
            ("datasets.name <= 'my-dataset-name'", REFUSED),
            ("datasets.name ~ 'my-dataset-name'", REFUSED),
        ],
    ),
    *_orders(
        S + "test_get_orderby_clauses",
        "utils",
        [
            (("attribute.start_time", "attribute.start_time"), REFUSED),
            (("param.p", "param.p"), REFUSED),
            (("metric.m", "metric.m"), REFUSED),
            (("tag.t", "tag.t"), REFUSED),
            (("param.a", "metric.a", "tag.a"), ("u2", "u1", "u0")),
            (("attribute.start_time ASC",), ("u0", "u1", "u2")),
            (("attributes.created", "attributes.start_time DESC"), REFUSED),
        ],
    ),
    *_filters(
        U + "test_filter",
        "parse",
        [
            ("metric.acc >= 0.94", ("p1", "p0")),
            ("metric.acc>=100", ()),
            ("params.m!='tf'", ("p2", "p1")),
            ('params."m"!="tf"', ("p2", "p1")),
            ('metric."legit name" >= 0.243', ("p1", "p0")),
            ("metrics.XYZ = 3", ("p2", "p0")),
            ('params."cat dog" = "pets"', ("p1", "p0")),
            ('metrics."X-Y-Z" = 3', ("p0",)),
            ('metrics."X//Y#$$@&Z" = 3', ()),
            ("params.model = 'LinearRegression'", ("p0",)),
            ("metrics.rmse < 1 and params.model_class = 'LR'", ("p0",)),
            ("", ("p2", "p1", "p0")),
            ("`metric`.a >= 0.1", ("p0",)),
            ("`params`.model >= 'LR'", REFUSED),
            ("tags.version = 'commit-hash'", ("p0",)),
            ("`tags`.source_name = 'a notebook'", ("p2", "p0")),
            ('metrics."accuracy.2.0" > 5', ("p0",)),
            ("metrics.`spacey name` > 5", ("p0",)),
            ('params."p.a.r.a.m" != "a"', ("p1",)),
            ('tags."t.a.g" = "a"', ("p0",)),
            ("attribute.artifact_uri = '1/23/4'", ()),
            ("attribute.start_time >= 1234", ("p2", "p1", "p0")),
            ("run.status = 'RUNNING'", ("p2",)),
            ("tags.version IS NULL", ("p2",)),
            ("tags.version IS NOT NULL", ("p1", "p0")),
            ("params.lr IS NULL", ("p1",)),
            ("params.lr IS NOT NULL", ("p2", "p0")),
            ("tags.a IS NULL AND params.b = 'val'", ("p0",)),
        ],
    ),
    *_filters(
        U + "test_correct_quote_trimming",
        "parse",
        [
            ("params.m = 'LR'", ("p1",)),
            ('params.m = "LR"', ("p1",)),
            ('params.m = "L\'Hosp"', ("p2",)),
        ],
    ),
    *_filters(
        U + "test_error_filter",
        "parse",
        [
            ("metric.acc >= 0.94; metrics.rmse < 1", REFUSED),
            ("m.acc >= 0.94", REFUSED),
            ("acc >= 0.94", REFUSED),
            ("p.model >= 'LR'", REFUSED),
            ("attri.x != 1", REFUSED),
            ("a.x != 1", REFUSED),
            ("model >= 'LR'", REFUSED),
            ("metrics.A > 0.1 NAND params.B = 'LR'", REFUSED),
            ("`metrics.A > 0.1", REFUSED),
            ("param`.A > 0.1", REFUSED),
            ("`dummy.A > 0.1", REFUSED),
            ("dummy`.A > 0.1", REFUSED),
            ("attribute.start != 1", REFUSED),
            ("attribute.experiment_id != 1", REFUSED),
            ("attribute.lifecycle_stage = 'ACTIVE'", REFUSED),
            ("attribute.name != 1", REFUSED),
            ("attribute.time != 1", REFUSED),
            ("attribute._status != 'RUNNING'", REFUSED),
            ("attribute.status = true", REFUSED),
            ("dataset.status = 'true'", REFUSED),
            ("dataset.profile = 'num_rows: 10'", REFUSED),
        ],
    ),
    *_filters(
        U + "test_error_comparison_clauses",
        "parse",
        [
            ("metric.model = 'LR'", REFUSED),
            ("metric.model = '5'", REFUSED),
            ("tags.acc = 5", REFUSED),
            ("metrics.acc != metrics.acc", REFUSED),
            ("1.0 > metrics.acc", REFUSED),
            ("attribute.status = 1", REFUSED),
        ],
    ),
    *_filters(
        U + "test_bad_quotes",
        "parse",
        [
            ("params.acc = LR", REFUSED),
            ("tags.acc = LR", REFUSED),
            ("params.acc = `LR`", REFUSED),
            ("params.'acc = LR", REFUSED),
            ("params.acc = 'LR", REFUSED),
            ("params.acc = LR'", REFUSED),
            ("params.acc = \"LR'", REFUSED),
            ("tags.acc = \"LR'", REFUSED),
            ("tags.acc = = 'LR'", REFUSED),
            ("attribute.status IS 'RUNNING'", REFUSED),
        ],
    ),
    *_filters(
        U + "test_invalid_clauses",
        "parse",
        [
            ("params.acc LR !=", REFUSED),
            ("params.acc LR", REFUSED),
            ("metric.acc !=", REFUSED),
            ("acc != 1.0", REFUSED),
            ("foo is null", REFUSED),
            ("1=1", REFUSED),
            ("1==2", REFUSED),
        ],
    ),
    *_filters(
        U + "test_filter_runs_by_start_time",
        "times",
        [
            ("attribute.start_time >= {start[t_a]}", ("t_c", "t_b", "t_a")),
            ("attribute.start_time > {start[t_b]}", ("t_c",)),
            ("attribute.start_time = {start[t_c]}", ("t_c",)),
        ],
    ),
    *_filters(
        U + "test_filter_runs_by_user_id",
        "times",
        [
            ("attribute.user_id = 'user-id2'", ("t_b",)),
        ],
    ),
    *_filters(
        U + "test_filter_runs_by_end_time",
        "times",
        [
            ("attribute.end_time >= {end[t_a]}", ("t_c", "t_b", "t_a")),
            ("attribute.end_time > {end[t_b]}", ("t_c",)),
            ("attribute.end_time = {end[t_c]}", ("t_c",)),
        ],
    ),
    *_orders(
        U + "test_space_order_by_search_runs",
        "times",
        [
            (("metrics.`Mean Square Error`",), ("t_b", "t_c", "t_a")),
            (("metrics.`Mean Square Error` ASC",), ("t_b", "t_c", "t_a")),
            (("metrics.`Mean Square Error` DESC",), ("t_a", "t_c", "t_b")),
        ],
    ),
    *_orders(
        U + "test_invalid_order_by_search_runs",
        "times",
        [
            (("m.acc",), REFUSED),
            (("acc",), REFUSED),
            (("attri.x",), REFUSED),
            (("`metrics.A",), REFUSED),
            (("`metrics.A`",), REFUSED),
            (("attribute.start",), REFUSED),
            (("metrics.A != 1",), REFUSED),
            (("attribute.run_id ACS",), REFUSED),
            (("attribute.run_id decs",), REFUSED),
        ],
    ),
    *_orders(
        U + "test_order_by_metric_with_nans_infs_nones",
        "nans",
        [
            (("metrics.x asc",), ("n-inf", "n-1000", "n0", "n1000", "ninf", "nnan", "nNone")),
            (("metrics.x desc",), ("ninf", "n1000", "n0", "n-1000", "n-inf", "nnan", "nNone")),
        ],
    ),
    *_filters(
        "sqlalchemy_store.py::_get_sqlalchemy_filter_clauses (NaN)",
        "nans",
        [
            ("metrics.x != 0", ("n1000", "n-1000", "n-inf", "ninf", "nnan")),
            ("metrics.x = 0", ("n0",)),
            ("metrics.x > -1e308", ("n1000", "n0", "n-1000", "ninf")),
            ("metrics.x < 1000", ("n0", "n-1000", "n-inf")),
            ("metrics.x >= 1e308", ("ninf",)),
            ("metrics.x <= -1e308", ("n-inf",)),
        ],
    ),
    *_filters(
        U + "test_filter_runs_by_tag_and_param_is_null",
        "nulls",
        [
            ("tags.env IS NOT NULL", ("run1",)),
            ("tags.env IS NULL", ("run2",)),
            ("params.lr IS NOT NULL", ("run2",)),
            ("params.lr IS NULL", ("run1",)),
        ],
    ),
    *_orders(
        S + "test_order_by_metric_tag_param",
        "order_mtp",
        [
            (
                ("metrics.x asc", "metrics.y asc"),
                ("-inf/4", "-1000/5", "0/6", "0/7", "1000/8", "inf/3", "nan/2", "None/1"),
            ),
            (
                ("metrics.x asc", "tag.metric asc"),
                ("-inf/4", "-1000/5", "0/6", "0/7", "1000/8", "inf/3", "nan/2", "None/1"),
            ),
            (
                ("metrics.x asc", "metrics.y desc"),
                ("-inf/4", "-1000/5", "0/7", "0/6", "1000/8", "inf/3", "nan/2", "None/1"),
            ),
            (
                ("metrics.x asc", "tag.metric desc"),
                ("-inf/4", "-1000/5", "0/7", "0/6", "1000/8", "inf/3", "nan/2", "None/1"),
            ),
            (
                ("metrics.x desc", "metrics.y asc"),
                ("inf/3", "1000/8", "0/6", "0/7", "-1000/5", "-inf/4", "nan/2", "None/1"),
            ),
            (
                ("metrics.x desc", "param.metric desc"),
                ("inf/3", "1000/8", "0/7", "0/6", "-1000/5", "-inf/4", "nan/2", "None/1"),
            ),
        ],
    ),
    *_orders(
        S + "test_order_by_attributes",
        "order_attrs",
        [
            (("attribute.end_time asc",), ("-123", "123", "234", "456", "789", "None")),
            (("attribute.end_time desc",), ("789", "456", "234", "123", "-123", "None")),
            (
                ("attribute.start_time asc", "attribute.end_time desc"),
                ("234", "None", "456", "-123", "789", "123"),
            ),
        ],
    ),
    _case(S + "test_search_vanilla", "vanilla", None, all_runs=True, answer=("v2", "v1", "v0")),
    *_filters(
        S + "test_search_vanilla",
        "vanilla",
        [
            (None, ("v2", "v1")),
        ],
    ),
    *_filters(
        S + "test_search_params",
        "params",
        [
            ("params.generic_param = 'p_val'", ("sp2", "sp1")),
            ("params.generic_2 = 'some value'", ("sp1",)),
            ("params.generic_2 = 'another value'", ("sp2",)),
            ("params.generic_param = 'wrong_val'", ()),
            ("params.generic_param != 'p_val'", ()),
            ("params.generic_param != 'wrong_val'", ("sp2", "sp1")),
            ("params.generic_2 != 'wrong_val'", ("sp2", "sp1")),
            ("params.p_a = 'abc'", ("sp1",)),
            ("params.p_a = 'ABC'", ()),
            ("params.p_a != 'ABC'", ("sp1",)),
            ("params.p_b = 'ABC'", ("sp2",)),
            ("params.generic_2 LIKE '%other%'", ("sp2",)),
            ("params.generic_2 LIKE 'other%'", ()),
            ("params.generic_2 LIKE '%other'", ()),
            ("params.generic_2 LIKE 'other'", ()),
            ("params.generic_2 LIKE '%Other%'", ()),
            ("params.generic_2 ILIKE '%Other%'", ("sp2",)),
        ],
    ),
    *_filters(
        S + "test_search_tags",
        "tags",
        [
            ("tags.generic_tag = 'p_val'", ("st2", "st1")),
            ("tags.generic_tag = 'P_VAL'", ()),
            ("tags.generic_tag != 'P_VAL'", ("st2", "st1")),
            ("tags.generic_2 = 'some value'", ("st1",)),
            ("tags.generic_2 = 'another value'", ("st2",)),
            ("tags.generic_tag = 'wrong_val'", ()),
            ("tags.generic_tag != 'p_val'", ()),
            ("tags.generic_tag != 'wrong_val'", ("st2", "st1")),
            ("tags.generic_2 != 'wrong_val'", ("st2", "st1")),
            ("tags.p_a = 'abc'", ("st1",)),
            ("tags.p_b = 'ABC'", ("st2",)),
            ("tags.generic_2 LIKE '%other%'", ("st2",)),
            ("tags.generic_2 LIKE '%Other%'", ()),
            ("tags.generic_2 LIKE 'other%'", ()),
            ("tags.generic_2 LIKE '%other'", ()),
            ("tags.generic_2 LIKE 'other'", ()),
            ("tags.generic_2 ILIKE '%Other%'", ("st2",)),
            ("tags.generic_2 ILIKE '%Other%' and tags.generic_tag = 'p_val'", ("st2",)),
            (("tags.generic_2 ILIKE '%Other%' and tags.generic_tag ILIKE 'p_val'"), ("st2",)),
        ],
    ),
    *_filters(
        S + "test_search_metrics",
        "metrics",
        [
            ("metrics.common = 1.0", ("sm2", "sm1")),
            ("metrics.common > 0.0", ("sm2", "sm1")),
            ("metrics.common >= 0.0", ("sm2", "sm1")),
            ("metrics.common < 4.0", ("sm2", "sm1")),
            ("metrics.common <= 4.0", ("sm2", "sm1")),
            ("metrics.common != 1.0", ()),
            ("metrics.common >= 3.0", ()),
            ("metrics.common <= 0.75", ()),
            ("metrics.measure_a > 0.0", ("sm2", "sm1")),
            ("metrics.measure_a < 50.0", ("sm1",)),
            ("metrics.measure_a < 1000.0", ("sm2", "sm1")),
            ("metrics.measure_a != -12.0", ("sm2", "sm1")),
            ("metrics.measure_a > 50.0", ("sm2",)),
            ("metrics.measure_a = 1.0", ("sm1",)),
            ("metrics.measure_a = 400.0", ("sm2",)),
            ("metrics.m_a > 1.0", ("sm1",)),
            ("metrics.m_b > 1.0", ("sm2",)),
            ("metrics.m_b > 5.0", ()),
            ("metrics.m_b = 4.0", ("sm2",)),
        ],
    ),
    *_filters(
        S + "test_search_attrs",
        A,
        [
            ("", ("r2", "r1")),
            ("attribute.status != 'blah'", ("r2", "r1")),
            ("attribute.status = 'RUNNING'", ("r1",)),
            ("attribute.status = 'FAILED'", ("r2",)),
            ("attribute.status != 'SCHEDULED'", ("r2", "r1")),
            ("attribute.status = 'SCHEDULED'", ()),
            ("attribute.status = 'KILLED'", ()),
            ("attr.artifact_uri = '{uri[r1]}'", ("r1",)),
            ("attr.artifact_uri = '{URI[r1]}'", ()),
            ("attr.artifact_uri != '{URI[r1]}'", ("r2", "r1")),
            ("attr.artifact_uri = '{uri[r1]}/x'", ()),
            ("attribute.artifact_uri = 'random_artifact_path'", ()),
            ("attribute.artifact_uri != 'random_artifact_path'", ("r2", "r1")),
            ("attribute.artifact_uri LIKE '%{id[r1]}%'", ("r1",)),
            ("attribute.artifact_uri LIKE '%{id[r1]:.16}%'", ("r1",)),
            ("attribute.artifact_uri LIKE '%{tail[r1]}%'", ("r1",)),
            ("attribute.artifact_uri LIKE '%{ID[r1]}%'", ()),
            ("attribute.artifact_uri ILIKE '%{ID[r1]}%'", ("r1",)),
            ("attribute.artifact_uri ILIKE '%{ID[r1]:.16}%'", ("r1",)),
            ("attribute.artifact_uri ILIKE '%{TAIL[r1]}%'", ("r1",)),
            ("attribute.lifecycle_stage = 'ACTIVE'", REFUSED),
        ],
    ),
    *_filters(
        S + "test_search_full",
        "full",
        [
            ("params.generic_param = 'p_val' and metrics.common = 1.0", ("sf2", "sf1")),
            (
                ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0"),
                ("sf1",),
            ),
            (
                (
                    "params.generic_param = 'p_val' and "
                    "metrics.common = 1.0 and "
                    "metrics.m_a > 1.0 and "
                    "params.p_a LIKE 'a%'"
                ),
                ("sf1",),
            ),
            (
                (
                    "params.generic_param = 'p_val' and "
                    "metrics.common = 1.0 and "
                    "metrics.m_a > 1.0 and "
                    "params.p_a LIKE 'A%'"
                ),
                (),
            ),
            (
                (
                    "params.generic_param = 'p_val' and "
                    "metrics.common = 1.0 and "
                    "metrics.m_a > 1.0 and "
                    "params.p_a ILIKE 'A%'"
                ),
                ("sf1",),
            ),
            (
                ("params.random_bad_name = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0"),
                (),
            ),
            (
                ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 100.0"),
                (),
            ),
        ],
    ),
    *_filters(
        S + "test_search_with_max_results",
        "max_results",
        [
            (
                None,
                (
                    "mr11",
                    "mr10",
                    "mr09",
                    "mr08",
                    "mr07",
                    "mr06",
                    "mr05",
                    "mr04",
                    "mr03",
                    "mr02",
                    "mr01",
                    "mr00",
                ),
            ),
        ],
    ),
    _case(S + "test_search_with_max_results", "max_results", None, max_results=1, answer=("mr11",)),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=2,
        answer=("mr11", "mr10"),
    ),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=4,
        answer=("mr11", "mr10", "mr09", "mr08"),
    ),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=8,
        answer=("mr11", "mr10", "mr09", "mr08", "mr07", "mr06", "mr05", "mr04"),
    ),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=10,
        answer=("mr11", "mr10", "mr09", "mr08", "mr07", "mr06", "mr05", "mr04", "mr03", "mr02"),
    ),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=12,
        answer=(
            "mr11",
            "mr10",
            "mr09",
            "mr08",
            "mr07",
            "mr06",
            "mr05",
            "mr04",
            "mr03",
            "mr02",
            "mr01",
            "mr00",
        ),
    ),
    _case(
        S + "test_search_with_max_results",
        "max_results",
        None,
        max_results=20,
        answer=(
            "mr11",
            "mr10",
            "mr09",
            "mr08",
            "mr07",
            "mr06",
            "mr05",
            "mr04",
            "mr03",
            "mr02",
            "mr01",
            "mr00",
        ),
    ),
    *_filters(
        S + "test_search_runs_run_name",
        "run_name",
        [
            ("attributes.run_name = 'run_name1'", ()),
            ("attributes.`Run name` = 'new_run_name1'", ("new_run_name1",)),
            ("attributes.`run name` = 'run_name2'", ("run_name2",)),
            ("attributes.`Run Name` = 'run_name2'", ("run_name2",)),
            ("tags.`mlflow.runName` = 'run_name2'", ("run_name2",)),
            ("attributes.run_name = 'new_run_name1'", ("new_run_name1",)),
            ("tags.`mlflow.runName` = 'new_run_name1'", ("new_run_name1",)),
        ],
    ),
    *_filters(
        S + "test_search_runs_run_id",
        "run_id",
        [
            ("attributes.run_id = '{id[ri1]}'", ("ri1",)),
            ("attributes.run_id != '{id[ri1]}'", ("ri2",)),
            ("attributes.run_id IN ('{id[ri1]}')", ("ri1",)),
            ("attributes.run_id NOT IN ('{id[ri1]}')", ("ri2",)),
            ("run_name = 'ri1' AND run_id IN ('{id[ri1]}')", ("ri1",)),
            ("attributes.run_id IN ('{id[ri1]}','{id[ri2]}')", ("ri2", "ri1")),
            ("attributes.run_id IN ('{id[ri1]}', '{id[ri2]}')", ("ri2", "ri1")),
            ("attributes.run_id IN ('{id[ri1]}',  '{id[ri2]}')", ("ri2", "ri1")),
            ("attributes.run_id NOT IN ('{id[ri1]}', '{id[ri2]}')", ()),
        ],
    ),
    _case(
        S + "test_search_runs_start_time_alias",
        "alias",
        "attributes.run_name LIKE 'name%'",
        ("attributes.start_time DESC",),
        answer=("name2", "name1"),
    ),
    _case(
        S + "test_search_runs_start_time_alias",
        "alias",
        "attributes.run_name LIKE 'name%'",
        ("attributes.created ASC",),
        answer=("name1", "name2"),
    ),
    _case(
        S + "test_search_runs_start_time_alias",
        "alias",
        "attributes.run_name LIKE 'name%'",
        ("attributes.Created DESC",),
        answer=("name2", "name1"),
    ),
    *_filters(
        S + "test_search_runs_start_time_alias",
        "alias",
        [
            ("attributes.start_time > 0", ("name2", "name1")),
            ("attributes.created > {start[name1]}", ("name2",)),
            ("attributes.Created > {start[name2]}", ()),
        ],
    ),
    *_orders(
        S + "test_search_runs_keep_all_runs_when_sorting",
        "keep_all",
        [
            (("tag.t1",), ("k1", "k2")),
        ],
    ),
    _case(
        S + "test_search_runs_returns_expected_results_with_large_experiment",
        "large",
        None,
        max_results=10,
        answer=("L39", "L38", "L37", "L36", "L35", "L34", "L33", "L32", "L31", "L30"),
    ),
    _case(
        S + "test_search_runs_correctly_filters_large_data",
        "large",
        "metrics.mkey_0 < 26 and metrics.mkey_0 > 5 ",
        max_results=50,
        answer=(
            "L25",
            "L24",
            "L23",
            "L22",
            "L21",
            "L20",
            "L19",
            "L18",
            "L17",
            "L16",
            "L15",
            "L14",
            "L13",
            "L12",
            "L11",
            "L10",
            "L09",
            "L08",
            "L07",
            "L06",
        ),
    ),
    _case(
        S + "test_search_runs_correctly_filters_large_data",
        "large",
        ("metrics.mkey_0 < 26 and metrics.mkey_0 > 5 and tags.tkey_0 = 'tval_0' "),
        max_results=10,
        answer=("L20", "L10"),
    ),
    _case(
        S + "test_search_runs_correctly_filters_large_data",
        "large",
        (
            "metrics.mkey_0 < 26 and "
            "metrics.mkey_0 > 5 and "
            "tags.tkey_0 = 'tval_0' and "
            "params.pkey_0 = 'pval_0'"
        ),
        max_results=5,
        answer=("L10",),
    ),
    *_filters(
        "(params that read as numbers)",
        "numeric_params",
        [
            ("params.p = '10'", ("np10",)),
            ("params.p LIKE '1%'", ("np10",)),
        ],
    ),
]

DELIBERATE: list[Case] = [
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.name = 'name1'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.name IN ('name1', 'name2')",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.digest IN ('digest1', 'digest2')",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.name = 'name1' AND datasets.digest = 'digest2'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.context = 'train'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "datasets.name = 'name1' AND datasets.context = 'train'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "params.my_param IN ('A')",
        answer=REFUSED,
        nbtrack=("u1", "u0"),
        reason=IN_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "attributes.status IN ('FAILED')",
        answer=REFUSED,
        nbtrack=("u2", "u0"),
        reason=IN_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "metrics.key1 == 123",
        answer=REFUSED,
        nbtrack=("u1",),
        reason=SPELL_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "Metrics.key1 = 123",
        answer=REFUSED,
        nbtrack=("u1",),
        reason=SPELL_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "attributes.STATUS = 'FAILED'",
        answer=REFUSED,
        nbtrack=("u2", "u0"),
        reason=SPELL_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "not params.my_param = 'A'",
        answer=REFUSED,
        nbtrack=("u2",),
        reason=OR_REASON,
    ),
    _case(
        U + "test_correct_filtering",
        "utils",
        "params.my_param NOT LIKE 'A%'",
        answer=REFUSED,
        nbtrack=("u2",),
        reason=OR_REASON,
    ),
    _case(
        U + "test_correct_sorting",
        "utils",
        None,
        ("params.my_param, attributes.status",),
        answer=REFUSED,
        nbtrack=("u0", "u1", "u2"),
        reason=COMMA_REASON,
    ),
    _case(
        U + "test_filter",
        "parse",
        "dataset.name = 'my_dataset'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        U + "test_error_filter",
        "parse",
        "metrics.A > 0.1 OR params.B = 'LR'",
        answer=REFUSED,
        nbtrack=(),
        reason=OR_REASON,
    ),
    _case(
        U + "test_error_filter",
        "parse",
        "metrics.A > 0.1 AND (params.B = 'LR')",
        answer=REFUSED,
        nbtrack=(),
        reason=OR_REASON,
    ),
    _case(
        U + "test_error_filter",
        "parse",
        "metrics.acc IS NULL",
        answer=REFUSED,
        nbtrack=(),
        reason=NULL_REASON,
    ),
    _case(
        U + "test_error_filter",
        "parse",
        "attribute.status IS NULL",
        answer=REFUSED,
        nbtrack=(),
        reason=NULL_REASON,
    ),
    _case(
        U + "test_error_comparison_clauses",
        "parse",
        "params.acc = 5",
        answer=REFUSED,
        nbtrack=(),
        reason=NUMPARAM_REASON,
    ),
    _case(
        U + "test_error_comparison_clauses",
        "parse",
        "params.lr > 0.05",
        answer=REFUSED,
        nbtrack=("p2",),
        reason=NUMPARAM_REASON,
    ),
    _case(
        U + "test_filter",
        "parse",
        "attribute.experiment_id = '{exp[parse]}'",
        answer=REFUSED,
        nbtrack=("p2", "p1", "p0"),
        reason=ATTR_REASON,
    ),
    _case(
        U + "test_invalid_order_by_search_runs",
        "times",
        None,
        ("attribute.experiment_id",),
        answer=REFUSED,
        nbtrack=("t_c", "t_b", "t_a"),
        reason=ATTR_REASON,
    ),
    _case(
        U + "test_invalid_order_by_search_runs",
        "times",
        None,
        ("params.my_param ",),
        answer=REFUSED,
        nbtrack=("t_c", "t_b", "t_a"),
        reason=SPACE_REASON,
    ),
    _case(
        U + "test_order_by_metric_with_nans_infs_nones",
        "nans",
        "metrics.x = 1.7976931348623157e308",
        answer=("ninf",),
        nbtrack=(),
        reason=INF_REASON,
    ),
    _case(
        U + "test_order_by_metric_with_nans_infs_nones",
        "nans",
        "metrics.x = nan",
        answer=REFUSED,
        nbtrack=("nnan",),
        reason=NAN_REASON,
    ),
    _case(
        S + "test_search_attrs",
        A,
        "attribute.experiment_id = '{exp[attrs_1]}'",
        answer=REFUSED,
        nbtrack=("r1",),
        reason=ATTR_REASON,
    ),
    _case(
        S + "test_search_runs_datasets",
        "run_id",
        "dataset.name = 'name1'",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        S + "test_search_runs_datasets",
        "run_id",
        "datasets.context IN ('test', 'train')",
        answer=(),
        nbtrack=REFUSED,
        reason=DATASET_REASON,
    ),
    _case(
        "(params that read as numbers)",
        "numeric_params",
        None,
        ("params.p",),
        answer=("np10", "np9", "np_abc"),
        nbtrack=("np9", "np10", "np_abc"),
        reason=NUMORDER_REASON,
    ),
    _case(
        "(params that read as numbers)",
        "numeric_params",
        None,
        ("params.p DESC",),
        answer=("np_abc", "np9", "np10"),
        nbtrack=("np10", "np9", "np_abc"),
        reason=NUMORDER_REASON,
    ),
]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with nbtrack_world(tmp_path_factory.mktemp("nbtrack")) as world:
        yield world


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World | None]:
    if not HAS_MLFLOW:
        yield None
        return
    with mlflow_world(tmp_path_factory.mktemp("mlflow")) as world:
        yield world


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SAME, ids=[case.name for case in SAME])
def test_nbtrack_answers_as_mlflow_does(case: Case, ours: World, theirs: World | None) -> None:
    assert case.ask(ours) == case.answer
    if theirs is not None:
        assert case.ask(theirs) == case.answer


@pytest.mark.parametrize("case", DELIBERATE, ids=[case.name for case in DELIBERATE])
def test_nbtrack_answers_otherwise_where_it_means_to(
    case: Case, ours: World, theirs: World | None
) -> None:
    assert case.reason
    assert case.nbtrack != case.answer
    assert case.ask(ours) == case.nbtrack
    if theirs is not None:
        assert case.ask(theirs) == case.answer


def test_every_scenario_is_searched() -> None:
    searched = {s for case in SAME + DELIBERATE for s in case.scenarios}
    assert searched == set(SCENARIOS)


def test_the_readme_gives_these_counts() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    counts = re.search(r"(\d+) cases answer alike, and (\d+) differ", readme)

    assert counts is not None
    assert (int(counts[1]), int(counts[2])) == (len(SAME), len(DELIBERATE))


def test_the_worlds_hold_the_same_runs(ours: World, theirs: World | None) -> None:
    if theirs is None:
        pytest.skip("MLflow is not installed")
    assert sorted(ours.ids) == sorted(theirs.ids)
    assert sorted(ours.starts, key=ours.starts.__getitem__) == sorted(
        theirs.starts, key=theirs.starts.__getitem__
    )
    assert sorted(ours.ends, key=ours.ends.__getitem__) == sorted(
        theirs.ends, key=theirs.ends.__getitem__
    )
    assert all(Path(uri).is_absolute() for uri in ours.uris.values())
