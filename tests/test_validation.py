"""relutopo.validation: each check returns the argument in the library's form, and each error
names the argument, shows its value, says what was expected, and derives from RelutopoError and
the builtin it refines."""

import re

import numpy as np
import pytest

from relutopo.domains import Box
from relutopo.errors import (ComplexError, NetworkError, RelutopoError, ScaleRangeError,
                             ValidationError, ValidationTypeError)
from relutopo.validation import check_box, check_distance_matrix, check_points, check_weights


def raises(exc, *fragments):
    """pytest.raises for ``exc`` whose message contains every fragment (literally)."""
    return pytest.raises(exc, match="".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments))


def test_errors_derive_from_the_base_and_the_builtin():
    assert issubclass(ValidationError, RelutopoError) and issubclass(ValidationError, ValueError)
    assert issubclass(ValidationTypeError, RelutopoError) and issubclass(ValidationTypeError, TypeError)


# -------------------------------------------------------------------------------- check_box
def test_check_box_accepts_a_box_and_none():
    b = Box(-1, 2, dim=3)
    assert check_box(b, dim=3) is b
    assert check_box(None, dim=3) is None
    assert check_box(b) is b                                   # no dimension to check


def test_check_box_turns_a_half_width_into_a_box_only_where_allowed():
    b = check_box(2.5, dim=2, half_width=True)
    assert b.lo.tolist() == [-2.5, -2.5] and b.hi.tolist() == [2.5, 2.5]
    assert check_box(np.float32(1.0), dim=1, half_width=True).hi.tolist() == [1.0]
    with raises(ValidationTypeError, "domain must be a relutopo.domains.Box or None (all of R^d)",
                "got float 2.5"):
        check_box(2.5, dim=2)
    for bad in (0.0, -1.0, np.inf, np.nan):
        with raises(ValidationError, "positive finite half-width", f"domain={bad!r}"):
            check_box(bad, dim=2, half_width=True)
    with raises(ValidationTypeError, "or a positive half-width", "got bool True"):
        check_box(True, dim=2, half_width=True)              # a bool is not a number here


@pytest.mark.parametrize("value, shown", [([0, 1], "got list [0, 1]"), ("box", "got str 'box'"),
                                          ((np.zeros(2), np.ones(2)), "got tuple (array(")])
def test_check_box_names_the_argument_its_value_and_the_expectation(value, shown):
    with raises(ValidationTypeError, "window must be a relutopo.domains.Box", shown):
        check_box(value, name="window")


def test_check_box_dimension_and_none_messages():
    with raises(ValidationError, "domain has dimension 2 but ReluNet(3→1) takes 3 inputs",
                "use Box(lo, hi, dim=3)"):
        check_box(Box(0, 1, dim=2), dim=3, owner="ReluNet(3→1)")
    with raises(ValidationError, "domain has dimension 2 but 3 was expected"):
        check_box(Box(0, 1, dim=2), dim=3)
    with raises(ValidationError, "domain=None (all of R^d) is not allowed here", "Box(lo, hi, dim=2)"):
        check_box(None, dim=2, allow_none=False)


def test_check_box_refuses_boxes_float64_cannot_resolve():
    with raises(ScaleRangeError, "wider than float64 can represent"):
        check_box(Box(-1e308, 1e308, dim=2))
    with raises(ScaleRangeError, "is too thin", "CHEBYSHEV_RTOL"):
        check_box(Box([0.0, 0.0], [1.0, 1e-12]))
    # scale-free: the same shape at any magnitude passes or fails alike
    for s in (1e-200, 1.0, 1e200):
        assert check_box(Box([0.0, 0.0], [s, s * 1e-6])) is not None


def test_check_box_raises_the_callers_error_class():
    with raises(ComplexError, "domain has dimension 1"):
        check_box(Box(0, 1, dim=1), dim=2, error=ComplexError)
    with raises(ComplexError, "domain=None"):
        check_box(None, allow_none=False, error=ComplexError)


def test_box_itself_raises_validation_errors():
    with raises(ValidationError, "lo < hi", "coordinate 1"):
        Box([0, 1], [1, 0])
    with raises(ValidationError, "dim=..."):
        Box(0, 1)


# ----------------------------------------------------------------------------- check_points
def test_check_points_returns_a_float_array():
    X = check_points([[1, 2], [3, 4]], dim=2)
    assert X.dtype == np.float64 and X.shape == (2, 2)
    assert check_points([1.0, 2.0], dim=2, allow_1d=True).shape == (1, 2)
    assert np.isinf(check_points([[np.inf, 0]], dim=2, finite=False)[0, 0])


def test_check_points_messages():
    with raises(ValidationError, "X must have shape (n, 2) for ReluNet(2→1); got (3, 3)"):
        check_points(np.zeros((3, 3)), dim=2, owner="ReluNet(2→1)")
    with raises(ValidationError, "X must have shape (n, 2); got (2,)"):
        check_points(np.zeros(2), dim=2)
    with raises(ValidationError, "X contains 2 NaN or infinite value(s) (first in row 1)"):
        check_points([[0, 0], [np.nan, 1], [0, -np.inf]], dim=2)
    with raises(ValidationError, "data needs at least 2 points; got 1"):
        check_points([[0, 0]], dim=2, name="data", min_points=2)
    with raises(ValidationError, "X cannot be read as a float array", "'a'"):
        check_points([["a", "b"]])


# -------------------------------------------------------------------- check_distance_matrix
def _metric(n=5, seed=0, scale=1.0):
    P = np.random.default_rng(seed).normal(size=(n, 2)) * scale
    return np.linalg.norm(P[:, None] - P[None], axis=2)


@pytest.mark.parametrize("D, fragments", [
    (np.zeros((2, 3)), ["D must be a square distance matrix (n, n); got shape (2, 3)"]),
    (np.zeros((0, 0)), ["D is empty"]),
    (np.array([[0, np.nan], [np.nan, 0]]), ["D has NaN entries (first D[0, 1])"]),
    (np.array([[0, -1], [-1, 0]]), ["D[0, 1] = -1.0 is negative"]),
    (np.array([[0, 1], [2, 0]]), ["D is not symmetric: D[0, 1] = 1.0 but D[1, 0] = 2.0"]),
    (np.array([[1, 1], [1, 0]]), ["D must be hollow (zero diagonal); D[0, 0] = 1.0"]),
    (np.array([[0, np.inf], [np.inf, 0]]), ["D[0, 1] = inf", "must be finite"]),
    ([["a"]], ["D cannot be read as a float matrix"]),
])
def test_distance_matrix_rule(D, fragments):
    with raises(ValidationError, *fragments):
        check_distance_matrix(D)


def test_infinite_distances_only_where_allowed_and_symmetric():
    D = np.array([[0, 1, np.inf], [1, 0, np.inf], [np.inf, np.inf, 0.0]])
    assert np.array_equal(check_distance_matrix(D, allow_inf=True), D)
    D[2, 0] = 5.0
    with raises(ValidationError, "not symmetric", "D[0, 2] = inf but D[2, 0] = 5.0"):
        check_distance_matrix(D, allow_inf=True)


@pytest.mark.parametrize("scale", [1e-30, 1e-6, 1.0, 1e6, 1e30])
def test_symmetry_is_judged_relative_to_the_matrix(scale):
    """The old homology rule had an absolute floor (1e-12 * max(|D|, 1)): a matrix of tiny
    distances passed any asymmetry. The rule is now scale-free."""
    D = _metric(scale=scale)
    check_distance_matrix(D + 1e-14 * scale * np.triu(np.ones_like(D), 1))  # rounding: fine
    with raises(ValidationError, "not symmetric"):
        check_distance_matrix(D + 1e-6 * scale * np.triu(np.ones_like(D), 1))


def test_returns_a_copy():
    D = _metric()
    out = check_distance_matrix(D)
    out[0, 1] = 99.0
    assert D[0, 1] != 99.0


def test_homology_and_relative_apply_the_same_rule():
    """One rule: homology's barcodes refuse inf (ripser needs finite distances); relative's
    functions accept it (geodesic distances between components); both refuse a non-zero
    diagonal, which relative used to let through."""
    from relutopo.homology import barcodes
    from relutopo.relative import quotient_distance_matrix, rips_barcodes

    D = _metric(6)
    D[0, 0] = 0.5
    for f in (barcodes, rips_barcodes, lambda M: quotient_distance_matrix(M, [])):
        with raises(ValueError, "hollow"):
            f(D)
    D[0, 0] = 0.0
    D[0, 5] = D[5, 0] = np.inf
    with raises(ValueError, "must be finite"):
        barcodes(D)
    assert len(rips_barcodes(D, 0)) == 1


# ---------------------------------------------------------------------------- check_weights
def test_check_weights_returns_read_only_tuples():
    ws, bs = check_weights([[[1, 2]], [[3]]], [[0], np.zeros((1, 1))])
    assert [w.shape for w in ws] == [(1, 2), (1, 1)] and [b.shape for b in bs] == [(1,), (1,)]
    assert all(not a.flags.writeable and a.dtype == np.float64 for a in ws + bs)


@pytest.mark.parametrize("weights, biases, fragments", [
    ([], [], ["at least one layer"]),
    ([np.eye(2)], [], ["1 weight matrices but 0 bias vectors"]),
    ([np.eye(2), np.ones((1, 3))], [np.zeros(2), [0]], ["layer 1 does not chain", "expects 3 inputs"]),
    ([np.ones(2)], [[0]], ["weights[0] must be a 2-D matrix"]),
    ([np.eye(2)], [np.zeros(3)], ["biases[0] must have shape (2,)", "got (3,)"]),
    ([np.eye(2) * np.nan], [np.zeros(2)], ["weights[0] contains 4 NaN or infinite value(s)"]),
    ([np.eye(2) * 1j], [np.zeros(2)], ["weights[0] has complex dtype"]),
    ([np.array([["a", "b"]])], [np.zeros(1)], ["weights[0] has dtype", "(text)"]),
    ([np.array([[1.0, None]], dtype=object)], [np.zeros(1)], ["weights[0] holds a NoneType entry"]),
])
def test_check_weights_messages(weights, biases, fragments):
    with raises(ValidationError, *fragments):
        check_weights(weights, biases)
    with raises(NetworkError, *fragments):              # what ReluNet.from_weights raises
        check_weights(weights, biases, error=NetworkError)
