"""Benchmark of the La Malfa et al. experiments: time per trained network per architecture, and the
cost of the CNT metrics (per-patch convolution arithmetic against an explicit Toeplitz matrix).

Run: ``.venv/bin/python benchmarks/bench_cnt.py [--epochs 10 --cifar-epochs 5 --n-train 3000 --repeats 3]``.
Training runs in this process on one torch thread (as each worker of ``train_pools`` does), after
a warm-up network, so the numbers are the steady-state cost of one network of the notebook's pools.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np


def time_training(dataset: str, arch: str, depth: int, epochs: int, n_train: int, repeats: int) -> dict:
    from relutopo.papers.lamalfa.pools import PoolConfig, train_network

    cfg = PoolConfig(dataset, arch, depth=depth, epochs=epochs, n_train=n_train, lr=3e-3)
    train_network(asdict(PoolConfig(dataset, arch, depth=depth, epochs=1, n_train=64)), 0, 0)  # warm-up
    secs, cpu, scores = [], [], []
    for r in range(repeats):
        net = train_network(asdict(cfg), r, 1000 + r)
        secs.append(net.train_seconds)
        cpu.append(net.train_cpu_seconds)
        scores.append(net.score)
    return {"dataset": dataset, "arch": arch, "depth": depth, "epochs": epochs, "n_train": n_train,
            "seconds_per_network": float(np.median(secs)), "cpu_seconds_per_network": float(np.median(cpu)),
            "score_median": float(np.median(scores))}


def time_metrics(dataset: str, arch: str, depth: int, n_samples: int = 100, repeats: int = 5) -> dict:
    from relutopo.cnt import network_cnt
    from relutopo.papers.lamalfa.pools import PoolConfig, load_pool_data, train_network

    net = train_network(asdict(PoolConfig(dataset, arch, depth=depth, epochs=0, n_train=64)), 0, 0).cnt_network()
    X = load_pool_data(dataset, None, 64).X_test[:n_samples]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        network_cnt(net, X)
        times.append(time.perf_counter() - t)
    return {"dataset": dataset, "arch": arch, "depth": depth, "n_samples": n_samples,
            "metrics_seconds_per_network": float(np.median(times))}


def toeplitz_comparison(c_in=3, c_out=16, size=32, k=5, stride=2, padding=2, n=100) -> dict:
    """Per-patch (unfold) neurons strength and nodes strength against the dense Toeplitz matrix."""
    from relutopo.cnt import ConvLayer, DenseLayer, neuron_strength, node_strength_in

    rng = np.random.default_rng(0)
    conv = ConvLayer(rng.normal(size=(c_out, c_in, k, k)), rng.normal(size=c_out), stride, padding)
    X = rng.random((n, c_in, size, size))
    t = time.perf_counter()
    zeta = neuron_strength(conv, X)
    s_in = node_strength_in(conv, (c_in, size, size))
    per_patch = time.perf_counter() - t
    t = time.perf_counter()
    # the Toeplitz matrix: the layer applied to every basis image (one column per input pixel)
    n_in = c_in * size * size
    basis = np.eye(n_in).reshape(n_in, c_in, size, size)
    T = neuron_strength(ConvLayer(conv.kernel, np.zeros(c_out), stride, padding), basis).reshape(n_in, -1)
    dense = DenseLayer(T, np.repeat(conv.bias, zeta[0, 0].size))
    zeta_t = neuron_strength(dense, X.reshape(n, -1))
    s_in_t = node_strength_in(dense, (n_in,))
    toeplitz = time.perf_counter() - t
    assert np.allclose(zeta.reshape(n, -1), zeta_t) and np.allclose(s_in.ravel(), s_in_t)
    return {"input": [c_in, size, size], "kernel": [c_out, c_in, k, k], "samples": n,
            "per_patch_seconds": per_patch, "toeplitz_seconds": toeplitz,
            "toeplitz_matrix_MB": T.nbytes / 2**20, "kernel_KB": conv.kernel.nbytes / 2**10}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="MNIST epochs (the notebook's book profile: 10)")
    ap.add_argument("--cifar-epochs", type=int, default=5, help="CIFAR-10/substitute epochs (book: 5)")
    ap.add_argument("--n-train", type=int, default=3000, help="training images (book: 3000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = []
    for dataset, epochs in (("mnist", args.epochs), ("cifar10", args.cifar_epochs)):
        for arch in ("fc", "cnn", "rnn", "ae"):
            row = time_training(dataset, arch, 3, epochs, args.n_train, args.repeats)
            row.update({k: v for k, v in time_metrics(dataset, arch, 3).items() if k.startswith("metrics")})
            rows.append(row)
            print(f"{dataset:8s} {arch.upper():4s} depth 3: {row['seconds_per_network']:6.2f} s/network "
                  f"({row['cpu_seconds_per_network']:6.2f} CPU s) "
                  f"({epochs} epochs, {args.n_train} images; score {row['score_median']:.3f}); "
                  f"CNT metrics {row['metrics_seconds_per_network'] * 1e3:6.1f} ms/network (100 samples)")
    toe = toeplitz_comparison()
    print(f"conv {toe['kernel']} on {toe['input']} x {toe['samples']}: per patch {toe['per_patch_seconds'] * 1e3:.1f} ms, "
          f"Toeplitz {toe['toeplitz_seconds'] * 1e3:.1f} ms (matrix {toe['toeplitz_matrix_MB']:.1f} MB vs kernel "
          f"{toe['kernel_KB']:.1f} KB)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"training": rows, "toeplitz": toe}, fh, indent=1)


if __name__ == "__main__":
    main()
