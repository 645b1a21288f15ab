"""Results that used to be tuples: frozen dataclasses that still unpack.

Functions of the core return named, frozen dataclasses (``dual_graph_of_complex(K).edges``, not
``dual_graph_of_complex(K)[0]``). Where a function returned a bare tuple before, its result
class mixes in :class:`Unpackable`, so that code written against the tuple
(``edges, vols, cells = dual_graph_of_complex(K)``) keeps working while it moves to the names.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Pair(Unpackable):
...     first: int
...     second: int
>>> p = Pair(1, 2)
>>> a, b = p
>>> (a, b, p[1], p.second)
(1, 2, 2, 2)
"""

from __future__ import annotations

from dataclasses import fields

__all__ = ["Unpackable"]


class Unpackable:
    """Mixin for a frozen dataclass that replaced a tuple: iterating yields its fields in order,
    and an integer index picks one (the tuple's former positions).

    Examples
    --------
    A frozen result that still unpacks as the tuple it replaced:

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Pair(Unpackable):
    ...     low: float
    ...     high: float
    >>> low, high = Pair(0.0, 1.0)
    >>> (low, high), Pair(0.0, 1.0)[1], len(Pair(0.0, 1.0))
    ((0.0, 1.0), 1.0, 2)
    """

    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))

    def __iter__(self):
        return iter(self._values())

    def __getitem__(self, index):
        if not isinstance(index, (int, slice)):
            raise TypeError(f"{type(self).__name__} indices are integers (the former tuple's "
                            f"positions) or slices; got {type(index).__name__} (use the field names: "
                            f"{', '.join(f.name for f in fields(self))})")
        return self._values()[index]

    def __len__(self) -> int:
        return len(fields(self))
