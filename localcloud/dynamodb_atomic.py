"""Make moto's DynamoDB requests atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write in plain Python, with no lock,
so two threads can both pass `stock >= :q` before either writes: the emulator would oversell
where DynamoDB cannot. :func:`install` serialises every DynamoDB request moto handles (decorator
and in-process server mode alike), which restores per-request atomicity -- the guarantee our
conditional writes and transactions rely on. It is emulator fidelity, not application logic.

It also counts the requests that may have changed data (:func:`writes`), so that the local
cloud's state file knows when there is something new to save, hands each successful one to the
state file's journal before it is answered (:func:`journal_to`), and :func:`locked` holds the
same lock, for a consistent snapshot of every table.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.patching import patch

_request_lock = threading.RLock()
_writes = 0
_READ_ONLY = ("Get", "Query", "Scan", "BatchGet", "TransactGet", "Describe", "List")
#: Called, under the lock and before the answer leaves, with (action, request body) of every
#: request that succeeded and may have changed data (the state file's journal).
_journal: Callable[[str, str], None] | None = None


def journal_to(callback: Callable[[str, str], None] | None) -> None:
    """Hand every successful write (its action and request body) to `callback` before it is
    answered; None stops it."""
    global _journal
    _journal = callback


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
            action = str(self._get_action())
            try:
                answer = original(self)
            finally:
                if not action.startswith(_READ_ONLY):
                    _writes += 1
            if _journal is not None and not action.startswith(_READ_ONLY) and succeeded(answer):
                _journal(action, _request_body(self.body))
            return answer

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def succeeded(answer: Any) -> bool:
    """moto's handlers answer a body (200) or a (status, headers, body) tuple."""
    return not (isinstance(answer, tuple) and answer and isinstance(answer[0], int) and answer[0] >= 300)


def _request_body(body: Any) -> str:
    """The request as JSON (moto's handler holds it parsed by the time it answers)."""
    if isinstance(body, bytes):
        return body.decode("utf-8")
    return body if isinstance(body, str) else json.dumps(body)
