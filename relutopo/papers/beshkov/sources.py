"""Where each setting of the relative-homology chapter comes from (Beshkov, arXiv 2502.01360).

Only the paper's abstract is stored here (``shared/papers/000_*.txt``); the settings of its
experiments were read from the author's public code, GitHub ``KBeshkov/QuotientHomology`` (MIT,
commit ``920bd88``), and are re-implemented in this package (no code copied). Each entry of
``SETTINGS`` says what the setting is, its value in the author's code or text, our value
(per profile where it differs), and its source:

* ``"author's code: <file>"`` -- read from that file of the author's repository;
* ``"paper text"`` -- stated in the abstract / summary;
* ``"our choice"`` -- not fixed by any public source, or changed by us (the reason is given).

Examples
--------
>>> SETTINGS["spheres_hidden"].paper
[25, 25, 25, 25]
>>> SETTINGS["spheres_hidden"].source
"author's code: analysis/num_overlap_test.py"
>>> sorted({s.kind for s in SETTINGS.values()})
["author's code", 'our choice', 'paper text']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Setting", "SETTINGS", "AUTHOR_REPO", "settings_table"]

#: The author's public repository (read, not vendored), and the commit read.
AUTHOR_REPO = "github.com/KBeshkov/QuotientHomology@920bd88 (MIT)"

_NUM = "analysis/num_overlap_test.py"
_TOP = "analysis/top_propagation.py"
_HOM = "analysis/hom_propagation.py"
_KNOT = "analysis/knot_test.py"
_XOR = "analysis/XOR_examples.py"
_NET = "src/QuotientHomology/NetRelHom.py"


@dataclass(frozen=True)
class Setting:
    """One experimental setting: what it is, the paper's value, ours, and where it comes from."""

    what: str
    paper: Any
    ours: Any
    source: str
    note: str = ""

    @property
    def kind(self) -> str:
        """``"author's code"``, ``"paper text"`` or ``"our choice"``."""
        return self.source.split(":")[0]

    @property
    def same(self) -> bool:
        """Whether our value is the paper's."""
        return self.paper == self.ours


def _s(what, paper, ours, source, note=""):
    return Setting(what, paper, ours, source, note)


_A = "author's code: "
SETTINGS = {
    # ---------------------------------------------------------------- spheres
    "spheres_data": _s("concentric spheres S^1-S^3: class 0 radii 1, 2; class 1 radii 1.5, 2.5",
                       "radii (1, 2) vs (1.5, 2.5)", "radii (1, 2) vs (1.5, 2.5)", _A + _NUM),
    "spheres_points": _s("points per sphere (4 spheres per data set)", 500,
                         {"smoke": 8, "book": 10, "paper": 500}, _A + _NUM,
                         "book uses fewer points to stay under 3 minutes on 2 cores"),
    "spheres_hidden": _s("hidden layers of the spheres networks", [25, 25, 25, 25],
                         [25, 25, 25, 25], _A + _NUM),
    "spheres_n_models": _s("networks per sphere", 10, {"smoke": 2, "book": 10, "paper": 10}, _A + _NUM),
    "spheres_init": _s("initialisation", "PyTorch default (init_type='none')",
                       "PyTorch default", _A + _NUM),
    "spheres_optimiser": _s("optimiser and schedule",
                            "Adam lr 2e-5, batch size 1, 1000 epochs, cross-entropy",
                            "Adam lr 1e-2, full batch, `sphere_epochs` epochs, cross-entropy",
                            "our choice",
                            "the paper's 2000 points x 1000 epochs = 2 million Adam steps per network "
                            "do not fit the budget; full-batch Adam reaches high train accuracy in "
                            "a few hundred steps"),
    "spheres_test": _s("test of init vs trained", "Kruskal-Wallis on overlap classes and overlap volume",
                       "Kruskal-Wallis (p-value reported) and one-sided Mann-Whitney", _A + _NUM),
    "overlap_volume": _s("overlap volume", "volumes of the last-depth regions in an overlap class",
                         "box volumes of the output-depth regions in an overlapping pair (d <= 3)",
                         _A + _NUM),
    "domain_box": _s("box every region is cut to", "[-100, 100]^d", "[-100, 100]^d", _A + _NET),
    # ---------------------------------------------------------------- grid
    "grid_widths": _s("widths of the width x depth grid", [5, 10, 15, 20, 25], [5, 10, 15, 20, 25], _A + _NUM),
    "grid_depths": _s("depths of the width x depth grid", [1, 2, 3, 4], [1, 2, 3, 4], _A + _NUM),
    "grid_state": _s("grid networks", "at initialisation (untrained)", "at initialisation", _A + _NUM),
    "grid_n_models": _s("networks per grid cell", 10, {"smoke": 1, "book": 3, "paper": 10}, _A + _NUM,
                        "book: 3 per cell for time"),
    "grid_data": _s("grid data", "S^1 data, 500 points per circle", {"smoke": 8, "book": 15, "paper": 500},
                    _A + _NUM),
    "grid_statistic": _s("grid statistics", "mean +- sd of regions and of overlap classes at the last depth",
                         "mean +- sd of regions, overlap classes and rank classes", _A + _NUM),
    # ---------------------------------------------------------------- curves
    "curve_net": _s("self-intersecting curve network", [1, 8, 8, 8, 2], [1, 8, 8, 8, 2], _A + _KNOT),
    "curve_points": _s("curve samples", "500 train, 1000 test", {"smoke": 150, "book": 400, "paper": 1000},
                       _A + _KNOT),
    "curve_target": _s("curve target", "random parametric knot curves", "a two-loop prolate cycloid",
                       "our choice", "a target with a known number of crossings"),
    "curve_optimiser": _s("curve optimiser", "Adam lr 1e-4, batch size 1, MSE, up to 1000 epochs",
                          "Adam lr 1e-2, full batch, MSE", "our choice", "time"),
    # ---------------------------------------------------------------- Naitzat
    "nested_hidden": _s("hidden layers, nested data",
                        "D-I [15]*9; D-II [15]*9 or [25]*9 ('D-II-2'); D-III [15]*9 or [50]*9 ('D-III-2')",
                        "D-I [15]*9, D-II [25]*9, D-III [15]*9", _A + _HOM,
                        "D-II: the wider variant (9 x 15 did not learn it with our optimiser); D-III: "
                        "9 x 15, since on 9 x 50 networks an overlap LP of our decomposition failed (LPError)"),
    "nested_points": _s("points of the nested data", "author's subsample: ~117 per disc (D-I), ~135 per ring "
                        "(D-II test), ~352 per sphere (D-III train)",
                        {"smoke": 20, "book": 40, "paper": 90}, "our choice",
                        "per component; D-III's spheres are sampled evenly, so 90 points show beta_2 = 9"),
    "nested_k": _s("neighbours of the k-NN hop metric (Naitzat's)", {"D-I": 14, "D-II": 19, "D-III": 19},
                   {"D-I": 14, "D-II": 19, "D-III": 19}, _A + _HOM),
    "nested_eps": _s("scale of the Betti numbers", 2.5, 2.5, _A + _HOM),
    "nested_data": _s("D-I/D-II/D-III", "Naitzat et al.'s data, subsampled (vendored in the author's repo)",
                      "generated here to the same geometry (radii and centres measured on the author's subsample)",
                      "our choice", "generated, not vendored; the homology is checked"),
    "nested_tracked": _s("tracked class", "D-I: discs, D-II: one ring of each pair, D-III: the middle shells",
                         "same", _A + _HOM),
    "nested_optimiser": _s("nested optimiser", "Adam lr 2e-5 (D-I, 5000 epochs) / 2e-4 (1000 epochs), "
                           "batch size 1, stop at 99.9% train accuracy",
                           "Adam lr 1e-3, batch size 32, `nested_epochs` epochs (book 200, paper 1000)",
                           "our choice", "time; full-batch Adam left D-III's tracked class unlearned. "
                           "D-III's network runs in the paper profile only (book: 40 points per sphere "
                           "do not show beta_2, and its 9 x 15 network reached 0.83 train accuracy in 300 epochs)"),
    # ---------------------------------------------------------------- XOR
    "xor_rank_net": _s("XOR through rank: 2 -> 2 -> 1", "W1 = [[-1, 1], [1, -1]], b1 = [-0.5, -0.5], "
                       "W2 = [[2, 2]], b2 = [0]", "same", _A + _XOR),
    "xor_overlap_net": _s("XOR through overlap: 2 -> 4 -> 2 (-> 1)",
                          "W1 = [[2, 1], [1, 2], [-2, -1], [-1, -2]], b1 = [-0.5, -0.5, 2.5, 2.5], "
                          "W2 = [[1, -1, 0, 0], [0, 0, 1, -1]], b2 = [0, 0]", "same", _A + _XOR,
                          "the author plots the second hidden layer; its output layer is left random"),
    "xor_data": _s("XOR data", "the four points (0,0), (1,1) | (1,0), (0,1)", "same", _A + _XOR),
    "xor_box": _s("box of the XOR regions", "[-0.1, 1.1]^2", "[-0.1, 1.1]^2", _A + _XOR),
    # ---------------------------------------------------------------- headline
    "deformation_test": _s("topological vs geometric features",
                           "relative homology tracks topological rather than geometric features (abstract)",
                           "two circles mapped by hand-built ReLU networks: four homeomorphisms "
                           "(stretch, flatten, squeeze one circle, shrink) and one fold",
                           "paper text", "the experiment's design is ours (the paper's is not available)"),
}


def settings_table(profile: str = "book") -> list:
    """Rows ``{setting, what, paper, ours, source, note}`` for a table; ``ours`` resolved for
    ``profile`` when it is given per profile."""
    rows = []
    for key, s in SETTINGS.items():
        ours = s.ours[profile] if isinstance(s.ours, dict) and profile in s.ours else s.ours
        rows.append(dict(setting=key, what=s.what, paper=str(s.paper), ours=str(ours),
                         source=s.source, note=s.note))
    return rows
