"""Tests of relutopo.papers.beshkov: sources, the paper's XOR networks, the deformation test and
the experiment tasks of the relative-homology chapter."""

import numpy as np
import pytest

from relutopo.papers.beshkov.deform import (DEFORMATIONS, TRUE_BETTI, deformation_net,
                                            deformation_test, two_circles)
from relutopo.papers.beshkov.sources import SETTINGS, settings_table
from relutopo.papers.beshkov.xor import (XOR_LABELS, XOR_POINTS, overlap_xor_net, rank_xor_net,
                                         xor_mechanism)


# ------------------------------------------------------------------------------- sources
def test_every_setting_names_its_source():
    kinds = {"author's code", "paper text", "our choice"}
    for key, s in SETTINGS.items():
        assert s.kind in kinds, key
        if s.kind == "author's code":
            assert s.source.split(": ")[1].endswith(".py"), key
        if s.kind == "our choice" and not s.same:
            assert s.note, f"{key}: a changed setting needs its reason"


def test_settings_table_resolves_profiles():
    rows = {r["setting"]: r for r in settings_table("paper")}
    assert rows["spheres_points"]["ours"] == "500"
    assert rows["spheres_points"]["paper"] == "500"


# ------------------------------------------------------------------------------- XOR
def test_xor_networks_solve_xor():
    out = rank_xor_net().forward(XOR_POINTS).ravel()
    assert np.all((out > 0.5) == (XOR_LABELS == 1))
    rep = overlap_xor_net().forward(XOR_POINTS)
    assert np.allclose(rep[0], rep[1]) and not np.allclose(rep[2], rep[3])


def test_xor_mechanisms_are_told_apart():
    r, o = xor_mechanism(rank_xor_net()), xor_mechanism(overlap_xor_net())
    assert r.glued_by_rank() and not r.glued_by_overlap()
    assert o.glued_by_overlap() and not o.glued_by_rank()
    # rank network: class 0 shares the region of rank 0 at depth 1
    assert r.regions[0][0] == r.regions[0][1] and r.ranks[0][0] == 0
    # overlap network: class 0 in different regions at every depth, one overlap class at the end
    assert all(reg[0] != reg[1] for reg in o.regions)
    assert o.overlap[-1][0] == o.overlap[-1][1] >= 0
    # class 1 is never glued in the overlap network
    assert o.overlap[-1][2] < 0 or o.overlap[-1][2] != o.overlap[-1][3]


def test_xor_mechanism_of_an_injective_net_finds_neither():
    from relutopo.nets import ReluNet

    net = ReluNet.from_weights([np.eye(2), np.eye(2)], [np.full(2, 5.0), np.zeros(2)])
    m = xor_mechanism(net)
    assert not m.glued_by_rank() and not m.glued_by_overlap() and not m.same_image()


# ------------------------------------------------------------------------------- deformations
@pytest.mark.parametrize("name", sorted(DEFORMATIONS))
def test_deformation_nets_compute_their_maps(name):
    X = two_circles(20, seed=3)
    Y = deformation_net(name).forward(X)
    x1, x2 = X[:, 0], X[:, 1]
    expect = {"stretch": np.c_[40 * x1, x2], "flatten": np.c_[x1, 0.1 * x2],
              "squeeze_one": np.c_[np.where(x1 > 0, 0.1 * x1, x1), x2], "shrink": 0.05 * X,
              "fold": np.c_[np.abs(x1 + 3) - 3, x2]}[name]
    assert np.allclose(Y, expect)


@pytest.mark.parametrize("n", [60, 250])
def test_deformation_test_separates_topology_from_geometry(n):
    """At the book's and the paper's sampling (a stretch by 8 left 250 points per circle whole)."""
    res = {r.name: r for r in deformation_test(two_circles(n, seed=1), eps=0.3)}
    assert res["input"].rips == res["input"].quotient == TRUE_BETTI["input"]
    for name, r in res.items():
        assert r.quotient == TRUE_BETTI[name], name
        if r.kind == "geometric":
            assert r.rips != r.true and r.n_classes == 0
    assert res["fold"].n_classes > 0 and res["fold"].quotient != res["input"].quotient


def test_deformation_test_can_fail_at_a_bad_scale():
    """At a scale above the circles' size the quotient loses the loops too."""
    res = deformation_test(two_circles(30, seed=0), eps=2.5, names=("stretch",))
    assert res[1].quotient != TRUE_BETTI["stretch"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="name"):
        deformation_net("twist")
    with pytest.raises(ValueError, match="n_per_circle"):
        two_circles(2)
    with pytest.raises(ValueError, match="eps"):
        deformation_test(two_circles(5), eps=-1.0)


# ------------------------------------------------------------------------------- tasks
def test_init_overlap_task_reports_rank_and_overlap_classes():
    from relutopo.papers.beshkov.experiments import init_overlap_task

    r = init_overlap_task("spheres1", 10, width=5, depth=1, seed=0)
    assert r["n_regions"] <= 1 + 5 + 10  # 5 lines cut the plane into at most 16 regions
    assert r["n_rank_classes"] >= 1 and 0.0 <= r["rank_deficient_fraction"] <= 1.0
    assert sum(r["rank_histogram"].values()) == 40
    again = init_overlap_task("spheres1", 10, width=5, depth=1, seed=0)
    assert again["n_classes"] == r["n_classes"] and again["n_regions"] == r["n_regions"]


def test_quotient_task_reports_an_unsolvable_lp(monkeypatch):
    """An LP failure of the decomposition is returned as ``error`` (the chapter counts it)."""
    from relutopo.errors import LPError
    from relutopo.papers.beshkov import experiments

    def boom(*a, **k):
        raise LPError("HiGHS could not settle an LP (test)")

    monkeypatch.setattr(experiments, "overlap_decomposition", boom)
    r = experiments.quotient_betti_task("xor", 20, [6], seed=0, epochs=60, label=0, eps=0.5,
                                        maxdim=0)
    assert "LPError" in r["error"] and "quotient_betti" not in r and r["cpu_seconds"] >= 0


def test_stopwatch_needs_start():
    from relutopo.papers.beshkov.experiments import Stopwatch

    with pytest.raises(RuntimeError):
        Stopwatch(True).stop()
