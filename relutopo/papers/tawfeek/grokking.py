"""Two-dimensional binary classification data for the grokking experiment (Tawfeek et al. 2025).

The paper's summary does not give its data, so we define it here. Points are uniform in the box
``[lo, hi]^2``; the class of ``x`` is the sign of a *boundary function* ``g(x)``:

* ``"sine"`` (default): ``g(x) = x_2 - a sin(pi f x_1)``, a wavy curve cutting the box in two;
* ``"linear"``: ``g(x) = x_2 - a x_1``;
* ``"circle"``: ``g(x) = rho^2 - |x|^2`` with ``rho = (hi - lo) sqrt(1 / (2 pi))`` (the disc
  holds half the box area).

``y = 1[g(x) > 0]``; with ``label_noise = p`` each *training* label is flipped with probability
``p`` (test labels are clean). A small training set and a large test set make grokking visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BOUNDARIES", "boundary_function", "grokking_data", "BinaryData2D"]

BOUNDARIES = ("sine", "linear", "circle")


def _check_kind(kind):
    if kind not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}; got {kind!r}")


def boundary_function(X, kind: str = "sine", *, amplitude: float = 0.5, frequency: float = 1.0,
                      lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """``g(X)`` (shape ``(n,)``); the class is ``g > 0`` and the true decision boundary ``g = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(boundary_function(np.array([[0.0, 0.2], [0.0, -0.2]])), 6).tolist()
    [0.2, -0.2]
    """
    _check_kind(kind)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2); got {X.shape}")
    if kind == "sine":
        return X[:, 1] - amplitude * np.sin(np.pi * frequency * X[:, 0])
    if kind == "linear":
        return X[:, 1] - amplitude * X[:, 0]
    rho2 = (hi - lo) ** 2 / (2.0 * np.pi)
    c = 0.5 * (lo + hi)
    return rho2 - ((X - c) ** 2).sum(axis=1)


@dataclass(frozen=True)
class BinaryData2D:
    """Train/test split of a 2-D binary task. Labels are float 0/1 (for a logistic loss).

    Examples
    --------
    >>> import numpy as np
    >>> d = grokking_data(40, 10, seed=0)
    >>> bool(((boundary_function(d.X_train) > 0) == (d.y_train == 1)).all()), d.boundary
    (True, 'sine')
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    boundary: str
    amplitude: float
    frequency: float
    lo: float
    hi: float

    def g(self, X) -> np.ndarray:
        """The boundary function of this task at ``X``."""
        return boundary_function(X, self.boundary, amplitude=self.amplitude,
                                 frequency=self.frequency, lo=self.lo, hi=self.hi)


def grokking_data(n_train: int, n_test: int, *, seed, boundary: str = "sine",
                  amplitude: float = 0.5, frequency: float = 1.0, label_noise: float = 0.0,
                  lo: float = -1.0, hi: float = 1.0) -> BinaryData2D:
    """Draw the training and test sets (uniform in ``[lo, hi]^2``, labels ``1[g > 0]``).

    Parameters
    ----------
    n_train, n_test : int
        Sizes (``n_train >= 2``; both classes are guaranteed in the training set by redrawing).
    seed : int
        Seeds every draw.
    boundary, amplitude, frequency : see the module docstring.
    label_noise : float in [0, 0.5)
        Probability of flipping each training label.

    Examples
    --------
    >>> d = grokking_data(40, 10, seed=0)
    >>> d.X_train.shape, d.X_test.shape, sorted(set(d.y_train.tolist()))
    ((40, 2), (10, 2), [0.0, 1.0])
    """
    _check_kind(boundary)
    for name, v, low in (("n_train", n_train, 2), ("n_test", n_test, 1)):
        if not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {v!r}")
    if not 0.0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be in [0, 0.5); got {label_noise}")
    if not hi > lo:
        raise ValueError(f"need lo < hi; got lo={lo}, hi={hi}")
    rng = np.random.default_rng(seed)
    kw = dict(amplitude=amplitude, frequency=frequency, lo=lo, hi=hi)
    for _ in range(1000):
        Xtr = rng.uniform(lo, hi, size=(int(n_train), 2))
        ytr = (boundary_function(Xtr, boundary, **kw) > 0).astype(np.float64)
        if 0 < ytr.sum() < n_train:
            break
    else:  # pragma: no cover - probability ~0 for any sensible task
        raise ValueError("could not draw a training set with both classes; the boundary leaves one "
                         "class (almost) empty in the box")
    flip = rng.random(int(n_train)) < label_noise
    ytr = np.where(flip, 1.0 - ytr, ytr)
    Xte = rng.uniform(lo, hi, size=(int(n_test), 2))
    yte = (boundary_function(Xte, boundary, **kw) > 0).astype(np.float64)
    return BinaryData2D(Xtr, ytr, Xte, yte, boundary, float(amplitude), float(frequency),
                        float(lo), float(hi))
