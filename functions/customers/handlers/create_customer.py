"""POST /api/customers"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from customers import service
from customers.models import Customer, CustomerCreate
from sales_common.api import create_app, current_user, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.post(
    "/api/customers",
    summary="Create a customer",
    tags=["customers"],
    responses=responses(201, 400, 409, 413, 415, 422, headers=("Location", "ETag")),
)
def create_customer(data: Annotated[CustomerCreate, Body()]) -> Response[Customer]:
    customer = service.create_customer(data, current_user(app))
    metrics.add_metric(name="CustomersCreated", unit=MetricUnit.Count, value=1)
    return json_response(
        201,
        customer.model_dump(by_alias=True),
        etag=customer.version,
        headers={"Location": f"/api/customers/{customer.id}"},
    )


handler = entrypoint(app, logger, metrics)
