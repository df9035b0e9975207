"""Results folders that signalsim owns: it writes into, or replaces, only folders it wrote itself.

Every folder a command writes holds a marker file, ``.signalsim`` (JSON: the kind of folder and
the software version). A folder may be written into or replaced only when it is missing, empty,
or a signalsim folder of the same kind whose every entry is one signalsim writes there; folders
from before the marker are recognised by their own files (their *signature*). Anything else, a
folder of the user's files, a git checkout, ``results/`` holding other runs, a symbolic link, is
refused with :class:`OutputError` before any work starts, like git and rsync refuse to clobber
what they do not own.

A folder is replaced atomically: the new one is filled in a hidden sibling
``.NAME.partial-PID-HEX``, the old one renamed to ``.NAME.old-PID-HEX``, the new one renamed into
place, the old one removed. A process killed on the way leaves such siblings; the next write into
the same place removes those whose process is gone and whose content is signalsim's. New folders
take the user's umask.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.version import software_version

MARKER = ".signalsim"
# bytes, with a margin, of the longest path a command writes under its folder (a sweep's
# runs/<16-hex run id>/plots/<metric>_vs_<axis>.png, its names bounded by the schema's MAX_NAME)
LONGEST_ENTRY = 512
MAX_ENTRIES = 200_000  # a folder with more entries is not looked through: it is not a results folder


class OutputError(Exception):
    """An output folder that cannot be used: not signalsim's, or not writable. The message names why."""

    def __init__(self, folder: Path, message: str):
        self.folder, self.message = folder, message
        super().__init__(f"{folder}: {message}")


@dataclass(frozen=True)
class Layout:
    """What one kind of results folder holds.

    ``patterns`` are the paths signalsim writes, relative to the folder (``fnmatch``, ``/`` between
    parts); ``signature`` the files that identify such a folder written before the marker existed;
    ``children``: subfolders each of whose entries is a folder of another layout (a sweep's kept
    runs)."""

    kind: str
    signature: tuple[str, ...]
    patterns: tuple[str, ...]
    children: tuple[tuple[str, "Layout"], ...] = ()


def check_target(out_dir: str | Path, layout: Layout) -> Path:
    """The absolute ``out_dir`` if a write of ``layout`` may go there; else :class:`OutputError`.

    Checked before simulating, so that a bad ``--out`` costs nothing, and again before the swap."""
    given, out_dir = Path(out_dir), Path(os.path.abspath(out_dir))
    if not out_dir.name or out_dir.name in (".", ".."):
        raise OutputError(given, "not a folder signalsim can write: give a folder's name")
    cwd = Path(os.path.abspath(os.getcwd()))
    if out_dir == cwd or out_dir in cwd.parents:
        raise OutputError(given, "is the current folder or holds it; give a folder of its own")
    if os.path.islink(out_dir):
        raise OutputError(given, "is a symbolic link; signalsim writes only into folders it made")
    if os.path.lexists(out_dir):
        if not out_dir.is_dir():
            raise OutputError(given, "exists and is not a folder")
        foreign = _foreign(out_dir, layout)
        if foreign:
            raise OutputError(given, foreign)
    ancestor = out_dir.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(given, f"cannot be made: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(given, f"cannot be made: {ancestor} is not writable")
    _check_names(given, out_dir, ancestor)
    return out_dir


def _check_names(given: Path, out_dir: Path, ancestor: Path) -> None:
    """Refuse, before any work, what the file system would refuse only once results are written: a
    name longer than it allows (counting the hidden sibling a write goes through), a path too long
    for the files under it, a place where no folder can be made although it looks writable (/proc, /sys)."""
    try:
        name_max, path_max = os.pathconf(ancestor, "PC_NAME_MAX"), os.pathconf(ancestor, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096  # Linux's NAME_MAX and PATH_MAX
    sibling = _sibling(out_dir, "partial")
    own_max = name_max - len(os.fsencode(sibling.name)) + len(os.fsencode(out_dir.name))
    for part in (*out_dir.relative_to(ancestor).parts[:-1], sibling.name):
        if len(os.fsencode(part)) > name_max:
            raise OutputError(given, f"cannot be made: a name in it is longer than this file system allows "
                                     f"({name_max} bytes; the folder's own name at most {own_max})")
    if len(os.fsencode(str(sibling))) + LONGEST_ENTRY > path_max:
        raise OutputError(given, f"cannot be made: the path is too long for the files under it (at most "
                                 f"{path_max - LONGEST_ENTRY} bytes)")
    probe = ancestor / sibling.name
    try:  # root passes os.access everywhere; only a real folder made shows that one can be
        probe.mkdir()
    except OSError as exc:
        raise OutputError(given, f"cannot be made: {ancestor}: {exc.strerror or exc}") from None
    probe.rmdir()


def prepare_folder(out_dir: str | Path, layout: Layout) -> Path:
    """Make ``out_dir`` (checked, see :func:`check_target`) for writing into in place, marked as signalsim's."""
    out_dir = check_target(out_dir, layout)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / MARKER).exists():
        _write_marker(out_dir, layout)
    return out_dir


def write_directory(out_dir: str | Path, layout: Layout, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write into a fresh hidden sibling, then swap it in for ``out_dir``.

    An earlier folder at ``out_dir`` is replaced only if signalsim wrote it (:func:`check_target`)
    and only once the new one is complete; if anything fails, the partial folder is removed and
    ``out_dir`` is left as it was."""
    out_dir = check_target(out_dir, layout)
    remove_leftovers(out_dir, layout)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(out_dir, "partial")
    tmp.mkdir()
    old = None
    try:
        _write_marker(tmp, layout)
        fill(tmp)
        check_target(out_dir, layout)  # nothing foreign arrived while the new folder was written
        if os.path.lexists(out_dir):
            old = _sibling(out_dir, "old")
            out_dir.rename(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out_dir


def remove_leftovers(out_dir: Path, layout: Layout) -> list[Path]:
    """Remove the ``.NAME.partial-*`` and ``.NAME.old-*`` siblings of ``out_dir`` that a killed write
    left: those whose process is gone and which hold only what signalsim writes. Returns them."""
    removed: list[Path] = []
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(partial|old)-(?:(\d+)-)?[0-9A-Za-z_]+")
    try:
        siblings = list(out_dir.parent.iterdir())
    except OSError:
        return removed
    for path in siblings:
        match = pattern.fullmatch(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        pid = match.group(2)
        if pid is not None and _alive(int(pid)):
            continue
        if _foreign(path, layout) is None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _foreign(folder: Path, layout: Layout) -> str | None:
    """Why ``folder`` is not an empty folder or a signalsim folder of ``layout``; None if it is."""
    try:
        entries = sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not entries:
        return None
    kind = _marker_kind(folder)
    if kind is not None and kind != layout.kind:
        return f"holds a signalsim {kind} result, not a {layout.kind}'s; give another folder"
    if kind is None and not all((folder / name).exists() for name in layout.signature):
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        return f"not a signalsim results folder (it holds {shown}); give a new or empty folder"
    strays = _strays(folder, layout)
    if strays:
        shown = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3 else "")
        return f"holds files signalsim did not write ({shown}); move them or give another folder"
    return None


def _strays(folder: Path, layout: Layout) -> list[str]:
    """Entries under ``folder`` that ``layout`` does not account for (relative paths)."""
    strays: list[str] = []
    children = dict(layout.children)
    seen = 0
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for name in list(dirs):
            rel = (rel_root / name).as_posix()
            if os.path.islink(Path(root, name)):
                strays.append(rel)
                dirs.remove(name)
            elif rel_root.as_posix() in children:
                dirs.remove(name)  # a child folder: checked as its own layout
                if _foreign(Path(root, name), children[rel_root.as_posix()]) is not None:
                    strays.append(rel)
        for name in files:
            rel = (rel_root / name).as_posix()
            if name == MARKER and rel_root == Path("."):
                continue
            if os.path.islink(Path(root, name)) or not any(fnmatch.fnmatchcase(rel, p) for p in layout.patterns):
                strays.append(rel)
        seen += len(dirs) + len(files)
        if seen > MAX_ENTRIES:
            return strays + [f"more than {MAX_ENTRIES:,} entries"]
    return strays


def _marker_kind(folder: Path) -> str | None:
    path = folder / MARKER
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:10_000])
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _write_marker(folder: Path, layout: Layout) -> None:
    text = json.dumps({"kind": layout.kind, "software_version": software_version(),
                       "note": "written by signalsim: it may replace this folder"}) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")


def _sibling(out_dir: Path, role: str) -> Path:
    return out_dir.with_name(f".{out_dir.name}.{role}-{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
