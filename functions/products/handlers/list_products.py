"""GET /api/products: one page of products in id order."""

from aws_lambda_powertools.event_handler import Response

from products import service
from products.models import Product
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, page_response
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")


@app.get("/api/products", summary="List products", tags=["products"], responses=responses(200, 400, headers=("Link",)))
def list_products(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[list[Product]]:
    return page_response(service.list_products(limit, cursor), "/api/products", limit)


handler = entrypoint(app, logger, metrics)
