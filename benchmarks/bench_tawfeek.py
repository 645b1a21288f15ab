"""Benchmark of the Tawfeek et al. pipeline: per checkpoint of a 2->32->32->1 network in [-1, 1]^2,
the decomposition, the cell complex, the data-weighted Fiedler vector, the decision-boundary
agreement, and 20 random Betti curves.

Run: ``.venv/bin/python benchmarks/bench_tawfeek.py [--seed 0 --epochs 3000 --repeat 3]``.
The checkpoints come from one grokking-style training run (the notebook's book setup: AdamW,
initialisation scaled by ``--init-scale``); each stage is timed best-of-``--repeat`` in wall and
CPU time (``time.process_time``; the CPU time is what an idle machine takes). Results go to
``benchmarks/results/bench_tawfeek.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat):
    best_wall, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--init-scale", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--checkpoints", default="0,100,300,1000,3000")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_tawfeek.json"))
    args = ap.parse_args()

    import torch

    from relutopo.papers.tawfeek.dynamics import net_from_state, output_maps, scale_parameters_
    from relutopo.complex import cell_complex
    from relutopo.papers.tawfeek.grokking import grokking_data
    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.filtration import betti_curves
    from relutopo.spectral import cut_agreement, dual_graph_of_complex, fiedler_partition
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    sizes = (2, 32, 32, 1)
    ckpts = [int(x) for x in args.checkpoints.split(",")]
    data = grokking_data(40, 1000, seed=args.seed, boundary="sine")
    model = mlp(sizes, seed=args.seed)
    scale_parameters_(model, args.init_scale)
    w0 = time.perf_counter()
    _, hist = fit(model, data.X_train, data.y_train, task="binary", epochs=args.epochs, seed=args.seed,
                  lr=1e-3, weight_decay=0.3, optimizer="adamw", checkpoint_epochs=ckpts)
    train_s = time.perf_counter() - w0
    rows = []
    for ep in ckpts:
        net = net_from_state(sizes, hist.checkpoints[ep])
        box = Box(-1, 1, dim=2)
        t_dec = _best(lambda: decompose(net, box), args.repeat)
        dec = t_dec[2]
        t_cx = _best(lambda: cell_complex(dec), args.repeat)
        K = t_cx[2]

        def fied():
            edges = dual_graph_of_complex(K).edges
            return fiedler_partition(edges, dec.n_regions, weighting="data",
                                     point_regions=dec.locate(data.X_train))

        t_fd = _best(fied, args.repeat)

        def agree():
            a, b = output_maps(dec)
            split = K.split_volumes(a, b)
            return cut_agreement(t_fd[2].side, split.positive, split.negative)

        t_ag = _best(agree, args.repeat)
        t_bc = _best(lambda: betti_curves(K, 20, seed=0), 1)
        rows.append({"epoch": ep, "regions": dec.n_regions, "f_vector": K.f_vector.tolist(),
                     "decompose_s": t_dec[0], "decompose_cpu_s": t_dec[1],
                     "complex_s": t_cx[0], "complex_cpu_s": t_cx[1],
                     "fiedler_s": t_fd[0], "fiedler_cpu_s": t_fd[1],
                     "agreement_s": t_ag[0], "agreement_cpu_s": t_ag[1],
                     "betti20_s": t_bc[0], "betti20_cpu_s": t_bc[1]})
    stages = ("decompose", "complex", "fiedler", "agreement", "betti20")
    print(f"{'epoch':>6} {'regions':>8} " + " ".join(f"{s:>14}" for s in stages) + "   wall s (CPU s)")
    for r in rows:
        print(f"{r['epoch']:>6} {r['regions']:>8} " + " ".join(
            f"{r[s + '_s']:>6.2f} ({r[s + '_cpu_s']:>5.2f})" for s in stages))
    tot = [r["decompose_s"] + r["complex_s"] + r["fiedler_s"] for r in rows]
    tot_cpu = [r["decompose_cpu_s"] + r["complex_cpu_s"] + r["fiedler_cpu_s"] for r in rows]
    print(f"decomposition + complex + Fiedler per checkpoint: mean {np.mean(tot):.2f} s wall "
          f"({np.mean(tot_cpu):.2f} s CPU), max {np.max(tot):.2f} s wall; training {args.epochs} "
          f"epochs: {train_s:.1f} s wall; load average {os.getloadavg()[0]:.1f}")
    args_rec = dict(vars(args), out=os.path.relpath(args.out, Path(__file__).resolve().parents[1]))
    out = {"rows": rows, "train_wall_s": train_s, "args": args_rec,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "loadavg": os.getloadavg()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
