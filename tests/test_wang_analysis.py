"""relutopo.papers.wang.analysis: mixture identities against direct computation, the NC
attribution on the paper's own numbers, Claim 1's rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.papers.wang.analysis import (arrangement_summary, claim1_margins, combined_tolerance,
                                           implied_constant_fraction, label, mean_se,
                                           nc_attribution, non_constant_moments)
from relutopo.papers.wang.paper import PAPER_NC, PAPER_RANDOM


def test_mean_se_closed_form():
    r = mean_se([2.0, 4.0, 6.0, np.nan])
    assert (r.mean, r.n) == (4.0, 3) and math.isclose(r.se, 2.0 / math.sqrt(3))
    assert math.isnan(mean_se([5.0]).se) and mean_se([]).n == 0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(5, 300), p=st.floats(0.0, 0.9))
def test_non_constant_moments_equal_direct_computation(seed, n, p):
    rng = np.random.default_rng(seed)
    k = int(round(p * n))
    others = rng.integers(2, 60, size=n - k).astype(float)
    x = np.concatenate([np.ones(k), others])
    frac = k / n
    m, s = non_constant_moments(x.mean(), x.std(ddof=0), frac)
    assert math.isclose(m, others.mean(), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(s, others.std(ddof=0), rel_tol=1e-6, abs_tol=1e-6)
    assert math.isclose(implied_constant_fraction(x.mean(), others.mean()), frac, abs_tol=1e-9)


def test_impossible_moments_give_nan_and_bad_fractions_are_errors():
    assert math.isnan(non_constant_moments(8.0, 6.07, implied_constant_fraction(8.0, 34.0))[1])
    with pytest.raises(ValueError, match="constant fraction p"):
        non_constant_moments(8.0, 6.0, 1.0)
    with pytest.raises(ValueError, match="nc_mean must exceed 1"):
        implied_constant_fraction(1.0, 1.0)


def test_the_papers_nc_numbers_belong_to_the_3_3_2_2_row():
    t = nc_attribution(PAPER_RANDOM, PAPER_NC).set_index("arrangement")
    fits = t[(t["implied P(constant)"] >= 0) & (t["implied P(constant)"] < 1)
             & (t["|implied - printed NC sd|"] < 0.01)]
    assert list(fits.index) == ["(3, 3, 2, 2)"]
    assert math.isclose(t.loc["(3, 3, 2, 2)", "implied P(constant)"], 2.65 / 33)
    # (2,2,2,2,2) would need ~79 % constant networks and no deviation fits
    assert t.loc["(2, 2, 2, 2, 2)", "implied P(constant)"] > 0.78
    assert math.isnan(t.loc["(2, 2, 2, 2, 2)", "implied NC sd"])


def test_arrangement_summary_on_a_small_frame():
    df = pd.DataFrame({"arrangement": [(2, 2)] * 4 + [(3,)] * 2,
                       "n_linear": [1, 3, 5, 1, 4, 4], "n_activation": [2, 3, 6, 4, 4, 4],
                       "constant": [True, False, False, True, False, False]})
    s = arrangement_summary(df, [(2, 2), (3,)]).set_index("arrangement")
    row = s.loc["(2, 2)"]
    assert row["networks"] == 4 and row["mean"] == 2.5 and row["NC mean"] == 4.0
    assert row["P(constant)"] == 0.5 and row["P(one linear region)"] == 0.5
    assert math.isclose(row["mean ratio"], np.mean([0.5, 1.0, 5 / 6, 0.25]))
    assert s.loc["(3)", "NC networks"] == 2 and s.loc["(3)", "sd"] == 0.0


def test_combined_tolerance_and_label():
    assert math.isclose(combined_tolerance(3.0, 4.0 * 10, 100, k=2.0), 2 * 5.0)
    assert combined_tolerance(float("nan"), 1.0, 4) == 0.0
    assert label((8, 2)) == "(8, 2)"


def test_claim1_margins_find_the_closest_pair():
    rng = np.random.default_rng(0)
    good = {(8, 2): rng.normal(600, 50, 200), (5, 3, 2): rng.normal(180, 50, 200),
            (2, 2, 2, 2, 2): rng.normal(8, 5, 200)}
    m = claim1_margins(good)
    assert m.n_pairs == 3 and m.pair == "(5, 3, 2) > (2, 2, 2, 2, 2)" and m.smallest > 2
    a, b = good[(5, 3, 2)], good[(2, 2, 2, 2, 2)]
    se = math.hypot(a.std(ddof=1) / math.sqrt(200), b.std(ddof=1) / math.sqrt(200))
    assert math.isclose(m.smallest, (a.mean() - b.mean()) / se)
    bad = {**good, (5, 3, 2): rng.normal(700, 50, 200)}
    m = claim1_margins(bad)
    assert m.smallest < -2 and m.pair == "(8, 2) > (5, 3, 2)"
    assert math.isnan(claim1_margins({(8, 2): [3.0], (4, 4, 2): [1.0, 2.0]}).smallest)
    with pytest.raises(ValueError, match="two depths"):
        claim1_margins({(8, 2): [1, 2], (5, 5): [1, 2]})
