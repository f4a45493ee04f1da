"""The %%track line: what each option gives, and one clear line for every mistake."""

from __future__ import annotations

import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.magic.arguments import (
    HELP,
    USAGE,
    CellMagic,
    TrackArgs,
    cell_magic_of,
    is_track_cell,
    parse_track_cell,
    parse_track_line,
    split_track_cell,
)

RUN_ID = "0123456789abcdef0123456789abcdef"


def error_for(line: str) -> str:
    with pytest.raises(InvalidValueError) as caught:
        parse_track_line(line)
    return str(caught.value)


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", "   ", "\t"])
def test_empty_line_gives_the_defaults(line: str) -> None:
    assert parse_track_line(line) == TrackArgs(
        experiment=None,
        name=None,
        params=(),
        metrics=(),
        tags={},
        run=None,
        notebook=None,
    )


@pytest.mark.parametrize(
    "line", ["--experiment mnist", "-e mnist", "--experiment=mnist", "-e=mnist", "-emnist"]
)
def test_experiment_long_short_and_attached_forms(line: str) -> None:
    assert parse_track_line(line).experiment == "mnist"


@pytest.mark.parametrize("line", ["--name baseline", "-n baseline", "--name=baseline"])
def test_run_name_long_and_short_forms(line: str) -> None:
    assert parse_track_line(line).name == "baseline"


def test_quoted_value_keeps_its_spaces() -> None:
    assert parse_track_line("--name 'first try' -e \"my experiment\"") == TrackArgs(
        experiment="my experiment", name="first try"
    )


def test_value_starting_with_a_dash_is_written_with_equals() -> None:
    assert parse_track_line("--name=-x").name == "-x"
    assert parse_track_line("--name -3").name == "-3"


def test_unicode_values_are_kept() -> None:
    args = parse_track_line("-e 実験 -n café --tags équipe=vision")
    assert (args.experiment, args.name, args.tags) == ("実験", "café", {"équipe": "vision"})


@pytest.mark.parametrize(
    "line",
    [
        "--params lr,epochs",
        "--params lr, epochs",
        "--params lr ,epochs",
        "--params 'lr, epochs'",
        "--params lr --params epochs",
        "--params lr epochs",
        "--params lr,epochs,",
        "--params lr,,epochs",
        "--params lr,epochs,lr",
        "--params=lr,epochs",
    ],
)
def test_params_accept_commas_spaces_and_repeated_flags(line: str) -> None:
    assert parse_track_line(line).params == ("lr", "epochs")


def test_metrics_accept_the_same_forms_as_params() -> None:
    assert parse_track_line("--metrics acc, loss --metrics f1").metrics == ("acc", "loss", "f1")


def test_params_and_metrics_may_name_the_same_variable() -> None:
    args = parse_track_line("--params x --metrics x")
    assert (args.params, args.metrics) == (("x",), ("x",))


def test_variable_names_may_be_private_unicode_or_soft_keywords() -> None:
    assert parse_track_line("--params _seed,λ,match,type").params == ("_seed", "λ", "match", "type")


def test_variable_name_is_taken_in_python_normal_form() -> None:
    assert parse_track_line("--params \ufb01").params == ("fi",)


def test_tags_take_one_or_more_pairs_and_repeat() -> None:
    args = parse_track_line("--tags team=vision owner=ana --tags stage=dev")
    assert args.tags == {"team": "vision", "owner": "ana", "stage": "dev"}


def test_tag_value_may_contain_equals_be_empty_or_quoted() -> None:
    args = parse_track_line("--tags query=a=b empty= note='first try' 'odd key=x'")
    assert args.tags == {"query": "a=b", "empty": "", "note": "first try", "odd key": "x"}


def test_tag_value_keeps_backslashes_inside_single_quotes() -> None:
    assert parse_track_line(r"--tags path='C:\runs\a'").tags == {"path": r"C:\runs\a"}


def test_run_last_is_kept_as_last() -> None:
    assert parse_track_line("--run last").run == "last"


def test_run_id_is_accepted_and_lowercased() -> None:
    assert parse_track_line(f"--run {RUN_ID}").run == RUN_ID
    assert parse_track_line(f"--run {RUN_ID.upper()}").run == RUN_ID


@pytest.mark.parametrize(
    "reference", ["0123abcd", "0123", "ABCD12", "baseline", "sweep run 3", RUN_ID + "0", "first"]
)
def test_run_takes_a_short_id_or_a_name_as_given_to_be_resolved_when_the_cell_runs(
    reference: str,
) -> None:
    # Resolution needs the store (which runs exist), so the line keeps the text as typed.
    assert parse_track_line(f"--run '{reference}'").run == reference


def test_run_last_in_any_case_is_the_last_run() -> None:
    assert parse_track_line("--run LAST").run == "last"


def test_notebook_path_is_kept_as_given() -> None:
    assert parse_track_line("--notebook 'notebooks/my run.ipynb'").notebook == (
        "notebooks/my run.ipynb"
    )
    assert parse_track_line(r"--notebook 'C:\work\a.ipynb'").notebook == r"C:\work\a.ipynb"


def test_live_is_a_flag() -> None:
    assert parse_track_line("--live").live is True
    assert parse_track_line("").live is False


def test_every_option_together_in_any_order() -> None:
    line = (
        f"--live --tags a=1 b=2 -n r1 --metrics acc --run {RUN_ID} "
        "--params lr,bs --notebook nb.ipynb -e exp"
    )
    assert parse_track_line(line) == TrackArgs(
        experiment="exp",
        name="r1",
        params=("lr", "bs"),
        metrics=("acc",),
        tags={"a": "1", "b": "2"},
        run=RUN_ID,
        notebook="nb.ipynb",
        live=True,
    )


def test_track_args_is_frozen() -> None:
    args = parse_track_line("-e x")
    with pytest.raises(AttributeError):
        args.experiment = "y"  # type: ignore[misc]


# -- mistakes: one line naming the bad token, and the usage --------------------------------


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("--bogus", "'--bogus'"),
        ("--bogus=1", "'--bogus=1'"),
        ("-x", "'-x'"),
        ("--exp mnist", "'--exp'"),  # no abbreviations
        ("--param lr", "'--param'"),
        ("--help", "%%track?"),
        ("-h", "%%track?"),
        ("stray", "'stray'"),
        ("--tags a=1 -n r b=2", "'b=2'"),
        ("-e a b", "'b'"),
        ("-- -e a", "'--'"),
        ("-e", "--experiment"),
        ("--name", "--name"),
        ("--name --run", "--name"),
        ("--run", "--run"),
        ("--notebook", "--notebook"),
        ("--params", "--params"),
        ("--metrics", "--metrics"),
        ("--tags", "--tags"),
        ("--live=yes", "'yes'"),
        ("-e a -e b", "given twice"),
        ("--name a --name a", "given twice"),
        ("--run last --run last", "given twice"),
        ("--params 1x", "'1x'"),
        ("--params lr,2nd", "'2nd'"),
        ("--params lr-rate", "'lr-rate'"),
        ("--params a.b", "'a.b'"),
        ("--params class", "'class'"),
        ("--metrics acc,None", "'None'"),
        ("--params ,", "at least one"),
        ("--params " + "a" * 251, "250"),
        ("--tags team", "'team'"),
        ("--tags a=1 b", "'b'"),
        ("--tags team= vision", "'vision'"),
        ("--tags =vision", "'=vision'"),
        ("--tags a=1 a=2", "'a'"),
        ("--tags " + "k" * 251 + "=v", "250"),
        ("--run ''", "''"),
        ("-e ''", "empty"),
        ("--name ''", "empty"),
        ("--notebook ''", "empty"),
        ("-e " + "x" * 251, "250"),
        ("--name 'oops", "quotation"),
        ('--tags note="oops', "quotation"),
        ("--name oops\\", "escaped"),
    ],
)
def test_bad_line_raises_one_line_naming_the_token_and_the_usage(line: str, names: str) -> None:
    message = error_for(line)
    assert names in message
    assert message.startswith("%%track: ")
    assert message.endswith(f"usage: {USAGE}")
    assert "\n" not in message


def test_bad_line_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown option"):
        parse_track_line("--bogus")


@pytest.mark.parametrize(
    "line",
    ["--bogus", "-e", "--help", "-h", "--run x", "--params 1", "'", "-e a -e b", "--live=1"],
)
def test_argparse_never_prints_or_exits(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        parse_track_line(line)
    except InvalidValueError:
        pass
    except SystemExit:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"parse_track_line({line!r}) called sys.exit")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("line", ["--bogus", "-e", "'", "--run ''", "--tags a"])
def test_bad_line_error_shows_no_chained_internal_error(line: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_track_line(line)
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_usage_is_one_line_naming_every_option() -> None:
    assert "\n" not in USAGE
    for option in (
        "--experiment",
        "--name",
        "--params",
        "--metrics",
        "--tags",
        "--run",
        "--notebook",
        "--live",
    ):
        assert option in USAGE


def test_help_describes_every_option_and_shows_the_usage() -> None:
    assert USAGE in HELP
    for option in ("-e, --experiment", "-n, --name", "--params", "--metrics", "--tags"):
        assert option in HELP
    for option in ("--run last|RUN", "--notebook PATH"):
        assert option in HELP
    assert len(HELP.splitlines()) > 10


# -- finding the %%track line in a cell ----------------------------------------------------


def test_cell_with_magic_splits_into_line_and_body() -> None:
    cell = "%%track -e mnist -n r1\nlr = 0.1\nprint(lr)\n"
    assert split_track_cell(cell) == ("-e mnist -n r1", "lr = 0.1\nprint(lr)\n")
    assert is_track_cell(cell)


def test_magic_alone_gives_an_empty_line_and_body() -> None:
    assert split_track_cell("%%track") == ("", "")
    assert split_track_cell("%%track\n") == ("", "")
    assert split_track_cell("%%track   \n") == ("", "")


def test_blank_lines_before_the_magic_are_skipped() -> None:
    assert split_track_cell("\n  \n\t\n%%track -e x\nbody\n") == ("-e x", "body\n")


def test_body_is_kept_exactly_as_typed() -> None:
    body = "\n  x = 1  \n\n# comment\n\ty = 2"
    assert split_track_cell("%%track\n" + body) == ("", body)


def test_windows_line_endings_stay_out_of_the_line_and_in_the_body() -> None:
    assert split_track_cell("%%track -e x\r\nlr = 0.1\r\n") == ("-e x", "lr = 0.1\r\n")
    assert split_track_cell("\r\n%%track\r\n") == ("", "")


def test_tab_after_the_magic_separates_its_arguments() -> None:
    assert split_track_cell("%%track\t-e x\n") == ("-e x", "")


@pytest.mark.parametrize(
    "cell",
    [
        "",
        "\n\n",
        "lr = 0.1",
        "%%tracker\nx = 1",
        "%%track_all\nx = 1",
        "%%track-e x\nx = 1",
        "%%time\n%%track\nx = 1",
        " %%track\nx = 1",
        "\t%%track\nx = 1",
        "%track -e x\nx = 1",
        "# %%track\nx = 1",
        "x = 1\n%%track\n",
        "%%Track\nx = 1",
    ],
)
def test_cell_not_opened_by_the_track_magic_is_not_a_track_cell(cell: str) -> None:
    assert split_track_cell(cell) is None
    assert not is_track_cell(cell)


def test_split_line_parses_and_the_body_is_what_literals_read() -> None:
    split = split_track_cell("%%track --params lr --tags team=a\nlr = 0.1\n")
    assert split is not None
    line, body = split
    assert parse_track_line(line).tags == {"team": "a"}
    assert body == "lr = 0.1\n"


# -- another cell magic below the %%track line ---------------------------------------------


def test_a_cell_magic_below_the_track_line_is_read_as_ipython_reads_it() -> None:
    cell = parse_track_cell("%%track -n r1\n\n%%capture out --no-stderr\nlr = 0.1\n")
    assert cell is not None
    assert cell.args.name == "r1"
    assert cell.body == "\n%%capture out --no-stderr\nlr = 0.1\n"
    assert cell.magic == CellMagic("capture", "%%capture out --no-stderr\nlr = 0.1\n")
    assert cell.magic.body == "lr = 0.1\n"


def test_literals_are_read_from_the_body_a_magic_runs_in_the_namespace() -> None:
    def literal_source(cell: str) -> str | None:
        parsed = parse_track_cell(cell)
        assert parsed is not None
        return parsed.literal_source

    assert literal_source("%%track\nlr = 0.1\n") == "lr = 0.1\n"
    assert literal_source("%%track\n%%time\nlr = 0.1\n") == "lr = 0.1\n"
    assert literal_source("%%track\n%%capture\nlr = 0.1\n") == "lr = 0.1\n"
    assert literal_source("%%track\n%%writefile lr.py\nlr = 0.1\n") is None
    assert literal_source("%%track\n%%timeit\nlr = 0.1\n") is None


@pytest.mark.parametrize("body", ["x = 1\n", "", "\n\n", "# %%time\nx = 1", " %%time\nx = 1"])
def test_a_body_not_opened_by_a_cell_magic_has_none(body: str) -> None:
    assert cell_magic_of(body) is None


def test_a_second_track_line_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="a second %%track line"):
        parse_track_cell("%%track -n a\n%%track -n b\nx = 1\n")


def test_a_cell_without_the_track_magic_reads_as_none() -> None:
    assert parse_track_cell("%%time\nx = 1\n") is None


def test_a_bad_line_is_refused_with_a_magic_below_it_too() -> None:
    with pytest.raises(InvalidValueError, match="--bogus"):
        parse_track_cell("%%track --bogus\n%%time\nx = 1\n")


def test_autolog_is_a_flag_off_by_default() -> None:
    assert parse_track_line("--autolog -n grid").autolog is True
    assert parse_track_line("-n grid").autolog is False
    with pytest.raises(InvalidValueError, match="--autolog takes no value"):
        parse_track_line("--autolog=yes")
