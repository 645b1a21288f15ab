"""Linear regions = connected unions of cells with one affine output map (relutopo.linear_regions).

Ground truth: eq. (1.2) for one hidden layer (every neuron bends the output), the same count for
the neurons whose output weight is non-zero, a hand-computed 1-D bump with two disconnected zero
pieces, an independent 1-D count (cells sorted along the line, runs of equal maps), exact
rational arithmetic against the float tolerance, invariance under rescaling, and the Monte Carlo
mean against Theorem 2.1.
"""

from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relutopo.activation_regions import propagate
from relutopo.papers.wang.bounds import theorem_2_1
from relutopo.linear_regions import exact_affine_map, linear_regions
from relutopo.nets import ReluNet

decompose_mod = pytest.importorskip("relutopo.decompose", reason="the traversal engine is not available")
decompose = decompose_mod.decompose


def random_net(sizes, seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(-1, 1, (sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.uniform(-1, 1, sizes[i + 1]) for i in range(len(sizes) - 1)]
    return ReluNet.from_weights(Ws, bs)


def count(net, **kw):
    return linear_regions(decompose(net, domain=None), **kw)


# ----------------------------------------------------------------------------- closed forms
@settings(max_examples=12, deadline=None)
@given(M=st.integers(1, 3), n=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_one_hidden_layer_every_cell_is_a_linear_region(M, n, seed):
    lin = count(random_net([M, n, 1], seed))
    assert lin.n_linear == lin.n_activation == sum(comb(n, i) for i in range(M + 1))


@settings(max_examples=12, deadline=None)
@given(M=st.integers(1, 3), n=st.integers(2, 6), k=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_neurons_with_zero_output_weight_do_not_bend(M, n, k, seed):
    k = min(k, n - 1)
    net = random_net([M, n, 1], seed)
    Wout = net.weights[1].copy()
    Wout[0, :k] = 0.0
    lin = count(ReluNet.from_weights([net.weights[0], Wout], net.biases))
    assert lin.n_activation == sum(comb(n, i) for i in range(M + 1))
    assert lin.n_linear == sum(comb(n - k, i) for i in range(M + 1))


def test_bump_has_two_disconnected_zero_pieces():
    # F(x) = relu(x+1) - 2 relu(x) + relu(x-1): 0 | x+1 | 1-x | 0  -> four linear regions,
    # the two zero pieces are not connected
    net = ReluNet.from_weights([[[1.0], [1.0], [1.0]], [[1.0, -2.0, 1.0]]], [[1.0, 0.0, -1.0], [0.0]])
    lin = count(net)
    assert lin.n_activation == 4 and lin.n_linear == 4
    assert lin.zero_slope.sum() == 2 and not lin.constant


def test_constant_networks():
    # output weights zero: one linear region, constant
    net = random_net([3, 4, 3, 1], 0)
    flat = ReluNet.from_weights([*net.weights[:-1], np.zeros((1, 3))], net.biases)
    lin = count(flat)
    assert lin.n_linear == 1 and lin.constant and lin.n_activation > 1
    # a dead second layer (non-positive weights and biases): constant output, one linear region
    dead = ReluNet.from_weights([net.weights[0], -np.abs(net.weights[1]), net.weights[2]],
                                [net.biases[0], -np.abs(net.biases[1]), net.biases[2]])
    lin = count(dead)
    assert lin.n_linear == 1 and lin.constant


# ----------------------------------------------------------------------------- independent 1-D count
@settings(max_examples=20, deadline=None)
@given(widths=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=st.integers(0, 100_000))
def test_one_dimensional_runs_of_equal_maps(widths, seed):
    net = random_net([1, *widths, 1], seed)
    lin = count(net)
    # second algorithm: Wang's cells sorted along the line; a new linear region starts where the
    # (exact) map changes between consecutive intervals
    res = propagate(net)
    order = np.argsort(res.interior_points[:, 0])
    maps = [exact_affine_map(net, res.patterns[i]) for i in order]
    runs = 1 + sum(not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))
                   for a, b in zip(maps, maps[1:]))
    assert lin.n_activation == res.n_regions
    assert lin.n_linear == runs


# ----------------------------------------------------------------------------- invariants
@settings(max_examples=10, deadline=None)
@given(M=st.integers(1, 3), widths=st.lists(st.integers(1, 4), min_size=2, max_size=3),
       seed=st.integers(0, 10_000))
def test_exact_and_float_agree_and_partition(M, widths, seed):
    net = random_net([M, *widths, 1], seed)
    dec = decompose(net, domain=None)
    a = linear_regions(dec)
    b = linear_regions(dec, exact=True, net=net)
    assert a.n_linear == b.n_linear and np.array_equal(a.labels, b.labels)
    assert a.sizes.sum() == a.n_activation and 1 <= a.n_linear <= a.n_activation
    assert 0 < a.ratio <= 1
    # within a linear region every cell has the network's same affine map
    for lab in range(a.n_linear):
        idx = np.flatnonzero(a.labels == lab)
        A0, c0 = net.affine_map(dec.patterns[idx[0]])
        for i in idx[1:]:
            A, c = net.affine_map(dec.patterns[i])
            np.testing.assert_allclose(A, A0, atol=1e-9)
            np.testing.assert_allclose(c, c0, atol=1e-9)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(-3, 3), mu=st.floats(-3, 3))
def test_rescaling_input_and_output(seed, lam, mu):
    net = random_net([2, 3, 3, 1], seed)
    scaled = ReluNet.from_weights(
        [net.weights[0] / 10 ** lam, net.weights[1], net.weights[2] * 10 ** mu],
        [net.biases[0], net.biases[1], net.biases[2] * 10 ** mu])
    assert count(net).n_linear == count(scaled).n_linear


# ----------------------------------------------------------------------------- Theorem 2.1
@pytest.mark.parametrize("hidden,M", [((2, 2), 2), ((1, 1, 1), 1), ((2, 2, 2), 2), ((3, 2), 3)])
def test_monte_carlo_mean_respects_theorem_2_1(hidden, M):
    rng_seeds = range(200)
    vals = np.array([count(random_net([M, *hidden, 1], 50_000 + s)).n_linear for s in rng_seeds])
    mean, se = vals.mean(), vals.std(ddof=1) / np.sqrt(len(vals))
    for b in theorem_2_1(hidden, M):
        assert b.hypothesis_holds
        if b.lower is not None:
            assert mean >= float(b.lower) - 4 * se, (b.part, mean, float(b.lower))
        assert mean <= float(b.upper) + 4 * se, (b.part, mean, float(b.upper))


def test_bad_input():
    with pytest.raises(TypeError, match="dec must be a decomposition"):
        linear_regions(object())
    dec = decompose(random_net([2, 2, 1], 0), domain=None)
    with pytest.raises(ValueError, match="rtol"):
        linear_regions(dec, rtol=-1.0)
    with pytest.raises(ValueError, match="net="):
        linear_regions(dec, exact=True) if not hasattr(dec, "net") else linear_regions(
            dec, exact=True, net="not a net")


# ----------------------------------------------------------------------------- Wang's regions
ARRANGEMENTS_R7 = [(8, 2), (7, 3), (5, 5), (5, 3, 2), (4, 3, 3), (3, 3, 2, 2), (2, 2, 2, 2, 2)]


@pytest.mark.parametrize("arch", ARRANGEMENTS_R7)
def test_wang_and_engine_give_the_same_linear_regions_r7(arch):
    for seed in range(2):
        net = random_net([7, *arch, 1], 7000 + 10 * len(arch) + seed)
        a = linear_regions(decompose(net, domain=None))
        b = linear_regions(propagate(net))
        assert (a.n_activation, a.n_linear, a.constant) == (b.n_activation, b.n_linear, b.constant)


@settings(max_examples=20, deadline=None)
@given(M=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 100_000))
def test_wang_and_engine_linear_regions_random_architectures(M, widths, seed):
    net = random_net([M, *widths, 1], seed)
    dec, res = decompose(net, domain=None), propagate(net)
    a, b = linear_regions(dec), linear_regions(res)
    assert a.n_linear == b.n_linear and a.constant == b.constant
    # the partition into linear regions is the same (compare via patterns)
    key_a = {bytes(np.packbits(p)): lab for p, lab in zip(np.asarray(dec.patterns, bool), a.labels)}
    pairs = {(key_a[bytes(np.packbits(p))], lab) for p, lab in zip(res.patterns, b.labels)}
    assert len(pairs) == a.n_linear


def _facet_radius(net, p, q, k):
    """Independent LP: radius of the largest ball centred on neuron k's hyperplane inside both
    closed cells of patterns p and q (halfspaces from ReluNet.halfspaces)."""
    from scipy.optimize import linprog

    A1, c1 = net.halfspaces(p)
    A2, c2 = net.halfspaces(q)
    keep = np.arange(net.n_hidden) != k
    A = np.vstack([A1[keep], A2[keep]])
    c = np.concatenate([c1[keep], c2[keep]])
    nrm = np.linalg.norm(A, axis=1)
    ok = nrm > 1e-12
    A, c, nrm = A[ok], c[ok], nrm[ok]
    m = net.input_dim
    G = np.hstack([A, nrm[:, None]])
    Aeq = np.hstack([A1[k], [0.0]])[None, :]
    r = linprog(np.r_[np.zeros(m), -1.0], A_ub=G, b_ub=c, A_eq=Aeq, b_eq=[c1[k]],
                bounds=[(None, None)] * m + [(None, 1.0)], method="highs")
    return -r.fun if r.status == 0 else -np.inf


@settings(max_examples=8, deadline=None)
@given(M=st.integers(2, 3), widths=st.lists(st.integers(1, 4), min_size=2, max_size=3),
       seed=st.integers(0, 100_000))
def test_wang_facets_are_facets_and_engine_edges(M, widths, seed):
    net = random_net([M, *widths, 1], seed)
    res = propagate(net)
    dec = decompose(net, domain=None)
    key = [bytes(np.packbits(p)) for p in np.asarray(dec.patterns, bool)]
    engine_edges = {frozenset((key[u], key[v])) for u, v in dec.dual_graph.edges()}
    wkey = [bytes(np.packbits(p)) for p in res.patterns]
    for i, j, k in res.facets:
        assert frozenset((wkey[i], wkey[j])) in engine_edges
        assert _facet_radius(net, res.patterns[i], res.patterns[j], k) > 1e-9
    # every one-bit neighbour pair that the independent LP calls a facet is found
    found = {(int(i), int(j)) for i, j, _ in res.facets}
    index = {w: i for i, w in enumerate(wkey)}
    for i, p in enumerate(res.patterns):
        for k in range(net.n_hidden):
            q = p.copy()
            q[k] = not q[k]
            j = index.get(bytes(np.packbits(q)))
            if j is not None and j > i and _facet_radius(net, p, q, k) > 1e-7:
                assert (i, j) in found


# ----------------------------------------------------------------------------- vectorised pieces
from fractions import Fraction  # noqa: E402

from relutopo.linear_regions import _components, output_maps, pattern_output_maps  # noqa: E402
from relutopo.tolerances import AFFINE_EQUAL_RTOL  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(M=st.integers(1, 7), widths=st.lists(st.integers(1, 6), min_size=0, max_size=4),
       n_out=st.integers(1, 2), seed=st.integers(0, 100_000))
def test_pattern_output_maps_equal_affine_map_per_pattern(M, widths, n_out, seed):
    net = random_net([M, *widths, n_out], seed)
    bits = np.random.default_rng(seed).random((30, net.n_hidden)) < 0.5
    A, c = pattern_output_maps(net, bits)
    assert A.shape == (30, n_out, M) and c.shape == (30, n_out)
    for p, Ai, ci in zip(bits, A, c):
        A0, c0 = net.affine_map(p)
        np.testing.assert_allclose(Ai, A0, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ci, c0, rtol=1e-12, atol=1e-14)


def test_pattern_output_maps_against_exact_rationals():
    net = random_net([3, 3, 2, 1], 11)
    bits = np.array([[int(b) for b in np.binary_repr(k, net.n_hidden)] for k in range(2 ** net.n_hidden)],
                    dtype=bool)
    A, c = pattern_output_maps(net, bits)
    for p, Ai, ci in zip(bits, A, c):
        Ae, ce = exact_affine_map(net, p)
        np.testing.assert_allclose(Ai, Ae.astype(float), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ci, ce.astype(float), rtol=1e-12, atol=1e-15)
        assert all(Fraction(x) == y for x, y in zip(Ai.ravel(), Ae.ravel()) if y == 0)
    with pytest.raises(ValueError, match="patterns must have shape"):
        pattern_output_maps(net, bits[:, :3])


class _MapsOnly:
    """A decomposition-like object that only answers ``affine_map(i)`` (the fallback path)."""

    def __init__(self, dec):
        self._dec, self.n_regions = dec, dec.n_regions

    def affine_map(self, i):
        return self._dec.affine_map(i)


@pytest.mark.parametrize("algorithm", ["engine", "wang"])
def test_output_maps_of_both_results_equal_their_affine_maps(algorithm):
    net = random_net([4, 4, 3, 1], 5)
    dec = decompose(net, domain=None) if algorithm == "engine" else propagate(net)
    A, c = output_maps(dec)
    A_ref, c_ref = output_maps(_MapsOnly(dec))
    assert A.shape == A_ref.shape == (dec.n_regions, 1, 4) and c.shape == c_ref.shape
    np.testing.assert_allclose(A, A_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12, atol=1e-14)


def _bfs_labels(n, edges):
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    labels = np.full(n, -1, dtype=np.int64)
    k = 0
    for s in range(n):
        if labels[s] < 0:
            labels[s], queue = k, [s]
            while queue:
                u = queue.pop()
                for v in adj[u]:
                    if labels[v] < 0:
                        labels[v] = k
                        queue.append(v)
            k += 1
    return labels


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), density=st.floats(0, 0.2), seed=st.integers(0, 100_000))
def test_components_are_numbered_by_first_appearance(n, density, seed):
    rng = np.random.default_rng(seed)
    u, v = np.nonzero(rng.random((n, n)) < density)
    edges = np.stack([u, v], axis=1)            # any order, both directions, self-loops
    assert np.array_equal(_components(n, edges), _bfs_labels(n, edges.tolist()))


def _reference_linear_regions(dec, rtol=AFFINE_EQUAL_RTOL):
    """Straightforward count: per-cell maps, the networkx dual graph, BFS over equal neighbours."""
    n = dec.n_regions
    maps = [dec.affine_map(i) for i in range(n)]
    A = np.stack([np.atleast_2d(a) for a, _ in maps])
    c = np.stack([np.atleast_1d(b) for _, b in maps])
    sA, sc = np.abs(A).max(), np.abs(c).max()
    same = [(u, v) for u, v in dec.dual_graph.edges()
            if np.abs(A[u] - A[v]).max() <= rtol * sA and np.abs(c[u] - c[v]).max() <= rtol * sc]
    labels = _bfs_labels(n, same)
    zero = np.array([np.abs(a).max() <= rtol * sA for a in A])
    return int(labels.max()) + 1, labels, zero


@settings(max_examples=25, deadline=None)
@given(M=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 100_000))
def test_linear_regions_equal_a_straightforward_reference(M, widths, seed):
    net = random_net([M, *widths, 1], seed)
    for dec in (decompose(net, domain=None), propagate(net)):
        lin = linear_regions(dec)
        n_ref, labels_ref, zero_ref = _reference_linear_regions(dec)
        assert lin.n_linear == n_ref
        assert np.array_equal(lin.labels, labels_ref)
        assert np.array_equal(lin.zero_slope, zero_ref)


@pytest.mark.parametrize("arch", [(8, 2), (5, 3, 2), (2, 2, 2, 2, 2)])
def test_linear_regions_equal_the_reference_r7(arch):
    net = random_net([7, *arch, 1], 321)
    dec = decompose(net, domain=None)
    lin = linear_regions(dec)
    n_ref, labels_ref, _ = _reference_linear_regions(dec)
    assert lin.n_linear == n_ref and np.array_equal(lin.labels, labels_ref)
