"""relutopo: the topology and geometry of ReLU networks, computed exactly.

The flow (see ``DESIGN.md``): a network (:class:`ReluNet`, or any torch model through
:func:`activation_bits`) gives bit vectors; bit vectors give the polyhedral decomposition
(:func:`decompose` -> :class:`Decomposition`); the decomposition gives linear regions, the cell
complex, spectral partitions and overlap classes; distances between bit vectors give barcodes.
On a :class:`Segment`, a :class:`Plane` or any :class:`Slice` of a high-dimensional input space,
:func:`decompose` also takes any piecewise-linear torch model (convolutions, pooling, residual
blocks, max-pools) and returns its exact regions and decision boundary there.

This namespace holds the core library only (numpy, scipy, highspy, networkx; torch is needed only
for ``ReluNet.from_torch``, :func:`activation_bits` and training). Paper code lives in
``relutopo.papers.<paper>`` (e.g. ``relutopo.papers.wang.bounds.theorem_2_1``) and the
reproduction pipeline in ``relutopo.repro``.

Examples
--------
>>> import numpy as np
>>> import relutopo as rt
>>> net = rt.ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
>>> rt.decompose(net, rt.Box(-1, 1, dim=2)).n_regions
4
"""

from relutopo.nets import ReluNet
from relutopo.domains import Box
from relutopo.slices import Plane, Segment, Slice
from relutopo.decompose import decompose
from relutopo.decomposition import Decomposition
from relutopo.polyhedra import Region, region_of
from relutopo.linear_regions import linear_regions
from relutopo.activation_regions import propagate
from relutopo.patterns import hamming_matrix, pack_bits
from relutopo.hooks import activation_bits
from relutopo.homology import barcodes
from relutopo.complex import cell_complex
from relutopo.filtration import betti_curves
from relutopo.spectral import fiedler_partition
from relutopo.overlap import overlap_decomposition
from relutopo.relative import quotient_barcodes, relative_betti
from relutopo.cnt import network_cnt
from relutopo.sweep import run_sweep, task_seed

__version__ = "0.2.0"

__all__ = [
    "ReluNet", "Box", "Plane", "Segment", "Slice", "decompose", "Decomposition", "Region",
    "region_of",
    "linear_regions", "propagate", "hamming_matrix", "pack_bits", "activation_bits",
    "barcodes", "cell_complex", "betti_curves", "fiedler_partition",
    "overlap_decomposition", "relative_betti", "quotient_barcodes", "network_cnt",
    "run_sweep", "task_seed",
]
