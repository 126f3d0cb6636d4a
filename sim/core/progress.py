"""The one progress-callback type: the model, experiments and the optimiser report through it.

A face (the CLI's progress bar, the app's ``st.progress``) passes a function that takes
the fraction done (0..1) and a short text saying what is running.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[float, str], None]
