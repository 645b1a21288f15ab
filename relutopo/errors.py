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
    """Base class of the errors relutopo raises on purpose."""


class ValidationError(RelutopoError, ValueError):
    """An argument has the right kind but a bad value (shape, range, symmetry, ...); raised by
    the ``check_*`` functions of :mod:`relutopo.validation`, the message naming the argument,
    its value and what was expected."""


class ValidationTypeError(RelutopoError, TypeError):
    """An argument is of the wrong kind (e.g. a list where a :class:`relutopo.domains.Box` is
    expected); raised by :mod:`relutopo.validation`."""


class ScaleRangeError(RelutopoError, ValueError):
    """The input (network weights, domain box) spans magnitudes that float64 arithmetic cannot
    represent: a box side or a product of weights overflows, so no answer can be trusted."""


class InconsistentDecompositionError(RelutopoError, RuntimeError):
    """A decomposition failed one of its own consistency checks: a facet whose neighbour is not
    among the regions, an interior point whose bit vector is not its region's, or a
    full-dimensionality decision that no certificate backs. The count would be wrong, so it is
    not returned (``decompose(..., on_inconsistency="warn")`` returns it with a warning)."""


class LPError(RelutopoError, RuntimeError):
    """A linear program that HiGHS could not settle (neither optimal, infeasible nor unbounded),
    not even on the second try with its interior point method (see
    :meth:`relutopo.polyhedra.LPSolver.solve`)."""


class NetworkError(RelutopoError, ValueError):
    """A network given to relutopo is malformed (shapes, values or layer types)."""


class RegionError(RelutopoError, ValueError):
    """A bit vector does not describe a full-dimensional region of the network."""


class PolytopeError(RelutopoError, ValueError):
    """Halfspaces that do not describe a bounded, full-dimensional polytope where one is needed
    (:mod:`relutopo.polytopes`), or malformed ``(A, c)`` arrays."""


class ComplexError(RelutopoError, ValueError):
    """The input cannot be turned into a polyhedral complex (bad box, empty region, ...)."""


class FiltrationError(RelutopoError, ValueError):
    """An order of cells that is not a filtration, or a bad argument."""


class SpectralError(RelutopoError, ValueError):
    """A graph or weighting for which the Fiedler vector is not defined, or a bad argument."""


class SliceError(RelutopoError, ValueError):
    """A slice is malformed (shapes, degenerate anchor points, non-finite values)."""


class InconsistencyWarning(RuntimeWarning):
    """The warning issued instead of :class:`InconsistentDecompositionError` when the caller
    asked to continue (``on_inconsistency="warn"``)."""


class ResolutionWarning(RuntimeWarning):
    """The domain is so much larger than the network's features that regions may be thinner than
    the resolution (``tolerances.CHEBYSHEV_RTOL`` times the domain scale) and go unreported."""
