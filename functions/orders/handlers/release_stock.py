"""SQS consumer of the compensation queue: completes stock releases the workflow left pending.
Each message is processed on its own; a failed one is reported back (partial batch response)
and redelivered, the others are deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from orders.compensation import PendingRelease, StockReleaser
from sales_common.observability import observability, publish
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, metrics = observability("orders")
# A batch whose every record failed is reported like any other (all items failed), not raised.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def release(record: SQSRecord) -> None:
    pending = PendingRelease.model_validate_json(record.body)
    released = StockReleaser(load_settings()).complete(pending)
    logger.info("pending release completed", extra={"orderId": pending.order_id, "linesReleased": released})
    metrics.add_metric(name="StockReleasesCompleted", unit="Count", value=released)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    try:
        return process_partial_response(event=event, record_handler=release, processor=processor, context=context)
    finally:
        publish(metrics)  # a batch whose every record failed recorded no metric: nothing to publish
