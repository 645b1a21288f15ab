"""Vietoris-Rips persistent homology of a distance matrix, and how we read its barcodes.

Liu et al. (2023), Section 4.1: from a hollow symmetric distance matrix ``D`` build the graphs
``G(t)`` (eq. 13: an edge where ``D_ij <= t``), their clique complexes ``CL(t)``, and the
persistence modules (14) of their homology; each invariant factor is a bar ``[t_b, t_d)``.
:func:`barcodes` computes them with ripser (coefficients in ``F_p``).

Counting "long bars" needs a rule, and the same rule is used for every claim: a bar is *long*
when its length is at least ``fraction`` of the barcode's **scale**, the largest finite death
over all computed dimensions (the filtration value after which only the infinite ``H_0`` bar
survives; for Hamming distances, the largest Hamming scale at which anything happens). Infinite
bars are always long. The rule is scale-free: multiplying ``D`` by a constant changes no count.
``fraction = 0.25`` by default (:data:`LONG_BAR_FRACTION`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# re-exported: relutopo.homology.check_distance_matrix (distances here must be finite)
from .validation import check_distance_matrix

__all__ = ["Barcodes", "barcodes", "long_bar_counts", "betti_numbers", "combine_distances",
           "LONG_BAR_FRACTION"]

#: Default fraction of the barcode scale above which a bar counts as long.
LONG_BAR_FRACTION: float = 0.25


@dataclass(frozen=True, eq=False)
class Barcodes:
    """Persistence barcodes of a Vietoris-Rips filtration.

    Attributes
    ----------
    diagrams : tuple of ndarray
        ``diagrams[k]`` is a ``(n_k, 2)`` float array of ``(birth, death)`` pairs of ``H_k``,
        sorted by decreasing length (infinite deaths are ``inf``, listed first).
    maxdim : int
        Highest homology dimension computed.
    coeff : int
        Prime ``p`` of the coefficient field ``F_p``.
    thresh : float
        Largest filtration value considered (``inf``: the whole filtration).

    Examples
    --------
    >>> import numpy as np
    >>> bc = barcodes(np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 3.0], [3.0, 3.0, 0.0]]), maxdim=0)
    >>> bc[0].tolist(), bc.lengths(0).tolist(), bc.betti(2.0).tolist()
    ([[0.0, inf], [0.0, 3.0], [0.0, 1.0]], [inf, 3.0, 1.0], [2])
    """

    diagrams: tuple
    maxdim: int
    coeff: int
    thresh: float

    def __getitem__(self, k: int) -> np.ndarray:
        return self.diagrams[k]

    def __len__(self) -> int:
        return len(self.diagrams)

    @property
    def scale(self) -> float:
        """Largest finite death over all dimensions (0 when no bar dies)."""
        deaths = [d[np.isfinite(d[:, 1]), 1] for d in self.diagrams]
        deaths = np.concatenate(deaths) if deaths else np.zeros(0)
        return float(deaths.max()) if deaths.size else 0.0

    def lengths(self, k: int) -> np.ndarray:
        """Bar lengths ``death - birth`` of ``H_k`` (``inf`` for infinite bars)."""
        d = self.diagrams[k]
        return d[:, 1] - d[:, 0]

    def long_bars(self, k: int, fraction: float = LONG_BAR_FRACTION) -> np.ndarray:
        """The bars of ``H_k`` whose length is ``>= fraction * scale`` (see the module docstring)."""
        _check_fraction(fraction)
        L = self.lengths(k)
        thr = fraction * self.scale
        keep = np.isinf(L) | ((L >= thr) & (L > 0))
        return self.diagrams[k][keep]

    def n_long(self, k: int, fraction: float = LONG_BAR_FRACTION) -> int:
        """Number of long bars of ``H_k``."""
        return int(len(self.long_bars(k, fraction)))

    def betti(self, epsilon: float) -> np.ndarray:
        """Betti numbers ``b_k`` of the Rips complex ``CL(epsilon)``: bars with ``birth <= eps < death``."""
        return betti_numbers(self, epsilon)


def _check_fraction(fraction) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) \
            or not 0 < float(fraction) <= 1:
        raise ValueError(f"fraction must be a number in (0, 1]; got {fraction!r}")


def barcodes(D, maxdim: int = 1, *, thresh: float = np.inf, coeff: int = 2) -> Barcodes:
    """Vietoris-Rips barcodes ``H_0 .. H_maxdim`` of a distance matrix (Liu et al. Sec. 4.1).

    Parameters
    ----------
    D : array (n, n)
        Hollow, symmetric, non-negative, finite distances (e.g. Hamming distances of bit vectors).
    maxdim : int
        Highest homology dimension (``H_2`` of a torus needs ``maxdim=2``).
    thresh : float
        Stop the filtration at this value; bars alive there get death ``inf``.
    coeff : int
        Prime field of coefficients.

    Returns
    -------
    Barcodes
        One ``(n_k, 2)`` array per dimension, longest bars first.

    Examples
    --------
    Hamming distances of the bit vectors of points on a circle (Liu et al. Sec. 4.1, Fig. 3): one
    long ``H_1`` bar, as for the circle itself. A 2 -> 16 -> 1 network, seeded:

    >>> import numpy as np
    >>> from relutopo import ReluNet, hamming_matrix
    >>> rng = np.random.default_rng(0)
    >>> net = ReluNet.from_weights([rng.normal(size=(16, 2)), rng.normal(size=(1, 16))],
    ...                            [rng.normal(size=16) * 0.3, np.zeros(1)])
    >>> t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    >>> bits = net.bits(np.c_[np.cos(t), np.sin(t)])
    >>> bc = barcodes(hamming_matrix(bits).astype(float), maxdim=1)
    >>> long_bar_counts(bc)
    (1, 1)
    """
    from ripser import ripser

    A = check_distance_matrix(D)
    if isinstance(maxdim, bool) or not isinstance(maxdim, (int, np.integer)) or maxdim < 0:
        raise ValueError(f"maxdim must be an int >= 0; got {maxdim!r}")
    if isinstance(coeff, bool) or not isinstance(coeff, (int, np.integer)) or coeff < 2 \
            or any(coeff % p == 0 for p in range(2, int(coeff ** 0.5) + 1)):
        raise ValueError(f"coeff must be a prime number; got {coeff!r}")
    thresh = float(thresh)
    if not thresh > 0:
        raise ValueError(f"thresh must be > 0; got {thresh}")
    res = ripser(A, maxdim=int(maxdim), thresh=thresh, coeff=int(coeff), distance_matrix=True)
    dgms = []
    for d in res["dgms"]:
        d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
        L = d[:, 1] - d[:, 0]
        order = np.lexsort((d[:, 0], -L))
        dgms.append(np.ascontiguousarray(d[order]))
    return Barcodes(diagrams=tuple(dgms), maxdim=int(maxdim), coeff=int(coeff), thresh=thresh)


def long_bar_counts(bc: Barcodes, fraction: float = LONG_BAR_FRACTION) -> tuple:
    """``(n_long(H_0), ..., n_long(H_maxdim))`` under the rule of the module docstring.

    Examples
    --------
    Twelve evenly spaced points on a circle: all twelve ``H_0`` bars have the same length (every
    one is long) and one ``H_1`` bar, the loop, is long:

    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> long_bar_counts(barcodes(D, maxdim=1))
    (12, 1)
    """
    return tuple(bc.n_long(k, fraction) for k in range(len(bc)))


def betti_numbers(bc: Barcodes, epsilon: float) -> np.ndarray:
    """Betti numbers of ``CL(epsilon)`` from the barcodes: ``#{bars : birth <= eps < death}``.

    Examples
    --------
    Twelve points on the unit circle: one component and one loop at scale 0.6 (``CL(0.6)``):

    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> bc = barcodes(np.linalg.norm(X[:, None] - X[None], axis=-1), maxdim=1)
    >>> betti_numbers(bc, 0.6).tolist(), betti_numbers(bc, 0.1).tolist()
    ([1, 1], [12, 0])
    """
    eps = float(epsilon)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"epsilon must be a finite number >= 0; got {epsilon!r}")
    if eps >= bc.thresh:
        raise ValueError(f"epsilon={eps} is beyond the filtration threshold {bc.thresh}")
    return np.array([int(np.sum((d[:, 0] <= eps) & (eps < d[:, 1]))) for d in bc.diagrams],
                    dtype=np.int64)


def combine_distances(matrices, how: str) -> np.ndarray:
    """Elementwise ``max`` (Boolean **and**) or ``min`` (**or**) of distance matrices (Ex. 4.4).

    ``G^3 = max(G^1, G^2)``: an edge ``i-j`` is in the Rips graph at scale ``t`` only when it is in
    both; ``G^4 = min(G^1, G^2)``: when it is in either. The min of metrics need not satisfy the
    triangle inequality; Vietoris-Rips does not require it.

    Examples
    --------
    >>> import numpy as np
    >>> G1 = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> G2 = np.array([[0.0, 3.0], [3.0, 0.0]])
    >>> combine_distances([G1, G2], "max").tolist(), combine_distances([G1, G2], "min").tolist()
    ([[0.0, 3.0], [3.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    """
    mats = [check_distance_matrix(M, name=f"matrices[{i}]") for i, M in enumerate(matrices)]
    if len(mats) < 1:
        raise ValueError("give at least one distance matrix")
    if len({M.shape for M in mats}) != 1:
        raise ValueError(f"distance matrices differ in shape: {[M.shape for M in mats]}")
    if how == "max":
        return np.maximum.reduce(mats)
    if how == "min":
        return np.minimum.reduce(mats)
    raise ValueError(f"how must be 'max' (and) or 'min' (or); got {how!r}")
