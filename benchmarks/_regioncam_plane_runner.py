"""Run regioncam (the peer, a benchmark-only dependency) on MLP planes through three points;
called by bench_slices.py (bench_engine.py uses _regioncam_runner.py for nets on a square).

Runs in its own virtualenv (``--regioncam-python``): reads a JSON job from stdin (points through
which the plane passes, weights and biases of each layer), builds ``regioncam.Regioncam.
through_points(points)``, applies ``linear`` + ``relu`` per hidden layer and ``linear`` for the
output, and prints the face count, the plane's map (weight, bias: ``x = u @ weight + bias``), its
box (the bounding box of the initial vertices) and the best time of ``repeat`` runs.
"""

import json
import sys
import time

import numpy as np
import regioncam


def build(job):
    pts = np.asarray(job["points"], dtype=np.float32)
    rc = regioncam.Regioncam.through_points(pts)
    box = np.asarray(rc.vertex_inputs, dtype=np.float64)
    for i, (W, b) in enumerate(zip(job["weights"], job["biases"])):
        rc.linear(np.asarray(W, dtype=np.float32).T.copy(), np.asarray(b, dtype=np.float32))
        if i < len(job["weights"]) - 1:
            rc.relu()
    return rc, box


def main():
    job = json.load(sys.stdin)
    best = best_cpu = float("inf")
    for _ in range(int(job.get("repeat", 3))):
        t0, c0 = time.perf_counter(), time.process_time()
        rc, box = build(job)
        n = rc.num_faces
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    pl = rc.plane
    print(json.dumps({"faces": int(n), "seconds": best, "cpu_seconds": best_cpu, "plane_weight": np.asarray(pl.weight).tolist(),
                      "plane_bias": np.asarray(pl.bias).tolist(), "box_lo": box.min(axis=0).tolist(),
                      "box_hi": box.max(axis=0).tolist(), "version": getattr(regioncam, "__version__", "?")}))


if __name__ == "__main__":
    main()
