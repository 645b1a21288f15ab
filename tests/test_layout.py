"""The shape of the house: imports point one way, the core needs no torch, records name no machine.

* ``relutopo`` (the core) never imports ``relutopo.papers`` or ``relutopo.repro``; papers and the
  pipeline import the core. Checked by walking the syntax tree of every core module (imports
  anywhere in a module count, lazy ones inside functions included).
* ``import relutopo`` and ``decompose`` work with torch made unimportable.
* No committed record (``results/*/*.json``) or benchmark result holds an absolute path.
"""

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "relutopo"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def _core_modules() -> list:
    """Every module of the core. ``relutopo/__main__.py`` is not one: it is the entry point of
    ``python -m relutopo`` (the command line, in relutopo.repro) and nothing imports it."""
    return [p for p in sorted(PKG.rglob("*.py"))
            if p.relative_to(PKG).parts[0] not in ("papers", "repro", "__main__.py")]


def test_the_core_never_imports_papers_or_the_pipeline():
    offending = {}
    for path in _core_modules():
        bad = sorted(i for i in _imports(path)
                     if i.startswith(("relutopo.papers", "relutopo.repro")))
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert not offending, f"core modules importing paper or pipeline code: {offending}"


def test_papers_do_not_import_each_other_or_the_pipeline():
    offending = {}
    for path in sorted((PKG / "papers").rglob("*.py")):
        paper = path.relative_to(PKG / "papers").parts[0]
        if paper == "__init__.py":
            continue
        bad = sorted(i for i in _imports(path) if i.startswith("relutopo.repro")
                     or (i.startswith("relutopo.papers.")
                         and i.split(".")[2] not in (paper,)))
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert not offending, f"paper modules importing another paper or the pipeline: {offending}"


def test_the_walk_sees_lazy_imports(tmp_path):
    """The check must be able to fail: a lazy import inside a function is found."""
    f = PKG / "_layout_probe_tmp.py"
    try:
        f.write_text("def f():\n    from .repro import claims\n    return claims\n")
        assert "relutopo.repro" in _imports(f) and "relutopo.repro.claims" in _imports(f)
    finally:
        f.unlink()


def test_public_namespace_is_the_core_only():
    import relutopo

    assert 15 <= len(relutopo.__all__) <= 25
    for name in relutopo.__all__:
        obj = getattr(relutopo, name)
        module = getattr(obj, "__module__", "") or ""
        assert not module.startswith(("relutopo.papers", "relutopo.repro")), (name, module)


def test_core_imports_and_decomposes_without_torch():
    """torch made unimportable (a meta-path finder that refuses it): the core still imports and
    decomposes; the torch-only entry points say what to install."""
    code = textwrap.dedent("""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is not installed (blocked by the test)")
                return None
        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        import relutopo
        from relutopo import Box, ReluNet, decompose
        net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
                                   [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
        dec = decompose(net, Box(-1, 1, dim=2))
        print(dec.n_regions, "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    n, torch_loaded = out.stdout.split()
    assert int(n) == 7 and torch_loaded == "False"


_ABS = re.compile(r'"(/(?:[A-Za-z0-9._-]+/)+[A-Za-z0-9._-]*)"')


@pytest.mark.parametrize("path", sorted(ROOT.glob("results/*/*.json"))
                         + sorted(ROOT.glob("benchmarks/results/*.json")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_records_hold_no_absolute_path(path):
    found = _ABS.findall(path.read_text())
    assert not found, f"{path.relative_to(ROOT)} names paths of one machine: {found[:3]}"


def test_records_are_written_with_portable_paths(tmp_path):
    from relutopo.repro.record import Results

    r = Results("x", "smoke", extra={"images": [str(ROOT / "results" / "a.png"),
                                                "/opt/venv/lib/python3.11/site-packages/skimage/data/b.png"]})
    r.write(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["extra"]["images"] == ["results/a.png", "site-packages/skimage/data/b.png"]


def test_no_environment_or_build_output_is_tracked():
    """A virtual environment, a link to one, or build output in git would replace the user's own
    on checkout (a committed ``.venv`` link once destroyed a shared environment)."""
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    bad = [p for p in tracked if p.split("/")[0] in (".venv", ".bench-venv", "_build", ".cache")]
    assert not bad, f"tracked paths that the build owns: {bad[:5]}"
