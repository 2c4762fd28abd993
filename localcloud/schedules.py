"""Scheduled functions for the local cloud, as EventBridge schedules invoke them.

For every function in template.yaml with an ``Events`` entry of ``Type: Schedule`` whose
expression is a ``rate(...)``, a thread invokes the function through SAM's
``LocalLambdaRunner.invoke`` -- the entry point the API gateway and the SQS pollers use -- every
period (the first time one period after start, as a new rule fires), with EventBridge's
"Scheduled Event" shape (:func:`scheduled_event`). A disabled schedule is not run; ``cron(...)``
expressions are reported and not run locally (none is used today). Tests invoke scheduled
functions with the same event, as the schedule would (tests/support/schedules.py).
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from localcloud.sam_template import ACCOUNT_ID, PARTITION, REGION, SamTemplate, ScheduleEventSource, TemplateError

__all__ = ["Scheduler", "rate_seconds", "scheduled_event", "start_schedulers", "stop_schedulers"]

LOG = logging.getLogger(__name__)
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """The period of an EventBridge ``rate(...)`` expression; TemplateError for anything else."""
    match = _RATE.fullmatch(expression.strip())
    if not match:
        raise TemplateError(f"schedule {expression!r}: only rate(N minute[s]|hour[s]|day[s]) runs locally")
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value < 1 or (value == 1) != (match.group(2) == unit):
        raise TemplateError(f"schedule {expression!r}: EventBridge wants rate(1 {unit}) or rate(N {unit}s)")
    return float(value * _UNIT_SECONDS[unit])


def rule_arn(source: ScheduleEventSource) -> str:
    return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT_ID}:rule/{source.function}{source.event}"


def scheduled_event(source: ScheduleEventSource, when: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a schedule's target: ``time`` is when the rule fired."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn(source)],
        "detail": {},
    }


class Scheduler(threading.Thread):
    """Invokes one function every period of its schedule, until stop()."""

    def __init__(self, source: ScheduleEventSource, runner: Any, stderr: Any = None) -> None:
        super().__init__(name=f"localcloud-schedule-{source.function}", daemon=True)
        self.source = source
        self.period = rate_seconds(source.expression)
        self.runner = runner
        self.stderr = stderr
        self.invocations = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(self.period):
            try:
                self.fire()
            except Exception:  # keep the schedule, as EventBridge does
                LOG.exception("scheduled invocation of %s failed", self.source.function)

    def fire(self, when: datetime | None = None) -> str:
        """One invocation now; returns what the function answered."""
        from samcli.lib.utils.stream_writer import StreamWriter

        text, raw = io.StringIO(), io.BytesIO()
        self.invocations += 1
        event = json.dumps(scheduled_event(self.source, when))
        self.runner.invoke(
            self.source.function, event, stdout=StreamWriter(text, raw, auto_flush=True), stderr=self.stderr
        )
        return text.getvalue() or raw.getvalue().decode("utf-8", "replace")


def start_schedulers(template: SamTemplate, runner: Any, stderr: Any = None) -> list[Scheduler]:
    schedulers = []
    for source in template.schedule_event_sources():
        if not source.enabled:
            continue
        if source.expression.strip().startswith("cron("):
            LOG.warning(
                "%s: %s is not run locally (cron expressions are not emulated)", source.function, source.expression
            )
            continue
        schedulers.append(Scheduler(source, runner, stderr))
    for scheduler in schedulers:
        scheduler.start()
    return schedulers


def stop_schedulers(schedulers: list[Scheduler], timeout: float = 5.0) -> None:
    for scheduler in schedulers:
        scheduler.stop()
    for scheduler in schedulers:
        scheduler.join(timeout)
