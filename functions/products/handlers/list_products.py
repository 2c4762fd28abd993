"""GET /api/products: one page of products in id order (active ones unless ?status= says otherwise)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from products import service
from products.models import Product, ProductListStatus
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, page_response
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("products")

Status = Annotated[
    ProductListStatus | None,
    Query(description="ACTIVE (default): products on sale; ARCHIVED: archived ones; ALL: both."),
]


@app.get("/api/products", summary="List products", tags=["products"], responses=responses(200, 400, headers=("Link",)))
def list_products(
    limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None, status: Status = None
) -> Response[list[Product]]:
    page = service.list_products(limit, cursor, status)
    return page_response(page, "/api/products", limit, {"status": status.value} if status else None)


handler = entrypoint(app, logger, metrics)
