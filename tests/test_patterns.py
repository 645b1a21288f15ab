"""Packed bit vectors and Hamming distances against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.patterns import hamming_matrix, pack_bits, unpack_bits


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 150), seed=st.integers(0, 10_000))
def test_pack_unpack_round_trip_and_bit_order(n, m, seed):
    bits = np.random.default_rng(seed).random((n, m)) < 0.5
    packed = pack_bits(bits)
    assert packed.shape == (n, (m + 7) // 8)
    assert np.array_equal(unpack_bits(packed, m), bits)
    k = m - 1  # bit k lives in byte k // 8 at position k % 8
    assert np.array_equal((packed[:, k // 8] >> (k % 8)) & 1, bits[:, k].astype(np.uint8))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 20), k=st.integers(1, 15), m=st.integers(1, 200), seed=st.integers(0, 10_000))
def test_hamming_matrix_equals_brute_force(n, k, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((n, m)) < 0.3
    Y = rng.random((k, m)) < 0.6
    brute = (X[:, None, :] != Y[None, :, :]).sum(axis=2)
    assert np.array_equal(hamming_matrix(X, Y), brute)
    assert np.array_equal(hamming_matrix(pack_bits(X), pack_bits(Y), chunk_words=1), brute)
    D = hamming_matrix(X)
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0)


def test_hamming_errors():
    with pytest.raises(ValueError, match="2-D"):
        hamming_matrix(np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match="dtype"):
        hamming_matrix(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="width"):
        hamming_matrix(np.zeros((2, 70), dtype=bool), np.zeros((2, 3), dtype=bool))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 60), m=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_pattern_table_equals_a_dict(n, m, seed):
    from relutopo.patterns import PatternTable

    rng = np.random.default_rng(seed)
    table_bits = np.unique(rng.random((n, m)) < 0.5, axis=0) if n else np.zeros((0, m), dtype=bool)
    queries = rng.random((40, m)) < 0.5
    queries[: min(5, len(table_bits))] = table_bits[:5]
    ref = {row.tobytes(): i for i, row in enumerate(pack_bits(table_bits))}
    expected = [ref.get(row.tobytes(), -1) for row in pack_bits(queries)]
    assert PatternTable(pack_bits(table_bits)).find(pack_bits(queries)).tolist() == expected
    with pytest.raises(ValueError, match="bytes"):
        PatternTable(pack_bits(table_bits)).find(np.zeros((2, 99), dtype=np.uint8))
