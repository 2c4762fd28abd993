"""Per-invocation isolation of powertools' process-wide state, for in-process runners.

On Lambda a process serves one invocation at a time, so powertools keeps per-invocation state
where only one invocation can see it:

* the event handler keeps the current event and Lambda context as *class* attributes
  (`BaseRouter.current_event = ...`);
* `Metrics` keeps the metrics, dimensions and metadata being collected in dicts shared by every
  `Metrics()` instance in the process (class attributes, by design);
* `Logger` keeps the keys every log line carries (the Lambda context, the correlation id) in its
  formatter, which all `Logger`s of one service share.

The local cloud and the test harness run many invocations at once in one process. There two
concurrent requests can read each other's event (seen: 1 body in 400 swapped under 16 threads),
and one invocation's flush can publish or clear another's metrics (seen: a dimension attached
to the wrong metric, and `SchemaValidationError: Must contain at least one metric` -> 500 when
the other invocation's flush emptied the set between powertools' check and its serialisation),
and a log line can carry another request's correlation id.

:func:`install` backs all of that state with context variables, so each thread (and each copied
context) sees only its own invocation's. Production code is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

from localcloud.patching import patch

_ROUTER_ATTRIBUTES = ("current_event", "lambda_context")
_METRICS_ATTRIBUTES = ("_metrics", "_dimensions", "_metadata")


def _property(var: ContextVar[Any]) -> property:
    def get(_self: Any) -> Any:
        return var.get(None)

    def set_(_self: Any, value: Any) -> None:
        var.set(value)

    return property(get, set_)


class ContextDict(MutableMapping[str, Any]):
    """A dict whose contents belong to the current context: every thread starts with an empty
    one. Stands in for a dict that powertools shares across a process."""

    def __init__(self, name: str) -> None:
        self._var: ContextVar[dict[str, Any]] = ContextVar(name)

    @property
    def _data(self) -> dict[str, Any]:
        try:
            return self._var.get()
        except LookupError:
            data: dict[str, Any] = {}
            self._var.set(data)
            return data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


def _isolate_router() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    variables = {name: ContextVar(f"powertools_{name}") for name in _ROUTER_ATTRIBUTES}
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


def _isolate_metrics() -> None:
    """`Metrics()` binds the class-level dicts at construction, so this must run before any
    handler module creates its `Metrics`."""
    from aws_lambda_powertools.metrics import Metrics

    for name in _METRICS_ATTRIBUTES:
        setattr(Metrics, name, ContextDict(f"powertools_metrics{name}"))


def _log_format_property() -> property:
    """`formatter.log_format` per context (one context variable per formatter). Each invocation
    starts by assigning a fresh one (`inject_lambda_context(clear_state=True)`); a context that
    never assigned one (a thread that logs outside an invocation) sees the one the formatter was
    created with."""

    def get(self: Any) -> dict[str, Any]:
        var: ContextVar[dict[str, Any]] = self.__dict__["_log_format_var"]
        return var.get(self.__dict__["_initial_log_format"])

    def set_(self: Any, value: dict[str, Any]) -> None:
        if "_log_format_var" not in self.__dict__:
            self.__dict__["_initial_log_format"] = value
            self.__dict__["_log_format_var"] = ContextVar(f"powertools_log_format_{id(self)}")
        self.__dict__["_log_format_var"].set(value)

    return property(get, set_)


def _isolate_logger() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    LambdaPowertoolsFormatter.log_format = _log_format_property()  # type: ignore[assignment]


@patch
def install() -> None:
    """Must run before handler modules are imported and concurrent invocations start."""
    _isolate_router()
    _isolate_metrics()
    _isolate_logger()
