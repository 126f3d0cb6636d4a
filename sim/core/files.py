"""Atomic output folders: results appear completely or not at all.

Everything is written into a hidden temporary folder beside the target and moved into
place with ``os.replace`` at the end; an error or an interrupt removes the temporary
folder and leaves any earlier results untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one move."""
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        _usual_permissions(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
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
