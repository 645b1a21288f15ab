"""Bit vectors packed into bytes, and Hamming distances between them by popcount.

Packing is little-endian within a byte (``np.packbits(..., bitorder="little")``), so bit ``k``
of a pattern lives in byte ``k // 8`` at position ``k % 8``. Hamming distances XOR the packed
rows as 64-bit words and count set bits (``np.bitwise_count``); memory is bounded by a chunk of
words, never by ``n^2 * n_bits``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_bits", "unpack_bits", "hamming_matrix", "PatternTable"]


def pack_bits(bits) -> np.ndarray:
    """Pack a bool array ``(..., n_bits)`` into uint8 ``(..., ceil(n_bits / 8))``.

    Examples
    --------
    >>> import numpy as np
    >>> bits = np.array([[1, 0, 1, 1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0]], dtype=bool)
    >>> pack_bits(bits)
    array([[13,  1],
           [ 2,  0]], dtype=uint8)
    """
    bits = np.asarray(bits)
    if bits.dtype != bool:
        bits = bits.astype(bool)
    return np.packbits(bits, axis=-1, bitorder="little")


def unpack_bits(packed, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: bool array ``(..., n_bits)``.

    Examples
    --------
    >>> import numpy as np
    >>> packed = pack_bits(np.array([[True, False, True]]))
    >>> unpack_bits(packed, 3)
    array([[ True, False,  True]])
    """
    packed = np.asarray(packed, dtype=np.uint8)
    return np.unpackbits(packed, axis=-1, count=n_bits, bitorder="little").astype(bool)


def _as_words(packed: np.ndarray) -> np.ndarray:
    """View packed uint8 rows as uint64 words (zero-padded to a multiple of 8 bytes)."""
    n, nbytes = packed.shape
    pad = (-nbytes) % 8
    if pad or not packed.flags.c_contiguous:
        buf = np.zeros((n, nbytes + pad), dtype=np.uint8)
        buf[:, :nbytes] = packed
        packed = buf
    return packed.view(np.uint64)


def _prepare(bits) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.ndim != 2:
        raise ValueError(f"bit vectors must be a 2-D array (points, bits or bytes); got shape {arr.shape}")
    if arr.dtype == bool:
        arr = pack_bits(arr)
    elif arr.dtype == np.uint64:
        return np.ascontiguousarray(arr)
    elif arr.dtype != np.uint8:
        raise ValueError(
            f"bit vectors must be bool (unpacked) or uint8/uint64 (packed); got dtype {arr.dtype}")
    return _as_words(arr)


def hamming_matrix(bits, other=None, *, chunk_words: int = 1 << 15) -> np.ndarray:
    """Pairwise Hamming distances between bit vectors.

    Parameters
    ----------
    bits : array (n, n_bits) bool, or packed (n, n_bytes) uint8 / (n, n_words) uint64
        One bit vector per row (``pack_bits`` output or ``ReluNet.patterns``).
    other : array (m, ...), optional
        Second set, same encoding and width; defaults to ``bits`` (the symmetric case).
    chunk_words : int
        Number of 64-bit words processed at once; peak extra memory is about
        ``n * m * 8`` bytes plus ``(n + m) * chunk_words * 8``.

    Returns
    -------
    D : array (n, m) int64
        ``D[i, j]`` = number of positions where row ``i`` and row ``j`` differ.

    Examples
    --------
    The distance between bit vectors of Liu et al. (Sec. 3), in bits:

    >>> import numpy as np
    >>> bits = np.array([[1, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=bool)
    >>> hamming_matrix(bits)
    array([[0, 1, 3],
           [1, 0, 2],
           [3, 2, 0]])
    >>> hamming_matrix(pack_bits(bits), pack_bits(bits[:1]))
    array([[0],
           [1],
           [3]])
    """
    X = _prepare(bits)
    Y = X if other is None else _prepare(other)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"bit vectors differ in width: {X.shape[1]} vs {Y.shape[1]} words")
    n, m, nw = X.shape[0], Y.shape[0], X.shape[1]
    D = np.zeros((n, m), dtype=np.int64)
    for s in range(0, max(nw, 1), chunk_words):
        xs = X[:, s:s + chunk_words]
        ys = Y[:, s:s + chunk_words]
        if xs.shape[1] == 0:
            break
        for i in range(n):
            D[i] += np.bitwise_count(np.bitwise_xor(ys, xs[i])).sum(axis=1, dtype=np.int64)
    return D


class PatternTable:
    """Vectorised lookup of packed bit vectors: the row index of each query in a fixed table.

    The rows are viewed as fixed-width byte strings, sorted once; :meth:`find` is a
    ``searchsorted`` (``O(log n)`` per query, no Python loop). Rows are assumed distinct (the
    first of equal rows is returned otherwise).

    Parameters
    ----------
    packed : (n, n_bytes) uint8
        Packed bit vectors (:func:`pack_bits`).

    Examples
    --------
    >>> import numpy as np
    >>> table = PatternTable(pack_bits(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)))
    >>> table.find(pack_bits(np.array([[0, 0, 1], [1, 1, 1]], dtype=bool)))
    array([ 2, -1])
    """

    def __init__(self, packed):
        packed = np.ascontiguousarray(packed, dtype=np.uint8)
        if packed.ndim != 2:
            raise ValueError(f"PatternTable needs packed rows (n, n_bytes); got shape {packed.shape}")
        self.n_bytes = packed.shape[1]
        keys = self._keys(packed)
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]

    def _keys(self, packed):
        packed = np.ascontiguousarray(packed, dtype=np.uint8)
        if packed.ndim != 2 or packed.shape[1] != self.n_bytes:
            raise ValueError(f"queries must be packed rows of {self.n_bytes} bytes; got shape {packed.shape}")
        return packed.view(np.dtype((np.void, max(self.n_bytes, 1)))).reshape(-1) if self.n_bytes \
            else np.zeros(len(packed), dtype=np.dtype((np.void, 1)))

    def __len__(self) -> int:
        return int(self._sorted.shape[0])

    def find(self, queries) -> np.ndarray:
        """Row index of each packed query ``(m, n_bytes)`` in the table, ``-1`` if absent."""
        q = self._keys(queries)
        if len(self._sorted) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, q), len(self._sorted) - 1)
        hit = self._sorted[pos] == q
        return np.where(hit, self._order[pos], -1).astype(np.int64)


class GrowingArray:
    """An array appended to along its first axis, grown in place by ``realloc`` (for large
    buffers the kernel remaps pages rather than copying them) by a sixteenth at a time, and
    trimmed the same way when taken: many blocks joined without holding them twice.

    Examples
    --------
    >>> g = GrowingArray((2,), np.int64, capacity=1)
    >>> for k in range(3):
    ...     g.append(np.full((k, 2), k))
    >>> len(g), g.take().tolist()
    (3, [[1, 1], [2, 2], [2, 2]])
    """

    __slots__ = ("_a", "_n")

    def __init__(self, tail, dtype, capacity=1024):
        self._a = np.empty((max(int(capacity), 1),) + tuple(tail), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, x) -> None:
        x = np.asarray(x)
        m = len(x)
        if self._n + m > len(self._a):
            # the buffer is referenced only here (take hands it out once, then forgets it)
            # by a sixteenth: numpy zero-fills what it adds (resident at once), so the slack is
            # kept small; the pages of a large buffer are remapped, not copied
            grown = max(len(self._a) + len(self._a) // 16 + 1024, self._n + m)
            self._a.resize((grown,) + self._a.shape[1:], refcheck=False)
        self._a[self._n:self._n + m] = x
        self._n += m

    def take(self) -> np.ndarray:
        """The ``len(self)`` rows appended, as one array (the buffer itself, trimmed); the
        ``GrowingArray`` is empty afterwards."""
        a, self._a = self._a, np.empty((1,) + self._a.shape[1:], dtype=self._a.dtype)
        a.resize((self._n,) + a.shape[1:], refcheck=False)
        self._n = 0
        return a
