"""Who called is on every log line of a request: the caller's `sub` and groups (`caller_sub`,
`caller_groups`) and API Gateway's request id (`correlation_id`), on the service's own lines and
on those of the shared layer's loggers (e.g. an unexpected error's)."""

from __future__ import annotations

import importlib
import io
import json
import logging

import pytest

from tests.support.apigw import build_event, invoke, route


def _lines(out: str) -> list[dict]:
    lines = []
    for line in out.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "level" in record:  # log lines, not metrics
            lines.append(record)
    return lines


@pytest.fixture
def logs():
    """`logs(fn)`: a buffer that fn's log lines go to during this test, at INFO (the session runs
    the Loggers at WARNING). The shared layer's logger is configured from fn's Logger, as in a
    Lambda environment that imported only fn's handler (this test process imports them all)."""
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    shared = logging.getLogger("sales_common")
    saved = (list(shared.handlers), shared.level, shared.propagate)
    changed = []

    def capture(fn) -> io.StringIO:
        logger = importlib.import_module(fn.handler.rpartition(".")[0]).logger
        buffer = io.StringIO()
        handler = logger.registered_handler
        # Swapped, not setStream(): that flushes the old stream, which is closed when the handler
        # was made under an earlier test's output capture (or an earlier pytest session's: mutmut).
        changed.append((logger, logger.log_level, handler.stream))
        handler.stream = buffer
        logger.setLevel(logging.INFO)
        copy_config_to_registered_loggers(source_logger=logger, include={"sales_common"})
        return buffer

    yield capture
    for logger, level, stream in changed:
        logger.setLevel(level)
        logger.registered_handler.stream = stream
    shared.handlers[:] = saved[0]
    shared.setLevel(saved[1])
    shared.propagate = saved[2]


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("sales", 403), ("sales integration", 403)])
def test_every_line_of_a_request_names_the_caller(cloud, logs, role, status):
    fn, params = route("POST", "/api/products")
    out = logs(fn)
    event = build_event(fn, "/api/products", params, {"name": "Logged", "price": 1}, role=role, user="u-42")

    assert invoke(fn, event)["statusCode"] == status

    lines = _lines(out.getvalue())
    assert any(line["message"] == "request handled" for line in lines)
    for line in lines:
        assert line["caller_sub"] == "u-42", line
        assert line["caller_groups"] == sorted(role.split()), line
        assert line["correlation_id"] == event["requestContext"]["requestId"], line


def test_an_unexpected_errors_line_names_the_caller_too(cloud, logs, monkeypatch):
    """The shared layer's logger (`sales_common`) logs the traceback; it carries the same keys."""
    from products import service

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "create_product", broken)
    fn, params = route("POST", "/api/products")
    out = logs(fn)
    event = build_event(fn, "/api/products", params, {"name": "Logged", "price": 1}, user="u-7")

    assert invoke(fn, event)["statusCode"] == 500

    (error,) = [line for line in _lines(out.getvalue()) if line["level"] == "ERROR"]
    assert error["message"] == "unhandled error"
    assert (error["caller_sub"], error["caller_groups"]) == ("u-7", ["admin"])


def test_a_refused_groups_claim_is_logged_as_it_came(cloud, logs):
    fn, params = route("GET", "/api/products")
    out = logs(fn)
    event = build_event(fn, "/api/products", params, user="u-9")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "admin"

    assert invoke(fn, event)["statusCode"] == 401

    (line,) = [line for line in _lines(out.getvalue()) if line["message"] == "request handled"]
    assert (line["status"], line["caller_sub"], line["caller_groups"]) == (401, "u-9", "admin")


def test_a_placement_s_workflow_execution_carries_the_request_s_correlation_id(cloud, api, logs):
    """An order's placement is found from the request that placed it: the workflow execution's
    input carries the request's correlation id (API Gateway's request id), the one on the
    request's log lines (docs/operations.md, docs/runbook.md)."""
    assert api.post("/api/products", {"name": "Logged", "price": 1, "stock": 3}).status == 201
    assert api.post("/api/customers", {"name": "Jo Doe", "email": "jo@example.com"}).status == 201
    fn, params = route("POST", "/api/orders")
    out = logs(fn)
    event = build_event(fn, "/api/orders", params, {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]})
    event["requestContext"]["requestId"] = "placing-request-7"

    assert invoke(fn, event, cloud.state_machines)["statusCode"] == 201

    (line,) = [line for line in _lines(out.getvalue()) if line["message"] == "request handled"]
    assert line["correlation_id"] == "placing-request-7"
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    (execution,) = cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"]
    started = json.loads(cloud.stepfunctions.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["orderId"] == 1
    assert started.get("correlationId") == "placing-request-7"
