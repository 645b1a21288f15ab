"""pytest configuration for the doctests of ``relutopo/`` (``--doctest-modules``, see pyproject).

The core runs on numpy/scipy/highspy/networkx; torch, matplotlib, numba and the paper and book
packages are optional. A module of ``relutopo/`` whose import needs a missing optional package is
not collected for doctests (instead of failing the run), and an Examples section that imports one
is skipped. Any other import error still fails the collection.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
from pathlib import Path

import pytest

# Figures in examples are drawn off-screen.
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent
PKG = ROOT / "relutopo"

#: Top-level packages that relutopo may use but does not require.
OPTIONAL = frozenset({
    "torch", "torchvision", "matplotlib", "numba", "gudhi", "ripser", "dask", "distributed",
    "skimage", "sklearn", "PIL", "tqdm", "joblib", "nbformat", "nbclient", "nbconvert",
    "jupyter_book", "sphinx", "playwright", "pandas", "IPython", "ipywidgets", "plotly",
})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def pytest_ignore_collect(collection_path, config):
    """Do not collect the doctests of a ``relutopo`` module that needs a missing optional package."""
    path = Path(collection_path)
    if (not config.getoption("doctestmodules", False) or path.suffix != ".py"
            or PKG not in path.parents or path.name in ("__main__.py", "conftest.py")):
        return None
    try:
        importlib.import_module(_module_name(path))
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in OPTIONAL:
            return True
        raise
    return None


def _imported_roots(source: str) -> set:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def pytest_collection_modifyitems(config, items):
    """Skip an Examples section that imports a missing optional package (e.g. ``import torch``)."""
    for item in items:
        dtest = getattr(item, "dtest", None)
        if dtest is None:
            continue
        needed = set()
        for example in dtest.examples:
            needed |= _imported_roots(example.source)
        absent = sorted(r for r in needed & OPTIONAL if _missing(r))
        if absent:
            item.add_marker(pytest.mark.skip(reason=f"optional package(s) not installed: {absent}"))
