"""The notebook parameter contract: a ``profile`` picks sizes, every size can be overridden.

Every notebook's first code cell is tagged ``parameters`` and assigns ``profile`` and one
variable per size parameter, annotated with its type and defaulting to ``None`` ("take the
profile's value")::

    profile = "book"          # smoke | book | paper
    n_seeds: int = None       # [size ≥ 1] training seeds
    epochs: int = None        # [size ≥ 1] training epochs

The next cell calls :func:`resolve_parameters` with the profile table. Unknown profiles and
values of the wrong type stop the notebook at once with a message naming the parameter and what
is allowed. (Unknown parameter *names* and values outside the allowed values in ``[...]`` are
caught before execution by ``relutopo run``, which reads the notebook's parameters cell;
:mod:`relutopo.repro.param_ranges`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from relutopo.errors import RelutopoError

__all__ = ["ParameterError", "Params", "resolve_parameters", "check_value_type", "PROFILES"]

#: The profiles every notebook must define.
PROFILES = ("smoke", "book", "paper")


class ParameterError(RelutopoError, ValueError):
    """A notebook parameter (or profile) is unknown or has a value of the wrong type.

    Examples
    --------
    >>> resolve_parameters("huge", {"smoke": {"n": 1}, "book": {"n": 10}})  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: unknown profile 'huge'; allowed profiles: smoke, book
    """


def _type_name(t) -> str:
    return {int: "int", float: "float", str: "str", bool: "bool", list: "list", tuple: "list",
            dict: "dict"}.get(t, getattr(t, "__name__", str(t)))


def check_value_type(name: str, value: Any, expected: Any) -> Any:
    """Check ``value`` against the type of ``expected`` (a template value); return it normalised.

    ``int`` accepts ints only (not bools, not 2.5); ``float`` accepts ints and floats; list
    templates accept lists and tuples (returned as tuples); a ``None`` template accepts anything.

    Examples
    --------
    >>> check_value_type("n", 3, 1), check_value_type("lr", 1, 0.1), check_value_type("widths", [2, 3], [1])
    (3, 1.0, (2, 3))
    >>> check_value_type("n", True, 1)  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: parameter 'n' must be of type int (e.g. 1); got ...
    """
    if expected is None or value is None:
        return value
    t = type(expected)
    ok = True
    if t is bool:
        ok = isinstance(value, bool)
    elif t is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif t in (list, tuple):
        ok = isinstance(value, (list, tuple))
        value = tuple(value) if ok else value
    elif t is str:
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, t)
    if not ok:
        raise ParameterError(
            f"parameter '{name}' must be of type {_type_name(t)} (e.g. {expected!r}); "
            f"got {value!r} of type {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Params:
    """Resolved notebook parameters: the profile's sizes with the user's overrides applied.

    Examples
    --------
    >>> profiles = {"smoke": {"n": 1, "lr": 0.1}, "book": {"n": 10, "lr": 0.1}, "paper": {"n": 100, "lr": 0.1}}
    >>> p = resolve_parameters("smoke", profiles, n=4)
    >>> p.profile, dict(p.values), p.overridden
    ('smoke', {'n': 4, 'lr': 0.1}, ('n',))
    """

    profile: str
    values: Mapping[str, Any] = field(default_factory=dict)
    overridden: tuple = ()

    def __getattr__(self, name):
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(
            f"no parameter '{name}' in profile '{self.profile}'; known: {sorted(values)}")

    def as_dict(self) -> dict:
        """Plain dict (profile included), JSON-friendly, for results files."""
        out = {"profile": self.profile}
        for k, v in self.values.items():
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


def resolve_parameters(profile: str, profiles: Mapping[str, Mapping[str, Any]],
                       **overrides: Any) -> Params:
    """Resolve a notebook's parameters.

    Parameters
    ----------
    profile : str
        One of the keys of ``profiles`` (``smoke``, ``book``, ``paper``).
    profiles : mapping profile -> {parameter: value}
        The sizes of each profile; every profile defines the same parameter names, and the
        value's type is the parameter's type.
    **overrides
        Values from the parameters cell; ``None`` means "use the profile's value".

    Raises
    ------
    ParameterError
        Unknown profile, unknown parameter, or a value of the wrong type.

    Examples
    --------
    The profile's values with the user's overrides, each checked against the profile's type:

    >>> profiles = {"smoke": {"n": 1, "lr": 0.1}, "book": {"n": 10, "lr": 0.1}, "paper": {"n": 100, "lr": 0.1}}
    >>> dict(resolve_parameters("book", profiles).values)
    {'n': 10, 'lr': 0.1}
    >>> dict(resolve_parameters("book", profiles, lr=0.5).values)
    {'n': 10, 'lr': 0.5}
    >>> resolve_parameters("book", profiles, n=2.5)  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: parameter 'n' must be of type int (e.g. 10); ...
    """
    if not isinstance(profile, str) or profile not in profiles:
        raise ParameterError(
            f"unknown profile {profile!r}; allowed profiles: {', '.join(profiles)}")
    missing = [p for p in PROFILES if p not in profiles]
    if missing:
        raise ParameterError(f"the notebook's profile table lacks profile(s) {missing}")
    table = dict(profiles[profile])
    names = set(table)
    for other, tab in profiles.items():
        if set(tab) != names:
            raise ParameterError(
                f"profile '{other}' defines {sorted(set(tab) ^ names)} differently from '{profile}'; "
                "every profile must define the same parameters")
    values, overridden = {}, []
    for k, v in overrides.items():
        if k not in table:
            raise ParameterError(
                f"unknown parameter '{k}'; this notebook's parameters are: {', '.join(sorted(table))}")
    for k, default in table.items():
        v = overrides.get(k)
        if v is None:
            values[k] = tuple(default) if isinstance(default, list) else default
        else:
            values[k] = check_value_type(k, v, default)
            overridden.append(k)
    return Params(profile=profile, values=MappingProxyType(values), overridden=tuple(overridden))
