"""Claims: each paper number or statement, our measured value, and a verdict computed from them.

A notebook records its claims in a :class:`Results` and writes them atomically to
``<output_dir>/results.json`` (``relutopo run`` / ``make book`` copy it to
``results/<profile>/<paper>.json``). The verdict is always computed here from the values and the
rule -- a claim is never marked reproduced by hand:

* :func:`numeric_claim` -- ``|ours - paper| <= atol + rtol |paper|`` -> ``reproduced`` else ``differs``;
* :func:`range_claim` -- our value(s) inside the paper's interval (widened by ``atol``);
* :func:`qualitative_claim` -- a statement tested by a boolean computed from our numbers, with the
  statistic that decided it;
* ``comparable=False`` on any of them -> ``not comparable`` (e.g. our ResNet-50 is untrained).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

__all__ = [
    "Claim", "Results", "numeric_claim", "range_claim", "qualitative_claim",
    "atomic_write_json", "atomic_write_bytes", "load_results", "check_results", "RecordError",
    "VERDICTS",
]

REPRODUCED, DIFFERS, NOT_COMPARABLE = "reproduced", "differs", "not comparable"
VERDICTS = (REPRODUCED, DIFFERS, NOT_COMPARABLE)
SCHEMA_VERSION = 1


def _plain(v: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to JSON-friendly Python values."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def _short(v: Any) -> str:
    v = _plain(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True)
class Claim:
    """One paper claim with our value and the computed verdict."""

    id: str
    description: str
    paper_value: Any
    our_value: Any
    verdict: str
    rule: str
    atol: Optional[float] = None
    rtol: Optional[float] = None
    note: str = ""
    figure: Optional[str] = None
    kind: str = "numeric"

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")
        if not self.id or not isinstance(self.id, str):
            raise ValueError("a claim needs a non-empty string id")

    def to_dict(self) -> dict:
        return {k: _plain(v) for k, v in asdict(self).items()}

    def _repr_markdown_(self) -> str:
        """How a claim shows in a notebook: the verdict, then the paper's value beside ours."""
        text = (f"**{self.verdict}** — `{self.id}`: {self.description}. "
                f"Paper: {_short(self.paper_value)}; ours: {_short(self.our_value)} "
                f"(rule: {self.rule}).")
        return text + (f" *{self.note}*" if self.note else "")


def _check_number(name: str, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {v!r}")
    return float(v)


def numeric_claim(id: str, description: str, paper: float, ours: float, *,
                  atol: float = 0.0, rtol: float = 0.0, note: str = "",
                  figure: Optional[str] = None, comparable: bool = True) -> Claim:
    """A number of the paper against ours: reproduced when ``|ours - paper| <= atol + rtol*|paper|``."""
    p = _check_number("paper", paper)
    o = _check_number("ours", ours)
    if atol < 0 or rtol < 0:
        raise ValueError("atol and rtol must be >= 0")
    bound = atol + rtol * abs(p)
    ok = math.isfinite(o) and abs(o - p) <= bound
    rule = f"|ours - paper| <= {bound:.6g}" if bound else "ours == paper"
    verdict = (REPRODUCED if ok else DIFFERS) if comparable else NOT_COMPARABLE
    return Claim(id, description, paper, ours, verdict, rule, atol, rtol, note, figure, "numeric")


def range_claim(id: str, description: str, paper_range: Sequence[float], ours: Any, *,
                atol: float = 0.0, note: str = "", figure: Optional[str] = None,
                comparable: bool = True) -> Claim:
    """Our value (or every value of our ``(lo, hi)`` range) lies in the paper's interval +- atol."""
    lo, hi = (_check_number("paper_range", x) for x in paper_range)
    vals = [ours] if np.isscalar(ours) else list(ours)
    vals = [_check_number("ours", v) for v in vals]
    ok = all(lo - atol <= v <= hi + atol for v in vals)
    rule = f"ours within [{lo - atol:.6g}, {hi + atol:.6g}]"
    verdict = (REPRODUCED if ok else DIFFERS) if comparable else NOT_COMPARABLE
    return Claim(id, description, [lo, hi], ours, verdict, rule, atol, None, note, figure, "range")


def qualitative_claim(id: str, description: str, paper_statement: str, ours: Any, holds: bool,
                      rule: str, *, note: str = "", figure: Optional[str] = None,
                      comparable: bool = True) -> Claim:
    """A statement of the paper tested from our numbers.

    ``ours`` is the statistic that decided it (a number, a pair, a short dict); ``holds`` the
    boolean outcome of ``rule`` evaluated on it; ``rule`` says the test in words.
    """
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds must be a bool computed from the data; got {holds!r}")
    verdict = (REPRODUCED if bool(holds) else DIFFERS) if comparable else NOT_COMPARABLE
    return Claim(id, description, paper_statement, ours, verdict, rule, None, None, note, figure,
                 "qualitative")


@dataclass
class Results:
    """The claims (and figure files) of one notebook run."""

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

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA_VERSION,
            "paper": self.paper,
            "profile": self.profile,
            "parameters": _plain(self.parameters),
            "claims": [c.to_dict() for c in self.claims],
            "figures": _plain(self.figures),
            "extra": _plain(self.extra),
        }

    def table(self):
        """The claims as a pandas DataFrame (for display in the notebook)."""
        import pandas as pd

        rows = [{"claim": c.id, "what": c.description, "paper": c.paper_value,
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


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def atomic_write_json(path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON."""
    text = json.dumps(_plain(obj), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


class RecordError(ValueError):
    """A results file (``results.json`` or a record ``results/<profile>/<paper>.json``) is
    unreadable or does not follow the results schema; the message names the file and field."""


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def check_results(data: Any, source: str = "results") -> dict:
    """Check a parsed results file against the schema :meth:`Results.to_dict` writes.

    ``paper`` and ``profile`` strings; ``claims`` a list of objects, each with a string ``id``
    (unique) and a ``verdict`` among :data:`VERDICTS`; ``parameters``, ``figures`` (name ->
    object with a string ``path``) and ``extra`` objects when present. Raises
    :class:`RecordError` naming ``source`` and the first field that is wrong.
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
        if c["verdict"] not in VERDICTS:
            raise RecordError(f"results file {source}: {where}.verdict must be one of "
                              f"{', '.join(VERDICTS)}; got {c['verdict']!r}")
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
