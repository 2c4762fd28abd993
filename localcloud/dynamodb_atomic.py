"""Make moto's DynamoDB requests atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write in plain Python, with no lock,
so two threads can both pass `stock >= :q` before either writes: the emulator would oversell
where DynamoDB cannot. :func:`install` serialises every DynamoDB request moto handles (decorator
and in-process server mode alike), which restores per-request atomicity -- the guarantee our
conditional writes and transactions rely on. It is emulator fidelity, not application logic.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from localcloud.patching import patch

_request_lock = threading.RLock()


@patch
def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _request_lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
