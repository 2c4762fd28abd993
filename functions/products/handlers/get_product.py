"""GET /api/products/{id}"""

from aws_lambda_powertools.event_handler import Response

from products import service
from products.models import Product
from sales_common.api import IdPath, create_app, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.get(
    "/api/products/<id>",
    summary="Get a product",
    tags=["products"],
    responses=responses(200, 400, 404, headers=("ETag",)),
)
def get_product(id: IdPath) -> Response[Product]:
    product = service.get_product(id)
    return json_response(200, product.model_dump(by_alias=True), etag=product.version)


handler = entrypoint(app, logger, metrics)
