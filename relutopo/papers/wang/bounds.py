"""Closed-form counts and bounds on the expected number of linear regions (Wang, IJCAI 2022).

All values are exact rationals (:class:`fractions.Fraction`); convert with ``float`` for plots.

* eq. (1.2): one hidden layer of ``n`` neurons in generic position in ``R^M`` has
  ``Σ_{i=0}^{M} C(n, i)`` linear regions (Zaslavsky's count of a generic hyperplane arrangement);
* Theorem 2.1, Part 1: ``n`` hidden layers of 1 neuron, ``M >= 1``: ``E(N) <= 1 + 2 (3/4)^{n-1}``;
* Theorem 2.1, Part 2: hidden layers ``(n1, n2)``, ``M >= max(n1, n2)``:
  ``K(n1, n2) + 1 <= E(N) <= K(n1, n2) + 2^{n1}`` (eq. 2.1) with
  ``K(n1, n2) = Σ_{l=0}^{n1} C(n1, l) (2^{-l} Σ_{i=0}^{l} C(n2 + l, i) - 1)``;
* Theorem 2.1, Part 3: ``n >= 2`` hidden layers of 2 neurons, ``M >= 2``:
  ``1 + (3/4)^{n-1} <= E(N) <= 6 (175/64)^{n-1}``.

The theorem assumes independent weights and biases with even continuous densities (e.g.
U(-1, 1)) and one output neuron. :func:`theorem_2_1` picks the part that applies to an
arrangement and says whether its hypothesis on ``M`` holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Optional, Sequence

__all__ = [
    "one_layer_regions", "part1_upper", "k_value", "part2_bounds", "part3_bounds",
    "TheoremBounds", "theorem_2_1",
]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(f"{name} must be an integer; got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def one_layer_regions(n: int, input_dim: int) -> int:
    """Eq. (1.2): regions of ``n`` generic hyperplanes in ``R^M``, ``Σ_{i=0}^{M} C(n, i)``.

    This is also the number of linear regions of a network with one hidden layer of ``n``
    neurons and generic weights (``2^n`` when ``M >= n``).

    Examples
    --------
    Eq. (1.2) of Wang: four generic lines cut the plane into 11 regions; three neurons on a
    three-dimensional input give all ``2^3`` patterns:

    >>> one_layer_regions(4, 2), one_layer_regions(3, 3)
    (11, 8)
    """
    n = _check_int("n", n, 0)
    M = _check_int("input_dim", input_dim, 1)
    return sum(comb(n, i) for i in range(M + 1))


def part1_upper(n: int) -> Fraction:
    """Theorem 2.1 Part 1: ``E(N) <= 1 + 2 (3/4)^{n-1}`` for ``n`` hidden layers of one neuron.

    Examples
    --------
    >>> part1_upper(1), part1_upper(3)
    (Fraction(3, 1), Fraction(17, 8))
    """
    n = _check_int("n (number of hidden layers)", n, 1)
    return 1 + 2 * Fraction(3, 4) ** (n - 1)


def k_value(n1: int, n2: int) -> Fraction:
    """``K(n1, n2) = Σ_{l=0}^{n1} C(n1, l) (2^{-l} Σ_{i=0}^{l} C(n2 + l, i) - 1)`` (Theorem 2.1).

    Examples
    --------
    >>> k_value(1, 1), k_value(2, 2)
    (Fraction(1, 2), Fraction(15, 4))
    """
    n1 = _check_int("n1", n1, 0)
    n2 = _check_int("n2", n2, 0)
    total = Fraction(0)
    for l in range(n1 + 1):
        inner = sum(comb(n2 + l, i) for i in range(l + 1))
        total += comb(n1, l) * (Fraction(inner, 2 ** l) - 1)
    return total


def part2_bounds(n1: int, n2: int) -> tuple:
    """Theorem 2.1 Part 2, eq. (2.1): ``(K(n1, n2) + 1, K(n1, n2) + 2^{n1})``.

    Examples
    --------
    >>> part2_bounds(2, 2)
    (Fraction(19, 4), Fraction(31, 4))
    """
    n1 = _check_int("n1", n1, 1)
    n2 = _check_int("n2", n2, 1)
    K = k_value(n1, n2)
    return K + 1, K + 2 ** n1


def part3_bounds(n: int) -> tuple:
    """Theorem 2.1 Part 3: ``(1 + (3/4)^{n-1}, 6 (175/64)^{n-1})`` for ``n >= 2`` layers of 2.

    Examples
    --------
    >>> lo, hi = part3_bounds(3)
    >>> lo, hi, float(hi)
    (Fraction(25, 16), Fraction(91875, 2048), 44.86083984375)
    """
    n = _check_int("n (number of hidden layers)", n, 2)
    return 1 + Fraction(3, 4) ** (n - 1), 6 * Fraction(175, 64) ** (n - 1)


@dataclass(frozen=True)
class TheoremBounds:
    """Bounds of Theorem 2.1 (or eq. 1.2) on ``E(N)`` for one arrangement.

    ``lower``/``upper`` are exact (``None`` when that side is not bounded by the theorem);
    ``part`` names the statement; ``hypothesis_holds`` says whether the input dimension meets
    its assumption (the bound is still reported when it does not, so it can be compared).

    Examples
    --------
    >>> b = theorem_2_1((2, 2), 2)[0]
    >>> b.part, b.lower, b.upper, b.hypothesis_holds
    ('Theorem 2.1 Part 2', Fraction(19, 4), Fraction(31, 4), True)
    """

    hidden: tuple
    input_dim: int
    part: str
    lower: Optional[Fraction]
    upper: Optional[Fraction]
    hypothesis: str
    hypothesis_holds: bool


def theorem_2_1(hidden: Sequence[int], input_dim: int) -> tuple:
    """Every bound of Theorem 2.1 (or the exact count (1.2)) that applies to an arrangement.

    Parameters
    ----------
    hidden : sequence of int
        Hidden-layer widths ``(n_1, ..., n_L)``.
    input_dim : int
        ``M``.

    Returns
    -------
    tuple of TheoremBounds
        One entry per applicable statement (e.g. ``(2, 2)`` is covered by Part 2 and Part 3,
        ``(1, 1)`` by Parts 1 and 2), in the order eq. (1.2), Part 1, Part 2, Part 3.

    Raises
    ------
    ValueError
        When no part covers ``hidden``: the theorem covers one hidden layer (exact), ``n x 1``
        (all widths 1), two hidden layers, and ``n >= 2`` layers of width 2.

    Examples
    --------
    Wang's Theorem 2.1 for two hidden layers of two neurons on a two-dimensional input:

    >>> [(b.part, b.lower, b.upper) for b in theorem_2_1((2, 2), 2)]
    [('Theorem 2.1 Part 2', Fraction(19, 4), Fraction(31, 4)), ('Theorem 2.1 Part 3', Fraction(7, 4), Fraction(525, 32))]
    """
    try:
        hidden = tuple(_check_int("hidden widths", h, 1) for h in hidden)
    except TypeError:
        raise TypeError(f"hidden must be a sequence of positive integers; got {hidden!r}") from None
    if not hidden:
        raise ValueError("hidden must contain at least one hidden-layer width; got ()")
    M = _check_int("input_dim", input_dim, 1)
    out = []
    if len(hidden) == 1:
        v = Fraction(one_layer_regions(hidden[0], M))
        out.append(TheoremBounds(hidden, M, "eq. (1.2)", v, v, "generic position (probability 1)",
                                 True))
    if all(h == 1 for h in hidden):
        out.append(TheoremBounds(hidden, M, "Theorem 2.1 Part 1", None, part1_upper(len(hidden)),
                                 "M >= 1", M >= 1))
    if len(hidden) == 2:
        lo, hi = part2_bounds(*hidden)
        need = max(hidden)
        out.append(TheoremBounds(hidden, M, "Theorem 2.1 Part 2", lo, hi,
                                 f"M >= max(n1, n2) = {need}", M >= need))
    if len(hidden) >= 2 and all(h == 2 for h in hidden):
        lo, hi = part3_bounds(len(hidden))
        out.append(TheoremBounds(hidden, M, "Theorem 2.1 Part 3", lo, hi, "M >= 2", M >= 2))
    if not out:
        raise ValueError(
            f"Theorem 2.1 does not cover the arrangement {hidden}: it covers one hidden layer "
            "(eq. 1.2), n hidden layers of 1 neuron (Part 1), two hidden layers (Part 2) and n >= 2 "
            "hidden layers of 2 neurons (Part 3)")
    return tuple(out)
