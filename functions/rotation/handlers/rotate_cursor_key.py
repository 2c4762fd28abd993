"""Rotation function of the cursor-signing secret: Secrets Manager invokes it once per step of
its rotation protocol (rotation.Rotation). It refuses any other secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rotation.rotation import Rotation, RotationRefused, RotationSettings, is_the_configured_secret
from sales_common import aws
from sales_common.observability import observability
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, _ = observability("rotation")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    settings = load_settings(RotationSettings)
    client = aws.client("secretsmanager", settings)
    secret, step, token = event["SecretId"], event["Step"], event["ClientRequestToken"]
    logger.append_keys(secret=secret, step=step, version=token)
    if not is_the_configured_secret(client, secret, settings):
        raise RotationRefused(f"{secret} is not the secret this function rotates")
    logger.info("rotation step", extra={"outcome": Rotation(client, secret, token).run(step)})
