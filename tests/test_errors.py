"""One exception base: every exception class relutopo defines derives from RelutopoError and from
the builtin it refines, so ``except RelutopoError`` catches every error the library raises on
purpose and ``except ValueError`` (or TypeError, RuntimeError) keeps working."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import relutopo
from relutopo.errors import RelutopoError

ROOT = Path(relutopo.__file__).parent


def _module_names():
    return sorted(m.name for m in pkgutil.walk_packages(relutopo.__path__, "relutopo.")
                  if not m.name.endswith("__main__"))


def _defined_exceptions():
    """Every exception class defined at the top level of a relutopo module (imported, so that
    bases are resolved), with its module."""
    found = []
    for name in _module_names():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == name:
                found.append(obj)
    return found


def _classes_in_source():
    """Names of classes defined anywhere in relutopo's source (nested ones included) whose bases
    name an exception or error, read from the syntax trees: a class the import walk cannot see
    (defined inside a function) is caught here."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "Warning")) for b in bases):
                    out.append((path.relative_to(ROOT.parent).as_posix(), node.name, bases))
    return out


def test_the_walk_finds_the_library_errors():
    names = {e.__name__ for e in _defined_exceptions()}
    # a few from each layer: core, the paper packages, the pipeline
    assert {"RelutopoError", "NetworkError", "ComplexError", "ValidationError", "DataError",
            "WeightsError", "ParameterError", "ContractError", "NotebookRunError"} <= names


def test_every_exception_class_derives_from_relutopo_error_and_a_builtin():
    bad, no_builtin = [], []
    for exc in _defined_exceptions():
        if issubclass(exc, Warning):
            continue  # warnings are categories for the warnings module, not errors
        if not issubclass(exc, RelutopoError):
            bad.append(f"{exc.__module__}.{exc.__name__}")
        elif exc is not RelutopoError:
            refined = [b for b in exc.__mro__ if b.__module__ == "builtins"
                       and b not in (Exception, BaseException, object)]
            if not refined:
                no_builtin.append(f"{exc.__module__}.{exc.__name__}")
    assert not bad, f"exception classes outside the RelutopoError hierarchy: {bad}"
    assert not no_builtin, f"exception classes that refine no builtin error: {no_builtin}"


def test_no_exception_class_hides_inside_a_function():
    """Every exception class found in the source is one the import walk checked above."""
    walked = {(e.__module__, e.__name__) for e in _defined_exceptions()}
    walked_names = {n for _, n in walked}
    hidden = [(p, n) for p, n, _ in _classes_in_source() if n not in walked_names]
    assert not hidden, f"exception classes the module walk cannot reach: {hidden}"


def test_warnings_are_warnings():
    from relutopo.errors import InconsistencyWarning, ResolutionWarning

    assert issubclass(InconsistencyWarning, RuntimeWarning)
    assert issubclass(ResolutionWarning, RuntimeWarning)


@pytest.mark.parametrize("module, name", [
    ("relutopo.nets", "NetworkError"), ("relutopo.polyhedra", "RegionError"),
    ("relutopo.complex", "ComplexError"), ("relutopo.filtration", "FiltrationError"),
    ("relutopo.spectral", "SpectralError"), ("relutopo.slices", "SliceError"),
])
def test_core_errors_live_in_errors_and_stay_importable_where_they_were(module, name):
    import relutopo.errors as errors

    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_one_except_clause_catches_library_errors():
    import numpy as np

    from relutopo import Box, ReluNet
    from relutopo.complex import cell_complex_from_halfspaces

    caught = []
    for bad in (lambda: ReluNet.from_weights([np.eye(2)], [np.zeros(3)]),
                lambda: Box(1, 0, dim=2),
                lambda: cell_complex_from_halfspaces([], Box(0, 1, dim=2)),
                lambda: cell_complex_from_halfspaces([], [0, 1])):
        try:
            bad()
        except RelutopoError as exc:
            caught.append(type(exc).__name__)
    assert caught == ["NetworkError", "ValidationError", "ComplexError", "ValidationTypeError"]
