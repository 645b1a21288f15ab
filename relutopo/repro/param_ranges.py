"""Allowed values of notebook parameters, declared beside their type in the ``parameters`` cell.

A notebook declares each parameter once, in its ``parameters`` cell: name, type, and a help
comment that *starts* with the parameter's allowed values in square brackets::

    n_nets: int = None         # [size ≥ 1] random networks per arrangement (paper: 5000)
    lr: float = None           # [> 0] Adam learning rate
    long_fraction: float = None  # [> 0, ≤ 1] a bar is long above this fraction of the scale
    counter: str = None        # [engine | wang] which algorithm counts every network
    widths: list = None        # [size ≥ 1, len ≥ 1] widths of the heatmap (each entry)
    checkpoints: list = None   # [≥ 0, ≤ epochs, len ≥ 1] epochs analysed (each entry)

The bracket holds comma-separated items:

``size``
    The parameter sets an amount of work: time and memory grow with it. A value more than
    :data:`SIZE_CONFIRM_FACTOR` times the ``paper`` profile's value (for a list: its largest
    entry, or its length) is only run after the user confirms (``relutopo run ... --yes``).
``≥ B``, ``> B``, ``≤ B``, ``< B``
    A bound. ``B`` is a number or the name of another numeric parameter of the notebook (its
    value in this run). For a list, every entry must satisfy it.
``len ≥ N`` (any of the four operators)
    The number of entries of a list.
``A | B | C``
    The allowed values (for a list: of every entry).

Write ``≥`` and ``≤``, not ``>=`` and ``<=``: papermill skips a parameters-cell line holding more
than one ``=`` (the contract check says so). papermill reads ``name: type = value  # help``
lines, so the allowed values travel with the
parameter to ``relutopo list``, to the check that ``relutopo run`` makes before any kernel
starts (:func:`check_allowed`, :func:`size_ratio`) and to the notebook contract
(``relutopo.repro.runner.check_contract``), which requires them for every numeric parameter.

Examples
--------
>>> spec, text = parse_allowed("[size ≥ 1] random networks per arrangement")
>>> spec.size, spec.bounds, text
(True, (('≥', 1.0),), 'random networks per arrangement')
>>> check_allowed(spec, "n_nets", 0, {})
Traceback (most recent call last):
...
relutopo.repro.params.ParameterError: parameter 'n_nets' must be ≥ 1 (allowed: [size ≥ 1]); got 0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from relutopo.errors import RelutopoError
from relutopo.repro.params import ParameterError

__all__ = ["AllowedValues", "AllowedSpecError", "parse_allowed", "check_allowed", "size_ratio",
           "SIZE_CONFIRM_FACTOR"]

#: A ``size`` parameter more than this many times the ``paper`` profile's value needs ``--yes``.
SIZE_CONFIRM_FACTOR: float = 10.0

_OPS = {"≥": lambda a, b: a >= b, ">": lambda a, b: a > b, "≤": lambda a, b: a <= b,
        "<": lambda a, b: a < b}
_ITEM_RE = re.compile(r"^(?P<len>len\s*)?(?P<op>>=|<=|==|≥|≤|>|<)\s*(?P<bound>\S+)$")
_NAME_RE = re.compile(r"^[A-Za-z_]\w*$")


class AllowedSpecError(RelutopoError, ValueError):
    """The ``[...]`` at the start of a parameter's help comment cannot be read.

    Examples
    --------
    >>> parse_allowed("[>= 1] networks")  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.param_ranges.AllowedSpecError: '>= 1': write ≥ instead of '>=' ...
    """


@dataclass(frozen=True)
class AllowedValues:
    """The allowed values of one notebook parameter (see the module docstring for the syntax).

    ``bounds`` are ``(op, bound)`` pairs, ``bound`` a float or another parameter's name;
    ``length`` are ``(op, n)`` pairs on a list's length; ``choices`` the allowed values (or
    None); ``size`` marks a parameter that sets an amount of work; ``text`` is the spec as
    written, e.g. ``"[size >= 1]"``.

    Examples
    --------
    >>> spec, _ = parse_allowed("[≥ 0, ≤ epochs, len ≥ 1] epochs analysed")
    >>> spec.bounds, spec.length, spec.size
    ((('≥', 0.0), ('≤', 'epochs')), (('≥', 1),), False)
    """

    text: str
    size: bool = False
    bounds: tuple = ()
    length: tuple = ()
    choices: Optional[tuple] = None

    @property
    def references(self) -> tuple:
        """Names of other parameters that bounds refer to."""
        return tuple(b for _, b in self.bounds if isinstance(b, str))


def _number(text: str) -> Optional[float]:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_allowed(help_text: str) -> tuple:
    """Split a help comment into its allowed values and the rest of the text.

    Returns ``(AllowedValues or None, text)``; None when the help does not start with ``[``.
    Raises :class:`AllowedSpecError` when the bracket is malformed.

    Examples
    --------
    >>> spec, text = parse_allowed("[engine | wang] which algorithm counts every network")
    >>> spec.choices, text
    (('engine', 'wang'), 'which algorithm counts every network')
    >>> parse_allowed("no bracket: free text")
    (None, 'no bracket: free text')
    """
    text = (help_text or "").strip()
    if not text.startswith("["):
        return None, text
    end = text.find("]")
    if end < 0:
        raise AllowedSpecError(f"the allowed values {text!r} lack a closing ']'")
    inner, rest = text[1:end].strip(), text[end + 1:].strip()
    if not inner:
        raise AllowedSpecError("empty allowed values '[]'; write e.g. '[size >= 1]' or '[a | b]'")
    size, bounds, length, choices = False, [], [], None
    for raw in inner.split(","):
        item = raw.strip()
        if item == "size":
            size = True
            continue
        if item.startswith("size "):  # "size ≥ 1" reads as two items
            size = True
            item = item[5:].strip()
        m = _ITEM_RE.match(item)
        if m:
            op, bound = m.group("op"), m.group("bound")
            if "=" in op:
                better = {">=": "≥", "<=": "≤"}.get(op, "'≥ n, ≤ n' (or 'a | b' for values)")
                raise AllowedSpecError(f"'{item}': write {better} instead of '{op}' (papermill "
                                       "skips a parameters-cell line that holds two '=')")
            if m.group("len"):
                n = _number(bound)
                if n is None or n != int(n) or n < 0:
                    raise AllowedSpecError(f"'{item}': a length bound must be a whole number >= 0")
                length.append((op, int(n)))
                continue
            n = _number(bound)
            if n is None and not _NAME_RE.match(bound):
                raise AllowedSpecError(
                    f"'{item}': the bound must be a finite number or another parameter's name")
            bounds.append((op, bound if n is None else n))
            continue
        if "|" in item:
            opts = tuple(o.strip() for o in item.split("|"))
            if not all(opts) or choices is not None:
                raise AllowedSpecError(f"'{item}': write allowed values once, as 'a | b | c'")
            choices = opts
            continue
        raise AllowedSpecError(
            f"cannot read '{item}' in [{inner}]; items are 'size', '≥ 1', '< x', 'len ≥ 1' "
            "or 'a | b | c', separated by commas")
    if not (size or bounds or length or choices):
        raise AllowedSpecError(f"[{inner}] allows nothing in particular")
    return AllowedValues(f"[{inner}]", size, tuple(bounds), tuple(length), choices), rest


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _coerce_choice(choice: str, like: Any) -> Any:
    if isinstance(like, bool) or not isinstance(like, (int, float)):
        return choice
    n = _number(choice)
    return choice if n is None else n


def check_allowed(spec: Optional[AllowedValues], name: str, value: Any,
                  values: Mapping[str, Any], owner: str = "") -> None:
    """Raise :class:`ParameterError` when ``value`` is outside ``spec``.

    ``values`` holds the run's other parameter values (the profile's, with the overrides), for
    bounds that name another parameter; a bound whose parameter is None is not checked.
    None values are not checked (None means "the profile's value"). ``owner`` (a paper name)
    is named in the message.

    Examples
    --------
    A bound may name another parameter of the run:

    >>> spec, _ = parse_allowed("[≥ 0, ≤ epochs] epochs analysed")
    >>> check_allowed(spec, "checkpoint", 5, {"epochs": 10})
    >>> check_allowed(spec, "checkpoint", 50, {"epochs": 10})  # error expected
    Traceback (most recent call last):
        ...
    relutopo.repro.params.ParameterError: parameter 'checkpoint' must be ≤ epochs (= 10) ...
    """
    if spec is None or value is None:
        return
    allowed = f"(allowed: {spec.text})"
    is_list = isinstance(value, (list, tuple))
    entries = list(value) if is_list else [value]
    label = f"parameter '{name}'" + (f" of {owner}" if owner else "")
    what = f"every entry of {label}" if is_list else label
    if is_list:
        for op, n in spec.length:
            if not _OPS[op](len(value), n):
                raise ParameterError(f"{label} must have len {op} {n} {allowed}; "
                                     f"got {len(value)} entries: {_show(value)}")
    for v in entries:
        got = f"got {_show(v)}" + (f" in {_show(value)}" if is_list else "")
        if spec.choices is not None:
            options = [_coerce_choice(c, v) for c in spec.choices]
            if v not in options:
                raise ParameterError(f"{what} must be one of {' | '.join(spec.choices)} "
                                     f"{allowed}; {got}")
        if not spec.bounds:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{what} must be a number {allowed}; {got}")
        if not math.isfinite(v):
            raise ParameterError(f"{what} must be a finite number {allowed}; {got}")
        for op, bound in spec.bounds:
            if isinstance(bound, str):
                ref = values.get(bound)
                if isinstance(ref, bool) or not isinstance(ref, (int, float)):
                    continue
                shown = f"{bound} (= {ref})"
            else:
                ref = bound
                shown = f"{int(bound)}" if float(bound).is_integer() else f"{bound}"
            if not _OPS[op](v, ref):
                raise ParameterError(f"{what} must be {op} {shown} {allowed}; {got}")


def _magnitude(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return abs(float(value))
    if isinstance(value, (list, tuple)):
        nums = [_magnitude(v) for v in value]
        nums = [n for n in nums if n is not None]
        return max(nums) if nums else None
    return None


def size_ratio(value: Any, reference: Any) -> Optional[float]:
    """How many times ``reference`` (the ``paper`` profile's value) ``value`` is.

    Numbers: ``value / reference``. Lists: the larger of the ratios of their largest entries
    and of their lengths. None when there is nothing to compare with (a None or zero reference).

    Examples
    --------
    >>> size_ratio(500, 5000), size_ratio([8, 16, 32], [8, 16]), size_ratio(3, None)
    (0.1, 2.0, None)
    """
    ratios = []
    big, ref = _magnitude(value), _magnitude(reference)
    if big is not None and ref:
        ratios.append(big / ref)
    if isinstance(value, (list, tuple)) and isinstance(reference, (list, tuple)) and reference:
        ratios.append(len(value) / len(reference))
    return max(ratios) if ratios else None
