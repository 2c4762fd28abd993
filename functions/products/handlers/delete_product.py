"""DELETE /api/products/{id}"""

from aws_lambda_powertools.event_handler import Response

from products import service
from sales_common.api import IdPath, IfMatch, create_app, current_user, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.delete(
    "/api/products/<id>",
    summary="Delete a product",
    description="Only a product no order refers to; one that orders refer to is a 409: archive it instead.",
    tags=["products"],
    responses=responses(204, 400, 404, 409, 412),
)
def delete_product(
    id: IdPath,
    if_match: IfMatch = None,
) -> Response[None]:
    service.delete_product(id, parse_if_match(if_match), current_user(app))
    return Response(status_code=204)


handler = entrypoint(app, logger, metrics)
