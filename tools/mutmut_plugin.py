"""A pytest plugin for the mutmut runs of `make mutate` (tools/mutate.py loads it with `-p`).

mutmut 3.7 (the newest that installs beside aws-sam-cli's click pin) reads `item._nodeid`, which
pytest 9 no longer has; each collected test gets it back, equal to its public `nodeid`."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid  # type: ignore[attr-defined]
