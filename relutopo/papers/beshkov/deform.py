"""Topological vs geometric change: the headline test of the relative-homology chapter.

The abstract of Beshkov (arXiv 2502.01360) claims that, "compared to standard persistent
homology", Betti numbers computed as the homology of the input *relative to* (quotiented by) the
overlap decomposition ``O_Phi`` "track purely topological rather than geometric features". We
test it on a data manifold with known topology, two unit circles ``M`` (``beta = (2, 2)``),
mapped by small hand-built ReLU networks ``Phi`` of two kinds:

* **geometric deformations** -- homeomorphisms onto their image (``Phi`` injective), which change
  distances but not topology: :data:`DEFORMATIONS` ``stretch`` (``x1 -> 40 x1``), ``flatten``
  (``x2 -> 0.1 x2``), ``squeeze_one`` (``x1 -> 0.1 x1`` on ``x1 > 0``: one circle only),
  ``shrink`` (``x -> 0.05 x``). ``H_k(Phi(M))`` equals ``H_k(M)``. The stretch must tear the
  Rips complex at the test's scale whatever the sampling: ``n`` evenly spaced points per unit
  circle are ``2 pi / n`` apart, ``40 * 2 pi / n`` after the stretch, more than ``eps = 0.3`` for
  ``n < 838`` (a factor of 8 did so only for ``n < 168``).
* a **topological change** -- ``fold`` (``x1 -> |x1 + 3| - 3``) folds the left circle onto an
  arc and leaves the right one alone, so ``Phi(M)`` has ``beta = (2, 1)``.

For each map we compute (:func:`deformation_test`) the Betti numbers at one fixed scale
``eps`` of (i) the representation by Vietoris--Rips persistence of ``Phi(X)`` (the geometric
method) and (ii) the quotient ``X / O_Phi`` (method (a) of :mod:`relutopo.relative`, input
metric, the same ``eps``). The claim holds when (ii) equals ``H_k(Phi(M))`` for every map while
(i) departs from it under the geometric deformations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relutopo.domains import Box
from relutopo.nets import ReluNet

__all__ = ["two_circles", "deformation_net", "DEFORMATIONS", "TRUE_BETTI", "DEFORM_BOX",
           "DeformationResult", "deformation_test"]

#: Maps of the test: name -> (kind, 2x4 output weights on the hidden units
#: ``relu(x1 + s), relu(-x1 - s), relu(x2), relu(-x2)``, shift ``s``, output bias).
DEFORMATIONS = {
    "stretch": ("geometric", [[40.0, -40.0, 0, 0], [0, 0, 1.0, -1.0]], 0.0, [0.0, 0.0]),
    "flatten": ("geometric", [[1.0, -1.0, 0, 0], [0, 0, 0.1, -0.1]], 0.0, [0.0, 0.0]),
    "squeeze_one": ("geometric", [[0.1, -1.0, 0, 0], [0, 0, 1.0, -1.0]], 0.0, [0.0, 0.0]),
    "shrink": ("geometric", [[0.05, -0.05, 0, 0], [0, 0, 0.05, -0.05]], 0.0, [0.0, 0.0]),
    "fold": ("topological", [[1.0, 1.0, 0, 0], [0, 0, 1.0, -1.0]], 3.0, [-3.0, 0.0]),
}
#: Betti numbers (beta_0, beta_1) of ``Phi(M)`` for each map (by construction).
TRUE_BETTI = {"input": (2, 2), "stretch": (2, 2), "flatten": (2, 2), "squeeze_one": (2, 2),
              "shrink": (2, 2), "fold": (2, 1)}
#: The box the regions are cut to (the data's bounding box plus a margin of 0.5).
DEFORM_BOX = Box([-4.5, -1.5], [4.5, 1.5])


def two_circles(n_per_circle: int, seed: int = 0, centre: float = 3.0) -> np.ndarray:
    """Two unit circles centred at ``(-centre, 0)`` and ``(centre, 0)``, evenly spaced points
    with a seeded random phase per circle (``2 n_per_circle`` points; ``beta = (2, 2)``).

    Examples
    --------
    >>> two_circles(4, seed=0).shape
    (8, 2)
    """
    if isinstance(n_per_circle, bool) or not isinstance(n_per_circle, (int, np.integer)) or n_per_circle < 3:
        raise ValueError(f"n_per_circle must be an int >= 3; got {n_per_circle!r}")
    rng = np.random.default_rng(seed)
    out = []
    for cx in (-centre, centre):
        t = np.arange(n_per_circle) * 2 * np.pi / n_per_circle + rng.uniform(0, 2 * np.pi)
        out.append(np.c_[cx + np.cos(t), np.sin(t)])
    return np.concatenate(out)


def deformation_net(name: str) -> ReluNet:
    """The ``2 -> 4 -> 2`` ReLU network realising the map ``name`` of :data:`DEFORMATIONS`.

    Examples
    --------
    ``fold`` folds ``x1`` at ``-3`` and is the identity on ``x1 > -3``:

    >>> deformation_net("fold").forward(np.array([[-4.0, 0.5], [2.0, -1.0]])).tolist()
    [[-2.0, 0.5], [2.0, -1.0]]
    """
    if name not in DEFORMATIONS:
        raise ValueError(f"name must be one of {sorted(DEFORMATIONS)}; got {name!r}")
    _, W2, s, b2 = DEFORMATIONS[name]
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    b1 = np.array([s, -s, 0.0, 0.0])
    return ReluNet.from_weights([W1, np.array(W2, dtype=float)], [b1, np.array(b2, dtype=float)])


@dataclass(frozen=True)
class DeformationResult:
    """Betti numbers at one scale of one map: ``rips`` of ``Phi(X)``, ``quotient`` of
    ``X / O_Phi``, with the known ``true`` ones, and the number of overlap classes."""

    name: str
    kind: str
    true: tuple
    rips: tuple
    quotient: tuple
    n_classes: int

    @property
    def rips_right(self) -> bool:
        return self.rips == self.true

    @property
    def quotient_right(self) -> bool:
        return self.quotient == self.true


def deformation_test(X, eps: float, names=tuple(DEFORMATIONS)) -> list:
    """Rips vs quotient Betti numbers at scale ``eps`` for each map in ``names``.

    Parameters
    ----------
    X : array (n, 2)
        A sample of the two circles (:func:`two_circles`).
    eps : float
        The one scale at which every Betti number is read (Vietoris--Rips, ripser).

    Returns
    -------
    list of DeformationResult
        First the input itself (``name="input"``), then one per map.

    Examples
    --------
    >>> res = deformation_test(two_circles(40), eps=0.4, names=("stretch", "fold"))
    >>> [(r.name, r.rips, r.quotient) for r in res]
    [('input', (2, 2), (2, 2)), ('stretch', (76, 0), (2, 2)), ('fold', (2, 1), (2, 1))]
    """
    from scipy.spatial.distance import cdist

    from relutopo.overlap import overlap_decomposition
    from relutopo.relative import betti_at, quotient_barcodes, rips_barcodes

    X = np.asarray(X, dtype=np.float64)
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    D = cdist(X, X)

    def betti(diagrams):
        return tuple(int(b) for b in betti_at(diagrams, eps)[:2])

    base = betti(rips_barcodes(D, 1, thresh=2 * eps))
    out = [DeformationResult("input", "none", TRUE_BETTI["input"], base, base, 0)]
    for name in names:
        net = deformation_net(name)
        Y = net.forward(X)
        rips = betti(rips_barcodes(cdist(Y, Y), 1, thresh=2 * eps))
        dec = overlap_decomposition(net, X, domain=DEFORM_BOX)
        last = dec.depths[-1]
        quot = betti(quotient_barcodes(D, last.classes, 1, thresh=2 * eps))
        out.append(DeformationResult(name, DEFORMATIONS[name][0], TRUE_BETTI[name], rips, quot,
                                     last.n_classes))
    return out
