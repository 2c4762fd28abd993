"""The Docker tier's backend runs the user pool's pre token generation trigger as Cognito does,
through ``lambda:Invoke`` on `sam local start-lambda` (localcloud/samlocal/backend.py). Here a
stand-in for start-lambda's invoke endpoint answers, so the wiring is checked without Docker:
the pool and function come from template.yaml, the event reaches the endpoint, its answer changes
the token, and a failed, missing or slow answer fails the sign-in. tests/samlocal runs the real
function in a real container."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import authorizer, cognito_triggers, signing_key
from localcloud.patching import install_all
from localcloud.provision import create_dev_users, create_user_pools
from localcloud.samlocal import backend
from tests.support.apigw import template as project_template

Answer = Callable[[str, dict[str, Any]], tuple[int, dict[str, str], Any]]


class StartLambda:
    """What `sam local start-lambda` answers to ``POST /2015-03-31/functions/NAME/invocations``:
    `answer(name, event)` -> (status, headers, body). Records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: Answer = lambda name, event: (200, {}, event)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                prefix, suffix = "/2015-03-31/functions/", "/invocations"
                name = self.path.removeprefix(prefix).removesuffix(suffix)
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append((name, event))
                status, headers, body = outer.answer(name, event)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the late answer's test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def adds_email(name: str, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Answers as the template's function does (it runs in a container in the Docker tier)."""
    claims = {"email": event["request"]["userAttributes"]["email"]}
    details = {"accessTokenGeneration": {"claimsToAddOrOverride": claims}}
    return 200, {}, {**event, "response": {"claimsAndScopeOverrideDetails": details}}


@pytest.fixture
def start_lambda() -> Iterator[StartLambda]:
    endpoint = StartLambda()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def signed_in(start_lambda: StartLambda) -> Iterator[Callable[[], dict[str, Any]]]:
    """The template's pool in the emulator with the backend's triggers served on `start_lambda`;
    calling it signs the sales dev user in."""
    install_all()
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        template = project_template()
        pools = create_user_pools(cognito, template)
        dev = create_dev_users(cognito, pools, template)
        assert dev is not None
        served = backend.serve_token_triggers(template, pools, start_lambda.url)
        assert served == [
            {"pool": "UserPool", "pool_id": dev.pool_id, "function": "PreTokenGenerationFunction", "version": "V2_0"}
        ]
        try:
            yield lambda: authorizer.initiate_auth(cognito, dev.client_id, dev.users["sales"], dev.password)
        finally:
            cognito_triggers.stop_serving()


def access_claims(result: dict[str, Any]) -> dict[str, Any]:
    from joserfc import jwt

    return dict(jwt.decode(result["AccessToken"], signing_key.current()).claims)


def test_a_sign_in_invokes_the_templates_function_on_start_lambda_and_its_answer_is_in_the_token(
    signed_in, start_lambda
):
    start_lambda.answer = adds_email

    claims = access_claims(signed_in())

    assert claims["email"] == "sales@example.com"
    ((name, event),) = start_lambda.calls
    assert name == "PreTokenGenerationFunction"
    assert (event["version"], event["triggerSource"]) == ("2", "TokenGeneration_Authentication")
    assert event["request"]["userAttributes"]["email"] == "sales@example.com"


@pytest.mark.parametrize(
    "answer",
    [
        # the function raised: start-lambda answers 200 with X-Amz-Function-Error and its error document
        lambda name, event: (
            200,
            {"X-Amz-Function-Error": "Unhandled"},
            {"errorMessage": "boom", "errorType": "RuntimeError"},
        ),
        # no such function
        lambda name, event: (
            404,
            {"x-amzn-errortype": "ResourceNotFound"},
            {"Type": "User", "Message": f"Function not found: {name}"},
        ),
        # start-lambda itself failed
        lambda name, event: (500, {}, {"message": "internal error"}),
    ],
    ids=["function-error", "unknown-function", "service-error"],
)
def test_a_failed_invocation_fails_the_sign_in(signed_in, start_lambda, answer):
    start_lambda.answer = answer

    with pytest.raises(ClientError) as raised:
        signed_in()

    assert raised.value.response["Error"]["Code"] == "UserLambdaValidationException"
    assert len(start_lambda.calls) == 1  # Cognito's one attempt: no SDK retry


def test_start_lambda_not_running_fails_the_sign_in(signed_in, start_lambda):
    start_lambda.stop()

    with pytest.raises(ClientError) as raised:
        signed_in()

    assert raised.value.response["Error"]["Code"] == "UserLambdaValidationException"


def test_an_answer_later_than_cognitos_limit_fails_the_sign_in(start_lambda, monkeypatch):
    monkeypatch.setattr(backend, "COGNITO_TRIGGER_TIMEOUT", 0.3)
    client = backend.lambda_client(start_lambda.url)

    def slow(name: str, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        time.sleep(1)
        return 200, {}, event  # too late anyway

    start_lambda.answer = slow

    with pytest.raises(Exception, match="Read timeout"):
        backend.invoke_trigger(client, "PreTokenGenerationFunction", {"version": "2"})
    assert len(start_lambda.calls) == 1
