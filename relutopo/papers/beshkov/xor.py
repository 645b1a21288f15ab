"""The paper's two hand-built XOR networks: one solves XOR through *rank*, one through *overlap*.

Beshkov (arXiv 2502.01360) splits the equivalence ``x ~ x'  <=>  Phi(x) = Phi(x')`` into two
sources: a region ``G_J`` whose local map ``Phi_J`` has rank below the input dimension squeezes
points of *one* region together (the **rank** source), and the images of *different* regions may
intersect (the **overlap** source, ``O_Phi``). The author's ``analysis/XOR_examples.py`` (GitHub
``KBeshkov/QuotientHomology``) builds one network for each on the four XOR points; the weights
below are the published ones (facts, re-typed here). Class 0 is ``{(0,0), (1,1)}``, class 1
``{(1,0), (0,1)}``; a network "solves" XOR when the two points of a class are glued.

* :func:`rank_xor_net` ``2 -> 2 -> 1``: ``(0,0)`` and ``(1,1)`` have the same pattern (both
  units off): one region, local rank 0, both sent to the origin.
* :func:`overlap_xor_net` ``2 -> 4 -> 2 (-> 2)``: ``(0,0)`` and ``(1,1)`` are in different
  regions at every depth, and at the second hidden layer the images of their regions meet (both
  at the origin). The author plots the second hidden layer and leaves its ``2 -> 1`` output layer
  at random initialisation; we append the identity, so that our output *is* that representation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.overlap import overlap_decomposition

__all__ = ["XOR_POINTS", "XOR_LABELS", "XOR_BOX", "rank_xor_net", "overlap_xor_net",
           "XorMechanism", "xor_mechanism"]

#: The four XOR points in the author's order: class 0 first, then class 1.
XOR_POINTS = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
#: Their labels.
XOR_LABELS = np.array([0, 0, 1, 1])
#: The box of the author's region plots, ``[-0.1, 1.1]^2``.
XOR_BOX = Box(-0.1, 1.1, dim=2)


def rank_xor_net() -> ReluNet:
    """The author's rank solution ``2 -> 2 -> 1`` (``XOR_examples.py``, first cell).

    Examples
    --------
    >>> rank_xor_net().forward(XOR_POINTS).ravel().tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    return ReluNet.from_weights([np.array([[-1.0, 1.0], [1.0, -1.0]]), np.array([[2.0, 2.0]])],
                                [np.array([-0.5, -0.5]), np.array([0.0])])


def overlap_xor_net() -> ReluNet:
    """The author's overlap solution ``2 -> 4 -> 2``, with the identity as output layer.

    Examples
    --------
    The second hidden layer (the author's plotted representation) sends class 0 to the origin
    and class 1 to the two unit vectors:

    >>> overlap_xor_net().forward(XOR_POINTS).tolist()
    [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    W1 = np.array([[2.0, 1.0], [1.0, 2.0], [-2.0, -1.0], [-1.0, -2.0]])
    b1 = np.array([-0.5, -0.5, 2.5, 2.5])
    W2 = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    return ReluNet.from_weights([W1, W2, np.eye(2)], [b1, np.zeros(2), np.zeros(2)])


@dataclass(frozen=True)
class XorMechanism:
    """How a network glues the two points of XOR class 0, depth by depth.

    Attributes
    ----------
    regions : list of int arrays (4,)
        Region label of each XOR point at depths ``1..L+1``.
    ranks : list of int arrays (4,)
        Local rank of ``Phi_J`` at each point's region, per depth (the rank classes).
    overlap : list of int arrays (4,)
        Overlap class of each point per depth (``-1``: none), from
        :func:`relutopo.overlap.overlap_decomposition` in :data:`XOR_BOX`.
    output : array (4, k)
        The network's output.
    """

    regions: list
    ranks: list
    overlap: list
    output: np.ndarray

    def glued_by_rank(self, i: int = 0, j: int = 1) -> bool:
        """Points ``i, j`` share one region of rank 0 at some depth (so they have one image)."""
        return any(r[i] == r[j] and k[i] == 0 for r, k in zip(self.regions, self.ranks))

    def glued_by_overlap(self, i: int = 0, j: int = 1) -> bool:
        """Points ``i, j`` lie in different regions at every depth and share an overlap class."""
        apart = all(r[i] != r[j] for r in self.regions)
        return bool(apart and any(o[i] >= 0 and o[i] == o[j] for o in self.overlap))

    def same_image(self, i: int = 0, j: int = 1) -> bool:
        return bool(np.allclose(self.output[i], self.output[j]))


def xor_mechanism(net: ReluNet, X=XOR_POINTS, domain: Box = XOR_BOX) -> XorMechanism:
    """Regions, local ranks and overlap classes of the XOR points at every depth of ``net``.

    Examples
    --------
    The two networks of the paper's XOR figure (``XOR_examples.py``):

    >>> m = xor_mechanism(rank_xor_net())
    >>> m.glued_by_rank(), m.glued_by_overlap()
    (True, False)
    >>> m = xor_mechanism(overlap_xor_net())
    >>> m.glued_by_rank(), m.glued_by_overlap()
    (False, True)
    """
    dec = overlap_decomposition(net, X, domain=domain)
    regions = [d.labels.copy() for d in dec.depths]
    ranks = [d.rank_classes() for d in dec.depths]
    overlap = [d.class_labels.copy() for d in dec.depths]
    return XorMechanism(regions, ranks, overlap, net.forward(X))
