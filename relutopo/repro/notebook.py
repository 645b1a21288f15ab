"""What every paper notebook does around its science: parameters, figures, claims, results file.

A notebook's first code cell (tagged ``parameters``)::

    profile = "book"          # smoke | book | paper
    output_dir: str = None    # where figures/ and results.json go
    n_seeds: int = None       # [size ≥ 1] None: the profile's value
    ...

and its second (tagged ``hide-input``)::

    PROFILES = {"smoke": {...}, "book": {...}, "paper": {...}}
    nb = NotebookRun.start("liu_polyhedral_persistence", PROFILES, globals())
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

from relutopo.repro.params import ParameterError, Params, resolve_parameters
from relutopo.atomic import atomic_write_bytes
from relutopo.repro.claims import Claim
from relutopo.repro.record import Results

__all__ = ["NotebookRun"]


@dataclass
class NotebookRun:
    """The bookkeeping of one notebook execution (parameters, output folder, claims, figures).

    Examples
    --------
    What a chapter's first code cell does, here with a toy profile table and a temporary output
    folder (a notebook passes its ``globals()``):

    >>> import tempfile
    >>> from relutopo.repro.claims import numeric_claim
    >>> PROFILES = {"smoke": {"n": 1}, "book": {"n": 10}, "paper": {"n": 100}}
    >>> nb = NotebookRun.start("toy", PROFILES, {"profile": "smoke", "output_dir": tempfile.mkdtemp(), "n": None})
    >>> nb.params.values["n"], nb.regenerate_command()
    (1, 'relutopo run toy --profile smoke')
    >>> nb.claim(numeric_claim("n", "the smoke size", 1, nb.params.values["n"])).verdict
    'reproduced'
    """

    paper: str
    params: Params
    output_dir: Path
    results: Results = field(repr=False, default=None)

    @classmethod
    def start(cls, paper: str, profiles: Mapping[str, Mapping[str, Any]],
              namespace: Mapping[str, Any]) -> "NotebookRun":
        """Resolve parameters (clear error on a bad profile/value) and prepare ``output_dir``.

        ``namespace`` is the notebook's ``globals()``: the variables its ``parameters`` cell
        assigned (``profile``, ``output_dir`` and one per entry of ``profiles``, ``None`` meaning
        "the profile's value"), so each parameter is written once, in that cell::

            nb = NotebookRun.start("wang_linear_regions", PROFILES, globals())
        """
        if not isinstance(namespace, Mapping):
            raise TypeError("NotebookRun.start(paper, PROFILES, globals()): the third argument is "
                            f"the notebook's globals(); got {type(namespace).__name__}")
        if "profile" not in namespace:
            raise ParameterError("the parameters cell must assign 'profile' (smoke | book | paper)")
        profile = namespace["profile"]
        output_dir = namespace.get("output_dir")
        names = set().union(*(set(tab) for tab in profiles.values())) if profiles else set()
        missing = sorted(n for n in names if n not in namespace)
        if missing:
            raise ParameterError(
                f"PROFILES names {missing} but the parameters cell does not assign them; add one "
                f"line per parameter, e.g. '{missing[0]}: int = None  # [size >= 1] what it sets'")
        overrides = {n: namespace[n] for n in names}
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
        from relutopo.repro.runner import regenerate_command

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
        """Record a claim (built with paper_claim / self_check / numeric_claim / range_claim)."""
        return self.results.add(claim)

    def show_claims(self, *which) -> None:
        """Display claims as a table beside the experiment that decided them: each argument is a
        recorded claim or an id prefix (``nb.show_claims("fig3")`` shows every ``fig3...``
        claim). Columns: claim, kind, paper's value, ours, rule, verdict, and the finding/limit
        sentence when a paper claim differs. Outside IPython it does nothing."""
        chosen = []
        for w in which:
            if isinstance(w, Claim):
                chosen.append(w)
            elif isinstance(w, str):
                chosen += [c for c in self.results.claims if c.id.startswith(w) and c not in chosen]
            else:
                raise TypeError(f"show_claims takes claims or id prefixes; got {w!r}")
        _display_claims(chosen)

    def record(self, key: str, value: Any) -> None:
        """Keep an extra measured value (timings, distributions) in the results file."""
        self.results.extra[key] = value

    def finish(self):
        """Write ``results.json`` atomically; return the claims table (a DataFrame)."""
        self.results.write(self.output_dir / "results.json")
        return self.results.table()


def _display_claims(claims) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None or not claims:
        return
    import pandas as pd
    from IPython.display import display

    rows = [{"claim": c.id, "kind": c.kind, "paper": c.paper_value, "ours": c.our_value,
             "rule": c.rule, "verdict": c.verdict, "why it differs": c.explanation}
            for c in claims]
    table = pd.DataFrame(rows)
    if not table["why it differs"].astype(bool).any():
        table = table.drop(columns="why it differs")
    display(table)


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
