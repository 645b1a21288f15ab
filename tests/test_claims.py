"""Claims and their rules (relutopo.repro.claims): every rule can fail, its text is generated from
the same arguments as its predicate, and verdicts follow from the rule alone."""

import math

import numpy as np
import pytest

from relutopo.repro.claims import (
    DIFFERS, FAILED, NOT_COMPARABLE, PASSED, REPRODUCED, Claim, Rule, all_of, any_of, at_least,
    close_to, correlation, equals, in_spread, mean_interval, numeric_claim, ordered, paper_claim,
    not_run, range_claim, self_check, two_sample, within)


def test_close_to_holds_and_fails_at_the_bound():
    assert close_to(10.0, 9.0, atol=1.0).holds
    assert not close_to(10.0 + 1e-9, 9.0, atol=1.0).holds
    assert close_to(10.0, 9.0, atol=1.0).text == "|ours - paper| <= 1"
    assert not close_to(float("nan"), 9.0, atol=1.0).holds
    with pytest.raises(ValueError, match="atol"):
        close_to(1.0, 1.0, atol=-1)


def test_within_every_value_and_text():
    assert within([1, 2, 3], 1, 3).holds
    r = within([1, 2, 4], 1, 3)
    assert not r.holds and r.text == "every value of ours within [1, 3]"
    with pytest.raises(ValueError, match="empty interval"):
        within(1, 2, 1)


def test_in_spread_uses_the_stated_percentiles():
    x = np.arange(101.0)
    r = in_spread(x, 4.0, q=(5, 95))
    assert not r.holds and r.value["percentiles"] == [5.0, 95.0]
    assert in_spread(x, 5.0, q=(5, 95)).holds
    assert "5th-95th percentile [5, 95] (n = 101)" in r.text


def test_ordered_increasing_and_decreasing():
    vals = {"a": 1.0, "b": 2.0, "c": 2.0}
    assert not ordered(vals, ["a", "b", "c"]).holds          # ties are not strict
    assert ordered(vals, ["c", "a"], increasing=False).holds
    with pytest.raises(KeyError, match="no value"):
        ordered(vals, ["a", "z"])


def test_correlation_sign_and_power():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    assert correlation(x, y).holds
    assert not correlation(x, y, sign=-1).holds
    assert not correlation(x, rng.normal(size=200)).holds       # independent: not significant
    # three points can never reach p < 0.05 for Spearman: the rule must fail, not pass by luck
    assert not correlation([1, 2, 3], [1, 2, 3]).holds
    assert correlation(x, rng.normal(size=200), sign=0).holds   # "no correlation detected"
    r = correlation(x, y, min_abs=0.99)
    assert not r.holds and "|rho| >= 0.99" in r.text


def test_two_sample_directions_and_same():
    a, b = np.arange(10.0) + 20, np.arange(10.0)
    assert two_sample(a, b).holds and not two_sample(a, b, alternative="less").holds
    assert two_sample(a, b, test="welch").holds
    assert two_sample(a, b, test="ks").holds
    assert not two_sample(a, b, test="ks", alternative="less").holds
    assert not two_sample(a, b, alternative="same").holds
    assert two_sample(a, a + 0.01, alternative="same", test="kruskal").holds
    with pytest.raises(ValueError, match="two-sided"):
        two_sample(a, b, test="kruskal", alternative="greater")


def test_mean_interval_above_below_allows():
    x = np.array([1.0, 1.1, 0.9, 1.05, 0.95])
    assert mean_interval(x, above=0.5).holds and not mean_interval(x, above=1.0).holds
    assert mean_interval(x, allows=1.0).holds and not mean_interval(x, allows=0.0).holds
    assert mean_interval(x, below=2.0).holds
    assert not mean_interval([1.0], above=0.0).holds               # one sample: no interval
    with pytest.raises(ValueError, match="exactly one"):
        mean_interval(x, above=0, below=2)


def test_combinations_text_and_truth():
    r = all_of(at_least(3, 2), equals(1, 2, name="n"))
    assert not r.holds and r.text == "ours >= 2 and n == 2"
    assert any_of(at_least(3, 2), equals(1, 2)).holds


def test_claim_verdicts_follow_the_rule():
    good, bad = at_least(3, 2), at_least(1, 2)
    assert paper_claim("a", "d", 2, good).verdict == REPRODUCED
    c = paper_claim("b", "d", 2, bad, limit="the paper's weights are not available")
    assert c.verdict == DIFFERS and c.explanation.startswith("Limit: ")
    assert paper_claim("c", "d", 2, good, comparable=False).verdict == NOT_COMPARABLE
    assert paper_claim("d", "d", 2, good, finding="x").explanation == ""   # shown only if it differs
    assert self_check("e", "d", good).verdict == PASSED
    assert self_check("f", "d", bad).verdict == FAILED
    with pytest.raises(ValueError, match="not both"):
        paper_claim("g", "d", 2, bad, finding="x", limit="y")
    with pytest.raises(TypeError, match="Rule"):
        paper_claim("h", "d", 2, True)


def test_claim_kind_and_verdict_must_match():
    with pytest.raises(ValueError, match="self-check"):
        Claim("x", "d", None, 1, REPRODUCED, "r", kind="self-check")
    with pytest.raises(ValueError, match="kind"):
        Claim("x", "d", None, 1, PASSED, "r", kind="other")


def test_numeric_and_range_claims_record_their_tolerances():
    c = numeric_claim("n", "d", 100.0, 104.0, atol=5.0)
    assert c.verdict == REPRODUCED and c.test == "numeric" and c.atol == 5.0
    assert numeric_claim("n", "d", 100.0, 106.0, atol=5.0).verdict == DIFFERS
    r = range_claim("r", "d", (0.9, 0.95), [0.91, 0.96], atol=0.0)
    assert r.verdict == DIFFERS and r.paper_value == [0.9, 0.95]
    d = c.to_dict()
    assert d["kind"] == "paper" and math.isclose(d["our_value"], 104.0)


def test_rule_requires_a_boolean():
    with pytest.raises(TypeError):
        Rule("yes", "text")


def test_exact_spearman_p_for_small_samples():
    # n = 3, perfect order: one of the 3! = 6 pairings is as extreme -> p = 1/6 (not scipy's 0)
    r = correlation([1, 2, 3], [10, 20, 30])
    assert math.isclose(r.value["p"], 1 / 6) and not r.holds
    # n = 5, perfect order: p = 1/120 < 0.05
    assert math.isclose(correlation(range(5), range(5)).value["p"], 1 / 120)


def test_not_run_is_not_comparable_and_says_why():
    c = not_run("fig4_x", "a CIFAR-10 statement", "a statement", reason="datasets='mnist'", figure="fig4")
    assert c.verdict == NOT_COMPARABLE and c.our_value is None and c.rule == "not run"
    assert c.kind == "paper" and c.figure == "fig4" and "not run here: datasets='mnist'" in c.explanation
    assert c.to_dict()["verdict"] == NOT_COMPARABLE
    with pytest.raises(ValueError, match="reason"):
        not_run("x", "y", "z", reason=" ")
