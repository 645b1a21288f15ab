"""Shared test helpers (pytest loads this file first; test modules import from it)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from relutopo import ReluNet


def random_net(sizes: Sequence[int], seed: int, *, dist: str = "uniform", low: float = -1.0,
               high: float = 1.0, bias_scale: float = 1.0) -> ReluNet:
    """A seeded random network with layer widths ``sizes`` (input first, output last).

    All weight matrices are drawn first, then all biases (times ``bias_scale``), from
    ``U(low, high)`` (``dist="uniform"``) or ``N(0, 1)`` (``dist="normal"``).
    """
    rng = np.random.default_rng(seed)
    if dist == "uniform":
        def draw(shape):
            return rng.uniform(low, high, shape)
    elif dist == "normal":
        def draw(shape):
            return rng.normal(size=shape)
    else:
        raise ValueError(f"dist must be 'uniform' or 'normal'; got {dist!r}")
    ws = [draw((b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [draw(b) * bias_scale for b in sizes[1:]]
    return ReluNet.from_weights(ws, bs)
