"""DELETE /api/customers/{id}"""

from aws_lambda_powertools.event_handler import Response

from customers import service
from sales_common.api import IdPath, IfMatch, create_app, current_user, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.delete(
    "/api/customers/<id>",
    summary="Delete a customer",
    description=(
        "Only a customer no order refers to; one with orders is a 409: erase its personal data instead "
        "(POST /api/customers/{id}/erasure)."
    ),
    tags=["customers"],
    responses=responses(204, 400, 404, 409, 412),
)
def delete_customer(
    id: IdPath,
    if_match: IfMatch = None,
) -> Response[None]:
    service.delete_customer(id, parse_if_match(if_match), current_user(app))
    return Response(status_code=204)


handler = entrypoint(app, logger, metrics)
