"""POST /api/products/{id}/stock-adjustments: a relative, audited stock change."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from products import service
from products.models import Product, StockAdjustmentCreate
from sales_common.api import IdPath, create_app, current_user, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.post(
    "/api/products/<id>/stock-adjustments",
    summary="Adjust a product's stock by a relative amount",
    description=(
        "Adds `delta` (negative: removes) atomically, without a read first, and keeps an audit record "
        "of the change. 409 if the stock would go below 0. Answers the product as it stands after."
    ),
    tags=["products"],
    responses=responses(200, 400, 404, 409, 413, 415, 422, headers=("ETag",)),
)
def adjust_stock(id: IdPath, data: Annotated[StockAdjustmentCreate, Body()]) -> Response[Product]:
    product = service.adjust_stock(id, data, current_user(app))
    return json_response(200, product.model_dump(by_alias=True), etag=product.version)


handler = entrypoint(app, logger, metrics)
