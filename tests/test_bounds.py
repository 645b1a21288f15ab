"""Theorem 2.1 (Wang, IJCAI 2022) and eq. (1.2) as exact rational functions (relutopo.papers.wang.bounds)."""

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given, settings, strategies as st

from relutopo.papers.wang.bounds import (
    k_value, one_layer_regions, part1_upper, part2_bounds, part3_bounds, theorem_2_1)


def test_k_hand_computed_values():
    # K(1,1): l=1 term (1/2)(C(2,0)+C(2,1)) - 1 = 1/2
    assert k_value(1, 1) == Fraction(1, 2)
    # K(2,1): 2 * ((1/2)(1+2) - 1) + ((1/4)(1+3+3) - 1) = 1 + 3/4
    assert k_value(2, 1) == Fraction(7, 4)
    # K(1,2): (1/2)(1+3) - 1 = 1
    assert k_value(1, 2) == Fraction(1)
    # K(2,2): 2 * ((1/2)(1+3) - 1) + ((1/4)(1+4+6) - 1) = 2 + 7/4
    assert k_value(2, 2) == Fraction(15, 4)
    # the l = 0 term vanishes: K(0, n2) = 0
    assert k_value(0, 5) == 0


@settings(max_examples=30, deadline=None)
@given(n2=st.integers(0, 60))
def test_k_one_neuron_first_layer_closed_form(n2):
    # K(1, n2) = (1/2)(1 + (n2 + 1)) - 1 = n2 / 2
    assert k_value(1, n2) == Fraction(n2, 2)


@settings(max_examples=20, deadline=None)
@given(n1=st.integers(1, 12), n2=st.integers(1, 12))
def test_k_by_an_independent_double_sum(n1, n2):
    # swap the order of summation: sum_i sum_{l >= i} C(n1, l) C(n2 + l, i) / 2^l - 2^n1
    other = sum(Fraction(comb(n1, l) * comb(n2 + l, i), 2 ** l)
                for i in range(n1 + 1) for l in range(i, n1 + 1)) - 2 ** n1
    assert k_value(n1, n2) == other


def test_k_at_least_three_to_the_n_over_four():
    # stated in Section 4.1: K(n, n) >= 3^n / 4 for n >= 4
    for n in range(4, 16):
        assert k_value(n, n) >= Fraction(3 ** n, 4)


def test_eq_1_2():
    assert one_layer_regions(10, 7) == 2 ** 10 - comb(10, 8) - comb(10, 9) - comb(10, 10)
    for n in range(1, 8):
        assert one_layer_regions(n, n) == 2 ** n       # M >= n: all 2^n patterns
        assert one_layer_regions(n, 1) == n + 1          # n points cut a line into n + 1 pieces


def test_part1_and_part3_closed_forms():
    assert part1_upper(1) == 3
    assert part1_upper(3) == 1 + 2 * Fraction(9, 16)
    assert part3_bounds(2) == (Fraction(7, 4), Fraction(6 * 175, 64))
    for n in range(2, 20):
        lo, hi = part3_bounds(n)
        assert 1 < lo <= hi
        assert part1_upper(n + 1) < part1_upper(n)


def test_theorem_1_1_follows_from_theorem_2_1():
    # E(N_{2 x n}) > E(N_{1 x 2n}): the best lower bound for n layers of 2 exceeds Part 1's upper
    # bound for 2n layers of 1 (M >= 2)
    for n in range(1, 30):
        lower = max(b.lower for b in theorem_2_1((2,) * n, 2) if b.lower is not None)
        assert lower > part1_upper(2 * n)
    # E(N_{n x 2}) > E(N_{2 x n}) for M >= n, n >= 9: Part 2's lower bound beats Part 3's upper
    for n in range(9, 40):
        assert part2_bounds(n, n)[0] > part3_bounds(n)[1]


def test_theorem_2_1_dispatch():
    parts = {b.part: b for b in theorem_2_1((2, 2), 7)}
    assert set(parts) == {"Theorem 2.1 Part 2", "Theorem 2.1 Part 3"}
    (b,) = theorem_2_1((8, 2), 7)
    assert b.part == "Theorem 2.1 Part 2" and not b.hypothesis_holds     # M = 7 < 8
    assert (b.lower, b.upper) == (k_value(8, 2) + 1, k_value(8, 2) + 256)
    (b,) = theorem_2_1((5, 5), 7)
    assert b.hypothesis_holds
    (b,) = theorem_2_1((6,), 1)
    assert b.lower == b.upper == 7
    assert theorem_2_1((1, 1, 1), 1)[0].upper == part1_upper(3)


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="does not cover"):
        theorem_2_1((5, 3, 2), 7)
    with pytest.raises(ValueError, match="n1 must be >= 1"):
        part2_bounds(0, 3)
    with pytest.raises(TypeError, match="n1 must be an integer"):
        k_value(2.5, 3)
    with pytest.raises(ValueError, match="input_dim must be >= 1"):
        one_layer_regions(3, 0)
    with pytest.raises(ValueError, match="n >= 2|must be >= 2"):
        part3_bounds(1)
