"""GET /api/me: who the caller is, from their access token (no storage is read)."""

from aws_lambda_powertools.event_handler import Response

from identity.models import Me
from sales_common.api import create_app, current_caller, json_response, responses
from sales_common.auth import claims_of
from sales_common.observability import entrypoint, observability

app = create_app()
logger, metrics = observability("identity")


@app.get(
    "/api/me",
    summary="Who am I",
    description=(
        "The signed-in user: `sub`, `username`, `email` (the access token's, which the user pool's token "
        "trigger adds; null without one) and `groups`."
    ),
    tags=["identity"],
    responses=responses(200, 400),
)
def get_me() -> Response[Me]:
    who = current_caller(app)
    email = (claims_of(app.current_event.raw_event) or {}).get("email")
    me = Me(
        sub=who.sub, username=who.username, email=email if isinstance(email, str) else None, groups=sorted(who.groups)
    )
    return json_response(200, me.model_dump())


handler = entrypoint(app, logger, metrics)
