"""The stale-hold sweeper: no hold outlives its placement.

A hold (``hold_<orderId>`` on a product) exists only while its placement record is marked pending
(docs/adr/0011-placement-protocol.md). Normally the placement's own run removes it within
seconds: the order's transaction takes it over, or a release gives it back. A record still
pending long after the longest possible execution (``STALE_AFTER_SECONDS``) means that run died,
timed out, or could release neither inline nor through the compensation queue. The sweeper runs
on a schedule, lists those records from the sparse ``pendingHolds`` index (no scan) and resolves
each:

1. *decide* it (``Abandoned``, unless it already has an outcome): from then on no run can store
   the order, so releasing its holds is safe;
2. *release* every line whose hold is still there (conditional on the hold: each unit comes back
   at most once, whoever else releases concurrently), or, if the order was stored, *remove* any
   hold left without giving stock back (the order owns those units);
3. *settle* the record: drop its pending mark.

Every step is conditional or an upsert, so sweeps may overlap each other and running placements,
and a sweep that dies half-way is completed by the next. Holds found are counted (the
``StaleHoldsFound`` metric, which pages: a hold found means a bug or an outage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.compensation import StockReleaser
from orders.placement_record import PlacementRecords
from orders.settings import SweeperSettings

ABANDONED = "Abandoned"


@dataclass
class SweepReport:
    placements: int = 0  # stale placement records resolved
    released: int = 0  # holds given back to stock (their order was never stored)
    taken_over: int = 0  # holds removed because their order was stored
    complete: bool = True  # False: stopped early for lack of time (the next sweep continues)

    @property
    def holds_found(self) -> int:
        return self.released + self.taken_over


def sweep(settings: SweeperSettings, now: datetime, out_of_time: Callable[[], bool] = lambda: False) -> SweepReport:
    """Resolve every placement record pending since before `now - STALE_AFTER_SECONDS`."""
    records = PlacementRecords(settings)
    releaser = StockReleaser(settings, settings.PRODUCTS_TABLE_NAME)
    report = SweepReport()
    for stale in records.pending_before(now - timedelta(seconds=settings.STALE_AFTER_SECONDS)):
        if out_of_time():
            report.complete = False
            break
        record = records.decide(stale.order_id, ABANDONED)
        for line in record.lines:
            if record.placed:
                report.taken_over += releaser.take_over(record.order_id, line)
            else:
                report.released += releaser.release(record.order_id, line)
        records.settle(record.order_id)
        report.placements += 1
    return report
