"""Cognito's pre token generation trigger (event version V2_0): the user's ``email`` attribute into
the access token, so that ``GET /api/me`` can answer it (Cognito's access tokens carry no email
otherwise; docs/adr/0042). Nothing else changes: no other claim, no group, no scope, and a user
without an email gets no claim. It calls no AWS API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreTokenGenerationV2TriggerEvent

from sales_common.observability import observability

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, _ = observability("identity")


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=PreTokenGenerationV2TriggerEvent)
def handler(event: PreTokenGenerationV2TriggerEvent, context: LambdaContext) -> dict[str, Any]:
    email = event.request.user_attributes.get("email")
    if email:
        access = event.response.claims_scope_override_details.access_token_generation
        access.claims_to_add_or_override = {**access.claims_to_add_or_override, "email": email}
    logger.info("token claims", extra={"trigger": event.trigger_source, "email_added": bool(email)})
    return event.raw_event
