"""PUT /api/products/{id}: partial update with optimistic concurrency (If-Match)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from products import service
from products.models import Product, ProductUpdate
from sales_common.api import IdPath, IfMatch, create_app, current_user, json_response, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.put(
    "/api/products/<id>",
    summary="Update a product",
    tags=["products"],
    responses=responses(200, 400, 404, 412, 413, 415, 422, 428, headers=("ETag",)),
)
def update_product(
    id: IdPath,
    data: Annotated[ProductUpdate, Body()],
    if_match: IfMatch = None,
) -> Response[Product]:
    product = service.update_product(id, data, parse_if_match(if_match), current_user(app))
    return json_response(200, product.model_dump(by_alias=True), etag=product.version)


handler = entrypoint(app, logger, metrics)
