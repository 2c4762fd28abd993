"""POST /api/products"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from products import service
from products.models import Product, ProductCreate
from sales_common.api import create_app, current_user, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.post(
    "/api/products",
    summary="Create a product",
    tags=["products"],
    responses=responses(201, 400, 413, 415, 422, headers=("Location", "ETag")),
)
def create_product(data: Annotated[ProductCreate, Body()]) -> Response[Product]:
    product = service.create_product(data, current_user(app))
    metrics.add_metric(name="ProductsCreated", unit=MetricUnit.Count, value=1)
    return json_response(
        201,
        product.model_dump(by_alias=True),
        etag=product.version,
        headers={"Location": f"/api/products/{product.id}"},
    )


handler = entrypoint(app, logger, metrics)
