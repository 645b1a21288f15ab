"""Every numerical tolerance of relutopo, in one place.

All tolerances are *relative*: they are multiplied by a scale taken from the data they
are applied to (the norm of a halfspace row, the size of the domain, the magnitude of
the weights), so that rescaling a network or its domain does not change any answer.

``decompose`` makes this exact for the rescalings that change no bit vector: it works in a
canonical frame (``relutopo.normal_form``) where the domain has scale of order one and every
hidden neuron's row ``(w, b)`` has largest entry in ``[1, 2)``, reached by power-of-two factors
(no rounding), so that multiplying a neuron's row by ``k > 0`` and its outgoing weights by
``1 / k``, or stretching the input together with the box, gives the same regions (bit for bit
for powers of two). There is no absolute floor (no ``max(1, ...)``) in any test; HiGHS, whose own
tolerances are absolute, only sees unit-normalised rows in that frame (``HIGHS_*`` below). What
cannot be represented in float64 raises ``relutopo.errors.ScaleRangeError``; what the engine
finds inconsistent raises ``relutopo.errors.InconsistentDecompositionError`` (see the
``relutopo.decompose`` module docstring).
"""

from __future__ import annotations

#: A cell is full-dimensional when its Chebyshev radius (the radius of the largest ball
#: inside it, halfspace rows normalised to unit length) exceeds this fraction of the
#: domain scale (the box side, or the distance scale of the hyperplanes for R^d).
CHEBYSHEV_RTOL: float = 1e-9

#: ``decompose`` in a box warns (``errors.ResolutionWarning``) when every first-layer hyperplane
#: meeting the box passes within this many resolutions (``CHEBYSHEV_RTOL`` times the box side) of
#: the box centre: the network's features are then too small for the box, and regions thinner
#: than the resolution go unreported (e.g. a net of unit scale in a box of side 1e12).
RESOLUTION_WARN_FACTOR: float = 100.0

#: Feasibility slack of LP solutions, relative to the right-hand-side scale.
LP_FEAS_RTOL: float = 1e-9

#: In ``R^d`` the ``lp`` and ``brute`` paths drop a cell that HiGHS calls thinner than
#: ``CHEBYSHEV_RTOL * scale`` only with a certificate; the one from HiGHS' multipliers rules out
#: every ball of radius above that within ``CERTIFICATE_REACH * scale`` of HiGHS' point (in a box
#: the box bounds the reach). Farther out, float64 cannot resolve such a ball anyway: at
#: ``|x| = 1e12 * scale`` its coordinates round by ``2e-4 * scale``.
CERTIFICATE_REACH: float = 1e12

#: HiGHS' primal and dual feasibility tolerances for the engine's LPs (``polyhedra.LPSolver``).
#: HiGHS' tolerances are absolute; the engine hands it unit-normalised rows in a frame where the
#: domain has scale one (``relutopo.normal_form``), so this is relative too. HiGHS' default,
#: 1e-7, is coarser than ``CHEBYSHEV_RTOL``: a cell of radius 1e-8 could come back with a centre
#: outside it. 1e-10 is the smallest value HiGHS accepts.
HIGHS_FEAS_TOL: float = 1e-10

#: Matrix entries HiGHS may treat as zero (its ``small_matrix_value``; default 1e-9, smallest
#: accepted 1e-12). The engine's rows are unit-normalised, so an entry of 1e-9 is a hyperplane
#: tilted by 1e-9 -- e.g. two lines that cross at 1e9 times the scale -- which must not be lost.
HIGHS_SMALL_MATRIX_VALUE: float = 1e-12

#: Two normalised halfspaces (a, c) and (a', c') are the same hyperplane when
#: ``||a - a'||`` and ``|c - c'|`` are below this (after normalising ``||a|| = 1``).
HYPERPLANE_DUP_RTOL: float = 1e-10

#: A row of zeros (a dead neuron's hyperplane restricted to a region) has norm below this
#: fraction of the layer's weight scale.
ZERO_ROW_RTOL: float = 1e-12

#: Two affine maps (A, c) are equal when ``max |A - A'|`` and ``|c - c'|`` are below this
#: fraction of the maps' magnitude (used to merge activation regions into linear regions).
AFFINE_EQUAL_RTOL: float = 1e-9

#: The step across a facet used to evaluate the neighbour's pattern is this fraction of
#: the region's Chebyshev radius ... bounded below by the full-dimensionality tolerance.
CROSSING_STEP_FRACTION: float = 1e-3

#: A vertex (or unit ray) of a cell lies on a hyperplane ``m . x + mu = 0`` when
#: ``|m . x + mu| <= VERTEX_RTOL * ||m|| * scale`` (``scale`` = domain scale; 1 for rays).
#: Used by the vertex (double-description) path of ``decompose``; kept below
#: ``CHEBYSHEV_RTOL`` so that every cell the LP test accepts is also split here.
VERTEX_RTOL: float = 1e-10

#: ``Decomposition.locate`` calls a point *on a boundary* when some pre-activation satisfies
#: ``|z| <= BOUNDARY_RTOL * (|W| |h| + |b|)`` (the magnitude of the terms that sum to ``z``).
BOUNDARY_RTOL: float = 1e-12

#: ``decompose(..., method="brute")`` (Liu et al., Alg. 1) enumerates all ``2^n`` bit vectors;
#: it refuses nets with more hidden neurons than this.
BRUTE_FORCE_MAX_BITS: int = 16

#: Crossing a facet at point ``p`` (see ``CROSSING_STEP_FRACTION``), a flipped bit ``f`` is
#: accepted only if ``|z_f(p)| <= CROSSING_ZERO_RTOL * (|z_f(p + eps n)| + |z_f(p - eps n)|)``,
#: i.e. its zero set passes through the facet; otherwise the step is shrunk.
CROSSING_ZERO_RTOL: float = 1e-6


#: Two vertices of the cell complex (or a vertex and a hyperplane) closer than this fraction of
#: the box diameter are the same point (vertices are re-solved from their defining rows first).
VERTEX_MERGE_RTOL: float = 1e-9

#: A point lies in an image polytope / on an image flat (overlap decomposition) when it violates
#: the constraints by at most this fraction of the coordinates' magnitude (ten LP feasibility
#: tolerances: images come from vertex enumeration or least squares, one step further from data).
MEMBERSHIP_RTOL: float = 10 * LP_FEAS_RTOL

#: Singular values below this fraction of the largest count as zero when the rank of a local
#: affine map (and the flat of its image) is determined.
RANK_RTOL: float = 1e3 * ZERO_ROW_RTOL

#: A Chebyshev centre ``(x, r)`` from the vectorised simplex of ``relutopo.chebyshev`` is
#: accepted only with a certificate (``relutopo.chebyshev.certify``): every normalised slack
#: ``(c_j - a_j . x) / ||a_j|| - r`` is at least ``-CHEBYSHEV_CERT_RTOL * radius_cap`` (primal
#: feasibility), the dual multipliers of the unit-normalised rows are ``>= -CHEBYSHEV_CERT_RTOL``
#: and reproduce the objective ``(0, 1)`` to within ``CHEBYSHEV_CERT_RTOL``, and the duality gap
#: is below ``CHEBYSHEV_CERT_RTOL * radius_cap``; so the radius is within about this fraction of
#: the cap of the LP optimum. Ten times below ``CHEBYSHEV_RTOL``, so a certified radius never
#: flips the full-dimensionality test by more than a tenth of its threshold; an answer that
#: fails is recomputed by HiGHS.
CHEBYSHEV_CERT_RTOL: float = 1e-10

#: Pivoting tolerances of the vectorised simplex in ``relutopo.chebyshev`` (rows there are unit
#: normalised and coordinates scaled by the radius cap, so these are relative). They only steer
#: the pivots -- which answers reach ``CHEBYSHEV_CERT_RTOL``'s certificate and which go to HiGHS --
#: never what is accepted. A multiplier is negative (a free variable's non-zero) beyond
#: ``CHEBYSHEV_PRICE_TOL``; a row blocks a step only when ``g . p > CHEBYSHEV_PIVOT_TOL * |p|``
#: (keeps bases well conditioned); the Harris ratio test lets slacks dip by
#: ``CHEBYSHEV_HARRIS_TOL`` to pick a larger pivot; a step shorter than
#: ``CHEBYSHEV_DEGENERATE_STEP`` is degenerate (the next pivot follows Bland's rule).
CHEBYSHEV_PRICE_TOL: float = 1e-12
CHEBYSHEV_PIVOT_TOL: float = 1e-9
CHEBYSHEV_HARRIS_TOL: float = 1e-13
CHEBYSHEV_DEGENERATE_STEP: float = 1e-13

#: Basis enumeration in ``relutopo.chebyshev`` (small calls in ``d <= 2``; same unit rows and
#: cap-scaled coordinates): a candidate basis is used only when ``|det B| >
#: CHEBYSHEV_ENUM_DET_TOL`` (its rows ``(a_j, 1)``, ``(0, 1)`` have entries of order one), and
#: its vertex only when every slack is ``>= -CHEBYSHEV_ENUM_PRIMAL_TOL`` times the largest scaled
#: right-hand side (and the radius at most the cap by as much) and its multipliers ``>=
#: -CHEBYSHEV_PRICE_TOL``. Like the pivoting tolerances these only choose which answer is tried;
#: ``CHEBYSHEV_CERT_RTOL``'s certificate decides what is accepted.
CHEBYSHEV_ENUM_DET_TOL: float = 1e-9
CHEBYSHEV_ENUM_PRIMAL_TOL: float = 1e-12

#: A HiGHS run that ends neither optimal, infeasible nor unbounded (HiGHS' "unknown" on a
#: degenerate LP at the tight ``HIGHS_FEAS_TOL``) is tried once more with HiGHS' interior point
#: method at these feasibility tolerances (HiGHS' defaults) before ``relutopo.errors.LPError``
#: is raised (``polyhedra.LPSolver.solve``). The answer of such a second try is what the callers
#: check anyway (slacks recomputed, certificates), so only the solver's stopping rule is looser.
HIGHS_RETRY_FEAS_TOL: float = 1e-7

#: A Chebyshev-hint step of ``relutopo.chebyshev`` (and its compiled twin in
#: ``relutopo.kernels.centres``) that moves a point farther than ``CHEBYSHEV_HINT_REACH`` times
#: ``(radius cap + |hint|)`` is not tried (it would leave the coordinates HiGHS resolves); a step
#: that is tried goes a fraction ``CHEBYSHEV_HINT_OVERSHOOT`` beyond the computed length, so that
#: rounding cannot leave the point a hair short of the target slack.
CHEBYSHEV_HINT_REACH: float = 1e3
CHEBYSHEV_HINT_OVERSHOOT: float = 1e-6

#: A facet crossing that fails (the step lands outside the box or in the wrong cell) is retried
#: with the step multiplied by this factor, down to the full-dimensionality resolution
#: (``relutopo.decompose`` and ``relutopo.kernels.crossing``).
CROSSING_STEP_SHRINK: float = 1e-3

#: Rigorous bounds on the rounding error of a computed slack or residual are this many units of
#: float64's machine epsilon times the magnitudes summed (``relutopo.chebyshev.certify``, the
#: multiplier certificates of ``relutopo.decompose`` and their compiled twins).
ROUNDING_ERROR_ULPS: float = 4.0

#: The positive floor a divisor or a magnitude is clamped to, so that a zero does not divide
#: (an underflow guard, not a tolerance: far below any tolerance times any scale float64 holds).
TINY: float = 1e-300

#: Quantities that are equal in exact arithmetic but may differ by rounding (a fraction computed
#: as ``k / n`` against 1, an angle against pi, the spread of a constant sample against 0, a
#: breakpoint against the end of its piece, a singular value against 0 when the affine dimension
#: of a handful of points is counted) are compared with this slack, relative to their magnitude.
ROUNDING_RTOL: float = 1e-12

#: A distance matrix is symmetric when ``|D_ij - D_ji|`` is at most this fraction of its largest
#: finite entry (``relutopo.validation.check_distance_matrix``).
DISTANCE_SYMMETRY_RTOL: float = 1e-12

#: Vertex enumeration of a polytope by ``d``-subsets of its unit-normalised rows
#: (``relutopo.polytopes``): ``d`` rows define a vertex when ``|det| > VERTEX_DET_TOL`` (unit
#: rows: the determinant is the volume of their parallelotope, a scale-free quantity).
VERTEX_DET_TOL: float = 1e-12

#: Vertices from Qhull are re-solved from their defining rows; the set is rejected (and
#: enumerated by subsets instead) when a vertex violates a row by more than
#: ``VERTEX_CHECK_FACTOR`` merge tolerances (``VERTEX_MERGE_RTOL`` times the scale).
VERTEX_CHECK_FACTOR: float = 1e3

#: A row is tight at a vertex (the vertex lies on its hyperplane), and a vertex of a cell complex
#: lies on a face of its box, within ``VERTEX_TIGHT_FACTOR`` merge tolerances: re-solved
#: vertices are exact to a few roundings, merged ones to one merge tolerance.
VERTEX_TIGHT_FACTOR: float = 10.0

#: ``CellComplex.check``: the top cells' volumes add up to the box's within this fraction of it.
VOLUME_SUM_RTOL: float = 1e-8

#: Two segments of a piecewise-linear curve are parallel when the cross product of their
#: directions is below this fraction of the product of their lengths
#: (``relutopo.overlap.curve_self_crossings``).
PARALLEL_RTOL: float = 1e-14

#: The Fiedler value ``lambda_2`` counts as zero (a disconnected graph) below this fraction of
#: the Laplacian's scale (largest degree over the smallest node mass); shift-invert ``eigsh``
#: shifts by ``-EIGSH_SHIFT_FRACTION`` times the same scale (``relutopo.spectral``).
FIEDLER_GAP_RTOL: float = 1e-10
EIGSH_SHIFT_FRACTION: float = 1e-3

#: Figures of a decomposition (``relutopo.plotting``): the window around the regions is at least
#: this fraction of the points' magnitude wide in every coordinate.
WINDOW_MIN_SPAN_RTOL: float = 1e-9

#: Slices of piecewise-linear models (``relutopo.slice_refine``): a pre-activation (or the
#: difference of two max-pool entries) at a vertex of a cell counts as zero -- the vertex lies on
#: the neuron's zero line -- when ``|z| <= SLICE_ZERO_RTOL * max |z|``, the maximum taken over the
#: neuron's values on the chunk's vertices (planes) or at the interval's two ends (segments). The
#: role of ``VERTEX_RTOL`` (``||m|| * scale`` is the range of ``z`` over the domain).
SLICE_ZERO_RTOL: float = 1e-10

#: On a segment, zero crossings (and upper-envelope breakpoints) closer than this fraction of
#: their interval's length are one breakpoint, and one this close to an end of the interval is
#: at that end: a piece of relative length below it is not a region.
SLICE_MERGE_RTOL: float = 1e-12

#: Rounding noise on a slice: a pre-activation (or max-pool entry difference) smaller than this
#: fraction of the largest value of its stage's input on the chunk counts as zero, even when the
#: neuron's own values are all that small (a dead max-pool window whose entries are exact zeros
#: up to the interpolation of a cut point).
SLICE_NOISE_RTOL: float = 1e-13

#: On a segment, a breakpoint is *inactive* downstream (no longer evaluated: later stages work
#: on the intervals between active points, across it) when every value still needed later
#: deviates from the linear interpolation of its two neighbouring points by at most this
#: fraction of their largest magnitude -- the frontier has no slope change there
#: (``relutopo.slice_refine``).
SLICE_AFFINE_RTOL: float = 1e-12
