"""A pytest plugin for the mutmut runs of `make mutate` (tools/mutate.py loads it with `-p`).

mutmut 3.7 (the newest that installs beside aws-sam-cli's click pin) reads `item._nodeid`, which
pytest 9 no longer has; each collected test gets it back, equal to its public `nodeid`.

mutmut runs its first passes (stats, clean tests) in its own process, then tests each mutant in a
`fork()` of it. A fork has only the thread that forked: a thread pool created in those first
passes -- `sales_common.dynamo`'s, which queries the shards of a list -- is copied with workers
that do not exist in the child, and the first sharded list a mutant's test reads waits for them
forever (until mutmut's wall-clock limit ends it with SIGXCPU, -24: every mutant of a function that
lists orders was "timed out"). The child starts with no pool instead; the next list makes one.
(Lambda never forks: the production code needs no such hook.)"""

from __future__ import annotations

import os

import pytest


def _forget_thread_pools() -> None:
    import sys

    dynamo = sys.modules.get("sales_common.dynamo")
    if dynamo is not None:
        dynamo._pool = None  # type: ignore[attr-defined]


os.register_at_fork(after_in_child=_forget_thread_pools)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid  # type: ignore[attr-defined]
