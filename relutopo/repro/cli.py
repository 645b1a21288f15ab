"""The ``relutopo`` command line (also ``python -m relutopo``).

::

    relutopo list [PAPER ...]                       notebooks, their parameters and defaults
    relutopo run PAPER|--all --profile P [-p NAME VALUE ...] [--output DIR] [--force] [--yes]
    relutopo book [--profile book] [--force]         execute all notebooks for the book, write its pages
    relutopo scorecard [--profile book] [--markdown] the reproduction scorecard
    relutopo verify [PAPER ...] [--profile smoke]    re-execute, compare with results/<profile>/
    relutopo check-book [--html _build/html]         headless-Chromium check of the built book

Exit status: 0 success, 1 a notebook failed or a check drifted, 2 bad usage, parameters, output
folder or results file (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from relutopo.repro.param_ranges import SIZE_CONFIRM_FACTOR
from relutopo.repro.params import PROFILES, ParameterError

__all__ = ["main", "build_parser"]


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _fmt(v) -> str:
    return "-" if v is None else (repr(v) if isinstance(v, str) else str(v))


def _root(args) -> Path:
    """The repository root: ``--root`` (which must be a folder) or the one found from here."""
    from relutopo.repro.runner import find_root

    if not args.root:
        return find_root()
    root = Path(args.root).expanduser()
    if not root.is_dir():
        raise ParameterError(f"--root {args.root}: no such folder (give the repository root, "
                             "the folder holding notebooks/ and results/)")
    return root


# --------------------------------------------------------------------------- list

def cmd_list(args) -> int:
    from relutopo.repro.runner import discover_notebooks, get_notebook

    root = _root(args)
    infos = [get_notebook(p, root) for p in args.papers] if args.papers else discover_notebooks(root)
    if not infos:
        _out(f"no notebooks in {root / 'notebooks'}")
        return 0
    if args.names:
        for info in infos:
            _out(info.paper)
        return 0
    for info in infos:
        _out(f"{info.paper}  —  {info.title}")
        _out(f"  notebooks/{info.path.name}")
        rows = [("parameter", "type", *PROFILES, "allowed", "help")]
        for p in info.size_parameters:
            vals = [_fmt(p.profile_values.get(prof, p.default)) for prof in PROFILES]
            allowed = p.allowed.text if p.allowed is not None else "-"
            rows.append((p.name, p.type_name or "any", *vals, allowed, p.help))
        if len(rows) == 1:
            _out("  (no size parameters)")
        else:
            widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
            for r in rows:
                _out("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
        _out(f"  run: relutopo run {info.paper} --profile smoke|book|paper [-p NAME VALUE ...]")
        _out()
    return 0


# --------------------------------------------------------------------------- run / book

def _overrides(info, pairs) -> dict:
    from relutopo.repro.runner import parse_cli_value

    out = {}
    for name, text in pairs or []:
        out[name] = parse_cli_value(info, name, text)
    return out


def _run_many(root: Path, papers, profile: str, pairs, force: bool, record: Optional[bool],
              output: Optional[str], output_root: Optional[str], yes: bool = False) -> int:
    from relutopo.repro.runner import NotebookRunError, discover_notebooks, get_notebook, run_notebook

    infos = [get_notebook(p, root) for p in papers] if papers else discover_notebooks(root)
    if not infos:
        _out(f"no notebooks in {root / 'notebooks'}")
        return 0
    if output and output_root:
        raise ParameterError("give --output (one notebook's folder) or --output-root, not both")
    if output and len(infos) > 1:
        raise ParameterError("--output names one folder; with several notebooks use --output-root")
    if pairs and len(infos) > 1:
        raise ParameterError("-p overrides apply to one notebook; name exactly one paper")
    # validate every notebook's parameters before executing any of them
    from relutopo.repro.runner import check_output_folder, validate_parameters

    plans = []
    for info in infos:
        overrides = _overrides(info, pairs)
        validate_parameters(info, profile, overrides, yes=yes)
        out = output or (str(Path(output_root).expanduser() / info.paper) if output_root else None)
        if out is not None:
            check_output_folder(Path(out).expanduser().resolve(), info.paper)
        plans.append((info, overrides, out))
    failures = []
    for info, overrides, out in plans:
        t0 = time.perf_counter()
        from relutopo.repro.runner import stale_reasons

        why = ["forced (--force)"] if force else stale_reasons(info, profile, overrides, out, root)
        _out(f"[{profile}] {info.paper} ..." + (f" rerun: {'; '.join(_shorten(why))}" if why else ""))
        try:
            res = run_notebook(info, profile, overrides, root=root, output_dir=out, force=force,
                               record=record, progress=sys.stderr.isatty(), yes=yes)
        except NotebookRunError as exc:
            failures.append(info.paper)
            _err(f"  FAILED: {exc}")
            continue
        took = time.perf_counter() - t0
        state = "unchanged, skipped (use --force / FORCE=1 to rerun)" if res.skipped else f"executed in {took:.1f} s"
        _out(f"  {state}")
        _out(f"  executed notebook: {res.executed}")
        _out(f"  results:           {res.results}" + (f"  -> {res.record}" if res.record else ""))
    if failures:
        _err(f"{len(failures)} notebook(s) failed: {', '.join(failures)}")
        return 1
    return 0


def _shorten(reasons, most: int = 4) -> list:
    """At most ``most`` reasons, then "and N more"."""
    reasons = list(reasons)
    return reasons if len(reasons) <= most else reasons[:most] + [f"and {len(reasons) - most} more"]


def cmd_run(args) -> int:
    root = _root(args)
    if not args.papers and not args.all:
        raise ParameterError("name a paper (see relutopo list) or pass --all")
    if args.papers and args.all:
        raise ParameterError("give paper names or --all, not both")
    record = False if args.no_record else None
    return _run_many(root, args.papers, args.profile, args.param, args.force, record,
                     args.output, args.output_root, yes=args.yes)


def cmd_book(args) -> int:
    from relutopo.repro.book import EXECUTED_DIR, prepare_book

    root = _root(args)
    rc = 0
    if not args.pages_only:
        rc = _run_many(root, args.papers, args.profile, None, args.force, None, None,
                       str(root / EXECUTED_DIR))
    pages = prepare_book(root, profile=args.profile)
    for p in pages:
        _out(f"  wrote {p.relative_to(root)}")
    return rc


# --------------------------------------------------------------------------- scorecard / verify

def cmd_scorecard(args) -> int:
    from relutopo.repro.scorecard import scorecard_markdown, scorecard_text

    root = _root(args)
    if args.markdown:
        _out(scorecard_markdown(root, args.profile))
    else:
        _out(scorecard_text(root, args.profile))
    return 0


def cmd_verify(args) -> int:
    from relutopo.repro.scorecard import verify

    root = _root(args)
    report = verify(args.papers or None, args.profile, root=root, output_root=args.output_root,
                    progress=_out)
    _out(report.text())
    return 0 if report.ok else 1


def cmd_check_book(args) -> int:
    from relutopo.repro.bookcheck import check_book

    root = _root(args)
    html = Path(args.html) if args.html else root / "_build" / "html"
    shots = Path(args.screenshots) if args.screenshots else root / "_build" / "screenshots"
    report = check_book(html, shots, chromium=args.chromium)
    _out(report.text())
    return 0 if report.ok else 1


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``relutopo`` command: one sub-command per action (``run``,
    ``list``, ``book``, ``scorecard``, ``verify``, ...).

    Examples
    --------
    >>> parser = build_parser()
    >>> args = parser.parse_args(["run", "wang_linear_regions", "--profile", "smoke"])
    >>> args.profile
    'smoke'
    """
    ap = argparse.ArgumentParser(
        prog="relutopo",
        description="Run the paper notebooks of relutopo, print the reproduction scorecard, "
                    "verify the committed results.")
    ap.add_argument("--root", help="repository root (default: found from the current folder)")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="show the notebooks, their parameters and defaults")
    p.add_argument("papers", nargs="*", metavar="PAPER")
    p.add_argument("--names", action="store_true", help="print the paper names only")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("run", help="execute notebook(s) with papermill",
                       description="Execute a paper notebook at a profile, with overrides.")
    p.add_argument("papers", nargs="*", metavar="PAPER", help="paper name(s) (see relutopo list)")
    p.add_argument("--all", action="store_true", help="every notebook in notebooks/")
    p.add_argument("--profile", default="book", choices=PROFILES, help="size profile (default: book)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="override a parameter (repeatable)")
    p.add_argument("--output", help="output folder (default _build/runs/<profile>/<paper>): new, "
                   "empty, or an earlier run's (relutopo never replaces what it did not write)")
    p.add_argument("--output-root", help="with several notebooks: <DIR>/<paper> for each")
    p.add_argument("--force", action="store_true", help="execute even if unchanged since the last run")
    p.add_argument("--no-record", action="store_true",
                   help="do not copy results.json to results/<profile>/<paper>.json")
    p.add_argument("--yes", action="store_true",
                   help=f"run sizes more than {SIZE_CONFIRM_FACTOR:g}x the paper profile without asking")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("book", help="execute every notebook for the book and write its pages")
    p.add_argument("papers", nargs="*", metavar="PAPER")
    p.add_argument("--profile", default="book", choices=PROFILES)
    p.add_argument("--force", action="store_true")
    p.add_argument("--pages-only", action="store_true", help="only regenerate the generated pages")
    p.set_defaults(fn=cmd_book)

    p = sub.add_parser("scorecard", help="print the reproduction scorecard")
    p.add_argument("--profile", default="book", choices=PROFILES)
    p.add_argument("--markdown", action="store_true", help="MyST markdown (the book's page)")
    p.set_defaults(fn=cmd_scorecard)

    p = sub.add_parser("verify", help="re-execute and compare with the committed record")
    p.add_argument("papers", nargs="*", metavar="PAPER")
    p.add_argument("--profile", default="smoke", choices=PROFILES)
    p.add_argument("--output-root", help="keep the fresh runs in <DIR>/<paper> (default: a temp folder)")
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser("check-book", help="open the built book in headless Chromium and check it")
    p.add_argument("--html", help="built book (default _build/html)")
    p.add_argument("--screenshots", help="screenshot folder (default _build/screenshots)")
    p.add_argument("--chromium", default=None, help="browser executable (default: chromium)")
    p.set_defaults(fn=cmd_check_book)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``relutopo`` console script; returns the exit status.

    Examples
    --------
    >>> import contextlib, io
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     rc = main(["list"])
    >>> rc, "relutopo run wang_linear_regions --profile" in out.getvalue()
    (0, True)
    """
    from relutopo.repro.record import RecordError
    from relutopo.repro.runner import ContractError, OutputFolderError

    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ParameterError, ContractError, OutputFolderError, RecordError, FileNotFoundError,
            PermissionError) as exc:
        # user-caused: one line, no traceback (a message may end with an indented hint line)
        _err(f"relutopo {args.command}: error: {exc}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
