"""The compiled Chebyshev centres' choice of polyhedra for basis enumeration
(:func:`relutopo.kernels.centres._enumerable`) against the numpy solver's rule
(:func:`relutopo.chebyshev._centres`, written out below as it is there)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

SETTINGS = dict(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _numpy_rule(m_live, empty, d, enumerate_max):
    """The mask that ``relutopo.chebyshev._centres`` enumerates: sort the non-empty polyhedra
    by live row count, keep those with ``m >= d`` and at most ``enumerate_max`` bases, take them
    when their number times the last one's count is within ``ENUMERATE_BUDGET``."""
    from relutopo.chebyshev import ENUMERATE_BUDGET, _n_bases

    enum = np.zeros(len(m_live), dtype=np.bool_)
    order = (~empty).nonzero()[0]
    order = order[m_live[order].argsort(kind="stable")]
    if order.size:
        nbases = _n_bases(m_live[order], d)
        few = (m_live[order] >= d) & (nbases <= enumerate_max)
        sel = order[few]
        if sel.size and sel.size * int(nbases[few][-1]) <= ENUMERATE_BUDGET:
            enum[sel] = True
    return enum


@settings(**SETTINGS)
@given(n=st.integers(1, 3000), top=st.sampled_from([3, 5, 10, 40, 300]), d=st.integers(0, 2),
       p_empty=st.sampled_from([0.0, 0.2, 1.0]), slack=st.integers(0, 5),
       enumerate_max=st.sampled_from([1, 2, 4, 10, 64, 100, 3000, 10**6, 2**62, 2**63 + 5]),
       seed=st.integers(0, 2**31))
def test_enumerable_is_the_numpy_rule(n, top, d, p_empty, slack, enumerate_max, seed):
    """Same polyhedra (``None`` for none) for any row counts, empty flags, ``d <= 2`` and
    ``enumerate_max`` (including ones beyond the 2^62 cap of the counts and beyond int64)."""
    from relutopo.kernels.centres import _enumerable

    rng = np.random.default_rng(seed)
    m_live = rng.integers(0, top, n).astype(np.int64)
    empty = rng.random(n) < p_empty
    got = _enumerable(m_live, empty, d, enumerate_max, int(m_live.max()) + slack)
    want = _numpy_rule(m_live, empty, d, enumerate_max)
    assert np.array_equal(np.zeros(n, dtype=np.bool_) if got is None else got, want)
