"""Exceptions and warnings of relutopo, in one place.

:class:`RelutopoError` is the base of the library's own errors, so that a caller (or the CLI) can
catch every error relutopo raises on purpose with one ``except``. Each concrete error also
derives from the builtin it refines (``ValueError`` for bad input, ``RuntimeError`` for a
computation that cannot give a trustworthy answer), so existing ``except ValueError`` code keeps
working.

Examples
--------
>>> from relutopo.errors import RelutopoError, InconsistentDecompositionError
>>> issubclass(InconsistentDecompositionError, RelutopoError)
True
>>> issubclass(InconsistentDecompositionError, RuntimeError)
True
"""

from __future__ import annotations

__all__ = ["RelutopoError", "ScaleRangeError", "InconsistentDecompositionError",
           "InconsistencyWarning", "ResolutionWarning"]


class RelutopoError(Exception):
    """Base class of the errors relutopo raises on purpose."""


class ScaleRangeError(RelutopoError, ValueError):
    """The input (network weights, domain box) spans magnitudes that float64 arithmetic cannot
    represent: a box side or a product of weights overflows, so no answer can be trusted."""


class InconsistentDecompositionError(RelutopoError, RuntimeError):
    """A decomposition failed one of its own consistency checks: a facet whose neighbour is not
    among the regions, an interior point whose bit vector is not its region's, or a
    full-dimensionality decision that no certificate backs. The count would be wrong, so it is
    not returned (``decompose(..., on_inconsistency="warn")`` returns it with a warning)."""


class InconsistencyWarning(RuntimeWarning):
    """The warning issued instead of :class:`InconsistentDecompositionError` when the caller
    asked to continue (``on_inconsistency="warn"``)."""


class ResolutionWarning(RuntimeWarning):
    """The domain is so much larger than the network's features that regions may be thinner than
    the resolution (``tolerances.CHEBYSHEV_RTOL`` times the domain scale) and go unreported."""
