"""GET /api/customers: one page of customers in id order."""

from aws_lambda_powertools.event_handler import Response

from customers import service
from customers.models import Customer
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, page_response
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.get(
    "/api/customers", summary="List customers", tags=["customers"], responses=responses(200, 400, headers=("Link",))
)
def list_customers(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[list[Customer]]:
    return page_response(service.list_customers(limit, cursor), "/api/customers", limit)


handler = entrypoint(app, logger, metrics)
