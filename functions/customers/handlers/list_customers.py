"""GET /api/customers: one page of customers in id order, by name prefix, or by email."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from customers import service
from customers.models import Customer
from sales_common.api import create_app, responses
from sales_common.listing import DEFAULT_LIMIT, Cursor, Limit, NamePrefix, Order, SortOrder, page_response
from sales_common.models import SINGLE_LINE
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


EmailQuery = Annotated[
    str | None,
    SINGLE_LINE,
    Query(
        min_length=1,
        max_length=254,
        description="An email address: the customer who has it (its ASCII letters in any case), or none.",
    ),
]


@app.get(
    "/api/customers",
    summary="List customers",
    description=(
        "Customers in id order (`order=desc`: newest first); with `q`, those whose name starts with `q` "
        "(case-insensitive), in name order; with `email`, the customer with that address (a list of one "
        "or none). `email` and `q` do not combine."
    ),
    tags=["customers"],
    responses=responses(200, 400, headers=("Link",)),
)
def list_customers(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    email: EmailQuery = None,
    q: NamePrefix = None,
    order: Order = SortOrder.ASC,
) -> Response[list[Customer]]:
    page = service.list_customers(limit, cursor, email, q, order)
    given = {"q": q, "order": None if order is SortOrder.ASC else order.value}
    return page_response(page, "/api/customers", limit, {k: v for k, v in given.items() if v is not None})


handler = entrypoint(app, logger, metrics)
