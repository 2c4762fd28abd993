"""Per-invocation isolation of powertools' event-handler state, for in-process runners.

On Lambda a process serves one invocation at a time, so powertools' event handler can keep the
current event and Lambda context as *class* attributes (`BaseRouter.current_event = ...`).
The local cloud and the test harness run many invocations at once in one process; there two
concurrent requests can read each other's event (seen: 1 body in 400 swapped under 16
threads). :func:`install` backs those two attributes with context variables, so each thread
(and each copied context) sees only its own invocation. Production code is unchanged.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from localcloud.patching import patch

_ATTRIBUTES = ("current_event", "lambda_context")


def _property(var: ContextVar[Any]) -> property:
    def get(_self: Any) -> Any:
        return var.get(None)

    def set_(_self: Any, value: Any) -> None:
        var.set(value)

    return property(get, set_)


@patch
def install() -> None:
    """Must run before concurrent invocations start."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    variables = {name: ContextVar(f"powertools_{name}") for name in _ATTRIBUTES}
    # Instance access (`app.current_event`, `router.current_event = x`) ...
    for name, var in variables.items():
        setattr(BaseRouter, name, _property(var))
    # ... and class-level assignment (`BaseRouter.current_event = x`), through the metaclass.
    meta = type(
        "IsolatedRouterMeta",
        (type(BaseRouter),),
        {name: _property(var) for name, var in variables.items()},
    )
    BaseRouter.__class__ = meta
