"""Numbers move only on purpose: every KPI and table hash of fixed runs equals golden.json.

Regenerate (in a commit of its own that says which numbers changed and why) with
``.venv/bin/python tests/golden/golden.py --write``.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.golden import GOLDEN, compute, diff


@pytest.mark.slow
def test_golden_numbers_unchanged() -> None:
    problems = diff(json.loads(GOLDEN.read_text()), compute())
    assert not problems, "numbers moved:\n" + "\n".join(problems[:40])
