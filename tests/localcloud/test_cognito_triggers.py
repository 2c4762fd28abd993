"""The emulator's Cognito runs a pool's pre token generation trigger as Cognito does
(localcloud.cognito_triggers): the event it sends, once per sign-in or refresh, the claim changes
applied to each token, and a failing trigger failing the sign-in. Here the trigger is the template's
function run in this process (tests/support/apigw.invoke) or a stand-in; the local cloud runs it in
its execution environments (tests/e2e/test_sign_in.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import authorizer, cognito_triggers, signing_key
from localcloud.patching import install_all
from localcloud.provision import DevUsers, create_dev_users, create_user_pools
from tests.support.apigw import build_event, function, invoke, route
from tests.support.apigw import template as project_template


def claims(token: str) -> dict[str, Any]:
    from joserfc import jwt

    return dict(jwt.decode(token, signing_key.current()).claims)


class Pool:
    """The template's pool in the emulator, its dev users, and a trigger that records its events."""

    def __init__(self, cognito: Any, dev: DevUsers) -> None:
        self.cognito = cognito
        self.dev = dev
        self.events: list[dict[str, Any]] = []

    def serve(self, answer: Callable[[dict[str, Any]], Any], version: str = "V2_0") -> None:
        def record(event: dict[str, Any]) -> Any:
            self.events.append(copy.deepcopy(event))
            return answer(event)

        cognito_triggers.serve(self.dev.pool_id, version, record)

    def sign_in(self, role: str = "sales") -> dict[str, Any]:
        return authorizer.initiate_auth(self.cognito, self.dev.client_id, self.dev.users[role], self.dev.password)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return dict(
            self.cognito.initiate_auth(
                AuthFlow="REFRESH_TOKEN_AUTH",
                ClientId=self.dev.client_id,
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )["AuthenticationResult"]
        )

    def sub(self, role: str) -> str:
        user = self.cognito.admin_get_user(UserPoolId=self.dev.pool_id, Username=self.dev.users[role])
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


@pytest.fixture
def pool() -> Iterator[Pool]:
    install_all()
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        template = project_template()
        dev = create_dev_users(cognito, create_user_pools(cognito, template), template)
        assert dev is not None
        try:
            yield Pool(cognito, dev)
        finally:
            cognito_triggers.stop_serving()


def the_templates_trigger(event: dict[str, Any]) -> Any:
    (trigger,) = project_template().pre_token_triggers()
    return invoke(function(trigger.function), event)


def test_a_sign_in_runs_the_templates_trigger_once_and_the_access_token_carries_the_email(pool):
    pool.serve(the_templates_trigger)
    tokens = pool.sign_in("sales")
    assert claims(tokens["AccessToken"])["email"] == "sales@example.com"
    assert claims(tokens["AccessToken"])["token_use"] == "access"
    (event,) = pool.events  # one invocation for both tokens
    sub = pool.sub("sales")
    assert event == {
        "version": "2",
        "triggerSource": "TokenGeneration_Authentication",
        "region": "us-east-1",
        "userPoolId": pool.dev.pool_id,
        "userName": sub,  # email is the sign-in name: the internal name is the sub
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": pool.dev.client_id},
        "request": {
            "userAttributes": {
                **event["request"]["userAttributes"],
                "sub": sub,
                "email": "sales@example.com",
                "cognito:user_status": "CONFIRMED",
            },
            "groupConfiguration": {"groupsToOverride": ["sales"], "iamRolesToOverride": [], "preferredRole": None},
            "scopes": ["aws.cognito.signin.user.admin"],
        },
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def test_a_refresh_runs_it_again_as_a_refresh(pool):
    pool.serve(the_templates_trigger)
    refreshed = pool.refresh(pool.sign_in("admin")["RefreshToken"])
    assert claims(refreshed["AccessToken"])["email"] == "admin@example.com"
    assert [e["triggerSource"] for e in pool.events] == [
        "TokenGeneration_Authentication",
        "TokenGeneration_RefreshTokens",
    ]


def me(access_token: str) -> dict[str, Any]:
    """GET /api/me (its function, in this process) with `access_token`'s claims as API Gateway passes them."""
    fn, params = route("GET", "/api/me")
    event = build_event(fn, "/api/me", params)
    event["requestContext"]["authorizer"]["jwt"]["claims"] = authorizer.gateway_claims(claims(access_token))
    reply = invoke(fn, event)
    assert reply["statusCode"] == 200, reply
    answer: dict[str, Any] = json.loads(reply["body"])
    return answer


def test_a_pool_without_a_trigger_issues_access_tokens_without_email_and_me_still_answers(pool):
    tokens = pool.sign_in("sales")
    assert "email" not in claims(tokens["AccessToken"])
    sub = pool.sub("sales")
    assert me(tokens["AccessToken"]) == {"sub": sub, "username": sub, "email": None, "groups": ["sales"]}


def test_with_the_trigger_me_answers_the_email(pool):
    pool.serve(the_templates_trigger)
    assert me(pool.sign_in("admin")["AccessToken"])["email"] == "admin@example.com"


def test_each_token_gets_its_own_changes_and_protected_claims_stay(pool):
    def answer(event: dict[str, Any]) -> dict[str, Any]:
        details = {
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"team": "north", "sub": "someone-else", "token_use": "id"},
                "claimsToSuppress": ["origin_jti"],
            },
            "idTokenGeneration": {"claimsToAddOrOverride": {"shown": "yes"}, "claimsToSuppress": ["email", "shown"]},
        }
        return {**event, "response": {"claimsAndScopeOverrideDetails": details}}

    pool.serve(answer)
    tokens = pool.sign_in("sales")
    access, id_token = claims(tokens["AccessToken"]), claims(tokens["IdToken"])
    assert access["team"] == "north" and "team" not in id_token
    assert (access["sub"], access["token_use"]) == (pool.sub("sales"), "access")
    assert "origin_jti" in access
    assert "email" not in id_token and "shown" not in id_token  # suppressed wins over added
    assert len(pool.events) == 1


def test_a_v1_trigger_changes_the_id_token_only(pool):
    def answer(event: dict[str, Any]) -> dict[str, Any]:
        assert event["version"] == "1" and "scopes" not in event["request"]
        return {**event, "response": {"claimsOverrideDetails": {"claimsToAddOrOverride": {"team": "north"}}}}

    pool.serve(answer, version="V1_0")
    tokens = pool.sign_in("sales")
    assert claims(tokens["IdToken"])["team"] == "north"
    assert "team" not in claims(tokens["AccessToken"])


def _fails(event: dict[str, Any]) -> Any:
    raise RuntimeError("Task timed out after 5.00 seconds")


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (_fails, "UserLambdaValidationException", "PreTokenGeneration failed with error"),
        (lambda event: None, "InvalidLambdaResponseException", "Invalid lambda response"),
        (
            lambda event: {**event, "response": {"claimsAndScopeOverrideDetails": {"accessTokenGeneration": []}}},
            "InvalidLambdaResponseException",
            "access token",
        ),
        (
            lambda event: {
                **event,
                "response": {"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {"claimsToSuppress": "email"}}},
            },
            "InvalidLambdaResponseException",
            "malformed",
        ),
    ],
)
def test_a_failing_trigger_fails_the_sign_in_and_issues_no_token(pool, answer, code, message):
    pool.serve(answer)
    with pytest.raises(ClientError) as raised:
        pool.sign_in("sales")
    assert raised.value.response["Error"]["Code"] == code
    assert message in raised.value.response["Error"]["Message"]


def test_a_failing_trigger_fails_the_refresh_too(pool):
    refresh_token = pool.sign_in("sales")["RefreshToken"]
    pool.serve(_fails)
    with pytest.raises(ClientError) as raised:
        pool.refresh(refresh_token)
    assert raised.value.response["Error"]["Code"] == "UserLambdaValidationException"
