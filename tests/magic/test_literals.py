"""Which assignments of a %%track cell become params on their own: read, never run."""

from __future__ import annotations

import textwrap

import pytest

from nbtrack.magic.literals import literal_params


def params(code: str) -> dict[str, object]:
    return literal_params(textwrap.dedent(code))


# -- what counts as a literal --------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("lr = 0.1", {"lr": 0.1}),
        ("name = 'adam'", {"name": "adam"}),
        ('name = "ad" "am"', {"name": "adam"}),
        ("layers = [64, 32]", {"layers": [64, 32]}),
        ('cfg = {"a": 1, "b": [1, 2]}', {"cfg": {"a": 1, "b": [1, 2]}}),
        ("flag = True", {"flag": True}),
        ("off = False", {"off": False}),
        ("nothing = None", {"nothing": None}),
        ("n = -3", {"n": -3}),
        ("n = +3", {"n": 3}),
        ("x = 1e-3", {"x": 0.001}),
        ("x = -2.5", {"x": -2.5}),
        ("big = 1_000_000", {"big": 1000000}),
        ("mask = 0xFF", {"mask": 255}),
        ("empty = []", {"empty": []}),
        ("empty = {}", {"empty": {}}),
        ("empty = ''", {"empty": ""}),
        ("inf = 1e999", {"inf": float("inf")}),
        ('dup = {"a": 1, "a": 2}', {"dup": {"a": 2}}),
    ],
)
def test_literal_assignment_becomes_a_param(code: str, expected: dict[str, object]) -> None:
    assert params(code) == expected


def test_bool_stays_a_bool_not_an_int() -> None:
    value = params("flag = True")["flag"]
    assert value is True


def test_tuple_becomes_a_list() -> None:
    assert params("t = (1, 2)") == {"t": [1, 2]}
    assert params("t = ((1, 2), [3, (4,)])") == {"t": [[1, 2], [3, [4]]]}


def test_deeply_nested_structure_is_kept_whole() -> None:
    depth = 50
    code = "deep = " + '{"k": [' * depth + "1" + "]}" * depth
    value = params(code)["deep"]
    for _ in range(depth):
        assert isinstance(value, dict)
        (value,) = value["k"]
    assert value == 1


@pytest.mark.parametrize(
    "code",
    [
        "x = y",
        "x = compute()",
        "x = 1 + 2",
        "x = 2 ** 10",
        "x = 1 / 3",
        "x = -y",
        "x = --1",
        "x = -True",
        "x = not True",
        "x = f'lr={lr}'",
        "x = f'plain'",
        "x = [1, y]",
        "x = [1, compute()]",
        "x = [*a, 1]",
        "x = {'a': y}",
        "x = {**base, 'a': 1}",
        "x = (1, *rest)",
        "x = 1 if flag else 2",
        "x = lambda: 1",
        "x = [i for i in range(3)]",
        "x = np.float32(0.1)",
        "x = range(3)",
        "x = float('nan')",
        "x = 'a'.upper()",
    ],
)
def test_non_literal_expression_is_not_a_param(code: str) -> None:
    assert "x" not in params(code)


@pytest.mark.parametrize(
    "code",
    [
        "x = b'bytes'",
        "x = {1, 2}",
        "x = set()",
        "x = 1 + 2j",
        "x = 2j",
        "x = ...",
        "x = {1: 'a'}",
        "x = {(1, 2): 'a'}",
        "x = [1, b'two']",
        "x = {'a': {1, 2}}",
    ],
)
def test_literal_a_param_cannot_hold_is_skipped(code: str) -> None:
    assert params(code) == {}


# -- names and the order of the result -----------------------------------------------------


def test_chained_assignment_gives_every_name() -> None:
    assert params("a = b = 5") == {"a": 5, "b": 5}


def test_tuple_unpacking_of_literals_gives_each_name() -> None:
    assert params("a, b = 1, 2") == {"a": 1, "b": 2}
    assert params("[a, b] = [1, 'x']") == {"a": 1, "b": "x"}
    assert params("(a, (b, c)) = 1, (2, [3])") == {"a": 1, "b": 2, "c": [3]}


def test_unpacking_that_does_not_pair_up_drops_the_names() -> None:
    assert params("a, b = 1, 2, 3") == {}
    assert params("a, *b = 1, 2, 3") == {}
    assert params("a, b = 'xy'") == {}
    assert params("a, b = pair") == {}
    assert params("lr = 0.1\nlr, momentum = values") == {}


def test_annotated_assignment_is_a_param() -> None:
    assert params("lr: float = 0.1") == {"lr": 0.1}


def test_bare_annotation_keeps_the_earlier_literal() -> None:
    assert params("lr = 0.1\nlr: float") == {"lr": 0.1}
    assert params("lr: float") == {}


def test_private_and_ipython_names_are_skipped() -> None:
    code = "_ = 1\n__ = 2\n_i1 = 'lr = 0.1'\n_hidden = 3\n__dunder__ = 4\nshown = 5"
    assert params(code) == {"shown": 5}


def test_unicode_names_and_values_are_kept() -> None:
    assert params("λ = 0.5\nnom = 'café ☕'\nétapes = ['学习', 'δ']") == {
        "λ": 0.5,
        "nom": "café ☕",
        "étapes": ["学习", "δ"],
    }


def test_name_is_taken_in_the_normal_form_python_gives_it() -> None:
    # "ﬁ" (one ligature character) is the variable `fi` to Python.
    assert params("\ufb01 = 1") == {"fi": 1}


def test_result_is_in_order_of_first_appearance() -> None:
    assert list(params("b = 1\na = 2\nc = 3\nb = 4")) == ["b", "a", "c"]


# -- the final value wins ------------------------------------------------------------------


def test_name_assigned_two_literals_keeps_the_last() -> None:
    assert params("lr = 0.1\nlr = 0.01") == {"lr": 0.01}


def test_later_non_literal_assignment_drops_the_name() -> None:
    assert params("lr = 0.1\nlr = compute()") == {}
    assert params("lr = 0.1\nlr = lr * 2") == {}


def test_literal_after_a_non_literal_is_the_final_value() -> None:
    assert params("lr = compute()\nlr = 0.3") == {"lr": 0.3}


def test_augmented_assignment_drops_the_name() -> None:
    assert params("epochs = 10\nepochs += 1") == {}
    assert params("epochs = 10\nif more:\n    epochs *= 2") == {}


def test_del_drops_the_name() -> None:
    assert params("tmp = 1\ndel tmp") == {}


def test_item_or_attribute_assignment_drops_the_container() -> None:
    assert params("cfg = {'a': 1}\ncfg['b'] = 2") == {}
    assert params("cfg = {'a': {'b': 1}}\ncfg['a']['b'] = 2") == {}
    assert params("cfg = {'a': 1}\ndel cfg['a']") == {}
    assert params("cfg = {'a': 1}\ncfg['a'] += 1") == {}
    assert params("cfg = {'a': 1}\ncfg.x = 1") == {}


def test_mutating_method_call_drops_the_container() -> None:
    assert params("layers = [64]\nlayers.append(32)") == {}
    assert params("cfg = {}\ncfg.update(a=1)") == {}
    assert params("layers = [2, 1]\nlayers.sort()") == {}


def test_reading_method_call_keeps_the_literal() -> None:
    assert params("cfg = {'a': 1}\nprint(cfg.get('a'))\nname = 'x'\nname.upper()") == {
        "cfg": {"a": 1},
        "name": "x",
    }


def test_mutation_inside_a_function_drops_the_container() -> None:
    code = """
        cfg = {"a": 1}
        def tweak():
            cfg["a"] = 2
        tweak()
    """
    assert params(code) == {}


def test_global_in_a_function_drops_the_name() -> None:
    code = """
        lr = 0.1
        def decay():
            global lr
            lr = lr / 2
    """
    assert params(code) == {}


def test_global_statement_at_top_level_changes_nothing() -> None:
    assert params("global lr\nlr = 0.1") == {"lr": 0.1}


def test_walrus_is_not_a_param_and_rebinds_the_name() -> None:
    assert params("if (n := 10) > 5:\n    pass") == {}
    assert params("n = 1\nprint(n := 2)") == {}
    assert params("x = (y := 5)") == {}


def test_walrus_in_a_comprehension_rebinds_the_top_level_name() -> None:
    assert params("last = 0\n[last := i for i in range(3)]") == {}


def test_comprehension_variable_does_not_touch_the_top_level_name() -> None:
    assert params("i = 5\nsquares = [i * i for i in range(3)]") == {"i": 5}


def test_import_binding_the_name_drops_it() -> None:
    assert params("np = 1\nimport numpy as np") == {}
    assert params("os = 1\nimport os.path") == {}
    assert params("lr = 0.1\nfrom config import lr") == {}


def test_star_import_drops_every_earlier_name_but_not_later_ones() -> None:
    assert params("a = 1\nfrom config import *\nb = 2") == {"b": 2}


def test_def_or_class_of_the_same_name_drops_it() -> None:
    assert params("model = 'x'\ndef model():\n    pass") == {}
    assert params("model = 'x'\nclass model:\n    pass") == {}


def test_exec_cannot_be_followed_and_keeps_the_literal() -> None:
    # A documented limit: code run from strings is not read.
    assert params("lr = 0.1\nexec('lr = 2')") == {"lr": 0.1}


# -- what "top level" means ----------------------------------------------------------------


def test_if_elif_else_bodies_are_top_level_and_the_last_literal_wins() -> None:
    code = """
        if fast:
            epochs = 1
        elif medium:
            epochs = 10
            lr = 0.1
        else:
            epochs = 50
    """
    assert params(code) == {"epochs": 50, "lr": 0.1}


def test_with_body_is_top_level_and_its_target_is_not() -> None:
    code = """
        with open("f") as handle:
            batch = 32
    """
    assert params(code) == {"batch": 32}
    assert params("handle = 1\nwith open('f') as handle:\n    pass") == {}


def test_try_blocks_are_top_level() -> None:
    code = """
        try:
            a = 1
        except ValueError:
            b = 2
        else:
            c = 3
        finally:
            d = 4
    """
    assert params(code) == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert params("try:\n    a = 1\nexcept* ValueError:\n    b = 2") == {"a": 1, "b": 2}


def test_except_target_is_not_a_param() -> None:
    assert params("error = 'x'\ntry:\n    pass\nexcept Exception as error:\n    pass") == {}


def test_match_case_bodies_are_top_level_and_capture_patterns_rebind() -> None:
    code = """
        match mode:
            case "fast":
                epochs = 1
            case {"epochs": n}:
                depth = 3
    """
    assert params(code) == {"epochs": 1, "depth": 3}
    assert params("n = 1\nmatch x:\n    case [*n]:\n        pass") == {}
    assert params("n = 1\nmatch x:\n    case {**n}:\n        pass") == {}
    assert params("n = 1\nmatch x:\n    case int() as n:\n        pass") == {}


@pytest.mark.parametrize(
    "code",
    [
        "for i in range(3):\n    lr = 0.1",
        "while False:\n    lr = 0.1",
        "for i in range(3):\n    pass\nelse:\n    lr = 0.1",
        "def f():\n    lr = 0.1",
        "async def f():\n    lr = 0.1",
        "class C:\n    lr = 0.1",
        "if x:\n    for i in y:\n        lr = 0.1",
        "f = lambda lr=0.1: lr",
    ],
)
def test_assignment_inside_loop_function_or_class_is_not_a_param(code: str) -> None:
    assert "lr" not in params(code)


def test_loop_that_rebinds_a_name_drops_its_earlier_literal() -> None:
    assert params("lr = 0.1\nfor step in range(3):\n    lr = lr * 0.9") == {}
    assert params("i = 0\nfor i in range(3):\n    pass") == {}


def test_function_local_of_the_same_name_keeps_the_top_level_literal() -> None:
    assert params("lr = 0.1\ndef f():\n    lr = 2\n    return lr") == {"lr": 0.1}


def test_function_parameter_default_is_not_a_param() -> None:
    assert params("def train(lr=0.1):\n    pass") == {}


# -- what IPython hands over, and cells that do not parse ----------------------------------


def test_empty_cell_has_no_params() -> None:
    assert literal_params("") == {}
    assert literal_params("\n\n   \n") == {}
    assert literal_params("# only a comment\n") == {}


def test_comments_do_not_hide_assignments() -> None:
    assert params("# setup\nlr = 0.1  # learning rate\n# lr = 5\n") == {"lr": 0.1}


def test_windows_line_endings_parse() -> None:
    assert literal_params("lr = 0.1\r\nepochs = 3\r\n") == {"lr": 0.1, "epochs": 3}


def test_syntax_error_gives_no_params() -> None:
    assert literal_params("lr = 0.1\ndef broken(:") == {}
    assert literal_params("lr = (0.1") == {}


def test_untransformed_magic_line_gives_no_params() -> None:
    assert literal_params("!pip install x\nlr = 0.1") == {}


def test_transformed_shell_and_magic_lines_are_not_params() -> None:
    code = """
        get_ipython().system('pip install x')
        files = get_ipython().getoutput('ls')
        get_ipython().run_line_magic('time', 'slow = 1')
        lr = 0.1
    """
    assert params(code) == {"lr": 0.1}


def test_top_level_await_cell_parses() -> None:
    code = """
        await asyncio.sleep(0)
        data = await fetch()
        async with session() as s:
            batch = 16
        async for item in stream():
            seen = 1
        lr = 0.1
    """
    assert params(code) == {"batch": 16, "lr": 0.1}


def test_source_with_nul_byte_or_lone_surrogate_gives_no_params() -> None:
    assert literal_params("lr = 0.1\x00") == {}
    assert literal_params("lr = '\ud800'") == {}


def test_expression_too_deep_to_walk_gives_no_params() -> None:
    assert literal_params("x = " + "1 + " * 100_000 + "1") == {}
    assert literal_params("x = " + "[" * 300 + "]" * 300) == {}


def test_literal_the_store_would_refuse_is_skipped_not_raised() -> None:
    assert params("huge = " + repr("x" * (64 * 1024 + 1))) == {}
    assert params("s = '\\ud800'\nok = 1") == {"ok": 1}
    assert params("s = 'a\\x00b'\nok = 1") == {"ok": 1}
    assert params("n = " + "9" * 5000) == {}


def test_name_longer_than_a_param_key_may_be_is_skipped() -> None:
    assert params(f"{'a' * 251} = 1\n{'b' * 250} = 2") == {"b" * 250: 2}


def test_result_is_a_fresh_copy_each_time() -> None:
    first = literal_params("layers = [64]")
    first["layers"].append(1)  # type: ignore[attr-defined]
    assert literal_params("layers = [64]") == {"layers": [64]}
