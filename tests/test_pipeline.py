"""The notebook pipeline end to end: papermill execution through the same code path as
``make book``, atomic outputs, skip-if-unchanged, failures and interruptions, verify, the book
build with warnings as errors, and every real notebook at the smoke profile against the record."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from pipeline_helpers import PAPER, REPO, make_root
from relutopo.repro.book import EXECUTED_DIR, prepare_book
from relutopo.repro.cli import main
from relutopo.repro.params import ParameterError
from relutopo.repro.record import load_results
from relutopo.repro.runner import (NotebookRunError, check_contract, get_notebook, record_path,
                             run_hash, run_notebook)
from relutopo.repro.scorecard import compare_results, verify

pytestmark = pytest.mark.notebook


def _leftovers(folder: Path) -> list:
    """Temporary files/folders the runner or the atomic writers could leave behind."""
    return [p for p in folder.rglob("*") if ".staging-" in p.name or ".old-" in p.name
            or p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def book_root(tmp_path_factory):
    """A repository root where `relutopo book --profile smoke` has run once (the make-book path)."""
    root = make_root(tmp_path_factory.mktemp("repo"), book=True)
    rc = main(["--root", str(root), "book", "--profile", "smoke"])
    assert rc == 0
    return root


def test_book_command_writes_executed_copy_results_figures_and_record(book_root):
    out = book_root / EXECUTED_DIR / PAPER
    executed = out / f"{PAPER}.ipynb"
    assert executed.is_file()
    data = load_results(out / "results.json")
    assert data["paper"] == PAPER and data["profile"] == "smoke"
    # the profile's values were used (read independently from the notebook's PROFILES cell)
    src = nbformat.read(str(book_root / "notebooks" / f"{PAPER}.ipynb"), as_version=4)
    tree = ast.parse(src.cells[2].source)
    profiles = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", "") == "PROFILES")
    assert data["parameters"] == {"profile": "smoke", **profiles["smoke"]}
    # the claims' verdicts follow from the recorded values (computed, not set by hand)
    claims = {c["id"]: c for c in data["claims"]}
    lo, hi = claims["regions_at_most_bound"]["paper_value"]
    ours = claims["regions_at_most_bound"]["our_value"]
    assert (lo <= ours <= hi) == (claims["regions_at_most_bound"]["verdict"] == "reproduced")
    # every listed figure exists and is a PNG
    for fig in data["figures"].values():
        assert (out / fig["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the record is a byte copy of the run's results
    rec = record_path(book_root, PAPER, "smoke")
    assert rec.read_bytes() == (out / "results.json").read_bytes()
    # the executed copy: injected parameters hidden from the book, a regenerate box added
    nb = nbformat.read(str(executed), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and all("remove-cell" in c.metadata["tags"] for c in injected)
    box = [c for c in nb.cells if "relutopo-regenerate" in c.metadata.get("tags", [])]
    assert len(box) == 1 and f"relutopo run {PAPER} --profile smoke" in box[0].source
    # the parameters cell is shown as the box's table (value, paper profile, allowed, help)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert params and all("remove-cell" in c.metadata["tags"] for c in params)
    assert "| `n_neurons` | 4 | 8 | size ≥ 1 | hidden neurons n |" in box[0].source
    assert nb.cells[0].source.startswith("# ")  # the title stays first
    # the figure's caption line in the notebook names the regenerating command
    texts = [o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
    assert any("Regenerate" in t and f"relutopo run {PAPER}" in t for t in texts)
    assert not _leftovers(book_root)


def test_generated_pages_list_every_claim_and_link_figures(book_root):
    page = (book_root / "book" / "generated" / "scorecard.md").read_text()
    data = load_results(record_path(book_root, PAPER, "smoke"))
    for c in data["claims"]:
        assert f"`{c['id']}`" in page
    assert f"../executed/{PAPER}/{PAPER}.ipynb" in page
    assert f"../executed/{PAPER}/figures/fixture_regions.png" in page
    perf = (book_root / "book" / "generated" / "performance.md").read_text()
    assert PAPER in perf and perf.count("\n# ") == 0 and perf.startswith("# Performance")


def test_unchanged_notebook_is_skipped_and_force_reexecutes(book_root):
    out = book_root / EXECUTED_DIR / PAPER
    stamp = json.loads((out / ".run.json").read_text())
    res = run_notebook(PAPER, "smoke", root=book_root, output_dir=out)
    assert res.skipped
    assert json.loads((out / ".run.json").read_text()) == stamp
    res = run_notebook(PAPER, "smoke", root=book_root, output_dir=out, force=True)
    assert not res.skipped
    assert json.loads((out / ".run.json").read_text())["finished"] >= stamp["finished"]


def test_run_hash_changes_with_source_profile_and_parameters(tmp_path):
    """What decides a rerun: the notebook's source, the profile and the overrides (and only them)."""
    root = make_root(tmp_path / "repo")
    info = get_notebook(PAPER, root)
    base = run_hash(info, "smoke", {})
    assert run_hash(get_notebook(PAPER, root), "smoke", {}) == base
    assert run_hash(info, "book", {}) != base
    assert run_hash(info, "smoke", {"grid": 20}) != base
    assert run_hash(info, "smoke", {"grid": 20}) != run_hash(info, "smoke", {"grid": 21})
    path = root / "notebooks" / f"{PAPER}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[3].source += "\n\nAn edited paragraph."
    nbformat.write(nb, str(path))
    assert run_hash(get_notebook(PAPER, root), "smoke", {}) != base


def _seed_previous_run(book_root: Path, root: Path, out: Path) -> dict:
    """Copy the module's good smoke run into ``out`` and its record into ``root`` (as if a
    previous run had succeeded there); return the bytes of the files that must survive."""
    shutil.copytree(book_root / EXECUTED_DIR / PAPER, out)
    rec = record_path(root, PAPER, "smoke")
    rec.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(record_path(book_root, PAPER, "smoke"), rec)
    return {p: p.read_bytes() for p in [rec, out / "results.json", out / f"{PAPER}.ipynb"]}


@pytest.mark.parametrize("params, fragment", [
    ({"grd": 3}, "unknown parameter 'grd'"),
    ({"grid": 2.5}, "parameter 'grid' must be of type int"),
    ({"grid": True}, "parameter 'grid' must be of type int"),
    ({"fail": "yes"}, "parameter 'fail' must be of type bool"),
    ({"output_dir": "/tmp/x"}, "--output"),
])
def test_bad_parameter_stops_before_any_execution(tmp_path, params, fragment):
    root = make_root(tmp_path / "repo")
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=fragment.replace("(", r"\(")):
        run_notebook(PAPER, "smoke", params, root=root, output_dir=out)
    assert not out.exists() and not (tmp_path / "repo" / "results").exists()


def test_bad_profile_names_the_allowed_ones(tmp_path):
    root = make_root(tmp_path / "repo")
    with pytest.raises(ParameterError, match="allowed profiles: smoke, book, paper"):
        run_notebook(PAPER, "huge", root=root, output_dir=tmp_path / "out")


def test_bad_value_inside_the_notebook_is_a_clear_cell_error(tmp_path):
    """Even bypassing the runner's check (papermill directly), NotebookRun.start stops at once."""
    import papermill

    from papermill.exceptions import PapermillExecutionError

    root = make_root(tmp_path / "repo")
    with pytest.raises(PapermillExecutionError) as info:
        papermill.execute_notebook(str(root / "notebooks" / f"{PAPER}.ipynb"),
                                   str(tmp_path / "x.ipynb"),
                                   parameters={"profile": "smoke", "grid": "many",
                                               "output_dir": str(tmp_path / "o")},
                                   kernel_name="python3", progress_bar=False)
    assert info.value.ename == "ParameterError"
    assert "parameter 'grid' must be of type int" in info.value.evalue


def test_failed_run_keeps_previous_outputs_and_record(book_root, tmp_path):
    root = make_root(tmp_path / "repo")
    out = tmp_path / "out"
    before = _seed_previous_run(book_root, root, out)
    with pytest.raises(NotebookRunError, match=r"failed in cell \[\d+\]: RuntimeError: fixture asked to fail"):
        run_notebook(PAPER, "smoke", {"fail": True}, root=root, output_dir=out, force=True)
    assert {p: p.read_bytes() for p in before} == before
    failed = tmp_path / "out.failed.ipynb"
    assert failed.is_file() and "fixture asked to fail" in failed.read_text()
    assert not _leftovers(tmp_path)


def test_papermill_failure_outside_cells_is_reported_not_hung(tmp_path):
    root = make_root(tmp_path / "repo")
    with pytest.raises(NotebookRunError, match="while executing: NoSuchKernel"):
        run_notebook(PAPER, "smoke", root=root, output_dir=tmp_path / "out",
                     kernel_name="no_such_kernel")
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_recording_a_run_with_overrides_is_refused(tmp_path):
    root = make_root(tmp_path / "repo")
    with pytest.raises(ParameterError, match="refusing to record"):
        run_notebook(PAPER, "smoke", {"grid": 10}, root=root, output_dir=tmp_path / "o", record=True)


def _wait_for(predicate, timeout=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_no_half_written_results(book_root, tmp_path, sig):
    root = make_root(tmp_path / "repo")
    out = tmp_path / "runs" / "out"
    before = _seed_previous_run(book_root, root, out)
    rec = record_path(root, PAPER, "smoke")
    proc = subprocess.Popen(
        [sys.executable, "-m", "relutopo", "--root", str(root), "run", PAPER, "--profile", "smoke",
         "--output", str(out), "--force", "-p", "stall_s", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        # pytest-xdist workers may ignore SIGINT, and an ignored signal stays ignored in a
        # child: restore the default so the run sees Ctrl-C as a user's terminal delivers it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # the figure cell has run (inside the staging folder) and the notebook is stalling
        assert _wait_for(lambda: any(out.parent.glob(".out.staging-*/figures/*.png")))
        os.killpg(proc.pid, sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert {p: p.read_bytes() for p in before} == before
    assert not list(rec.parent.glob("*.tmp")) and not list(out.glob("*.tmp"))
    if sig == signal.SIGINT:
        assert not _leftovers(tmp_path)       # cleaned up on the way out
    else:
        # a killed run leaves its staging folder; the next run removes it and publishes
        assert _leftovers(tmp_path)
        res = run_notebook(PAPER, "smoke", root=root, output_dir=out, force=True)
        assert not res.skipped and not _leftovers(tmp_path)


def test_verify_matches_then_reports_drift_readably(book_root, capsys):
    report = verify([PAPER], "smoke", root=book_root)
    assert report.ok, report.text()
    rec = record_path(book_root, PAPER, "smoke")
    original = rec.read_bytes()
    try:
        data = json.loads(original)
        claim = next(c for c in data["claims"] if c["id"] == "regions_at_most_bound")
        claim["our_value"] = claim["our_value"] + 3
        claim["verdict"] = "differs"
        rec.write_text(json.dumps(data))
        rc = main(["--root", str(book_root), "verify", PAPER, "--profile", "smoke"])
        text = capsys.readouterr().out
        assert rc == 1
        assert "DRIFTED  fixture_regions" in text
        assert "claim regions_at_most_bound: verdict differs -> reproduced" in text
        assert "claim regions_at_most_bound: our value" in text
    finally:
        rec.write_bytes(original)


def test_verify_without_record_fails_with_instructions(tmp_path):
    root = make_root(tmp_path / "repo")
    report = verify([PAPER], "smoke", root=root)
    assert not report.ok and "relutopo run fixture_regions --profile smoke" in report.text()


def _claim(id, kind="numeric", paper=10.0, ours=10.0, verdict="reproduced", atol=None, rtol=None):
    return {"id": id, "kind": kind, "paper_value": paper, "our_value": ours, "verdict": verdict,
            "atol": atol, "rtol": rtol, "rule": "", "description": ""}


def _res(*claims, params=None, figures=None):
    return {"paper": "p", "profile": "smoke", "parameters": params or {"profile": "smoke"},
            "claims": list(claims), "figures": figures or {}}


@pytest.mark.parametrize("fresh_ours, atol, rtol, drift", [
    (10.4, 0.5, 0.0, False), (10.6, 0.5, 0.0, True),       # the claim's absolute tolerance
    (10.9, 0.0, 0.1, False), (11.2, 0.0, 0.1, True),       # rtol * |paper| = 1.0
    (10.0, 0.0, 0.0, False), (10.0 + 1e-3, 0.0, 0.0, True),
])
def test_compare_uses_the_claims_own_tolerance(fresh_ours, atol, rtol, drift):
    old = _res(_claim("a", atol=atol, rtol=rtol))
    new = _res(_claim("a", ours=fresh_ours, atol=atol, rtol=rtol))
    assert bool(compare_results(old, new)) == drift


def test_compare_reports_every_kind_of_drift():
    old = _res(_claim("a"), _claim("b"), _claim("q", "qualitative", "s", {"r": 0.5, "n": 3}),
               params={"profile": "smoke", "n": 3}, figures={"f": {"path": "figures/f.png"}})
    new = _res(_claim("a", verdict="differs", ours=10.0), _claim("c"),
               _claim("q", "qualitative", "s", {"r": 0.5, "n": 4}),
               params={"profile": "smoke", "n": 4}, figures={})
    diffs = "\n".join(compare_results(old, new))
    assert "claim a: verdict reproduced -> differs" in diffs
    assert "claim b: in the record, not produced" in diffs
    assert "claim c: produced by the fresh run, not in the record" in diffs
    assert "claim q: our value.n 3 -> 4" in diffs
    assert "parameters: .n 3 -> 4" in diffs
    assert "figures missing in the fresh run: ['f']" in diffs
    assert compare_results(old, old) == []


def test_jupyter_book_build_of_smoke_outputs_has_no_warnings(book_root):
    """`jupyter-book build -W -n` (warnings are errors) of the smoke outputs succeeds, and the
    built pages pass the static book check (local files present, figures shown)."""
    from relutopo.repro.bookcheck import check_book

    # a run in progress elsewhere (live pid: ours) has a staging copy: the book must ignore it
    staging = book_root / EXECUTED_DIR / f".{PAPER}.staging-{os.getpid()}-abc"
    shutil.copytree(book_root / EXECUTED_DIR / PAPER, staging)
    jb = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([str(jb), "build", str(book_root), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, timeout=300)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "WARNING" not in log, log[-3000:]
    html = book_root / "_build" / "html"
    page = html / "book" / "executed" / PAPER / f"{PAPER}.html"
    assert page.is_file()
    assert "<img" in page.read_text()
    assert not list(html.glob("book/executed/.*"))
    shutil.rmtree(staging)
    report = check_book(html, book_root / "_build" / "screenshots", render=False)
    assert report.ok, report.text()
    # deleting an image the paper page shows is caught
    imgs = sorted((html / "_images").glob("*.png"))
    assert imgs
    for img in imgs:
        img.unlink()
    report = check_book(html, book_root / "_build" / "screenshots", render=False)
    assert not report.ok and any("missing file" in p for p in report.problems)


def test_prepare_book_removes_staging_of_killed_runs_only(tmp_path):
    root = make_root(tmp_path / "repo")
    base = root / EXECUTED_DIR
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = base / f".{PAPER}.staging-{os.getpid()}-a"
    killed = base / f".{PAPER}.staging-{dead.pid}-b"
    for d in (live, killed):
        d.mkdir(parents=True)
    prepare_book(root, "smoke")
    assert live.is_dir() and not killed.exists()


def test_toc_glob_picks_up_executed_notebooks():
    """The committed _toc.yml takes every executed notebook the runner writes for the book."""
    from sphinx.util.matching import patfilter

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    globs = [c["glob"] for part in toc["parts"] for c in part["chapters"] if "glob" in c]
    assert globs
    docnames = [f"{EXECUTED_DIR.as_posix()}/{p}/{p}" for p in ("a_paper", "b_paper")]
    docnames += ["book/intro", "book/executed/a_paper.failed"]
    matched = set().union(*(patfilter(docnames, g) for g in globs))
    assert matched == {docnames[0], docnames[1]}


# --------------------------------------------------------------------------- the real notebooks

NOTEBOOKS = [p.stem for p in sorted((REPO / "notebooks").glob("*.ipynb"))]


@pytest.mark.parametrize("paper", NOTEBOOKS)
def test_notebook_follows_the_contract(paper):
    problems = check_contract(REPO / "notebooks" / f"{paper}.ipynb")
    assert not problems, f"notebooks/{paper}.ipynb: " + "; ".join(problems)


@pytest.mark.parametrize("paper", NOTEBOOKS)
def test_notebook_smoke_run_matches_the_committed_record(paper, tmp_path):
    """Executes the notebook at the smoke profile (papermill, as make book does) and compares
    every claim with results/smoke/<paper>.json: this is `relutopo verify --profile smoke`."""
    report = verify([paper], "smoke", root=REPO, output_root=tmp_path)
    assert report.ok, report.text()
    data = load_results(tmp_path / paper / "results.json")
    for fig in data["figures"].values():
        assert (tmp_path / paper / fig["path"]).is_file()


def test_lamalfa_mnist_half_marks_every_cifar_claim_not_run(tmp_path):
    """`-p datasets mnist` trains the MNIST pools only: every paper claim of the full smoke record is
    still listed, those on CIFAR-10 data as *not comparable* with the rule "not run", the MNIST ones
    measured."""
    from relutopo.repro.runner import run_notebook

    paper = "lamalfa_complex_networks"
    out = tmp_path / "run"
    run_notebook(paper, "smoke", {"datasets": "mnist"}, root=REPO, output_dir=out, record=False)
    claims = {c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"] if c["kind"] == "paper"}
    full = {c["id"] for c in json.loads((REPO / "results" / "smoke" / f"{paper}.json").read_text())["claims"]
            if c["kind"] == "paper"}
    assert set(claims) == full
    on_cifar = {i for i in claims if "cifar10" in i or i.startswith(("fig4_", "fig56_"))}
    assert on_cifar and all(claims[i]["rule"] == "not run" and claims[i]["verdict"] == "not comparable"
                            and "datasets='mnist'" in claims[i]["explanation"] for i in on_cifar)
    assert all(claims[i]["rule"] != "not run" for i in set(claims) - on_cifar)
