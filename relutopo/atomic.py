"""Atomic file writes: readers see the old file or the new one, never half of either.

Used wherever relutopo writes something a reader may open at the same time (sweep caches,
records, executed notebooks): write to a temporary file in the same folder, fsync, rename.

Examples
--------
>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
>>> _ = atomic_write_json(p, {"b": 1, "a": [1, 2]})
>>> json.loads(p.read_text())
{'a': [1, 2], 'b': 1}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_json", "json_ready", "current_umask"]


def json_ready(v: Any) -> Any:
    """numpy scalars/arrays and tuples -> JSON-friendly Python values (NaN -> None, inf -> "inf").

    Examples
    --------
    >>> import numpy as np
    >>> json_ready({"a": np.float64(1.5), "b": (1, np.nan)})
    {'a': 1.5, 'b': [1, None]}
    """
    import math

    import numpy as np

    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, np.ndarray):
        return [json_ready(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): json_ready(x) for k, x in v.items()}
    return v


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows).

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> atomic_write_bytes(path, b"new") == path, path.read_bytes()
    (True, b'new')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def atomic_write_json(path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> import numpy as np
    >>> path = atomic_write_json(pathlib.Path(tempfile.mkdtemp()) / "r.json", {"b": np.float64(0.5), "a": (1, 2)})
    >>> json.loads(path.read_text())
    {'a': [1, 2], 'b': 0.5}
    """
    text = json.dumps(json_ready(obj), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))
