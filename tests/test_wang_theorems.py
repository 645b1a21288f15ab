"""relutopo.papers.wang.theorems: Theorem 1.1's comparisons, Theorem 3.1's count and our
construction, counted by the engine, by Wang's Intersect/Add/Cut and, in one dimension, by a
dense scan of the activation patterns along the line."""

from __future__ import annotations

import numpy as np
import pytest

from relutopo.papers.wang.theorems import (theorem_1_1, theorem_3_1_count,
                                           theorem_3_1_network)
from relutopo.papers.wang.sweeps import count_regions


def test_theorem_1_1_compares_the_stated_arrangements():
    a, b = theorem_1_1(3, 7)
    assert (a.more, a.fewer, a.hypothesis_holds) == ((2, 2, 2), (1,) * 6, True)
    assert (b.more, b.fewer, b.hypothesis_holds) == ((3, 3), (2, 2, 2), False)   # needs n >= 9
    assert theorem_1_1(9, 9)[1].hypothesis_holds and not theorem_1_1(9, 8)[1].hypothesis_holds
    assert len(theorem_1_1(1, 2)) == 1
    with pytest.raises(ValueError, match="n must be a positive integer"):
        theorem_1_1(0, 7)


def test_theorem_3_1_count_and_hypotheses():
    assert theorem_3_1_count(2, (4, 6, 3)) == (2 * 3) ** 2
    assert theorem_3_1_count(3, (9, 6, 3)) == (3 * 2) ** 3
    assert theorem_3_1_count(1, (5,)) == 1                       # empty product
    with pytest.raises(ValueError, match="n_i >= n_0"):
        theorem_3_1_count(3, (2, 3))
    with pytest.raises(ValueError, match="odd"):
        theorem_3_1_count(2, (4, 4))


CASES = [(1, (3, 1)), (1, (2, 3, 1)), (1, (4, 2, 5)), (1, (2, 2, 2, 2, 1)), (2, (4, 6, 3)),
         (2, (6, 4, 2)), (2, (5, 4, 7)), (3, (6, 6, 3)), (1, (5,)), (2, (4, 2))]


@pytest.mark.parametrize("n0, hidden", CASES)
def test_construction_has_as_many_linear_as_activation_regions(n0, hidden):
    net = theorem_3_1_network(n0, hidden)
    assert net.input_dim == n0 and net.hidden_sizes == tuple(hidden)
    want = theorem_3_1_count(n0, hidden)
    for method in ("engine", "wang"):
        c = count_regions(net, method)
        assert (c["n_activation"], c["n_linear"]) == (want, want), method


@pytest.mark.parametrize("hidden", [(3, 1), (2, 3, 1), (4, 2, 5), (2, 2, 2, 2, 1), (3, 3, 3)])
def test_one_dimensional_construction_by_a_dense_scan(hidden):
    # independent of both algorithms: walk along the line, count pattern changes, and check that
    # the slope changes at every change (each activation region is its own linear region)
    net = theorem_3_1_network(1, hidden)
    x = np.linspace(-3.0, 4.0, 400_001)[:, None]
    P = net.patterns(x)
    change = np.flatnonzero(np.any(P[1:] != P[:-1], axis=1))
    runs = len(change) + 1
    assert runs == theorem_3_1_count(1, hidden)
    y = net.forward(x)[:, 0]
    slopes = np.diff(y) / np.diff(x[:, 0])
    starts = np.concatenate([[0], change + 1])
    ends = np.concatenate([change, [len(x) - 1]])
    piece = [np.median(slopes[s:e]) for s, e in zip(starts, ends)]   # interior slope per run
    assert all(abs(a - b) > 1e-6 for a, b in zip(piece[:-1], piece[1:]))
    assert all(abs(s) > 1e-9 for s in piece)                           # never flat


def test_a_generic_network_of_the_same_widths_is_not_such_a_witness():
    # the claim can fail: generic weights of the same widths give another count
    from relutopo.papers.wang.sweeps import uniform_net

    c = count_regions(uniform_net([2, 4, 6, 3, 1], seed=0))
    assert (c["n_activation"], c["n_linear"]) != (36, 36)


def test_construction_scope_is_stated():
    with pytest.raises(ValueError, match="floor\\(n_i / n_0\\) >= 2"):
        theorem_3_1_network(2, (3, 4, 3))
