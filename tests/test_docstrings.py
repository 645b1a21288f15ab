"""Every public name of the core library has a numpydoc docstring with an *Examples* section.

The public names are ``relutopo.__all__`` and, for every core module (``relutopo/`` without
``relutopo/papers``, ``relutopo/repro`` and ``__main__.py``), its ``__all__`` or else the functions
and classes it defines whose names do not start with an underscore. The examples themselves run
as doctests (``--doctest-modules``, see ``pyproject.toml`` and ``conftest.py``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "relutopo"

#: A numpydoc section header: the word on its own line, underlined by dashes.
EXAMPLES = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{3,}[ \t]*$", re.M)


def core_modules() -> list:
    names = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("papers", "repro", "__main__.py", "conftest.py"):
            continue
        parts = ["relutopo", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def public_members(module_name: str) -> list:
    """``(qualified name, object)`` of the public functions and classes of a module."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:      # a module that needs a missing optional package
        pytest.skip(f"{module_name} needs {exc.name}")
    exported = getattr(module, "__all__", None)
    names = exported if exported is not None else [n for n in vars(module) if not n.startswith("_")]
    out = []
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if exported is None and getattr(obj, "__module__", None) != module_name:
            continue                        # imported from elsewhere, checked where it is defined
        out.append((f"{module_name}.{name}", obj))
    return out


def has_examples(obj) -> bool:
    return bool(EXAMPLES.search(inspect.getdoc(obj) or ""))


def test_the_check_can_fail():
    def documented():
        """One line.

        Examples
        --------
        >>> 1 + 1
        2
        """

    def undocumented():
        """One line, no examples."""

    assert has_examples(documented)
    assert not has_examples(undocumented)
    assert not has_examples(lambda: None)


def test_the_top_level_names_have_examples():
    import relutopo

    missing = [n for n in relutopo.__all__
               if (inspect.isfunction(getattr(relutopo, n)) or inspect.isclass(getattr(relutopo, n)))
               and not has_examples(getattr(relutopo, n))]
    assert not missing, f"relutopo.__all__ names without an Examples section: {missing}"


@pytest.mark.parametrize("module_name", core_modules())
def test_public_core_names_have_examples(module_name):
    missing = [q for q, obj in public_members(module_name) if not has_examples(obj)]
    assert not missing, (f"public names without a numpydoc Examples section "
                         f"(add one that runs as a doctest): {missing}")
