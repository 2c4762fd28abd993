"""SQS consumer of the reports queue: applies each domain event to the projection, exactly once
per `eventId` (see `reports.projector`). A message that fails (unreadable, or still conflicting
after the retries) is reported back (partial batch response) and delivered again; after the
queue's maxReceiveCount it moves to the dead-letter queue, whose alarm goes off.

Per batch it advances `asOf` to the newest event applied and records `ReportsLag`: how long
after it occurred each event was applied (the largest of the batch), the projection's lag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from reports.events import parse
from reports.projector import Outcome, Projector
from reports.settings import ProjectorSettings
from reports.store import ReportStore
from sales_common.observability import observability
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, metrics = observability("reports")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class Batch:
    """What one invocation applied: its outcomes and the events' times."""

    def __init__(self) -> None:
        settings = load_settings(ProjectorSettings)
        self.store = ReportStore(settings)
        self.projector = Projector(self.store, attempts=settings.APPLY_ATTEMPTS)
        self.outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self.applied_at: list[str] = []

    def record(self, record: SQSRecord) -> None:
        event = parse(record.body)
        outcome = self.projector.apply(event)
        self.outcomes[outcome] += 1
        if outcome is Outcome.APPLIED:
            self.applied_at.append(event.occurred_at)
        logger.debug(outcome.value, extra={"eventId": event.event_id, "detailType": event.detail_type})

    def finish(self) -> None:
        if self.applied_at:
            newest = max(self.applied_at)
            self.store.advance_as_of(newest)
            now = datetime.now(UTC)
            lag = max((now - datetime.fromisoformat(t)).total_seconds() for t in self.applied_at)
            metrics.add_metric(name="ReportsLag", unit=MetricUnit.Seconds, value=max(lag, 0.0))
        metrics.add_metric(name="ReportEventsApplied", unit=MetricUnit.Count, value=self.outcomes[Outcome.APPLIED])
        if self.outcomes[Outcome.DUPLICATE]:
            metrics.add_metric(
                name="ReportEventsDuplicate", unit=MetricUnit.Count, value=self.outcomes[Outcome.DUPLICATE]
            )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = Batch()
    response = process_partial_response(event=event, record_handler=batch.record, processor=processor, context=context)
    batch.finish()
    failed = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
    for message_id, (_, error, _) in zip(failed, processor.exceptions, strict=False):
        logger.warning(
            "event not applied", extra={"messageId": message_id, "reason": f"{type(error).__name__}: {error}"}
        )
    return response
