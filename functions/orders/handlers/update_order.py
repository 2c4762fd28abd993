"""PUT /api/orders/{id}: change the order's status (cancelling restocks)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from orders import lifecycle
from orders.models import Order, OrderStatusUpdate
from sales_common.api import IdPath, IfMatch, create_app, current_caller, json_response, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.put(
    "/api/orders/<id>",
    summary="Update an order's status",
    tags=["orders"],
    responses=responses(200, 400, 404, 409, 412, 413, 415, 422, headers=("ETag",)),
)
def update_order(
    id: IdPath,
    data: Annotated[OrderStatusUpdate, Body()],
    if_match: IfMatch = None,
) -> Response[Order]:
    order = lifecycle.change_status(id, data.status, parse_if_match(if_match), current_caller(app))
    return json_response(200, order.model_dump(by_alias=True), etag=order.version)


handler = entrypoint(app, logger, metrics)
