"""Statistics of Wang's random-network experiments (IJCAI 2022, §4.1, Fig. 3, Table 1 column 1).

* :func:`mean_se` -- mean and standard error of a sample;
* :func:`arrangement_summary` -- per arrangement: mean, deviation, standard error of #linear
  regions, the same over the non-constant networks ("NC"), P(constant), mean ratio;
* :func:`non_constant_moments` / :func:`implied_constant_fraction` -- a count whose constant
  networks (exactly one linear region) make up a fraction ``p``: the mean and deviation of the
  others, and the ``p`` that joins a mean to an NC mean;
* :func:`nc_attribution` -- which row of Table 1 the paper's "(NC: 34.00 & 16.99)" belongs to;
* :func:`combined_tolerance` -- ``k`` combined standard errors of two means;
* :func:`claim1_margins` -- Claim 1 (shallower arrangements have more linear regions): every
  pair's difference of means in standard errors.

Mixture identities used (a fraction ``p`` of the networks has exactly 1 linear region, the rest
mean ``m_nc`` and deviation ``s_nc``)::

    m = p + (1 - p) m_nc,        s^2 + m^2 = p + (1 - p) (s_nc^2 + m_nc^2).

Examples
--------
>>> round(implied_constant_fraction(31.35, 34.00), 4)        # Table 1, (3,3,2,2) row and NC
0.0803
>>> m, s = non_constant_moments(31.35, 18.60, implied_constant_fraction(31.35, 34.00))
>>> round(m, 2), round(s, 2)                                 # the paper prints 34.00 & 16.99
(34.0, 16.99)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np


__all__ = ["MeanSE", "mean_se", "non_constant_moments", "implied_constant_fraction",
           "nc_attribution", "arrangement_summary", "combined_tolerance", "Claim1Margins",
           "claim1_margins", "label"]


def label(arrangement: Sequence[int]) -> str:
    """``(8, 2)`` -> ``"(8, 2)"``: how the chapter names an arrangement.

    Examples
    --------
    >>> label((8, 2)), label([4])
    ('(8, 2)', '(4)')
    """
    return "(" + ", ".join(str(int(h)) for h in arrangement) + ")"


@dataclass(frozen=True)
class MeanSE:
    """Mean of a sample, its standard error (``sd / sqrt(n)``, NaN below two values) and ``n``.

    Examples
    --------
    >>> m = mean_se([1.0, 2.0, 3.0])
    >>> m.mean, round(m.se, 6), m.n
    (2.0, 0.57735, 3)
    """

    mean: float
    se: float
    n: int


def mean_se(x) -> MeanSE:
    """Mean and standard error of the finite values of ``x``.

    Examples
    --------
    >>> mean_se([1, 2, 3, 4])
    MeanSE(mean=2.5, se=0.6454972243679028, n=4)
    """
    a = np.asarray(x, dtype=float).ravel()
    a = a[np.isfinite(a)]
    n = int(a.size)
    if n == 0:
        return MeanSE(float("nan"), float("nan"), 0)
    se = float(a.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return MeanSE(float(a.mean()), se, n)


def _fraction(p: float) -> float:
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"the constant fraction p must lie in [0, 1); got {p!r}")
    return p


def non_constant_moments(mean: float, sd: float, p_constant: float) -> tuple:
    """``(m_nc, s_nc)``: mean and deviation of the non-constant networks of a sample with mean
    ``mean``, deviation ``sd`` and a fraction ``p_constant`` of constant networks (one linear
    region each). ``s_nc`` is NaN when no distribution has these moments (negative variance).

    Examples
    --------
    >>> non_constant_moments(10.0, 0.0, 0.0)
    (10.0, 0.0)
    """
    p = _fraction(p_constant)
    m_nc = (float(mean) - p) / (1.0 - p)
    second = (float(sd) ** 2 + float(mean) ** 2 - p) / (1.0 - p)
    var = second - m_nc ** 2
    # rounding of the printed mean/sd: treat a tiny negative variance as zero
    if var < 0 and var > -1e-9 * max(1.0, second):
        var = 0.0
    return m_nc, (math.sqrt(var) if var >= 0 else float("nan"))


def implied_constant_fraction(mean: float, nc_mean: float) -> float:
    """The fraction ``p`` of constant networks for which ``p + (1 - p) nc_mean = mean``.

    Examples
    --------
    >>> implied_constant_fraction(8.0, 34.0) > 0.78     # (2,2,2,2,2) would need ~79 % constant
    True
    """
    mean, nc_mean = float(mean), float(nc_mean)
    if nc_mean <= 1.0:
        raise ValueError(f"nc_mean must exceed 1 (non-constant networks have >= 2 linear regions); "
                         f"got {nc_mean!r}")
    return (nc_mean - mean) / (nc_mean - 1.0)


def nc_attribution(rows: Mapping[tuple, tuple], nc: tuple):
    """For every row ``(mean, sd)`` of Table 1's first column, could ``nc = (mean, sd)`` be that
    row with its constant networks removed?

    Returns a DataFrame: ``arrangement``, the row's ``mean`` and ``sd``, the constant fraction
    ``p`` the NC mean implies for it, and the NC deviation that ``p`` implies
    (``implied NC sd``; NaN where no distribution fits). The NC numbers belong to a row when ``p``
    lies in ``[0, 1)`` and the implied deviation equals the printed one.

    Examples
    --------
    Could a printed "non-constant" (NC) mean and deviation be a row with its constant networks
    (one linear region each) removed? For the first row the NC mean implies 30 % constants; the
    second row's mean is above the NC mean, so its implied fraction is negative (none fits):

    >>> nc = nc_attribution({(4,): (3.0, 2.0), (2, 2): (6.0, 1.0)}, (3.857, 1.5))
    >>> [round(p, 3) for p in nc["implied P(constant)"]], [round(s, 3) for s in nc["implied NC sd"]]
    ([0.3, -0.75], [1.807, nan])
    """
    import pandas as pd

    nc_mean, nc_sd = (float(v) for v in nc)
    out = []
    for arch, (m, s) in rows.items():
        p = implied_constant_fraction(m, nc_mean)
        implied_sd = non_constant_moments(m, s, p)[1] if 0.0 <= p < 1.0 else float("nan")
        out.append({"arrangement": label(arch), "mean": float(m), "sd": float(s),
                    "implied P(constant)": p, "implied NC sd": implied_sd,
                    "|implied - printed NC sd|": abs(implied_sd - nc_sd)})
    return pd.DataFrame(out)


def arrangement_summary(counts, arrangements: Sequence[tuple]):
    """Per arrangement: statistics of the linear regions of random networks (Fig. 3).

    Parameters
    ----------
    counts : DataFrame
        One row per network, columns ``arrangement`` (tuple), ``n_linear``, ``n_activation``,
        ``constant`` (bool: the output has zero slope everywhere, hence one linear region).
    arrangements : sequence of tuple
        Which arrangements, in the order of the rows returned.

    Returns
    -------
    DataFrame
        ``arrangement``, ``networks``, ``mean``, ``sd``, ``se``, ``NC networks``, ``NC mean``,
        ``NC sd``, ``NC se``, ``P(constant)``, ``se P(constant)``, ``P(one linear region)``,
        ``mean #activation``, ``mean ratio`` (#linear / #activation).

    Examples
    --------
    Fig. 3 statistics on a made-up sample of four networks (one constant, hence one linear region):

    >>> import pandas as pd
    >>> counts = pd.DataFrame({"arrangement": [(2,), (2,), (1, 1), (1, 1)], "n_linear": [4, 3, 1, 2],
    ...                        "n_activation": [4, 4, 2, 2], "constant": [False, False, True, False]})
    >>> s = arrangement_summary(counts, [(2,), (1, 1)])
    >>> s[["networks", "mean", "NC networks", "P(constant)"]].values.tolist()
    [[2.0, 3.5, 2.0, 0.0], [2.0, 1.5, 1.0, 0.5]]
    """
    import pandas as pd

    rows = []
    for arch in arrangements:
        g = counts[counts["arrangement"] == tuple(arch)]
        lin = g["n_linear"].to_numpy(dtype=float)
        const = g["constant"].to_numpy(dtype=bool)
        all_, nc = mean_se(lin), mean_se(lin[~const])
        n = len(lin)
        p = float(const.mean()) if n else float("nan")
        rows.append({
            "arrangement": label(arch), "networks": n, "mean": all_.mean,
            "sd": float(lin.std(ddof=1)) if n > 1 else float("nan"), "se": all_.se,
            "NC networks": nc.n, "NC mean": nc.mean,
            "NC sd": float(lin[~const].std(ddof=1)) if nc.n > 1 else float("nan"), "NC se": nc.se,
            "P(constant)": p, "se P(constant)": math.sqrt(p * (1 - p) / n) if n else float("nan"),
            "P(one linear region)": float((lin == 1).mean()) if n else float("nan"),
            "mean #activation": float(g["n_activation"].mean()) if n else float("nan"),
            "mean ratio": float((g["n_linear"] / g["n_activation"]).mean()) if n else float("nan"),
        })
    return pd.DataFrame(rows)


def combined_tolerance(se_ours: float, sd_paper: float, n_paper: float, k: float = 3.0) -> float:
    """``k * sqrt(se_ours^2 + (sd_paper / sqrt(n_paper))^2)``: ``k`` combined standard errors of
    our mean and the paper's (0 when ours is not finite, so the comparison is exact).

    Examples
    --------
    >>> round(combined_tolerance(1.0, 70.0, 4900), 3)
    4.243
    """
    se_paper = float(sd_paper) / math.sqrt(float(n_paper))
    t = float(k) * math.hypot(float(se_ours), se_paper)
    return t if math.isfinite(t) else 0.0


@dataclass(frozen=True)
class Claim1Margins:
    """Claim 1 on our numbers: for each pair of arrangements of different depth, the difference
    ``mean(shallower) - mean(deeper)`` in combined standard errors.

    ``smallest`` is the smallest of these margins (NaN when a standard error is missing),
    ``pair`` the pair that has it, ``margins`` every pair's, ``n_pairs`` their number.

    Examples
    --------
    >>> m = claim1_margins({(4,): [10.0, 11.0, 12.0], (2, 2): [5.0, 6.0, 7.0], (1, 1, 1, 1): [2.0, 2.0, 3.0]})
    >>> m.n_pairs, sorted(m.margins)[:1]
    (3, ['(2, 2) > (1, 1, 1, 1)'])
    """

    smallest: float
    pair: str
    margins: Mapping[str, float]
    n_pairs: int


def claim1_margins(samples: Mapping[tuple, Sequence[float]]) -> Claim1Margins:
    """:class:`Claim1Margins` of samples of #linear regions, one per arrangement: Claim 1 ("more
    linear regions are expected from shallow networks") holds on them when every margin is
    clearly positive (the chapter asks for more than 2).

    Examples
    --------
    Wang's Claim 1 (shallow nets have more linear regions) on made-up samples: the margin of the
    shallower arrangement over the deeper one, in combined standard errors:

    >>> m = claim1_margins({(4,): [10.0, 11.0, 12.0], (2, 2): [5.0, 6.0, 7.0]})
    >>> m.pair, round(m.smallest, 3), m.n_pairs
    ('(4) > (2, 2)', 6.124, 1)
    """
    stats = {tuple(a): mean_se(x) for a, x in samples.items()}
    pairs = [(a, b) for a in stats for b in stats if len(a) < len(b)]
    if not pairs:
        raise ValueError("claim1_margins needs arrangements of at least two depths; got "
                         f"{sorted(stats)}")
    margins = {}
    for a, b in pairs:
        se = math.hypot(stats[a].se, stats[b].se)
        margins[(a, b)] = (stats[a].mean - stats[b].mean) / se if se > 0 else float("nan")
    if any(not math.isfinite(v) for v in margins.values()):
        worst = next(k for k, v in margins.items() if not math.isfinite(v))
        smallest = float("nan")
    else:
        worst = min(margins, key=margins.get)
        smallest = float(margins[worst])
    return Claim1Margins(smallest, f"{label(worst[0])} > {label(worst[1])}",
                         {f"{label(a)} > {label(b)}": float(v) for (a, b), v in margins.items()},
                         len(pairs))
