"""Check a built book: every local reference resolves, every paper page shows its figures, and
every page renders non-blank in headless Chromium (``relutopo check-book`` / ``make check-book``).

Three checks, all reported together:

1. *Static*: every ``src``/``href`` of every HTML page that points to a local file (images,
   scripts, stylesheets, links) exists under the built book; every ``<img>`` is a readable,
   non-empty image.
2. *Figures*: each paper page (``book/executed/<paper>/<paper>.html``) shows at least as many
   images as its ``results.json`` lists figures.
3. *Rendered*: the landing page, the scorecard and each paper page are opened in headless
   Chromium; a screenshot is saved to the screenshot folder and must not be blank (almost all
   pixels one colour); a page with math must contain MathJax output (math rendered offline).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

__all__ = ["BookCheck", "check_book", "local_references", "find_chromium", "is_blank",
           "CHROMIUM_FLAGS", "BLANK_FRACTION"]

#: Headless flags: no sandbox (containers), no GPU, no network chatter, a fresh profile.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")
#: A screenshot is blank when fewer than this fraction of its pixels differ from the most
#: common colour.
BLANK_FRACTION = 0.01


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []      # (tag, attr, value)
        self.text = []
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for attr in ("src", "href"):
            if a.get(attr):
                self.refs.append((tag, attr, a[attr]))
        cls = a.get("class") or ""
        if "math" in cls.split() or tag == "mjx-container":
            self.has_math = True

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def local_references(page: Path) -> tuple:
    """``(refs, has_math, text)`` of one HTML page: its local (src/href) references as
    ``(tag, attr, value, resolved_path)``, whether it holds math, and its visible text.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> page = pathlib.Path(tempfile.mkdtemp()) / "p.html"
    >>> _ = page.write_text('<html><body><a href="https://example.org">x</a><img src="a.png"> $x$</body></html>')
    >>> refs, has_math, text = local_references(page)
    >>> [(tag, attr, value) for tag, attr, value, path in refs], text.strip()
    ([('img', 'src', 'a.png')], 'x $x$')
    """
    p = _Refs()
    p.feed(page.read_text(encoding="utf-8", errors="replace"))
    out = []
    for tag, attr, value in p.refs:
        parts = urlsplit(value)
        if parts.scheme in ("http", "https", "mailto", "data", "javascript", "tel") or parts.netloc:
            continue
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
        elif not parts.path:
            continue  # a pure #fragment
        else:
            path = (page.parent / unquote(parts.path)).resolve()
        out.append((tag, attr, value, path))
    return out, p.has_math, " ".join(p.text)


def find_chromium(explicit: Optional[str] = None) -> Optional[str]:
    """The Chromium executable: ``explicit``, else ``chromium`` / ``chromium-browser`` on PATH.

    Examples
    --------
    >>> find_chromium("/no/such/chromium") is None
    True
    """
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def is_blank(png: Path, fraction: float = BLANK_FRACTION) -> tuple:
    """``(blank, non_background_fraction)`` of a screenshot.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import matplotlib.pyplot as plt
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "white.png"
    >>> fig = plt.figure(figsize=(1, 1))
    >>> fig.savefig(path)
    >>> plt.close(fig)
    >>> bool(is_blank(path)[0])
    True
    """
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        arr = np.asarray(im.convert("RGB")).reshape(-1, 3)
    if arr.size == 0:
        return True, 0.0
    colours, counts = np.unique(arr, axis=0, return_counts=True)
    other = 1.0 - counts.max() / len(arr)
    return other < fraction, float(other)


@dataclass
class BookCheck:
    """What :func:`check_book` found.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> html = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (html / "index.html").write_text('<html><body><p>Hello</p><img src="missing.png"></body></html>')
    >>> report = check_book(html, html / "shots", render=False)
    >>> report.ok, report.pages_checked, report.problems
    (False, 1, ['index.html: <img src="missing.png"> points to a missing file'])
    """

    html_dir: Path
    pages_checked: int = 0
    screenshots: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"check-book {self.html_dir}: {self.pages_checked} HTML pages checked, "
                 f"{len(self.screenshots)} screenshots"]
        lines += [f"  screenshot {s}" for s in self.screenshots]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lines.append("OK" if self.ok else f"{len(self.problems)} problem(s)")
        return "\n".join(lines)


def _chromium(browser: str, args: list, timeout: float = 90.0) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="relutopo-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def check_book(html_dir: os.PathLike, screenshot_dir: os.PathLike, *,
               chromium: Optional[str] = None, render: bool = True) -> BookCheck:
    """Check the built book in ``html_dir``; save screenshots to ``screenshot_dir``.

    Parameters
    ----------
    html_dir : path
        The built book (``_build/html``).
    screenshot_dir : path
        Where the screenshots go (created).
    chromium : str, optional
        Browser executable (default: ``chromium`` on PATH).
    render : bool
        Open pages in Chromium (False: static checks only).

    Examples
    --------
    A static check (``render=False``: no browser) of a one-page book whose figure is missing:

    >>> import pathlib, tempfile
    >>> import matplotlib.pyplot as plt
    >>> html = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (html / "index.html").write_text('<html><body><p>Hi</p><img src="fig.png"></body></html>')
    >>> check_book(html, html / "shots", render=False).ok
    False
    >>> fig = plt.figure(figsize=(1, 1))
    >>> fig.savefig(html / "fig.png")
    >>> plt.close(fig)
    >>> check_book(html, html / "shots", render=False).ok
    True
    """
    from PIL import Image

    html_dir = Path(html_dir).resolve()
    report = BookCheck(html_dir)
    if not (html_dir / "index.html").is_file():
        report.problems.append(f"no index.html in {html_dir}: build the book first (make book)")
        return report
    pages = sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)
    report.pages_checked = len(pages)
    info = {}
    for page in pages:
        refs, has_math, text = local_references(page)
        info[page] = (refs, has_math, text)
        rel = page.relative_to(html_dir)
        for tag, attr, value, path in refs:
            if not path.exists():
                report.problems.append(f"{rel}: <{tag} {attr}=\"{value}\"> points to a missing file")
            elif tag == "img":
                try:
                    with Image.open(path) as im:
                        im.verify()
                    if path.stat().st_size == 0:
                        raise ValueError("empty file")
                except Exception as exc:  # PIL raises many types for a broken image
                    if path.suffix.lower() != ".svg":
                        report.problems.append(f"{rel}: image {value} is not readable ({exc})")

    paper_pages = sorted(html_dir.glob("book/executed/*/*.html"))
    for page in paper_pages:
        imgs = [r for r in info.get(page, ([], False, ""))[0] if r[0] == "img"]
        source_results = None
        # the results.json next to the executed notebook lists the figures the page must show
        cand = html_dir.parent.parent / "book" / "executed" / page.parent.name / "results.json"
        if cand.is_file():
            try:
                source_results = json.loads(cand.read_text(encoding="utf-8"))
            except ValueError:
                source_results = None
        expected = len((source_results or {}).get("figures") or {}) if source_results else 1
        if len(imgs) < expected:
            report.problems.append(
                f"{page.relative_to(html_dir)}: shows {len(imgs)} image(s), expected at least "
                f"{expected} (the figures of its results.json)")

    if not render:
        return report
    browser = find_chromium(chromium)
    if browser is None:
        report.problems.append("Chromium not found: install Debian's `chromium` "
                               "(make check-book does) or pass --chromium PATH")
        return report
    shots = Path(screenshot_dir)
    shots.mkdir(parents=True, exist_ok=True)
    landing = html_dir / "book" / "intro.html"
    targets = [("landing", landing if landing.is_file() else html_dir / "index.html")]
    score = html_dir / "book" / "generated" / "scorecard.html"
    if score.is_file():
        targets.append(("scorecard", score))
    else:
        report.problems.append("no scorecard page (book/generated/scorecard.html)")
    targets += [(f"paper_{p.parent.name}", p) for p in paper_pages]
    if not paper_pages:
        report.notes.append("no paper pages in the book yet")
    for name, page in targets:
        png = shots / f"{name}.png"
        url = page.as_uri()
        try:
            run = _chromium(browser, ["--window-size=1280,2400", "--virtual-time-budget=10000",
                                      f"--screenshot={png}", url])
        except subprocess.TimeoutExpired:
            report.problems.append(f"{name}: Chromium timed out opening {url}")
            continue
        if run.returncode != 0 or not png.is_file():
            report.problems.append(f"{name}: Chromium failed ({run.returncode}): "
                                   f"{run.stderr.strip()[-400:]}")
            continue
        report.screenshots.append(str(png))
        blank, frac = is_blank(png)
        if blank:
            report.problems.append(f"{name}: the screenshot {png} is blank "
                                   f"({frac:.2%} non-background pixels)")
        if info.get(page, ([], False, ""))[1]:
            try:
                dom = _chromium(browser, ["--virtual-time-budget=10000", "--dump-dom", url])
            except subprocess.TimeoutExpired:
                report.problems.append(f"{name}: Chromium timed out rendering math")
                continue
            if "mjx-container" not in dom.stdout:
                report.problems.append(f"{name}: the page has math but MathJax did not render it "
                                       "(is _static/mathjax/tex-svg.js there?)")
    return report
