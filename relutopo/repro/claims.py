"""Claims: a statement of a paper (or a check of ours), the test that decides it, the verdict.

Every claim is built from a :class:`Rule`: a predicate evaluated on our numbers *together with*
the sentence that states it, both generated from the same arguments -- so the rule shown in the
book is always the rule that was applied, and no verdict is ever set by hand.

Two kinds of claim:

**paper claims** (:func:`paper_claim`; shorthands :func:`numeric_claim`, :func:`range_claim`)
    A number or a statement of the paper, tested on our measurement. Verdict ``reproduced``,
    ``differs``, or ``not comparable`` (the setup cannot test it: untrained weights, substitute
    data). Only these count in the reproduction rate. A claim that differs says in one sentence
    whether that is a *finding* (our setup matches the paper's and the number still differs) or a
    *limit* (what is missing): ``finding=`` or ``limit=``.
**self-checks** (:func:`self_check`)
    Agreement of two of our algorithms, an invariant, a data or training check (did the
    network learn?). Verdict ``passed`` or ``failed``; shown in the book, never counted as a
    reproduction.

The rules (each returns a :class:`Rule`; combine them with :func:`all_of` / :func:`any_of`):

=====================  ==================================================================
:func:`close_to`       ``|ours - paper| <= atol + rtol |paper|``
:func:`within`         every value of ours inside ``[lo, hi]``
:func:`at_least`       ``ours >= value`` (:func:`at_most`, :func:`greater`, :func:`less`)
:func:`equals`         ``ours == value`` (counts, booleans)
:func:`in_spread`      the paper's value inside our samples' q-th percentile range
:func:`ordered`        named values strictly increasing (or decreasing) in a given order
:func:`correlation`    Spearman / Pearson / Kendall correlation of a sign, one-sided p < alpha
:func:`two_sample`     Mann-Whitney / Welch / Kolmogorov-Smirnov / Kruskal-Wallis, p < alpha
:func:`mean_interval`  a t interval of a mean (or of paired differences) against a bound
=====================  ==================================================================

Examples
--------
>>> t = close_to(641.2, 647.69, atol=12.0)
>>> t.holds, t.text
(True, '|ours - paper| <= 12')
>>> c = numeric_claim("fig3_mean", "mean #linear regions, (8,2)", 647.69, 641.2, atol=12.0)
>>> c.verdict, c.kind
('reproduced', 'paper')
>>> s = self_check("algorithms_agree", "two algorithms agree", equals(50, 50, name="agreeing nets"))
>>> s.verdict
'passed'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from relutopo.atomic import json_ready as plain

__all__ = [
    "Claim", "Rule", "PAPER", "SELF_CHECK", "KINDS", "PAPER_VERDICTS", "CHECK_VERDICTS",
    "VERDICTS", "REPRODUCED", "DIFFERS", "NOT_COMPARABLE", "PASSED", "FAILED",
    "paper_claim", "self_check", "numeric_claim", "range_claim", "not_run", "NOT_RUN",
    "close_to", "within", "at_least", "at_most", "greater", "less", "equals", "in_spread",
    "ordered", "correlation", "two_sample", "mean_interval", "all_of", "any_of",
    "plain", "fmt",
]

PAPER, SELF_CHECK = "paper", "self-check"
KINDS = (PAPER, SELF_CHECK)
REPRODUCED, DIFFERS, NOT_COMPARABLE = "reproduced", "differs", "not comparable"
PASSED, FAILED = "passed", "failed"
PAPER_VERDICTS = (REPRODUCED, DIFFERS, NOT_COMPARABLE)
CHECK_VERDICTS = (PASSED, FAILED)
VERDICTS = PAPER_VERDICTS + CHECK_VERDICTS

#: Significance level of the statistical tests unless a claim states its own.
DEFAULT_ALPHA: float = 0.05
#: Below this many pairs a Spearman p-value is exact (all n! pairings), not scipy's t approximation.
EXACT_SPEARMAN_BELOW: int = 9


# ============================================================================ values and text
def fmt(v: Any, digits: int = 6) -> str:
    """A number as the rule text shows it: ``digits`` significant figures, no trailing noise.

    Examples
    --------
    >>> fmt(0.1 + 0.2), fmt(3), fmt([1.0, 2.5e-7]), fmt(2 / 3, digits=3)
    ('0.3', '3', '[1, 2.5e-07]', '0.667')
    """
    v = plain(v)
    if isinstance(v, bool) or v is None or isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x, digits) for x in v) + "]"
    return str(v)


def _number(name: str, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {v!r} of type {type(v).__name__}")
    return float(v)


def _numbers(name: str, v: Any) -> np.ndarray:
    try:
        arr = np.asarray(v, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers; got {v!r}") from None
    return arr


def _alpha(alpha: float) -> float:
    a = _number("alpha", alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}")
    return a


# ============================================================================ tests
@dataclass(frozen=True)
class Rule:
    """A predicate evaluated on our numbers, with the sentence that states it.

    Attributes
    ----------
    holds : bool
        The outcome.
    text : str
        The rule in words, generated from the same arguments as ``holds``.
    value : Any
        The statistic that decided it (recorded as the claim's "ours").
    details : dict
        Further numbers of the test (p-values, sample sizes, intervals).

    Examples
    --------
    Rules are built by the helpers (:func:`close_to`, :func:`within`, :func:`correlation`, ...),
    whose text is generated from the same arguments as the outcome, so each can fail:

    >>> r = close_to(0.52, 0.5, rtol=0.1)
    >>> r.holds, r.text, r.value
    (True, '|ours - paper| <= 0.05', 0.52)
    >>> close_to(0.7, 0.5, rtol=0.1).holds
    False
    """

    holds: bool
    text: str
    value: Any = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.holds, (bool, np.bool_)):
            raise TypeError(f"Rule.holds must be a bool; got {self.holds!r}")
        object.__setattr__(self, "holds", bool(self.holds))


def close_to(ours: float, paper: float, *, atol: float = 0.0, rtol: float = 0.0) -> Rule:
    """``|ours - paper| <= atol + rtol * |paper|``.

    Examples
    --------
    >>> close_to(0.52, 0.5, rtol=0.1).text
    '|ours - paper| <= 0.05'
    """
    o, p = _number("ours", ours), _number("paper", paper)
    if atol < 0 or rtol < 0 or not (math.isfinite(atol) and math.isfinite(rtol)):
        raise ValueError(f"atol and rtol must be finite and >= 0; got atol={atol!r}, rtol={rtol!r}")
    bound = atol + rtol * abs(p)
    holds = math.isfinite(o) and abs(o - p) <= bound
    text = f"|ours - paper| <= {fmt(bound)}" if bound else "ours == paper"
    return Rule(holds, text, o, {"paper": p, "bound": bound, "difference": o - p})


def within(ours: Any, lo: float, hi: float, *, name: str = "ours") -> Rule:
    """Every value of ``ours`` (a number or a sequence) lies in ``[lo, hi]``.

    Examples
    --------
    >>> within([3, 4], 1, 5).holds
    True
    """
    lo_, hi_ = _number("lo", lo), _number("hi", hi)
    if lo_ > hi_:
        raise ValueError(f"empty interval [{lo!r}, {hi!r}]")
    vals = _numbers(name, ours)
    if vals.size == 0:
        raise ValueError(f"{name} is empty: nothing to test")
    holds = bool(np.all(np.isfinite(vals)) and np.all((vals >= lo_) & (vals <= hi_)))
    every = "every value of " if np.ndim(ours) else ""
    return Rule(holds, f"{every}{name} within [{fmt(lo_)}, {fmt(hi_)}]", plain(ours),
                {"lo": lo_, "hi": hi_})


def _compare(ours, value, op, name):
    o, v = _number(name, ours), _number("value", value)
    ok = {">=": o >= v, "<=": o <= v, ">": o > v, "<": o < v}[op]
    return Rule(bool(math.isfinite(o) and ok), f"{name} {op} {fmt(v)}", o, {"threshold": v})


def at_least(ours: float, value: float, *, name: str = "ours") -> Rule:
    """``ours >= value``.

    Examples
    --------
    >>> at_least(3, 2).holds
    True
    """
    return _compare(ours, value, ">=", name)


def at_most(ours: float, value: float, *, name: str = "ours") -> Rule:
    """``ours <= value``.

    Examples
    --------
    >>> at_most(3, 2).holds, at_most(2, 2, name="regions").text
    (False, 'regions <= 2')
    """
    return _compare(ours, value, "<=", name)


def greater(ours: float, value: float, *, name: str = "ours") -> Rule:
    """``ours > value``.

    Examples
    --------
    >>> greater(3, 2).holds, greater(2, 2).holds
    (True, False)
    """
    return _compare(ours, value, ">", name)


def less(ours: float, value: float, *, name: str = "ours") -> Rule:
    """``ours < value``.

    Examples
    --------
    >>> less(1, 2, name="loss").text, less(2, 2).holds
    ('loss < 2', False)
    """
    return _compare(ours, value, "<", name)


def equals(ours: Any, value: Any, *, name: str = "ours") -> Rule:
    """``ours == value`` for counts, booleans and strings (exact).

    Examples
    --------
    >>> equals(7, 7, name="regions").text
    'regions == 7'
    """
    a, b = plain(ours), plain(value)
    if isinstance(a, float) or isinstance(b, float):
        raise TypeError("equals() compares counts, booleans or strings; use close_to() for floats")
    return Rule(a == b, f"{name} == {fmt(b)}", a, {"expected": b})


def in_spread(samples: Sequence[float], value: float, *, q: Sequence[float] = (5, 95),
              name: str = "our seeds", value_name: str = "the paper's value") -> Rule:
    """``value`` lies within the ``q``-th percentile range of ``samples`` (e.g. over seeds).

    Examples
    --------
    >>> in_spread([1, 2, 3, 4, 5], 2.5, q=(10, 90)).text
    "the paper's value within our seeds' 10th-90th percentile [1.4, 4.6] (n = 5)"
    """
    x = _numbers(name, samples)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError(f"{name}: no finite samples")
    lo_q, hi_q = (float(t) for t in q)
    if not 0 <= lo_q < hi_q <= 100:
        raise ValueError(f"q must be two percentiles 0 <= lo < hi <= 100; got {q!r}")
    lo, hi = (float(v) for v in np.percentile(x, [lo_q, hi_q]))
    v = _number("value", value)
    return Rule(bool(lo <= v <= hi),
                f"{value_name} within {name}' {lo_q:g}th-{hi_q:g}th percentile "
                f"[{fmt(lo)}, {fmt(hi)}] (n = {x.size})",
                {"percentiles": [lo, hi], "median": float(np.median(x))},
                {"n": int(x.size), "q": [lo_q, hi_q]})


def ordered(values: Mapping[str, float], order: Sequence[str], *, increasing: bool = True,
            name: str = "") -> Rule:
    """The values named in ``order`` are strictly increasing (or decreasing) in that order.

    Examples
    --------
    >>> ordered({"a": 1, "b": 2, "c": 3}, ["a", "b", "c"]).text
    'a < b < c'
    """
    if len(order) < 2:
        raise ValueError("ordered() needs at least two names")
    missing = [k for k in order if k not in values]
    if missing:
        raise KeyError(f"ordered(): no value for {missing}; have {sorted(values)}")
    v = [_number(str(k), values[k]) for k in order]
    pairs = zip(v[:-1], v[1:])
    holds = all(a < b for a, b in pairs) if increasing else all(a > b for a, b in pairs)
    sym = " < " if increasing else " > "
    prefix = f"{name}: " if name else ""
    return Rule(bool(holds), prefix + sym.join(str(k) for k in order),
                {str(k): values[k] for k in order})


def correlation(x: Sequence[float], y: Sequence[float], *, sign: int = +1,
                method: str = "spearman", alpha: float = DEFAULT_ALPHA,
                min_abs: float = 0.0, names: Sequence[str] = ("x", "y")) -> Rule:
    """A correlation of the expected sign, significant at one-sided ``p < alpha``.

    ``sign=+1``: ``rho > 0``; ``sign=-1``: ``rho < 0``; ``sign=0``: no correlation claimed, the
    test holds when the two-sided ``p >= alpha`` (absence of evidence, stated as such).
    ``min_abs`` additionally requires ``|rho| >= min_abs``.

    Examples
    --------
    >>> t = correlation(range(20), [v + (v % 3) for v in range(20)])
    >>> t.holds, t.text
    (True, 'Spearman rho(x, y) > 0 with one-sided p < 0.05 (n = 20)')
    """
    from scipy import stats

    a, b = _numbers(names[0], x), _numbers(names[1], y)
    if a.shape != b.shape:
        raise ValueError(f"correlation(): {names[0]} has {a.size} values, {names[1]} {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if sign not in (-1, 0, 1):
        raise ValueError(f"sign must be -1, 0 or +1; got {sign!r}")
    alpha = _alpha(alpha)
    label = {"spearman": "Spearman rho", "pearson": "Pearson r", "kendall": "Kendall tau"}
    if method not in label:
        raise ValueError(f"method must be one of {sorted(label)}; got {method!r}")
    n = int(a.size)
    alternative = {1: "greater", -1: "less", 0: "two-sided"}[sign]
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        rho, p = float("nan"), float("nan")
    else:
        fn = {"spearman": stats.spearmanr, "pearson": stats.pearsonr, "kendall": stats.kendalltau}[method]
        res = fn(a, b, alternative=alternative)
        rho, p = float(res.statistic), float(res.pvalue)
        if method == "spearman" and n < EXACT_SPEARMAN_BELOW:
            # scipy's t approximation is far off for tiny samples (n = 3, rho = 1 gives p = 0):
            # take the exact permutation distribution instead (n! pairings)
            p = _exact_spearman_p(a, b, rho, alternative)
    pair = f"{label[method]}({names[0]}, {names[1]})"
    if sign == 0:
        holds = math.isfinite(p) and p >= alpha
        text = f"{pair}: no correlation detected, two-sided p >= {fmt(alpha)} (n = {n})"
    else:
        holds = math.isfinite(p) and p < alpha and sign * rho > 0 and abs(rho) >= min_abs
        rel = ">" if sign > 0 else "<"
        extra = f" and |rho| >= {fmt(min_abs)}" if min_abs else ""
        text = f"{pair} {rel} 0 with one-sided p < {fmt(alpha)}{extra} (n = {n})"
    return Rule(bool(holds), text, {"rho": rho, "p": p, "n": n}, {"method": method})


def _exact_spearman_p(a: np.ndarray, b: np.ndarray, rho: float, alternative: str) -> float:
    """Exact p-value of Spearman's rho: its distribution over all n! pairings of the ranks."""
    from itertools import permutations

    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    ra = (ra - ra.mean()) / np.linalg.norm(ra - ra.mean())
    rb = (rb - rb.mean()) / np.linalg.norm(rb - rb.mean())
    perms = np.array(list(permutations(range(len(rb)))))
    null = rb[perms] @ ra
    eps = 1e-12
    if alternative == "greater":
        return float(np.mean(null >= rho - eps))
    if alternative == "less":
        return float(np.mean(null <= rho + eps))
    return float(np.mean(np.abs(null) >= abs(rho) - eps))


_TWO_SAMPLE = {"mann-whitney": "Mann-Whitney U", "welch": "Welch t",
               "ks": "Kolmogorov-Smirnov", "kruskal": "Kruskal-Wallis"}


def two_sample(a: Sequence[float], b: Sequence[float], *, test: str = "mann-whitney",
               alternative: str = "greater", alpha: float = DEFAULT_ALPHA,
               names: Sequence[str] = ("a", "b")) -> Rule:
    """A two-sample test: ``alternative="greater"``: a > b; ``"less"``: a < b; ``"two-sided"``:
    a differs from b; ``"same"``: no difference detected (two-sided p >= alpha).

    Examples
    --------
    >>> t = two_sample([5, 6, 7, 8, 9], [1, 2, 3, 4, 5])
    >>> t.holds, t.text
    (True, 'Mann-Whitney U: a > b, one-sided p < 0.05 (n = 5, 5)')
    """
    from scipy import stats

    x, y = _numbers(names[0], a), _numbers(names[1], b)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if test not in _TWO_SAMPLE:
        raise ValueError(f"test must be one of {sorted(_TWO_SAMPLE)}; got {test!r}")
    if alternative not in ("greater", "less", "two-sided", "same"):
        raise ValueError(f"alternative must be 'greater', 'less', 'two-sided' or 'same'; "
                         f"got {alternative!r}")
    if test == "kruskal" and alternative in ("greater", "less"):
        raise ValueError("Kruskal-Wallis is two-sided: use alternative='two-sided' or 'same'")
    alpha = _alpha(alpha)
    alt = "two-sided" if alternative == "same" else alternative
    if x.size < 2 or y.size < 2:
        stat, p = float("nan"), float("nan")
    elif test == "mann-whitney":
        r = stats.mannwhitneyu(x, y, alternative=alt)
        stat, p = float(r.statistic), float(r.pvalue)
    elif test == "welch":
        r = stats.ttest_ind(x, y, equal_var=False, alternative=alt)
        stat, p = float(r.statistic), float(r.pvalue)
    elif test == "ks":
        # scipy's 'greater' means the CDF of x lies above y's, i.e. x tends to be *smaller*
        ks_alt = {"greater": "less", "less": "greater", "two-sided": "two-sided"}[alt]
        r = stats.ks_2samp(x, y, alternative=ks_alt)
        stat, p = float(r.statistic), float(r.pvalue)
    else:
        r = stats.kruskal(x, y)
        stat, p = float(r.statistic), float(r.pvalue)
    n = f"(n = {x.size}, {y.size})"
    label = _TWO_SAMPLE[test]
    if alternative == "same":
        holds = math.isfinite(p) and p >= alpha
        text = f"{label}: no difference between {names[0]} and {names[1]} detected, p >= {fmt(alpha)} {n}"
    else:
        holds = math.isfinite(p) and p < alpha
        rel = {"greater": ">", "less": "<", "two-sided": "!="}[alternative]
        sided = "two-sided" if alternative == "two-sided" else "one-sided"
        text = f"{label}: {names[0]} {rel} {names[1]}, {sided} p < {fmt(alpha)} {n}"
    return Rule(bool(holds), text, {"statistic": stat, "p": p},
                {"test": test, "n": [int(x.size), int(y.size)],
                 "medians": [float(np.median(x)) if x.size else None,
                             float(np.median(y)) if y.size else None]})


def mean_interval(samples: Sequence[float], *, above: Optional[float] = None,
                  below: Optional[float] = None, allows: Optional[float] = None,
                  level: float = 0.95, name: str = "mean") -> Rule:
    """A two-sided t interval of the mean of ``samples`` (use paired differences for a change).

    Exactly one of: ``above=v`` (the whole interval lies above v: the mean is significantly
    larger), ``below=v`` (the whole interval lies below v), ``allows=v`` (v lies inside the
    interval: the data do not rule it out).

    Examples
    --------
    >>> mean_interval([1.0, 1.2, 0.9, 1.1, 1.05], above=0).text
    'the 95% t interval of the mean lies above 0 (n = 5)'
    """
    from scipy import stats

    x = _numbers(name, samples)
    x = x[np.isfinite(x)]
    given = [k for k, v in (("above", above), ("below", below), ("allows", allows)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"mean_interval() takes exactly one of above=, below=, allows=; got {given}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    n = int(x.size)
    if n < 2:
        lo = hi = m = float("nan")
        se = float("nan")
    else:
        m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(n))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
        lo, hi = m - half, m + half
    pct = f"{100 * level:g}%"
    if above is not None:
        v = _number("above", above)
        holds, text = lo > v, f"the {pct} t interval of the {name} lies above {fmt(v)} (n = {n})"
    elif below is not None:
        v = _number("below", below)
        holds, text = hi < v, f"the {pct} t interval of the {name} lies below {fmt(v)} (n = {n})"
    else:
        v = _number("allows", allows)
        holds, text = lo <= v <= hi, f"{fmt(v)} within the {pct} t interval of the {name} (n = {n})"
    return Rule(bool(math.isfinite(lo) and holds), text,
                {"mean": m, "interval": [lo, hi]}, {"se": se, "n": n, "level": level})


def _combine(tests: Sequence[Rule], word: str, holds: bool) -> Rule:
    if not tests:
        raise ValueError(f"{word}-combination of no tests")
    text = f" {word} ".join(f"({t.text})" if (" and " in t.text or " or " in t.text) else t.text
                            for t in tests)
    values = [t.value for t in tests]
    return Rule(holds, text, values, {"parts": [dict(t.details) for t in tests]})


def all_of(*tests: Rule) -> Rule:
    """Every test holds; the text joins theirs with "and".

    Examples
    --------
    >>> r = all_of(at_least(3, 2), less(3, 5))
    >>> r.holds, r.text
    (True, 'ours >= 2 and ours < 5')
    >>> all_of(at_least(3, 2), less(6, 5)).holds
    False
    """
    return _combine(tests, "and", all(t.holds for t in tests))


def any_of(*tests: Rule) -> Rule:
    """At least one test holds; the text joins theirs with "or".

    Examples
    --------
    >>> r = any_of(equals(7, 8, name="regions"), at_least(7, 5, name="regions"))
    >>> r.holds, r.text
    (True, 'regions == 8 or regions >= 5')
    """
    return _combine(tests, "or", any(t.holds for t in tests))


# ============================================================================ claims
@dataclass(frozen=True)
class Claim:
    """One claim: what it states, the paper's value, ours, the rule, and the computed verdict.

    ``kind`` is ``"paper"`` (counted in the reproduction rate) or ``"self-check"``.
    ``explanation`` is the one sentence under a *differs* (``"Finding: ..."`` or
    ``"Limit: ..."``) or under a *not comparable* (why).

    Examples
    --------
    A paper claim is counted in the reproduction rate; a self-check is shown but never counted:

    >>> c = numeric_claim("n_regions", "regions of the 2-2-1 net", 4, 4)
    >>> c.kind, c.verdict, c.rule
    ('paper', 'reproduced', 'ours == paper')
    >>> s = self_check("engines_agree", "two algorithms give the same count", equals(7, 7))
    >>> s.kind, s.verdict
    ('self-check', 'passed')
    """

    id: str
    description: str
    paper_value: Any
    our_value: Any
    verdict: str
    rule: str
    kind: str = PAPER
    test: str = "statement"
    atol: Optional[float] = None
    rtol: Optional[float] = None
    note: str = ""
    figure: Optional[str] = None
    explanation: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.id or not isinstance(self.id, str):
            raise ValueError("a claim needs a non-empty string id")
        if self.kind not in KINDS:
            raise ValueError(f"claim kind must be one of {KINDS}; got {self.kind!r}")
        allowed = PAPER_VERDICTS if self.kind == PAPER else CHECK_VERDICTS
        if self.verdict not in allowed:
            raise ValueError(f"a {self.kind} claim's verdict must be one of {allowed}; "
                             f"got {self.verdict!r}")

    def to_dict(self) -> dict:
        return {k: plain(v) for k, v in asdict(self).items()}

    def _repr_markdown_(self) -> str:
        """How a claim shows in a notebook: the verdict, then the paper's value beside ours."""
        if self.kind == PAPER:
            text = (f"**{self.verdict}** — `{self.id}`: {self.description}. "
                    f"Paper: {_short(self.paper_value)}; ours: {_short(self.our_value)} "
                    f"(rule: {self.rule}).")
        else:
            text = (f"**self-check {self.verdict}** — `{self.id}`: {self.description}. "
                    f"Ours: {_short(self.our_value)} (rule: {self.rule}).")
        if self.note:
            text += f" *{self.note}*"
        if self.explanation:
            text += f"\n\n> {self.explanation}"
        return text


def _short(v: Any) -> str:
    v = plain(v)
    text = f"{v:.4g}" if isinstance(v, float) else str(v)
    return text if len(text) <= 80 else text[:79] + "…"


def _explanation(finding: Optional[str], limit: Optional[str]) -> str:
    if finding and limit:
        raise ValueError("give finding= or limit=, not both")
    if finding:
        return f"Finding: {finding.strip()}"
    if limit:
        return f"Limit: {limit.strip()}"
    return ""


def paper_claim(id: str, description: str, paper: Any, rule: Rule, *, note: str = "",
                figure: Optional[str] = None, comparable: bool = True,
                finding: Optional[str] = None, limit: Optional[str] = None,
                test_name: str = "statement", atol: Optional[float] = None,
                rtol: Optional[float] = None) -> Claim:
    """A statement or number of the paper (``paper``: its value or its words) decided by ``rule``.

    ``comparable=False`` makes the verdict *not comparable* (say why with ``limit=``). When the
    test fails, ``finding=`` or ``limit=`` is the one sentence shown under the *differs*; it is
    ignored (not shown) when the claim is reproduced.

    Examples
    --------
    >>> c = paper_claim("claim1", "shallower nets have more regions", "Claim 1 holds",
    ...                 ordered({"deep": 8.0, "shallow": 640.0}, ["deep", "shallow"]))
    >>> c.verdict, c.rule
    ('reproduced', 'deep < shallow')
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"rule must be a relutopo.repro.claims.Rule (built with close_to, within, "
                        f"correlation, ...); got {type(rule).__name__}")
    if not comparable:
        verdict = NOT_COMPARABLE
    else:
        verdict = REPRODUCED if rule.holds else DIFFERS
    explanation = "" if verdict == REPRODUCED else _explanation(finding, limit)
    return Claim(id, description, plain(paper), rule.value, verdict, rule.text, PAPER, test_name,
                 atol, rtol, note, figure, explanation, plain(dict(rule.details)))


def self_check(id: str, description: str, rule: Rule, *, note: str = "",
               figure: Optional[str] = None) -> Claim:
    """A check of our own (algorithms agree, an invariant holds, a network learned): shown in
    the book, never counted as a reproduction.

    Examples
    --------
    >>> self_check("agree", "Wang's regions equal the engine's", equals(7, 6, name="regions")).verdict
    'failed'
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"rule must be a relutopo.repro.claims.Rule; got {type(rule).__name__}")
    return Claim(id, description, None, rule.value, PASSED if rule.holds else FAILED, rule.text,
                 SELF_CHECK, "check", None, None, note, figure, "", plain(dict(rule.details)))


#: The rule text of a claim whose measurement was not run (see :func:`not_run`).
NOT_RUN = "not run"


def not_run(id: str, description: str, paper: Any, *, reason: str,
            figure: Optional[str] = None, note: str = "") -> Claim:
    """A paper claim this run did not measure (e.g. a chapter run on part of its data): its
    verdict is *not comparable*, its value ``None``, its rule ``"not run"``, and ``reason`` says
    why and how to run it. It keeps the claim's id, description and the paper's statement, so a
    partial record lists every claim of the chapter and none is counted.

    Examples
    --------
    >>> c = not_run("fig4_skew", "skewness on CIFAR-10", "ReLU skews more",
    ...             reason="datasets='mnist': the CIFAR-10 pools were not trained")
    >>> c.verdict, c.our_value, c.rule, c.explanation
    ('not comparable', None, 'not run', "Limit: not run here: datasets='mnist': the CIFAR-10 pools were not trained")
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("not_run needs a reason (why the claim was not measured, how to run it)")
    return Claim(id, description, plain(paper), None, NOT_COMPARABLE, NOT_RUN, PAPER, "statement",
                 None, None, note, figure, _explanation(None, f"not run here: {reason.strip()}"), {})


def numeric_claim(id: str, description: str, paper: float, ours: float, *, atol: float = 0.0,
                  rtol: float = 0.0, **kw) -> Claim:
    """A number of the paper against ours: :func:`paper_claim` with :func:`close_to`.

    Examples
    --------
    >>> c = numeric_claim("h1", "one long H1 bar", 1, 1)
    >>> c.verdict, c.rule
    ('reproduced', 'ours == paper')
    >>> numeric_claim("acc", "test accuracy", 0.95, 0.80, atol=0.05, finding="our nets train to 80 %").verdict
    'differs'
    """
    return paper_claim(id, description, _number("paper", paper),
                       close_to(ours, paper, atol=atol, rtol=rtol), test_name="numeric",
                       atol=atol, rtol=rtol, **kw)


def range_claim(id: str, description: str, paper_range: Sequence[float], ours: Any, *,
                atol: float = 0.0, **kw) -> Claim:
    """Our value(s) inside the paper's interval widened by ``atol``: :func:`paper_claim` with
    :func:`within`.

    Examples
    --------
    >>> c = range_claim("count", "regions within the paper's range", [10, 20], [12, 18])
    >>> c.verdict, c.rule
    ('reproduced', 'every value of ours within [10, 20]')
    """
    lo, hi = (_number("paper_range", x) for x in paper_range)
    return paper_claim(id, description, [lo, hi], within(ours, lo - atol, hi + atol),
                       test_name="range", atol=atol, **kw)
