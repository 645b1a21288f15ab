"""The results of one notebook run: claims, figures and extra numbers, written atomically.

A notebook records its claims (:mod:`relutopo.repro.claims`) in a :class:`Results` and writes
them to ``<output_dir>/results.json``; ``relutopo run`` / ``make book`` copy that file to the
committed record ``results/<profile>/<paper>.json``. :func:`load_results` reads one back,
checked against the schema (:func:`check_results`), with errors that name the file and field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from relutopo.atomic import atomic_write_bytes, atomic_write_json
from relutopo.errors import RelutopoError
from relutopo.repro.claims import (CHECK_VERDICTS, KINDS, PAPER, PAPER_VERDICTS, VERDICTS, Claim,
                                   plain as _plain)

__all__ = ["Results", "load_results", "check_results", "RecordError", "SCHEMA_VERSION",
           "portable_paths"]

#: Version 2: every claim has a kind (``paper`` or ``self-check``); self-checks pass or fail.
SCHEMA_VERSION = 2


@dataclass
class Results:
    """The claims (and figure files) of one notebook run.

    Examples
    --------
    The record of one run: its claims (each with a computed verdict), written as JSON:

    >>> import json, pathlib, tempfile
    >>> from relutopo.repro.claims import numeric_claim
    >>> r = Results("toy", "smoke", parameters={"n": 3})
    >>> _ = r.add(numeric_claim("regions", "regions of the 2-2-1 net", 4, 4))
    >>> path = r.write(pathlib.Path(tempfile.mkdtemp()) / "results.json")
    >>> data = load_results(path)
    >>> data["paper"], [c["verdict"] for c in data["claims"]]
    ('toy', ['reproduced'])
    """

    paper: str
    profile: str
    parameters: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def add(self, claim: Claim) -> Claim:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"claim id {claim.id!r} recorded twice")
        self.claims.append(claim)
        return claim

    def add_figure(self, name: str, path: str, caption: str = "") -> None:
        self.figures[name] = {"path": str(path), "caption": caption}

    def to_dict(self, root: Optional[os.PathLike] = None) -> dict:
        """The JSON record; absolute paths inside ``root`` (default: the repository this
        package belongs to, when it is a checkout) or inside a ``site-packages`` folder are
        written relative to it (:func:`portable_paths`), so a record never names this machine."""
        root = Path(root) if root is not None else _repository_root()
        return portable_paths({
            "schema": SCHEMA_VERSION,
            "paper": self.paper,
            "profile": self.profile,
            "parameters": _plain(self.parameters),
            "claims": [c.to_dict() for c in self.claims],
            "figures": _plain(self.figures),
            "extra": _plain(self.extra),
        }, root)

    def table(self):
        """The claims as a pandas DataFrame (for display in the notebook)."""
        import pandas as pd

        rows = [{"claim": c.id, "kind": c.kind, "what": c.description, "paper": c.paper_value,
                 "ours": c.our_value, "rule": c.rule, "verdict": c.verdict, "note": c.note}
                for c in self.claims]
        return pd.DataFrame(rows)

    def write(self, path) -> Path:
        """Write atomically (temp file, fsync, rename) to ``path`` (a file or a directory)."""
        path = Path(path)
        if path.suffix != ".json":
            path = path / "results.json"
        atomic_write_json(path, self.to_dict())
        return path


def _repository_root() -> Optional[Path]:
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else None


def portable_paths(value: Any, root: Optional[os.PathLike] = None) -> Any:
    """``value`` with every string that is an absolute path made machine-independent: a path
    under ``root`` becomes relative to it, a path inside a ``site-packages`` folder becomes
    ``site-packages/<the rest>``; other strings are unchanged.

    Examples
    --------
    >>> portable_paths({"a": ["/repo/results/x.json", "/v/lib/site-packages/skimage/data/a.png", "b"]},
    ...                "/repo")
    {'a': ['results/x.json', 'site-packages/skimage/data/a.png', 'b']}
    """
    root_s = str(Path(root)) if root is not None else None

    def fix(s: str) -> str:
        if not s.startswith("/") or "\n" in s or " " in s.strip():
            return s
        if root_s and (s == root_s or s.startswith(root_s.rstrip("/") + "/")):
            return os.path.relpath(s, root_s)
        marker = "/site-packages/"
        if marker in s:
            return "site-packages/" + s.split(marker, 1)[1]
        return s

    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [portable_paths(v, root) for v in value]
    if isinstance(value, dict):
        return {k: portable_paths(v, root) for k, v in value.items()}
    return value


class RecordError(RelutopoError, ValueError):
    """A results file (``results.json`` or a record ``results/<profile>/<paper>.json``) is
    unreadable or does not follow the results schema; the message names the file and field.

    Examples
    --------
    >>> issubclass(RecordError, ValueError)
    True
    >>> check_results({"paper": 3, "profile": "smoke", "claims": []}, "toy.json")  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.record.RecordError: results file toy.json: field 'paper' must be a ...
    """


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def check_results(data: Any, source: str = "results") -> dict:
    """Check a parsed results file against the schema :meth:`Results.to_dict` writes.

    ``paper`` and ``profile`` strings; ``claims`` a list of objects, each with a string ``id``
    (unique), a ``kind`` (``paper`` or ``self-check``) and a ``verdict`` allowed for it; ``parameters``, ``figures`` (name ->
    object with a string ``path``) and ``extra`` objects when present. Raises
    :class:`RecordError` naming ``source`` and the first field that is wrong.

    Examples
    --------
    >>> check_results({"paper": "toy", "profile": "smoke", "claims": []})["profile"]
    'smoke'
    >>> check_results({"paper": "toy", "profile": "smoke", "claims": [{"id": "a"}]})  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.record.RecordError: results file results: claims[0] ('a') has no field ...
    """
    def bad(field: str, what: str, got: Any = ...) -> RecordError:
        tail = "" if got is ... else f"; got {_kind(got)}"
        return RecordError(f"results file {source}: {field} must be {what}{tail}")

    if not isinstance(data, dict):
        raise bad("the file", "a JSON object with 'paper', 'profile' and 'claims'", data)
    if "claims" not in data:
        raise RecordError(f"results file {source} has no 'claims' list (field 'claims' is missing)")
    for key in ("paper", "profile"):
        if key not in data:
            raise RecordError(f"results file {source}: field '{key}' is missing")
        if not isinstance(data[key], str) or not data[key]:
            raise bad(f"field '{key}'", "a non-empty string", data[key])
    claims = data["claims"]
    if not isinstance(claims, list):
        raise bad("field 'claims'", "a list of claims", claims)
    seen = set()
    for i, c in enumerate(claims):
        if not isinstance(c, dict):
            raise bad(f"claims[{i}]", "an object", c)
        if not isinstance(c.get("id"), str) or not c.get("id"):
            raise bad(f"claims[{i}].id", "a non-empty string", c.get("id"))
        where = f"claims[{i}] ({c['id']!r})"
        if c["id"] in seen:
            raise RecordError(f"results file {source}: {where}: claim id used twice")
        seen.add(c["id"])
        if "verdict" not in c:
            raise RecordError(f"results file {source}: {where} has no field 'verdict'")
        kind = c.get("kind", PAPER)
        if kind not in KINDS:
            raise RecordError(f"results file {source}: {where}.kind must be one of "
                              f"{', '.join(KINDS)}; got {kind!r} (a record written before claims had "
                              "kinds: re-run the notebook)")
        allowed = PAPER_VERDICTS if kind == PAPER else CHECK_VERDICTS
        if c["verdict"] not in allowed:
            raise RecordError(f"results file {source}: {where}.verdict must be one of "
                              f"{', '.join(allowed)} for a {kind} claim; got {c['verdict']!r}")
        for key in ("description", "rule", "note"):
            if c.get(key) is not None and not isinstance(c[key], str):
                raise bad(f"{where}.{key}", "a string", c[key])
        for key in ("atol", "rtol"):
            v = c.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise bad(f"{where}.{key}", "a number or null", v)
        if c.get("figure") is not None and not isinstance(c["figure"], str):
            raise bad(f"{where}.figure", "a figure name or null", c["figure"])
    for key in ("parameters", "figures", "extra"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise bad(f"field '{key}'", "an object", data[key])
    for name, fig in (data.get("figures") or {}).items():
        if not isinstance(fig, dict) or not isinstance(fig.get("path"), str):
            raise bad(f"figures[{name!r}]", "an object with a string 'path'", fig)
    return data


def load_results(path) -> dict:
    """Read one results file, checked against the schema (:func:`check_results`).

    Raises FileNotFoundError when it is missing and :class:`RecordError` (a ValueError) when it
    is not valid JSON or a field is wrong; both messages name the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> _ = path.write_text('{"paper": "toy", "profile": "smoke", "claims": []}')
    >>> load_results(path)["paper"]
    'toy'
    >>> _ = path.write_text("{not json")
    >>> try:
    ...     load_results(path)
    ... except RecordError as exc:
    ...     print(type(exc).__name__, "not valid JSON" in str(exc))
    RecordError True
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"no results file at {path}; run the notebook first "
                                "(relutopo run <paper>)") from None
    except IsADirectoryError:
        raise RecordError(f"results file {path} is a folder, not a JSON file") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"results file {path} is not valid JSON ({exc}); restore it from git "
                          "or re-run the notebook") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"results file {path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise RecordError(f"cannot read results file {path}: {exc.strerror or exc}") from None
    return check_results(data, str(path))
