"""Exceptions and warnings of relutopo, in one place.

:class:`RelutopoError` is the base of every error the library raises on purpose, so that a caller
(or the CLI) can catch them all with one ``except``. Each concrete error also derives from the
builtin it refines (``ValueError`` for bad input, ``TypeError`` for an argument of the wrong kind,
``RuntimeError`` for a computation that cannot give a trustworthy answer), so existing
``except ValueError`` code keeps working. The errors of the core library are defined here (their
modules re-export them: ``relutopo.nets.NetworkError`` is :class:`NetworkError`); the pipeline's
and the papers' own errors live in their packages and derive from :class:`RelutopoError` too
(``tests/test_errors.py`` walks every module and checks it).

Examples
--------
>>> from relutopo.errors import RelutopoError, InconsistentDecompositionError, ComplexError
>>> issubclass(InconsistentDecompositionError, RelutopoError)
True
>>> issubclass(InconsistentDecompositionError, RuntimeError)
True
>>> issubclass(ComplexError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["RelutopoError", "ValidationError", "ValidationTypeError", "ScaleRangeError",
           "InconsistentDecompositionError", "LPError", "NetworkError", "RegionError",
           "PolytopeError", "ComplexError", "FiltrationError", "SpectralError", "SliceError",
           "InconsistencyWarning", "ResolutionWarning"]


class RelutopoError(Exception):
    """Base class of the errors relutopo raises on purpose.

    Examples
    --------
    Every error relutopo raises on purpose derives from it, and from the builtin it refines:

    >>> import numpy as np
    >>> from relutopo import Box
    >>> try:
    ...     Box([0, 0], [1, -1])
    ... except RelutopoError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    ValidationError True
    """


class ValidationError(RelutopoError, ValueError):
    """An argument has the right kind but a bad value (shape, range, symmetry, ...); raised by
    the ``check_*`` functions of :mod:`relutopo.validation`, the message naming the argument,
    its value and what was expected.

    Examples
    --------
    >>> from relutopo.validation import check_points
    >>> check_points([[0.0, float("nan")]], dim=2)  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.ValidationError: X contains 1 NaN or infinite value(s) (first in row ...
    """


class ValidationTypeError(RelutopoError, TypeError):
    """An argument is of the wrong kind (e.g. a list where a :class:`relutopo.domains.Box` is
    expected); raised by :mod:`relutopo.validation`.

    Examples
    --------
    >>> from relutopo.validation import check_box
    >>> check_box([0, 1])  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.ValidationTypeError: domain must be a relutopo.domains.Box or None ...
    """


class ScaleRangeError(RelutopoError, ValueError):
    """The input (network weights, domain box) spans magnitudes that float64 arithmetic cannot
    represent: a box side or a product of weights overflows, so no answer can be trusted.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> from relutopo.normal_form import normal_form
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> normal_form(net, Box(-1e308, 1e308, dim=2))  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.ScaleRangeError: the box Box(-1e+308, 1e+308, dim=2) has a side wider ...
    """


class InconsistentDecompositionError(RelutopoError, RuntimeError):
    """A decomposition failed one of its own consistency checks: a facet whose neighbour is not
    among the regions, an interior point whose bit vector is not its region's, or a
    full-dimensionality decision that no certificate backs. The count would be wrong, so it is
    not returned (``decompose(..., on_inconsistency="warn")`` returns it with a warning).

    Examples
    --------
    >>> issubclass(InconsistentDecompositionError, RelutopoError), issubclass(InconsistentDecompositionError, RuntimeError)
    (True, True)
    """


class LPError(RelutopoError, RuntimeError):
    """A linear program that HiGHS could not settle (neither optimal, infeasible nor unbounded),
    not even on the second try with its interior point method (see
    :meth:`relutopo.polyhedra.LPSolver.solve`).

    Examples
    --------
    >>> issubclass(LPError, RelutopoError), issubclass(LPError, RuntimeError)
    (True, True)
    """


class NetworkError(RelutopoError, ValueError):
    """A network given to relutopo is malformed (shapes, values or layer types).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> ReluNet.from_weights([np.ones((3, 2)), np.ones((1, 2))], [np.zeros(3), np.zeros(1)])  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.NetworkError: layer 1 does not chain: weights[1] expects 2 inputs but ...
    """


class RegionError(RelutopoError, ValueError):
    """A bit vector does not describe a full-dimensional region of the network.

    Examples
    --------
    A 2 -> 2 -> 1 network whose two neurons share one hyperplane with opposite signs: no point has
    both on.

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> from relutopo.polyhedra import region_of
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [-1.0, 0.0]]), np.ones((1, 2))],
    ...                            [np.zeros(2), np.zeros(1)])
    >>> region_of(net, [True, True])  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.RegionError: pattern [0, 1] (active neurons) has no full-dimensional ...
    """


class PolytopeError(RelutopoError, ValueError):
    """Halfspaces that do not describe a bounded, full-dimensional polytope where one is needed
    (:mod:`relutopo.polytopes`), or malformed ``(A, c)`` arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo.polytopes import polytope_vertices
    >>> polytope_vertices(np.array([[1.0], [-1.0]]), np.array([0.0, -1.0]))  # x <= 0 and x >= 1: error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.PolytopeError: the halfspaces describe an empty or unbounded set; a ...
    """


class ComplexError(RelutopoError, ValueError):
    """The input cannot be turned into a polyhedral complex (bad box, empty region, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cell_complex(decompose(net))  # no box: error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.ComplexError: the decomposition has no box domain (it covers all of ...
    """


class FiltrationError(RelutopoError, ValueError):
    """An order of cells that is not a filtration, or a bad argument.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> from relutopo.filtration import check_order
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> check_order(K, np.arange(K.n_cells)[::-1])  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.FiltrationError: order is not face-respecting: cell 9 enters at step ...
    """


class SpectralError(RelutopoError, ValueError):
    """A graph or weighting for which the Fiedler vector is not defined, or a bad argument.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo.spectral import laplacian
    >>> laplacian(np.array([[0, 1]]))  # error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.SpectralError: pass n_nodes= with an edge array (isolated nodes ...
    """


class SliceError(RelutopoError, ValueError):
    """A slice is malformed (shapes, degenerate anchor points, non-finite values).

    Examples
    --------
    >>> from relutopo import Plane
    >>> Plane.through([0, 0], [1, 1], [2, 2])  # collinear: error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.SliceError: x0, x1 and x2 are collinear; a plane needs three affinely ...
    """


class InconsistencyWarning(RuntimeWarning):
    """The warning issued instead of :class:`InconsistentDecompositionError` when the caller
    asked to continue (``on_inconsistency="warn"``).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("a facet without a neighbour", InconsistencyWarning)
    >>> caught[0].category.__name__, issubclass(InconsistencyWarning, RuntimeWarning)
    ('InconsistencyWarning', True)
    """


class ResolutionWarning(RuntimeWarning):
    """The domain is so much larger than the network's features that regions may be thinner than
    the resolution (``tolerances.CHEBYSHEV_RTOL`` times the domain scale) and go unreported.

    Examples
    --------
    >>> issubclass(ResolutionWarning, RuntimeWarning)
    True
    """
