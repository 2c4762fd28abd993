"""Logger and Metrics for a service's handlers, configured the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext


def observability(service: str) -> tuple[Logger, Metrics]:
    return Logger(service=service), Metrics(service=service)


def entrypoint(
    app: APIGatewayHttpResolver, logger: Logger, metrics: Metrics
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for `app`: structured logs with the request id as correlation id,
    metrics flushed after every invocation, and the body-size guard in front of routing."""
    from sales_common.api import resolve

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return resolve(app, event, context)

    return handler
