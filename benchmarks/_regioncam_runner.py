"""Run regioncam 0.5.2 on one seeded 2-D net (executed by bench_engine.py inside the benchmark venv).

Reads a .npz with weights W0.., biases b0.. and 'box' (the half-width of the square
``[-box, box]^2``); prints one JSON line: the number of faces (regions), and the wall and CPU
seconds of building them -- ``rc = regioncam.Regioncam(size=box)``, then ``rc.linear(W.T as
float32, b)`` and ``rc.relu()`` per hidden layer, ``rc.num_faces`` -- the best of as many runs as
fit in ``min_time`` seconds (at least one), and ``runs``. The optional second argument is
``min_time`` (default 1). Kept free of relutopo imports so it runs in the benchmark venv.
"""

import json
import sys
import time

import numpy as np


def main(path, min_time=1.0, max_runs=1000):
    import regioncam

    data = np.load(path)
    n_layers = sum(1 for k in data.files if k.startswith("W"))
    ws = [np.ascontiguousarray(data[f"W{i}"].T.astype(np.float32)) for i in range(n_layers)]
    bs = [data[f"b{i}"].astype(np.float32) for i in range(n_layers)]
    box = float(data["box"])
    best = None
    runs, spent = 0, 0.0
    while runs == 0 or (spent < min_time and runs < max_runs):
        c0, t0 = time.process_time(), time.perf_counter()
        rc = regioncam.Regioncam(size=box)
        for w, b in zip(ws[:-1], bs[:-1]):  # hidden layers; the affine output layer adds no region
            rc.linear(w, b)
            rc.relu()
        faces = int(rc.num_faces)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        runs, spent = runs + 1, spent + secs
        if best is None or secs < best[0]:
            best = (secs, cpu)
    print(json.dumps({"regions": faces, "seconds": best[0], "cpu_seconds": best[1], "runs": runs,
                      "version": getattr(regioncam, "__version__", "0.5.2")}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
