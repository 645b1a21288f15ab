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


# ------------------------------------------------------------------ the `slow` marker
# `make test-fast` runs `pytest -m "not slow and not notebook"`. Besides the tests decorated with
# @pytest.mark.slow, these are slow: property tests that draw many examples (hypothesis-heavy)
# and the benchmark-like tests named below (engine stress systems, extreme weight scales,
# photo-patch generation, trained pools, worker-count and cluster equivalence, subprocesses).
HYPOTHESIS_SLOW_EXAMPLES = 25

SLOW_TESTS = (
    "tests/test_activation_regions.py::test_same_regions_as_engine_r7",
    "tests/test_activation_regions.py::test_same_regions_as_engine_random_architectures",
    "tests/test_adversarial.py::test_extreme_but_pattern_preserving_weight_scales",
    "tests/test_chebyshev.py::test_engine_like_systems_from_a_decomposition",
    "tests/test_cifar10.py::test_photo_patches_substitute",
    "tests/test_cifar10.py::test_photo_patch_train_and_test_crops_come_from_disjoint_columns",
    "tests/test_claims.py::test_correlation_sign_and_power",
    "tests/test_cli.py::test_python_dash_m_is_the_same_command",
    "tests/test_cnt.py::test_count_modes_separates_mixtures",
    "tests/test_cnt_pools.py",
    "tests/test_region_sweeps.py::test_sweep_results_do_not_depend_on_workers",
    "tests/test_sweep_dask.py",
)


def _is_slow(item) -> bool:
    node = item.nodeid.split("[", 1)[0]
    if any(node == s or node.startswith(s + "::") for s in SLOW_TESTS):
        return True
    settings = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
    return settings is not None and settings.max_examples >= HYPOTHESIS_SLOW_EXAMPLES


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if _is_slow(item) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
