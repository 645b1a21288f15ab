"""relutopo: the topology and geometry of ReLU networks, computed exactly.

Public names are re-exported here; see the book's API page and ``../shared/DESIGN.md``.
"""

from .nets import NetworkError, ReluNet
from .params import ParameterError, Params, resolve_parameters
from .patterns import hamming_matrix, pack_bits, unpack_bits
from .results import Results, numeric_claim, qualitative_claim, range_claim
from .sweep import run_sweep, task_seed

__version__ = "0.1.0"

__all__ = [
    "ReluNet", "NetworkError",
    "hamming_matrix", "pack_bits", "unpack_bits",
    "Results", "numeric_claim", "range_claim", "qualitative_claim",
    "ParameterError", "Params", "resolve_parameters",
    "run_sweep", "task_seed",
]
