"""The reproduction scorecard and the reproduction check (``relutopo scorecard`` / ``verify``).

The scorecard is one table of every claim of every paper, read from the committed record
``results/<profile>/<paper>.json``: the paper's value, ours, the rule, and the verdict the
notebook computed (:mod:`relutopo.repro.record`). :func:`scorecard_markdown` renders it for the
book, :func:`scorecard_text` for the terminal.

:func:`verify` re-executes notebooks (same profile, same fixed seeds) and compares every claim
with the record: the same claims, the same verdicts, the same paper values, and our values
within the claim's own tolerance (:func:`claim_drift_tolerance`). Anything else is drift,
reported claim by claim.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from relutopo.repro.claims import (CHECK_VERDICTS, DIFFERS, FAILED, NOT_COMPARABLE, PAPER,
                                   PAPER_VERDICTS, PASSED, REPRODUCED, SELF_CHECK, VERDICTS)
from relutopo.repro.record import load_results

__all__ = [
    "ScoreRow", "load_record", "scorecard_rows", "verdict_counts", "reproduction_rate",
    "summary_line", "scorecard_text",
    "scorecard_markdown", "compare_results", "claim_drift_tolerance", "verify", "VerifyReport",
    "VERIFY_RTOL", "format_value", "short_name", "list_table",
]

#: Relative drift allowed between a fresh value and the recorded one when the claim carries no
#: tolerance of its own (qualitative statistics, exact numeric claims on floats): the
#: run-to-run noise of floating point on one machine, not a scientific tolerance.
VERIFY_RTOL: float = 1e-6


@dataclass(frozen=True)
class ScoreRow:
    """One claim of one paper, as shown on the scorecard.

    Examples
    --------
    >>> from relutopo.repro.runner import find_root
    >>> rows = scorecard_rows(load_record(find_root(), "smoke"))
    >>> r = rows[0]
    >>> type(r).__name__, r.kind in ("paper", "self-check"), bool(r.verdict)
    ('ScoreRow', True, True)
    """

    paper: str
    claim: str
    description: str
    paper_value: Any
    our_value: Any
    rule: str
    verdict: str
    note: str = ""
    figure: Optional[str] = None        # the figure's name
    figure_path: Optional[str] = None   # relative to the run's output folder
    kind: str = PAPER                   # "paper" or "self-check"
    explanation: str = ""               # "Finding: ..." / "Limit: ..." under a differs


def load_record(root: os.PathLike, profile: str) -> list:
    """Every ``results/<profile>/*.json`` (parsed), sorted by paper.

    Examples
    --------
    >>> from relutopo.repro.runner import find_root
    >>> [r["paper"] for r in load_record(find_root(), "smoke")][:2]
    ['beshkov_relative_homology', 'engine_slices']
    """
    folder = Path(root) / "results" / profile
    return [load_results(p) for p in sorted(folder.glob("*.json"))]


def scorecard_rows(records: Sequence[dict]) -> list:
    """Flatten results files into :class:`ScoreRow` s, papers in order, claims in recorded order.

    Examples
    --------
    >>> rows = scorecard_rows([{"paper": "toy", "profile": "smoke", "claims": [
    ...     {"id": "a", "description": "d", "paper": 4, "ours": 4, "rule": "ours == paper",
    ...      "verdict": "reproduced", "kind": "paper"}]}])
    >>> [(r.paper, r.claim, r.verdict) for r in rows]
    [('toy', 'a', 'reproduced')]
    """
    rows = []
    for rec in records:
        figures = rec.get("figures") or {}
        for c in rec["claims"]:
            fig = c.get("figure")
            rows.append(ScoreRow(
                paper=rec["paper"], claim=c["id"], description=c.get("description", ""),
                paper_value=c.get("paper_value"), our_value=c.get("our_value"),
                rule=c.get("rule", ""), verdict=c["verdict"], note=c.get("note", "") or "",
                figure=fig, figure_path=(figures.get(fig) or {}).get("path") if fig else None,
                kind=c.get("kind", PAPER), explanation=c.get("explanation", "") or ""))
    return rows


def verdict_counts(rows: Sequence[ScoreRow], kind: str = PAPER) -> dict:
    """``{verdict: count}`` over the rows of one kind (paper claims by default), every verdict
    of that kind present (zero if none).

    Examples
    --------
    >>> rows = scorecard_rows([{"paper": "toy", "profile": "smoke", "claims": [
    ...     {"id": "a", "description": "d", "paper": 4, "ours": 4, "rule": "r", "verdict": "reproduced", "kind": "paper"},
    ...     {"id": "b", "description": "d", "paper": 4, "ours": 5, "rule": "r", "verdict": "differs", "kind": "paper"},
    ...     {"id": "c", "description": "d", "paper": None, "ours": 1, "rule": "r", "verdict": "passed", "kind": "self-check"}]}])
    >>> verdict_counts(rows), reproduction_rate(rows)
    ({'reproduced': 1, 'differs': 1, 'not comparable': 0}, 0.5)
    """
    counts = {v: 0 for v in (PAPER_VERDICTS if kind == PAPER else CHECK_VERDICTS)}
    for r in rows:
        if r.kind == kind:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return counts


def reproduction_rate(rows: Sequence[ScoreRow]) -> Optional[float]:
    """Reproduced paper claims over *comparable* paper claims (reproduced + differs); self-checks
    and not-comparable claims never count. None when no paper claim is comparable.

    Examples
    --------
    Self-checks never count; only comparable paper claims do:

    >>> rows = scorecard_rows([{"paper": "toy", "profile": "smoke", "claims": [
    ...     {"id": "a", "description": "d", "paper": 4, "ours": 4, "rule": "r", "verdict": "reproduced", "kind": "paper"},
    ...     {"id": "b", "description": "d", "paper": 4, "ours": 5, "rule": "r", "verdict": "not comparable", "kind": "paper"},
    ...     {"id": "c", "description": "d", "paper": None, "ours": 1, "rule": "r", "verdict": "failed", "kind": "self-check"}]}])
    >>> reproduction_rate(rows)
    1.0
    """
    c = verdict_counts(rows, PAPER)
    comparable = c[REPRODUCED] + c[DIFFERS]
    return c[REPRODUCED] / comparable if comparable else None


def format_value(v: Any, digits: int = 4) -> str:
    """A compact, human-readable rendering of a claim value (numbers to ``digits`` significant).

    Examples
    --------
    >>> format_value(0.123456789), format_value([1, 2.5, None]), format_value(True)
    ('0.1235', '[1, 2.5, None]', 'True')
    """
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(format_value(x, digits) for x in list(v)[:8])
        return f"[{inner}{', …' if len(v) > 8 else ''}]"
    if isinstance(v, dict):
        return ", ".join(f"{k}={format_value(x, digits)}" for k, x in list(v.items())[:8])
    return str(v)


def summary_line(rows: Sequence[ScoreRow], n_papers: int) -> str:
    """One sentence: paper claims by verdict, the reproduction rate over comparable paper claims,
    and the self-checks (shown, never counted as reproductions).

    Examples
    --------
    >>> rows = scorecard_rows([{"paper": "toy", "profile": "smoke", "claims": [
    ...     {"id": "a", "description": "d", "paper": 4, "ours": 4, "rule": "r", "verdict": "reproduced", "kind": "paper"}]}])
    >>> summary_line(rows, 1)
    '1 paper claims from 1 paper(s): 1 reproduced, 0 differ, 0 not comparable; 1 of 1 comparable paper claims reproduced (100 %). 0 self-checks: 0 passed, 0 failed'
    """
    c = verdict_counts(rows, PAPER)
    s = verdict_counts(rows, SELF_CHECK)
    n_paper = sum(c.values())
    rate = reproduction_rate(rows)
    rate_text = ("no comparable paper claim" if rate is None else
                 f"{c[REPRODUCED]} of {c[REPRODUCED] + c[DIFFERS]} comparable paper claims "
                 f"reproduced ({100 * rate:.0f} %)")
    return (f"{n_paper} paper claims from {n_papers} paper(s): {c[REPRODUCED]} reproduced, "
            f"{c[DIFFERS]} differ, {c[NOT_COMPARABLE]} not comparable; {rate_text}. "
            f"{sum(s.values())} self-checks: {s[PASSED]} passed, {s[FAILED]} failed")


def scorecard_text(root: os.PathLike, profile: str = "book", width: int = 38) -> str:
    """The scorecard as a plain-text table for the terminal.

    Examples
    --------
    >>> from relutopo.repro.runner import find_root
    >>> text = scorecard_text(find_root(), "smoke")
    >>> "wang" in text
    True
    """
    records = load_record(root, profile)
    if not records:
        return (f"no results in {Path(root) / 'results' / profile}; run "
                f"`relutopo run --all --profile {profile}` (or `make book`) first")
    rows = scorecard_rows(records)

    def cut(s, n):
        s = str(s).replace("\n", " ")
        return s if len(s) <= n else s[:n - 1] + "…"

    def table(head, body):
        widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
               "  ".join("-" * w for w in widths)]
        return out + ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]

    paper_rows = [r for r in rows if r.kind == PAPER]
    check_rows = [r for r in rows if r.kind == SELF_CHECK]
    lines = [f"Reproduction scorecard (profile {profile})", "", "Paper claims", ""]
    lines += table(("paper", "claim", "paper's value", "ours", "verdict"),
                   [(r.paper, r.claim, cut(format_value(r.paper_value), width),
                     cut(format_value(r.our_value), width), r.verdict) for r in paper_rows])
    if check_rows:
        lines += ["", "Self-checks (our algorithms, invariants, setup; not reproductions)", ""]
        lines += table(("paper", "check", "ours", "verdict"),
                       [(r.paper, r.claim, cut(format_value(r.our_value), width), r.verdict)
                        for r in check_rows])
    lines += ["", summary_line(rows, len(records))]
    return "\n".join(lines)


def _md_cell(s: Any) -> str:
    return str(s).replace("\n", " ")


_BADGE = {REPRODUCED: "**reproduced**", DIFFERS: "**differs**", NOT_COMPARABLE: "*not comparable*",
          PASSED: "**passed**", FAILED: "**failed**"}


def short_name(paper: str) -> str:
    """The first word of a paper id (``liu_polyhedral_persistence`` -> ``liu``), for tables.

    Examples
    --------
    >>> short_name("liu_polyhedral_persistence")
    'liu'
    """
    return paper.split("_", 1)[0]


def scorecard_markdown(root: os.PathLike, profile: str = "book", *,
                       paper_link: Optional[Callable[[str], Optional[str]]] = None,
                       figure_link: Optional[Callable[[str, str], Optional[str]]] = None,
                       titles: Optional[dict] = None) -> str:
    """The scorecard as a MyST markdown table (no page heading): one row per claim with the
    paper (linked to its page), the claim (id and what it says), the paper's value, ours, the
    verdict with the rule that decided it, and the figure (linked to the image file).

    ``paper_link(paper)`` returns a link target for the paper's page (or None);
    ``figure_link(paper, figure_path)`` a link target for a figure file (or None).

    Examples
    --------
    >>> from relutopo.repro.runner import find_root
    >>> md = scorecard_markdown(find_root(), "smoke")
    >>> "list-table" in md
    True
    """
    records = load_record(root, profile)
    if not records:
        return (f"No results recorded yet in `results/{profile}/`; run "
                f"`relutopo run --all --profile {profile}` or `make book`.\n")
    rows = scorecard_rows(records)

    def paper_cell(r):
        target = paper_link(r.paper) if paper_link else None
        name = short_name(r.paper)
        return f"[{_md_cell(name)}]({target})" if target else f"`{name}`"

    def figure_cell(r):
        if not r.figure_path:
            return "—"
        ft = figure_link(r.paper, r.figure_path) if figure_link else None
        label = r.figure.replace("_", " ")  # wraps in a narrow column
        return f"[{_md_cell(label)}]({ft})" if ft else f"`{r.figure}`"

    def claim_cell(r):
        desc = r.description + (f" ({r.note})" if r.note else "")
        text = f"`{_md_cell(r.claim)}`: {_md_cell(desc)}"
        return text + (f" *{_md_cell(r.explanation)}*" if r.explanation else "")

    papers = [[paper_cell(r), claim_cell(r), _md_cell(format_value(r.paper_value)),
               _md_cell(format_value(r.our_value)),
               f"{_BADGE.get(r.verdict, r.verdict)} ({_md_cell(r.rule)})", figure_cell(r)]
              for r in rows if r.kind == PAPER]
    checks = [[paper_cell(r), claim_cell(r), _md_cell(format_value(r.our_value)),
               f"{_BADGE.get(r.verdict, r.verdict)} ({_md_cell(r.rule)})", figure_cell(r)]
              for r in rows if r.kind == SELF_CHECK]
    out = [summary_line(rows, len(records)) + ".", "", "### Paper claims", "",
           "Statements and numbers of the papers, tested on our measurements. Only these count "
           "in the reproduction rate, and only where comparable.", ""]
    out.append(list_table(["paper", "claim", "paper's value", "ours", "verdict (rule)", "figure"],
                          papers, widths=[10, 29, 16, 17, 17, 11]) if papers else "None.\n")
    out += ["### Self-checks", "",
            "Agreement of two of our algorithms, invariants, and checks of our own setup (did the "
            "network learn, does the data have the stated topology). Shown, never counted as "
            "reproductions.", ""]
    out.append(list_table(["paper", "check", "ours", "verdict (rule)", "figure"], checks,
                          widths=[10, 38, 20, 21, 11]) if checks else "None.\n")
    return "\n".join(out)


def list_table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int],
               css_class: str = "relutopo-table") -> str:
    """A MyST ``{list-table}`` with fixed relative column widths (cells are inline markdown).

    The book's stylesheet gives tables of class ``relutopo-table`` a fixed layout, so long
    claim ids and values wrap inside their columns instead of widening the page.

    Examples
    --------
    >>> print(list_table(["a", "b"], [["1", "2"]], [1, 3]))
    ````{list-table}
    :header-rows: 1
    :widths: 1 3
    :class: relutopo-table
    <BLANKLINE>
    * - a
      - b
    * - 1
      - 2
    ````
    """
    if len(widths) != len(header) or any(len(r) != len(header) for r in rows):
        raise ValueError("every row of a list table needs one cell per header column")

    def cell(text):
        text = str(text).replace("\n", " ").strip()
        return text or "—"

    lines = ["````{list-table}", ":header-rows: 1", f":widths: {' '.join(map(str, widths))}",
             f":class: {css_class}", ""]
    for row in [list(header), *rows]:
        lines.append(f"* - {cell(row[0])}")
        lines += [f"  - {cell(c)}" for c in row[1:]]
    lines.append("````")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- verify

def claim_drift_tolerance(claim: dict) -> float:
    """How far a fresh value may be from the recorded one: the claim's own tolerance
    (``atol + rtol |paper|`` of a numeric claim, ``atol`` of a range claim), else 0 (plus the
    floating-point slack :data:`VERIFY_RTOL`, applied by :func:`compare_results`).

    Examples
    --------
    >>> claim_drift_tolerance({"test": "numeric", "atol": 0.5, "rtol": 0.1, "paper": 10}), claim_drift_tolerance({"test": "equal"})
    (0.5, 0.0)
    """
    atol = claim.get("atol") or 0.0
    rtol = claim.get("rtol") or 0.0
    pv = claim.get("paper_value")
    scale = abs(pv) if isinstance(pv, (int, float)) and not isinstance(pv, bool) else 0.0
    return float(atol) + float(rtol) * scale


def _leaf_diffs(old: Any, new: Any, tol: float, path: str = "") -> list:
    """Differences between two JSON values; numbers within ``tol`` + VERIFY_RTOL are equal."""
    num = (int, float)
    if isinstance(old, num) and isinstance(new, num) and not isinstance(old, bool) \
            and not isinstance(new, bool):
        allowed = tol + VERIFY_RTOL * max(abs(old), abs(new))
        if abs(float(new) - float(old)) > allowed:
            return [f"{path or 'value'} {format_value(old, 8)} -> {format_value(new, 8)} "
                    f"(allowed drift {allowed:.3g})"]
        return []
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path or 'value'} has {len(new)} entries, record has {len(old)}"]
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += _leaf_diffs(a, b, tol, f"{path}[{i}]")
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            if k not in new:
                out.append(f"{path}.{k} missing in the fresh run")
            elif k not in old:
                out.append(f"{path}.{k} not in the record")
            else:
                out += _leaf_diffs(old[k], new[k], tol, f"{path}.{k}")
        return out
    if old != new:
        return [f"{path or 'value'} {format_value(old)!s} -> {format_value(new)!s}"]
    return []


def compare_results(record: dict, fresh: dict) -> list:
    """Human-readable differences between a recorded results file and a fresh one (empty: same).

    Examples
    --------
    >>> rec = {"paper": "toy", "claims": [{"id": "a", "ours": 4, "verdict": "reproduced"}]}
    >>> compare_results(rec, rec)
    []
    >>> compare_results(rec, {"paper": "toy", "claims": [{"id": "a", "ours": 5, "verdict": "differs"}]})
    ['claim a: verdict reproduced -> differs']
    """
    diffs = []
    if record.get("parameters") != fresh.get("parameters"):
        diffs += [f"parameters: {d}" for d in
                  _leaf_diffs(record.get("parameters"), fresh.get("parameters"), 0.0, "")]
    old = {c["id"]: c for c in record["claims"]}
    new = {c["id"]: c for c in fresh["claims"]}
    for cid in old:
        if cid not in new:
            diffs.append(f"claim {cid}: in the record, not produced by the fresh run")
    for cid in new:
        if cid not in old:
            diffs.append(f"claim {cid}: produced by the fresh run, not in the record "
                         "(re-record with relutopo run)")
    for cid in old:
        if cid not in new:
            continue
        a, b = old[cid], new[cid]
        if a["verdict"] != b["verdict"]:
            diffs.append(f"claim {cid}: verdict {a['verdict']} -> {b['verdict']}")
        for d in _leaf_diffs(a.get("paper_value"), b.get("paper_value"), 0.0, "paper's value"):
            diffs.append(f"claim {cid}: {d}")
        for d in _leaf_diffs(a.get("our_value"), b.get("our_value"), claim_drift_tolerance(a),
                             "our value"):
            diffs.append(f"claim {cid}: {d}")
    ofig, nfig = set(record.get("figures") or {}), set(fresh.get("figures") or {})
    if ofig != nfig:
        if ofig - nfig:
            diffs.append(f"figures missing in the fresh run: {sorted(ofig - nfig)}")
        if nfig - ofig:
            diffs.append(f"new figures not in the record: {sorted(nfig - ofig)}")
    return diffs


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`: per paper, ``ok``, the drift lines, or the failure.

    Examples
    --------
    >>> report = VerifyReport("smoke", matched=("wang_linear_regions",), drifted={"liu": ["claim x: 3 -> 4"]})
    >>> report.ok
    False
    """

    profile: str
    matched: tuple = ()                              # papers whose claims match
    drifted: dict = field(default_factory=dict)      # paper -> [diff lines]
    failed: dict = field(default_factory=dict)       # paper -> error message

    @property
    def ok(self) -> bool:
        return not self.drifted and not self.failed

    def text(self) -> str:
        n = len(self.matched) + len(self.drifted) + len(self.failed)
        lines = [f"verify (profile {self.profile}): {n} notebook(s) against results/{self.profile}/"]
        for p in self.matched:
            lines.append(f"  ok       {p}")
        for p, diffs in self.drifted.items():
            lines.append(f"  DRIFTED  {p}")
            lines += [f"      {d}" for d in diffs]
        for p, msg in self.failed.items():
            lines.append(f"  FAILED   {p}")
            lines += [f"      {m}" for m in str(msg).splitlines()]
        if not self.ok:
            lines.append("Drift means a notebook's results changed. If the change is intended, "
                         f"re-record: relutopo run PAPER --profile {self.profile} --force, "
                         f"and commit results/{self.profile}/PAPER.json.")
        return "\n".join(lines)


def verify(papers: Optional[Sequence[str]] = None, profile: str = "smoke", *,
           root: Optional[os.PathLike] = None, output_root: Optional[os.PathLike] = None,
           progress: Optional[Callable[[str], None]] = None) -> VerifyReport:
    """Re-execute notebooks and compare their claims with the committed record.

    Parameters
    ----------
    papers : sequence of str, optional
        Paper names (default: every notebook in ``notebooks/``).
    profile : str
        The profile whose record ``results/<profile>/`` is checked.
    root : path, optional
        Repository root.
    output_root : path, optional
        Keep each fresh run in ``<output_root>/<paper>`` (default: a temporary folder, removed).
    progress : callable, optional
        Called with a line of text before each notebook (the CLI passes ``print``).

    Raises
    ------
    relutopo.repro.record.RecordError
        A record to compare with is unreadable or breaks the results schema (checked before
        anything executes).

    Examples
    --------
    Re-executing notebooks takes a kernel per paper (``relutopo verify --profile smoke`` from the
    command line); the report of a run with nothing to compare reads:

    >>> VerifyReport("smoke").ok
    True
    """
    from relutopo.repro.runner import (NotebookRunError, discover_notebooks, find_root, get_notebook,
                         record_path, run_notebook)

    root = Path(root) if root is not None else find_root()
    infos = [get_notebook(p, root) for p in papers] if papers else discover_notebooks(root)
    for info in infos:  # a broken record stops here, before minutes of execution (RecordError)
        if record_path(root, info.paper, profile).is_file():
            load_results(record_path(root, info.paper, profile))
    matched, drifted, failed = [], {}, {}
    with tempfile.TemporaryDirectory(prefix="relutopo-verify-") as tmp:
        base = Path(output_root) if output_root is not None else Path(tmp)
        for info in infos:
            if progress:
                progress(f"[verify {profile}] {info.paper} ...")
            rec = record_path(root, info.paper, profile)
            try:
                # execute first: a notebook without a record is still run (and its errors shown)
                res = run_notebook(info, profile, root=root, output_dir=base / info.paper,
                                   force=True, record=False)
                fresh = load_results(res.results)
                if not rec.is_file():
                    shown = rec.relative_to(root) if rec.is_relative_to(root) else rec
                    failed[info.paper] = (
                        f"it ran, but there is no record {shown} to compare with; create it "
                        f"with `relutopo run {info.paper} --profile {profile}` and commit it")
                    continue
                record = load_results(rec)
            except (NotebookRunError, ValueError) as exc:
                failed[info.paper] = str(exc)
                continue
            diffs = compare_results(record, fresh)
            if diffs:
                drifted[info.paper] = diffs
            else:
                matched.append(info.paper)
    return VerifyReport(profile, tuple(matched), drifted, failed)
