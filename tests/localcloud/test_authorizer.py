"""The local JWT authorizer's pieces: the user pool created from template.yaml, the routes'
authorizers read from it, the claims' gateway form, and the verifier with a controlled clock
(end-to-end behaviour over HTTP is in tests/e2e/test_sign_in.py)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import authorizer, signing_key
from localcloud.provision import create_dev_users, create_user_pools
from localcloud.sam_template import SamTemplate, TemplateError
from tests.support.apigw import TEMPLATE, front_door, functions
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
    assert groups == set(pools.groups["UserPool"]) == {"admin", "sales", "integration"}


def test_creating_twice_reuses_the_pool(cognito, template):
    first = create_user_pools(cognito, template)
    second = create_user_pools(cognito, template)
    assert dict(first) == dict(second)
    assert len(cognito.list_user_pools(MaxResults=60)["UserPools"]) == 1


def test_the_dev_users_can_sign_in_with_the_pool_password_policy(cognito, template):
    pools = create_user_pools(cognito, template)
    dev = create_dev_users(cognito, pools, template)
    assert dev is not None and dev.users == {
        "admin": "admin@example.com",
        "sales": "sales@example.com",
        "integration": "integration@example.com",
    }
    result = authorizer.initiate_auth(cognito, dev.client_id, dev.users["sales"], dev.password)
    assert result["AccessToken"] and result["IdToken"] and result["RefreshToken"]
    with pytest.raises(cognito.exceptions.InvalidPasswordException):  # the policy is enforced
        cognito.admin_set_user_password(UserPoolId=dev.pool_id, Username="sales@example.com", Password="weak")


def test_every_route_has_the_jwt_authorizer_with_the_pools_issuer_and_client(template):
    routes = authorizer.route_authorizers(template, {"UserPool": "us-east-1_POOL", "UserPoolClient": "client-1"})
    public = {("GET", "/"), ("GET", "/api/docs"), ("GET", "/api/openapi.json")}  # the docs (front door)
    assert set(routes) == {(fn.method, fn.route) for fn in (*functions(), *front_door())}
    assert {key for key, value in routes.items() if value is None} == public
    for key, route_authorizer in routes.items():
        if key in public:
            continue
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
    assert all(a is not None and not a.audience for key, a in lenient.items() if key[1].startswith("/api/products"))

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
    """A JWKS source serving a fresh key of our own (as the local cloud's emulator does), plus
    whatever else a test adds to it; counts fetches."""

    def __init__(self, *extra: Any) -> None:
        from joserfc.jwk import KeySet, RSAKey

        self.private = signing_key.generate()
        self.keys = KeySet([RSAKey.import_key(self.private.as_dict(private=False)), *extra])
        self.fetches = 0

    def key_set(self, issuer: str, refresh: bool = False) -> Any:
        self.fetches += 1
        return self.keys


def _bundled_private() -> Any:
    """The key that ships inside the emulator's package (anyone has it)."""
    from joserfc.jwk import RSAKey
    from moto.utilities.utils import load_resource

    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_POOL"
AUTHORIZER = authorizer.JwtAuthorizer("CognitoJwt", "authorization", ISSUER, frozenset({"client-1"}))
NOW = 1_800_000_000


def _token(keys: _Keys, header: dict[str, Any] | None = None, key: Any = None, **claims: Any) -> str:
    from joserfc import jwt

    base = {"iss": ISSUER, "client_id": "client-1", "token_use": "access", "exp": NOW + 60, "iat": NOW - 1}
    base.update(claims)
    signer = key or keys.private
    return jwt.encode(
        header or {"alg": "RS256", "kid": signer.kid}, {k: v for k, v in base.items() if v is not None}, signer
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
        ({"token_use": "refresh"}, "access token"),
        ({"token_use": "id"}, "access token"),
        ({"token_use": None}, "access token"),
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


def test_an_id_token_is_denied_although_its_audience_is_the_client():
    """API Gateway's own authorizer would let it through (aud = client id); the emulated one
    refuses it, as the functions do."""
    keys = _Keys()
    with pytest.raises(authorizer.Denied, match="access token"):
        _verify(keys, _token(keys, client_id=None, aud="client-1", token_use="id"))


def _with_header(token: str, header: dict[str, Any]) -> str:
    import base64
    import json

    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return encoded + token[token.index(".") :]


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "RS384", "RS512", "PS256", "rs256", None])
def test_every_algorithm_but_rs256_is_denied(alg):
    keys = _Keys()
    good = _token(keys)
    header = {"kid": keys.private.kid} if alg is None else {"alg": alg, "kid": keys.private.kid}
    with pytest.raises(authorizer.Denied, match=r"signing method|malformed"):
        _verify(keys, _with_header(good, header))


def test_a_token_without_a_key_id_is_denied_even_if_signed_with_the_issuers_key():
    keys = _Keys()
    with pytest.raises(authorizer.Denied, match="kid"):
        _verify(keys, _token(keys, header={"alg": "RS256"}))
    with pytest.raises(authorizer.Denied, match="kid"):
        _verify(keys, _token(keys, header={"alg": "RS256", "kid": ""}))


def test_an_unknown_key_id_refreshes_the_jwks_once_then_denies():
    keys = _Keys()
    with pytest.raises(authorizer.Denied, match="not the issuer's"):
        _verify(keys, _token(keys, header={"alg": "RS256", "kid": "rotated"}))
    assert keys.fetches == 2


def test_a_fresh_key_is_denied_with_its_own_or_with_the_issuers_key_id():
    keys, stranger = _Keys(), signing_key.generate()
    with pytest.raises(authorizer.Denied, match="not the issuer's"):
        _verify(keys, _token(keys, key=stranger))
    with pytest.raises(authorizer.Denied, match="invalid signature"):
        _verify(keys, _token(keys, header={"alg": "RS256", "kid": keys.private.kid}, key=stranger))


@pytest.mark.parametrize("kid", ["dummy", None])
def test_the_emulator_packages_key_is_denied_even_when_a_jwks_serves_it(kid):
    """moto's bundled key is public: a token it signed is refused with its kid ("dummy") or
    without, even from a JWKS that lists it (an emulator without the local cloud's patch)."""
    from joserfc.jwk import RSAKey

    bundled = _bundled_private()
    keys = _Keys(RSAKey.import_key(bundled.as_dict(private=False)))
    header = {"alg": "RS256", "kid": kid} if kid else {"alg": "RS256"}
    with pytest.raises(authorizer.Denied, match=r"kid|not the issuer's"):
        _verify(keys, _token(keys, header=header, key=bundled))
    assert _verify(keys, _token(keys, username="u"))["username"] == "u"  # the issuer's own key still works


def test_the_emulator_jwks_drops_the_bundled_key(monkeypatch):
    import io
    import json
    import urllib.request

    from joserfc.jwk import RSAKey

    ours = signing_key.generate()
    served = {
        "keys": [RSAKey.import_key(_bundled_private().as_dict(private=False)).as_dict(), ours.as_dict(private=False)]
    }
    monkeypatch.setattr(urllib.request, "urlopen", lambda *_a, **_k: io.BytesIO(json.dumps(served).encode()))
    keys = authorizer.EmulatorJwks("http://emulator").key_set(ISSUER)
    assert [k.kid for k in keys.keys] == [ours.kid]


def test_a_header_field_with_odd_characters_cannot_break_the_401():
    """The reason quotes the token's kid; the WWW-Authenticate header stays printable ASCII."""
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    keys = _Keys()
    routes = {(fn.method, fn.route): AUTHORIZER for fn in functions()}
    verifier = authorizer.JwtVerifier(keys, clock=lambda: NOW)  # type: ignore[arg-type]
    client, runner = _sam_gateway(authorizer.gateway_service(LocalApigwService, routes, verifier.verify))
    for kid in ["\u2603 snow", "a\r\nSet-Cookie: x=1", '\u00e9"quoted"', "\x00"]:
        refused = client.get(
            "/api/products", headers={"Authorization": f"Bearer {_token(keys, header={'alg': 'RS256', 'kid': kid})}"}
        )
        assert refused.status_code == 401
        value = refused.headers["WWW-Authenticate"]
        assert value.isascii() and value.isprintable() and "Set-Cookie" not in refused.headers, value
    assert runner.events == []


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


def test_the_gateway_answers_a_request_no_route_matches_as_an_http_api_does():
    """404 {"message":"Not Found"} for a method or path no route has, HEAD included (Flask would
    route HEAD to every GET rule, where SAM has no route and answered 502), before any token check.
    template.yaml has a greedy route (the front door's `ANY /{proxy+}`), so only `/` is left
    unmatched; tests/localcloud/test_server.py covers an API without one."""
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    from localcloud.gateway_errors import http_api_routing

    client, runner = _sam_gateway(http_api_routing(LocalApigwService))
    for method in ("HEAD", "PATCH", "POST", "DELETE"):
        reply = client.open("/", method=method)
        assert reply.status_code == 404, method
        assert reply.data == (b"" if method == "HEAD" else b'{"message":"Not Found"}'), method
    assert runner.events == []
    assert client.get("/api/products").status_code == 200  # a routed request still reaches the function


def test_the_greedy_route_takes_every_request_no_other_route_matches():
    """As on an HTTP API: `ANY /{proxy+}` takes a method a path's routes do not have, HEAD on a
    GET route included (Flask matches that one to the GET rule), and a path no route has."""
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    from localcloud.gateway_errors import http_api_routing

    client, runner = _sam_gateway(http_api_routing(LocalApigwService))
    cases = [
        ("HEAD", "/api/products"),
        ("HEAD", "/api/orders/1"),
        ("PATCH", "/api/products"),
        ("GET", "/api/nothing"),
        ("POST", "/api/products/1"),
        ("TRACE", "/api/customers"),  # not in SAM's list of methods for ANY; an HTTP API's ANY takes it
    ]
    for method, path in cases:
        assert client.open(path, method=method).status_code == 200, (method, path)
    assert [(e["requestContext"]["http"]["method"], e["rawPath"]) for e in runner.events] == cases
    # (SAM names the route key after the request's method, where API Gateway says `ANY /{proxy+}`)
    assert {e["routeKey"].split(" ", 1)[1] for e in runner.events} == {"/{proxy+}"}
    assert [e["pathParameters"] for e in runner.events][:2] == [{"proxy": "api/products"}, {"proxy": "api/orders/1"}]


# ------------------------------------------------------------------ the local cloud's own key
def test_the_signing_key_is_kept_in_its_file_privately(tmp_path):
    path = tmp_path / "state.signing-key.json"
    first = signing_key.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = signing_key.load_or_create(path)
    assert (again.kid, again.thumbprint()) == (first.kid, first.thumbprint())
    assert first.kid.startswith("localcloud-") and not signing_key.is_bundled(first)
    assert signing_key.generate().kid != first.kid  # a fresh one each run without a file


@pytest.mark.parametrize("content", ["not json", "{}", "bundled", "public"])
def test_a_signing_key_file_that_is_not_a_private_key_of_our_own_is_refused(tmp_path, content):
    import json

    path = tmp_path / "key.json"
    if content == "bundled":
        path.write_text(json.dumps(_bundled_private().as_dict(private=True)))
    elif content == "public":
        path.write_text(json.dumps(signing_key.generate().as_dict(private=False)))
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match="signing key"):
        signing_key.load_or_create(path)


def test_the_emulator_signs_with_the_local_key_for_as_long_as_the_app_client_says(cognito, template):
    """With the patch (localcloud.patching.install_all): the token header names the local key's
    kid, its signature verifies with the served JWKS, and it lives the client's 15 minutes."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from localcloud.patching import install_all

    install_all()
    key = signing_key.generate()
    signing_key.use(key)
    pools = create_user_pools(cognito, template)
    dev = create_dev_users(cognito, pools, template)
    assert dev is not None
    result = authorizer.initiate_auth(cognito, dev.client_id, dev.users["admin"], dev.password)
    assert result["ExpiresIn"] == 15 * 60
    for name in ("AccessToken", "IdToken"):
        token = jwt.decode(result[name], KeySet.import_key_set(signing_key.public_jwks()))
        assert token.header["kid"] == key.kid and token.header["alg"] == "RS256"
        assert token.claims["exp"] - token.claims["iat"] == 15 * 60
    refreshed = cognito.initiate_auth(
        AuthFlow="REFRESH_TOKEN_AUTH", ClientId=dev.client_id, AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]}
    )["AuthenticationResult"]
    assert jwt.decode(refreshed["AccessToken"], key).header["kid"] == key.kid


def test_the_integration_dev_user_is_also_in_sales(cognito, template):
    pools = create_user_pools(cognito, template)
    dev = create_dev_users(cognito, pools, template)
    assert dev is not None and dev.users["integration"] == "integration@example.com"
    groups = cognito.admin_list_groups_for_user(UserPoolId=dev.pool_id, Username="integration@example.com")["Groups"]
    assert {g["GroupName"] for g in groups} == {"integration", "sales"}
