"""The generated pages of the Jupyter Book (``relutopo book`` writes them; ``make book`` builds).

The book's sources at the repository root:

* ``_config.yml``, ``_toc.yml`` -- committed; the toc takes every executed notebook with the glob
  ``book/executed/*/*``, so a notebook added to ``notebooks/`` appears in the book after
  ``make book`` without editing the toc;
* ``book/intro.md``, ``book/reproduce.md`` -- committed prose;
* ``book/executed/<paper>/<paper>.ipynb`` -- executed copies (``relutopo book`` runs papermill);
* ``book/generated/scorecard.md``, ``book/generated/performance.md`` -- written by
  :func:`prepare_book` from ``results/<profile>/*.json``, the run stamps and
  ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path


from relutopo.atomic import atomic_write_bytes
from relutopo.repro.record import load_results

__all__ = ["EXECUTED_DIR", "GENERATED_DIR", "prepare_book", "scorecard_page", "performance_page",
           "prune_executed", "api_page", "api_modules"]

#: Executed notebooks (one folder per paper) that the book's toc globs.
EXECUTED_DIR = Path("book") / "executed"
#: Pages written by :func:`prepare_book`.
GENERATED_DIR = Path("book") / "generated"


def _write_if_changed(path: Path, text: str) -> Path:
    data = text.encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        atomic_write_bytes(path, data)
    return path


def _executed_papers(root: Path) -> dict:
    """``{paper: folder}`` of executed notebooks present under ``book/executed``."""
    base = root / EXECUTED_DIR
    out = {}
    for nb in sorted(base.glob("*/*.ipynb")):
        if nb.stem == nb.parent.name:
            out[nb.stem] = nb.parent
    return out


def prune_executed(root: os.PathLike) -> list:
    """Remove executed copies whose source notebook no longer exists (so the book drops them)
    and the staging folders of killed runs. A folder is removed only when it is a run folder
    relutopo wrote (its stamp ``.run.json``) holding nothing else.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> prune_executed(pathlib.Path(tempfile.mkdtemp()))
    []
    """
    import shutil

    from relutopo.repro.runner import OutputFolderError, check_output_folder, remove_stale_staging

    root = Path(root)
    if (root / EXECUTED_DIR).is_dir():
        remove_stale_staging(root / EXECUTED_DIR)
    gone = []
    for paper, folder in _executed_papers(root).items():
        if not (root / "notebooks" / f"{paper}.ipynb").is_file():
            try:  # only a run folder relutopo wrote, and nothing else in it
                check_output_folder(folder, paper)
            except OutputFolderError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(paper)
    return gone


def _title(nb_path: Path) -> str:
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:
        return nb_path.stem
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


def scorecard_page(root: os.PathLike, profile: str = "book") -> str:
    """The MyST source of the scorecard page: a per-paper overview (page, verdicts, data and
    weights used) and one table of every claim, linking each to its paper page and figure.

    Examples
    --------
    >>> from relutopo.repro.runner import find_root
    >>> page = scorecard_page(find_root(), "smoke")
    >>> page.startswith("#"), "wang" in page
    (True, True)
    """
    from relutopo.repro.claims import (DIFFERS, NOT_COMPARABLE, PAPER, PASSED, REPRODUCED,
                                       SELF_CHECK)
    from relutopo.repro.scorecard import (format_value, list_table, reproduction_rate,
                                          scorecard_markdown, scorecard_rows, short_name,
                                          verdict_counts)

    root = Path(root)
    executed = _executed_papers(root)
    titles = {p: _title(folder / f"{p}.ipynb") for p, folder in executed.items()}

    def paper_link(paper):
        return f"../executed/{paper}/{paper}.ipynb" if paper in executed else None

    def figure_link(paper, fig_path):
        if paper in executed and (executed[paper] / fig_path).is_file():
            return f"../executed/{paper}/{fig_path}"
        return None

    lines = ["# Reproduction scorecard", "",
             f"Every claim of every paper, as recorded in `results/{profile}/` by the notebooks "
             "of this book, in two kinds. **Paper claims** are statements and numbers of the "
             "papers: *reproduced* when our value satisfies the rule, *differs* when it does not "
             "(a sentence under it says whether that is a *finding* -- our setup matches the "
             "paper's and the number still differs -- or a *limit* of our setup), *not "
             "comparable* when our setup cannot test the paper's number. **Self-checks** are "
             "ours: two of our algorithms agreeing, invariants, and checks that our setup is what "
             "it claims to be; they pass or fail and never count as reproductions. Each rule's "
             "text is generated from the same numbers as its test (`relutopo.repro.claims`); no "
             "verdict is set by hand. Print these tables in a terminal with "
             f"`relutopo scorecard --profile {profile}`; re-check them with "
             f"`relutopo verify --profile {profile}`.", ""]
    records = []
    folder = root / "results" / profile
    for p in sorted(folder.glob("*.json")):
        records.append(load_results(p))
    if records:
        rows = []
        for rec in records:
            paper = rec["paper"]
            srows = scorecard_rows([rec])
            counts = verdict_counts(srows, PAPER)
            checks = verdict_counts(srows, SELF_CHECK)
            rate = reproduction_rate(srows)
            name = titles.get(paper, paper)
            cell = f"[{name}]({paper_link(paper)})" if paper_link(paper) else f"`{paper}`"
            data = (rec.get("extra") or {}).get("data_and_weights", "see the paper's page")
            rows.append([cell, f"`{short_name(paper)}`", sum(counts.values()),
                         counts[REPRODUCED], counts[DIFFERS], counts[NOT_COMPARABLE],
                         "—" if rate is None else f"{100 * rate:.0f} %",
                         f"{checks[PASSED]} / {sum(checks.values())}", format_value(data)])
        lines += ["## Papers", "",
                  list_table(["paper", "short name", "paper claims", "reproduced", "differ",
                              "not comparable", "reproduction rate (comparable claims)",
                              "self-checks passed", "data and weights used"], rows,
                             widths=[20, 9, 8, 9, 7, 9, 10, 9, 19]),
                  "## All claims", ""]
    lines.append(scorecard_markdown(root, profile, paper_link=paper_link, figure_link=figure_link,
                                    titles=titles))
    return "\n".join(lines)


def _demote_headings(text: str) -> str:
    """Shift every markdown heading one level down (``#`` -> ``##``) outside code fences."""
    out, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if not fence and re.match(r"^#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def performance_page(root: os.PathLike, profile: str = "book") -> str:
    """The MyST source of the performance page: ``benchmarks/RESULTS.md`` (when present) and
    the execution time of each notebook in this build (from the run stamps).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> performance_page(pathlib.Path(tempfile.mkdtemp()), "smoke").splitlines()[0]
    '# Performance'
    """
    root = Path(root)
    lines = ["# Performance", "",
             "Timings measured on the machine that built this book. The benchmark scripts live "
             "in `benchmarks/`; rerun one with `.venv/bin/python benchmarks/<script>.py`.", ""]
    results_md = root / "benchmarks" / "RESULTS.md"
    if results_md.is_file():
        text = results_md.read_text(encoding="utf-8")
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        if not first.startswith("# "):
            lines += ["## Benchmarks", ""]   # RESULTS.md brings its own title otherwise
        lines += [_demote_headings(text), ""]
    else:
        lines += ["## Benchmarks", "", "No `benchmarks/RESULTS.md` yet.", ""]
    lines += _slice_benchmarks(root / "benchmarks" / "results" / "bench_slices.json")
    rows = []
    for paper, folder in _executed_papers(root).items():
        try:
            stamp = json.loads((folder / ".run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows.append((paper, stamp.get("profile", profile), stamp.get("seconds"),
                     stamp.get("finished", "")))
    lines += ["## Notebook execution times", ""]
    if rows:
        lines += ["| notebook | profile | seconds | finished (UTC) |", "|---|---|---|---|"]
        lines += [f"| `{p}` | {prof} | {s if s is not None else '—'} | {f} |" for p, prof, s, f in rows]
        lines += ["", f"Total: {sum(r[2] or 0 for r in rows):.1f} s of papermill execution "
                  "(a notebook skipped because it was unchanged keeps the time of its last run)."]
    else:
        lines.append("No executed notebooks yet.")
    return "\n".join(lines) + "\n"


def _slice_benchmarks(path: Path) -> list:
    """Lines of the performance page for ``benchmarks/results/bench_slices.json`` (exact slices
    of torch models): one table row per case, wall and CPU seconds (a parallel run's workers
    included) beside the issue's target; nothing when the file is absent or unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = []
    for c in record.get("cases", []):
        case = c.get("case", "?")
        what = {"cnn_plane": "the engine-slices chapter's CNN, plane through 3 MNIST digits",
                "resnet18_segment": "ResNet-18 at 32x32, segment between two photographs",
                "resnet50_chord": f"ResNet-50 at 224x224, {c.get('fraction', 0):.4g} of a chord",
                "polyline": f"polyline_regions, ResNet-18, {c.get('segments', '?')} segments",
                "regioncam": f"MLP plane {c.get('net', '')} (regioncam {c.get('regioncam_version', '')}: "
                             f"{c.get('regioncam_seconds', float('nan')):.3g} s)"}.get(case, case)
        jobs = c.get("n_jobs", 1)
        count = c.get("pieces", c.get("regions", c.get("ours_regions", "")))
        if isinstance(count, list):
            count = sum(count)
        wall = c.get("seconds", c.get("ours_seconds"))
        cpu = c.get("cpu_seconds", c.get("ours_cpu_seconds"))
        target = c.get("target_s")
        when = " ".join(x for x in (c.get("utc", ""), c.get("commit", "")) if x)
        rows.append(f"| {what} | {jobs} | {count:,} | {wall:.3g} | {cpu:.3g} | "
                    f"{'' if target is None else f'< {target:g} s'} | {when} |"
                    if isinstance(count, int) and wall is not None and cpu is not None else
                    f"| {what} | {jobs} | {count} | {wall} | {cpu} | | {when} |")
    if not rows:
        return []
    return ["## Exact slices of torch models", "",
            "`benchmarks/bench_slices.py` (issue 20): regions (pieces on a segment), wall and CPU "
            "seconds; with `n_jobs` worker processes the CPU time includes the workers'.", "",
            "| case | n_jobs | regions | wall s | CPU s | target | measured (commit) |",
            "|---|---|---|---|---|---|---|",
            *rows, ""]


#: The API reference: (section title, package prefix, what it holds).
API_SECTIONS = (
    ("The core library", "relutopo", "exact decompositions, topology and bit vectors; "
     "`import relutopo` exports the most used names"),
    ("Paper packages", "relutopo.papers", "each paper's models, data, experiment tasks and analysis"),
    ("The reproduction pipeline", "relutopo.repro", "parameters, claims, records, the runner, "
     "the scorecard, the book and the command line"),
)


def api_modules() -> list:
    """Every importable module of the ``relutopo`` package, sorted (``__main__`` excluded).

    Examples
    --------
    >>> mods = api_modules()
    >>> "relutopo.decompose" in mods, any(m.startswith("relutopo.papers.wang") for m in mods)
    (True, True)
    """
    import pkgutil

    import relutopo

    names = [m.name for m in pkgutil.walk_packages(relutopo.__path__, "relutopo.")
             if not m.name.endswith("__main__")]
    return sorted(names)


def api_page() -> str:
    """The MyST source of the API reference: one ``automodule`` per module, grouped into the
    core, the paper packages and the pipeline. Sphinx autodoc renders the numpydoc docstrings
    (napoleon) when the book is built; nothing is fetched from the network.

    Examples
    --------
    The API reference page: one ``automodule`` per module, core first:

    >>> page = api_page()
    >>> page.splitlines()[0], ".. automodule:: relutopo.decompose" in page
    ('# API reference', True)
    """
    modules = api_modules()
    out = ["# API reference", "",
           "Generated from the docstrings of every module (Sphinx autodoc with napoleon). Each "
           "public function and class has a numpydoc docstring whose *Examples* run as tests "
           "(`make test` runs them with `pytest --doctest-modules`).", ""]
    for title, prefix, what in API_SECTIONS:
        own = [m for m in modules if m == prefix or m.startswith(prefix + ".")]
        if prefix == "relutopo":
            own = [m for m in own if not m.startswith(("relutopo.papers", "relutopo.repro"))]
        out += [f"## {title}", "", what[0].upper() + what[1:] + ".", ""]
        for m in own:
            out += [f"### `{m}`", "", "```{eval-rst}", f".. automodule:: {m}", "   :members:",
                    "```", ""]
    return "\n".join(out)


def prepare_book(root: os.PathLike, profile: str = "book") -> list:
    """Write the generated pages (scorecard, performance, API reference) and prune stale
    executed copies; return the paths written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> [p.relative_to(root).as_posix() for p in prepare_book(root, "smoke")]
    ['book/generated/scorecard.md', 'book/generated/performance.md', 'book/generated/api.md']
    """
    root = Path(root)
    prune_executed(root)
    gen = root / GENERATED_DIR
    gen.mkdir(parents=True, exist_ok=True)
    return [_write_if_changed(gen / "scorecard.md", scorecard_page(root, profile)),
            _write_if_changed(gen / "performance.md", performance_page(root, profile)),
            _write_if_changed(gen / "api.md", api_page())]
