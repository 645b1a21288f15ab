"""The numbers and the setup of Wang (IJCAI 2022) as the paper states them, in one place.

Every value here is copied from the paper's text (§4, Table 1); nothing is computed. The chapter
and the tests compare our measurements with these.

Examples
--------
>>> PAPER_RANDOM[(8, 2)]
(647.69, 72.24)
>>> PAPER_NC
(34.0, 16.99)
>>> len(ARRANGEMENTS), sum(ARRANGEMENTS[0])
(7, 10)
"""

from __future__ import annotations

__all__ = ["ARRANGEMENTS", "INPUT_DIM", "N_PAPER", "PAPER_RANDOM", "PAPER_NC", "PAPER_TABLE1",
           "ACCURACY_BINS", "BIN_NAMES", "SHALLOW", "N_PER_BIN_PAPER", "PAPER_SETUP"]

#: The seven arrangements of ten hidden neurons of §4.1 (Fig. 3, Table 1), shallow to deep.
ARRANGEMENTS = ((8, 2), (7, 3), (5, 5), (5, 3, 2), (4, 3, 3), (3, 3, 2, 2), (2, 2, 2, 2, 2))
#: Input dimension of §4.1 and §4.2.
INPUT_DIM = 7
#: Random networks per arrangement in §4.1.
N_PAPER = 5000
#: Table 1, first column: mean and deviation of #linear regions of the 5000 random networks.
#: The last row is printed "(2, 2, 2, 2)"; with ten neurons in every arrangement and its mean
#: equal to the (2,2,2,2,2) networks of §4.1 it is read as (2, 2, 2, 2, 2).
PAPER_RANDOM = {(8, 2): (647.69, 72.24), (7, 3): (616.8046, 94.02), (5, 5): (297.32, 66.52),
                (5, 3, 2): (181.69, 68.06), (4, 3, 3): (108.60, 39.90),
                (3, 3, 2, 2): (31.35, 18.60), (2, 2, 2, 2, 2): (8.0, 6.07)}
#: Table 1's "(NC: 34.00 & 16.99)": mean and deviation with the constant networks excluded,
#: printed below the last row. :func:`relutopo.papers.wang.analysis.nc_attribution` shows it
#: belongs to (3, 3, 2, 2).
PAPER_NC = (34.00, 16.99)
#: Lower edges of Table 1's accuracy ranges 60%-69%, ..., 90%-99%.
ACCURACY_BINS = (0.6, 0.7, 0.8, 0.9)
BIN_NAMES = {0.6: "60-69%", 0.7: "70-79%", 0.8: "80-89%", 0.9: "90-99%"}
#: Networks per accuracy range in Table 1.
N_PER_BIN_PAPER = 30
#: Table 1: arrangement -> [(mean, deviation)] of #linear regions for 60-69 %, ..., 90-99 %.
PAPER_TABLE1 = {
    (8, 2): [(645.24, 63.23), (612.44, 98.96), (635, 74.13), (563.8, 166.05)],
    (7, 3): [(597.52, 125.49), (563.44, 144.02), (634.52, 111.47), (547.16, 111.86)],
    (5, 5): [(277.52, 53.46), (299.68, 71.20), (295.44, 62.24), (268.28, 72.31)],
    (5, 3, 2): [(209.96, 75.53), (205.28, 71.76), (171.96, 72.56), (224.64, 61.49)],
    (4, 3, 3): [(90.63, 38.11), (114.4, 26.64), (115.64, 42.04), (122.76, 39.04)],
    (3, 3, 2, 2): [(41.36, 19.44), (31.2, 14.34), (37.68, 21.15), (27.8, 12.49)],
    (2, 2, 2, 2, 2): [(12.36, 6.96), (11.4, 3.38), (14.2, 4.06), (14.6, 5.97)],
}
#: The arrangements whose linear regions training "slightly decreases" (§4.2); for the others it
#: "slightly increases".
SHALLOW = ((8, 2), (7, 3), (5, 5))

#: What §4.2 says about the training of Table 1 ("not given": the paper does not say).
PAPER_SETUP = {
    "data": "two spirals of the TensorFlow Playground, radii doubled; 500 points per spiral",
    "split": "random 900 training / 100 test points",
    "features": "(x, y, x^2, y^2, xy, sin x, sin y)",
    "architecture": "7 -> hidden layers of Sec. 4.1 -> 1",
    "initialisation": "not given",
    "input scaling": "not given",
    "loss": "not given",
    "optimiser, learning rate, batch size": "not given",
    "epochs / stopping": "not given",
    "networks counted": "30 per test-accuracy range 60-69 %, ..., 90-99 %, \"during the training "
                        "process\"",
    "runs per range": "not given",
    "baseline": "the mean of the 5000 random networks of Sec. 4.1",
}
