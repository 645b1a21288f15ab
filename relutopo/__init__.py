"""relutopo: the topology and geometry of ReLU networks, computed exactly.

The flow (see ``DESIGN.md``): a network (:class:`ReluNet`, or any torch model through
:func:`activation_bits`) gives bit vectors; bit vectors give the polyhedral decomposition
(:func:`decompose` -> :class:`Decomposition`); the decomposition gives linear regions, the cell
complex, spectral partitions and overlap classes; distances between bit vectors give barcodes.
"""

from .nets import NetworkError, ReluNet
from .params import ParameterError, Params, resolve_parameters
from .patterns import hamming_matrix, pack_bits, unpack_bits
from .results import Results, numeric_claim, qualitative_claim, range_claim
from .sweep import run_sweep, task_seed
from .domains import Box
from .decompose import decompose
from .decomposition import Decomposition
from .polyhedra import Region, RegionError, region_of
from .linear_regions import LinearRegions, linear_regions
from .activation_regions import ActivationRegions, propagate
from .bounds import k_value, theorem_2_1
from .hooks import ActivationBits, activation_bits
from .homology import Barcodes, barcodes
from .complex import CellComplex, cell_complex
from .filtration import betti_curve, betti_curves, filtration_order
from .spectral import fiedler_partition
from .overlap import OverlapDecomposition, overlap_decomposition
from .relative import betti_at, quotient_barcodes, quotient_distance_matrix, relative_betti
from .cnt import CNTNetwork, ConvLayer, DenseLayer, RecurrentLayer, network_cnt
from .cnt_pools import PoolConfig, pool_cnt, train_pools

__version__ = "0.1.0"

__all__ = [
    "ReluNet", "NetworkError",
    "hamming_matrix", "pack_bits", "unpack_bits",
    "Results", "numeric_claim", "range_claim", "qualitative_claim",
    "ParameterError", "Params", "resolve_parameters",
    "run_sweep", "task_seed",
    "Box", "decompose", "Decomposition", "Region", "RegionError", "region_of",
    "LinearRegions", "linear_regions", "ActivationRegions", "propagate", "k_value", "theorem_2_1",
    "ActivationBits", "activation_bits", "Barcodes", "barcodes",
    "CellComplex", "cell_complex", "betti_curve", "betti_curves", "filtration_order",
    "fiedler_partition",
    "OverlapDecomposition", "overlap_decomposition",
    "betti_at", "quotient_barcodes", "quotient_distance_matrix", "relative_betti",
    "CNTNetwork", "ConvLayer", "DenseLayer", "RecurrentLayer", "network_cnt",
    "PoolConfig", "pool_cnt", "train_pools",
]
