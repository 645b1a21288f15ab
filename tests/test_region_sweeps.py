"""Per-network tasks of the Wang sweeps (relutopo.papers.wang.sweeps)."""

import numpy as np
import pytest

from relutopo.papers.wang.sweeps import (
    code_fingerprint, count_regions, cross_check, random_network_counts, uniform_net)
from relutopo.sweep import run_sweep


def test_uniform_net_is_seeded_and_in_range():
    a, b, c = uniform_net([7, 5, 3, 1], 1), uniform_net([7, 5, 3, 1], 1), uniform_net([7, 5, 3, 1], 2)
    assert a.hidden_sizes == (5, 3) and a.input_dim == 7 and a.output_dim == 1
    for wa, wb, wc in zip(a.weights + a.biases, b.weights + b.biases, c.weights + c.biases):
        assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)
        assert np.all(np.abs(wa) <= 1.0)
    w = np.concatenate([x.ravel() for x in uniform_net([7, 200, 1], 0, scale=2.0).weights])
    assert np.all(np.abs(w) <= 2.0) and abs(w.mean()) < 0.1 and abs(w.var() - 4 / 3) < 0.15


def test_both_methods_count_the_same():
    for hidden in [(3, 2), (2, 2, 2)]:
        net = uniform_net([3, *hidden, 1], 5)
        e, w = count_regions(net, "engine"), count_regions(net, "wang")
        assert (e["n_activation"], e["n_linear"], e["constant"]) == \
               (w["n_activation"], w["n_linear"], w["constant"])
    r = cross_check([4, 2], 3, seed=9)
    assert r["same_patterns"] and r["n_linear_engine"] == r["n_linear_wang"]
    with pytest.raises(ValueError, match="method must be"):
        count_regions(net, "fast")


def test_sweep_results_do_not_depend_on_workers(tmp_path):
    tasks = [dict(hidden=[3, 2], input_dim=2, seed=s, method="wang") for s in range(6)]
    one = run_sweep(random_network_counts, tasks, n_jobs=1, progress=False)
    two = run_sweep(random_network_counts, tasks, n_jobs=2, progress=False, cache_dir=tmp_path)
    key = lambda rs: [(r["seed"], r["n_activation"], r["n_linear"]) for r in rs]
    assert key(one) == key(two)
    assert len(code_fingerprint()) == 16


def test_code_fingerprint_follows_extra_modules():
    base = code_fingerprint("engine")
    assert code_fingerprint("engine", extra=("relutopo.papers.wang.table1",)) != base
    assert code_fingerprint("engine") == base
    with pytest.raises(ValueError, match="method must be one of"):
        code_fingerprint("fast")


def test_the_once_inconsistent_532_network_is_counted_by_the_engine():
    # a Fig. 3 network (book sweep, (5,3,2) #221) on which the engine once reported 5 facets
    # whose neighbour it could not find (a false alarm: same 334 regions as Intersect/Add/Cut),
    # so the sweep recounted it by Intersect/Add/Cut; since unmatched facets are re-crossed from
    # the facet's point farthest from every other hyperplane (91edf6b) the engine counts it
    net = uniform_net([7, 5, 3, 2, 1], 2558825136)
    c = count_regions(net, "engine")
    w = count_regions(net, "wang")
    assert c["counted_by"] == "engine" and w["counted_by"] == "wang"
    assert (c["n_activation"], c["n_linear"]) == (w["n_activation"], w["n_linear"]) == (334, 266)


@pytest.mark.parametrize("compiled", [False, True])
def test_the_532_network_has_no_unmatched_facet_and_the_patterns_of_intersect_add_cut(compiled):
    from relutopo.activation_regions import propagate
    from relutopo.decompose import decompose

    net = uniform_net([7, 5, 3, 2, 1], 2558825136)
    dec = decompose(net, None, compiled=compiled)
    assert dec.stats["unmatched_facets"] == 0 and dec.stats["wrong_interior_points"] == 0
    assert dec.n_regions == 334
    iac = propagate(net)
    same = {bytes(np.packbits(p)) for p in np.asarray(dec.patterns, dtype=bool)}
    assert same == {bytes(np.packbits(p)) for p in iac.patterns} and iac.n_regions == 334


def test_an_inconsistent_engine_result_is_recounted_by_intersect_add_cut(monkeypatch):
    import sys

    from relutopo.errors import InconsistentDecompositionError

    D = sys.modules["relutopo.decompose"]

    def inconsistent(*args, **kwargs):
        raise InconsistentDecompositionError("forced")

    monkeypatch.setattr(D, "decompose", inconsistent)
    net = uniform_net([3, 3, 2, 1], 5)
    c, w = count_regions(net, "engine"), count_regions(net, "wang")
    assert c["counted_by"] == "wang" and c["method"] == "engine"
    assert (c["n_activation"], c["n_linear"]) == (w["n_activation"], w["n_linear"])
