"""Polling for a condition that other processes make true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Call `predicate` every 0.1 s until it returns something truthy or `timeout` passes; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
