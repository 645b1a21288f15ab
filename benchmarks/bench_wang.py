"""Benchmark of the Wang (IJCAI 2022) experiments: networks/second per arrangement.

For each arrangement of Fig. 3 (input dimension 7, 10 hidden neurons, U(-1, 1) weights) it times,
in one process, on the same seeded networks:

* the traversal engine: ``decompose(net, domain=None)`` + ``linear_regions`` -- the notebook's
  default ``counter``, and
* Wang's Intersect/Add/Cut: ``activation_regions.propagate`` + ``linear_regions`` (facets checked
  only between cells with equal maps),

checks that both find the same numbers of activation and linear regions, and projects the wall
time of the notebook's Fig. 3 sweep at the ``book`` (500 nets per arrangement) and ``paper``
(5000) profiles on ``--jobs`` worker processes. ``--measure book|paper`` also runs that sweep for
real (with ``--counter``) through ``relutopo.sweep.run_sweep`` and records its wall time. The
sweep times of the notebook's own recorded runs (``results/<profile>/wang_linear_regions.json``,
every sweep of the chapter, measured when that record was made) are copied in beside them.

Usage::

    .venv/bin/python benchmarks/bench_wang.py --nets 20 --jobs 2 [--measure book]

Results go to ``benchmarks/results/bench_wang.json`` (and a table on stdout). Timings depend on
the machine's load: the load average at start and end is recorded with them, and the CPU time
of the process (``time.process_time``, nearly load-independent) is recorded beside the wall
time; "from CPU time" projections are what an otherwise idle machine would take.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from relutopo.activation_regions import propagate
from relutopo.decompose import decompose
from relutopo.linear_regions import linear_regions
from relutopo.papers.wang.sweeps import random_network_counts, uniform_net
from relutopo.sweep import run_sweep, task_seed

ARRANGEMENTS = [(8, 2), (7, 3), (5, 5), (5, 3, 2), (4, 3, 3), (3, 3, 2, 2), (2, 2, 2, 2, 2)]
INPUT_DIM = 7
PROFILE_NETS = {"book": 500, "paper": 5000}


def time_arrangement(arch, n_nets, seed=0):
    t_engine, t_wang, agree, n_act, n_lin = 0.0, 0.0, 0, [], []
    c_engine, c_wang = 0.0, 0.0
    for i in range(n_nets):
        net = uniform_net([INPUT_DIM, *arch, 1], task_seed(seed, "bench", list(arch), i))
        t0, p0 = time.perf_counter(), time.process_time()
        dec = decompose(net, domain=None)
        lin = linear_regions(dec)
        t1, p1 = time.perf_counter(), time.process_time()
        res = propagate(net)
        lin_w = linear_regions(res)
        t2, p2 = time.perf_counter(), time.process_time()
        t_engine += t1 - t0
        t_wang += t2 - t1
        c_engine += p1 - p0
        c_wang += p2 - p1
        agree += int(res.n_regions == dec.n_regions and lin_w.n_linear == lin.n_linear)
        n_act.append(dec.n_regions)
        n_lin.append(lin.n_linear)
    return {
        "arrangement": list(arch), "n_nets": n_nets,
        "engine_nets_per_s": n_nets / t_engine, "wang_nets_per_s": n_nets / t_wang,
        "engine_s_per_net": t_engine / n_nets, "wang_s_per_net": t_wang / n_nets,
        "engine_cpu_s_per_net": c_engine / n_nets, "wang_cpu_s_per_net": c_wang / n_nets,
        "counts_agree": agree, "mean_activation": float(np.mean(n_act)),
        "mean_linear": float(np.mean(n_lin)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", type=int, default=20, help="networks timed per arrangement")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers for projections")
    ap.add_argument("--measure", choices=["none", "book", "paper"], default="none",
                    help="also run the Fig. 3 sweep of this profile and time it")
    ap.add_argument("--counter", choices=["wang", "engine"], default="engine",
                    help="algorithm of the measured sweep")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_wang.json"))
    args = ap.parse_args(argv)
    if args.nets < 1 or args.jobs < 1:
        ap.error("--nets and --jobs must be positive")

    decompose(uniform_net([INPUT_DIM, 2, 1], 0), domain=None)  # warm imports and HiGHS
    load0 = os.getloadavg()
    rows = []
    for arch in ARRANGEMENTS:
        r = time_arrangement(arch, args.nets)
        rows.append(r)
        print(f"{str(arch):18s} engine {r['engine_nets_per_s']:7.2f} nets/s "
              f"({1 / r['engine_cpu_s_per_net']:7.2f} per CPU-s)   Intersect/Add/Cut "
              f"{r['wang_nets_per_s']:7.2f} nets/s ({1 / r['wang_cpu_s_per_net']:7.2f} per CPU-s)   "
              f"agree {r['counts_agree']}/{args.nets}", flush=True)
    projected = {}
    for p, n in PROFILE_NETS.items():
        projected[p] = {f"{alg}_{kind}": n * sum(r[f"{alg}_{key}"] for r in rows) / args.jobs
                        for alg in ("engine", "wang")
                        for kind, key in (("s", "s_per_net"), ("cpu_s", "cpu_s_per_net"))}
    out = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform(), "load_start": load0},
        "jobs": args.jobs, "arrangements": rows,
        "projected_fig3_sweep": projected,
    }
    for p, v in projected.items():
        print(f"projected Fig. 3 sweep, {p} profile ({PROFILE_NETS[p]} nets x 7, {args.jobs} jobs): "
              f"engine {v['engine_s'] / 60:.1f} min wall / {v['engine_cpu_s'] / 60:.1f} min from CPU time, "
              f"Intersect/Add/Cut {v['wang_s'] / 60:.1f} / {v['wang_cpu_s'] / 60:.1f} min")
    if args.measure != "none":
        n = PROFILE_NETS[args.measure]
        tasks = [dict(hidden=list(a), input_dim=INPUT_DIM, seed=task_seed(0, "fig3", list(a), i),
                      method=args.counter) for a in ARRANGEMENTS for i in range(n)]
        t0 = time.perf_counter()
        run_sweep(random_network_counts, tasks, n_jobs=args.jobs, desc=f"fig3 {args.measure}")
        out["measured_fig3_sweep"] = {"profile": args.measure, "counter": args.counter,
                                      "n_tasks": len(tasks), "seconds": time.perf_counter() - t0}
        print(f"measured Fig. 3 sweep ({args.measure}): {out['measured_fig3_sweep']['seconds'] / 60:.1f} min")
    runs = {}
    for prof in ("book", "paper"):
        rec = Path(__file__).resolve().parent.parent / "results" / prof / "wang_linear_regions.json"
        if rec.is_file():
            data = json.loads(rec.read_text())
            t = data.get("extra", {}).get("timings_seconds", {})
            runs[prof] = {"sweeps_wall_s": t, "all_sweeps_wall_s": float(sum(t.values())),
                          "counter": data.get("parameters", {}).get("counter"),
                          "n_nets": data.get("parameters", {}).get("n_nets")}
    out["notebook_runs"] = runs
    for prof, v in runs.items():
        print(f"recorded notebook run ({prof}): all sweeps {v['all_sweeps_wall_s'] / 60:.1f} min wall")
    out["machine"]["load_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
