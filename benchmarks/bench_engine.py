"""Benchmark of the polyhedral engine (issue 4): ``decompose`` vs relucent 1.0.0, side by side.

For each network of the issue's table (seeded U(-1, 1) weights and biases, ``--seed``), it runs

* ``relutopo.decompose.decompose(net, domain)`` with ``method="auto"`` (exact polygon clipping for
  d = 2 boxes, the vertex/double-description refinement otherwise), each case in a fresh
  subprocess so that its peak RSS is its own; the best wall time of the runs that fit in
  ``--min-time`` seconds (at least ``--repeat``; relucent gets the same rule), the CPU time
  (``time.process_time``, nearly independent of other load on the machine), regions per second,
  the fraction of the time spent inside HiGHS, and the peak RSS of the process;
* an independent check: ``method="lp"`` (Chebyshev-LP refinement, no shared geometry code) must
  give the same set of bit vectors (skipped with ``--no-check`` or when it is too slow);
* relucent 1.0.0 (PyPI; a benchmark-only dependency, run with the interpreter of a separate
  virtualenv given by ``--relucent-python``; see requirements-bench.txt) on the same weights with
  ``Complex.bfs`` (``cube_mode="clipped"`` for the box cases), with a timeout.

It prints a markdown table and, with ``--write``, writes it with the machine details to
``benchmarks/RESULTS.md`` and the raw numbers to ``benchmarks/results/bench_engine.json``.

Usage::

    python -m venv .bench-venv && .bench-venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python benchmarks/bench_engine.py --relucent-python .bench-venv/bin/python --write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: (name, layer sizes, box half-width or None for R^d, issue's table: regions, relucent s, proto s)
CASES = [
    ("3-10-10-10-1 box", (3, 10, 10, 10, 1), 1.0, "753", "8.5", "0.52"),
    ("3-10-10-10-1 R^3", (3, 10, 10, 10, 1), None, "2808 (2102 b.)", "37.6", "3.3"),
    ("2-32-32-1 box", (2, 32, 32, 1), 1.0, "485", "24.6", "0.57"),
    ("2-32-32-1 R^2", (2, 32, 32, 1), None, "1604", "43.1", "-"),
    ("2-64-64-64-1 box", (2, 64, 64, 64, 1), 1.0, "5979", "> 300", "6.6"),
    ("4-16-16-16-1 box", (4, 16, 16, 16, 1), 1.0, "20649", "-", "17.7"),
    ("7-5-5-1 R^7", (7, 5, 5, 1), None, "247 (0 b.)", "5.3", "0.25"),
    ("7-2-2-2-2-2-1 R^7", (7, 2, 2, 2, 2, 2, 1), None, "13", "0.19", "0.014"),
]


#: Issue 19's 2-D table, regioncam's own ground: (name, layer sizes, box half-width).
REGIONCAM_CASES = [
    ("2-32-32-1 box", (2, 32, 32, 1), 1.0),
    ("2-64-64-64-1 box", (2, 64, 64, 64, 1), 1.0),
    ("2-128-128-128-1 box", (2, 128, 128, 128, 1), 1.0),
    ("2-256-256-256-1 box", (2, 256, 256, 256, 1), 1.0),
]


def seeded_weights(sizes, seed):
    """U(-1, 1) weights and biases from ``numpy.random.default_rng(seed)``, layer by layer."""
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(-1.0, 1.0, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-1.0, 1.0, b) for b in sizes[1:]]
    return ws, bs


# ----------------------------------------------------------------------------- one case (child)
def run_case(index: int, seed: int, repeat: int, check: bool, min_time: float = 1.0) -> dict:
    import resource

    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.nets import ReluNet

    name, sizes, box, *_ = CASES[index]
    net = ReluNet.from_weights(*seeded_weights(sizes, seed))
    dom = Box(-box, box, dim=sizes[0]) if box else None
    best = None
    runs, spent = 0, 0.0
    while runs < repeat or (spent < min_time and runs < 1000):  # best of the runs that fit in min_time
        w0, c0 = time.perf_counter(), time.process_time()
        dec = decompose(net, dom)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs, spent = runs + 1, spent + wall
        if best is None or wall < best["wall_s"]:
            best = {"wall_s": wall, "cpu_s": cpu,
                    "lp_s": dec.stats["lp_seconds"] + dec.stats.get("centre_seconds", 0.0),
                    "lp_calls": dec.stats["lp_calls"], "method": dec.stats["method"]}
    out = {"case": name, "sizes": list(sizes), "box": box, "seed": seed,
           "regions": dec.n_regions, "bounded": dec.n_bounded, "edges": int(len(dec.edges)),
           "unmatched_facets": dec.stats["unmatched_facets"],
           "dropped_thin_cells": dec.stats["dropped_thin_cells"], **best,
           "runs": runs, "regions_per_s": dec.n_regions / best["wall_s"],
           "lp_fraction": best["lp_s"] / best["wall_s"],
           "result_bytes": dec.nbytes}
    if check:
        w0 = time.perf_counter()
        ref = decompose(net, dom, method="lp")
        out["lp_check_s"] = time.perf_counter() - w0
        out["lp_check_equal"] = ({p.tobytes() for p in ref.packed_patterns}
                                 == {p.tobytes() for p in dec.packed_patterns}
                                 and ref.n_bounded == dec.n_bounded)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _best_of(fn, repeat, min_time):
    """``(result, best wall, its CPU time, runs)`` over the runs of ``fn`` that fit in ``min_time``
    seconds (at least ``repeat``)."""
    best, runs, spent, out = None, 0, 0.0, None
    while runs < repeat or (spent < min_time and runs < 1000):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs, spent = runs + 1, spent + wall
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return out, best[0], best[1], runs


def run_case_2d(index: int, seed: int, repeat: int, min_time: float = 1.0, numpy_path: bool = True) -> dict:
    """Issue 19's 2-D case ``index``: the compiled path, then the numpy path (``compiled=False``,
    at least one run), and whether they give the same decomposition."""
    import resource

    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.nets import ReluNet

    name, sizes, box = REGIONCAM_CASES[index]
    net = ReluNet.from_weights(*seeded_weights(sizes, seed))
    dom = Box(-box, box, dim=2)
    decompose(net, dom, compiled=True)  # loads the compiled kernels from numba's cache
    dec, wall, cpu, runs = _best_of(lambda: decompose(net, dom, compiled=True), repeat, min_time)
    if not numpy_path:  # --no-numpy: the compiled path only
        ref, nwall, ncpu, nruns = dec, None, None, 0
    else:
        ref, nwall, ncpu, nruns = _best_of(lambda: decompose(net, dom, compiled=False), 1, min_time)
    same = None if not numpy_path else (dec.n_regions == ref.n_regions and (dec.packed_patterns == ref.packed_patterns).all()
            and (dec.facet_ptr == ref.facet_ptr).all() and (dec.facet_ids == ref.facet_ids).all()
            and dec.edges.shape == ref.edges.shape and (dec.edges == ref.edges).all())
    return {"case": name, "sizes": list(sizes), "box": box, "seed": seed, "regions": dec.n_regions,
            "edges": int(len(dec.edges)), "unmatched_facets": dec.stats["unmatched_facets"],
            "wall_s": wall, "cpu_s": cpu, "runs": runs, "numpy_wall_s": nwall, "numpy_cpu_s": ncpu,
            "numpy_runs": nruns, "compiled_equals_numpy": None if same is None else bool(same),
            "centre_max_diff": float(np.abs(dec.interior_points - ref.interior_points).max()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def compile_times() -> dict:
    """First-call cost of the compiled kernels: a fresh process with an empty numba cache
    (compilation), a fresh process with that cache (loading), and a warm call, on a 2-D box
    net (polygon path) and a 3-D R^3 net (vertex path)."""
    import shutil

    out = {}
    cache = tempfile.mkdtemp(prefix="relutopo-numba-cache-")
    code = ("import time, json, sys; sys.path.insert(0, %r); t0 = time.perf_counter(); "
            "import numpy as np; from bench_engine import seeded_weights; "
            "from relutopo import Box, ReluNet, decompose; t1 = time.perf_counter(); r = {'import_s': t1 - t0}; "
            "n2 = ReluNet.from_weights(*seeded_weights((2, 32, 32, 1), 0)); "
            "n3 = ReluNet.from_weights(*seeded_weights((3, 10, 10, 10, 1), 0)); "
            "t = time.perf_counter(); decompose(n2, Box(-1, 1, dim=2)); r['polygon_first_s'] = time.perf_counter() - t; "
            "t = time.perf_counter(); decompose(n2, Box(-1, 1, dim=2)); r['polygon_second_s'] = time.perf_counter() - t; "
            "t = time.perf_counter(); decompose(n3, None); r['vertex_first_s'] = time.perf_counter() - t; "
            "t = time.perf_counter(); decompose(n3, None); r['vertex_second_s'] = time.perf_counter() - t; "
            "print(json.dumps(r))") % str(HERE)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    try:
        for label in ("empty_cache", "warm_cache"):
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                  check=True, cwd=str(HERE.parent))
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return out


def run_regioncam(index: int, seed: int, python: str, timeout: float, min_time: float = 1.0) -> dict:
    """regioncam 0.5.2 (benchmark venv) on issue 19's 2-D case ``index``."""
    name, sizes, box = REGIONCAM_CASES[index]
    ws, bs = seeded_weights(sizes, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        arrays = {f"W{i}": w for i, w in enumerate(ws)}
        arrays.update({f"b{i}": b for i, b in enumerate(bs)})
        np.savez(path, box=np.float64(box), **arrays)
        try:
            proc = subprocess.run([python, str(HERE / "_regioncam_runner.py"), path, str(min_time)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "timeout_s": timeout}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "error", "stderr": proc.stderr[-2000:]}
    return dict(json.loads(lines[-1]), status="ok")


def _ratio(x) -> str:
    """A speed ratio: two decimals below 10 (a 0.96x is not rounded up to parity)."""
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def _secs(x) -> str:
    """Seconds with four significant digits below 0.01 s (a millisecond call's digits show)."""
    return f"{x:.6f}" if x < 0.01 else f"{x:.4f}"


def table_2d(rows) -> str:
    """Issue 19's table: ours (compiled and numpy) against regioncam on [-1, 1]^2."""
    head = ("| net, [-1, 1]^2 | regions ours / regioncam | counts equal | ours s (CPU s) | regioncam 0.5.2 s "
            "(CPU s) | ours faster by, wall (CPU) | numpy path s | compiled = numpy |\n"
            "|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        rc = r.get("regioncam") or {}
        if rc.get("status") == "ok":
            rc_txt = f"{_secs(rc['seconds'])} ({_secs(rc['cpu_seconds'])})"
            ratio = f"{_ratio(rc['seconds'] / r['wall_s'])} ({_ratio(rc['cpu_seconds'] / r['cpu_s'])})"
            counts = f"{r['regions']} / {rc['regions']}"
            eq = "yes" if rc["regions"] == r["regions"] else "NO"
        else:
            rc_txt, ratio, counts, eq = rc.get("status", "not run"), "-", f"{r['regions']} / -", "-"
        lines.append(f"| {r['case'].replace(' box', '')} | {counts} | {eq} | {_secs(r['wall_s'])} ({_secs(r['cpu_s'])}) "
                     f"| {rc_txt} | {ratio} | {_fmt(r['numpy_wall_s'], 3)} | "
                     f"{'-' if r['compiled_equals_numpy'] is None else ('yes' if r['compiled_equals_numpy'] else 'NO')} |")
    return head + "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- relucent (child venv)
def run_relucent(index: int, seed: int, python: str, timeout: float, min_time: float = 1.0) -> dict:
    name, sizes, box, *_ = CASES[index]
    ws, bs = seeded_weights(sizes, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        arrays = {f"W{i}": w for i, w in enumerate(ws)}
        arrays.update({f"b{i}": b for i, b in enumerate(bs)})
        np.savez(path, box=np.float64(box if box else -1.0), **arrays)
        w0 = time.perf_counter()
        try:
            proc = subprocess.run([python, str(HERE / "_relucent_runner.py"), path, "-", str(min_time)],
                                  capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "timeout_s": timeout}
        wall = time.perf_counter() - w0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "error", "stderr": proc.stderr[-2000:]}
    res = json.loads(lines[-1])
    res.update(status="ok", process_wall_s=wall)
    return res


# ----------------------------------------------------------------------------- table
def _fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def table(rows) -> str:
    head = ("| net, domain | regions (bounded) | ours s (CPU s) | regions/s | LP share | peak RSS MB "
            "| relucent 1.0.0 s (CPU s) | ratio wall (CPU) | counts equal | issue: regions / relucent s / proto s |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        rel = r.get("relucent") or {}
        if rel.get("status") == "ok":
            rel_s = rel["seconds"]
            ratio = f"{rel_s / r['wall_s']:.0f}x ({rel['cpu_seconds'] / r['cpu_s']:.0f}x)"
            same = rel["regions"] == r["regions"] and (r["box"] is not None or rel["bounded"] == r["bounded"])
            rel_txt = f"{_fmt(rel_s)} ({_fmt(rel['cpu_seconds'])})"
            eq = "yes" if same else f"no ({rel['regions']}/{rel['bounded']} b.)"
        elif rel.get("status") == "timeout":
            rel_txt, ratio, eq = f"> {rel['timeout_s']:.0f}", f"> {rel['timeout_s'] / r['wall_s']:.0f}x", "-"
        else:
            rel_txt, ratio, eq = "not run" if not rel else "error", "-", "-"
        if "lp_check_equal" in r:
            eq += "; LP path " + ("agrees" if r["lp_check_equal"] else "DISAGREES")
        name, _, _, iss_regions, iss_rel, iss_proto = CASES[r["index"]]
        lines.append(
            f"| {name} | {r['regions']} ({r['bounded']}) | {_fmt(r['wall_s'])} ({_fmt(r['cpu_s'])}) "
            f"| {r['regions_per_s']:.0f} | {100 * r['lp_fraction']:.0f}% | {r['peak_rss_mb']:.0f} "
            f"| {rel_txt} | {ratio} | {eq} | {iss_regions} / {iss_rel} / {iss_proto} |")
    return head + "\n".join(lines) + "\n"


#: The issue's absolute targets on a 2-core machine (seconds), by case index.
TARGETS = {4: 1.0, 5: 5.0, 1: 1.0}


def targets(rows) -> str:
    """Verdicts against the issue's targets: absolute times, and >= 50x relucent."""
    out = ["| target | ours wall s | ours CPU s | met (wall / CPU) |", "|---|---|---|---|"]
    by_index = {r["index"]: r for r in rows}
    for i, limit in TARGETS.items():
        if i in by_index:
            r = by_index[i]
            out.append(f"| {CASES[i][0]} under {limit:g} s | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                       f"{'yes' if r['wall_s'] < limit else 'no'} / {'yes' if r['cpu_s'] < limit else 'no'} |")
    for r in rows:
        rel = r.get("relucent") or {}
        if rel.get("status") == "ok":
            w, c = rel["seconds"] / r["wall_s"], rel["cpu_seconds"] / r["cpu_s"]
            out.append(f"| {r['case']}: >= 50x relucent | {w:.0f}x | {c:.0f}x | "
                       f"{'yes' if w >= 50 else 'no'} / {'yes' if c >= 50 else 'no'} |")
    return "\n".join(out) + "\n"


def compile_table(ct) -> str:
    if not ct:
        return "(not measured)\n"
    out = ["| process | import s | 2-D box (polygon) first call s | second call s | R^3 (vertex) first call s | second call s |",
           "|---|---|---|---|---|---|"]
    for label, text in (("empty_cache", "fresh process, empty numba cache (compiles)"),
                        ("warm_cache", "fresh process, cache filled by the one above")):
        r = ct.get(label)
        if r:
            out.append(f"| {text} | {r['import_s']:.2f} | {r['polygon_first_s']:.3f} | {r['polygon_second_s']:.4f} "
                       f"| {r['vertex_first_s']:.3f} | {r['vertex_second_s']:.4f} |")
    return "\n".join(out) + "\n"


def scale_section() -> str:
    """The 10^6-region measurement of ``bench_scale.py`` (results/bench_scale.json), if present."""
    path = HERE / "results" / "bench_scale.json"
    if not path.exists():
        return "(run `benchmarks/bench_scale.py --json benchmarks/results/bench_scale.json`)\n"
    r = json.loads(path.read_text())
    load = r.get("machine", {})
    return (f"`bench_scale.py`, measured {r.get('measured', '?')}: {r['net']} in {r['domain']} (seed {r['seed']}), "
            f"**{r['regions']:,} regions**, {r['facets']:,} facets, {r['edges']:,} edges in "
            f"**{r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU**; peak resident memory of the whole "
            f"process **{r['peak_rss_mb']:.0f} MB** (interpreter and imports: {r['rss_after_imports_mb']:.0f} MB); "
            f"the finished `Decomposition` is {r['decomposition_mb']:.0f} MB. Load average "
            f"{load.get('load_start', ['?'])[0]} at start, {load.get('load_end', ['?'])[0]} at end.\n"
            + (f"\n{r['note']}\n" if r.get("note") else ""))


def write_results(meta, rows, rows2d=None, ct=None):
    tab = table(rows)
    tab2 = table_2d(rows2d) if rows2d else "(not run)\n"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "bench_engine.json").write_text(json.dumps(
        {"meta": meta, "rows": rows, "rows_2d": rows2d or [], "compile": ct or {}}, indent=1, default=float))
    (HERE / "RESULTS.md").write_text(
        "# Engine benchmark (issues 4 and 19)\n\n" + meta + "\nCommand: `.venv/bin/python "
        "benchmarks/bench_engine.py --relucent-python .bench-venv/bin/python --write` (`make bench`)\n\n"
        "## Against regioncam 0.5.2 on its own ground (issue 19)\n\n" + tab2 + "\n" + NOTES_2D
        + "\n## Against relucent 1.0.0 (issue 4)\n\n" + tab + "\n## Targets\n\n" + targets(rows)
        + "\n## A million regions (bench_scale.py)\n\n" + scale_section()
        + "\n## First call: numba compilation and its cache\n\n" + compile_table(ct) + "\n" + NOTES_COMPILE
        + "\n" + NOTES)
    return tab2 + "\n" + tab


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="at least this many runs of ours")
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="each side (ours, relucent) runs until this many seconds are spent (at least "
                         "--repeat runs of ours, one of relucent's) and reports its best run")
    ap.add_argument("--cases", default=None, help="comma-separated case indices (default: all)")
    ap.add_argument("--relucent-python", default=None,
                    help="python of a venv with relucent==1.0.0 (requirements-bench.txt); omit to skip")
    ap.add_argument("--relucent-timeout", type=float, default=300.0)
    ap.add_argument("--relucent-from", default=None,
                    help="reuse relucent's numbers from an earlier results/bench_engine.json (same seed)")
    ap.add_argument("--no-check", action="store_true", help="skip the method='lp' cross-check")
    ap.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md and results/*.json")
    ap.add_argument("--from-json", default=None,
                    help="re-render RESULTS.md from a results/bench_engine.json without rerunning")
    ap.add_argument("--regioncam-python", default=None,
                    help="python of a venv with regioncam==0.5.2 (default: --relucent-python)")
    ap.add_argument("--no-2d", action="store_true", help="skip issue 19's 2-D table (regioncam)")
    ap.add_argument("--no-compile-times", action="store_true", help="skip the first-call measurement")
    ap.add_argument("--no-numpy", action="store_true", help="2-D table: skip the numpy path")
    ap.add_argument("--_child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_child2d", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child is not None:  # one case in a fresh process
        big = CASES[args._child][1] in ((2, 64, 64, 64, 1), (4, 16, 16, 16, 1))
        print(json.dumps(run_case(args._child, args.seed, args.repeat, check=not (args.no_check or big),
                                  min_time=args.min_time)))
        return

    if args._child2d is not None:
        print(json.dumps(run_case_2d(args._child2d, args.seed, args.repeat, min_time=args.min_time,
                                     numpy_path=not args.no_numpy)))
        return

    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        print(write_results(data["meta"], data["rows"], data.get("rows_2d"), data.get("compile")))
        return
    rc_python = args.regioncam_python or args.relucent_python
    load0 = os.getloadavg()
    ct = None if args.no_compile_times else compile_times()
    rows2d = []
    for i in ([] if args.no_2d else range(len(REGIONCAM_CASES))):
        proc = subprocess.run([sys.executable, __file__, "--_child2d", str(i), "--seed", str(args.seed),
                               "--repeat", str(args.repeat), "--min-time", str(args.min_time)]
                              + (["--no-numpy"] if args.no_numpy else []),
                              capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["load_before"] = os.getloadavg()[0]
        if rc_python:
            row["regioncam"] = run_regioncam(i, args.seed, rc_python, args.relucent_timeout, args.min_time)
        rows2d.append(row)
        print(f"{row['case']}: {row['regions']} regions in {row['wall_s']:.4f} s; regioncam: "
              f"{row.get('regioncam', {}).get('seconds', 'not run')}", file=sys.stderr, flush=True)
    idx = range(len(CASES)) if args.cases is None else [int(i) for i in args.cases.split(",")]
    rows = []
    for i in idx:
        proc = subprocess.run([sys.executable, __file__, "--_child", str(i), "--seed", str(args.seed),
                               "--repeat", str(args.repeat), "--min-time", str(args.min_time)]
                              + (["--no-check"] if args.no_check else []),
                              capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["index"] = i
        if args.relucent_from:
            old_run = json.loads(Path(args.relucent_from).read_text())
            prev = [r for r in old_run["rows"]
                    if r["case"] == row["case"] and r["seed"] == args.seed and "relucent" in r]
            if prev:  # the earlier run named by its date (a file path is one machine's: not kept)
                row["relucent"] = dict(prev[0]["relucent"],
                                       reused_from=old_run["meta"].split(" on ")[0].strip())
        elif args.relucent_python:
            row["relucent"] = run_relucent(i, args.seed, args.relucent_python, args.relucent_timeout,
                                           args.min_time)
        rows.append(row)
        print(f"{row['case']}: {row['regions']} regions in {row['wall_s']:.2f} s; relucent: "
              f"{row.get('relucent', {}).get('status', 'not run')}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    meta = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
            f"({os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.processor() or platform.machine()}); seed {args.seed}; "
            f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end.\n")
    if args.relucent_from:
        old_meta = json.loads(Path(args.relucent_from).read_text())["meta"].strip()
        meta += f"relucent's numbers are reused from an earlier run on the same networks ({old_meta})\n"
    if args.write:
        print(write_results(meta, rows, rows2d, ct))
    else:
        print((table_2d(rows2d) if rows2d else "") + "\n" + table(rows) + "\n" + targets(rows)
              + "\n" + compile_table(ct))


NOTES_2D = """Both sides on the same seeded U(-1, 1) networks (seed above), each in its own fresh
process, best wall time of as many runs as fit in `--min-time` seconds (CPU time of that run in
brackets). *ours* is `decompose(net, Box(-1, 1, dim=2))` with the compiled kernels (float64,
every region with its facets, certified Chebyshev centre and the dual graph); *regioncam* builds
its planar subdivision in float32 (`Regioncam(size=1.0)`, `linear(W.T)` and `relu()` per hidden
layer, `num_faces`). *counts equal*: our region count equals regioncam's face count. *numpy
path*: the same call with `compiled=False` (`RELUTOPO_NUMBA=0`), one run at least; *compiled =
numpy*: the two give the same bit vectors in the same order, the same facets and the same dual
graph (centres agree to the `centre_max_diff` in the JSON). A ratio below 1 means regioncam is
faster. What ours does besides building the cells, per call on 2-32-32-1: a certified
Chebyshev centre per region (a small simplex and its dual certificate), the facet crossing
that checks every edge from both regions' affine maps, the interior-point check and the dual
graph with the flipped bits of every edge.
"""

NOTES_COMPILE = """The kernels are compiled by numba on first use (`@njit(cache=True)`) and cached on disk
(in `relutopo/kernels/__pycache__`, or the user's cache folder when that is read-only;
`NUMBA_CACHE_DIR` overrides both); this run points `NUMBA_CACHE_DIR` at an empty temporary
folder, so the first row pays the compilation and the second only loads the cache.
"""

NOTES = """Columns: *ours s* is the best wall time of `decompose(net, domain)` in a fresh process
over as many runs as fit in `--min-time` seconds (at least `--repeat`), with its CPU time in
brackets; *LP share* is the fraction of the wall time spent on Chebyshev-centre LPs (see below);
*peak RSS* is the benchmark process's maximum resident set size (interpreter and imports
included); relucent runs `Complex.bfs` with its default worker count, best of as many runs as
fit in `--min-time` seconds (at least one), and its CPU time includes its worker processes;
*ratio* = relucent time / our time, wall and CPU; *counts equal* compares region counts (and the
bounded/unbounded split in R^d) with relucent, and the set of bit vectors with our independent
LP path (`method="lp"`, skipped for the two largest nets). The last column repeats the issue's
table, whose networks used seeds we do not know: region counts differ from ours for that reason
only.

Load: see the load averages above; CPU times (`time.process_time`) are reported beside wall
times because they are nearly independent of other jobs on the machine. Our CPU time can exceed
our wall time because numpy uses a second thread. relucent's worker processes are included in
its CPU time. For runs of a millisecond or two the CPU time is coarse (clock granularity and
the second BLAS thread's spin) and the wall time is the measure to read.

*LP share* counts the time spent in Chebyshev-centre solves: HiGHS (the `lp` path, and the
fallback of the certified solver) plus the certified centres of `relutopo.chebyshev` that the
`vertex` path uses for every region (basis enumeration for cells with few rows in d <= 2, the
vectorised simplex otherwise); the rest is refinement, facet detection and facet crossing in
numpy.
"""


if __name__ == "__main__":
    main()
