"""GET /api/customers/{id}"""

from aws_lambda_powertools.event_handler import Response

from customers import service
from customers.models import Customer
from sales_common.api import IdPath, create_app, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.get(
    "/api/customers/<id>",
    summary="Get a customer",
    tags=["customers"],
    responses=responses(200, 400, 404, headers=("ETag",)),
)
def get_customer(id: IdPath) -> Response[Customer]:
    customer = service.get_customer(id)
    return json_response(200, customer.model_dump(by_alias=True), etag=customer.version)


handler = entrypoint(app, logger, metrics)
