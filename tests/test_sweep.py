"""run_sweep: results in task order, independent of the worker count; per-task seeds stable
across processes; the on-disk cache skips finished tasks and recomputes damaged entries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.sweep import code_fingerprint, run_sweep, task_key, task_seed


def draw(seed, n, log_dir=None):
    """A seeded computation (module level, so it pickles to worker processes)."""
    if log_dir is not None:
        Path(log_dir, f"{seed}-{n}-{os.getpid()}-{np.random.default_rng().integers(1 << 30)}").touch()
    return float(np.random.default_rng(seed).normal(size=n).sum())


def fails(x):
    raise ValueError(f"task {x} failed")


def _tasks(k=6):
    return [{"seed": task_seed(7, "draw", i), "n": 3 + i} for i in range(k)]


def test_results_in_task_order_and_equal_to_a_plain_loop():
    tasks = _tasks()
    expected = [draw(**t) for t in tasks]
    assert run_sweep(draw, tasks, n_jobs=1, progress=False) == expected
    assert run_sweep(draw, tasks, n_jobs=2, progress=False) == expected


def test_seeds_do_not_depend_on_process_or_hash_seed():
    here = [task_seed(3, "arch", (8, 2), i) for i in range(5)]
    code = ("from relutopo.sweep import task_seed; "
            "print([task_seed(3, 'arch', (8, 2), i) for i in range(5)])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"}, check=True).stdout
    assert out.strip() == str(here)


@settings(max_examples=50, deadline=None)
@given(base=st.integers(0, 2**31), keys=st.lists(st.integers(0, 10**6), min_size=2, max_size=20,
                                                 unique=True))
def test_task_seeds_are_32_bit_and_distinct_for_distinct_keys(base, keys):
    seeds = [task_seed(base, k) for k in keys]
    assert all(0 <= s < 2**32 for s in seeds)
    assert len(set(seeds)) == len(seeds)          # a collision has probability ~ 20^2 / 2^33
    assert [task_seed(base, k) for k in reversed(keys)] == seeds[::-1]


def test_task_key_is_canonical():
    a = {"x": 1, "w": np.arange(4, dtype=np.int64), "t": (1, 2)}
    b = {"t": [1, 2], "w": np.arange(4, dtype=np.int64), "x": 1}
    assert task_key(a) == task_key(b)
    assert task_key(a) != task_key({**a, "w": np.arange(4, dtype=np.int32)})
    assert task_key(a) != task_key({**a, "w": np.arange(1, 5, dtype=np.int64)})


def test_cache_skips_finished_tasks_and_recomputes_damaged_ones(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    log.mkdir()
    tasks = [{**t, "log_dir": str(log)} for t in _tasks(4)]
    first = run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False)
    assert len(list(log.iterdir())) == 4
    again = run_sweep(draw, tasks, n_jobs=2, cache_dir=cache, progress=False)
    assert again == first and len(list(log.iterdir())) == 4      # nothing recomputed
    entries = sorted(cache.rglob("*.pkl"))
    assert len(entries) == 4
    entries[0].write_bytes(b"not a pickle")
    third = run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False)
    assert third == first and len(list(log.iterdir())) == 5      # only the damaged one


def test_a_code_fingerprint_keys_the_cache(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    log.mkdir()
    tasks = [{**t, "log_dir": str(log)} for t in _tasks(2)]
    first = run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False, code="v1")
    assert run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False, code="v1") == first
    assert len(list(log.iterdir())) == 2                          # same code: read from the cache
    run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False, code="v2")
    assert len(list(log.iterdir())) == 4                          # other code: recomputed
    run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False)
    assert len(list(log.iterdir())) == 6                          # no code: the old key, its own entry
    with pytest.raises(TypeError, match="code"):
        run_sweep(draw, tasks, n_jobs=1, cache_dir=cache, progress=False, code=1)


def test_code_fingerprint_follows_the_source(tmp_path, monkeypatch):
    mod = tmp_path / "fp_probe_mod.py"
    mod.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    a = code_fingerprint(["fp_probe_mod"])
    sys.modules.pop("fp_probe_mod", None)
    mod.write_text("X = 2\n")
    import importlib
    importlib.invalidate_caches()
    assert code_fingerprint(["fp_probe_mod"]) != a
    assert code_fingerprint(["no_such_module_xyz"]) == code_fingerprint("no_such_module_xyz")
    sys.modules.pop("fp_probe_mod", None)


def test_bad_tasks_and_task_errors_are_clear():
    with pytest.raises(TypeError, match="task 1 must be a dict"):
        run_sweep(draw, [{"seed": 1, "n": 2}, (1, 2)], n_jobs=1, progress=False)
    with pytest.raises(ValueError, match="task 3 failed"):
        run_sweep(fails, [{"x": 3}], n_jobs=1, progress=False)


def test_scheduler_without_distributed_says_what_to_install():
    try:
        import distributed  # noqa: F401
        pytest.skip("distributed is installed")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="pip install 'dask\\[distributed\\]'"):
        run_sweep(draw, _tasks(1), scheduler="tcp://127.0.0.1:1", progress=False)


def test_empty_sweep():
    assert run_sweep(draw, [], n_jobs=2, progress=False) == []
