"""Names of a package loaded on first use (PEP 562), for the package ``__init__`` files.

``import sim`` and a Dask worker unpickling a job should pay only for the modules they
touch, not for every layer a package re-exports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on the first
    look-up of ``name`` and keeps the value in ``namespace`` (the package's globals), so
    later look-ups skip it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
