"""Per-invocation environment for handlers running in-process, without touching os.environ.

A Lambda function sees its own environment; in-process, many functions share one process and
serve concurrent requests on different threads. Mutating ``os.environ`` per request would leak
one function's variables into another's request. Instead:

* ``os.environ`` is set ONCE at startup with what every function shares (endpoint, dummy
  credentials, region, ``AWS_DISABLE_HOST_PREFIX_INJECTION``).
* :func:`install` changes the class of the existing ``os.environ`` object (every module holding a
  reference to it sees the change) so that reads consult a :mod:`contextvars` overlay first.
* :func:`overlay` sets that overlay for the duration of one invocation, in the invoking thread
  only. New threads start with an empty context, so concurrent requests never see each other's
  variables.

Handler code therefore just reads ``os.environ`` / ``os.getenv`` -- the same code as on AWS.
Writes inside an invocation go to the invocation's overlay, never to the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

__all__ = ["current_overlay", "install", "installed", "overlay", "uninstall"]

_OVERLAY: ContextVar[dict[str, str] | None] = ContextVar("localcloud_env_overlay", default=None)
_lock = threading.Lock()
_original_class: type | None = None


def current_overlay() -> Mapping[str, str] | None:
    return _OVERLAY.get()


class _OverlayEnviron(os._Environ):  # type: ignore[name-defined,misc]
    """``os._Environ`` whose reads see the current invocation's variables first."""

    def __getitem__(self, key: str) -> str:
        layer = _OVERLAY.get()
        if layer is not None and key in layer:
            return layer[key]
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        layer = _OVERLAY.get()
        if layer is not None and key in layer:
            return True
        return super().__contains__(key)

    def __setitem__(self, key: str, value: str) -> None:
        layer = _OVERLAY.get()
        if layer is not None:
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"str expected, not {type(value).__name__}")
            layer[key] = value
            return
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        layer = _OVERLAY.get()
        if layer is not None:
            if key in layer:
                del layer[key]
                return
            raise KeyError(key)  # the process-wide environment is read-only inside an invocation
        super().__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        layer = _OVERLAY.get()
        base = list(super().__iter__())
        if layer is None:
            yield from base
            return
        yield from layer.keys()
        yield from (k for k in base if k not in layer)

    def __len__(self) -> int:
        layer = _OVERLAY.get()
        if layer is None:
            return super().__len__()
        return len(set(layer) | set(super().__iter__()))

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def install() -> None:
    """Make ``os.environ`` overlay-aware. Idempotent; harmless while no overlay is set."""
    global _original_class
    with _lock:
        if isinstance(os.environ, _OverlayEnviron):
            return
        _original_class = type(os.environ)
        os.environ.__class__ = _OverlayEnviron


def uninstall() -> None:
    global _original_class
    with _lock:
        if _original_class is not None and isinstance(os.environ, _OverlayEnviron):
            os.environ.__class__ = _original_class
        _original_class = None


def installed() -> bool:
    return isinstance(os.environ, _OverlayEnviron)


@contextlib.contextmanager
def overlay(variables: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """Within this block (this thread/context only) ``os.environ`` shows ``variables`` on top."""
    install()
    layer = {str(k): str(v) for k, v in variables.items()}
    token = _OVERLAY.set(layer)
    try:
        yield layer
    finally:
        _OVERLAY.reset(token)
