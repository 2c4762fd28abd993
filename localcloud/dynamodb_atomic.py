"""Make moto's DynamoDB requests atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write in plain Python, with no lock,
so two threads can both pass `stock >= :q` before either writes: the emulator would oversell
where DynamoDB cannot. :func:`install` serialises every DynamoDB request moto handles (decorator
and in-process server mode alike), which restores per-request atomicity -- the guarantee our
conditional writes and transactions rely on. It is emulator fidelity, not application logic.

It also counts the requests that may have changed data (:func:`writes`), so that the local
cloud's state file knows when there is something new to save; :func:`locked` holds the same
lock, for a consistent snapshot of every table.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.patching import patch

_request_lock = threading.RLock()
_writes = 0
_READ_ONLY = ("Get", "Query", "Scan", "BatchGet", "TransactGet", "Describe", "List")


def writes() -> int:
    """How many DynamoDB requests that can change data have completed (in this process)."""
    return _writes


@contextmanager
def locked() -> Iterator[None]:
    """No DynamoDB request runs meanwhile."""
    with _request_lock:
        yield


@patch
def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        global _writes
        with _request_lock:
            try:
                return original(self)
            finally:
                if not str(self._get_action()).startswith(_READ_ONLY):
                    _writes += 1

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
