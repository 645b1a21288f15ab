"""The engine-slices chapter's helpers: anchors, sampling checks and the bisection on patterns."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from relutopo import decompose
from relutopo.papers.engine_slices.chapter import (bisection_count, first_of_classes, plane_checks,
                                                   segment_checks)
from relutopo.papers.engine_slices.residual_cnn import residual_cnn
from relutopo.slices import Plane, Segment


def test_first_of_classes():
    assert first_of_classes([3, 1, 1, 0, 3], [0, 1, 3]) == [3, 1, 0]
    with pytest.raises(ValueError, match="class 7"):
        first_of_classes([0, 1], [7])


def test_bisection_counts_pieces_of_a_known_step_function():
    # pieces of [0, 1] cut at 0.31, 0.31001 and 0.9 (the second one narrower than the samples)
    cuts = np.array([0.31, 0.31001, 0.9])

    def fn(t):
        return [int(np.searchsorted(cuts, x)).to_bytes(2, "little") for x in np.atleast_1d(t)]

    # the narrow piece lies between samples, but the ends of its interval differ: bisection finds it
    assert bisection_count(fn, 0.0, 1.0, n_samples=11) == 4
    assert bisection_count(fn, 0.0, 1.0, n_samples=200) == 4
    # stopping above its width misses it (the limit of any bisection)
    assert bisection_count(fn, 0.0, 1.0, n_samples=11, min_len=1e-3) == 3


def test_checks_of_a_small_cnn_find_no_failure():
    torch.manual_seed(0)
    model = residual_cnn(width=2, seed=1, size=16).eval()
    x = np.random.default_rng(0).normal(size=(3, 1, 16, 16))
    dec = decompose(model, Plane.through(*x, margin=0.1))
    chk = plane_checks(model, dec, 40)
    assert chk["unknown_patterns"] == chk["misplaced"] == chk["class_mismatch"] == 0
    assert chk["interior_mismatch"] == 0
    assert chk["area_relative_error"] < 1e-9 and chk["output_relative_error"] < 1e-9
    assert chk["output_mismatches"] == 0
    assert chk["distinct_sampled"] <= dec.n_regions
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched
    sdec = decompose(model, Segment(x[0], x[1]))
    s = segment_checks(sdec, 50, bisection_fraction=0.5)
    assert s["interior_mismatch"] == 0
    assert s["bisection_pieces"] == s["exact_pieces_in_range"]
