"""GET /api/orders/{id}"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from orders import service
from orders.models import Order
from sales_common.api import create_app, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.get(
    "/api/orders/<id>", summary="Get an order", tags=["orders"], responses=responses(200, 400, 404, headers=("ETag",))
)
def get_order(id: Annotated[int, Path(ge=1)]) -> Response[Order]:
    order = service.get_order(id)
    return json_response(200, order.model_dump(by_alias=True), etag=order.version)


handler = entrypoint(app, logger, metrics)
