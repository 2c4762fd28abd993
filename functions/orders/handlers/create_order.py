"""POST /api/orders: place an order through the PlaceOrder workflow."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit

from orders import placement, quota
from orders.models import Order, OrderCreate
from orders.rejections import OrderRejected
from sales_common.api import create_app, current_caller, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.post(
    "/api/orders",
    summary="Place an order",
    tags=["orders"],
    responses=responses(201, 400, 409, 413, 415, 422, 429, 503, headers=("Location", "ETag")),
)
def create_order(
    data: Annotated[OrderCreate, Body()],
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=128)] = None,
) -> Response[Order]:
    caller = current_caller(app)
    quota.take(caller)  # the per-user limit: 429 with Retry-After when used up
    try:
        order = placement.place_order(data, caller.username, idempotency_key, app.lambda_context)
    except OrderRejected as exc:
        metrics.add_dimension(name="reason", value=exc.reason)
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    return json_response(
        201, order.model_dump(by_alias=True), etag=order.version, headers={"Location": f"/api/orders/{order.id}"}
    )


handler = entrypoint(app, logger, metrics)
