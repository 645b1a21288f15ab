"""A quiet HiGHS instance: the one place relutopo constructs ``highspy.Highs``.

HiGHS prints a banner on file descriptor 1 the first time it is constructed in a process;
library code must not print, so the construction runs with fd 1 pointed at /dev/null.
"""

from __future__ import annotations

import os

__all__ = ["quiet_highs"]


def quiet_highs():
    """A ``highspy.Highs`` with console output and logging off.

    Examples
    --------
    >>> h = quiet_highs()
    >>> type(h).__name__
    'Highs'
    """
    import highspy

    try:
        fd = os.dup(1)
    except OSError:  # no stdout at all
        fd = None
    try:
        if fd is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        h = highspy.Highs()
    finally:
        if fd is not None:
            os.dup2(fd, 1)
            os.close(fd)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h
