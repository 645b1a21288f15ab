"""Execute paper notebooks with papermill: validate parameters first, publish outputs atomically.

One code path serves ``relutopo run``, ``make book``, ``relutopo verify`` and the tests:

1. :func:`inspect_notebook` reads a notebook's ``parameters`` cell (papermill's
   ``inspect_notebook``: names, annotated types, defaults, help comments) and, when it is a
   literal, the ``PROFILES`` table of its second cell.
2. :func:`validate_parameters` checks the profile and every override *before* a kernel starts:
   an unknown name or a value of the wrong type stops at once with a :class:`ParameterError`
   naming the parameter and what is allowed.
3. :func:`run_notebook` executes the notebook (papermill, in a child process that Ctrl-C
   stops promptly: :mod:`relutopo._execute`) in a private staging folder next to the output
   folder, checks the ``results.json`` the notebook wrote (its ``nb.finish()``), then swaps the
   staging folder in and copies ``results.json`` atomically to ``results/<profile>/<paper>.json``
   (the committed record). An interrupted or failed run therefore never leaves a half-written
   executed copy or results file. A run whose notebook source and parameters hash to the same
   value as the last successful run in that folder is skipped unless ``force=True``.

Output folder layout (``<out>``; default ``_build/runs/<profile>/<paper>/``)::

    <out>/<paper>.ipynb      executed copy (the book page when <out> is book/executed/<paper>)
    <out>/figures/*.png      the figures, as saved by nb.figure
    <out>/results.json       the claims
    <out>/.run.json          the stamp: hash of notebook source + profile + parameters
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

from .params import PROFILES, ParameterError, check_value_type
from .results import _umask, atomic_write_bytes, atomic_write_json, load_results

__all__ = [
    "NotebookParameter", "NotebookInfo", "RunResult", "NotebookRunError", "ContractError",
    "find_root", "discover_notebooks", "inspect_notebook", "get_notebook", "parse_cli_value",
    "validate_parameters", "run_hash", "run_notebook", "regenerate_command", "check_contract",
    "default_output_dir", "record_path", "remove_stale_staging", "KERNEL_NAME",
    "RESERVED_PARAMETERS",
]

#: The Jupyter kernel notebooks run in (the ipykernel of the environment running relutopo).
KERNEL_NAME = "python3"
#: Parameters set by the runner itself, never with ``-p``.
RESERVED_PARAMETERS = ("profile", "output_dir")
_STAMP = ".run.json"
_PAPER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


class NotebookRunError(RuntimeError):
    """A notebook failed to execute or did not produce a valid results file."""


class ContractError(ValueError):
    """A notebook does not follow the notebook contract (see the book's "How to reproduce")."""


# --------------------------------------------------------------------------- discovery

def find_root(start: Optional[os.PathLike] = None) -> Path:
    """The repository root: the first folder at or above ``start`` (default: the current folder)
    holding ``pyproject.toml`` and ``relutopo/``; else the checkout this package is imported from."""
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
    """One variable of a notebook's ``parameters`` cell."""

    name: str
    type_name: Optional[str]   # "int", "float", "str", "bool", "list", "dict" or None (any)
    default: Any               # the literal default (None: "take the profile's value")
    help: str = ""
    profile_values: Mapping[str, Any] = field(default_factory=dict)  # smoke/book/paper values
    annotated: bool = False    # the parameters cell gives its type (``n: int = None``)


@dataclass(frozen=True)
class NotebookInfo:
    """What :func:`inspect_notebook` learns about a notebook without executing it."""

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
    """Every ``notebooks/*.ipynb`` of the repository, inspected, sorted by name."""
    root = Path(root) if root is not None else find_root()
    return [inspect_notebook(p) for p in sorted((root / "notebooks").glob("*.ipynb"))]


def get_notebook(paper: str, root: Optional[os.PathLike] = None) -> NotebookInfo:
    """The notebook ``notebooks/<paper>.ipynb`` (a path to an .ipynb file is accepted too)."""
    root = Path(root) if root is not None else find_root()
    if str(paper).endswith(".ipynb") and Path(paper).is_file():
        return inspect_notebook(paper)
    path = root / "notebooks" / f"{paper}.ipynb"
    if not path.is_file():
        known = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
        raise ParameterError(
            f"unknown paper {paper!r}; notebooks in {root / 'notebooks'}: "
            f"{', '.join(known) or '(none)'}")
    return inspect_notebook(path)


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
    notebook's ``PROFILES`` table.
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
        params.append(NotebookParameter(name, type_name, default, spec.get("help", "") or "",
                                        MappingProxyType(per_profile), annotated))
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
    annotated line per size parameter; the second code cell defines ``PROFILES`` with the
    profiles smoke, book and paper and calls ``NotebookRun.start``; the last code cell calls
    ``nb.finish()``; the committed source holds no outputs.
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


# --------------------------------------------------------------------------- parameters

_TEMPLATES = {"int": 0, "float": 0.0, "str": "", "bool": False, "list": [], "dict": {}}


def parse_cli_value(info: NotebookInfo, name: str, text: str) -> Any:
    """Convert the text of ``-p NAME VALUE`` to the parameter's declared type."""
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


def validate_parameters(info: NotebookInfo, profile: str,
                        parameters: Optional[Mapping[str, Any]] = None) -> dict:
    """Check the profile and the overrides against the notebook's parameters cell.

    Returns the overrides normalised for papermill (tuples as lists, ints as floats where the
    parameter is a float). Raises :class:`ParameterError` naming the parameter and what is
    allowed: unknown profile, unknown parameter, ``profile``/``output_dir`` given as overrides,
    or a value of the wrong type.
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
    return out


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class RunResult:
    """Where one notebook run put its outputs."""

    paper: str
    profile: str
    parameters: Mapping[str, Any]
    output_dir: Path
    executed: Path
    results: Path
    record: Optional[Path]
    skipped: bool
    seconds: float


def default_output_dir(root: Path, paper: str, profile: str) -> Path:
    """``_build/runs/<profile>/<paper>`` under the repository root."""
    return Path(root) / "_build" / "runs" / profile / paper


def record_path(root: Path, paper: str, profile: str) -> Path:
    """The committed record ``results/<profile>/<paper>.json``."""
    return Path(root) / "results" / profile / f"{paper}.json"


def run_hash(info: NotebookInfo, profile: str, parameters: Mapping[str, Any]) -> str:
    """sha256 of the notebook source, the profile and the overrides (what decides a rerun)."""
    from . import __version__

    h = hashlib.sha256()
    h.update(Path(info.path).read_bytes())
    h.update(json.dumps({"profile": profile, "parameters": dict(parameters),
                         "relutopo": __version__}, sort_keys=True, default=str).encode())
    return h.hexdigest()


def regenerate_command(paper: str, profile: str, parameters: Mapping[str, Any] = None) -> str:
    """The shell command that regenerates a run: ``relutopo run <paper> --profile P -p k v ...``."""
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
    (their process is gone); only those of output folder ``name`` when given. Returns them."""
    removed = []
    for p in Path(folder).glob(".*"):
        m = _LEFTOVER_RE.match(p.name)
        if not m or (name is not None and m.group("name") != name):
            continue
        if not _pid_alive(int(m.group("pid"))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _read_stamp(out: Path) -> Optional[dict]:
    try:
        with open(out / _STAMP, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _annotate_executed(nb_path: Path, info: NotebookInfo, profile: str, overrides: Mapping,
                       results: dict) -> None:
    """Hide papermill's injected-parameters cell (it shows the staging path) and add a box that
    tells the reader how to regenerate the page."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    values = results.get("parameters", {})
    shown = ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in values.items() if k != "profile")
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
        f"(`relutopo list {info.paper}` shows all parameters). "
        + (f"Parameters of this run: {shown}." if shown else ""),
        "```",
    ]
    box = nbformat.v4.new_markdown_cell("\n".join(lines))
    box.metadata["tags"] = ["relutopo-regenerate"]
    at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    nb.cells.insert(at, box)
    nbformat.write(nb, str(nb_path))


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
                 progress: bool = False) -> RunResult:
    """Execute one notebook with papermill and publish its outputs atomically.

    Parameters
    ----------
    notebook : str or NotebookInfo
        A paper name (``notebooks/<paper>.ipynb``), a path to a notebook, or an inspected notebook.
    profile : {"smoke", "book", "paper"}
        The size profile.
    parameters : mapping, optional
        Overrides of size parameters (``{"n_seeds": 3}``), checked before execution.
    root : path, optional
        Repository root (default: found from the current folder).
    output_dir : path, optional
        Where the executed copy, figures and results.json go
        (default ``_build/runs/<profile>/<paper>``).
    force : bool
        Execute even when the notebook and parameters are unchanged since the last run there.
    record : bool, optional
        Copy results.json to ``results/<profile>/<paper>.json`` (the committed record). Default:
        when no overrides are given. Recording a run with overrides is refused.
    kernel_name : str
        The Jupyter kernel.
    cell_timeout : int, optional
        Seconds any one cell may run (default: no limit).
    progress : bool
        Show papermill's per-cell progress bar (on stderr).

    Returns
    -------
    RunResult

    Raises
    ------
    ParameterError
        Bad profile or parameter (before anything executes).
    NotebookRunError
        The notebook raised, or wrote no valid results file. The executed copy with the
        traceback is kept as ``<out>.failed.ipynb``.
    """
    from ._execute import ChildExecutionError, execute

    root = Path(root) if root is not None else find_root()
    info = notebook if isinstance(notebook, NotebookInfo) else get_notebook(notebook, root)
    overrides = validate_parameters(info, profile, parameters)
    if record is None:
        record = not overrides
    elif record and overrides:
        raise ParameterError(
            "refusing to record a run with overrides "
            f"({', '.join(overrides)}) as results/{profile}/{info.paper}.json: the record holds "
            "the profile's own values; drop the -p overrides or do not record")
    out = Path(output_dir) if output_dir is not None else default_output_dir(root, info.paper, profile)
    out = out.resolve()
    digest = run_hash(info, profile, overrides)
    executed = out / f"{info.paper}.ipynb"
    results_file = out / "results.json"
    rec = record_path(root, info.paper, profile) if record else None

    stamp = _read_stamp(out)
    if (not force and stamp and stamp.get("hash") == digest and executed.is_file()
            and results_file.is_file()):
        _validate_results(results_file, info, profile)
        if rec is not None and (not rec.is_file() or rec.read_bytes() != results_file.read_bytes()):
            atomic_write_bytes(rec, results_file.read_bytes())
        return RunResult(info.paper, profile, MappingProxyType(overrides), out, executed,
                         results_file, rec, True, 0.0)

    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out.parent, out.name)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    staging.chmod(0o777 & ~_umask())
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
            if staged_nb.is_file():
                shutil.copyfile(staged_nb, failed)
            where = f"in cell [{exc.info['exec_count']}]" if exc.info.get("exec_count") else "while executing"
            raise NotebookRunError(
                f"{info.paper} (profile {profile}) failed {where}: "
                f"{exc.info.get('ename')}: {exc.info.get('evalue')}\n"
                f"  executed copy with the traceback: {failed}") from None
        seconds = time.perf_counter() - t0
        data = _validate_results(staging / "results.json", info, profile)
        _annotate_executed(staged_nb, info, profile, overrides, data)
        atomic_write_json(staging / _STAMP, {
            "hash": digest, "paper": info.paper, "profile": profile, "parameters": overrides,
            "seconds": round(seconds, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        # publish: swap the staging folder in (the old one moves aside, then goes)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
            os.replace(out, old / "previous")
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if failed.exists():
            failed.unlink()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if rec is not None:
        atomic_write_bytes(rec, results_file.read_bytes())
    return RunResult(info.paper, profile, MappingProxyType(overrides), out, executed, results_file,
                     rec, False, seconds)
