"""What a chapter depends on, so that a book can never publish results its code no longer gives.

A notebook run is identified by the digests of everything that decides its output:

* the notebook file itself, the profile and the ``-p`` overrides;
* the source of every ``relutopo`` module the notebook imports, directly or through other
  modules (imports anywhere in a module count, lazy imports inside functions included; found by
  walking the modules' syntax trees, nothing is executed);
* the pinned environment (``requirements.txt``) and ``pyproject.toml``.

:func:`run_inputs` returns them as a ``{name: sha256}`` mapping that the runner stores in the
run stamp; :func:`changed_inputs` compares two such mappings and says, in words, why a run is
stale ("library changed: relutopo/overlap.py").

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "relutopo").mkdir()
>>> _ = (root / "relutopo" / "__init__.py").write_text("")
>>> _ = (root / "relutopo" / "a.py").write_text("from . import b\\n")
>>> _ = (root / "relutopo" / "b.py").write_text("import math\\n")
>>> sorted(p.name for p in module_closure(["relutopo.a"], root))
['__init__.py', 'a.py', 'b.py']
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Iterable, Mapping, Optional

__all__ = ["notebook_imports", "module_closure", "library_root", "run_inputs", "changed_inputs",
           "ENVIRONMENT_FILES", "PACKAGE"]

#: The package whose source is hashed.
PACKAGE = "relutopo"
#: Files of the repository root that pin the environment a run used.
ENVIRONMENT_FILES = ("requirements.txt", "pyproject.toml")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set:
    """Absolute module names imported anywhere in ``tree`` (relative imports resolved)."""
    names = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 > len(parts) - 1:
                    continue
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            # ``from pkg import mod`` may import a submodule
            names.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _module_file(name: str, root: Path) -> Optional[Path]:
    """The source file of module ``name`` under ``root`` (a package's ``__init__.py``), or None."""
    rel = Path(*name.split("."))
    for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def notebook_imports(notebook: Path) -> set:
    """Module names a notebook's code cells import (cells that do not parse are skipped).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline\\nfrom relutopo import decompose\\nimport numpy as np")])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.ipynb"
    >>> nbformat.write(nb, str(path))
    >>> sorted(notebook_imports(path))
    ['numpy', 'relutopo', 'relutopo.decompose']
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names |= _imported_names(tree, "__notebook__", False)
    return names


def module_closure(modules: Iterable[str], root: Path, package: str = PACKAGE) -> list:
    """Source files of ``modules`` and of every ``package`` module they import, transitively.

    The parents' ``__init__.py`` of each module count too (importing ``a.b`` runs ``a``).
    Returns sorted paths under ``root``.

    Examples
    --------
    A module's closure holds what it imports, transitively, and its packages' ``__init__.py``:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "relutopo").mkdir()
    >>> _ = (root / "relutopo" / "__init__.py").write_text("")
    >>> _ = (root / "relutopo" / "a.py").write_text("from . import b")
    >>> _ = (root / "relutopo" / "b.py").write_text("def f():\\n    from relutopo import c")
    >>> _ = (root / "relutopo" / "c.py").write_text("")
    >>> [p.name for p in module_closure(["relutopo.a"], root)]
    ['__init__.py', 'a.py', 'b.py', 'c.py']
    """
    root = Path(root)
    seen, todo = {}, [m for m in modules if m == package or m.startswith(package + ".")]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        seen[name] = path
        parts = name.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) not in seen)
        if path is None:
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError:
            continue
        for dep in _imported_names(tree, name, path.name == "__init__.py"):
            if (dep == package or dep.startswith(package + ".")) and dep not in seen:
                todo.append(dep)
    return sorted({p for p in seen.values() if p is not None})


def library_root(root: Path) -> Path:
    """The folder holding the ``relutopo`` package a notebook run from ``root`` imports: ``root``
    itself when it is a checkout (the kernel starts there, so its ``relutopo/`` wins), else the
    folder of the installed package.

    Examples
    --------
    A checkout (a folder holding ``relutopo/__init__.py``) is its own library root:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "relutopo").mkdir()
    >>> _ = (root / "relutopo" / "__init__.py").write_text("")
    >>> library_root(root) == root
    True
    """
    root = Path(root)
    if (root / PACKAGE / "__init__.py").is_file():
        return root
    import relutopo

    return Path(relutopo.__file__).resolve().parents[1]


def run_inputs(notebook: Path, root: Path, settings: Mapping) -> dict:
    """``{input name: sha256}`` of everything that decides a run's output.

    Keys: ``"notebook: notebooks/x.ipynb"``, ``"settings"`` (profile and overrides),
    ``"library: relutopo/..."`` per module (found where the run imports the package from:
    :func:`library_root`), ``"environment: requirements.txt"`` per file of ``root``.

    Examples
    --------
    Editing a library module the notebook imports changes the inputs, and :func:`changed_inputs`
    says which:

    >>> import pathlib, tempfile
    >>> import nbformat
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "relutopo").mkdir()
    >>> _ = (root / "relutopo" / "__init__.py").write_text("")
    >>> _ = (root / "relutopo" / "a.py").write_text("x = 1")
    >>> nb = root / "n.ipynb"
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import relutopo.a")]), str(nb))
    >>> before = run_inputs(nb, root, {"profile": "smoke"})
    >>> sorted(before)
    ['environment: pyproject.toml', 'environment: requirements.txt', 'library: relutopo/__init__.py', 'library: relutopo/a.py', 'notebook: n.ipynb', 'settings']
    >>> _ = (root / "relutopo" / "a.py").write_text("x = 2")
    >>> changed_inputs(before, run_inputs(nb, root, {"profile": "smoke"}))
    ['library changed: relutopo/a.py']
    """
    root = Path(root)
    lib = library_root(root)
    notebook = Path(notebook)
    try:
        nb_name = notebook.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        nb_name = notebook.name
    out = {f"notebook: {nb_name}": _sha(notebook.read_bytes()),
           "settings": _sha(json.dumps(dict(settings), sort_keys=True, default=str).encode())}
    for path in module_closure(notebook_imports(notebook), lib):
        out[f"library: {path.relative_to(lib).as_posix()}"] = _sha(path.read_bytes())
    for name in ENVIRONMENT_FILES:
        p = root / name
        out[f"environment: {name}"] = _sha(p.read_bytes()) if p.is_file() else "absent"
    return out


def changed_inputs(old: Optional[Mapping], new: Mapping) -> list:
    """Why a run with inputs ``old`` is stale against ``new``: one phrase per change.

    Examples
    --------
    >>> changed_inputs({"library: relutopo/a.py": "1"}, {"library: relutopo/a.py": "2"})
    ['library changed: relutopo/a.py']
    >>> changed_inputs(None, {"settings": "x"})
    ['never run here']
    """
    if not old:
        return ["never run here"]
    reasons = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        kind, _, what = key.partition(": ")
        if key not in old:
            reasons.append(f"{kind} added: {what}" if what else f"{kind} added")
        elif key not in new:
            reasons.append(f"{kind} no longer used: {what}" if what else f"{kind} removed")
        else:
            reasons.append(f"{kind} changed: {what}" if what else f"{kind} changed")
    return reasons
