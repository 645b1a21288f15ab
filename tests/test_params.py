"""The parameter contract: profile tables, overrides, type checks (in the notebook and before it)."""

from __future__ import annotations

import json

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_helpers import FIXTURE
from relutopo.repro.params import PROFILES, ParameterError, check_value_type, resolve_parameters
from relutopo.repro.runner import (check_contract, inspect_notebook, parse_cli_value,
                             validate_parameters)

TABLE = {"smoke": {"n": 2, "lr": 0.1, "name": "a", "widths": [2, 3], "flag": False},
         "book": {"n": 5, "lr": 0.01, "name": "b", "widths": [8, 8], "flag": True},
         "paper": {"n": 50, "lr": 0.001, "name": "c", "widths": [25, 25, 25], "flag": True}}


# --------------------------------------------------------------------------- resolve_parameters

@pytest.mark.parametrize("profile", PROFILES)
def test_none_overrides_take_the_profile_values(profile):
    p = resolve_parameters(profile, TABLE, n=None, lr=None)
    assert p.profile == profile and p.overridden == ()
    for k, v in TABLE[profile].items():
        assert getattr(p, k) == (tuple(v) if isinstance(v, list) else v)


def test_overrides_replace_values_and_are_listed():
    p = resolve_parameters("smoke", TABLE, n=7, lr=1, widths=[4])
    assert (p.n, p.lr, p.widths) == (7, 1.0, (4,))
    assert isinstance(p.lr, float)
    assert set(p.overridden) == {"n", "lr", "widths"}


@pytest.mark.parametrize("kw, fragment", [
    ({"n": 2.5}, "parameter 'n' must be of type int"),
    ({"n": True}, "parameter 'n' must be of type int"),
    ({"n": "3"}, "parameter 'n' must be of type int"),
    ({"lr": "fast"}, "parameter 'lr' must be of type float"),
    ({"lr": False}, "parameter 'lr' must be of type float"),
    ({"flag": 1}, "parameter 'flag' must be of type bool"),
    ({"widths": 3}, "parameter 'widths' must be of type list"),
    ({"name": 3}, "parameter 'name' must be of type str"),
])
def test_wrong_types_name_the_parameter(kw, fragment):
    with pytest.raises(ParameterError, match=fragment):
        resolve_parameters("book", TABLE, **kw)


def test_unknown_profile_and_parameter_list_the_allowed_ones():
    with pytest.raises(ParameterError, match="allowed profiles: smoke, book, paper"):
        resolve_parameters("tiny", TABLE)
    with pytest.raises(ParameterError, match="unknown parameter 'm'.*flag, lr, n, name, widths"):
        resolve_parameters("book", TABLE, m=3)


def test_profile_tables_must_be_complete_and_consistent():
    with pytest.raises(ParameterError, match=r"lacks profile\(s\) \['paper'\]"):
        resolve_parameters("book", {k: TABLE[k] for k in ("smoke", "book")})
    bad = {**TABLE, "paper": {**TABLE["paper"], "extra": 1}}
    with pytest.raises(ParameterError, match="every profile must define the same parameters"):
        resolve_parameters("book", bad)


def test_params_attribute_errors_and_json_dict():
    p = resolve_parameters("smoke", TABLE)
    with pytest.raises(AttributeError, match="no parameter 'nn'"):
        p.nn
    d = p.as_dict()
    assert json.loads(json.dumps(d)) == {"profile": "smoke", **TABLE["smoke"]}


values = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False,
                                                           width=32), st.booleans(), st.text(max_size=5))


@settings(max_examples=60, deadline=None)
@given(template=values, value=values)
def test_check_value_type_accepts_exactly_the_matching_kinds(template, value):
    """int: ints only (not bool); float: ints and floats (not bool); bool: bools; str: strs."""
    t = type(template)
    if t is bool:
        ok = isinstance(value, bool)
    elif t is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if ok:
        out = check_value_type("x", value, template)
        assert out == value and (type(out) is float if t is float else type(out) is type(value))
    else:
        with pytest.raises(ParameterError, match="parameter 'x'"):
            check_value_type("x", value, template)


@settings(max_examples=40, deadline=None)
@given(profile=st.sampled_from(PROFILES), n=st.one_of(st.none(), st.integers(0, 100)),
       lr=st.one_of(st.none(), st.floats(0, 1)))
def test_resolution_is_override_else_profile(profile, n, lr):
    p = resolve_parameters(profile, TABLE, n=n, lr=lr)
    assert p.n == (TABLE[profile]["n"] if n is None else n)
    assert p.lr == (TABLE[profile]["lr"] if lr is None else lr)
    assert set(p.overridden) == {k for k, v in (("n", n), ("lr", lr)) if v is not None}


# --------------------------------------------------------------------------- before execution

def _notebook(tmp_path, param_lines, profiles=None, name="paper_x"):
    nb = nbformat.v4.new_notebook()
    c = nbformat.v4.new_code_cell("\n".join(param_lines))
    c.metadata["tags"] = ["parameters"]
    profiles = profiles or {"smoke": {}, "book": {}, "paper": {}}
    start = nbformat.v4.new_code_cell(
        f"PROFILES = {profiles!r}\nnb = NotebookRun.start({name!r}, PROFILES, globals())")
    start.metadata["tags"] = ["hide-input"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A title"), c, start,
                nbformat.v4.new_code_cell("nb.finish()")]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, str(path))   # note: no kernelspec, like nbformat-generated notebooks
    return path


def test_inspect_reads_types_from_annotations_defaults_and_profiles(tmp_path):
    path = _notebook(tmp_path, [
        'profile = "book"  # smoke | book | paper', "output_dir: str = None",
        "a: int = None  # an int", "b: Optional[float] = None", "c: list[int] = None",
        "d: List[int] = None", "g: bool = None", "e = 3", "f = None"],
        {p: {"a": 1, "b": 0.5, "c": [1], "d": [2], "e": 3, "f": "x", "g": True} for p in PROFILES})
    info = inspect_notebook(path)
    types = {p.name: p.type_name for p in info.parameters}
    assert types == {"profile": "str", "output_dir": "str", "a": "int", "b": "float",
                     "c": "list", "d": "list", "e": "int", "f": "str", "g": "bool"}
    assert info.parameter("a").help == "an int"
    assert dict(info.parameter("a").profile_values) == {p: 1 for p in PROFILES}
    assert info.title == "A title"


def test_cli_values_are_parsed_by_declared_type():
    info = inspect_notebook(FIXTURE)
    assert parse_cli_value(info, "grid", "12") == 12
    assert parse_cli_value(info, "stall_s", "2") == 2.0
    assert parse_cli_value(info, "fail", "True") is True
    assert parse_cli_value(info, "fail", "no") is False
    for name, text, fragment in [("grid", "12.5", "must be of type int"),
                                 ("fail", "maybe", "must be of type bool"),
                                 ("stall_s", "soon", "must be of type float"),
                                 ("gird", "1", "unknown parameter 'gird'"),
                                 ("profile", "paper", "--profile"),
                                 ("output_dir", "x", "--output")]:
        with pytest.raises(ParameterError, match=fragment):
            parse_cli_value(info, name, text)


def test_validate_parameters_checks_python_values_and_profile():
    info = inspect_notebook(FIXTURE)
    assert validate_parameters(info, "smoke", {"grid": 10, "stall_s": 1}) == {"grid": 10,
                                                                              "stall_s": 1.0}
    assert validate_parameters(info, "paper", {"grid": None}) == {}
    with pytest.raises(ParameterError, match="unknown profile 'fast'.*smoke, book, paper"):
        validate_parameters(info, "fast", {})


def test_fixture_follows_the_contract_and_violations_are_named(tmp_path):
    assert check_contract(FIXTURE) == []
    nb = nbformat.read(str(FIXTURE), as_version=4)
    nb.cells[1].metadata["tags"] = []
    nb.cells[-1].source = "pass"
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="x")]
    nb.cells[0].source = "no heading"
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(path))
    problems = "\n".join(check_contract(path))
    assert "tagged 'parameters'" in problems
    assert "nb.finish()" in problems
    assert "without outputs" in problems
    assert "'# <title>'" in problems


def test_unannotated_size_parameter_is_a_contract_problem(tmp_path):
    path = _notebook(tmp_path, ['profile = "book"', "output_dir: str = None", "n = None"],
                     {p: {"n": 1} for p in PROFILES})
    assert any("needs a type annotation" in p for p in check_contract(path))
    path = _notebook(tmp_path, ['profile = "book"', "output_dir: str = None"],
                     {p: {"n": 1} for p in PROFILES}, name="paper_y")
    assert any("-p cannot override it" in p for p in check_contract(path))
    # papermill does not parse `X | None` annotations: the contract check says so
    path = _notebook(tmp_path, ['profile = "book"', "output_dir: str = None", "n: int | None = None"],
                     {p: {"n": 1} for p in PROFILES}, name="paper_z")
    assert any("'n'" in p and "X | None" in p for p in check_contract(path))
