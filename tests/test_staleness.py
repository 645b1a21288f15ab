"""Chapters can never go stale: a run is redone exactly when something it depends on changed.

The end-to-end test copies the library into a temporary checkout with two chapters (the fixture
notebook, one importing a Wang module, one a Beshkov module), runs both, edits a Wang module, and
checks that ``make book``'s runner reruns the Wang chapter -- saying why -- and skips the other.
"""

import shutil
from pathlib import Path

import nbformat
import pytest

from relutopo.repro.runner import get_notebook, run_notebook, stale_reasons
from relutopo.repro.staleness import changed_inputs, module_closure, notebook_imports, run_inputs

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "fixture_regions.ipynb"


def _chapter(root: Path, name: str, extra_import: str) -> None:
    nb = nbformat.read(str(FIXTURE), as_version=4)
    setup = nb.cells[2]
    setup.source = extra_import + "\n" + setup.source.replace('"fixture_regions"', f'"{name}"')
    nbformat.write(nb, str(root / "notebooks" / f"{name}.ipynb"))


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copytree(REPO / "relutopo", root / "relutopo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copyfile(REPO / name, root / name)
    _chapter(root, "chapter_wang", "import relutopo.papers.wang.bounds")
    _chapter(root, "chapter_beshkov", "import relutopo.papers.beshkov.nested")
    return root


def test_closure_follows_imports_transitively(checkout):
    files = {p.relative_to(checkout).as_posix() for p in
             module_closure(notebook_imports(checkout / "notebooks" / "chapter_wang.ipynb"), checkout)}
    assert "relutopo/papers/wang/bounds.py" in files
    assert "relutopo/repro/notebook.py" in files and "relutopo/repro/claims.py" in files
    assert "relutopo/nets.py" in files                       # through relutopo/__init__.py
    assert "relutopo/papers/beshkov/nested.py" not in files


def test_changed_inputs_names_each_kind():
    old = {"library: relutopo/a.py": "1", "environment: requirements.txt": "x", "settings": "s"}
    new = {"library: relutopo/a.py": "2", "environment: requirements.txt": "y", "settings": "s",
           "library: relutopo/b.py": "3"}
    assert changed_inputs(old, new) == ["environment changed: requirements.txt",
                                        "library changed: relutopo/a.py",
                                        "library added: relutopo/b.py"]
    assert changed_inputs(new, new) == []


def test_inputs_cover_environment_and_settings(checkout):
    nb = checkout / "notebooks" / "chapter_wang.ipynb"
    a = run_inputs(nb, checkout, {"profile": "smoke"})
    (checkout / "requirements.txt").write_text("numpy==0\n")
    b = run_inputs(nb, checkout, {"profile": "smoke"})
    assert changed_inputs(a, b) == ["environment changed: requirements.txt"]
    c = run_inputs(nb, checkout, {"profile": "book"})
    assert changed_inputs(b, c) == ["settings changed"]


@pytest.mark.notebook
def test_editing_a_library_module_reruns_exactly_the_affected_chapter(checkout):
    wang = get_notebook("chapter_wang", checkout)
    beshkov = get_notebook("chapter_beshkov", checkout)
    for info in (wang, beshkov):
        first = run_notebook(info, "smoke", root=checkout, record=False)
        assert not first.skipped and first.reasons == ("never run here",)
        assert stale_reasons(info, "smoke", {}, root=checkout) == []
        assert run_notebook(info, "smoke", root=checkout, record=False).skipped
    bounds = checkout / "relutopo" / "papers" / "wang" / "bounds.py"
    bounds.write_text(bounds.read_text() + "\n# an edit\n")
    assert stale_reasons(wang, "smoke", {}, root=checkout) == [
        "library changed: relutopo/papers/wang/bounds.py"]
    assert stale_reasons(beshkov, "smoke", {}, root=checkout) == []
    again = run_notebook(wang, "smoke", root=checkout, record=False)
    assert not again.skipped and again.reasons == ("library changed: relutopo/papers/wang/bounds.py",)
    assert run_notebook(beshkov, "smoke", root=checkout, record=False).skipped
