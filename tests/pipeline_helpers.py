"""Shared helpers for the pipeline tests: a throw-away repository root holding the fixture
notebook and the book's sources (so tests never write into the real checkout)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "fixture_regions.ipynb"
PAPER = "fixture_regions"


def make_root(dest: Path, *, book: bool = False) -> Path:
    """A minimal repository root at ``dest``: notebooks/ with the fixture notebook and, with
    ``book=True``, the book's configuration, prose pages and local MathJax (when present)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "notebooks").mkdir(exist_ok=True)
    shutil.copyfile(FIXTURE, dest / "notebooks" / FIXTURE.name)
    if book:
        for name in ("_config.yml", "_toc.yml"):
            shutil.copyfile(REPO / name, dest / name)
        (dest / "book").mkdir(exist_ok=True)
        for page in (REPO / "book").glob("*.md"):
            shutil.copyfile(page, dest / "book" / page.name)
        shutil.copyfile(REPO / "DESIGN.md", dest / "DESIGN.md")
        shutil.copytree(REPO / "book" / "images", dest / "book" / "images", dirs_exist_ok=True)
        if (REPO / "_static").is_dir():
            shutil.copytree(REPO / "_static", dest / "_static", dirs_exist_ok=True)
    return dest
