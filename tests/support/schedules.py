"""Invoke a scheduled function of template.yaml as its EventBridge schedule would: with the
"Scheduled Event" the local cloud's scheduler sends (:func:`localcloud.schedules.scheduled_event`),
whose `time` is when the rule fired."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from localcloud.schedules import scheduled_event
from tests.support import apigw


def fire(function: str, when: datetime | None = None) -> Any:
    """One scheduled invocation of `function` (a logical id with a Schedule event)."""
    source = next((s for s in apigw.template().schedule_event_sources() if s.function == function), None)
    if source is None:
        raise LookupError(f"{function} has no Schedule event in template.yaml")
    return apigw.invoke(apigw.function(function), scheduled_event(source, when))


def sweep(when: datetime | None = None) -> dict[str, Any]:
    """The stale-hold sweeper, fired at `when` (now by default)."""
    return fire("SweepStaleHoldsFunction", when)  # type: ignore[no-any-return]
