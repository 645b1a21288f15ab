"""Execute paper notebooks with papermill: validate parameters first, publish outputs atomically.

One code path serves ``relutopo run``, ``make book``, ``relutopo verify`` and the tests:

1. :func:`inspect_notebook` reads a notebook's ``parameters`` cell (papermill's
   ``inspect_notebook``: names, annotated types, defaults, help comments) and, when it is a
   literal, the ``PROFILES`` table of its second cell.
2. :func:`validate_parameters` checks the profile and every override *before* a kernel starts:
   an unknown name, a value of the wrong type or outside the parameter's allowed values (the
   ``[...]`` that starts its help comment, :mod:`relutopo.repro.param_ranges`) stops at once with a
   :class:`ParameterError` naming the parameter, the value and what is allowed; a size far
   beyond the ``paper`` profile asks for confirmation (:class:`ConfirmationNeeded`).
3. :func:`run_notebook` executes the notebook (papermill, in a child process that Ctrl-C
   stops promptly: :mod:`relutopo.repro._execute`) in a private staging folder next to the output
   folder, checks the ``results.json`` the notebook wrote (its ``nb.finish()``), then swaps the
   staging folder in and copies ``results.json`` atomically to ``results/<profile>/<paper>.json``
   (the committed record). An interrupted or failed run therefore never leaves a half-written
   executed copy or results file, and nothing relutopo did not write is ever replaced: the
   output folder must be new, empty, or an earlier run's (:func:`check_output_folder`). A run whose notebook source and parameters hash to the same
   value as the last successful run in that folder is skipped unless ``force=True``.

Output folder layout (``<out>``; default ``_build/runs/<profile>/<paper>/``)::

    <out>/<paper>.ipynb      executed copy (the book page when <out> is book/executed/<paper>)
    <out>/figures/*.png      the figures, as saved by nb.figure
    <out>/results.json       the claims
    <out>/.run.json          the stamp: hash of notebook source + profile + parameters, and
                             the list of files the run wrote (what a rerun may replace)
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from relutopo.repro.param_ranges import (SIZE_CONFIRM_FACTOR, AllowedSpecError, AllowedValues, check_allowed,
                           parse_allowed, size_ratio)
from relutopo.repro.staleness import changed_inputs, run_inputs as run_inputs_of
from relutopo.repro.params import PROFILES, ParameterError, check_value_type
from relutopo.atomic import atomic_write_bytes, atomic_write_json, current_umask
from relutopo.errors import RelutopoError
from relutopo.repro.record import load_results

__all__ = [
    "NotebookParameter", "NotebookInfo", "RunResult", "NotebookRunError", "ContractError",
    "find_root", "discover_notebooks", "inspect_notebook", "get_notebook", "parse_cli_value",
    "validate_parameters", "run_hash", "run_inputs", "stale_reasons", "run_notebook", "regenerate_command", "check_contract",
    "default_output_dir", "record_path", "remove_stale_staging", "KERNEL_NAME",
    "RESERVED_PARAMETERS", "ConfirmationNeeded", "OutputFolderError", "check_output_folder",
]

#: The Jupyter kernel notebooks run in (the ipykernel of the environment running relutopo).
KERNEL_NAME = "python3"
#: Parameters set by the runner itself, never with ``-p``.
RESERVED_PARAMETERS = ("profile", "output_dir")
_STAMP = ".run.json"
_PAPER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


class NotebookRunError(RelutopoError, RuntimeError):
    """A notebook failed to execute or did not produce a valid results file.

    Examples
    --------
    >>> issubclass(NotebookRunError, RuntimeError)
    True
    """


class ContractError(RelutopoError, ValueError):
    """A notebook does not follow the notebook contract (see the book's "How to reproduce").

    Examples
    --------
    >>> from relutopo.errors import RelutopoError
    >>> issubclass(ContractError, RelutopoError)
    True
    """


# --------------------------------------------------------------------------- discovery

def find_root(start: Optional[os.PathLike] = None) -> Path:
    """The repository root: the first folder at or above ``start`` (default: the current folder)
    holding ``pyproject.toml`` and ``relutopo/``; else the checkout this package is imported from.

    Examples
    --------
    >>> (find_root() / "pyproject.toml").is_file() and (find_root() / "relutopo").is_dir()
    True
    """
    here = Path(start or os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").is_file() and (p / "relutopo").is_dir():
            return p
    pkg_root = Path(__file__).resolve().parents[1]
    if (pkg_root / "pyproject.toml").is_file():
        return pkg_root
    raise FileNotFoundError(
        f"no relutopo checkout at or above {here}; run from inside the repository or pass --root")


@dataclass(frozen=True)
class NotebookParameter:
    """One variable of a notebook's ``parameters`` cell.

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> p = next(p for p in info.parameters if p.name == "n_nets")
    >>> p.type_name, p.allowed.size, sorted(p.profile_values)
    ('int', True, ['book', 'paper', 'smoke'])
    """

    name: str
    type_name: Optional[str]   # "int", "float", "str", "bool", "list", "dict" or None (any)
    default: Any               # the literal default (None: "take the profile's value")
    help: str = ""
    profile_values: Mapping[str, Any] = field(default_factory=dict)  # smoke/book/paper values
    annotated: bool = False    # the parameters cell gives its type (``n: int = None``)
    allowed: Optional[AllowedValues] = None  # the ``[...]`` that starts the help comment
    allowed_error: str = ""    # why that ``[...]`` cannot be read (a contract problem)


@dataclass(frozen=True)
class NotebookInfo:
    """What :func:`inspect_notebook` learns about a notebook without executing it.

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> info.paper, info.path.name, sorted(info.profiles)
    ('wang_linear_regions', 'wang_linear_regions.ipynb', ['book', 'paper', 'smoke'])
    """

    paper: str
    path: Path
    title: str
    parameters: tuple        # of NotebookParameter, in cell order
    profiles: Optional[Mapping[str, Mapping[str, Any]]]  # the literal PROFILES table, if any

    def parameter(self, name: str) -> NotebookParameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def size_parameters(self) -> tuple:
        """The parameters a user may override with ``-p`` (all but profile and output_dir)."""
        return tuple(p for p in self.parameters if p.name not in RESERVED_PARAMETERS)


def discover_notebooks(root: Optional[os.PathLike] = None) -> list:
    """Every ``notebooks/*.ipynb`` of the repository, inspected, sorted by name.

    Examples
    --------
    >>> [info.paper for info in discover_notebooks()][:2]
    ['beshkov_relative_homology', 'engine_slices']
    """
    root = Path(root) if root is not None else find_root()
    return [inspect_notebook(p) for p in sorted((root / "notebooks").glob("*.ipynb"))]


def get_notebook(paper: str, root: Optional[os.PathLike] = None) -> NotebookInfo:
    """The notebook ``notebooks/<paper>.ipynb`` of the repository at ``root``.

    Only the name of a notebook in ``notebooks/`` is accepted (not a path): what ``relutopo run``
    executes and records into ``results/`` is always one of the book's notebooks. To inspect a
    notebook elsewhere, use :func:`inspect_notebook` with its path.

    Examples
    --------
    >>> get_notebook("wang_linear_regions").path.relative_to(find_root()).as_posix()
    'notebooks/wang_linear_regions.ipynb'
    >>> get_notebook("notebooks/wang_linear_regions.ipynb")  # a path: error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: unknown paper ...
    """
    root = Path(root) if root is not None else find_root()
    folder = root / "notebooks"
    known = sorted(p.stem for p in folder.glob("*.ipynb"))
    name = str(paper)
    path = folder / f"{name}.ipynb"
    if _PAPER_RE.match(name) and path.is_file():
        return inspect_notebook(path)
    hints = []
    if "/" in name or os.sep in name:
        hints.append("give the name of a notebook in notebooks/, not a path")
    stem = Path(name).name[:-len(".ipynb")] if name.endswith(".ipynb") else Path(name).name
    if stem in known and stem != name:
        hints.append(f"did you mean {stem!r}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise ParameterError(
        f"unknown paper {name!r}{hint}; notebooks in {folder}: {', '.join(known) or '(none)'}")


def _is_repository_notebook(info: NotebookInfo, root: Path) -> bool:
    """Is ``info`` the notebook ``<root>/notebooks/<paper>.ipynb`` (what may be recorded)?"""
    try:
        return Path(info.path).resolve() == (Path(root) / "notebooks" / f"{info.paper}.ipynb").resolve()
    except OSError:
        return False


_TYPE_ALIASES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list",
                 "tuple": "list", "List": "list", "Tuple": "list", "Sequence": "list",
                 "dict": "dict", "Dict": "dict", "Mapping": "dict"}


def _normalise_type(annotation: Optional[str]) -> Optional[str]:
    """``"Optional[int]"``, ``"int | None"``, ``"list[int]"`` -> ``"int"`` / ``"list"``; None if unknown."""
    if not annotation or annotation == "None":
        return None
    text = annotation.strip().strip("'\"")
    m = re.fullmatch(r"(?:typing\.)?Optional\[(.*)\]", text)
    if m:
        text = m.group(1)
    parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
    if len(parts) != 1:
        return None
    base = parts[0].split("[", 1)[0].replace("typing.", "")
    return _TYPE_ALIASES.get(base)


def _literal_type(value: Any) -> Optional[str]:
    if value is None:
        return None
    return _TYPE_ALIASES.get(type(value).__name__)


def _parse_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _literal(node: ast.AST) -> Any:
    """``ast.literal_eval`` that also accepts ``dict(name=literal, ...)`` calls."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
            and not node.args and all(k.arg for k in node.keywords)):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def _profiles_table(nb) -> Optional[dict]:
    """The ``PROFILES = {...}`` table of the notebook (literals and ``dict(...)`` of literals),
    or None when it is computed."""
    for cell in nb.cells:
        if cell.cell_type != "code" or "PROFILES" not in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "PROFILES"):
                try:
                    table = _literal(node.value)
                except (ValueError, SyntaxError):
                    return None
                if isinstance(table, dict) and all(isinstance(v, dict) for v in table.values()):
                    return table
                return None
    return None


def _read_notebook(path: Path):
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise FileNotFoundError(f"no notebook at {path}") from None
    except Exception as exc:  # nbformat raises several reader errors
        raise ContractError(f"{path} is not a readable Jupyter notebook ({exc})") from None


def _raw_parameters(path: Path, nb) -> dict:
    """papermill's view of the parameters cell (names, annotated types, defaults, help)."""
    import papermill

    if nb.metadata.get("kernelspec", {}).get("name"):
        return papermill.inspect_notebook(str(path))
    # papermill needs a kernel name to pick its translator; notebooks written by nbformat
    # generators may lack one, so inspect a copy that names ours.
    import nbformat

    copy = nbformat.from_dict(nb)
    copy.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                   "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / path.name
        nbformat.write(copy, str(p))
        return papermill.inspect_notebook(str(p))


def inspect_notebook(path: os.PathLike) -> NotebookInfo:
    """Parameters (name, type, default, help, per-profile values), title and profile table.

    Types come from the annotation in the parameters cell (``n_seeds: int = None``); an
    unannotated parameter takes the type of its literal default, or of its values in the
    notebook's ``PROFILES`` table. A help comment that starts with ``[...]`` declares the
    parameter's allowed values (:mod:`relutopo.repro.param_ranges`); ``help`` is the rest of it.

    Examples
    --------
    >>> info = inspect_notebook(find_root() / "notebooks" / "wang_linear_regions.ipynb")
    >>> info.title
    'Activation regions and linear regions (Wang, IJCAI 2022)'
    """
    path = Path(path)
    nb = _read_notebook(path)
    paper = path.stem
    raw = _raw_parameters(path, nb)
    profiles = _profiles_table(nb)
    params = []
    for name, spec in raw.items():
        default = _parse_literal(spec.get("default", "None"))
        type_name = _normalise_type(spec.get("inferred_type_name")) or _literal_type(default)
        per_profile = {}
        if profiles:
            per_profile = {prof: tab[name] for prof, tab in profiles.items() if name in tab}
            if type_name is None:
                types = {_literal_type(v) for v in per_profile.values()} - {None}
                if len(types) == 1:
                    type_name = types.pop()
        annotated = _normalise_type(spec.get("inferred_type_name")) is not None
        help_text = (spec.get("help", "") or "").strip()
        try:
            allowed, help_text = parse_allowed(help_text)
            allowed_error = ""
        except AllowedSpecError as exc:
            allowed, allowed_error = None, str(exc)
        params.append(NotebookParameter(name, type_name, default, help_text,
                                        MappingProxyType(per_profile), annotated, allowed,
                                        allowed_error))
    title = paper
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            break
    return NotebookInfo(paper=paper, path=path.resolve(), title=title, parameters=tuple(params),
                        profiles=None if profiles is None else MappingProxyType(profiles))


# --------------------------------------------------------------------------- the contract

def check_contract(info_or_path) -> list:
    """Problems with a notebook's adherence to the notebook contract (empty list: it complies).

    The contract: the first cell is markdown opening with a ``# Title``; the first code cell is
    tagged ``parameters`` and assigns ``profile`` (default ``"book"``), ``output_dir`` and one
    annotated line per size parameter, whose help comment starts with the allowed values
    (``n: int = None  # [size ≥ 1] what it is``; required for every numeric parameter, and every
    value of ``PROFILES`` must be allowed; :mod:`relutopo.repro.param_ranges`); the second code cell defines ``PROFILES`` with the
    profiles smoke, book and paper and calls ``NotebookRun.start``; the last code cell calls
    ``nb.finish()``; the committed source holds no outputs.

    Examples
    --------
    >>> check_contract(get_notebook("wang_linear_regions"))
    []
    """
    info = info_or_path if isinstance(info_or_path, NotebookInfo) else inspect_notebook(info_or_path)
    nb = _read_notebook(info.path)
    problems = []
    if not _PAPER_RE.match(info.paper):
        problems.append(f"file name {info.path.name!r}: use letters, digits, '_' and '-' only")
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.startswith("# "):
        problems.append("the first cell must be markdown starting with '# <title>'")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or "parameters" not in code[0].metadata.get("tags", []):
        problems.append("the first code cell must be tagged 'parameters'")
    if code and "parameters" in code[0].metadata.get("tags", []):
        for k, line in enumerate(code[0].source.splitlines(), 1):
            if line.strip() and not line.strip().startswith("#") and line.count("=") > 1:
                problems.append(
                    f"parameters cell line {k} holds more than one '=', so papermill skips it "
                    f"({line.strip()!r}); in allowed values write ≥ and ≤, not >= and <=")
    names = [p.name for p in info.parameters]
    for required in RESERVED_PARAMETERS:
        if required not in names:
            problems.append(f"the parameters cell must assign '{required}'")
    if "profile" in names and info.parameter("profile").default not in PROFILES:
        problems.append(f"'profile' must default to one of {PROFILES}; "
                        f"got {info.parameter('profile').default!r}")
    if len(code) < 2 or "NotebookRun.start" not in code[1].source:
        problems.append("the second code cell must call NotebookRun.start(...)")
    elif "hide-input" not in code[1].metadata.get("tags", []):
        problems.append("the second code cell (NotebookRun.start) must be tagged 'hide-input'")
    if info.profiles is None:
        problems.append("the second code cell must define PROFILES = {...} with literal values "
                        "(a dict of dicts or dict(name=value, ...) calls)")
    else:
        missing = [p for p in PROFILES if p not in info.profiles]
        if missing:
            problems.append(f"PROFILES lacks profile(s) {missing}")
        table_names = set().union(*(set(t) for t in info.profiles.values())) if info.profiles else set()
        for p in info.size_parameters:
            # parameters outside PROFILES are options (paths, worker counts): allowed, typed
            if not p.annotated:
                problems.append(f"parameter '{p.name}' needs a type annotation (e.g. '{p.name}: int = None')")
        problems += _allowed_problems(info)
        for name in sorted(table_names - set(names)):
            kinds = {_literal_type(t.get(name)) for t in info.profiles.values()} - {None}
            kind = kinds.pop() if len(kinds) == 1 else "<type>"
            problems.append(f"PROFILES entry '{name}' has no line in the parameters cell that "
                            f"papermill reads, so -p cannot override it: add '{name}: {kind} = None' "
                            "(papermill reads 'name: type = value' lines, not 'X | None' annotations)")
    if not code or "nb.finish()" not in code[-1].source:
        problems.append("the last code cell must call nb.finish()")
    with_outputs = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    if with_outputs:
        problems.append(f"commit the notebook without outputs (code cells {with_outputs} have "
                        "outputs or execution counts; clear them)")
    return problems


def _is_numeric(p: NotebookParameter) -> bool:
    """Is ``p`` a number, or a list whose profile values hold numbers?"""
    if p.type_name in ("int", "float"):
        return True
    if p.type_name == "list":
        return any(isinstance(x, (int, float)) and not isinstance(x, bool)
                   for v in p.profile_values.values() if isinstance(v, (list, tuple)) for x in v)
    return False


def _allowed_problems(info: NotebookInfo) -> list:
    """Contract problems with the allowed values (``[...]`` help prefixes) of the parameters:
    unreadable, missing on a numeric parameter, naming an unknown parameter, or not allowing a
    value of the notebook's own ``PROFILES``."""
    problems = []
    names = {p.name for p in info.parameters}
    for p in info.size_parameters:
        if p.allowed_error:
            problems.append(f"parameter '{p.name}': {p.allowed_error}")
        elif p.allowed is None and _is_numeric(p):
            example = "[size >= 1]" if p.type_name in ("int", "list") else "[> 0]"
            problems.append(
                f"parameter '{p.name}' needs its allowed values at the start of its help comment, "
                f"e.g. '{p.name}: {p.type_name} = None  # {example} what it is' ('size' marks an "
                "amount of work; see book/reproduce.md)")
        elif p.allowed is not None:
            for ref in p.allowed.references:
                if ref not in names:
                    problems.append(f"parameter '{p.name}': its allowed values {p.allowed.text} "
                                    f"name '{ref}', which is not a parameter")
    for prof, table in (info.profiles or {}).items():
        for p in info.size_parameters:
            if p.allowed is None or table.get(p.name) is None:
                continue
            try:
                check_allowed(p.allowed, p.name, table[p.name], table)
            except ParameterError as exc:
                problems.append(f"PROFILES['{prof}']['{p.name}'] = {table[p.name]!r} is not "
                                f"allowed by its own declaration: {exc}")
    return problems


# --------------------------------------------------------------------------- parameters

_TEMPLATES = {"int": 0, "float": 0.0, "str": "", "bool": False, "list": [], "dict": {}}


def parse_cli_value(info: NotebookInfo, name: str, text: str) -> Any:
    """Convert the text of ``-p NAME VALUE`` to the parameter's declared type.

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> parse_cli_value(info, "n_nets", "25")
    25
    """
    param = _known_parameter(info, name)
    t = param.type_name
    try:
        if t == "int":
            return int(text)
        if t == "float":
            return float(text)
        if t == "bool":
            low = text.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if t == "str":
            return text
        if t in ("list", "dict"):
            value = ast.literal_eval(text)
            if t == "list" and isinstance(value, tuple):
                value = list(value)
            return value
        value = _parse_literal(text)
        return text if value is None else value
    except (ValueError, SyntaxError):
        example = {"int": "3", "float": "0.5", "bool": "true", "list": "'[2, 8, 8]'",
                   "dict": "'{\"a\": 1}'"}.get(t, "...")
        raise ParameterError(
            f"parameter '{name}' of {info.paper} must be of type {t}; got {text!r} "
            f"(e.g. -p {name} {example})") from None


def _known_parameter(info: NotebookInfo, name: str) -> NotebookParameter:
    if name == "profile":
        raise ParameterError("set the profile with --profile smoke|book|paper, not with -p profile")
    if name == "output_dir":
        raise ParameterError("set the output folder with --output DIR, not with -p output_dir")
    try:
        return info.parameter(name)
    except KeyError:
        allowed = ", ".join(p.name for p in info.size_parameters) or "(none)"
        raise ParameterError(
            f"unknown parameter '{name}' for {info.paper}; its parameters are: {allowed} "
            f"(see relutopo list {info.paper})") from None


class ConfirmationNeeded(ParameterError):
    """A ``size`` parameter is far beyond the ``paper`` profile: the user must confirm (--yes).

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> validate_parameters(info, "smoke", {"n_nets": 10 ** 9})  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.runner.ConfirmationNeeded: parameter 'n_nets' of wang_linear_regions = ...
    """


def validate_parameters(info: NotebookInfo, profile: str,
                        parameters: Optional[Mapping[str, Any]] = None, *,
                        yes: bool = False) -> dict:
    """Check the profile and the overrides against the notebook's parameters cell.

    Returns the overrides normalised for papermill (tuples as lists, ints as floats where the
    parameter is a float). Raises :class:`ParameterError` naming the parameter, its value and
    what is allowed: unknown profile, unknown parameter, ``profile``/``output_dir`` given as
    overrides, a value of the wrong type, or a value outside the parameter's declared allowed
    values (``[...]`` in its help comment; :mod:`relutopo.repro.param_ranges`). A ``size`` parameter
    more than :data:`~relutopo.repro.param_ranges.SIZE_CONFIRM_FACTOR` times the ``paper`` profile's
    value raises :class:`ConfirmationNeeded` (with an estimate of the cost) unless ``yes``.

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> validate_parameters(info, "smoke", {"n_nets": 3})
    {'n_nets': 3}
    >>> validate_parameters(info, "smoke", {"no_such_parameter": 3})  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: unknown parameter 'no_such_parameter' for ...
    """
    allowed_profiles = tuple(info.profiles) if info.profiles else PROFILES
    if not isinstance(profile, str) or profile not in allowed_profiles or profile not in PROFILES:
        raise ParameterError(
            f"unknown profile {profile!r} for {info.paper}; allowed profiles: "
            f"{', '.join(p for p in allowed_profiles if p in PROFILES)}")
    out = {}
    for name, value in dict(parameters or {}).items():
        param = _known_parameter(info, name)
        if value is None:
            continue
        if param.type_name is not None:
            value = check_value_type(name, value, _TEMPLATES[param.type_name])
            if isinstance(value, tuple):
                value = list(value)
        out[name] = value
    broken = [p for p in info.parameters if p.allowed_error]
    if broken:
        raise ContractError(f"notebooks/{info.path.name}: parameter '{broken[0].name}': "
                            f"{broken[0].allowed_error}")
    values = {p.name: p.profile_values.get(profile, p.default) for p in info.parameters}
    values.update(out)
    for name, value in out.items():
        check_allowed(info.parameter(name).allowed, name, value, values, owner=info.paper)
    if not yes:
        for name, value in out.items():
            param = info.parameter(name)
            if param.allowed is None or not param.allowed.size:
                continue
            reference = param.profile_values.get("paper")
            ratio = size_ratio(value, reference)
            if ratio is not None and ratio > SIZE_CONFIRM_FACTOR:
                raise ConfirmationNeeded(_size_message(info, name, value, reference, ratio))
    return out


def _duration(seconds: float) -> str:
    for unit, n in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= n:
            return f"{seconds / n:.3g} {unit}"
    return f"{seconds:.3g} s"


def _last_runs(info: NotebookInfo) -> list:
    """Stamps of earlier successful runs of this notebook in the default output folders
    (``_build/runs/<profile>/<paper>``, ``book/executed/<paper>``) of its repository."""
    root = info.path.parent.parent
    folders = [default_output_dir(root, info.paper, p) for p in PROFILES]
    folders.append(root / "book" / "executed" / info.paper)
    stamps = []
    for folder in folders:
        stamp = _read_stamp(folder)
        if stamp and stamp.get("paper") == info.paper and isinstance(stamp.get("seconds"), (int, float)):
            stamps.append(stamp)
    return stamps


def _size_message(info: NotebookInfo, name: str, value: Any, reference: Any, ratio: float) -> str:
    """Why a size needs --yes, with an estimate of the cost from the paper profile (and, when
    an earlier run's stamp is at hand, a linear extrapolation of its wall time)."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    text = (f"parameter '{name}' of {info.paper} = {shown} is {ratio:.3g} x the paper profile's "
            f"{reference!r} (sizes above {SIZE_CONFIRM_FACTOR:g} x the paper profile need --yes). "
            f"Estimate: time and memory grow at least in proportion to {name}, so at least "
            f"{ratio:.3g} x those of the paper profile")
    best = None
    for stamp in _last_runs(info):
        base = dict(stamp.get("parameters") or {}).get(
            name, info.parameter(name).profile_values.get(stamp.get("profile")))
        r = size_ratio(value, base)
        if r is not None and stamp["seconds"] > 0 and (best is None or r < best[0]):
            best = (r, stamp, base)
    if best is not None:
        r, stamp, base = best
        text += (f"; the last {stamp.get('profile')} run here ({name} = {base!r}) took "
                 f"{_duration(stamp['seconds'])}, which scales to about {_duration(stamp['seconds'] * r)}")
    return text + ". Rerun with --yes to start it anyway, or choose a smaller value."


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class RunResult:
    """Where one notebook run put its outputs.

    Examples
    --------
    A :class:`RunResult` says where :func:`run_notebook` put a run (executing one takes a kernel, so
    this example only names the fields):

    >>> [f for f in RunResult.__dataclass_fields__][:6]
    ['paper', 'profile', 'parameters', 'output_dir', 'executed', 'results']
    """

    paper: str
    profile: str
    parameters: Mapping[str, Any]
    output_dir: Path
    executed: Path
    results: Path
    record: Optional[Path]
    skipped: bool
    seconds: float
    reasons: tuple = ()      # why it ran (empty when skipped): "library changed: relutopo/x.py"


def default_output_dir(root: Path, paper: str, profile: str) -> Path:
    """``_build/runs/<profile>/<paper>`` under the repository root.

    Examples
    --------
    >>> import pathlib
    >>> default_output_dir(pathlib.Path("/repo"), "wang_linear_regions", "smoke").as_posix()
    '/repo/_build/runs/smoke/wang_linear_regions'
    """
    return Path(root) / "_build" / "runs" / profile / paper


def record_path(root: Path, paper: str, profile: str) -> Path:
    """The committed record ``results/<profile>/<paper>.json``.

    Examples
    --------
    >>> import pathlib
    >>> record_path(pathlib.Path("/repo"), "wang_linear_regions", "book").as_posix()
    '/repo/results/book/wang_linear_regions.json'
    """
    return Path(root) / "results" / profile / f"{paper}.json"


def run_inputs(info: NotebookInfo, profile: str, parameters: Mapping[str, Any],
               root: Optional[os.PathLike] = None) -> dict:
    """``{input: sha256}`` of everything that decides a run's output: the notebook, the profile
    and overrides, the source of every ``relutopo`` module the notebook imports (directly or
    through other modules), and the pinned environment (:mod:`relutopo.repro.staleness`).

    Examples
    --------
    >>> keys = sorted(run_inputs(get_notebook("wang_linear_regions"), "smoke", {}))
    >>> keys[0], "library: relutopo/__init__.py" in keys, "settings" in keys
    ('environment: pyproject.toml', True, True)
    """
    root = Path(root) if root is not None else find_root()
    return run_inputs_of(Path(info.path), root, {"profile": profile, "parameters": dict(parameters)})


def run_hash(info: NotebookInfo, profile: str, parameters: Mapping[str, Any],
             root: Optional[os.PathLike] = None) -> str:
    """sha256 of :func:`run_inputs` (what decides a rerun): editing the notebook, a library
    module it uses, ``requirements.txt`` or ``pyproject.toml``, or the parameters changes it.

    Examples
    --------
    >>> info = get_notebook("wang_linear_regions")
    >>> h = run_hash(info, "smoke", {})
    >>> len(h), h == run_hash(info, "smoke", {"n_nets": 3})
    (64, False)
    """
    inputs = run_inputs(info, profile, parameters, root)
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def stale_reasons(info: NotebookInfo, profile: str, parameters: Mapping[str, Any],
                  output_dir: Optional[os.PathLike] = None,
                  root: Optional[os.PathLike] = None) -> list:
    """Why the run in ``output_dir`` (default ``_build/runs/<profile>/<paper>``) no longer
    matches its inputs: ``[]`` when it is up to date, else phrases such as
    ``"library changed: relutopo/overlap.py"`` or ``"never run here"``.

    Examples
    --------
    A folder where this notebook never ran:

    >>> import tempfile
    >>> stale_reasons(get_notebook("wang_linear_regions"), "smoke", {}, output_dir=tempfile.mkdtemp())
    ['never run here']
    """
    root = Path(root) if root is not None else find_root()
    out = Path(output_dir) if output_dir is not None else default_output_dir(root, info.paper, profile)
    stamp = _read_stamp(out.resolve()) or {}
    new = run_inputs(info, profile, parameters, root)
    if stamp.get("hash") == hashlib.sha256(json.dumps(new, sort_keys=True).encode()).hexdigest() \
            and (out / f"{info.paper}.ipynb").is_file() and (out / "results.json").is_file():
        return []
    old = stamp.get("inputs")
    if stamp and not old:
        return ["run by an older relutopo that did not record its inputs"]
    return changed_inputs(old, new) or ["outputs missing"]


def regenerate_command(paper: str, profile: str, parameters: Mapping[str, Any] = None) -> str:
    """The shell command that regenerates a run: ``relutopo run <paper> --profile P -p k v ...``.

    Examples
    --------
    >>> regenerate_command("wang_linear_regions", "smoke", {"n_nets": 3})
    'relutopo run wang_linear_regions --profile smoke -p n_nets 3'
    """
    parts = ["relutopo", "run", paper, "--profile", profile]
    for k, v in (parameters or {}).items():
        text = json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v)
        if isinstance(v, (list, tuple, dict)) or " " in text:
            text = "'" + text.replace("'", "'\\''") + "'"
        parts += ["-p", k, text]
    return " ".join(parts)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_LEFTOVER_RE = re.compile(r"^\.(?P<name>.+)\.(?:staging|old)-(?P<pid>\d+)-[^/]*$")


def remove_stale_staging(folder: os.PathLike, name: Optional[str] = None) -> list:
    """Remove staging (and moved-aside) folders in ``folder`` left by runs that were killed
    (their process is gone); only those of output folder ``name`` when given. Returns them.

    A run killed while publishing may have moved the previous output aside
    (``.<name>.old-<pid>-*/previous``) without putting the new one in place: when ``<name>`` is
    missing, that previous output is moved back instead of being removed.

    Examples
    --------
    >>> import tempfile
    >>> remove_stale_staging(tempfile.mkdtemp())
    []
    """
    removed = []
    folder = Path(folder)
    for p in folder.glob(".*"):
        m = _LEFTOVER_RE.match(p.name)
        if not m or (name is not None and m.group("name") != name):
            continue
        if p.is_symlink() or not p.is_dir() or _pid_alive(int(m.group("pid"))):
            continue
        previous, target = p / "previous", folder / m.group("name")
        if ".old-" in p.name and previous.is_dir() and not os.path.lexists(target):
            try:
                os.replace(previous, target)
            except OSError:
                pass
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _read_stamp(out: Path) -> Optional[dict]:
    try:
        with open(out / _STAMP, encoding="utf-8") as fh:
            stamp = json.load(fh)
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


class OutputFolderError(RelutopoError, ValueError):
    """The output folder cannot be used: it holds what relutopo did not write, or is not writable.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (out / "thesis.tex").write_text("mine")
    >>> try:
    ...     check_output_folder(out, "wang_linear_regions")
    ... except OutputFolderError as exc:
    ...     print(type(exc).__name__)
    OutputFolderError
    """


def _entries(folder: Path) -> set:
    """Every file, folder and link under ``folder`` (relative POSIX paths; links not followed)."""
    found = set()
    for here, dirs, files in os.walk(folder):
        rel = Path(here).relative_to(folder)
        for n in dirs + files:
            found.add((rel / n).as_posix())
    return found


def _written_by_run(stamp: dict, paper: str, present: set) -> set:
    """What the run stamped ``stamp`` wrote: the stamp's list of files (and their folders), or,
    for stamps from before that list existed, the fixed layout of a run folder."""
    files = stamp.get("files")
    if isinstance(files, list) and all(isinstance(f, str) for f in files):
        written = set(files) | {_STAMP}
    else:
        name = stamp.get("paper") or paper
        written = {f"{name}.ipynb", "results.json", _STAMP, "figures"}
        written |= {p for p in present if re.fullmatch(r"figures/[^/]+\.png", p)}
    for f in list(written):
        parts = f.split("/")
        written |= {"/".join(parts[:i]) for i in range(1, len(parts))}
    return written


def check_output_folder(out: os.PathLike, paper: str) -> None:
    """Refuse an output folder whose contents relutopo did not write.

    A run may go to a folder that does not exist, an empty folder, or a folder holding an
    earlier relutopo run (its stamp ``.run.json``) and nothing else: that folder is replaced
    atomically when the new run succeeds. An existing file, a non-empty folder without the
    stamp, or a stamped folder that also holds files relutopo did not write (a user's notes,
    another program's output) raises :class:`OutputFolderError`: relutopo never deletes what
    it did not write, and never mixes its outputs with other files.

    Examples
    --------
    >>> import tempfile
    >>> check_output_folder(tempfile.mkdtemp(), "wang_linear_regions") is None
    True
    """
    out = Path(out)
    if not os.path.lexists(out):
        return
    example = out / paper if out.is_dir() and not out.is_symlink() else out.parent / paper
    new = "a new or empty folder" + ("" if os.path.lexists(example) else f" (e.g. {example})")
    if out.is_symlink() or not out.is_dir():
        kind = "a link" if out.is_symlink() else "an existing file"
        raise OutputFolderError(
            f"output folder {out} is {kind}, not a folder; relutopo never replaces what it did "
            f"not write: give {new}")
    try:
        present = _entries(out)
    except OSError as exc:
        raise OutputFolderError(f"cannot read the output folder {out} ({exc.strerror}); "
                                f"give {new}") from None
    if not present:
        return
    stamp = _read_stamp(out)
    if stamp is None:
        raise OutputFolderError(
            f"output folder {out} is not empty and holds no relutopo run (no {_STAMP}); relutopo "
            f"never replaces what it did not write: give {new}, or leave out the output folder "
            "(default _build/runs/<profile>/<paper>)")
    foreign = sorted(present - _written_by_run(stamp, paper, present))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputFolderError(
            f"output folder {out} holds a relutopo run but also {len(foreign)} file(s) relutopo "
            f"did not write ({shown}); relutopo replaces a run folder as a whole and never deletes "
            f"what it did not write: move those out, or give {new}")


def _is_our_failed_copy(path: Path, info: NotebookInfo) -> bool:
    """Is ``path`` an executed copy of ``info``'s notebook that papermill wrote (a failed run's)?"""
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh).get("metadata", {}).get("papermill", {})
        return Path(str(meta.get("input_path", ""))).name == info.path.name
    except (OSError, ValueError, AttributeError):
        return False


def _kernel_hint(exc_info: dict, kernel_name: str) -> str:
    """How to fix a missing Jupyter kernel (papermill's NoSuchKernel), as an indented line."""
    if exc_info.get("ename") != "NoSuchKernel":
        return ""
    import sys

    return (f"\n  no Jupyter kernel named {kernel_name!r}: relutopo runs notebooks in the ipykernel "
            f"of this Python; install it with `{sys.executable} -m pip install ipykernel` "
            "(reinstalling relutopo brings it: it is a dependency), or register a kernel under "
            f"that name: `python -m ipykernel install --user --name {kernel_name}`")


def _annotate_executed(nb_path: Path, info: NotebookInfo, profile: str, overrides: Mapping,
                       results: dict) -> None:
    """Hide papermill's injected-parameters cell (it shows the staging path) and add a box that
    tells the reader how to regenerate the page."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        # papermill's injected cell shows the staging path; the parameters cell is raw code
        # whose content the box below shows as a table
        if ("injected-parameters" in tags or "parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    values = results.get("parameters", {})
    rel = info.path.name
    lines = [
        "```{admonition} Regenerate this page",
        ":class: tip",
        f"This page is the notebook `notebooks/{rel}` executed with papermill at the "
        f"`{profile}` profile{' with overrides' if overrides else ''}. Every figure and number "
        "below comes from the code cell just above it (click *Show code cell source*). "
        "To regenerate them:",
        "",
        f"    {regenerate_command(info.paper, profile, overrides)}",
        "",
        "Add `-p NAME VALUE` to change a size, `--profile paper` for the paper's full scale "
        f"(`relutopo list {info.paper}` shows all parameters). The parameters of this run:",
        "",
        *_parameter_table(info, values, overrides),
        "```",
    ]
    box = nbformat.v4.new_markdown_cell("\n".join(lines))
    box.metadata["tags"] = ["relutopo-regenerate"]
    at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    nb.cells.insert(at, box)
    nbformat.write(nb, str(nb_path))


def _parameter_table(info: NotebookInfo, values: Mapping, overrides: Mapping) -> list:
    """Markdown table rows: parameter, value in this run, the paper profile's value, allowed
    values, and what it sets (the parameters cell's help comment)."""
    def cell(v) -> str:
        text = "—" if v is None else (json.dumps(v) if not isinstance(v, str) else v)
        return text.replace("|", "\\|").replace("\n", " ")

    rows = ["| parameter | this run | paper profile | allowed | what it sets |",
            "|---|---|---|---|---|"]
    for p in info.size_parameters:
        value = values.get(p.name, p.default)
        shown = f"**{cell(value)}**" if p.name in overrides else cell(value)
        allowed = p.allowed.text.strip("[]") if p.allowed is not None else ""
        rows.append(f"| `{p.name}` | {shown} | {cell(p.profile_values.get('paper'))} | "
                    f"{cell(allowed) if allowed else '—'} | {cell(p.help) if p.help else '—'} |")
    return rows if len(rows) > 2 else []


def _validate_results(path: Path, info: NotebookInfo, profile: str) -> dict:
    if not path.is_file():
        raise NotebookRunError(
            f"{info.paper} ran but wrote no results.json; its last cell must call nb.finish()")
    try:
        data = load_results(path)
    except ValueError as exc:
        raise NotebookRunError(str(exc)) from None
    if data.get("paper") != info.paper:
        raise NotebookRunError(
            f"notebooks/{info.path.name} calls NotebookRun.start({data.get('paper')!r}, ...); "
            f"the paper name must equal the file name {info.paper!r}")
    if data.get("profile") != profile:
        raise NotebookRunError(
            f"{info.paper} recorded profile {data.get('profile')!r} but was run at {profile!r}; "
            "pass the notebook's `profile` variable to NotebookRun.start")
    for name, fig in (data.get("figures") or {}).items():
        if not (path.parent / fig["path"]).is_file():
            raise NotebookRunError(f"{info.paper}: figure {name!r} is listed but "
                                   f"{path.parent / fig['path']} was not written")
    return data


def run_notebook(notebook, profile: str = "book", parameters: Optional[Mapping[str, Any]] = None,
                 *, root: Optional[os.PathLike] = None, output_dir: Optional[os.PathLike] = None,
                 force: bool = False, record: Optional[bool] = None,
                 kernel_name: str = KERNEL_NAME, cell_timeout: Optional[int] = None,
                 progress: bool = False, yes: bool = False) -> RunResult:
    """Execute one notebook with papermill and publish its outputs atomically.

    Parameters
    ----------
    notebook : str or NotebookInfo
        A paper name (``notebooks/<paper>.ipynb``), or an inspected notebook
        (:func:`inspect_notebook`; one outside ``notebooks/`` is never recorded).
    profile : {"smoke", "book", "paper"}
        The size profile.
    parameters : mapping, optional
        Overrides of size parameters (``{"n_seeds": 3}``), checked before execution.
    root : path, optional
        Repository root (default: found from the current folder).
    output_dir : path, optional
        Where the executed copy, figures and results.json go
        (default ``_build/runs/<profile>/<paper>``): a folder that does not exist yet, an empty
        folder, or the folder of an earlier run (it carries the stamp ``.run.json`` and holds
        nothing else), which is replaced as a whole. Anything else is refused before the
        kernel starts (:func:`check_output_folder`).
    force : bool
        Execute even when the notebook and parameters are unchanged since the last run there.
    record : bool, optional
        Copy results.json to ``results/<profile>/<paper>.json`` (the committed record). Default:
        when no overrides are given and the notebook is one of ``notebooks/``. Recording a run
        with overrides, or of a notebook elsewhere, is refused.
    kernel_name : str
        The Jupyter kernel.
    cell_timeout : int, optional
        Seconds any one cell may run (default: no limit).
    progress : bool
        Show papermill's per-cell progress bar (on stderr).
    yes : bool
        Run sizes far beyond the ``paper`` profile without asking (:class:`ConfirmationNeeded`).

    Returns
    -------
    RunResult

    Raises
    ------
    ParameterError
        Bad profile or parameter (before anything executes).
    OutputFolderError
        The output folder holds what relutopo did not write, or cannot be written (before
        anything executes).
    NotebookRunError
        The notebook raised, or wrote no valid results file. The executed copy with the
        traceback is kept as ``<out>.failed.ipynb``.

    Examples
    --------
    Executing a notebook starts a Jupyter kernel (seconds to minutes); the command line does the
    same (``relutopo run wang_linear_regions --profile smoke``). Only the refusal of an unknown
    profile is shown here:

    >>> run_notebook("wang_linear_regions", "huge")  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: unknown profile 'huge' for wang_linear_regions; ...
    """
    from relutopo.repro._execute import ChildExecutionError, execute

    root = Path(root) if root is not None else find_root()
    info = notebook if isinstance(notebook, NotebookInfo) else get_notebook(notebook, root)
    overrides = validate_parameters(info, profile, parameters, yes=yes)
    in_repository = _is_repository_notebook(info, root)
    if record is None:
        record = not overrides and in_repository
    elif record and overrides:
        raise ParameterError(
            "refusing to record a run with overrides "
            f"({', '.join(overrides)}) as results/{profile}/{info.paper}.json: the record holds "
            "the profile's own values; drop the -p overrides or do not record")
    elif record and not in_repository:
        raise ParameterError(
            f"refusing to record {info.path} as results/{profile}/{info.paper}.json: only the "
            f"notebooks in {root / 'notebooks'} are recorded")
    out = Path(output_dir).expanduser() if output_dir is not None else default_output_dir(
        root, info.paper, profile)
    out = out.resolve()
    inputs = run_inputs(info, profile, overrides, root)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    executed = out / f"{info.paper}.ipynb"
    results_file = out / "results.json"
    rec = record_path(root, info.paper, profile) if record else None

    if out.parent.is_dir():
        remove_stale_staging(out.parent, out.name)
    stamp = _read_stamp(out)
    up_to_date = (stamp and stamp.get("hash") == digest and executed.is_file()
                  and results_file.is_file())
    if force:
        reasons = ("forced (--force)",)
    elif up_to_date:
        reasons = ()
    elif stamp and not stamp.get("inputs"):
        reasons = ("run by an older relutopo that did not record its inputs",)
    else:
        reasons = tuple(changed_inputs((stamp or {}).get("inputs"), inputs) or ["outputs missing"])
    if not force and up_to_date:
        _validate_results(results_file, info, profile)
        if rec is not None and (not rec.is_file() or rec.read_bytes() != results_file.read_bytes()):
            _write_record(rec, results_file)
        return RunResult(info.paper, profile, MappingProxyType(overrides), out, executed,
                         results_file, rec, True, 0.0)

    check_output_folder(out, info.paper)   # before any kernel starts
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-",
                                        dir=out.parent))
    except OSError as exc:
        raise OutputFolderError(
            f"cannot create the output folder {out}: {exc.strerror or exc} "
            f"({exc.filename or out.parent}); give a folder you can write to") from None
    staging.chmod(0o777 & ~current_umask())
    failed = out.parent / f"{out.name}.failed.ipynb"
    t0 = time.perf_counter()
    try:
        staged_nb = staging / executed.name
        try:
            execute(info.path, staged_nb,
                    {"profile": profile, "output_dir": str(staging), **overrides},
                    kernel_name=kernel_name, cwd=root, cell_timeout=cell_timeout,
                    progress=progress)
        except ChildExecutionError as exc:
            kept = ""
            if staged_nb.is_file():
                if not os.path.lexists(failed) or _is_our_failed_copy(failed, info):
                    shutil.copyfile(staged_nb, failed)
                    kept = f"\n  executed copy with the traceback: {failed}"
                else:
                    kept = (f"\n  (the executed copy with the traceback was not kept: {failed} "
                            "exists and relutopo did not write it)")
            where = f"in cell [{exc.info['exec_count']}]" if exc.info.get("exec_count") else "while executing"
            raise NotebookRunError(
                f"{info.paper} (profile {profile}) failed {where}: "
                f"{exc.info.get('ename')}: {exc.info.get('evalue')}"
                f"{_kernel_hint(exc.info, kernel_name)}{kept}") from None
        seconds = time.perf_counter() - t0
        data = _validate_results(staging / "results.json", info, profile)
        _annotate_executed(staged_nb, info, profile, overrides, data)
        files = sorted(_entries(staging) | {_STAMP})
        atomic_write_json(staging / _STAMP, {
            "hash": digest, "inputs": inputs, "paper": info.paper, "profile": profile,
            "parameters": overrides,
            "seconds": round(seconds, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": [f for f in files if (staging / f).is_file() or f == _STAMP],
        })
        # publish: swap the staging folder in (a previous run moves aside, then goes); check
        # again first -- the folder may have changed while the notebook ran
        check_output_folder(out, info.paper)
        old = None
        try:
            if os.path.lexists(out):
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
                os.replace(out, old / "previous")
            os.replace(staging, out)
        except OSError as exc:
            if old is not None and os.path.lexists(old / "previous") and not os.path.lexists(out):
                os.replace(old / "previous", out)      # put the previous run back
            if old is not None and not os.path.lexists(old / "previous"):
                old.rmdir()
            raise OutputFolderError(f"cannot publish the run into {out}: {exc.strerror or exc}; "
                                    "give a folder you can write to") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if failed.is_file() and _is_our_failed_copy(failed, info):
            failed.unlink()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if rec is not None:
        _write_record(rec, results_file)
    return RunResult(info.paper, profile, MappingProxyType(overrides), out, executed, results_file,
                     rec, False, seconds, reasons)


def _write_record(rec: Path, results_file: Path) -> None:
    try:
        atomic_write_bytes(rec, results_file.read_bytes())
    except OSError as exc:
        raise OutputFolderError(f"cannot write the record {rec}: {exc.strerror or exc}") from None
