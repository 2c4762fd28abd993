"""POST /api/orders: place an order through the PlaceOrder workflow (docs/placement.md)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit

from orders import placement, quota
from orders.models import Order, OrderCreate, PlacementPending
from orders.rejections import OrderRejected
from sales_common.api import create_app, current_caller, dumps, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")

# How long a client should wait before asking again about a placement whose outcome is unknown:
# by then no execution of it can still be running (the state machine stops at 20 s).
RETRY_AFTER_SECONDS = 30

ANSWERS = responses(201, 400, 409, 413, 415, 422, 429, 503, headers=("Location", "ETag"))
ANSWERS[202] = {
    "description": (
        "The outcome is unknown: the order may or may not have been placed. GET the `Location` after "
        "`Retry-After` seconds (200: placed, 404: not placed), or retry with the same Idempotency-Key."
    ),
    "headers": {
        "Location": {"description": "Where the order is if it was placed.", "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds to wait before asking again.", "schema": {"type": "string"}},
    },
    "content": {"application/json": {"model": PlacementPending}},
}


@app.post("/api/orders", summary="Place an order", tags=["orders"], responses=ANSWERS)
def create_order(
    data: Annotated[OrderCreate, Body()],
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=128)] = None,
) -> Response[Order]:
    caller = current_caller(app)
    try:
        with placement.nothing_started():
            quota.take(caller)  # the per-user limit: 429 with Retry-After when used up
        order = placement.place_order(data, caller.username, idempotency_key, app.lambda_context)
    except OrderRejected as exc:
        metrics.add_dimension(name="reason", value=exc.reason)
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    except placement.OutcomeUnknown:
        metrics.add_metric(name="OrdersOutcomeUnknown", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    return json_response(
        201, order.model_dump(by_alias=True), etag=order.version, headers={"Location": f"/api/orders/{order.id}"}
    )


@app.exception_handler(placement.OutcomeUnknown)
def outcome_unknown(unknown: placement.OutcomeUnknown) -> Response[Any]:
    """202: the order may or may not be stored (an answer, not an error; see docs/placement.md)."""
    logger.warning("placement outcome unknown", extra={"orderId": unknown.order_id})
    pending = PlacementPending(
        order_id=unknown.order_id,
        detail=(
            f"The outcome of placing order {unknown.order_id} is not known yet. Retry with the same "
            "Idempotency-Key, or GET the Location after Retry-After seconds (404 then means not placed)."
        ),
    )
    return Response(
        status_code=202,
        content_type="application/json",
        body=dumps(pending.model_dump(by_alias=True)),
        headers={"Location": f"/api/orders/{unknown.order_id}", "Retry-After": str(RETRY_AFTER_SECONDS)},
    )


handler = entrypoint(app, logger, metrics)
