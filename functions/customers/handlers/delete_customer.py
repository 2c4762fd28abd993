"""DELETE /api/customers/{id}"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from customers import service
from sales_common.api import create_app, parse_if_match, responses
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("customers")


@app.delete(
    "/api/customers/<id>", summary="Delete a customer", tags=["customers"], responses=responses(204, 400, 404, 412)
)
def delete_customer(
    id: Annotated[int, Path(ge=1)],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[None]:
    service.delete_customer(id, parse_if_match(if_match))
    return Response(status_code=204)


handler = entrypoint(app, logger, metrics)
