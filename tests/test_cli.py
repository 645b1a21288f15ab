"""The command line: list, run argument errors, scorecard (text and book page), generated pages,
`python -m relutopo`, and the blank-page detector of check-book."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from pipeline_helpers import FIXTURE, PAPER, REPO, make_root
from relutopo.repro.book import performance_page, prepare_book, scorecard_page
from relutopo.repro.bookcheck import is_blank, local_references
from relutopo.repro.cli import main
from relutopo.repro.claims import (equals, greater, numeric_claim, paper_claim, range_claim,
                                   self_check)
from relutopo.repro.record import Results
from relutopo.repro.scorecard import (reproduction_rate, scorecard_markdown, scorecard_rows,
                                     scorecard_text, verdict_counts)


def _fixture_profiles():
    nb = nbformat.read(str(FIXTURE), as_version=4)
    tree = ast.parse(nb.cells[2].source)
    return next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", "") == "PROFILES")


def test_list_shows_every_parameter_with_each_profile_value(tmp_path, capsys):
    root = make_root(tmp_path / "repo")
    assert main(["--root", str(root), "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(PAPER)
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    for name, _ in _fixture_profiles()["smoke"].items():
        row = lines[name]
        assert [row[2], row[3], row[4]] == [str(_fixture_profiles()[p][name])
                                             for p in ("smoke", "book", "paper")]
    assert main(["--root", str(root), "list", "--names"]) == 0
    assert capsys.readouterr().out.split() == [PAPER]


@pytest.mark.parametrize("argv, fragment", [
    (["run", PAPER, "-p", "grd", "3"], "unknown parameter 'grd' for fixture_regions; its parameters are: n_neurons, grid"),
    (["run", PAPER, "-p", "grid", "x"], "parameter 'grid' of fixture_regions must be of type int"),
    (["run", "nope"], "unknown paper 'nope'; notebooks in"),
    (["run"], "name a paper"),
    (["run", PAPER, "--all"], "not both"),
    (["run", "--all", "-p", "grid", "3"], "apply to one notebook"),
    (["run", PAPER, "-p", "profile", "paper"], "--profile"),
])
def test_run_argument_errors_exit_2_with_a_clear_message(tmp_path, capsys, argv, fragment):
    root = make_root(tmp_path / "repo")
    (root / "notebooks" / "other.ipynb").write_bytes(FIXTURE.read_bytes()) if "--all" in argv else None
    assert main(["--root", str(root), *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not (root / "_build").exists()


def test_unknown_profile_is_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", PAPER, "--profile", "huge"])
    assert e.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err


def test_python_dash_m_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "relutopo", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ("list", "run", "book", "scorecard", "verify", "check-book"):
        assert cmd in out


def _write_results(root: Path, profile="book"):
    a = Results("alpha", profile, parameters={"n": 1})
    a.add(numeric_claim("a1", "count | of regions", 12, 12, figure="fig1"))
    a.add(numeric_claim("a2", "a rate", 0.5, 0.9, atol=0.1, note="fewer seeds",
                        limit="we trained fewer seeds"))
    a.add(self_check("a3", "two algorithms agree", equals(5, 5, name="agreeing nets")))
    a.add_figure("fig1", "figures/fig1.png", "cap")
    a.extra["data_and_weights"] = "generated circle, untrained net"
    a.write(root / "results" / profile / "alpha.json")
    b = Results("beta", profile)
    b.add(range_claim("b1", "in range", (1, 2), 5))
    b.add(paper_claim("b2", "trend", "goes up", greater(0.3, 0.0, name="slope"), comparable=False))
    b.add(self_check("b3", "invariant", equals(1, 2, name="Euler characteristic")))
    b.write(root / "results" / profile / "beta.json")
    return [a, b]


def test_scorecard_counts_and_rows_come_from_the_files(tmp_path, capsys):
    written = _write_results(tmp_path)
    rows = scorecard_rows([json.loads((tmp_path / "results" / "book" / f).read_text())
                           for f in ("alpha.json", "beta.json")])
    expected = [(r.paper, c.id, c.verdict) for r in written for c in r.claims]
    assert [(r.paper, r.claim, r.verdict) for r in rows] == expected
    assert verdict_counts(rows) == {"reproduced": 1, "differs": 2, "not comparable": 1}
    assert verdict_counts(rows, "self-check") == {"passed": 1, "failed": 1}
    # self-checks and not-comparable claims never count: 1 reproduced of 3 comparable
    assert reproduction_rate(rows) == 1 / 3
    text = scorecard_text(tmp_path, "book")
    assert ("4 paper claims from 2 paper(s): 1 reproduced, 2 differ, 1 not comparable; "
            "1 of 3 comparable paper claims reproduced (33 %). 2 self-checks: 1 passed, 1 failed") in text
    assert text.index("Paper claims") < text.index("Self-checks") < text.index("a3")
    assert main(["--root", str(tmp_path), "scorecard", "--profile", "book"]) == 0
    assert capsys.readouterr().out.strip() == text.strip()
    md = scorecard_markdown(tmp_path, "book")
    paper_md, check_md = md.split("### Self-checks")
    prow = paper_md.split("* - ")[1:]                            # list-table rows
    assert len(prow) == 1 + 4 and all(r.count("\n  - ") == 5 for r in prow)
    crow = check_md.split("* - ")[1:]
    assert len(crow) == 1 + 2 and all(r.count("\n  - ") == 4 for r in crow)
    assert "`a1`: count | of regions" in md and "Limit: we trained fewer seeds" in md
    assert ":widths: " in md and ":class: relutopo-table" in md
    assert "no results" in scorecard_text(tmp_path, "smoke")


def test_generated_pages(tmp_path):
    _write_results(tmp_path)
    page = scorecard_page(tmp_path, "book")
    assert page.startswith("# Reproduction scorecard") and page.count("\n# ") == 0
    assert "generated circle, untrained net" in page and "see the paper's page" in page
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "RESULTS.md").write_text(
        "# Benchmarks\n\n```\n# not a heading\n```\n\n## LP speed\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    perf = performance_page(tmp_path)
    assert "\n## Benchmarks\n" in perf and "\n### LP speed\n" in perf
    assert "# not a heading" in perf and "\n## not a heading" not in perf
    assert perf.count("\n# Benchmarks") == 0 and perf.count("## Benchmarks") == 1
    assert "Exact slices of torch models" not in perf  # no bench_slices.json: no table
    (tmp_path / "benchmarks" / "results").mkdir()
    (tmp_path / "benchmarks" / "results" / "bench_slices.json").write_text(json.dumps({"cases": [
        {"case": "resnet18_segment", "n_jobs": 2, "pieces": 20248, "seconds": 10.76, "cpu_seconds": 20.8,
         "target_s": 10.0, "utc": "2026-12-08 02:33:50 UTC", "commit": "ce12bff"},
        {"case": "cnn_plane", "regions": 31957, "seconds": 2.2, "cpu_seconds": 2.2, "target_s": 10.0}]}))
    perf = performance_page(tmp_path)
    assert ("| ResNet-18 at 32x32, segment between two photographs | 2 | 20,248 | 10.8 | 20.8 | < 10 s "
            "| 2026-12-08 02:33:50 UTC ce12bff |") in perf
    assert "| the engine-slices chapter's CNN, plane through 3 MNIST digits | 1 | 31,957 | 2.2 | 2.2 | < 10 s |  |" in perf
    written = prepare_book(tmp_path, "book")
    assert [p.name for p in written] == ["scorecard.md", "performance.md", "api.md"]
    assert written[0].read_text() == page
    api = written[2].read_text()
    assert ".. automodule:: relutopo.decompose" in api and "## " in api


def test_blank_screenshot_detection(tmp_path):
    from PIL import Image

    white = np.full((200, 300, 3), 255, np.uint8)
    Image.fromarray(white).save(tmp_path / "blank.png")
    assert is_blank(tmp_path / "blank.png")[0]
    drawn = white.copy()
    drawn[20:120, 30:200] = (30, 60, 200)
    Image.fromarray(drawn).save(tmp_path / "page.png")
    blank, frac = is_blank(tmp_path / "page.png")
    assert not blank and abs(frac - 100 * 170 / (200 * 300)) < 1e-9


def test_local_references_resolve_relative_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    page = tmp_path / "sub" / "p.html"
    page.write_text('<img src="../_images/a%20b.png"><a href="#x">x</a>'
                    '<script src="https://cdn.example/x.js"></script><a href="q.html?v=1#y">q</a>'
                    '<span class="math">x</span>')
    refs, has_math, _ = local_references(page)
    assert [(t, p) for t, _, _, p in refs] == [("img", (tmp_path / "_images" / "a b.png").resolve()),
                                               ("a", (tmp_path / "sub" / "q.html").resolve())]
    assert has_math


def _fake_make(tmp_path, rc):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "make"
    fake.write_text(f"#!/bin/sh\necho \"fake make $*\"\nexit {rc}\n")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("make_rc, expected", [(0, 0), (5, 0), (1, 1), (2, 2)])
def test_ci_run_calls_make_test_and_maps_exit_5(tmp_path, make_rc, expected):
    run = subprocess.run([str(REPO / ".ci" / "run")], env=_fake_make(tmp_path, make_rc),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == expected
    assert "fake make test" in run.stdout


def test_make_test_treats_no_tests_collected_as_success(tmp_path):
    """The Makefile's test recipe maps pytest's exit 5 to 0 (checked on an empty test folder)."""
    up_to_date = subprocess.run(["make", "-q", "-C", str(REPO), "venv"], capture_output=True)
    if up_to_date.returncode != 0:
        pytest.skip("the environment stamp is missing; `make venv` first")
    (tmp_path / "empty").mkdir()
    run = subprocess.run(["make", "-C", str(REPO), "test",
                          f"PYTEST_ARGS=-p no:cacheprovider --rootdir {tmp_path} {tmp_path / 'empty'}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no tests (exit 5)" in run.stdout or "collected no tests" in run.stdout


def test_prepare_book_drops_executed_copies_of_removed_notebooks(tmp_path):
    """Only run folders relutopo wrote (stamped, nothing else in them) are dropped."""
    root = make_root(tmp_path / "repo")
    for paper in (PAPER, "removed_paper", "unstamped_paper", "annotated_paper"):
        folder = root / "book" / "executed" / paper
        folder.mkdir(parents=True)
        (folder / f"{paper}.ipynb").write_bytes(FIXTURE.read_bytes())
        if paper != "unstamped_paper":
            (folder / ".run.json").write_text(json.dumps({"paper": paper, "profile": "book"}))
    (root / "book" / "executed" / "annotated_paper" / "my_notes.txt").write_text("mine")
    prepare_book(root, "book")
    assert sorted(p.name for p in (root / "book" / "executed").iterdir()) == [
        "annotated_paper", PAPER, "unstamped_paper"]
    assert (root / "book" / "executed" / "annotated_paper" / "my_notes.txt").read_text() == "mine"


def test_list_table_needs_one_cell_per_column():
    from relutopo.repro.scorecard import list_table

    with pytest.raises(ValueError, match="one cell per header column"):
        list_table(["a", "b"], [["1"]], widths=[1, 1])
    text = list_table(["a", "b"], [["x\ny", ""]], widths=[1, 2])
    assert "* - a\n  - b\n* - x y\n  - —\n" in text and ":widths: 1 2" in text
