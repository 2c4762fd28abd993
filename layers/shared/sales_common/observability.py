"""Logger and Metrics for a service's handlers, configured the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext


def observability(service: str) -> tuple[Logger, Metrics]:
    """The service's Logger and Metrics. The shared layer's own loggers (e.g. the one that records
    unexpected errors) get the same JSON formatter, so every log line is structured and carries
    the request's correlation id."""
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"sales_common"})
    return logger, Metrics(service=service)


_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id() -> str | None:
    """The correlation id of the request being handled: API Gateway's request id. Work the request
    starts elsewhere (the placement workflow's execution input) carries it, so its logs are found
    from the request's."""
    return _correlation_id.get()


def publish(metrics: Metrics) -> None:
    """Flush what the invocation recorded; an invocation that recorded no metric publishes nothing
    (and, unlike powertools' own flush, neither warns nor keeps its dimensions for the next one)."""
    if metrics.metric_set:
        metrics.flush_metrics()
    else:
        metrics.clear_metrics()


def entrypoint(
    app: APIGatewayHttpResolver, logger: Logger, metrics: Metrics
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for `app`: structured logs with the request id (API Gateway's
    `requestContext.requestId`, as in the access log) as correlation id and the caller's `sub` and
    groups (`caller_sub`, `caller_groups`) on every line of the request, metrics flushed after
    every invocation, and the role and body-size guards in front of routing."""
    from sales_common.api import resolve
    from sales_common.auth import log_keys

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.append_keys(**log_keys(event))
        token = _correlation_id.set(logger.get_correlation_id())
        try:
            response = resolve(app, event, context)
            http = (event.get("requestContext") or {}).get("http") or {}
            logger.info(
                "request handled",
                extra={"method": http.get("method"), "path": http.get("path"), "status": response.get("statusCode")},
            )
            return response
        finally:
            publish(metrics)
            _correlation_id.reset(token)

    return handler
