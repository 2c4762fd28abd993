"""DELETE /api/orders/{id}"""

from aws_lambda_powertools.event_handler import Response

from orders import lifecycle
from sales_common.api import IdPath, IfMatch, create_app, current_caller, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("orders")


@app.delete(
    "/api/orders/<id>", summary="Delete an order", tags=["orders"], responses=responses(204, 400, 404, 409, 412)
)
def delete_order(
    id: IdPath,
    if_match: IfMatch = None,
) -> Response[None]:
    lifecycle.delete_order(id, parse_if_match(if_match), current_caller(app))
    return Response(status_code=204)


handler = entrypoint(app, logger, metrics)
