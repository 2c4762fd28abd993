"""A failed Lambda integration answers as a deployed HTTP API does, on SAM's own gateway (the class
both local tiers build) with a stand-in for the function's output; REST routes keep SAM's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from samcli.lib.providers.provider import Api
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.route import Route

from localcloud.authorizer import local_gateway
from localcloud.gateway_errors import http_api_failures
from localcloud.sam_template import SamTemplate

AWS_HTTP_API_FAILURE = b'{"message":"Internal Server Error"}'  # 35 bytes, as API Gateway's access log counts
FUNCTION_ERROR = json.dumps({"errorMessage": "Task timed out after 1.00 seconds", "errorType": "Sandbox.Timedout"})


class Runner:
    """What LocalLambdaRunner.invoke writes to stdout: the invocation's result (or error document)."""

    def is_debugging(self) -> bool:
        return False

    def __init__(self, output: str) -> None:
        self.output = output

    def invoke(self, name: str, event: str, stdout: Any, stderr: Any, tenant_id: Any = None) -> None:
        stdout.write_str(self.output)


def _client(gateway: type, output: str) -> Any:
    routes = [
        Route("Fn", "/http", ["GET"], event_type=Route.HTTP, payload_format_version="2.0"),
        Route("Fn", "/http-v1", ["GET"], event_type=Route.HTTP, payload_format_version="1.0"),
        Route("Fn", "/rest", ["GET"], event_type=Route.API),
    ]
    service = gateway(api=Api(routes=routes), lambda_runner=Runner(output), port=0, host="127.0.0.1")
    service.create()
    return service._app.test_client()


@pytest.mark.parametrize("path", ["/http", "/http-v1"])
@pytest.mark.parametrize(
    "output",
    [
        pytest.param(FUNCTION_ERROR, id="function-error-or-timeout"),
        pytest.param("not json", id="malformed-output"),
        pytest.param(json.dumps({"statusCode": "teapot", "body": "x"}), id="bad-status-code"),
    ],
)
def test_failed_http_api_integration_answers_as_aws(path: str, output: str) -> None:
    r = _client(http_api_failures(LocalApigwService), output).get(path)
    assert r.status_code == 500
    assert r.data == AWS_HTTP_API_FAILURE
    assert r.mimetype == "application/json"


def test_sam_alone_answers_with_the_rest_wording() -> None:
    """What the wrapper corrects: SAM's own gateway, for the same function error."""
    r = _client(LocalApigwService, FUNCTION_ERROR).get("/http")
    assert r.status_code == 500
    assert r.get_json() == {"message": "Internal server error"}


def test_rest_routes_keep_sams_answer() -> None:
    r = _client(http_api_failures(LocalApigwService), FUNCTION_ERROR).get("/rest")
    assert r.status_code == 500
    assert r.get_json() == {"message": "Internal server error"}


def test_successful_and_error_status_responses_pass_through() -> None:
    ok = json.dumps({"statusCode": 503, "headers": {"Content-Type": "application/json"}, "body": '{"a":1}'})
    r = _client(http_api_failures(LocalApigwService), ok).get("/http")
    assert r.status_code == 503 and r.get_json() == {"a": 1}


def test_both_tiers_gateway_class_applies_it() -> None:
    """localcloud.authorizer.local_gateway builds the class of the local cloud and of the Docker
    tier's `sam local start-api`; a route without an authorizer reaches the function directly."""
    gateway = local_gateway(LocalApigwService, SamTemplate({"Resources": {}}), {}, "http://127.0.0.1:1")
    r = _client(gateway, FUNCTION_ERROR).get("/http")
    assert (r.status_code, r.data) == (500, AWS_HTTP_API_FAILURE)
