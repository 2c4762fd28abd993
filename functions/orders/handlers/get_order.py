"""GET /api/orders/{id}"""

from aws_lambda_powertools.event_handler import Response

from orders import lifecycle
from orders.models import Order
from sales_common.api import IdPath, create_app, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.get(
    "/api/orders/<id>", summary="Get an order", tags=["orders"], responses=responses(200, 400, 404, headers=("ETag",))
)
def get_order(id: IdPath) -> Response[Order]:
    order = lifecycle.get_order(id)
    return json_response(200, order.model_dump(by_alias=True), etag=order.version)


handler = entrypoint(app, logger, metrics)
