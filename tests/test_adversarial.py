"""Bad input, given as a hostile (or hurried) user would give it, and what must come back.

Every case names the input and a fragment of the message it must produce; nothing may be
deleted that relutopo did not write, nothing may be silently wrong, and the command line answers
a user's mistake with one line on stderr and exit status 2, never a traceback.

The file is organised in sections, one per part of the package; add cases to the section they
belong to (or add a section at the end with the same kind of header):

1. Pipeline: output folders (``relutopo run --output``), staging leftovers
2. Pipeline: parameter ranges (the ``[...]`` allowed values of the parameters cell)
3. Pipeline: paper names, records (``results/``), kernel, other command-line errors
4. Small inputs: networks (``ReluNet``) and cell complexes (``cell_complex``)
5. Numerics: weight scales, box sizes, far-away regions (``decompose``; see also
   ``tests/test_scale_invariance.py``)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pytest

from pipeline_helpers import FIXTURE, PAPER, REPO, make_root
from relutopo.repro.cli import main
from relutopo.complex import ComplexError, cell_complex
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.nets import NetworkError, ReluNet
from relutopo.repro.param_ranges import AllowedSpecError, check_allowed, parse_allowed, size_ratio
from relutopo.repro.params import ParameterError
from relutopo.repro.record import RecordError, load_results
from relutopo.repro.runner import (ConfirmationNeeded, NotebookRunError, OutputFolderError,
                             check_contract, get_notebook, inspect_notebook, record_path,
                             remove_stale_staging, run_notebook, validate_parameters)


def _cli(capsys, *argv) -> tuple:
    """Run the command line in-process; return (exit status, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(rc: int, err: str, fragment: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err, err
    assert err.strip().count("\n") == 0, f"not one line: {err!r}"
    assert fragment in err, err


def _snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes (what must survive a refused run)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    """A throw-away root holding copies of the real notebooks (a refused case that wrongly ran
    would write there, never into the checkout)."""
    root = tmp_path_factory.mktemp("real") / "repo"
    (root / "notebooks").mkdir(parents=True)
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        shutil.copyfile(nb, root / "notebooks" / nb.name)
    return root


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A repository root where the fixture notebook ran once into ``<tmp>/run`` (smoke)."""
    base = tmp_path_factory.mktemp("adversarial")
    root = make_root(base / "repo")
    out = base / "run"
    res = run_notebook(PAPER, "smoke", root=root, output_dir=out)
    assert not res.skipped
    return root, out


# =========================================================================== 1. output folders

def test_output_that_is_a_file_is_refused_and_kept(tmp_path, capsys):
    root = make_root(tmp_path / "repo")
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    rc, _, err = _cli(capsys, "--root", root, "run", PAPER, "--profile", "smoke", "--output", target)
    _one_line_error(rc, err, "is an existing file, not a folder")
    assert target.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "repo"]   # no staging


def test_output_dot_at_the_repository_root_deletes_nothing(tmp_path, capsys, monkeypatch):
    """`relutopo run PAPER --output .` from a checkout's root once deleted the checkout."""
    root = make_root(tmp_path / "repo")
    shutil.copyfile(REPO / "pyproject.toml", root / "pyproject.toml")   # found as the root
    (root / "relutopo").mkdir()
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "README.md").write_text("# a checkout\n")
    before = _snapshot(root)
    monkeypatch.chdir(root)
    rc, _, err = _cli(capsys, "run", PAPER, "--profile", "smoke", "--output", ".")
    _one_line_error(rc, err, "is not empty and holds no relutopo run (no .run.json)")
    assert "relutopo never replaces what it did not write" in err
    assert _snapshot(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


@pytest.mark.parametrize("spelling", ["~", "home"])
def test_output_home_is_refused(tmp_path, capsys, monkeypatch, spelling):
    root = make_root(tmp_path / "repo")
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".bashrc").write_text("export A=1\n")
    monkeypatch.setenv("HOME", str(home))
    before = _snapshot(home)
    rc, _, err = _cli(capsys, "--root", root, "run", PAPER, "--profile", "smoke", "--output",
                      "~" if spelling == "~" else home)
    _one_line_error(rc, err, f"output folder {home} is not empty and holds no relutopo run")
    assert _snapshot(home) == before and sorted(p.name for p in home.iterdir()) == [".bashrc", ".config"]


def test_non_empty_folder_without_stamp_is_refused(tmp_path, capsys):
    root = make_root(tmp_path / "repo")
    out = tmp_path / "figures_for_my_thesis"
    out.mkdir()
    (out / "fig1.png").write_bytes(b"\x89PNG not really")
    rc, _, err = _cli(capsys, "--root", root, "run", PAPER, "--profile", "smoke", "--output", out)
    _one_line_error(rc, err, "holds no relutopo run")
    assert _snapshot(out) == {"fig1.png": b"\x89PNG not really"}


@pytest.mark.notebook
def test_stamped_folder_with_foreign_files_is_refused(finished_run, tmp_path, capsys):
    """A run folder where the user added files: refused (relutopo replaces a run folder as a
    whole and deletes nothing it did not write), the user's file and the old run intact."""
    root, run = finished_run
    out = tmp_path / "out"
    shutil.copytree(run, out)
    (out / "figures" / "my_edit.png").write_bytes(b"mine")
    (out / "notes.md").write_text("mine")
    before = _snapshot(out)
    rc, _, err = _cli(capsys, "--root", root, "run", PAPER, "--profile", "smoke", "--output", out,
                      "--force")
    _one_line_error(rc, err, "also 2 file(s) relutopo did not write (figures/my_edit.png, notes.md)")
    assert _snapshot(out) == before
    with pytest.raises(OutputFolderError, match="move those out"):
        run_notebook(PAPER, "smoke", root=root, output_dir=out, force=True)
    assert _snapshot(out) == before


@pytest.mark.notebook
def test_rerun_into_own_folder_replaces_it_atomically(finished_run, tmp_path):
    """The normal case: a folder holding only an earlier run is replaced as a whole."""
    root, run = finished_run
    out = tmp_path / "out"
    shutil.copytree(run, out)
    stale = out / "figures" / "from_an_older_version.png"   # written by an earlier run
    stale.write_bytes(b"old figure")
    stamp = json.loads((out / ".run.json").read_text())
    stamp["files"].append("figures/from_an_older_version.png")
    (out / ".run.json").write_text(json.dumps(stamp))
    res = run_notebook(PAPER, "smoke", root=root, output_dir=out, force=True)
    assert not res.skipped and not stale.exists()
    new = json.loads((out / ".run.json").read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted(new["files"]) == files
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".old-" in p.name]


@pytest.mark.notebook
def test_rerun_into_folder_stamped_before_file_lists_existed(finished_run, tmp_path):
    root, run = finished_run
    out = tmp_path / "out"
    shutil.copytree(run, out)
    stamp = json.loads((out / ".run.json").read_text())
    del stamp["files"]                 # a stamp written by an older relutopo
    (out / ".run.json").write_text(json.dumps(stamp))
    res = run_notebook(PAPER, "smoke", root=root, output_dir=out, force=True)
    assert not res.skipped and "files" in json.loads((out / ".run.json").read_text())


@pytest.mark.notebook
def test_empty_folder_is_accepted(finished_run, tmp_path):
    root, _ = finished_run
    out = tmp_path / "empty"
    out.mkdir()
    res = run_notebook(PAPER, "smoke", root=root, output_dir=out, record=False)
    assert not res.skipped and (out / "results.json").is_file()


def _read_only_target(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked / "out"
    if not Path("/sys").is_dir():
        pytest.skip("running as root without /sys: no folder here is read-only for root")
    return Path("/sys") / "relutopo-adversarial" / "out"   # EPERM even for root


def test_output_under_a_read_only_folder_is_one_line(tmp_path, capsys):
    root = make_root(tmp_path / "repo")
    target = _read_only_target(tmp_path)
    try:
        rc, _, err = _cli(capsys, "--root", root, "run", PAPER, "--profile", "smoke",
                          "--output", target)
    finally:
        if target.parent.parent == tmp_path:
            target.parent.chmod(0o755)
    _one_line_error(rc, err, f"cannot create the output folder {target}")
    assert "give a folder you can write to" in err


@pytest.mark.notebook
def test_failed_copy_never_overwrites_or_deletes_a_users_file(finished_run, tmp_path):
    """The executed copy of a failed run goes to <out>.failed.ipynb -- unless a file of that
    name is there already and relutopo did not write it; a later success does not delete it."""
    root, run = finished_run
    out = tmp_path / "out"
    users = tmp_path / "out.failed.ipynb"
    users.write_text("the user's own notebook")
    with pytest.raises(NotebookRunError, match="was not kept"):
        run_notebook(PAPER, "smoke", {"fail": True}, root=root, output_dir=out)
    assert users.read_text() == "the user's own notebook"
    run_notebook(PAPER, "smoke", root=root, output_dir=out, record=False)
    assert users.read_text() == "the user's own notebook"


@pytest.mark.notebook
def test_skipped_run_removes_a_killed_runs_staging(finished_run, tmp_path):
    root, run = finished_run
    out = tmp_path / "out"
    shutil.copytree(run, out)
    stale = tmp_path / f".out.staging-{_dead_pid()}-x1"
    (stale / "figures").mkdir(parents=True)
    res = run_notebook(PAPER, "smoke", root=root, output_dir=out, record=False)
    assert res.skipped
    assert not stale.exists()


@pytest.mark.notebook
def test_run_killed_while_publishing_gets_its_previous_output_back(finished_run, tmp_path):
    """Killed between moving the old run aside and moving the new one in: the next call puts
    the previous run back (and, being unchanged, skips)."""
    root, run = finished_run
    aside = tmp_path / f".out.old-{_dead_pid()}-x2"
    aside.mkdir()
    shutil.copytree(run, aside / "previous")
    removed = remove_stale_staging(tmp_path, "out")
    assert removed == [aside] and (tmp_path / "out" / ".run.json").is_file()
    assert run_notebook(PAPER, "smoke", root=root, output_dir=tmp_path / "out", record=False).skipped


def test_staging_cleanup_leaves_live_runs_and_look_alike_files(tmp_path):
    live = tmp_path / f".out.staging-{os.getpid()}-a"
    live.mkdir()
    look_alike = tmp_path / f".out.staging-{_dead_pid()}-b"
    look_alike.write_text("a file, not a staging folder")
    assert remove_stale_staging(tmp_path, "out") == []
    assert live.is_dir() and look_alike.is_file()


# =========================================================================== 2. parameter ranges

@pytest.mark.parametrize("paper, name, value, fragment", [
    ("wang_linear_regions", "n_nets", "-5", "parameter 'n_nets' of wang_linear_regions must be ≥ 1 (allowed: [size ≥ 1]); got -5"),
    ("wang_linear_regions", "n_nets", "0", "parameter 'n_nets' of wang_linear_regions must be ≥ 1"),
    ("tawfeek_cell_complex", "n_seeds", "-1",
     "parameter 'n_seeds' of tawfeek_cell_complex must be ≥ 2 (allowed: [size ≥ 2]); got -1"),
    ("tawfeek_cell_complex", "grok_tasks", '["nonsense"]',
     "every entry of parameter 'grok_tasks' of tawfeek_cell_complex must be one of linear | half-sine"),
    ("wang_linear_regions", "max_runs", "0",
     "parameter 'max_runs' of wang_linear_regions must be ≥ first_runs (= 1)"),
    ("tawfeek_cell_complex", "reg_sizes", "[2]", "parameter 'reg_sizes' of tawfeek_cell_complex must have len ≥ 2"),
    ("liu_polyhedral_persistence", "lr", "nan", "parameter 'lr' of liu_polyhedral_persistence must be a finite number"),
    ("liu_polyhedral_persistence", "long_fraction", "1.5", "must be ≤ 1"),
    ("beshkov_relative_homology", "grid_widths", "[5, -1]", "every entry of parameter 'grid_widths'"),
    ("wang_linear_regions", "counter", "both", "must be one of engine | wang"),
])
def test_out_of_range_values_stop_before_any_kernel(real_root, capsys, paper, name, value, fragment):
    rc, out, err = _cli(capsys, "--root", real_root, "run", paper, "--profile", "smoke", "-p",
                        name, value)
    _one_line_error(rc, err, fragment)
    assert out == "" and not (real_root / "_build").exists()     # nothing started


def test_far_beyond_paper_size_needs_yes_with_an_estimate(real_root, capsys):
    rc, _, err = _cli(capsys, "--root", real_root, "run", "wang_linear_regions", "--profile",
                      "smoke", "-p", "n_nets", "1000000000000")
    _one_line_error(rc, err, "parameter 'n_nets' of wang_linear_regions = 1000000000000 is "
                             "2e+08 x the paper profile's 5000")
    assert "need --yes" in err and "Estimate: time and memory grow" in err
    info = get_notebook("wang_linear_regions", REPO)
    assert validate_parameters(info, "smoke", {"n_nets": 10 ** 12}, yes=True) == {"n_nets": 10 ** 12}
    assert validate_parameters(info, "smoke", {"n_nets": 50000}) == {"n_nets": 50000}  # 10 x: fine
    with pytest.raises(ConfirmationNeeded):
        validate_parameters(info, "smoke", {"n_nets": 50001})


def test_size_estimate_scales_an_earlier_runs_time(tmp_path):
    root = make_root(tmp_path / "repo")
    stamp_dir = root / "_build" / "runs" / "smoke" / PAPER
    stamp_dir.mkdir(parents=True)
    (stamp_dir / ".run.json").write_text(json.dumps(
        {"paper": PAPER, "profile": "smoke", "parameters": {}, "seconds": 12.0}))
    info = get_notebook(PAPER, root)
    with pytest.raises(ConfirmationNeeded) as e:           # paper: n_neurons = 8; smoke: 4
        validate_parameters(info, "smoke", {"n_neurons": 400})
    assert "50 x the paper profile's 8" in str(e.value)
    assert "the last smoke run here (n_neurons = 4) took 12 s, which scales to about 20 min" in str(e.value)


@pytest.mark.parametrize("text, fragment", [
    ("[size >= 1] n", "write ≥ instead of '>='"),
    ("[size ≥ 1 n", "lack a closing ']'"),
    ("[] n", "empty allowed values"),
    ("[≥ one thousand] n", "cannot read"),
    ("[≥ 1e999] n", "finite number or another parameter's name"),
    ("[len ≥ 1.5] n", "whole number"),
    ("[a | b, c | d] n", "write allowed values once"),
    ("[== 3] n", "instead of '=='"),
])
def test_malformed_allowed_values_are_named(text, fragment):
    with pytest.raises(AllowedSpecError, match=re.escape(fragment)):
        parse_allowed(text)


def test_allowed_values_checks():
    spec, rest = parse_allowed("[size ≥ 0, ≤ epochs, len ≥ 1] checkpoints")
    assert rest == "checkpoints" and spec.size and spec.references == ("epochs",)
    check_allowed(spec, "ck", [0, 10], {"epochs": 10})
    check_allowed(spec, "ck", [0, 10], {"epochs": None})      # unknown bound: not checked
    for value, fragment in [([0, 11], "≤ epochs (= 10)"), ([], "len ≥ 1"), ([-1], "≥ 0"),
                            (["a"], "must be a number"), ([True], "must be a number")]:
        with pytest.raises(ParameterError, match=re.escape(fragment)):
            check_allowed(spec, "ck", value, {"epochs": 10})
    choice, _ = parse_allowed("[1 | 2 | 4] a power of two")
    check_allowed(choice, "p", 4, {})
    with pytest.raises(ParameterError, match="must be one of 1 | 2 | 4"):
        check_allowed(choice, "p", 3, {})
    assert size_ratio(5000, 500) == 10 and size_ratio([1, 2], [4, 4, 4, 4]) == 0.5
    assert size_ratio([50], [5, 5]) == 10 and size_ratio(3, 0) is None and size_ratio(3, None) is None


def _params_notebook(tmp_path, lines, profiles, name="paper_x"):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    start = nbformat.v4.new_code_cell(
        f"PROFILES = {profiles!r}\nnb = NotebookRun.start({name!r}, PROFILES, globals())")
    start.metadata["tags"] = ["hide-input"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A title"), cell, start,
                nbformat.v4.new_code_cell("nb.finish()")]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("line, profile_value, fragment", [
    ("n: int = None  # how many", 3, "needs its allowed values at the start of its help comment"),
    ("n: int = None  # [size >= 1] how many", 3, "holds more than one '='"),
    ("n: int = None  # [size ≥ 5] how many", 3, "PROFILES['smoke']['n'] = 3 is not allowed"),
    ("n: int = None  # [≤ m] how many", 3, "name 'm', which is not a parameter"),
    ("n: int = None  # [≥ x y] how many", 3, "cannot read"),
    ("n: list = None  # widths", [3], "needs its allowed values"),
])
def test_contract_requires_allowed_values_for_numeric_parameters(tmp_path, line, profile_value,
                                                                 fragment):
    path = _params_notebook(tmp_path, ['profile = "book"', "output_dir: str = None", line],
                            {p: {"n": profile_value} for p in ("smoke", "book", "paper")})
    problems = "\n".join(check_contract(path))
    assert fragment in problems, problems


def test_contract_accepts_allowed_values_and_free_text_parameters(tmp_path):
    path = _params_notebook(tmp_path, [
        'profile = "book"', "output_dir: str = None", "n: int = None  # [size ≥ 1] how many",
        "path: str = None  # a file (free text: no allowed values needed)",
        "names: list = None  # file names"],
        {p: {"n": 3, "path": "", "names": []} for p in ("smoke", "book", "paper")})
    assert check_contract(path) == []
    info = inspect_notebook(path)
    assert info.parameter("n").allowed.text == "[size ≥ 1]" and info.parameter("n").help == "how many"


# =========================================================================== 3. names, records, kernel

@pytest.mark.parametrize("paper, fragment", [
    ("../tests/fixtures/fixture_regions",
     "(give the name of a notebook in notebooks/, not a path; did you mean 'fixture_regions'?)"),
    (str(FIXTURE), "did you mean 'fixture_regions'?"),
    ("fixture_regions.ipynb", "did you mean 'fixture_regions'?"),
    ("notebooks/../notebooks/fixture_regions", "not a path"),
    ("nope", "unknown paper 'nope'; notebooks in"),
])
def test_only_notebooks_in_notebooks_folder_are_run(tmp_path, capsys, paper, fragment):
    root = make_root(tmp_path / "repo")
    (root / "tests" / "fixtures").mkdir(parents=True)
    shutil.copyfile(FIXTURE, root / "tests" / "fixtures" / FIXTURE.name)
    rc, _, err = _cli(capsys, "--root", root, "run", paper, "--profile", "smoke")
    _one_line_error(rc, err, fragment)
    assert not (root / "results").exists() and not (root / "_build").exists()


def test_a_notebook_outside_notebooks_is_never_recorded(tmp_path):
    root = make_root(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere" / FIXTURE.name
    elsewhere.parent.mkdir()
    shutil.copyfile(FIXTURE, elsewhere)
    with pytest.raises(ParameterError, match="only the notebooks in .* are recorded"):
        run_notebook(inspect_notebook(elsewhere), "smoke", root=root, output_dir=tmp_path / "o",
                     record=True)
    assert not (root / "results").exists() and not (tmp_path / "o").exists()


def _write_record(root: Path, data) -> Path:
    rec = record_path(root, PAPER, "smoke")
    rec.parent.mkdir(parents=True, exist_ok=True)
    rec.write_text(data if isinstance(data, str) else json.dumps(data))
    return rec


_GOOD_CLAIM = {"id": "a", "verdict": "reproduced", "paper_value": 1, "our_value": 1}


@pytest.mark.parametrize("data, fragment", [
    ({"paper": PAPER, "profile": "smoke", "claims": {"a": 1}}, "field 'claims' must be a list of claims; got an object"),
    ({"paper": PAPER, "profile": "smoke", "claims": [{"id": "a", "our_value": 1}]}, "claims[0] ('a') has no field 'verdict'"),
    ({"paper": PAPER, "profile": "smoke", "claims": [{"id": "a", "verdict": "yes"}]}, "claims[0] ('a').verdict must be one of"),
    ({"paper": PAPER, "profile": "smoke", "claims": ["a"]}, "claims[0] must be an object; got a string"),
    ({"paper": PAPER, "profile": "smoke", "claims": [{"verdict": "differs"}]}, "claims[0].id must be a non-empty string"),
    ({"paper": PAPER, "profile": "smoke", "claims": [_GOOD_CLAIM, _GOOD_CLAIM]}, "claim id used twice"),
    ({"paper": PAPER, "claims": []}, "field 'profile' is missing"),
    ({"paper": PAPER, "profile": "smoke", "claims": [], "figures": {"f": "x.png"}}, "figures['f'] must be an object with a string 'path'"),
    ([1, 2], "must be a JSON object"),
    ('{"paper": "fixture_regions", "claims": [{"id": "a", "verd', "is not valid JSON"),
    ("", "is not valid JSON"),
])
def test_broken_records_name_file_and_field(tmp_path, capsys, data, fragment):
    root = make_root(tmp_path / "repo")
    rec = _write_record(root, data)
    with pytest.raises(RecordError) as e:
        load_results(rec)
    assert str(rec) in str(e.value) and fragment in str(e.value)
    rc, _, err = _cli(capsys, "--root", root, "scorecard", "--profile", "smoke")
    _one_line_error(rc, err, fragment)
    # verify checks the records before executing anything
    rc, out, err = _cli(capsys, "--root", root, "verify", PAPER, "--profile", "smoke")
    _one_line_error(rc, err, fragment)
    assert out == ""


def test_record_that_is_a_folder_is_one_line(tmp_path, capsys):
    root = make_root(tmp_path / "repo")
    record_path(root, PAPER, "smoke").mkdir(parents=True)
    rc, _, err = _cli(capsys, "--root", root, "scorecard", "--profile", "smoke")
    _one_line_error(rc, err, "is a folder, not a JSON file")


def test_ipykernel_is_a_declared_dependency():
    """`pip install .` must bring the kernel notebooks run in (papermill does not)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("[")[0].strip().lower()
             for d in project["dependencies"]]
    assert "ipykernel" in names and "papermill" in names


@pytest.mark.notebook
def test_missing_kernel_says_how_to_fix_it(tmp_path):
    root = make_root(tmp_path / "repo")
    with pytest.raises(NotebookRunError) as e:
        run_notebook(PAPER, "smoke", root=root, output_dir=tmp_path / "out",
                     kernel_name="no_such_kernel")
    assert "NoSuchKernel" in str(e.value) and "pip install ipykernel" in str(e.value)
    assert "python -m ipykernel install --user --name no_such_kernel" in str(e.value)


@pytest.mark.parametrize("argv, fragment", [
    (["--root", "/no/such/folder", "list"], "--root /no/such/folder: no such folder"),
    (["run", PAPER, "--output", "a", "--output-root", "b"], "not both"),
    (["list", "../x"], "unknown paper '../x'"),
])
def test_other_command_line_mistakes_are_one_line(tmp_path, capsys, argv, fragment):
    root = make_root(tmp_path / "repo")
    if argv[0] != "--root":
        argv = ["--root", str(root), *argv]
    rc, _, err = _cli(capsys, *argv)
    _one_line_error(rc, err, fragment)


# =========================================================================== 4. networks, complexes

_W2 = [np.ones((1, 2))]
_B2 = [np.zeros(2), np.zeros(1)]


@pytest.mark.parametrize("w0, fragment", [
    (np.ones((2, 2)) * (1 + 1e-3j), "weights[0] has complex dtype complex128"),
    (np.ones((2, 2), dtype=np.complex64), "weights[0] has complex dtype complex64"),
    ([["1", "2"], ["3", "4"]], "weights[0] has dtype <U1 (text)"),
    (np.array([[1.0, None], [2.0, 3.0]], dtype=object), "weights[0] holds a NoneType entry"),
    (np.array([[1.0, 2j], [2.0, 3.0]], dtype=object), "weights[0] holds a complex entry"),
    (np.array([[1.0, "x"], [2.0, 3.0]], dtype=object), "weights[0] holds a str entry"),
])
def test_weights_that_are_not_real_numbers_are_refused(w0, fragment):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # numpy's ComplexWarning was once the only signal
        with pytest.raises(NetworkError, match=re.escape(fragment)):
            ReluNet.from_weights([w0, *_W2], _B2)


def test_complex_bias_and_complex_torch_layers_are_refused():
    import torch

    with pytest.raises(NetworkError, match=r"biases\[1\] has complex dtype"):
        ReluNet.from_weights([np.ones((2, 2)), *_W2], [np.zeros(2), np.zeros(1) + 0j])
    model = torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.complex64), torch.nn.ReLU(),
                                torch.nn.Linear(3, 1))
    with pytest.raises(NetworkError, match="has complex parameters"):
        ReluNet.from_torch(model)


def test_exact_real_objects_are_still_accepted():
    from fractions import Fraction

    net = ReluNet.from_weights([np.array([[Fraction(1, 2), 1], [2, 3]], dtype=object), *_W2], _B2)
    assert net.weights[0][0, 0] == 0.5


@pytest.fixture(scope="module")
def box_decomposition():
    rng = np.random.default_rng(3)
    net = ReluNet.from_weights([rng.normal(size=(4, 2)), rng.normal(size=(1, 4))],
                               [rng.normal(size=4), np.zeros(1)])
    return net, decompose(net, Box(-1, 1, dim=2))


@pytest.mark.parametrize("domain, fragment", [
    (Box([-2, -2], [2, 2]), "differs from the decomposition's box Box(-1, 1, dim=2)"),
    (Box([-1, -1], [1, 0.5]), "differs from the decomposition's box"),
    (Box([-1, -1, -1], [1, 1, 1]), "domain has dimension 3 but ReluNet(2→4→1) takes 2 inputs"),
])
def test_cell_complex_of_another_box_raises(box_decomposition, domain, fragment):
    """Once this silently returned a wrong complex (8 two-cells instead of 10, chi = 0)."""
    _, dec = box_decomposition
    with pytest.raises(ComplexError, match=re.escape(fragment)):
        cell_complex(dec, domain)


def test_cell_complex_takes_a_box_not_corners(box_decomposition):
    """The former ``cell_complex(dec, lo, hi)`` now takes ``domain: Box``; corners raise."""
    _, dec = box_decomposition
    with pytest.raises(TypeError, match=re.escape("domain must be a relutopo.domains.Box or None")):
        cell_complex(dec, [-1, -1])
    with pytest.raises(TypeError):
        cell_complex(dec, [-1, -1], [1, 1])  # no third positional argument any more


def test_cell_complex_accepts_its_own_box_in_any_spelling(box_decomposition):
    net, dec = box_decomposition
    f = cell_complex(dec).f_vector.tolist()
    assert cell_complex(dec, Box([-1, -1], [1, 1])).f_vector.tolist() == f
    assert cell_complex(dec, domain=Box(-1, 1, dim=2)).f_vector.tolist() == f
    assert f[0] - f[1] + f[2] == 1                       # a subdivided square: chi = 1
    with pytest.raises(ComplexError, match="covers all of R\\^d"):
        cell_complex(decompose(net, None), Box([-1, -1], [1, 1]))


# =========================================================================== 5. numerics
def _net(ws, bs):
    return ReluNet.from_weights([np.asarray(w, dtype=float) for w in ws],
                                [np.asarray(b, dtype=float) for b in bs])


@pytest.mark.parametrize("domain, fragment", [
    (Box(-1e308, 1e308, dim=2), "wider than float64 can represent"),
    (Box([0.0, 0.0], [1.0, 1e-12]), "is too thin"),
    (Box([0.0, 0.0], [1e10, 1.0]), "is too thin"),
])
def test_boxes_float64_cannot_resolve_are_refused(domain, fragment):
    """Once: 0 regions (the whole box thinner than the resolution), or overflow warnings."""
    from relutopo.errors import ScaleRangeError

    net = _net([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.1, 0.2], [0.0]])
    for method in ("vertex", "lp"):
        with pytest.raises(ScaleRangeError, match=re.escape(fragment)):
            decompose(net, domain, method=method)


def test_weights_whose_products_overflow_are_refused():
    """Every neuron scaled to order one puts 1e300 * 1e300 into the next layer: the network's
    own output overflows float64 on any input, so no answer could be trusted."""
    from relutopo.errors import ScaleRangeError

    net = _net([[[1e300, 0.0], [0.0, 1e300]], [[1e300, 1e300], [1.0, -1.0]], [[1.0, 1.0]]],
               [[0.0, 0.5], [1.0, 0.0], [0.0]])
    with pytest.raises(ScaleRangeError, match="overflows float64"):
        decompose(net, Box(-1, 1, dim=2))
    # in R^2 the working frame zooms in on the hyperplanes (1e-300 apart): nothing overflows
    assert decompose(net, None).n_regions == decompose(net, None, method="lp").n_regions


def test_bad_inconsistency_policy_is_named():
    net = _net([[[1.0, 0.0]], [[1.0]]], [[0.0], [0.0]])
    with pytest.raises(ValueError, match="on_inconsistency must be 'raise' or 'warn'; got 'ignore'"):
        decompose(net, None, on_inconsistency="ignore")


@pytest.mark.parametrize("k", [1e-300, 1e-12, 1e12, 1e300])
def test_extreme_but_pattern_preserving_weight_scales(k):
    """A 2 -> 4 -> 3 -> 1 net with its first hidden layer times k and the next layer's weights
    times 1 / k (same bit vectors): the same regions in every method, k from 1e-300 to 1e300."""
    rng = np.random.default_rng(5)
    ws = [rng.uniform(-1, 1, (4, 2)), rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (1, 3))]
    bs = [rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 3), np.zeros(1)]
    scaled = _net([ws[0] * k, ws[1] / k, ws[2]], [bs[0] * k, bs[1], bs[2]])
    ref = _net(ws, bs)
    for domain in (None, Box(-1, 1, dim=2)):
        for method in ("vertex", "lp", "brute") + (("polygon",) if domain is not None else ()):
            a, b = decompose(scaled, domain, method=method), decompose(ref, domain, method=method)
            assert {p.tobytes() for p in a.packed_patterns} == {p.tobytes() for p in b.packed_patterns}


def test_box_far_from_the_origin_is_a_shifted_unit_box():
    """Hyperplanes through the box [1e12, 1e12 + 1]^2 (coordinates far larger than the box):
    the same regions as the shifted net in [0, 1]^2."""
    rng = np.random.default_rng(8)
    W1, b1 = rng.uniform(-1, 1, (5, 2)), rng.uniform(-0.5, 0.5, 5)
    W2, b2 = rng.uniform(-1, 1, (1, 5)), np.zeros(1)
    t = np.full(2, 1e12)
    near = _net([W1, W2], [b1 - W1 @ np.full(2, 0.5), b2])  # hyperplanes through [0, 1]^2
    far = _net([W1, W2], [b1 - W1 @ (t + 0.5), b2])
    ref = decompose(near, Box(0.0, 1.0, dim=2))
    assert ref.n_regions > 5
    for method in ("vertex", "polygon", "lp", "brute"):
        dec = decompose(far, Box(t, t + 1.0), method=method)
        assert {p.tobytes() for p in dec.packed_patterns} == {p.tobytes() for p in ref.packed_patterns}


def test_unit_net_in_a_huge_box_warns_that_small_regions_go_unreported():
    """Once: 4 regions (vertex) or 8 (polygon) with overflow RuntimeWarnings in a box of +-1e200."""
    from relutopo.errors import ResolutionWarning

    rng = np.random.default_rng(3)
    net = _net([rng.uniform(-1, 1, (6, 2)), rng.uniform(-1, 1, (1, 6))], [rng.uniform(-1, 1, 6), [0.0]])
    with pytest.warns(ResolutionWarning, match="regions thinner than the resolution are not reported"):
        decompose(net, Box(-1e200, 1e200, dim=2))
