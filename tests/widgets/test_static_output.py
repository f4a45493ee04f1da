"""The comparison widget without a widget front end: the static HTML it carries in its repr.

Unit tests of ``static_html``, then the real thing: ``notebooks/02-compare.ipynb`` executed as
``jupyter nbconvert --execute`` does and exported to HTML, with and without saved widget state.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import altair as alt
import nbformat
import pytest

from nbtrack.widgets import static
from nbtrack.widgets.static import PNG_SIGNATURE, static_html

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "02-compare.ipynb"
RUN_NAME = "lr=0.1 alpha=0.0001"  # a run of its first sweep, in every view of that
TWO_FAMILIES_RUN = "logreg C=10.0"  # a run of its two-family sweep, in every view of that
EVIL = "<script>alert(1)</script>"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DATA_URI = "data:image/png;base64,"
COLUMNS = ["run_name", "status", "start_time", "duration", "metrics.acc", "params.lr", "tags.team"]


def row(run_id: str, name: str, acc: float | None = 0.9, **more: Any) -> dict[str, Any]:
    values = {
        "run_id": run_id,
        "run_name": name,
        "status": "FINISHED",
        "start_time": "2026-11-20 10:00:00",
        "duration": 3.5,
        "metrics.acc": acc,
        "params.lr": "0.1",
        "tags.team": "vision",
    }
    return {**values, **more}


def loss_chart(names: list[str]) -> alt.Chart:
    values = [
        {"run": name, "step": step, "value": 1 / (step + 1 + i)}
        for i, name in enumerate(names)
        for step in range(10)
    ]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=values), title="loss", width=300, height=150)
        .mark_line()
        .encode(x="step:Q", y="value:Q", color="run:N")
    )
    return chart


def render(**overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "columns": COLUMNS,
        "rows": [row("a1", "first"), row("b2", "second", acc=None)],
        "selected": ["a1"],
        "caption": "experiment <b>sweep</b> · 2 runs · 1 charted",
        "total": 2,
        "chart": None,
    }
    return static_html(**{**arguments, **overrides})


class Tags(HTMLParser):
    """Start tags and text of an HTML snippet, to check its structure rather than its bytes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def decoded_images(text: str) -> list[tuple[bytes, dict[str, str | None]]]:
    """The PNGs inlined as ``<img src="data:...">`` and their other attributes.

    Parsed, not matched: nbconvert re-serialises the page (BeautifulSoup), reordering attributes.
    """
    images = []
    for attrs in Tags(text).named("img"):
        source = attrs.get("src") or ""
        if source.startswith(DATA_URI):
            images.append((base64.b64decode(source[len(DATA_URI) :], validate=True), attrs))
    return images


# -- static_html ----------------------------------------------------------------------------------


def test_user_text_is_escaped_everywhere() -> None:
    evil_row = row(EVIL, EVIL, **{"params.lr": EVIL, f"params.{EVIL}": EVIL})
    text = render(columns=[*COLUMNS, f"params.{EVIL}"], rows=[evil_row], selected=[EVIL], total=1)
    assert "<script" not in text
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # name, value, id, column
    parsed = Tags(text)
    assert not parsed.named("script")
    assert EVIL in parsed.text  # shown as text, as the user typed it
    assert parsed.named("tr")[-1]["data-run-id"] == EVIL


def test_no_script_no_style_block_no_external_url() -> None:
    text = render(chart=loss_chart(["first"]))
    tags = {tag for tag, _ in Tags(text).tags}
    assert not tags & {"script", "style", "link", "iframe"}
    assert not re.search(r"https?://", text)
    assert not re.search(r"\son\w+=", text)  # no event handler attributes


def test_the_caption_is_kept_as_html() -> None:
    assert "experiment <b>sweep</b> · 2 runs · 1 charted" in render()


def test_headers_are_short_under_their_group_with_the_full_name_as_title() -> None:
    parsed = Tags(render())
    headers = parsed.named("th")
    titled = {attrs["title"]: attrs for attrs in headers if attrs.get("title")}
    assert {"metrics.acc", "params.lr", "tags.team", "run_name"} <= set(titled)
    head = render(caption="").split("<tbody>")[0]
    short = [text for text in Tags(head).text if text.strip()]
    assert short == ["●", "metrics", "params", "tags", "run_name", "status", "start_time",
                     "duration", "acc", "lr", "team"]  # fmt: skip
    assert "metrics.acc</th>" not in head


def test_no_group_row_when_there_is_no_prefixed_column() -> None:
    text = render(columns=["run_name", "status"])
    assert len(Tags(text.split("<tbody>")[0]).named("tr")) == 1
    assert 'rowspan="2"' not in text


def test_selected_rows_are_marked() -> None:
    rows = {attrs["data-run-id"]: attrs["style"] or "" for attrs in Tags(render()).named("tr")[2:]}
    assert "font-weight:600" in rows["a1"]
    assert "font-weight" not in rows["b2"]
    body = render().split("<tbody>")[1]
    first, second = body.split("</tr>")[:2]
    assert "●" in first and "●" not in second


def test_missing_values_show_a_dash_and_long_ones_are_cut_with_a_title() -> None:
    long = "x" * 200
    text = render(rows=[row("a1", long, acc=None)])
    assert ">—</td>" in text
    assert f'title="{long}"' in text
    assert f">{'x' * 59}…</td>" in text


def test_a_partial_page_says_how_many_runs_it_shows() -> None:
    assert "showing 2 of 40 runs" in render(total=40)
    assert "showing" not in render(total=2)
    assert "showing 2 of 1,234 runs" in render(total=1234)


def test_no_rows() -> None:
    text = render(rows=[], selected=[], total=0)
    assert "No runs" in text
    assert "showing" not in text


def test_the_chart_is_an_inline_png_with_size_and_alt_text() -> None:
    text = render(chart=loss_chart(["first", EVIL]))
    [(png, attrs)] = decoded_images(text)
    assert png.startswith(PNG_SIGNATURE)
    width, height = int(attrs["width"] or 0), int(attrs["height"] or 0)
    # The chart is 300 by 150 plus axes, title and legend, in CSS pixels (the PNG is scaled).
    assert 300 < width < 500 and 150 < height < 260, (width, height)
    assert int.from_bytes(png[16:20]) == pytest.approx(width * static.PNG_SCALE, abs=1)
    assert attrs["alt"] == "chart: loss"


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk, checking each one's CRC."""
    at, chunks = len(PNG_SIGNATURE), []
    while at < len(png):
        size = int.from_bytes(png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        assert int.from_bytes(png[at + 8 + size : at + 12 + size]) == zlib.crc32(kind + data)
        chunks.append((kind, data))
        at += 12 + size
    return chunks


def test_the_recompressed_png_is_a_valid_image() -> None:
    [(png, _)] = decoded_images(render(chart=loss_chart(["first", "second"])))
    chunks = png_chunks(png)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds.count(b"IDAT") == 1
    header = chunks[0][1]
    width, height = int.from_bytes(header[0:4]), int.from_bytes(header[4:8])
    assert header[8:10] == bytes([8, 6])  # 8 bits per channel, RGBA
    pixels = zlib.decompress(chunks[kinds.index(b"IDAT")][1])
    assert len(pixels) == height * (1 + 4 * width)  # each row: its filter byte, then pixels


class Broken:
    """Stands for a chart whose drawing fails in vl-convert."""

    def to_dict(self) -> dict[str, Any]:
        return {"mark": "nonsense", "encoding": {"x": {"field": "a", "type": "nope"}}}


class Raising:
    def to_dict(self) -> dict[str, Any]:
        raise ValueError("schema validation failed:\nTypeError: no 'filled'\n    at oi (somewhere)")


@pytest.mark.parametrize("chart", [Broken(), Raising()], ids=["vl-convert", "to_dict"])
def test_a_chart_that_cannot_be_drawn_leaves_the_table_and_a_note(chart: Any) -> None:
    text = render(chart=chart)
    assert "the chart could not be drawn here" in text
    assert "first" in text and "<table" in text
    assert "data:image/png" not in text
    assert "somewhere" not in text  # one line, no JavaScript stack
    assert not re.search(r"https?://", text)  # vl-convert's stack names CDN URLs


def test_vl_convert_failing_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import vl_convert

    def fail(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("deno panicked <here>")

    monkeypatch.setattr(vl_convert, "vegalite_to_png", fail)
    static._image_html.cache_clear()
    try:
        text = render(chart=loss_chart(["a failing chart"]))
    finally:
        static._image_html.cache_clear()
    assert "(the chart could not be drawn here: RuntimeError: deno panicked &lt;here&gt;)" in text


def test_a_chart_reading_a_url_is_not_fetched() -> None:
    # An address that never answers: fetching it would hang until a timeout.
    chart = alt.Chart("http://10.255.255.1/data.csv").mark_point().encode(x="a:Q")
    started = time.perf_counter()
    text = render(chart=chart)
    assert "External data url not allowed" in text
    assert time.perf_counter() - started < 5


def test_a_typical_page_is_fast_and_small(capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"run-{i:02d}" for i in range(25)]
    rows = [row(f"id{i:02d}", name, acc=0.5 + i / 100) for i, name in enumerate(names)]
    chart = loss_chart(names[:5])
    arguments = {"columns": COLUMNS, "rows": rows, "selected": ["id00"], "caption": "25 runs"}
    static_html(**arguments, total=40, chart=loss_chart(["warm-up"]))  # starts vl-convert
    started = time.perf_counter()
    text = static_html(**arguments, total=40, chart=chart)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    static_html(**arguments, total=40, chart=chart)
    again = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nstatic_html, 25 rows + chart: {elapsed * 1000:.0f} ms,"
            f" again {again * 1000:.1f} ms, {len(text):,} bytes"
        )
    assert elapsed < 2.0
    assert again < elapsed
    assert len(text) < 150_000


def test_the_widget_repr_carries_the_static_html(store_path: Path) -> None:
    import nbtrack

    nbtrack.set_experiment("static")
    for name in ("plain", EVIL):
        with nbtrack.start_run(name=name):
            nbtrack.log_param("lr", 0.1)
            for step in range(3):
                nbtrack.log_metric("loss", 1 / (step + 1), step=step)
    view = nbtrack.compare()
    try:
        bundle = view._repr_mimebundle_()
    finally:
        view.close()
    assert WIDGET_VIEW in bundle
    text = bundle["text/html"]
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "experiment <b>static</b>" in text
    [(png, _)] = decoded_images(text)
    assert png.startswith(PNG_SIGNATURE)


# -- nbconvert ------------------------------------------------------------------------------------


def _convert(notebook: nbformat.NotebookNode, folder: Path) -> str:
    """``jupyter nbconvert --to html`` of an executed notebook, as the CLI does it."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook, resources={"metadata": {"path": folder}})
    return body


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """``notebooks/02-compare.ipynb`` run by ``jupyter nbconvert --execute``, from its folder.

    ``--to notebook`` rather than ``--to html`` so that both exports below come from one run:
    ``--to html --execute`` runs the same ExecutePreprocessor, then the same HTML exporter.
    """
    out = tmp_path_factory.mktemp("nbconvert")
    command = [
        sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
        str(NOTEBOOK), "--output-dir", str(out), "--output", "executed",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=NOTEBOOK.parent, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = nbformat.read(out / "executed.ipynb", as_version=4)
    shutil.rmtree(out)
    return notebook


def _widget_outputs(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [
        output["data"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    ]


def _a_run_of_its_experiment(html: str, cells: list[str] | None = None) -> bool:
    """Whether a snapshot of one of the notebook's experiments shows one of its runs (in
    ``cells``, the texts of its elements, when given)."""
    name = TWO_FAMILIES_RUN if "two-families" in html else RUN_NAME
    return name in (html if cells is None else cells)


def _static_tables(text: str) -> list[str]:
    return re.findall(r'<div class="nbtrack-static".*?</table>', text, flags=re.DOTALL)


@pytest.mark.slow
def test_executed_notebook_keeps_the_static_html_next_to_the_widget(
    executed: nbformat.NotebookNode,
) -> None:
    outputs = _widget_outputs(executed)
    assert len(outputs) >= 2  # the notebook shows `view` more than once
    for data in outputs:
        assert _a_run_of_its_experiment(data["text/html"])
        assert "data:image/png;base64," in data["text/html"]
    # nbclient saves the state of the kernel's widgets in the notebook (store_widget_state).
    state = executed.metadata["widgets"][WIDGET_STATE]["state"]
    assert {data[WIDGET_VIEW]["model_id"] for data in outputs} <= set(state)


@pytest.mark.slow
def test_nbconvert_execute_to_html_shows_the_widget_state_not_the_snapshot(
    executed: nbformat.NotebookNode, tmp_path: Path
) -> None:
    """What ``jupyter nbconvert --to html --execute`` gives: the widget view wins over
    ``text/html`` because its model's state was saved; the page then needs the widget manager
    from a CDN (unpkg) to draw anything, so offline it shows nothing for these outputs."""
    text = _convert(executed, tmp_path)
    assert text.count(f'<script type="{WIDGET_VIEW}">') == len(_widget_outputs(executed))
    assert f'<script type="{WIDGET_STATE}">' in text
    assert "@jupyter-widgets/html-manager" in text
    assert not _static_tables(text)


@pytest.mark.slow
def test_nbconvert_to_html_without_widget_state_shows_the_static_table_and_chart(
    executed: nbformat.NotebookNode, tmp_path: Path
) -> None:
    """A notebook saved without widget state (JupyterLab's default, or executed with
    ``--ExecutePreprocessor.store_widget_state=False``) exports our ``text/html`` instead."""
    notebook = nbformat.from_dict(json.loads(json.dumps(executed)))
    del notebook.metadata["widgets"]
    text = _convert(notebook, tmp_path)
    assert f'<script type="{WIDGET_VIEW}">' not in text
    tables = _static_tables(text)
    assert len(tables) == len(_widget_outputs(executed))
    for table in tables:
        assert _a_run_of_its_experiment(table, Tags(table).text)  # a cell of its own
    images = [png for png, _ in decoded_images(text)]
    assert len(images) == len(tables)
    assert all(png.startswith(PNG_SIGNATURE) for png in images)
    # Each output is a snapshot of the view when it was shown: the charts differ.
    assert len(set(images)) > 1
