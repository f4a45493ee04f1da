"""The ``%%track`` line, parsed: pure Python, so it is tested without IPython.

Every bad line raises :class:`~nbtrack.errors.InvalidValueError` with one line that names the
bad token and shows :data:`USAGE`; the magic turns it into IPython's ``UsageError``.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shlex
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.validation import MAX_KEY_LENGTH, check_name, tag_value

MAGIC = "%%track"

USAGE = (
    "%%track [--experiment NAME] [--name RUN] [--params a,b] [--metrics acc,loss] "
    "[--tags k=v ...] [--run last|RUN] [--notebook PATH] [--live] [--autolog]"
)

HELP = f"""Track this cell as one nbtrack run.

Usage: {USAGE}

The run records the cell's source, the notebook, the kernel, the git state and the timing.
Top-level assignments of a literal in the cell (``lr = 0.1``, not inside loops or functions)
become params; ``nbtrack.log_metric`` inside the cell logs to this run. A cell that raises
marks the run FAILED and still shows its traceback; the stop button marks it KILLED.
Another cell magic (%%time, %%capture, ...) may follow on the next line and runs inside the
run; a tracked cell run from this one (get_ipython().run_cell) becomes its child run.

Options:
  -e, --experiment NAME  log to this experiment (created if missing); later cells use it too
  -n, --name RUN         the run's name (default: a generated one)
  --params a,b           variables whose values before the cell become params
                         (comma- or space-separated; the option may be repeated)
  --metrics acc,loss     variables whose values after the cell become metrics, when
                         the cell assigned them (a value left by an earlier cell, or
                         not reached by a failing one, is skipped, and said so)
  --tags k=v [k=v ...]   tags of the run; a value may contain '=';
                         quote one with spaces: --tags note="first try"
  --run last|RUN         log to an existing run instead of a new one: the last run of
                         this kernel, or a run id, its first 4 or more characters (the
                         8 shown everywhere) or a run name, where unique
  --notebook PATH        the notebook to record, when it is not detected
  --live                 draw the run's metrics under the cell as they are logged
  --autolog              log the cell's scikit-learn fits into the run (params, metrics,
                         model; a search's best candidates as child runs), and metrics
                         computed in the cell on the fitted model (nbtrack.autolog())

Values that start with '-' are written --name=-x; the line is split as a shell would, so
quote backslashes and spaces ('C:\\runs\\a.ipynb').
"""

_RUN_ID = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class TrackArgs:
    """What a ``%%track`` line asks for; the defaults are an empty line."""

    experiment: str | None = None
    name: str | None = None
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    run: str | None = None
    notebook: str | None = None
    live: bool = False
    autolog: bool = False


def parse_track_line(line: str) -> TrackArgs:
    """Parse what follows ``%%track`` on the first line of a cell.

    Raises
    ------
    InvalidValueError
        One line naming the bad token, then the usage.

    Examples
    --------
    >>> parse_track_line("-e mnist --params lr,epochs --tags team=vision").params
    ('lr', 'epochs')
    """
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise _invalid(f"{str(exc).lower()} in {line.strip()!r}") from None
    try:
        parsed, extra = _PARSER.parse_known_args(tokens)
    except argparse.ArgumentError as exc:
        raise _invalid(_explain(exc)) from None
    if extra:
        raise _invalid(_unexpected(extra[0]))
    try:
        return TrackArgs(
            experiment=_optional_name(parsed.experiment, "--experiment"),
            name=_optional_name(parsed.name, "--name"),
            params=_variables(parsed.params, "--params"),
            metrics=_variables(parsed.metrics, "--metrics"),
            tags=_tags(parsed.tags),
            run=_run(parsed.run),
            notebook=_notebook(parsed.notebook),
            live=parsed.live,
            autolog=parsed.autolog,
        )
    except InvalidValueError as exc:
        raise _invalid(str(exc)) from None


def split_track_cell(cell: str) -> tuple[str, str] | None:
    """Split a cell into (its ``%%track`` line's arguments, its body), or None if untracked.

    The magic must open the first non-blank line, at its very start, as IPython reads a cell
    magic. The body is the rest of the cell exactly as typed (line endings included).

    Examples
    --------
    >>> split_track_cell("%%track -e mnist\\nlr = 0.1\\n")
    ('-e mnist', 'lr = 0.1\\n')
    >>> split_track_cell("%%tracker\\n") is None
    True
    """
    # splitlines is what IPython splits a cell with, so both agree on where the line ends.
    lines = cell.splitlines(keepends=True)
    first = next((i for i, text in enumerate(lines) if not text.isspace()), None)
    if first is None or not lines[first].startswith(MAGIC):
        return None
    after = lines[first][len(MAGIC) :]
    if after and not after[0].isspace():
        return None  # another magic whose name starts with "track"
    return after.strip(), "".join(lines[first + 1 :])


@dataclass(frozen=True)
class CellMagic:
    """The cell magic (``%%time``) that a tracked cell's body opens with, read as IPython
    reads a cell magic: its name, and the lines from its own line on (what IPython runs)."""

    name: str
    source: str

    @property
    def body(self) -> str:
        """The cell the magic is given: the lines after its own line."""
        return "".join(self.source.splitlines(keepends=True)[1:])


@dataclass(frozen=True)
class TrackCell:
    """A ``%%track`` cell, read: the options, the body as typed, and the cell magic the body
    opens with, if any (``%%track`` then ``%%time``: the run wraps the timed cell)."""

    args: TrackArgs
    body: str
    magic: CellMagic | None = None

    @property
    def literal_source(self) -> str | None:
        """The code whose literal assignments become params, or None when another cell magic
        runs the body as something other than Python in the user's namespace."""
        if self.magic is None:
            return self.body
        return self.magic.body if self.magic.name in NAMESPACE_CELL_MAGICS else None


# Cell magics known to run their body as Python in the user's namespace, as a plain cell
# would, so its literals are the run's params. Others may not run Python (%%bash,
# %%writefile), or not there (%%timeit runs it in a namespace of its own).
NAMESPACE_CELL_MAGICS = frozenset({"time", "capture"})


def parse_track_cell(cell: str) -> TrackCell | None:
    """Read a cell: None if it is not tracked, else its line parsed and its body.

    Raises
    ------
    InvalidValueError
        A bad ``%%track`` line, or a second ``%%track`` line below it.

    Examples
    --------
    >>> parse_track_cell("%%track -n r1\\n%%time\\nlr = 0.1\\n").magic.name
    'time'
    """
    split = split_track_cell(cell)
    if split is None:
        return None
    line, body = split
    args = parse_track_line(line)
    magic = cell_magic_of(body)
    if magic is not None and magic.name == MAGIC[2:]:
        raise _invalid(
            "a second %%track line: a cell is one run (a tracked cell run from it with "
            "get_ipython().run_cell becomes its child run)"
        )
    return TrackCell(args, body, magic)


def cell_magic_of(body: str) -> CellMagic | None:
    """The cell magic ``body`` opens with, as IPython would read the body as a cell.

    IPython drops the blank lines before it and takes the name up to the first space.

    Examples
    --------
    >>> cell_magic_of("\\n%%capture out\\nprint(1)\\n")
    CellMagic(name='capture', source='%%capture out\\nprint(1)\\n')
    >>> cell_magic_of("x = 1\\n") is None
    True
    """
    lines = body.splitlines(keepends=True)
    first = next((i for i, text in enumerate(lines) if not text.isspace()), None)
    if first is None or not lines[first].startswith("%%"):
        return None
    name = lines[first][2:].rstrip().partition(" ")[0]
    return CellMagic(name, "".join(lines[first:]))


def is_track_cell(cell: str) -> bool:
    """Whether the cell starts with the ``%%track`` magic (see :func:`split_track_cell`)."""
    return split_track_cell(cell) is not None


class _Parser(argparse.ArgumentParser):
    # argparse prints and exits on some errors even with exit_on_error=False (3.11 still
    # calls error() for several of them): both become exceptions we translate.
    def error(self, message: str) -> NoReturn:
        raise argparse.ArgumentError(None, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise argparse.ArgumentError(None, message or f"stopped with status {status}")


class _Once(argparse.Action):
    """A single-valued option: a second value is an error, not a silent replacement."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest) is not None:
            raise argparse.ArgumentError(self, f"is given twice (again with {values!r})")
        setattr(namespace, self.dest, values)


def _build_parser() -> argparse.ArgumentParser:
    # No abbreviations: they would turn every new option into a breaking change for lines
    # that relied on a prefix. No -h: help is the magic's docstring (%%track?).
    parser = _Parser(prog="%%track", add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--experiment", "-e", action=_Once)
    parser.add_argument("--name", "-n", action=_Once)
    parser.add_argument("--params", action="extend", nargs="+", default=[])
    parser.add_argument("--metrics", action="extend", nargs="+", default=[])
    parser.add_argument("--tags", action="extend", nargs="+", default=[])
    parser.add_argument("--run", action=_Once)
    parser.add_argument("--notebook", action=_Once)
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--autolog", action="store_true")
    return parser


_PARSER = _build_parser()


def _invalid(problem: str) -> InvalidValueError:
    return InvalidValueError(f"%%track: {problem}; usage: {USAGE}")


def _explain(error: argparse.ArgumentError) -> str:
    option, message = error.argument_name, error.message
    if option is None:
        return message
    if message == "expected one argument":
        long = option.split("/")[0]
        return f"{option} needs a value (write {long}=VALUE for a value that starts with '-')"
    if message == "expected at least one argument":
        return f"{option} needs at least one value"
    if message.startswith("ignored explicit argument"):
        return f"{option} takes no value, got {message.partition('argument ')[2]}"
    return f"{option} {message}"


def _unexpected(token: str) -> str:
    if token == "--":
        return "unexpected '--': %%track takes options only"
    if token in ("-h", "--help"):
        return f"unknown option {token!r} (the help is shown by %%track?)"
    if token.startswith("-") and len(token) > 1:
        return f"unknown option {token!r}"
    return f"unexpected {token!r} (a value goes right after its option; quote one with spaces)"


def _optional_name(value: str | None, option: str) -> str | None:
    return None if value is None else check_name(value, f"{option} value")


def _variables(values: list[str], option: str) -> tuple[str, ...]:
    names: list[str] = []
    for token in values:
        for piece in token.split(","):
            # Python itself NFKC-normalises identifiers: the namespace key is the normal form.
            name = unicodedata.normalize("NFKC", piece.strip())
            if not name:
                continue  # "a, b" splits into "a," and "b"
            if not name.isidentifier() or keyword.iskeyword(name):
                raise InvalidValueError(f"{option} entry {piece.strip()!r} is not a variable name")
            if len(name) > MAX_KEY_LENGTH:
                raise InvalidValueError(
                    f"{option} entry {name[:40]!r}... is longer than {MAX_KEY_LENGTH} characters"
                )
            if name not in names:
                names.append(name)
    if values and not names:
        raise InvalidValueError(f"{option} needs at least one variable name, got {values!r}")
    return tuple(names)


def _tags(values: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for token in values:
        key, equals, value = token.partition("=")
        if not equals:
            raise InvalidValueError(f"--tags entry {token!r} has no '=' (write key=value)")
        if not key:
            raise InvalidValueError(f"--tags entry {token!r} has an empty key (write key=value)")
        if key in tags:
            raise InvalidValueError(f"--tags key {key!r} is given twice")
        tags[check_name(key, "--tags key")] = tag_value(key, value)
    return tags


def _run(value: str | None) -> str | None:
    """'last', or a reference to a run (an id, an id prefix or a name), which the magic
    resolves against the store when the cell runs."""
    if value is None:
        return None
    if value.lower() == "last":
        return "last"
    if not value:
        raise InvalidValueError(
            "--run value '' is empty: give last, a run id, its first 4 or more characters "
            "or a run name"
        )
    if _RUN_ID.fullmatch(value):
        return value.lower()  # ids are stored in lower case; a pasted upper-case one still works
    return check_name(value, "--run value")


def _notebook(value: str | None) -> str | None:
    if value is None:
        return None
    if not value:
        raise InvalidValueError("--notebook value must not be empty")
    if "\x00" in value:
        raise InvalidValueError(f"--notebook value {value!r} contains a NUL byte")
    return value
