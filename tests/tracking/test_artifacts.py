"""Artifacts: files a run keeps, written whole or not at all, and never outside its folder."""

from __future__ import annotations

import enum
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.tracking import artifacts, atomic_files
from nbtrack.tracking.artifacts import FileInfo
from nbtrack.tracking.run import ActiveRun


@pytest.fixture
def run(store_path: Path) -> Iterator[ActiveRun]:
    with nbtrack.start_run(name="artifacts") as active:
        yield active


def _root(run: ActiveRun) -> Path:
    return Path(nbtrack.get_run(run.id).artifact_uri)


def _files(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, leaving out the store's own files.

    The store's folders are not even walked: the background flusher makes and removes its
    work folder in the journal folder at any moment, and a walk that met it half-gone failed.
    """
    found = set()
    for top, dirs, files in os.walk(folder):
        if Path(top) == folder:
            dirs[:] = [name for name in dirs if not name.startswith(_STORE_FILES)]
        found |= {(Path(top) / name).relative_to(folder).as_posix() for name in dirs + files}
    return {path for path in found if not path.startswith(_STORE_FILES)}


_STORE_FILES = ("nbtrack.duckdb", ".nbtrack.duckdb")


def _paths(infos: list[FileInfo]) -> list[str]:
    return [info.path for info in infos]


# -- text and dicts ------------------------------------------------------------------------------


def test_log_text_then_load_text_gives_back_the_exact_text(run: ActiveRun) -> None:
    text = "accuracy: 0.93 ✓\nλ = 0.1, 損失 📉\r\nlast line without newline"
    artifacts.log_text(text, "notes/summary.md")

    assert artifacts.load_text(run.id, "notes/summary.md") == text
    assert (_root(run) / "notes" / "summary.md").read_bytes() == text.encode("utf-8")


def test_log_text_again_replaces_the_file(run: ActiveRun) -> None:
    artifacts.log_text("first", "a.txt")
    artifacts.log_text("second", "a.txt")

    assert artifacts.load_text(run.id, "a.txt") == "second"


def test_log_dict_as_json_round_trips_nested_lists(run: ActiveRun) -> None:
    config = {"layers": [64, [32, 16]], "opt": {"name": "adam", "betas": (0.9, 0.999)}, "n": None}
    artifacts.log_dict(config, "config.json")

    assert artifacts.load_dict(run.id, "config.json") == {
        "layers": [64, [32, 16]],
        "opt": {"name": "adam", "betas": [0.9, 0.999]},
        "n": None,
    }
    assert json.loads((_root(run) / "config.json").read_text(encoding="utf-8"))["n"] is None


def test_log_dict_as_yaml_round_trips_and_writes_yaml(run: ActiveRun) -> None:
    pytest.importorskip("yaml")
    config = {"model": "résnet", "layers": [64, [32, 16]], "opt": {"lr": 0.1}}
    artifacts.log_dict(config, "config.yaml")

    assert artifacts.load_dict(run.id, "config.yaml") == config
    written = (_root(run) / "config.yaml").read_text(encoding="utf-8")
    assert written.startswith("model: résnet\n")


def test_log_dict_stores_numpy_values_as_plain_numbers(run: ActiveRun) -> None:
    np = pytest.importorskip("numpy")
    artifacts.log_dict(
        {"acc": np.float64(0.5), "n": np.int64(3), "w": np.array([[1, 2], [3, 4]])}, "m.json"
    )

    assert artifacts.load_dict(run.id, "m.json") == {"acc": 0.5, "n": 3, "w": [[1, 2], [3, 4]]}


def test_log_dict_stores_enum_members_as_their_values(run: ActiveRun) -> None:
    class Optimizer(str, enum.Enum):  # noqa: UP042 - the older idiom, whose str() is "Optimizer.ADAM"
        ADAM = "adam"

    class Depth(enum.IntEnum):
        DEEP = 12

    artifacts.log_dict({"opt": Optimizer.ADAM, "depth": Depth.DEEP}, "c.json")

    assert artifacts.load_dict(run.id, "c.json") == {"opt": "adam", "depth": 12}
    pytest.importorskip("yaml")
    artifacts.log_dict({Optimizer.ADAM: [Depth.DEEP]}, "c.yaml")
    assert artifacts.load_dict(run.id, "c.yaml") == {"adam": [12]}


def test_log_dict_with_a_value_json_cannot_hold_says_where_it_is(run: ActiveRun) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"\['model'\]\['fn'\] is a set"):
        artifacts.log_dict({"model": {"fn": {1, 2}}}, "config.json")
    with pytest.raises(nbtrack.InvalidValueError, match="contains itself"):
        looped: dict[str, Any] = {}
        looped["self"] = looped
        artifacts.log_dict(looped, "loop.json")

    assert not _root(run).exists()


def test_log_dict_as_yaml_without_pyyaml_says_what_to_install(
    run: ActiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` fail

    with pytest.raises(nbtrack.InvalidValueError, match="pip install pyyaml"):
        artifacts.log_dict({"a": 1}, "config.yml")
    assert not _root(run).exists()


def test_load_dict_of_a_file_that_is_not_a_json_dict_is_refused(run: ActiveRun) -> None:
    artifacts.log_text("[1, 2]", "list.json")
    artifacts.log_text("{not json", "broken.json")

    with pytest.raises(nbtrack.InvalidValueError, match="holds a list, not a dict"):
        artifacts.load_dict(run.id, "list.json")
    with pytest.raises(nbtrack.InvalidValueError, match="not valid JSON"):
        artifacts.load_dict(run.id, "broken.json")


def test_load_text_of_a_binary_file_points_to_download(run: ActiveRun, tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\xff\xfe\x00\x81")
    artifacts.log_artifact(tmp_path / "weights.bin")

    with pytest.raises(nbtrack.InvalidValueError, match=r"not UTF-8.*download_artifacts"):
        artifacts.load_text(run.id, "weights.bin")


def test_log_text_of_something_that_is_not_text_is_refused(run: ActiveRun) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="takes a str, got bytes"):
        artifacts.log_text(b"raw", "a.txt")  # type: ignore[arg-type]


# -- files and folders ---------------------------------------------------------------------------


def test_log_artifact_copies_a_file_to_the_top_or_under_artifact_path(
    run: ActiveRun, tmp_path: Path
) -> None:
    local = tmp_path / "confusion.csv"
    local.write_text("a,b\n1,2\n", encoding="utf-8")

    artifacts.log_artifact(local)
    artifacts.log_artifact(str(local), artifact_path="eval/tables")

    assert (_root(run) / "confusion.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert artifacts.load_text(run.id, "eval/tables/confusion.csv") == "a,b\n1,2\n"
    assert artifacts.list_artifacts(run.id, "eval/tables") == [
        FileInfo("eval/tables/confusion.csv", is_dir=False, file_size=8)
    ]


def test_log_artifact_of_a_missing_file_names_it(run: ActiveRun, tmp_path: Path) -> None:
    with pytest.raises(nbtrack.NotFoundError, match=r"'.*nowhere\.csv' does not exist"):
        artifacts.log_artifact(tmp_path / "nowhere.csv")


def test_log_artifact_of_a_folder_suggests_log_artifacts(run: ActiveRun, tmp_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"is a folder.*log_artifacts"):
        artifacts.log_artifact(tmp_path)


def test_log_artifacts_of_a_file_suggests_log_artifact(run: ActiveRun, tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("1", encoding="utf-8")

    with pytest.raises(nbtrack.InvalidValueError, match=r"not a folder.*log_artifact\("):
        artifacts.log_artifacts(tmp_path / "one.txt")


def test_log_artifacts_copies_a_tree_then_lists_it_level_by_level(
    run: ActiveRun, tmp_path: Path
) -> None:
    src = tmp_path / "outputs"
    (src / "plots" / "deep").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "metrics.json").write_text("{}", encoding="utf-8")
    (src / "plots" / "loss.svg").write_text("<svg/>", encoding="utf-8")
    (src / "plots" / "deep" / "x.txt").write_text("x", encoding="utf-8")

    artifacts.log_artifacts(src)
    artifacts.log_artifacts(src, artifact_path="copy")

    assert artifacts.list_artifacts(run.id) == [
        FileInfo("copy", is_dir=True),
        FileInfo("empty", is_dir=True),
        FileInfo("metrics.json", is_dir=False, file_size=2),
        FileInfo("plots", is_dir=True),
    ]
    assert artifacts.list_artifacts(run.id, "plots") == [
        FileInfo("plots/deep", is_dir=True),
        FileInfo("plots/loss.svg", is_dir=False, file_size=6),
    ]
    assert _paths(artifacts.list_artifacts(run.id, "copy/plots/deep")) == ["copy/plots/deep/x.txt"]
    assert artifacts.list_artifacts(run.id, "empty") == []


def test_log_artifacts_follows_a_linked_folder_but_not_round_a_loop(
    run: ActiveRun, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "a.txt").write_text("a", encoding="utf-8")
    (src / "alias").symlink_to(src / "real")
    (src / "real" / "up").symlink_to(src)

    artifacts.log_artifacts(src)

    assert _paths(artifacts.list_artifacts(run.id)) == ["alias", "real"]
    assert _paths(artifacts.list_artifacts(run.id, "alias")) == ["alias/a.txt"]
    assert _paths(artifacts.list_artifacts(run.id, "real")) == ["real/a.txt"]


def test_log_artifacts_with_one_unreadable_entry_logs_nothing(
    run: ActiveRun, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("ok", encoding="utf-8")
    (src / "zz-broken").symlink_to(tmp_path / "gone")

    with pytest.raises(nbtrack.InvalidValueError, match=r"zz-broken.*not a regular file"):
        artifacts.log_artifacts(src)
    assert not _root(run).exists()


def test_dots_and_double_slashes_in_a_path_are_tidied(run: ActiveRun) -> None:
    artifacts.log_text("x", "./notes//a.txt")

    assert _paths(artifacts.list_artifacts(run.id)) == ["notes"]
    assert artifacts.load_text(run.id, "notes/./a.txt") == "x"


def _matplotlib_figure() -> Any:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    return Figure()


@pytest.mark.parametrize(
    "log",
    [
        lambda: artifacts.log_text("x", "a.txt"),
        lambda: artifacts.log_dict({"a": 1}, "a.json"),
        lambda: artifacts.log_artifact(__file__),
        lambda: artifacts.log_artifacts(Path(__file__).parent),
        lambda: artifacts.log_figure(_matplotlib_figure(), "a.png"),
    ],
    ids=["log_text", "log_dict", "log_artifact", "log_artifacts", "log_figure"],
)
def test_logging_an_artifact_with_no_active_run_says_how_to_start_one(
    store_path: Path, log: Callable[[], None]
) -> None:
    with pytest.raises(nbtrack.NoActiveRunError, match=r"nbtrack\.start_run\(\)"):
        log()


# -- reading -------------------------------------------------------------------------------------


def test_list_artifacts_of_a_run_that_logged_nothing_is_empty(run: ActiveRun) -> None:
    assert artifacts.list_artifacts(run.id) == []


def test_list_artifacts_of_a_file_gives_that_file(run: ActiveRun) -> None:
    artifacts.log_text("abc", "d/f.txt")

    assert artifacts.list_artifacts(run.id, "d/f.txt") == [FileInfo("d/f.txt", False, 3)]


def test_reading_a_missing_artifact_lists_what_is_there(run: ActiveRun) -> None:
    artifacts.log_text("a", "plots/loss.png")
    artifacts.log_text("b", "plots/sub/x.txt")
    artifacts.log_text("c", "notes.md")

    with pytest.raises(nbtrack.NotFoundError, match=r"'plots/acc\.png'.*loss\.png, sub/"):
        artifacts.load_text(run.id, "plots/acc.png")
    with pytest.raises(nbtrack.NotFoundError, match=r"'nope/x'.*top level.*notes\.md, plots/"):
        artifacts.list_artifacts(run.id, "nope/x")
    with pytest.raises(nbtrack.NotFoundError, match="no artifact 'gone'"):
        artifacts.download_artifacts(run.id, "gone", Path.cwd())


def test_reading_artifacts_of_an_unknown_run_is_not_found(store_path: Path) -> None:
    with pytest.raises(nbtrack.NotFoundError):
        artifacts.list_artifacts("0123456789abcdef")


def test_load_text_of_a_folder_suggests_list_artifacts(run: ActiveRun) -> None:
    artifacts.log_text("a", "d/a.txt")

    with pytest.raises(nbtrack.InvalidValueError, match=r"is a folder.*list_artifacts"):
        artifacts.load_text(run.id, "d")


def test_download_artifacts_copies_a_file_into_the_folder_given(
    run: ActiveRun, tmp_path: Path
) -> None:
    artifacts.log_text("weights ✓", "model/weights.txt")
    dst = tmp_path / "downloads"
    dst.mkdir()

    local = artifacts.download_artifacts(run.id, "model/weights.txt", dst)

    assert local == str(dst / "weights.txt")
    assert Path(local).read_text(encoding="utf-8") == "weights ✓"


def test_download_artifacts_copies_a_folder_tree(run: ActiveRun, tmp_path: Path) -> None:
    artifacts.log_text("a", "model/a.txt")
    artifacts.log_dict({"k": [1]}, "model/conf/c.json")
    dst = tmp_path / "downloads"
    dst.mkdir()

    local = Path(artifacts.download_artifacts(run.id, "model", str(dst)))

    assert local == dst / "model"
    assert _files(local) == {"a.txt", "conf", "conf/c.json"}
    assert json.loads((local / "conf" / "c.json").read_text(encoding="utf-8")) == {"k": [1]}


def test_download_artifacts_into_a_missing_folder_or_a_file_names_it(
    run: ActiveRun, tmp_path: Path
) -> None:
    artifacts.log_text("a", "a.txt")

    with pytest.raises(nbtrack.NotFoundError, match=r"no-such-dir.*does not exist"):
        artifacts.download_artifacts(run.id, "a.txt", tmp_path / "no-such-dir")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    with pytest.raises(nbtrack.InvalidValueError, match=r"a-file' is not a folder"):
        artifacts.download_artifacts(run.id, "a.txt", tmp_path / "a-file")


def test_download_artifacts_of_a_folder_into_itself_is_refused(run: ActiveRun) -> None:
    artifacts.log_text("a", "d/a.txt")

    with pytest.raises(nbtrack.InvalidValueError, match="into itself"):
        artifacts.download_artifacts(run.id, "d", _root(run) / "d")


# -- paths never leave the run's folder ----------------------------------------------------------

TRAVERSALS = [
    "../x.txt",
    "a/../../x.txt",
    "..\\x.txt",
    "a\\..\\..\\x.txt",
    "%2e%2e/x.txt",
    "%2E%2E%2Fx.txt",
    "%252e%252e/x.txt",
    "",
    "a\x00b.txt",
    "/etc/passwd",
    "{outside}/x.txt",
    "C:/x.txt",
]


def _writers(src: Path) -> dict[str, Callable[[str], None]]:
    return {
        "log_text": lambda path: artifacts.log_text("pwned", path),
        "log_dict": lambda path: artifacts.log_dict({"pwned": True}, path),
        "log_artifact": lambda path: artifacts.log_artifact(src / "file.txt", path),
        "log_artifacts": lambda path: artifacts.log_artifacts(src, path),
    }


@pytest.mark.parametrize("writer", ["log_text", "log_dict", "log_artifact", "log_artifacts"])
@pytest.mark.parametrize("path", TRAVERSALS)
def test_writing_to_a_path_that_leaves_the_run_folder_is_refused_and_writes_nothing(
    run: ActiveRun, tmp_path: Path, writer: str, path: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "file.txt").write_text("pwned", encoding="utf-8")
    path = path.format(outside=tmp_path / "outside")
    before = _files(tmp_path)

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        _writers(tmp_path / "src")[writer](path)

    assert repr(path) in str(raised.value)
    assert "relative path" in str(raised.value)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("reader", ["load_text", "load_dict", "list_artifacts", "download"])
@pytest.mark.parametrize("path", TRAVERSALS)
def test_reading_a_path_that_leaves_the_run_folder_is_refused(
    run: ActiveRun, tmp_path: Path, reader: str, path: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_text('{"secret": 1}', encoding="utf-8")
    (tmp_path / "dst").mkdir()
    artifacts.log_text("inside", "a/x.txt")
    path = path.format(outside=tmp_path / "outside")
    readers: dict[str, Callable[[], object]] = {
        "load_text": lambda: artifacts.load_text(run.id, path),
        "load_dict": lambda: artifacts.load_dict(run.id, path),
        "list_artifacts": lambda: artifacts.list_artifacts(run.id, path),
        "download": lambda: artifacts.download_artifacts(run.id, path, tmp_path / "dst"),
    }
    before = _files(tmp_path)

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        readers[reader]()

    assert repr(path) in str(raised.value)
    assert _files(tmp_path) == before


def _run_with_link_outside(run: ActiveRun, tmp_path: Path) -> tuple[Path, Path]:
    """The run's folder with ``link -> outside/`` and ``passwd -> outside/secret.txt``."""
    artifacts.log_text("kept", "data/kept.txt")
    root = _root(run)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text('{"secret": 1}', encoding="utf-8")
    (root / "link").symlink_to(outside)
    (root / "passwd").symlink_to(outside / "secret.txt")
    (root / "data" / "passwd").symlink_to(outside / "secret.txt")
    return root, outside


@pytest.mark.parametrize(
    ("writer", "path"),
    [
        ("log_text", "link/x.txt"),
        ("log_text", "passwd"),
        ("log_dict", "link/deeper/x.json"),
        ("log_dict", "data/passwd"),
        ("log_artifact", "link"),
        ("log_artifacts", "link"),
        ("log_artifacts", "link/sub"),
    ],
)
def test_writing_through_a_link_that_leaves_the_run_folder_is_refused(
    run: ActiveRun, tmp_path: Path, writer: str, path: str
) -> None:
    _, outside = _run_with_link_outside(run, tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "file.txt").write_text("pwned", encoding="utf-8")

    with pytest.raises(nbtrack.InvalidValueError, match="symbolic link"):
        _writers(tmp_path / "src")[writer](path)

    assert _files(outside) == {"secret.txt"}
    assert (outside / "secret.txt").read_text(encoding="utf-8") == '{"secret": 1}'


def test_reading_through_a_link_that_leaves_the_run_folder_is_refused(
    run: ActiveRun, tmp_path: Path
) -> None:
    _run_with_link_outside(run, tmp_path)
    dst = tmp_path / "dst"
    dst.mkdir()

    for path in ("passwd", "link/secret.txt", "data/passwd"):
        with pytest.raises(nbtrack.InvalidValueError, match="symbolic link"):
            artifacts.load_text(run.id, path)
        with pytest.raises(nbtrack.InvalidValueError, match="symbolic link"):
            artifacts.download_artifacts(run.id, path, dst)
    with pytest.raises(nbtrack.InvalidValueError, match="symbolic link"):
        artifacts.list_artifacts(run.id, "link")
    assert _paths(artifacts.list_artifacts(run.id)) == ["data"]
    assert _paths(artifacts.list_artifacts(run.id, "data")) == ["data/kept.txt"]

    artifacts.download_artifacts(run.id, "data", dst)
    assert _files(dst) == {"data", "data/kept.txt"}


def test_a_link_that_stays_inside_the_run_folder_can_be_used(run: ActiveRun) -> None:
    artifacts.log_text("v2", "v2/notes.txt")
    (_root(run) / "latest").symlink_to(_root(run) / "v2")

    artifacts.log_text("more", "latest/more.txt")

    assert (_root(run) / "v2" / "more.txt").read_text(encoding="utf-8") == "more"
    assert artifacts.load_text(run.id, "latest/notes.txt") == "v2"
    assert _paths(artifacts.list_artifacts(run.id, "latest")) == [
        "latest/more.txt",
        "latest/notes.txt",
    ]


def test_a_loop_of_links_in_the_run_folder_is_refused_not_followed(run: ActiveRun) -> None:
    artifacts.log_text("a", "a.txt")
    (_root(run) / "loop").symlink_to(_root(run) / "loop")

    with pytest.raises(nbtrack.InvalidValueError, match="loop of symbolic links"):
        artifacts.log_text("x", "loop/x.txt")
    with pytest.raises(nbtrack.InvalidValueError, match="loop of symbolic links"):
        artifacts.load_text(run.id, "loop")
    assert _paths(artifacts.list_artifacts(run.id)) == ["a.txt"]


# -- a failed write leaves nothing half-written --------------------------------------------------


def _fail_copy_halfway(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def copy_half_then_fail(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(str(dst))
        data = Path(src).read_bytes()
        Path(dst).write_bytes(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", copy_half_then_fail)
    return calls


def test_a_copy_that_fails_halfway_leaves_no_file_and_no_leftovers(
    run: ActiveRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(1 << 20))
    calls = _fail_copy_halfway(monkeypatch)

    with pytest.raises(OSError, match="No space left"):
        artifacts.log_artifact(local, artifact_path="data")

    assert len(calls) == 1
    assert Path(calls[0]).parent == _root(run) / "data"
    assert _files(_root(run)) == {"data"}


def test_a_failed_replacement_keeps_the_previous_file_whole(
    run: ActiveRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "model.bin"
    local.write_bytes(b"version one " * 1000)
    artifacts.log_artifact(local)
    local.write_bytes(b"version two " * 1000)
    _fail_copy_halfway(monkeypatch)

    with pytest.raises(OSError, match="No space left"):
        artifacts.log_artifact(local)

    assert (_root(run) / "model.bin").read_bytes() == b"version one " * 1000
    assert _files(_root(run)) == {"model.bin"}


def test_a_text_write_that_fails_halfway_leaves_no_file(
    run: ActiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_half_then_fail(self: Path, data: bytes) -> int:
        with self.open("wb") as file:
            file.write(data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", write_half_then_fail)

    with pytest.raises(KeyboardInterrupt):
        artifacts.log_text("x" * 10_000, "notes/long.txt")

    assert _files(_root(run)) == {"notes"}


def test_a_half_file_left_by_a_crash_is_not_listed(run: ActiveRun) -> None:
    artifacts.log_text("a", "a.txt")
    (_root(run) / f".b.txt.0123456789ab{atomic_files.PARTIAL_SUFFIX}").write_bytes(b"half")

    assert _paths(artifacts.list_artifacts(run.id)) == ["a.txt"]


def test_a_folder_in_the_way_of_a_file_is_named(run: ActiveRun) -> None:
    artifacts.log_text("a", "report/a.txt")

    with pytest.raises(nbtrack.InvalidValueError, match="a folder of that name is in the way"):
        artifacts.log_text("b", "report")
    with pytest.raises(nbtrack.InvalidValueError, match="a file of that name is in the way"):
        artifacts.log_text("c", "report/a.txt/c.txt")


# -- figures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start"),
    [("plots/loss.png", b"\x89PNG"), ("loss.svg", b"<?xml"), ("loss.pdf", b"%PDF")],
)
def test_log_figure_saves_a_matplotlib_figure_in_the_format_its_name_gives(
    run: ActiveRun, name: str, start: bytes
) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1, 2], [0.9, 0.5, 0.3])

    artifacts.log_figure(figure, name)

    assert (_root(run) / name).read_bytes().startswith(start)
    assert _files(_root(run)) >= {name}


def test_log_figure_of_matplotlib_in_an_unknown_format_lists_the_formats(run: ActiveRun) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figure = Figure()
    with pytest.raises(nbtrack.InvalidValueError, match=r"'xyz'.*\.png"):
        artifacts.log_figure(figure, "loss.xyz")
    with pytest.raises(nbtrack.InvalidValueError, match=r"\.figure"):
        artifacts.log_figure(figure.subplots(), "loss.png")
    assert not _root(run).exists()


def _altair_chart() -> Any:
    alt = pytest.importorskip("altair")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"step": [0, 1, 2], "loss": [0.9, 0.5, 0.25]})
    return alt.Chart(frame).mark_line().encode(x="step", y="loss")


def test_log_figure_saves_an_altair_chart_as_html_and_as_its_spec(run: ActiveRun) -> None:
    chart = _altair_chart()

    artifacts.log_figure(chart, "charts/loss.html")
    artifacts.log_figure(chart, "charts/loss.json")

    html = artifacts.load_text(run.id, "charts/loss.html")
    assert "<html" in html
    assert "vegaEmbed" in html
    assert "0.25" in html
    assert artifacts.load_dict(run.id, "charts/loss.json")["mark"] == {"type": "line"}


def test_log_figure_saves_an_altair_chart_as_png_and_svg_offline(run: ActiveRun) -> None:
    # vl-convert-python (a dependency of nbtrack) renders without a browser or network.
    chart = _altair_chart()

    artifacts.log_figure(chart, "loss.png")
    artifacts.log_figure(chart, "loss.svg")

    png = Path(artifacts.download_artifacts(run.id, "loss.png", _root(run).parent))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in artifacts.load_text(run.id, "loss.svg")


def test_log_figure_of_an_altair_chart_in_an_unknown_format_names_the_accepted_ones(
    run: ActiveRun,
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"\.html, \.json"):
        artifacts.log_figure(_altair_chart(), "loss.gif")
    assert not _root(run).exists()


@pytest.mark.parametrize("thing", [object(), {"data": [1, 2]}, "plot.png"])
def test_log_figure_of_something_else_names_its_type(run: ActiveRun, thing: object) -> None:
    kind = f"{type(thing).__module__}.{type(thing).__qualname__}"

    with pytest.raises(nbtrack.InvalidValueError, match=f"got {kind}"):
        artifacts.log_figure(thing, "plot.png")
    assert not _root(run).exists()
