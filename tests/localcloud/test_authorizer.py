"""The local JWT authorizer's pieces: the user pool created from template.yaml, the routes'
authorizers read from it, the claims' gateway form, and the verifier with a controlled clock
(end-to-end behaviour over HTTP is in tests/e2e/test_sign_in.py)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import authorizer
from localcloud.provision import create_dev_users, create_user_pools
from localcloud.sam_template import SamTemplate, TemplateError
from tests.support.apigw import TEMPLATE, functions
from tests.support.apigw import template as project_template


@pytest.fixture
def cognito() -> Any:
    with mock_aws():
        yield boto3.client("cognito-idp", region_name="us-east-1")


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return project_template()


def test_the_pool_client_and_groups_come_from_the_template(cognito, template):
    pools = create_user_pools(cognito, template)

    pool = cognito.describe_user_pool(UserPoolId=pools["UserPool"])["UserPool"]
    props = template.properties("UserPool")
    assert pool["Name"] == "sales-users-dev"
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == props["Policies"]["PasswordPolicy"]["MinimumLength"]
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pools["UserPool"])
    assert (mfa["MfaConfiguration"], mfa["SoftwareTokenMfaConfiguration"]["Enabled"]) == ("OPTIONAL", True)
    client = cognito.describe_user_pool_client(UserPoolId=pools["UserPool"], ClientId=pools["UserPoolClient"])
    assert set(client["UserPoolClient"]["ExplicitAuthFlows"]) == set(
        template.properties("UserPoolClient")["ExplicitAuthFlows"]
    )
    assert "ClientSecret" not in client["UserPoolClient"]
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pools["UserPool"])["Groups"]}
    assert groups == set(pools.groups["UserPool"]) == {"admin", "sales"}


def test_creating_twice_reuses_the_pool(cognito, template):
    first = create_user_pools(cognito, template)
    second = create_user_pools(cognito, template)
    assert dict(first) == dict(second)
    assert len(cognito.list_user_pools(MaxResults=60)["UserPools"]) == 1


def test_the_dev_users_can_sign_in_with_the_pool_password_policy(cognito, template):
    pools = create_user_pools(cognito, template)
    dev = create_dev_users(cognito, pools, template)
    assert dev is not None and dev.users == {"admin": "admin@example.com", "sales": "sales@example.com"}
    result = authorizer.initiate_auth(cognito, dev.client_id, dev.users["sales"], dev.password)
    assert result["AccessToken"] and result["IdToken"] and result["RefreshToken"]
    with pytest.raises(cognito.exceptions.InvalidPasswordException):  # the policy is enforced
        cognito.admin_set_user_password(UserPoolId=dev.pool_id, Username="sales@example.com", Password="weak")


def test_every_route_has_the_jwt_authorizer_with_the_pools_issuer_and_client(template):
    routes = authorizer.route_authorizers(template, {"UserPool": "us-east-1_POOL", "UserPoolClient": "client-1"})
    assert set(routes) == {(fn.method, fn.route) for fn in functions()}
    for route_authorizer in routes.values():
        assert route_authorizer == authorizer.JwtAuthorizer(
            "CognitoJwt",
            "authorization",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_POOL",
            frozenset({"client-1"}),
        )


def test_route_level_none_opts_out_and_unknown_authorizers_are_errors(template):
    ids = {"UserPool": "p", "UserPoolClient": "c"}
    opted_out = template.variant()
    event = opted_out.data["Resources"]["ListProductsFunction"]["Properties"]["Events"]["Api"]["Properties"]
    event["Auth"] = {"Authorizer": "NONE"}
    assert authorizer.route_authorizers(opted_out, ids)[("GET", "/api/products")] is None

    event["Auth"] = {"Authorizer": "Missing"}
    with pytest.raises(TemplateError, match="not defined"):
        authorizer.route_authorizers(opted_out, ids)

    iam = template.variant()
    iam.data["Resources"]["SalesApi"]["Properties"]["Auth"]["Authorizers"]["CognitoJwt"] = {"EnableIamAuthorizer": True}
    with pytest.raises(TemplateError, match="cannot be emulated"):
        authorizer.route_authorizers(iam, ids)
    lenient = authorizer.route_authorizers(iam, ids, lenient=True)  # --no-auth: served, as the dev admin
    assert all(a is not None and not a.audience for a in lenient.values())

    with pytest.raises(TemplateError, match="not created yet"):
        authorizer.route_authorizers(template, {})


def test_claims_reach_the_function_as_api_gateway_formats_them():
    claims = {
        "cognito:groups": ["admin", "sales"],
        "exp": 1700000000,
        "email_verified": True,
        "sub": "u",
        "x": {"a": 1},
    }
    assert authorizer.gateway_claims(claims) == {
        "cognito:groups": "[admin sales]",
        "exp": "1700000000",
        "email_verified": "true",
        "sub": "u",
        "x": '{"a":1}',
    }


class _Keys:
    """A JWKS source backed by moto's signing key, counting fetches."""

    def __init__(self) -> None:
        from joserfc.jwk import KeySet, RSAKey
        from moto.utilities.utils import load_resource

        self.private = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
        self.keys = KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))
        self.fetches = 0

    def key_set(self, issuer: str, refresh: bool = False) -> Any:
        self.fetches += 1
        return self.keys


ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_POOL"
AUTHORIZER = authorizer.JwtAuthorizer("CognitoJwt", "authorization", ISSUER, frozenset({"client-1"}))
NOW = 1_800_000_000


def _token(keys: _Keys, header: dict[str, Any] | None = None, **claims: Any) -> str:
    from joserfc import jwt

    base = {"iss": ISSUER, "client_id": "client-1", "token_use": "access", "exp": NOW + 60, "iat": NOW - 1}
    base.update(claims)
    return jwt.encode(
        header or {"alg": "RS256", "kid": "dummy"}, {k: v for k, v in base.items() if v is not None}, keys.private
    )


def _verify(keys: _Keys, token: str, now: float = NOW) -> dict[str, Any]:
    verifier = authorizer.JwtVerifier(keys, clock=lambda: now)  # type: ignore[arg-type]
    return verifier.verify(AUTHORIZER, {"Authorization": f"Bearer {token}"})


def test_a_valid_token_is_accepted_until_it_expires():
    keys = _Keys()
    token = _token(keys, username="u1")
    assert _verify(keys, token)["username"] == "u1"
    assert _verify(keys, token, now=NOW + 59)["username"] == "u1"
    with pytest.raises(authorizer.Denied, match="expired"):
        _verify(keys, token, now=NOW + 60)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": ISSUER + "x"}, "issuer"),
        ({"client_id": "client-2"}, "audience"),
        ({"client_id": None}, "audience"),
        ({"client_id": None, "aud": "client-2"}, "audience"),
        ({"client_id": "client-1", "aud": ["client-2"]}, "audience"),  # aud, when present, decides
        ({"token_use": "refresh"}, "token_use"),
        ({"exp": None}, "expired"),
        ({"exp": "soon"}, "expired"),
        ({"nbf": NOW + 10}, "nbf"),
        ({"iat": NOW + 10}, "iat"),
    ],
)
def test_each_bad_claim_is_denied(claims, reason):
    keys = _Keys()
    with pytest.raises(authorizer.Denied, match=reason):
        _verify(keys, _token(keys, **claims))


def test_an_id_token_is_accepted_by_its_audience():
    keys = _Keys()
    assert _verify(keys, _token(keys, client_id=None, aud="client-1", token_use="id"))["aud"] == "client-1"


@pytest.mark.parametrize(
    "header", [{"alg": "none"}, {"alg": "HS256", "kid": "dummy"}, {"alg": "ES256", "kid": "dummy"}]
)
def test_other_algorithms_are_denied(header):
    import base64
    import json

    keys = _Keys()
    good = _token(keys)
    forged = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode() + good[good.index(".") :]
    with pytest.raises(authorizer.Denied, match="signing method"):
        _verify(keys, forged)


def test_a_header_naming_another_rsa_algorithm_than_the_signature_is_denied():
    import base64
    import json

    keys = _Keys()
    good = _token(keys)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS512", "kid": "dummy"}).encode()).rstrip(b"=").decode()
    with pytest.raises(authorizer.Denied, match="invalid signature"):
        _verify(keys, header + good[good.index(".") :])


def test_an_unknown_key_id_refreshes_the_jwks_once_then_denies():
    keys = _Keys()
    with pytest.raises(authorizer.Denied):
        _verify(keys, _token(keys, header={"alg": "RS256", "kid": "rotated"}))
    assert keys.fetches == 2


def test_verification_is_not_a_clock_free_pass():
    """The default clock is the real one: a token that expired an hour ago is denied."""
    keys = _Keys()
    token = _token(keys, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    with pytest.raises(authorizer.Denied, match="expired"):
        authorizer.JwtVerifier(keys).verify(AUTHORIZER, {"authorization": token})  # type: ignore[arg-type]


# ------------------------------------------------------------------ what SAM CLI itself does
class _CapturingRunner:
    """Stands in for SAM's LocalLambdaRunner: records the event, answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_name: str, event: str, stdout: Any = None, **_: Any) -> None:
        import json

        self.events.append(json.loads(event))
        stdout.write_str(json.dumps({"statusCode": 200, "body": "{}"}))


def _sam_gateway(service_class: Any) -> tuple[Any, _CapturingRunner]:
    from samcli.lib.providers.api_provider import ApiProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    runner = _CapturingRunner()
    service = service_class(api=ApiProvider(stacks, cwd=str(TEMPLATE.parent)).api, lambda_runner=runner, port=0)
    service.create()
    return service._app.test_client(), runner


def test_sam_cli_itself_passes_no_authorizer_context_for_a_jwt_route():
    """What `sam local start-api` does with template.yaml's JWT authorizer: it links no
    authorizer to the routes, checks no token and invokes the function with no
    requestContext.authorizer (so our functions answer 401). This is why the Docker tier runs
    SAM through localcloud/samlocal/sam_cli.py."""
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    client, runner = _sam_gateway(LocalApigwService)
    assert client.get("/api/products", headers={"Authorization": "Bearer not-even-a-jwt"}).status_code == 200
    (event,) = runner.events
    assert event["routeKey"] == "GET /api/products"
    assert "authorizer" not in event["requestContext"]


def test_the_wrapped_sam_gateway_verifies_and_passes_the_claims():
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    keys = _Keys()
    routes = {(fn.method, fn.route): AUTHORIZER for fn in functions()}
    verifier = authorizer.JwtVerifier(keys, clock=lambda: NOW)  # type: ignore[arg-type]
    client, runner = _sam_gateway(authorizer.gateway_service(LocalApigwService, routes, verifier.verify))

    refused = client.get("/api/products", headers={"Authorization": "Bearer not-even-a-jwt"})
    assert (refused.status_code, refused.json) == (401, {"message": "Unauthorized"})
    assert runner.events == []  # the function was not invoked

    token = _token(keys, username="u1", **{"cognito:groups": ["sales"]})
    assert client.get("/api/products/7", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    (event,) = runner.events
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] == "[sales]"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["username"] == "u1"

    preflight = client.options(
        "/api/products", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200 and len(runner.events) == 1  # answered by the gateway, no token
