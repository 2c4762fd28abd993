"""PUT /api/customers/{id}: partial update with optimistic concurrency (If-Match)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from customers import service
from customers.models import Customer, CustomerUpdate
from sales_common.api import IdPath, IfMatch, create_app, current_user, json_response, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.put(
    "/api/customers/<id>",
    summary="Update a customer",
    tags=["customers"],
    responses=responses(200, 400, 404, 409, 412, 413, 415, 422, headers=("ETag",)),
)
def update_customer(
    id: IdPath,
    data: Annotated[CustomerUpdate, Body()],
    if_match: IfMatch = None,
) -> Response[Customer]:
    customer = service.update_customer(id, data, parse_if_match(if_match), current_user(app))
    return json_response(200, customer.model_dump(by_alias=True), etag=customer.version)


handler = entrypoint(app, logger, metrics)
