"""Numbers of La Malfa et al. that the chapter tests against (Table 1, Sec. 4).

Kept in one place so that the training loop (which stops a network when it reaches the paper's
band) and the claims read the same values.
"""

from __future__ import annotations

__all__ = ["TABLE1", "TABLE1_DEPTHS", "band_reached"]

#: Table 1: min-max test accuracy over 30 networks (FC, CNN, RNN) or AE reconstruction MSE, per
#: (data set, architecture); "independently from the architecture and activation" (its caption).
TABLE1 = {("mnist", "fc"): (0.90, 0.95), ("mnist", "cnn"): (0.89, 0.96), ("mnist", "rnn"): (0.84, 0.89),
          ("mnist", "ae"): (0.058, 0.067), ("cifar10", "fc"): (0.27, 0.41), ("cifar10", "cnn"): (0.54, 0.60),
          ("cifar10", "rnn"): (0.43, 0.45), ("cifar10", "ae"): (0.83, 0.93)}

#: Table 1's "Layers" column (the RNN's is "-": we use 3).
TABLE1_DEPTHS = {"fc": (3, 5, 7, 9), "cnn": (3, 5), "rnn": (3,), "ae": (3, 5, 7, 9)}


def band_reached(dataset: str, arch: str, score: float) -> bool:
    """Whether ``score`` has reached the paper's Table 1 band for (``dataset``, ``arch``).

    For a classifier, the test accuracy is at least the band's lower edge; for an auto-encoder,
    the test MSE is at most the band's upper edge (lower is better). A score beyond the far edge
    (more accurate than the paper's best network) also counts as reached: training stops there
    and the Table 1 claim reports the overshoot.

    Examples
    --------
    Table 1, MNIST: FC accuracy 0.90-0.95, AE MSE 0.058-0.067:

    >>> band_reached("mnist", "fc", 0.91), band_reached("mnist", "fc", 0.89)
    (True, False)
    >>> band_reached("mnist", "ae", 0.06), band_reached("mnist", "ae", 0.07)
    (True, False)
    """
    key = (dataset, arch)
    if key not in TABLE1:
        raise ValueError(f"Table 1 has no band for {key}; known: {sorted(TABLE1)}")
    lo, hi = TABLE1[key]
    score = float(score)
    if score != score:  # nan: diverged
        return False
    return score <= hi if arch == "ae" else score >= lo
