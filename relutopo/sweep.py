"""One executor for every sweep: joblib processes here, a Dask cluster when the user has one.

``run_sweep(fn, tasks)`` calls ``fn(**task)`` for every task dict and returns the results in task
order. Determinism: each task carries its own seed (build it with :func:`task_seed`, which
depends on the base seed and the task's key only), so results never depend on the number of
workers or on the order in which they finish. Finished tasks can be cached on disk
(``cache_dir``): a rerun, or a book build after an interrupted one, skips them. A cached result
is keyed by the function, the task and, with ``code=`` (see :func:`code_fingerprint`), the source
of the modules that compute it, so that a change of that code is never answered from a stale cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .atomic import atomic_write_bytes

__all__ = ["run_sweep", "task_seed", "task_key", "code_fingerprint"]


def _canonical(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [_canonical(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return {"__array__": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest(),
                "shape": list(obj.shape), "dtype": str(obj.dtype)}
    return repr(obj)


def task_key(task: Any) -> str:
    """A stable hex digest of a task description (dicts, lists, numbers, strings, arrays).

    Examples
    --------
    >>> task_key({"a": 1, "b": [1, 2]}) == task_key({"b": [1, 2], "a": 1})
    True
    >>> len(task_key({"a": 1}))
    64
    """
    text = json.dumps(_canonical(task), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def task_seed(seed: int, *key: Any) -> int:
    """A 32-bit seed for one task, from the sweep's base seed and the task's identity.

    ``task_seed(0, "arch", (8, 2), 17)`` is the same on every machine and for any worker count.

    Examples
    --------
    >>> task_seed(0, "arch", (8, 2), 17) == task_seed(0, "arch", (8, 2), 17)
    True
    >>> task_seed(0, "arch", (8, 2), 17) != task_seed(1, "arch", (8, 2), 17)
    True
    >>> 0 <= task_seed(0, "x") < 2 ** 32
    True
    """
    digest = hashlib.sha256(f"{int(seed)}|{task_key(list(key))}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def code_fingerprint(modules) -> str:
    """A short hash of the source of the named modules (``"relutopo.train"``, ...), in order.

    Pass it as ``code=`` to :func:`run_sweep`: it enters every task's cache key (never the task's
    arguments or seed), so results computed by another version of that code are recomputed, not
    read from the cache. A module that cannot be imported or has no source enters as its name.

    Examples
    --------
    >>> fp = code_fingerprint(["relutopo.sweep"])
    >>> len(fp), fp == code_fingerprint(["relutopo.sweep"]), fp == code_fingerprint(["relutopo.atomic"])
    (16, True, False)
    """
    import importlib
    import inspect

    if isinstance(modules, str):
        modules = [modules]
    h = hashlib.sha256()
    for name in modules:
        try:
            h.update(inspect.getsource(importlib.import_module(name)).encode())
        except (ImportError, OSError, TypeError):
            h.update(f"<missing {name}>".encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _fn_id(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class _Cache:
    """Finished tasks' results on disk, one pickle per task (keyed by ``fn`` and the task).

    Only the process that calls :func:`run_sweep` reads and writes it: workers (local processes
    or the machines of a Dask cluster, which need not share a file system with it) only compute.
    """

    def __init__(self, fn: Callable, cache_dir: Optional[str], code: Optional[str] = None):
        self.fn = fn
        self.cache_dir = cache_dir
        self.code = code

    def path(self, task: dict) -> Optional[Path]:
        if self.cache_dir is None:
            return None
        ident = {"fn": _fn_id(self.fn), "task": task}
        if self.code is not None:  # without code=, the keys of earlier versions stay valid
            ident["code"] = self.code
        key = task_key(ident)
        return Path(self.cache_dir) / key[:2] / f"{key}.pkl"

    def lookup(self, task: dict):
        p = self.path(task)
        if p is not None and p.exists():
            try:
                with open(p, "rb") as fh:
                    return True, pickle.load(fh)
            except (OSError, pickle.UnpicklingError, EOFError):
                return False, None  # a damaged entry is recomputed
        return False, None

    def store(self, task: dict, result) -> None:
        p = self.path(task)
        if p is not None:
            atomic_write_bytes(p, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def _connect(scheduler: str):
    """A ``distributed.Client`` of the Dask scheduler at ``scheduler``, or a clear error."""
    if not isinstance(scheduler, str) or not scheduler:
        raise TypeError(f"scheduler must be the address of a Dask scheduler, e.g. "
                        f"'tcp://host:8786'; got {scheduler!r}")
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            "run_sweep(scheduler=...) runs on a Dask cluster and needs the 'distributed' "
            "package: pip install 'dask[distributed]'") from None
    try:
        return Client(scheduler)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"could not connect to the Dask scheduler at scheduler={scheduler!r} "
                              f"(start one with `dask scheduler`, workers with `dask worker "
                              f"{scheduler}`): {err}") from None


def run_sweep(fn: Callable, tasks: Iterable[dict], *, n_jobs: Optional[int] = None,
              scheduler: Optional[str] = None, cache_dir: Optional[os.PathLike] = None,
              desc: Optional[str] = None, progress: bool = True, batch_size="auto",
              code: Optional[str] = None) -> list:
    """Evaluate ``fn(**task)`` for every task; results in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to worker processes).
    tasks : iterable of dict
        Keyword arguments of each call; include the task's seed (see :func:`task_seed`).
    n_jobs : int, optional
        Worker processes (default: all cores; 1 runs in this process, useful for debugging).
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://host:8786"``): the same sweep runs on that cluster
        through joblib's dask backend (needs the ``distributed`` package; the workers need
        relutopo installed, at the same version). Results are identical to a local run.
    cache_dir : path, optional
        Directory caching each finished task's result (keyed by ``fn`` and the task). It is read
        and written by this process only, so it needs no file system shared with the workers.
    desc : str, optional
        Label of the progress bar.
    progress : bool
        Show the progress bar.
    batch_size : int or "auto"
        Tasks sent to a worker at a time (joblib's ``batch_size``).
    code : str, optional
        A fingerprint of the code that computes the results (:func:`code_fingerprint` of the
        modules ``fn`` uses); it enters every cache key, so a cached result of other code is
        recomputed. ``None``: the key is the function's name and the task only.

    Examples
    --------
    Tasks are dicts of keyword arguments; results come back in task order (``fn`` must be a
    module-level function so that workers can import it). With ``cache_dir`` a rerun reads the
    finished tasks from disk:

    >>> import tempfile
    >>> import numpy as np
    >>> tasks = [{"start": 0, "stop": 1, "num": 3}, {"start": 0, "stop": 2, "num": 2}]
    >>> cache = tempfile.mkdtemp()
    >>> [r.tolist() for r in run_sweep(np.linspace, tasks, n_jobs=1, cache_dir=cache, progress=False)]
    [[0.0, 0.5, 1.0], [0.0, 2.0]]
    >>> [r.tolist() for r in run_sweep(np.linspace, tasks, n_jobs=1, cache_dir=cache, progress=False)]
    [[0.0, 0.5, 1.0], [0.0, 2.0]]
    """
    from joblib import Parallel, delayed, parallel_config
    from tqdm.auto import tqdm

    tasks = list(tasks)
    for i, t in enumerate(tasks):
        if not isinstance(t, dict):
            raise TypeError(f"task {i} must be a dict of keyword arguments for {fn!r}; got {type(t).__name__}")
    if code is not None and not isinstance(code, str):
        raise TypeError(f"code must be a str (see code_fingerprint) or None; got {type(code).__name__}")
    cache = _Cache(fn, None if cache_dir is None else os.fspath(cache_dir), code)
    results: list = [None] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        hit, value = cache.lookup(t)
        if hit:
            results[i] = value
        else:
            todo.append(i)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc or _fn_id(fn).rsplit(".", 1)[-1],
               disable=not progress)
    if not todo:
        bar.close()
        return results
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    if scheduler is not None:
        client = _connect(scheduler)
        ctx = parallel_config(backend="dask")
        n_jobs = -1
    else:
        client = None
        ctx = parallel_config(backend="loky" if n_jobs != 1 else "sequential")
    try:
        with ctx:
            gen = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=batch_size)(
                delayed(fn)(**tasks[i]) for i in todo)
            for i, value in zip(todo, gen):
                # stored here as each result arrives: an interrupted sweep keeps what finished
                results[i] = value
                cache.store(tasks[i], value)
                bar.update(1)
    finally:
        bar.close()
        if client is not None:
            client.close()
    return results
