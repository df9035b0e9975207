"""``report.html``: one self-contained page per results folder, rendered from a jinja2 template.

A page is data (:class:`Page`): a title, the headline facts (:class:`sim.outputs.headline.Fact`),
then sections of paragraphs, tables, images and a time line. :func:`write_page` renders it with
``templates/report.html.j2``, autoescaped (scenario, app and group names and descriptions are the
user's text), into one file that needs nothing else: plots are inline PNG (``data:`` URLs), the
style sheet is inline, there is no script, and its Content-Security-Policy lets a browser load
nothing from anywhere. Every kind of results folder builds its page this way: a run's
(:func:`sim.outputs.run_page.run_page`), a sweep's (:func:`sim.sweep.page.sweep_page`), a
validation's (:func:`sim.validation.report.validation_page`); another command's folder builds a
:class:`Page` with its own headline facts and sections and writes it with :func:`write_page`.

Each headline figure carries ``data-path`` (its keys into ``summary.json``, as JSON) and
``data-value`` (the exact value) beside the text shown, so a test can check the page against the file.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.version import software_version
from sim.outputs.headline import Fact, duration

if TYPE_CHECKING:
    import jinja2

LANE_HEIGHT_PX = 22  # a time line's row per span


@dataclass(frozen=True)
class Table:
    """Rows of text under ``columns``; ``numeric`` columns are right-aligned; a row whose index is
    in ``failed`` is marked (a failed check, a failed run)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    caption: str = ""
    failed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Image:
    """A PNG shown inline, with its caption and the name of its file in the folder."""

    caption: str
    png: bytes
    file: str = ""

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @classmethod
    def read(cls, path: Path, caption: str, folder: Path) -> "Image":
        return cls(caption, path.read_bytes(), path.relative_to(folder).as_posix())


@dataclass(frozen=True)
class Span:
    """Something on a time line: from ``start_s`` to ``end_s``, or an instant (``end_s`` None)."""

    label: str
    start_s: float
    end_s: float | None = None
    kind: str = "event"  # a CSS class: "event", "change" (an instant) or "peak"


@dataclass(frozen=True)
class Timeline:
    """Spans over a run of ``duration_s``, one row each, drawn as inline SVG."""

    duration_s: float
    spans: tuple[Span, ...]

    def lanes(self) -> list[dict[str, Any]]:
        """Each span's geometry in per cent of the run and pixels down, and its label."""
        out = []
        for row, span in enumerate(self.spans):
            x = 100 * min(max(span.start_s / self.duration_s, 0.0), 1.0)
            end = span.start_s if span.end_s is None else span.end_s
            width = max(100 * min(end / self.duration_s, 1.0) - x, 0.0)
            out.append({"x": round(x, 3), "width": round(width, 3), "y": row * LANE_HEIGHT_PX + 4,
                        "label": span.label, "kind": span.kind, "instant": span.end_s is None,
                        "anchor": "end" if x > 60 else "start",
                        "text_x": round(x - 0.5 if x > 60 else x + width + 0.5, 3)})
        return out

    def ticks(self, count: int = 6) -> list[dict[str, Any]]:
        return [{"x": round(100 * k / count, 3), "label": duration(self.duration_s * k / count)}
                for k in range(count + 1)]

    @property
    def height_px(self) -> int:
        return len(self.spans) * LANE_HEIGHT_PX + 30


@dataclass(frozen=True)
class Section:
    """A part of the page: paragraphs, tables, images, a time line, preformatted text (shown
    folded when ``folded``), in that order."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    images: tuple[Image, ...] = ()
    timeline: Timeline | None = None
    preformatted: str = ""
    folded: bool = False


@dataclass(frozen=True)
class Page:
    """A results folder's report: ``kind`` of folder (``run``, ``sweep``, ``validation``, ...),
    ``title``, one line of what ran, the user's description, the headline facts, the sections,
    and the folder's other files (linked: the evidence behind the page)."""

    kind: str
    title: str
    subtitle: str
    headline: tuple[Fact, ...]
    sections: tuple[Section, ...]
    description: str = ""
    files: tuple[str, ...] = ()


def render_page(page: Page) -> str:
    """The page as HTML text."""
    return _template().render(page=page, version=software_version())


def write_page(page: Page, path: Path) -> Path:
    path.write_text(render_page(page), encoding="utf-8")
    return path


def folder_files(folder: Path, max_per_folder: int = 50) -> tuple[str, ...]:
    """What a page links: the files in ``folder`` (relative, sorted; not hidden ones, not the page),
    and each subfolder's files, or the subfolder itself if it holds more than ``max_per_folder``."""
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == "report.html":
            continue
        if entry.is_dir():
            inside = sorted(p for p in entry.rglob("*") if p.is_file() and not p.name.startswith("."))
            out += [f"{entry.name}/"] if len(inside) > max_per_folder else \
                [p.relative_to(folder).as_posix() for p in inside]
        else:
            out.append(entry.name)
    return tuple(out)


@cache
def _template() -> "jinja2.Template":
    import jinja2  # imported on writing a report only: the command line starts without it

    env = jinja2.Environment(loader=jinja2.PackageLoader("sim.outputs", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, bytecode_cache=_compiled_templates())
    return env.get_template("report.html.j2")


def _compiled_templates() -> "jinja2.BytecodeCache | None":
    """Where the compiled template is kept, beside its source as Python and Numba keep theirs: a run loads it
    instead of compiling it again (about 13 ms; jinja2 compiles it anew when the template changes). None
    where the package's folder is read-only."""
    import jinja2

    folder = Path(__file__).with_name("__pycache__")
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder)) if os.access(folder, os.W_OK) else None
