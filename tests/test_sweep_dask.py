"""run_sweep on a real Dask cluster: a ``distributed.LocalCluster`` of two worker processes,
started and stopped here, runs a small Wang sweep and gives exactly the results and the cache of
joblib's local processes."""

from __future__ import annotations

import pickle

import pytest

distributed = pytest.importorskip("distributed")

from relutopo.papers.wang.sweeps import code_fingerprint, random_network_counts  # noqa: E402
from relutopo.sweep import run_sweep, task_seed  # noqa: E402


def _tasks():
    code = code_fingerprint("engine")
    return [dict(hidden=list(h), input_dim=3, seed=task_seed(0, "dask-test", list(h), i),
                 method="engine", code=code)
            for h in [(3, 2), (2, 2, 2)] for i in range(3)]


def _without_timing(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _entries(cache):
    return {p.relative_to(cache): p for p in cache.rglob("*.pkl")}


def test_wang_sweep_on_a_local_cluster_equals_joblib_cache_included(tmp_path):
    tasks = _tasks()
    local = run_sweep(random_network_counts, tasks, n_jobs=1, cache_dir=tmp_path / "joblib",
                      progress=False)
    # two tasks already cached (by joblib), the others computed by the cluster
    seeded = tmp_path / "cluster"
    run_sweep(random_network_counts, tasks[:2], n_jobs=1, cache_dir=seeded, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        before = cluster.scheduler.transition_counter
        remote = run_sweep(random_network_counts, tasks, scheduler=cluster.scheduler_address,
                           cache_dir=seeded, progress=False)
        assert cluster.scheduler.transition_counter > before      # the cluster did the work
        after = cluster.scheduler.transition_counter
        again = run_sweep(random_network_counts, tasks, scheduler=cluster.scheduler_address,
                          cache_dir=seeded, progress=False)
        assert cluster.scheduler.transition_counter == after      # all read back from the cache
    assert _without_timing(remote) == _without_timing(local)
    assert again == remote
    # the same cache entries (one per task, same keys), holding the same results
    a, b = _entries(tmp_path / "joblib"), _entries(seeded)
    assert sorted(a) == sorted(b) and len(a) == len(tasks)
    for key in a:
        ra, rb = (pickle.loads(p.read_bytes()) for p in (a[key], b[key]))
        assert _without_timing([ra]) == _without_timing([rb])


def test_unreachable_scheduler_is_a_clear_error():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConnectionError, match="scheduler='tcp://127.0.0.1:1'"):
            run_sweep(random_network_counts, _tasks()[:1], scheduler="tcp://127.0.0.1:1",
                      progress=False)
    with pytest.raises(TypeError, match="address of a Dask scheduler"):
        run_sweep(random_network_counts, _tasks()[:1], scheduler=8786, progress=False)
