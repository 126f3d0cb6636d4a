"""Atomic output folders: results appear completely or not at all, and only billsim's own
folders are ever replaced.

Everything is written into a hidden temporary folder beside the target and moved into
place with ``os.replace`` at the end; an error or an interrupt removes the temporary
folder and leaves any earlier results untouched. Every finished folder carries a marker
file (``.billsim.json``: billsim's id and the list of what it wrote); an existing folder
is replaced only when it is empty or its marker is billsim's and lists everything in it,
so a user's ``thesis.tex`` beside a file named ``run.json`` is never deleted. Temporary
folders left by a killed write are removed on the next write to the same parent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MARKER = ".billsim.json"
_TOOL = "billsim"
_PENDING = ".billsim-pending"


class ForeignFolderError(OSError):
    """An existing folder that billsim did not write (or that was changed since)."""


def _entries(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, as sorted relative POSIX paths."""
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for name in dirs + files:
            out.append((rel / name).as_posix())
    return sorted(p for p in out if p != MARKER)


def _read_marker(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == _TOOL else None


def owned_problem(folder: Path) -> str | None:
    """Why ``folder`` may not be replaced, or None when billsim may replace it.

    Allowed: a missing or empty folder, or one whose billsim marker lists exactly what is
    in it (a nested billsim folder, e.g. ``report/``, may hold its own marker).
    """
    if not folder.exists():
        return None
    if folder.is_symlink() or not folder.is_dir():
        return "it is not a folder"
    if not any(folder.iterdir()):
        return None
    marker = _read_marker(folder)
    if marker is None:
        return f"it holds no billsim marker ({MARKER}), so it is not billsim's own results"
    listed = set(marker.get("files") or [])
    nested: dict[str, bool] = {}
    extra = []
    for entry in _entries(folder):
        if entry in listed:
            continue
        top = entry.split("/", 1)[0]
        if top not in listed:  # a billsim folder written into this one later (a report)
            if top not in nested:
                sub = folder / top
                nested[top] = sub.is_dir() and _read_marker(sub) is not None
                nested[top] = nested[top] and owned_problem(sub) is None
            if nested[top]:
                continue
        extra.append(entry)
    if extra:
        shown = ", ".join(extra[:3]) + (" ..." if len(extra) > 3 else "")
        return f"it holds files billsim did not write ({shown})"
    return None


def check_replaceable(target: str | Path) -> None:
    """Raise ForeignFolderError (one line) if ``target`` is a folder billsim may not replace."""
    problem = owned_problem(Path(target))
    if problem:
        raise ForeignFolderError(f"refusing to replace {Path(target).absolute()}: {problem}")


def _clean_stale(parent: Path, name: str) -> None:
    """Remove temporary folders of earlier writes to ``name`` whose process is gone."""
    with suppress(OSError):
        for p in parent.glob(f".{name}.*"):
            pending = p / _PENDING
            if not p.is_dir() or p.is_symlink() or not pending.is_file():
                continue
            try:
                pid = int(pending.read_text().strip())
            except (OSError, ValueError):
                continue
            if pid != os.getpid() and not _alive(pid):
                shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one move.

    Refuses (ForeignFolderError) before writing anything when ``target`` exists and is
    not billsim's own.
    """
    out = Path(target)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / _PENDING).write_text(str(os.getpid()))
        yield tmp
        (tmp / _PENDING).unlink()
        files = _entries(tmp)
        (tmp / MARKER).write_text(
            json.dumps({"tool": _TOOL, "files": files}, indent=1), encoding="utf-8"
        )
        _usual_permissions(tmp)
        check_replaceable(out)  # again: the folder may have changed while we wrote
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            (old / _PENDING).write_text(str(os.getpid()))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _usual_permissions(folder: Path) -> None:
    """mkdtemp makes a private folder (0700); results get the user's usual mode."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)
