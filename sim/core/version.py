"""The package version, read once from the installed metadata (runs and stores record it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("billsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0+src"
