"""What every paper notebook does around its science: parameters, figures, claims, results file.

A notebook's first code cell (tagged ``parameters``)::

    profile = "book"          # smoke | book | paper
    output_dir: str = None    # where figures/ and results.json go
    n_seeds: int = None       # [size ≥ 1] None: the profile's value
    ...

and its second (tagged ``hide-input``)::

    PROFILES = {"smoke": {...}, "book": {...}, "paper": {...}}
    nb = NotebookRun.start("liu_polyhedral_persistence", profile, PROFILES, output_dir,
                           n_seeds=n_seeds, ...)
    P = nb.params

then ``nb.figure(fig, name, caption)`` saves each figure as ``figures/<name>.png``,
``nb.claim(numeric_claim(...))`` records claims, and the last cell calls ``nb.finish()``, which
writes ``results.json`` atomically and returns the claims table for display.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from .params import Params, resolve_parameters
from .results import Claim, Results, atomic_write_bytes

__all__ = ["NotebookRun"]


@dataclass
class NotebookRun:
    """The bookkeeping of one notebook execution (parameters, output folder, claims, figures)."""

    paper: str
    params: Params
    output_dir: Path
    results: Results = field(repr=False, default=None)

    @classmethod
    def start(cls, paper: str, profile: str, profiles: Mapping[str, Mapping[str, Any]],
              output_dir: Optional[str] = None, **overrides: Any) -> "NotebookRun":
        """Resolve parameters (clear error on a bad profile/value) and prepare ``output_dir``."""
        params = resolve_parameters(profile, profiles, **overrides)
        out = Path(output_dir) if output_dir else repo_root() / "_build" / "runs" / profile / paper
        try:
            (out / "figures").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"cannot create the output folder {out} ({exc}); pass output_dir= a "
                          "writable folder") from None
        import matplotlib

        matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150,
                                    "savefig.bbox": "tight", "font.size": 10})
        run = cls(paper=paper, params=params, output_dir=out)
        run.results = Results(paper=paper, profile=params.profile, parameters=params.as_dict())
        return run

    def regenerate_command(self) -> str:
        """``relutopo run <paper> --profile P -p NAME VALUE ...`` for this run's parameters."""
        from .runner import regenerate_command

        values = self.params.values
        return regenerate_command(self.paper, self.params.profile,
                                  {k: values[k] for k in self.params.overridden})

    def figure(self, fig, name: str, caption: str = "") -> Path:
        """Save ``fig`` as ``<output_dir>/figures/<name>.png`` (atomically) and register it.

        Inside a notebook the saved image is also displayed, followed by a caption line with the
        figure's name and the ``relutopo run`` command that regenerates it, and ``fig`` is
        closed (so a following ``plt.show()`` does not show it twice).
        """
        import io

        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"figure name {name!r} must be letters, digits, '_' or '-'")
        if name in self.results.figures:
            raise ValueError(f"figure name {name!r} used twice in {self.paper}; names must be unique")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        path = atomic_write_bytes(self.output_dir / "figures" / f"{name}.png", buf.getvalue())
        self.results.add_figure(name, f"figures/{name}.png", caption)
        _show_in_notebook(fig, buf.getvalue(), name, caption, self.regenerate_command())
        return path

    def claim(self, claim: Claim) -> Claim:
        """Record a claim (built with numeric_claim / range_claim / qualitative_claim)."""
        return self.results.add(claim)

    def record(self, key: str, value: Any) -> None:
        """Keep an extra measured value (timings, distributions) in the results file."""
        self.results.extra[key] = value

    def finish(self):
        """Write ``results.json`` atomically; return the claims table (a DataFrame)."""
        self.results.write(self.output_dir / "results.json")
        return self.results.table()


def _show_in_notebook(fig, png: bytes, name: str, caption: str, command: str) -> None:
    """Display the saved PNG and its caption when running inside IPython; otherwise do nothing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    import matplotlib.pyplot as plt
    from IPython.display import Image, Markdown, display

    display(Image(data=png, format="png"))
    text = f"**Figure `{name}`.** {caption}".rstrip()
    display(Markdown(f"{text} *Regenerate:* `{command}`"))
    plt.close(fig)


def repo_root() -> Path:
    """The repository root (the folder holding pyproject.toml), or the current folder."""
    here = Path(os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() and (p / "relutopo").is_dir():
            return p
    return here
