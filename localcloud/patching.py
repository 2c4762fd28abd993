"""The one way the local cloud adjusts third-party code: an install function that runs once."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable


class Patch:
    """Wraps a function that patches a library; calling it applies the patch exactly once
    (thread-safe), and `installed` tells whether it has been applied."""

    def __init__(self, apply: Callable[[], None]) -> None:
        self._apply = apply
        self._lock = threading.Lock()
        self.installed = False
        functools.update_wrapper(self, apply)

    def __call__(self) -> None:
        with self._lock:
            if not self.installed:
                self._apply()
                self.installed = True


def patch(apply: Callable[[], None]) -> Patch:
    """Decorator: `@patch def install(): ...` makes `install()` idempotent."""
    return Patch(apply)
