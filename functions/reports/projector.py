"""Applying delivered events to the projection, each exactly once (see `reports.projection` for
what an event changes and `reports.store` for the one transaction that writes it).

`apply(event)` reads the rows the event needs, plans, and writes the plan with the event's
marker (the caller then advances `asOf`, once per batch). When another event changed one of
those rows in between (or the transaction conflicted with one), it reads and plans again, a
bounded number of times; then it raises and the message is delivered again later. An event
whose marker exists already is a duplicate: nothing changes.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from enum import StrEnum

from reports.events import DomainEvent
from reports.projection import needs, plan
from reports.store import Duplicate, ReportStore, Stale


class Outcome(StrEnum):
    APPLIED = "applied"  # first delivery: its marker and its changes written
    DUPLICATE = "duplicate"  # applied before: nothing changed
    IGNORED = "ignored"  # a detail type the reports do not use


@dataclass
class Projector:
    store: ReportStore
    attempts: int = 8
    backoff_seconds: float = 0.02

    def apply(self, event: DomainEvent) -> Outcome:
        if event.kind is None:
            return Outcome.IGNORED
        for attempt in range(self.attempts):
            try:
                self._apply_once(event)
            except Duplicate:
                return Outcome.DUPLICATE
            except Stale:
                if attempt + 1 == self.attempts:
                    raise
                time.sleep(self.backoff_seconds * 2**attempt * random.random())  # jitter, not security
                continue
            return Outcome.APPLIED
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_once(self, event: DomainEvent) -> None:
        orders, products, customers = needs(event)
        rows = self.store.read(event, orders, products, customers)
        stored = rows.orders.get(event.detail.id) if event.kind == "order" else None
        if stored is not None:
            _, everything, _ = needs(event, stored)
            if not everything <= products:  # the stored order names products the event does not
                rows = self.store.read(event, orders, everything, customers)
        self.store.apply(event, plan(event, rows))
