"""POST /api/customers/{id}/erasure: erase a customer's personal data, keeping its orders."""

from aws_lambda_powertools.event_handler import Response

from customers import service
from customers.models import Customer
from sales_common.api import IdPath, create_app, current_user, json_response, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.post(
    "/api/customers/<id>/erasure",
    summary="Erase a customer's personal data",
    description=(
        "The right to erasure (GDPR Art. 17): removes the customer's name, email, phone and address, frees "
        "the email for another customer, and keeps the id, so the customer's orders and totals stay intact. "
        "Records `erasedAt` and `erasedBy`. Idempotent: erasing an erased customer answers it again (200). "
        "An erased customer cannot be ordered for (422) or changed (409). Admins only."
    ),
    tags=["customers"],
    responses=responses(200, 400, 404, headers=("ETag",)),
)
def erase_customer(id: IdPath) -> Response[Customer]:
    customer = service.erase_customer(id, current_user(app))
    return json_response(200, customer.model_dump(by_alias=True), etag=customer.version)


handler = entrypoint(app, logger, metrics)
