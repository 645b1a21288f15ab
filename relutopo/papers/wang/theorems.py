"""Theorems 1.1 and 3.1 of Wang (IJCAI 2022) in testable form.

**Theorem 1.1.** ``N_{k x l}`` has ``l`` hidden layers of ``k`` neurons; weights and biases
independent with even continuous densities, one output, input dimension ``M``:

(a) ``E(N_{2 x n}) > E(N_{1 x 2n})`` for all ``M >= 2``, ``n >= 1``;
(b) ``E(N_{n x 2}) > E(N_{2 x n})`` for all ``M >= n``, ``n >= 9``.

:func:`theorem_1_1` lists, for one ``n``, the two arrangements each part compares.

**Theorem 3.1.** For positive integers ``L, n_0, n_1, ..., n_L`` with ``n_i >= n_0`` and
``floor(n_L / n_0)`` odd there is a network with hidden widths ``n_1, ..., n_L`` (input dimension
``n_0``) whose activation regions are exactly its linear regions, and there are
``prod_{i=1}^{L-1} floor(n_i / n_0)^{n_0}`` of them (:func:`theorem_3_1_count`).

The paper's construction is in its appendix, which our copy does not contain;
:func:`theorem_3_1_network` builds one of ours in the same spirit (Montufar et al. 2014, Thm 4:
separate the input coordinates and fold each of them in every layer), whose numbers of
activation and linear regions can then be counted by the engine:

* input coordinate ``j`` gets its own block of ``p_i = floor(n_i / n_0)`` neurons in every hidden
  layer (the ``n_i - n_0 p_i`` others are dead: zero weights, bias -1);
* layers ``1 .. L-2`` **fold**: a block computes the ``p``-piece zigzag ``g`` of its scalar input
  ``y`` (the previous block's zigzag, or ``x_j`` in layer 1) with breakpoints
  ``tau_m = 1/4 + m / (2p)``, ``m = 1..p-1``, values alternating 0, 1, 0, ... at them and slope
  ``+-2p`` everywhere, so that every piece maps onto an interval containing ``[1/4, 3/4]``, where
  all breakpoints of the next layer lie: every piece of the previous layers is cut into ``p``;
  ``p`` pieces take ``p`` neurons because the first breakpoint is made by the pair
  ``relu(y - tau_1)``, ``relu(tau_1 - y)``, which also carries the linear part over all of R;
* layer ``L-1`` folds with a **convex** ``p``-piece function (slopes ``m - (p-1)/2 - 1/3``,
  increasing, never 0) at the same breakpoints: bounded below, so that
* layer ``L`` passes it on unchanged: ``relu(g + C)`` with ``C = 1 - min g`` is active everywhere
  and cuts nothing (the block's other neurons are dead);
* the output adds the blocks: ``F(x) = sum_j (j + 1) relu(g_j(x_j) + C_j)``.

Every kink of every composed zigzag is a change of slope (slopes are never 0), and two cells
that meet differ in the piece of some coordinate, hence in the slope of ``F`` along it: no two
neighbouring activation regions have the same affine map, and the count is
``prod_{i=1}^{L-1} p_i`` per coordinate. The construction needs ``p_i >= 2`` for the folding
layers ``i <= L-1``; it does not use the parity of ``p_L``. With ``L = 1`` the network is
constant (one region), as the formula's empty product says.

Examples
--------
>>> theorem_3_1_count(2, (4, 6, 3))
36
>>> net = theorem_3_1_network(1, (3, 1))
>>> [float(net.forward(np.array([[t]]))[0, 0]) for t in (0.3, 0.5, 0.7)]   # 3 pieces, convex
[1.211111111111111, 1.0277777777777777, 1.077777777777778]
>>> [c.part for c in theorem_1_1(9, 9)]
['Theorem 1.1 (a)', 'Theorem 1.1 (b)']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["TheoremComparison", "theorem_1_1", "theorem_3_1_count", "theorem_3_1_network"]


def _positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer; got {v!r}")
    return int(v)


@dataclass(frozen=True)
class TheoremComparison:
    """One inequality of Theorem 1.1: ``E(more) > E(fewer)`` for random networks in ``R^M``.

    ``more``/``fewer`` are hidden-layer widths; ``hypothesis_holds`` says whether ``input_dim``
    and ``n`` meet the part's assumptions (the comparison can be made either way).

    Examples
    --------
    >>> c = theorem_1_1(2, 1)[0]
    >>> c.part, c.more, c.fewer, c.hypothesis_holds
    ('Theorem 1.1 (a)', (2, 2), (1, 1, 1, 1), False)
    """

    part: str
    n: int
    input_dim: int
    more: tuple
    fewer: tuple
    hypothesis: str
    hypothesis_holds: bool


def theorem_1_1(n: int, input_dim: int) -> tuple:
    """The comparisons of Theorem 1.1 for ``n``: (a) ``2 x n`` (``n`` layers of 2) against
    ``1 x 2n`` (``2n`` layers of 1), and (b) ``n x 2`` (2 layers of ``n``) against ``2 x n``
    (only for ``n >= 2``, where the two differ).

    Examples
    --------
    Wang's Theorem 1.1 for ``n = 3``: three layers of two neurons beat six layers of one, and two
    layers of three beat three layers of two (in expectation, for random networks):

    >>> [(c.part, c.more, c.fewer) for c in theorem_1_1(3, 1)]
    [('Theorem 1.1 (a)', (2, 2, 2), (1, 1, 1, 1, 1, 1)), ('Theorem 1.1 (b)', (3, 3), (2, 2, 2))]
    """
    n = _positive_int("n", n)
    M = _positive_int("input_dim", input_dim)
    out = [TheoremComparison("Theorem 1.1 (a)", n, M, (2,) * n, (1,) * (2 * n), "M >= 2, n >= 1",
                             M >= 2)]
    if n >= 2:
        out.append(TheoremComparison("Theorem 1.1 (b)", n, M, (n, n), (2,) * n,
                                     f"M >= n = {n}, n >= 9", M >= n and n >= 9))
    return tuple(out)


def _widths(input_dim, hidden):
    n0 = _positive_int("input_dim (n_0)", input_dim)
    hidden = tuple(_positive_int("hidden widths", h) for h in hidden)
    if not hidden:
        raise ValueError("hidden must give at least one hidden-layer width (n_1, ..., n_L); got ()")
    small = [h for h in hidden if h < n0]
    if small:
        raise ValueError(f"Theorem 3.1 needs n_i >= n_0 = {n0} for every hidden layer; got "
                         f"hidden={hidden}")
    if (hidden[-1] // n0) % 2 == 0:
        raise ValueError(f"Theorem 3.1 needs floor(n_L / n_0) odd; got n_L = {hidden[-1]}, "
                         f"n_0 = {n0}, floor = {hidden[-1] // n0}")
    return n0, hidden


def theorem_3_1_count(input_dim: int, hidden: Sequence[int]) -> int:
    """``prod_{i=1}^{L-1} floor(n_i / n_0)^{n_0}``: the number of activation regions, equal to the
    number of linear regions, of Theorem 3.1's network (checks the theorem's hypotheses).

    Examples
    --------
    Theorem 3.1 of Wang: ``floor(n_i / n_0)^{n_0}`` regions per hidden layer but the last:

    >>> theorem_3_1_count(1, (4, 4, 1)), theorem_3_1_count(2, (4, 6, 2))
    (16, 36)
    """
    n0, hidden = _widths(input_dim, hidden)
    out = 1
    for h in hidden[:-1]:
        out *= (h // n0) ** n0
    return out


def _fold(p: int, convex: bool):
    """Breakpoints ``tau``, neuron (slope, offset) pairs in ``y`` and the combination
    ``g = sum c_k relu(u_k y + d_k) + e`` of a ``p``-piece fold (see the module docstring)."""
    tau = np.array([0.25 + m / (2 * p) for m in range(1, p)])
    if convex:
        slopes = np.array([m - (p - 1) / 2 - 1 / 3 for m in range(p)])
    else:
        levels = np.array([0.0 if m % 2 else 1.0 for m in range(1, p)])  # v_1 = 0, v_2 = 1, ...
        slopes = np.empty(p)
        slopes[0] = -2.0 * p
        slopes[1:p - 1] = np.diff(levels) / np.diff(tau) if p > 2 else []
        slopes[p - 1] = 2.0 * p if levels[-1] == 0.0 else -2.0 * p
    # neurons: relu(y - tau_1), relu(tau_1 - y), relu(y - tau_k) for k = 2 .. p-1
    u = np.array([1.0, -1.0] + [1.0] * (p - 2))
    d = np.concatenate([[-tau[0], tau[0]], -tau[1:]])
    c = np.empty(p)
    c[1] = -slopes[0]
    c[0] = slopes[1]
    for k in range(2, p):
        c[k] = slopes[k] - slopes[k - 1]
    e = 0.0                                                                 # g(tau_1) = 0
    return tau, u, d, c, e, slopes


def theorem_3_1_network(input_dim: int, hidden: Sequence[int]) -> ReluNet:
    """A network for Theorem 3.1: hidden widths ``hidden`` in ``R^{input_dim}``, whose
    activation regions are its linear regions, ``theorem_3_1_count(input_dim, hidden)`` of them
    (our construction; see the module docstring for it and its scope: ``floor(n_i / n_0) >= 2``
    for ``i <= L-1``).

    Examples
    --------
    The construction's activation regions are its linear regions, as many as the count says:

    >>> from relutopo import decompose, linear_regions
    >>> net = theorem_3_1_network(1, (4, 4, 1))
    >>> dec = decompose(net)
    >>> dec.n_regions, linear_regions(dec).n_linear, theorem_3_1_count(1, (4, 4, 1))
    (16, 16, 16)
    """
    n0, hidden = _widths(input_dim, hidden)
    L = len(hidden)
    p = [h // n0 for h in hidden]
    if L > 1 and min(p[:-1]) < 2:
        raise ValueError(
            f"our construction for Theorem 3.1 folds with floor(n_i / n_0) >= 2 pieces in every "
            f"layer i <= L-1; got floor = {p[:-1]} for hidden={hidden}, n_0={n0} (the paper's own "
            "construction, in its appendix, is not in our copy)")
    weights, biases = [], []
    prev_w = n0
    # (coefficients, constant) of each block's scalar output in terms of the previous layer
    comb = [(np.eye(n0)[j], 0.0) for j in range(n0)]          # layer 0: y_j = x_j
    if L == 1:
        W = np.zeros((hidden[0], n0))
        weights.append(W)
        biases.append(np.ones(hidden[0]))                      # all active, constant: 1 region
        weights.append(np.ones((1, hidden[0])))
        biases.append(np.zeros(1))
        return ReluNet.from_weights(weights, biases)
    for i in range(L - 1):
        pi, width = p[i], hidden[i]
        W = np.zeros((width, prev_w))
        b = np.full(width, -1.0)                               # dead unless set below
        new_comb = []
        for j in range(n0):
            tau, u, d, c, e, slopes = _fold(pi, convex=(i == L - 2))
            coef, const = comb[j]
            rows = slice(j * pi, (j + 1) * pi)
            W[rows] = u[:, None] * coef[None, :]
            b[rows] = u * const + d
            out = np.zeros(width)
            out[rows] = c
            new_comb.append((out, e))
        weights.append(W)
        biases.append(b)
        comb, prev_w = new_comb, width
    # the last fold is convex: its minimum is at a breakpoint; pass it on with relu(g + C)
    tau, u, d, c, e, slopes = _fold(p[L - 2], convex=True)
    values = np.concatenate([[0.0], np.cumsum(slopes[1:-1] * np.diff(tau))]) if len(tau) > 1 else np.zeros(1)
    shift = 1.0 - float(values.min())
    W = np.zeros((hidden[-1], prev_w))
    b = np.full(hidden[-1], -1.0)
    out_w = np.zeros((1, hidden[-1]))
    for j in range(n0):
        coef, const = comb[j]
        k = j * p[-1]
        W[k] = coef
        b[k] = const + shift
        out_w[0, k] = j + 1.0
    weights += [W, out_w]
    biases += [b, np.zeros(1)]
    return ReluNet.from_weights(weights, biases)
