"""Run relucent 1.0.0 on one seeded net (executed by bench_engine.py inside the benchmark venv).

Reads a .npz with weights W0.., biases b0.. and 'box' (half-width, or -1 for R^d); prints one
JSON line: regions, bounded, wall seconds and CPU seconds (its worker processes included) of
``Complex.bfs``: the best of as many runs (a fresh ``Complex`` each) as fit in ``min_time``
seconds, at least one, and ``runs``. The optional second argument is relucent's ``nworkers``
(default, or ``-``: its own, the CPU count); the optional third is ``min_time`` (default 1).
Kept free of relutopo imports so it runs in a separate virtualenv where relucent's
dependencies (gurobipy, plotly) live.
"""

import json
import sys
import time

import numpy as np


def main(path, nworkers, min_time=1.0, max_runs=50):
    data = np.load(path)
    n_layers = sum(1 for k in data.files if k.startswith("W"))
    from relucent import Complex
    from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork

    layers = []
    for i in range(n_layers):
        layers.append(LinearLayer(weight=data[f"W{i}"], bias=data[f"b{i}"][None, :]))
        if i < n_layers - 1:
            layers.append(ReLULayer())
    net = ReLUNetwork(layers)
    box = float(data["box"])
    kw = dict(nworkers=nworkers, verbose=0)
    if box > 0:
        kw.update(cube_radius=box, cube_mode="clipped")
    d = net.input_shape[0]
    start = np.random.default_rng(0).uniform(-0.5, 0.5, size=d) * (box if box > 0 else 1.0)
    import resource

    def cpu():
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    best = None
    runs, spent = 0, 0.0
    while runs == 0 or (spent < min_time and runs < max_runs):  # best of the runs that fit in min_time
        cplx = Complex(net)
        c0, t0 = cpu(), time.perf_counter()
        cplx.bfs(start, **kw)
        secs, cpu_secs = time.perf_counter() - t0, cpu() - c0
        runs, spent = runs + 1, spent + secs
        if best is None or secs < best[0]:
            best = (secs, cpu_secs, cplx)
    secs, cpu_secs, cplx = best
    polys = list(cplx.index2poly)
    n_bounded = sum(1 for p in polys if bool(getattr(p, "finite", False)))
    print(json.dumps({"regions": len(polys), "bounded": n_bounded, "seconds": secs,
                      "cpu_seconds": cpu_secs, "nworkers": nworkers, "runs": runs}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else None,
         float(sys.argv[3]) if len(sys.argv) > 3 else 1.0)
