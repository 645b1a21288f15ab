"""Run papermill in a child process, so that an interrupted run always stops promptly.

papermill drives the kernel through asyncio and ZeroMQ; a ``KeyboardInterrupt`` that lands in
the middle of that machinery can leave the process waiting forever. :func:`execute` therefore
runs papermill in a child process (``python -m relutopo.repro._execute SPEC``) and waits for it: on
Ctrl-C (or any exception) the parent kills the child, and the kernel -- which polls its parent
(ipykernel's ``JPY_PARENT_PID``) -- exits on its own. The child ignores Ctrl-C (the parent
decides) and exits if its parent dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from relutopo.errors import RelutopoError

__all__ = ["execute", "ChildExecutionError"]


class ChildExecutionError(RelutopoError, RuntimeError):
    """papermill failed in the child; ``info`` holds exec_count, ename and evalue."""

    def __init__(self, info: dict):
        self.info = info
        super().__init__(f"{info.get('ename')}: {info.get('evalue')}")


def execute(input_path: os.PathLike, output_path: os.PathLike, parameters: Mapping[str, Any], *,
            kernel_name: str, cwd: os.PathLike, cell_timeout: Optional[int] = None,
            progress: bool = False) -> None:
    """Execute ``input_path`` into ``output_path`` with papermill in a child process.

    Raises :class:`ChildExecutionError` when the notebook (or papermill) fails; re-raises
    ``KeyboardInterrupt`` after killing the child.
    """
    output_path = Path(output_path)
    spec_path = output_path.with_name(f".{output_path.name}.spec.json")
    error_path = output_path.with_name(f".{output_path.name}.error.json")
    spec = {"input": str(input_path), "output": str(output_path), "parameters": dict(parameters),
            "kernel_name": kernel_name, "cwd": str(cwd), "cell_timeout": cell_timeout,
            "progress": bool(progress), "error": str(error_path)}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "relutopo.repro._execute", str(spec_path)],
                                cwd=str(cwd))
        try:
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if rc != 0:
            try:
                info = json.loads(error_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = {"ename": "ExecutionError",
                        "evalue": f"the papermill process exited with status {rc}"}
            raise ChildExecutionError(info)
    finally:
        for p in (spec_path, error_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(1.0)


def _main(spec_path: str) -> int:
    # Ctrl-C goes to the whole foreground process group; the parent handles it (it kills us).
    # A no-op handler, not SIG_IGN: an ignored SIGINT would be inherited by the kernel.
    signal.signal(signal.SIGINT, lambda *_: None)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"],
            kernel_name=spec["kernel_name"], language="python", progress_bar=spec["progress"],
            log_output=False, cwd=spec["cwd"], execution_timeout=spec["cell_timeout"])
    except PapermillExecutionError as exc:
        info = {"exec_count": exc.exec_count, "ename": exc.ename, "evalue": exc.evalue}
    except Exception as exc:  # kernel died, timeout, bad notebook: report, do not hang
        info = {"exec_count": None, "ename": type(exc).__name__, "evalue": str(exc)}
    else:
        return 0
    with open(spec["error"], "w", encoding="utf-8") as fh:
        json.dump(info, fh)
    return 3


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
