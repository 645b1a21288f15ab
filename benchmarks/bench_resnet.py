"""Benchmark: ResNet-50 bit vectors + Hamming distance matrix for N images (Liu et al. Ex. 4.3).

Measures, on this machine, the wall time of (1) reading every ReLU call's bits of ResNet-50 by
forward hooks, packed per image as produced (``relutopo.hooks.activation_bits``), and (2) the
popcount Hamming matrix over the packed 64-bit words (``relutopo.patterns.hamming_matrix``), and
the process's peak resident memory. Target (issue 5): 100 images at 224 x 224 in under 2 minutes
and under 4 GB on a 2-core CPU.

The inputs are the 100-point image circle ``sin(theta) A1 + cos(theta) A2`` of the notebook, built
from scikit-image's photographs; the network is the seeded, untrained ResNet-50 (the cost does not
depend on the weights).

Usage::

    .venv/bin/python benchmarks/bench_resnet.py [--n-images 100] [--size 224] [--batch-size 16]
                                                [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-images", type=int, default=100)
    p.add_argument("--size", type=int, default=224, help="crop size (resize = size * 256 / 224)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--chunk-words", type=int, default=1 << 15)
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from relutopo.papers.liu.images import sample_images
    from relutopo.papers.liu.manifolds import circle_angles, image_circle
    from relutopo.hooks import activation_bits
    from relutopo.papers.liu.resnet import resnet50
    from relutopo.patterns import hamming_matrix

    rss0 = peak_rss_mb()
    imgs = sample_images(resize=round(args.size * 256 / 224), crop=args.size)
    X = image_circle(imgs.arrays[0], imgs.arrays[1], circle_angles(args.n_images))
    model = resnet50(seed=0)
    rss_model = peak_rss_mb()

    t0 = time.perf_counter()
    bits = activation_bits(model, X, batch_size=args.batch_size)
    t1 = time.perf_counter()
    D = hamming_matrix(bits.words, chunk_words=args.chunk_words)
    t2 = time.perf_counter()

    # spot check against unpacked bits of two rows (never all rows: 9.6M bits each at 224^2)
    pair = bits.unpack([0, args.n_images // 2])
    assert int((pair[0] != pair[1]).sum()) == int(D[0, args.n_images // 2])
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0)

    out = {
        "n_images": args.n_images, "size": args.size, "batch_size": args.batch_size,
        "n_bits_per_image": bits.n_bits, "n_relu_calls": len(bits.calls),
        "packed_bits_mb": bits.words.nbytes / 2**20,
        "bits_seconds": t1 - t0, "hamming_seconds": t2 - t1, "total_seconds": t2 - t0,
        "peak_rss_mb": peak_rss_mb(), "rss_before_model_mb": rss0, "rss_after_model_mb": rss_model,
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "torch": torch.__version__, "machine": platform.machine(),
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text + "\n")
    return out


if __name__ == "__main__":
    main()
