"""Scale benchmark (issue 4): a decomposition with about 10^6 regions, its time and peak memory.

Decomposes the seeded U(-1, 1) network 4 -> 40 -> 40 -> 40 -> 1 in [-1, 1]^4 (seed 0, the same
weights as ``bench_engine.py``: ``numpy.random.default_rng(seed)``, layer by layer) with the
default ``vertex`` method in a fresh process and reports the number of regions, wall and CPU
time, the process's peak resident memory (``ru_maxrss``: interpreter, imports, refinement,
facet crossing and the result together) and the size of the finished ``Decomposition``.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 4,40,40,40,1] [--json results/bench_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv=None):
    from bench_engine import seeded_weights

    from relutopo import Box, ReluNet, decompose

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="4,40,40,40,1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the numbers here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    ws, bs = seeded_weights(sizes, args.seed)
    net = ReluNet.from_weights(ws, bs)
    load0 = os.getloadavg()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    w0, c0 = time.perf_counter(), time.process_time()
    dec = decompose(net, Box(-1.0, 1.0, dim=sizes[0]), progress=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    out = {
        "net": "-".join(map(str, sizes)), "domain": f"[-1, 1]^{sizes[0]}", "seed": args.seed,
        "regions": int(dec.n_regions), "facets": int(dec.facet_ptr[-1]), "edges": int(len(dec.edges)),
        "wall_s": wall, "cpu_s": cpu, "regions_per_s": dec.n_regions / wall,
        "lp_seconds": dec.stats["lp_seconds"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_imports_mb": rss0, "decomposition_mb": dec.nbytes / 2**20,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_start": load0, "load_end": os.getloadavg()},
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
