"""Publishing stored changes as domain events: in order, once per change, never silently dropped.

`publish(changes)` maps each change to its events (:mod:`events.mapping`) and sends them with
`PutEvents` to the stack's bus, in stream order:

* A request holds at most 10 entries and 256 KB, and never two events of the same entity: the
  next event of an entity is sent only once the previous one was accepted, so one entity's
  events reach the bus in version order.
* `PutEvents` answers per entry. Entries it failed (`FailedEntryCount`) are sent again, only
  those, up to `PUT_EVENTS_ATTEMPTS` times with exponential backoff; a request that fails as a
  whole counts as every entry failed.
* A change whose events still failed, or that cannot be mapped, is reported back (its stream
  sequence number), and so is every later change of the same entity, which is held back to keep
  the order. The event source mapping then retries from the first one reported (a record that
  always fails ends in the dead-letter queue after the mapping's retries); changes of other
  entities are published meanwhile. A change published again on a retry carries the same
  `eventId`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from events.mapping import Change, DomainEvent, UnpublishableChange, events_of
from sales_common import aws

if TYPE_CHECKING:
    from events.settings import PublisherSettings

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it against the 256 KB request limit."""
    size = 14 if "Time" in entry else 0
    for key in ("Source", "DetailType", "Detail", "EventBusName"):
        size += len(str(entry.get(key, "")).encode("utf-8"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources", []))


@dataclass
class Pending:
    """One change on its way: its events, and how many of them the bus accepted."""

    sequence: str
    change: Change | None
    events: list[DomainEvent] = field(default_factory=list)
    sent: int = 0
    failed: bool = False


@dataclass
class Outcome:
    published: list[DomainEvent] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sequence numbers, in stream order
    errors: dict[str, str] = field(default_factory=dict)  # sequence number -> why


class Publisher:
    """Sends domain events to the bus named by the settings (`EVENT_BUS_NAME`)."""

    def __init__(self, settings: PublisherSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep

    def entry(self, event: DomainEvent) -> dict[str, Any]:
        return {
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": event.detail_json(),
            "Time": event.occurred_at,
            "EventBusName": self.settings.EVENT_BUS_NAME,
        }

    def publish(self, changes: Iterable[tuple[str, Change | Exception]]) -> Outcome:
        """Publish the events of `changes` ((sequence number, change or why it could not be
        read)), in order; the outcome names the changes to retry."""
        outcome = Outcome()
        held: set[str] = set()  # entities with a change not published: later ones wait
        batch: list[tuple[Pending, DomainEvent]] = []
        for sequence, change in changes:
            pending = self._pending(sequence, change, outcome)
            entity = change.key if isinstance(change, Change) else None
            if pending.failed or entity in held:
                self._fail(pending, outcome, held, "an earlier change of the entity is not published yet")
                continue
            for event in pending.events:
                if any(e.entity == event.entity for _, e in batch) or not self._fits(batch, event):
                    self._send(batch, outcome, held)
                    batch = []
                if event.entity in held:
                    self._fail(pending, outcome, held, "an earlier event of the entity was not accepted")
                    break
                batch.append((pending, event))
        self._send(batch, outcome, held)
        outcome.failed.sort(key=int)
        return outcome

    def _pending(self, sequence: str, change: Change | Exception, outcome: Outcome) -> Pending:
        if isinstance(change, Exception):
            pending = Pending(sequence, None, failed=True)
            outcome.errors[sequence] = str(change)
            return pending
        try:
            return Pending(sequence, change, events_of(change))
        except UnpublishableChange as exc:
            outcome.errors[sequence] = str(exc)
            return Pending(sequence, change, failed=True)

    def _fits(self, batch: Sequence[tuple[Pending, DomainEvent]], event: DomainEvent) -> bool:
        if len(batch) >= MAX_ENTRIES:
            return False
        size = sum(entry_size(self.entry(e)) for _, e in batch) + entry_size(self.entry(event))
        return not batch or size <= MAX_REQUEST_BYTES

    def _fail(self, pending: Pending, outcome: Outcome, held: set[str], why: str) -> None:
        if pending.change is not None:
            held.add(pending.change.key)
        if pending.sequence not in outcome.failed:
            outcome.failed.append(pending.sequence)
            outcome.errors.setdefault(pending.sequence, why)
        pending.failed = True

    def _send(self, batch: list[tuple[Pending, DomainEvent]], outcome: Outcome, held: set[str]) -> None:
        """Send `batch`, then again its failed entries only, up to the attempts allowed."""
        waiting = [(pending, event) for pending, event in batch if not pending.failed]
        errors: dict[int, str] = {}
        for attempt in range(self.settings.PUT_EVENTS_ATTEMPTS):
            if not waiting:
                break
            if attempt:
                self.sleep(self._backoff(attempt))
            answers = self._put([self.entry(event) for _, event in waiting])
            still = []
            for (pending, event), answer in zip(waiting, answers, strict=True):
                if answer.get("ErrorCode"):
                    errors[id(event)] = f"{answer['ErrorCode']}: {answer.get('ErrorMessage', '')}"
                    still.append((pending, event))
                else:
                    pending.sent += 1
                    outcome.published.append(event)
            waiting = still
        for pending, event in waiting:
            self._fail(pending, outcome, held, f"PutEvents refused {event.detail_type}: {errors.get(id(event))}")

    def _put(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """PutEvents; one answer per entry (a request that failed as a whole: the same error for all)."""
        try:
            result = aws.events(self.settings).put_events(Entries=entries)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            code = exc.response.get("Error", {}).get("Code", "Error") if isinstance(exc, ClientError) else "Error"
            return [{"ErrorCode": code, "ErrorMessage": str(exc)}] * len(entries)
        answers: list[dict[str, Any]] = list(result.get("Entries", []))  # type: ignore[arg-type]
        if len(answers) != len(entries):
            missing = {"ErrorCode": "MissingAnswer", "ErrorMessage": "PutEvents answered another number of entries"}
            return [missing] * len(entries)
        return answers

    def _backoff(self, attempt: int) -> float:
        base = float(self.settings.PUT_EVENTS_BACKOFF_SECONDS * 2 ** (attempt - 1))
        return base / 2 + random.uniform(0, base / 2)  # jitter, not security
