"""nbtrack.compare(), part 2: picking runs in the chart or the table, parallel coordinates,
and the diff of two runs with their artifacts side by side.

The front end's clicks are the trait changes it makes: ``_vl_selections`` on the chart (what
Altair's JavaScript sets when a mark is clicked) and ``picked`` / ``selected`` on the table.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from nbtrack.widgets.compare import CompareWidget
from tests.widgets.test_compare import log_runs

Factory = Callable[..., CompareWidget]
# A one-pixel PNG: enough for the diff view to show an image.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def click_in_chart(view: CompareWidget, *run_ids: str) -> None:
    """What Altair's JavaScript sends when marks of these runs are clicked ([] = background)."""
    value = {"vlPoint": {"or": [{"run_id": r} for r in run_ids]}} if run_ids else None
    view._views.chart._vl_selections = {"pick": {"value": value, "store": []}}


def pick_param(view: CompareWidget) -> dict[str, Any]:
    params = view.chart_spec().get("params", [])
    (pick,) = [p for p in params if p["name"] == "pick"]
    return dict(pick)


def test_a_point_clicked_in_the_scatter_picks_its_row_in_the_table(open_view: Factory) -> None:
    ids = log_runs(4)
    view = open_view("sweep")
    view.set_chart(kind="scatter", metric="acc", param="lr")

    click_in_chart(view, ids[2])

    assert view.picked == [ids[2]]
    assert view.table.picked == [ids[2]]
    assert "picked: r02" in view.status_text
    # the selection of charted runs stays as it was: the chart is not redrawn under the click
    assert sorted(view.selected) == sorted(ids)

    click_in_chart(view)  # the chart's background
    assert view.picked == [] and view.table.picked == []


def test_a_run_picked_in_the_chart_turns_the_table_to_its_page(open_view: Factory) -> None:
    ids = log_runs(7)
    view = CompareWidget("sweep", page_size=3)
    view.select(ids)
    view.set_chart(kind="bar", metric="acc")
    assert view.table.page == 1
    oldest = ids[0]  # newest first: the first run logged is on the last page
    click_in_chart(view, oldest)
    assert view.table.page == 3
    assert oldest in [row["run_id"] for row in view.table.rows]
    view.close()


def test_a_run_picked_in_the_table_is_highlighted_in_every_chart(open_view: Factory) -> None:
    ids = log_runs(6)
    view = open_view("sweep")
    not_charted = next(run_id for run_id in ids if run_id not in view.selected)

    view.table.picked = [not_charted]  # the row's pick button

    assert view.picked == [not_charted]
    assert not_charted in view.selected  # picked, so charted
    assert pick_param(view)["value"] == [{"run_id": not_charted}]
    for kind in ("scatter", "bar", "parallel", "history"):
        view.set_chart(kind=kind)
        assert pick_param(view)["value"] == [{"run_id": not_charted}], kind


def test_parallel_coordinates_draw_an_axis_per_param_for_selected_or_all_runs(
    open_view: Factory,
) -> None:
    ids = log_runs(6)
    view = open_view("sweep")
    view.select(ids[:2])
    view.set_chart(kind="parallel", metric="acc")

    spec = view.chart_spec()
    assert [layer["mark"]["type"] for layer in spec["layer"]][:3] == ["rule", "line", "text"]
    lines = spec["layer"][1]
    assert lines["encoding"]["x"]["sort"] == ["lr", "optimizer", "acc"]
    assert {row["run_id"] for row in _rows_of(spec, lines)} == set(ids)  # all, by default

    view._views.runs_box.value = "selected"  # the "selected" button
    spec = view.chart_spec()
    drawn = {row["run_id"] for row in _rows_of(spec, spec["layer"][1])}
    assert drawn == set(ids[:2])


def _rows_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    data = layer.get("data") or spec["data"]
    if "name" in data:
        return list(spec["datasets"][data["name"]])
    return list(data["values"])


@pytest.fixture
def shell(store_path: Path) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbtrack")
    ip.user_ns["nbtrack"] = nbtrack
    yield ip


def test_the_diff_view_shows_the_changed_line_params_and_artifacts(
    open_view: Factory, shell: InteractiveShell, tmp_path: Path
) -> None:
    image = tmp_path / "curve.png"
    image.write_bytes(PIXEL_PNG)
    shell.user_ns["image"] = str(image)
    for lr, note, extra in (
        (0.1, "first try", "pass"),
        (0.3, "second try", "nbtrack.log_artifact(image, 'plots')"),
    ):
        source = "\n".join(
            [
                f"%%track --name lr-{lr}",
                f"lr = {lr}",
                "nbtrack.log_metric('acc', 0.5 + lr)",
                f"nbtrack.log_text('{note}\\nsame line', 'notes.txt')",
                "nbtrack.log_text('shared', 'same.txt')",
                extra,
                "",
            ]
        )
        assert shell.run_cell(source, store_history=True).success
    runs = nbtrack.search_runs(order_by="start_time")
    first, second = runs["run_id"].tolist()
    view = open_view(runs=[first, second])

    view.show_diff(first, second)

    html = view.diff_html
    assert "-lr = 0.1" in html and "+lr = 0.3" in html
    assert "notes.txt" in html and "first try" in html and "second try" in html
    assert "same.txt</code> <span" in html and "(same in both)" in html
    assert "plots/curve.png" in html and "data:image/png;base64," in html
    assert view.chart_spec() is not None and view._views.chart.layout.display == "none"


def test_the_diff_view_asks_for_two_runs_and_follows_the_dropdowns(open_view: Factory) -> None:
    ids = log_runs(3)
    view = open_view("sweep")
    view.select([ids[0]])
    view.set_chart(kind="diff")
    assert "Select two runs" in view.diff_html
    assert "charted" not in view.status_text  # no chart is shown

    view.select(ids)
    view._views.diff_a_box.value, view._views.diff_b_box.value = ids[2], ids[0]
    assert "r02" in view.diff_html and "r00" in view.diff_html
    view._views.diff_b_box.value = ids[2]
    assert "the same run" in view.diff_html


def test_pick_and_diff_refuse_runs_the_widget_does_not_show(open_view: Factory) -> None:
    log_runs(2)
    view = open_view("sweep")
    with pytest.raises(nbtrack.InvalidValueError, match="pick\\(\\): 'nope'"):
        view.pick(["nope"])
    with pytest.raises(nbtrack.InvalidValueError, match="show_diff\\(\\): 'nope'"):
        view.show_diff("nope", view.selected[0])
    with pytest.raises(nbtrack.InvalidValueError, match="'pie'"):
        view.set_chart(kind="pie")
