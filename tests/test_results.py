"""Claims and results files: verdicts follow from the numbers (checked with exact rationals),
atomic writes survive interruptions, files round-trip, bad input gives clear errors."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo import atomic as R
from relutopo.atomic import atomic_write_bytes, atomic_write_json
from relutopo.repro.claims import Claim, Rule, numeric_claim, paper_claim, range_claim
from relutopo.repro.record import Results, load_results

small = st.integers(-1000, 1000)


@settings(max_examples=100, deadline=None)
@given(paper=small, ours=small, atol=st.integers(0, 50), rtol_pct=st.integers(0, 50))
def test_numeric_verdict_matches_exact_rational_rule(paper, ours, atol, rtol_pct):
    rtol = rtol_pct / 100
    c = numeric_claim("x", "d", paper, ours, atol=atol, rtol=rtol)
    exact = abs(Fraction(ours) - paper) <= atol + Fraction(rtol_pct, 100) * abs(paper)
    assert c.verdict == ("reproduced" if exact else "differs")


@settings(max_examples=60, deadline=None)
@given(lo=small, width=st.integers(0, 100), ours=st.lists(small, min_size=1, max_size=4),
       atol=st.integers(0, 10))
def test_range_verdict_is_all_values_inside_widened_interval(lo, width, ours, atol):
    hi = lo + width
    c = range_claim("r", "d", (lo, hi), ours if len(ours) > 1 else ours[0], atol=atol)
    inside = all(lo - atol <= v <= hi + atol for v in ours)
    assert c.verdict == ("reproduced" if inside else "differs")


def test_not_comparable_overrides_the_numbers():
    for c in (numeric_claim("a", "d", 1, 1, comparable=False),
              range_claim("b", "d", (0, 1), 0.5, comparable=False),
              paper_claim("c", "d", "s", Rule(True, "rule", 1.0), comparable=False)):
        assert c.verdict == "not comparable"


def test_non_finite_ours_never_reproduces():
    assert numeric_claim("a", "d", 1.0, float("nan"), atol=1e9).verdict == "differs"
    assert numeric_claim("a", "d", 1.0, float("inf"), rtol=1e9).verdict == "differs"


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(paper="12", ours=1), TypeError, "paper must be a number"),
    (dict(paper=1, ours=None), TypeError, "ours must be a number"),
    (dict(paper=1, ours=True), TypeError, "ours must be a number"),
    (dict(paper=1, ours=1, atol=-1), ValueError, "atol and rtol must be finite and >= 0"),
])
def test_numeric_claim_rejects_bad_input(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        numeric_claim("a", "d", **kwargs)


def test_qualitative_claim_is_gone_and_no_chapter_uses_it():
    """Claims say what they test: a rule built from the predicate's own numbers (issue 15), never
    a predicate and its prose written separately."""
    import relutopo.repro.claims as claims

    assert not hasattr(claims, "qualitative_claim")
    root = Path(__file__).resolve().parents[1]
    users = [p.name for p in (root / "notebooks").glob("*.ipynb")
             if "qualitative_claim" in p.read_text()]
    assert not users, f"notebooks still using qualitative_claim: {users}"


def test_claim_validates_verdict_and_id():
    with pytest.raises(ValueError, match="verdict must be one of"):
        Claim("a", "d", 1, 1, "yes", "r")
    with pytest.raises(ValueError, match="non-empty string id"):
        Claim("", "d", 1, 1, "differs", "r")


def test_claim_shows_verdict_and_both_values_in_a_notebook():
    text = numeric_claim("fig2", "regions", 12, 13, atol=0)._repr_markdown_()
    assert "differs" in text and "12" in text and "13" in text and "fig2" in text


def test_results_roundtrip_and_json_safety(tmp_path):
    r = Results("paper_x", "smoke", parameters={"widths": (2, 3), "lr": np.float32(0.5)})
    r.add(numeric_claim("a", "d", 1.0, np.float64(1.0)))
    r.add(paper_claim("b", "d", "s", Rule(False, "corr > 0.5", {"corr": np.float32(0.25),
                                                               "xs": np.arange(3),
                                                               "bad": float("nan")})))
    r.add_figure("f", "figures/f.png", "a caption")
    r.extra["inf"] = float("inf")
    with pytest.raises(ValueError, match="recorded twice"):
        r.add(numeric_claim("a", "d", 2, 2))
    path = r.write(tmp_path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text          # strict JSON
    data = json.loads(text)
    assert data == load_results(path)
    assert data["parameters"] == {"widths": [2, 3], "lr": 0.5}
    b = data["claims"][1]
    assert b["our_value"] == {"corr": 0.25, "xs": [0, 1, 2], "bad": None}
    assert b["verdict"] == "differs"
    assert data["extra"]["inf"] == "inf"
    assert [c["id"] for c in data["claims"]] == ["a", "b"]
    table = r.table()
    assert list(table["claim"]) == ["a", "b"] and list(table["verdict"]) == ["reproduced", "differs"]


def test_load_results_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="relutopo run"):
        load_results(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_results(tmp_path / "bad.json")
    (tmp_path / "noclaims.json").write_text("{}")
    with pytest.raises(ValueError, match="no 'claims'"):
        load_results(tmp_path / "noclaims.json")


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_interrupted_atomic_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch, failing):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"claims": [], "v": 1})
    before = target.read_bytes()

    class Interrupted(BaseException):
        pass

    def boom(*a, **k):
        raise Interrupted()

    if failing == "write":
        real_fdopen = os.fdopen

        class Half:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])   # half of the bytes reach the temp file
                raise Interrupted()

        monkeypatch.setattr(R.os, "fdopen", lambda fd, mode: Half(real_fdopen(fd, mode)))
    elif failing == "fsync":
        monkeypatch.setattr(R.os, "fsync", boom)
    else:
        monkeypatch.setattr(R.os, "replace", boom)
    with pytest.raises(Interrupted):
        atomic_write_json(target, {"claims": [], "v": 2, "pad": "x" * 10000})
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_atomic_write_creates_folders_and_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write_bytes(tmp_path / "a" / "b" / "x.bin", b"abc")
    finally:
        os.umask(old)
    assert p.read_bytes() == b"abc"
    assert (p.stat().st_mode & 0o777) == 0o644


def test_numeric_claim_rule_text_states_the_bound():
    c = numeric_claim("a", "d", 10, 11, atol=0.5, rtol=0.1)
    assert math.isclose(float(c.rule.rsplit(" ", 1)[1]), 1.5)
    assert numeric_claim("a", "d", 3, 3).rule == "ours == paper"
