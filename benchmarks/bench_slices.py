"""Benchmark: exact slices of piecewise-linear torch models (issue 20).

Cases (each prints one line and goes into the JSON record):

``cnn_plane``
    The engine-slices chapter's CNN (convolution, BatchNorm, max-pool, a residual block; trained
    here for a few epochs on the offline MNIST digits, one torch thread) on the plane through
    three test digits of classes 0, 1 and 7. Target: under 10 s.
``resnet18_segment``
    ResNet-18 (torchvision's BasicBlock structure, seeded and untrained, 10 outputs) at 32 x 32 on
    the segment between two photographs (scikit-image's astronaut and cat), on one process and
    on ``--jobs`` worker processes (``n_jobs``; the same pieces, checked by a digest), with the
    peak resident memory of this process and, in parallel, of the largest worker (pages shared
    with the parent count in both). Target: under 10 s.
``resnet50_chord``
    ResNet-50 (seeded, untrained) at 224 x 224 on one chord of Liu et al.'s image circle sampled at
    500 points (``sin(theta) A1 + cos(theta) A2``, the chapter's photographs): the exact pieces of
    the first ``--resnet50-fraction`` of the chord, the time, and the chord's stage-0 crossings
    (conv1's zero crossings, exact from two evaluations), a lower bound of its pieces.
``polyline``
    ``relutopo.slice_decomposition.polyline_regions`` on the same circle through ResNet-18 at 32 x
    32: seconds per segment and regions crossed for the first ``--polyline-segments`` segments.
``regioncam``
    MLP planes through three random points: our count (the engine on the composed net) against
    regioncam's (``--regioncam-python``, a separate virtualenv with regioncam 0.5.2), with both
    times.

Every case records when it finished (``utc``) and the commit it ran at (``commit``, ``+dirty`` with
uncommitted changes). Wall times depend on the machine's load (``loadavg`` is recorded with every
case); the process's CPU time (``cpu_seconds``, all its threads, and for the ResNet-18 segment
its worker processes too) is what an otherwise idle machine would take with one thread. Torch
runs on ``--torch-threads`` threads (default 1, recorded with every case; 0 keeps torch's
default): with more, the CPU time also counts the threads' waiting and synchronisation (on the
2-core development machine the ResNet-18 segment took 38 CPU-s on 2 threads and 30-33
on one, before the changes of 2026-12-07 evening).

Usage::

    .venv/bin/python benchmarks/bench_slices.py [--write] [--regioncam-python /tmp/rcvenv/bin/python]
        [--resnet50-fraction 0.004] [--polyline-segments 3] [--skip resnet50_chord ...]
        [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _utc_now() -> str:
    """The time now, UTC, to the second (each case records when it ran)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _commit() -> str:
    """The checked-out commit (``+dirty`` with uncommitted changes), or ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cnn_plane(args) -> dict:
    import torch

    from relutopo import decompose
    from relutopo.data.mnist import load_mnist
    from relutopo.papers.engine_slices.residual_cnn import residual_cnn
    from relutopo.slices import Plane
    from relutopo.train import fit

    data = load_mnist(seed=0)
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model, hist = fit(residual_cnn(width=6, seed=0), data.X_train, data.y_train, task="multiclass",
                      epochs=args.cnn_epochs, seed=0, lr=3e-3, batch_size=64, X_test=data.X_test,
                      y_test=data.y_test)
    train_s = time.perf_counter() - t0
    torch.set_num_threads(saved)
    idx = [int(np.flatnonzero(data.y_test == c)[0]) for c in (0, 1, 7)]
    plane = Plane.through(*data.X_test[idx], margin=args.cnn_margin, labels=("0", "1", "7"))
    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        dec = decompose(model, plane)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t0 = time.perf_counter()
    n_seg = len(dec.decision_boundary)
    boundary_s = time.perf_counter() - t0
    return {"case": "cnn_plane", "regions": dec.n_regions, "boundary_segments": n_seg,
            "seconds": min(times), "cpu_seconds": cpu[int(np.argmin(times))], "seconds_all": times,
            "boundary_seconds": boundary_s,
            "train_seconds": train_s, "test_accuracy": hist.test_acc[-1], "target_s": 10.0,
            "neurons": int(sum(st.n_units for st in dec.model.stages if st.kind == "relu")),
            "margin": args.cnn_margin, "epochs": args.cnn_epochs, "model": repr(dec.model)}


def _photos(size):
    from relutopo.papers.liu.images import sample_images

    return sample_images(("astronaut", "chelsea"), resize=round(size * 256 / 224) if size >= 64 else size,
                         crop=size).arrays.astype(np.float64)


def resnet18_segment(args) -> dict:
    from relutopo import decompose
    from relutopo.papers.engine_slices.basic_resnet import resnet18
    from relutopo.slices import Segment

    a, b = _photos(32)
    model = resnet18(num_classes=10, seed=0)
    rows = []
    for n_jobs in sorted({1, args.jobs}):
        t0, c0 = time.perf_counter(), _cpu_with_children()
        dec = decompose(model, Segment(a, b), n_jobs=n_jobs)
        sec, cpu = time.perf_counter() - t0, _cpu_with_children() - c0
        rows.append({"case": "resnet18_segment", "n_jobs": n_jobs, "pieces": dec.n_regions, "seconds": sec,
                     "cpu_seconds": cpu, "target_s": 10.0, "class_changes": len(dec.decision_boundary),
                     "digest": hashlib.sha256(np.ascontiguousarray(dec.breakpoints).tobytes()
                                              + np.ascontiguousarray(dec.digests).tobytes()).hexdigest()[:16],
                     "stats": _plain(dec.stats)})
        if n_jobs > 1:  # the largest worker's peak (its pages shared with the parent included)
            rows[-1]["worker_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        rows[-1]["peak_rss_mb"] = peak_rss_mb()  # this process so far
    if len({r["digest"] for r in rows}) != 1:
        raise AssertionError(f"the pieces depend on n_jobs: {[(r['n_jobs'], r['digest']) for r in rows]}")
    return rows


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its finished child processes (the workers of
    ``n_jobs > 1``), user and system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _circle(size, n):
    from relutopo.papers.liu.manifolds import circle_angles, image_circle

    A1, A2 = _photos(size)
    return image_circle(A1, A2, circle_angles(n)).astype(np.float64)


def resnet50_chord(args) -> dict:
    from relutopo.papers.liu.resnet import resnet50
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_decomposition import decompose_slice
    from relutopo.slices import Segment

    X = _circle(224, 500)
    t0 = time.perf_counter()
    graph = pl_graph(resnet50(seed=0), (3, 224, 224))
    graph_s = time.perf_counter() - t0
    v = graph.initial_values(X[:2])
    graph.run_to(v, 0)
    z = graph.nonlinear_input(v, 0).reshape(2, -1).numpy()
    stage0 = int(((z[0] > 0) != (z[1] > 0)).sum())
    f = float(args.resnet50_fraction)
    t0, c0 = time.perf_counter(), time.process_time()
    dec = decompose_slice(graph, Segment(X[0], X[0] + f * (X[1] - X[0])))
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"case": "resnet50_chord", "fraction": f, "pieces": dec.n_regions, "seconds": sec,
            "cpu_seconds": cpu, "extrapolated_chord_cpu_seconds": cpu / f,
            "seconds_per_piece": sec / max(dec.n_regions, 1),
            "chord_stage0_crossings": stage0, "extrapolated_chord_seconds": sec / f,
            "graph_seconds": graph_s, "neurons": int(sum(st.n_units for st in graph.stages if st.kind == "relu")),
            "stats": _plain(dec.stats)}


def polyline(args) -> dict:
    from relutopo.papers.engine_slices.basic_resnet import resnet18
    from relutopo.slice_decomposition import polyline_regions

    X = _circle(32, 500)
    k = int(args.polyline_segments)
    t0, c0 = time.perf_counter(), time.process_time()
    res = polyline_regions(resnet18(num_classes=10, seed=0), X, segments=range(k))
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"case": "polyline", "model": "resnet18 at 32x32", "samples": 500, "segments": k,
            "pieces": res.pieces[:k].tolist(), "seconds_per_segment": res.seconds[:k].tolist(),
            "seconds": sec, "cpu_seconds": cpu, "distinct": res.distinct, "transitions": res.transitions}


def regioncam_cases(args) -> list:
    from relutopo import ReluNet, Box, decompose
    from relutopo.slices import Slice

    out = []
    for d, hidden, seed in ((6, (32, 32), 0), (10, (64, 64, 64), 1), (20, (128, 128, 128), 2)):
        rng = np.random.default_rng(seed)
        sizes = (d, *hidden, 1)
        Ws = [rng.uniform(-1, 1, size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        bs = [rng.uniform(-1, 1, size=o) for o in sizes[1:]]
        # float32 weights on both sides (regioncam computes in float32)
        Ws = [w.astype(np.float32).astype(np.float64) for w in Ws]
        bs = [b.astype(np.float32).astype(np.float64) for b in bs]
        pts = rng.normal(size=(3, d)).astype(np.float32)
        job = {"points": pts.tolist(), "weights": [w.tolist() for w in Ws],
               "biases": [b.tolist() for b in bs], "repeat": args.repeat}
        rc = None
        if args.regioncam_python:
            proc = subprocess.run([args.regioncam_python, str(ROOT / "benchmarks" / "_regioncam_plane_runner.py")],
                                  input=json.dumps(job), capture_output=True, text=True)
            if proc.returncode == 0:
                rc = json.loads(proc.stdout)
            else:
                print(proc.stderr[-2000:], file=sys.stderr)
        net = ReluNet.from_weights(Ws, bs)
        if rc is not None:
            slc = Slice(np.array(rc["plane_bias"]), np.array(rc["plane_weight"]),
                        Box(rc["box_lo"], rc["box_hi"]))
        else:
            from relutopo.slices import Plane

            slc = Plane.through(*pts.astype(np.float64))
        decompose(net, slc)  # untimed: loads the compiled kernels from numba's cache (as bench_engine)
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            dec = decompose(net, slc)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        row = {"case": "regioncam", "net": "→".join(map(str, sizes)), "ours_regions": dec.n_regions,
               "ours_seconds": min(times), "ours_cpu_seconds": min(cpu)}
        if rc is not None:
            row.update({"regioncam_faces": rc["faces"], "regioncam_seconds": rc["seconds"],
                        "regioncam_cpu_seconds": rc.get("cpu_seconds"),
                        "equal": rc["faces"] == dec.n_regions, "regioncam_version": rc["version"]})
        out.append(row)
    return out


def _plain(d):
    return json.loads(json.dumps(d, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


CASES = ("cnn_plane", "resnet18_segment", "polyline", "resnet50_chord", "regioncam")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help="write benchmarks/results/bench_slices.json")
    p.add_argument("--skip", nargs="*", default=(), choices=CASES)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--cnn-epochs", type=int, default=4)
    p.add_argument("--cnn-margin", type=float, default=0.1)
    p.add_argument("--resnet50-fraction", type=float, default=1 / 256)
    p.add_argument("--polyline-segments", type=int, default=3)
    p.add_argument("--regioncam-python", default=None,
                   help="python of a virtualenv with regioncam==0.5.2 (benchmark-only dependency)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes for the ResNet-18 segment, timed besides one process "
                        "(default: every CPU)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch's thread count for all cases (0: torch's default)")
    args = p.parse_args(argv)
    import torch

    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)

    commit = _commit()
    record = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "torch_threads": torch.get_num_threads(), "loadavg_start": os.getloadavg(), "cases": []}
    for name in CASES:
        if name in args.skip:
            continue
        fn = {"cnn_plane": cnn_plane, "resnet18_segment": resnet18_segment, "polyline": polyline,
              "resnet50_chord": resnet50_chord, "regioncam": regioncam_cases}[name]
        t0 = time.perf_counter()
        res = fn(args)
        rows = res if isinstance(res, list) else [res]
        for r in rows:
            r["loadavg"] = os.getloadavg()
            r["torch_threads"] = torch.get_num_threads()
            r["utc"] = _utc_now()
            r["commit"] = commit
            print(json.dumps({k: v for k, v in r.items() if k != "stats"}), flush=True)
        record["cases"].extend(rows)
        record.setdefault("cases_run_now", []).extend(rows)
        record.setdefault("case_wall_s", {})[name] = time.perf_counter() - t0
    record["peak_rss_mb"] = peak_rss_mb()
    record["loadavg_end"] = os.getloadavg()
    if args.write:
        path = ROOT / "benchmarks" / "results" / "bench_slices.json"
        now = record.pop("cases_run_now", [])
        ran = {r["case"] for r in now}
        this_run = {"cases_run": sorted(ran), "case_wall_s": record.pop("case_wall_s", {}),
                    **{k: record.pop(k) for k in ("loadavg_start", "loadavg_end", "peak_rss_mb", "torch_threads")}}
        runs, kept = [], []
        if path.is_file():  # cases run separately (each takes minutes) are kept; rerun ones replaced
            old = json.loads(path.read_text())
            kept = [c for c in old.get("cases", []) if c["case"] not in ran]
            for r in old.get("runs", []):
                r["cases_run"] = [c for c in r["cases_run"] if c not in ran]
                if r["cases_run"]:
                    runs.append(r)
        record["cases"] = kept + now
        record["runs"] = runs + [this_run]
        path.write_text(json.dumps(_plain(record), indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
    return record


if __name__ == "__main__":
    main()
