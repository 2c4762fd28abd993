"""Sign-in over HTTP: real tokens from the emulated Cognito (InitiateAuth), verified by the local
cloud's JWT authorizer as API Gateway verifies them, and the roles the functions enforce.

Bad tokens are made from good ones: re-signed with the emulator's own signing key (moto signs
every pool's tokens with one RSA key, shipped in the moto package) with exactly one claim
changed, so each 401 has a single cause, and an unchanged re-signed token is shown to pass."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

CUSTOMER = {"name": "Signed In", "email": "x@example.com"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _resign(token: str, **changes) -> str:
    """`token` with `changes` applied to its claims (None removes one), signed with moto's key."""
    from joserfc import jwk, jwt
    from moto.utilities.utils import load_resource

    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    claims = {**_claims(token), **changes}
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, {k: v for k, v in claims.items() if v is not None}, key)


@pytest.fixture(scope="session")
def admin_token(local_cloud) -> str:
    return local_cloud.token("admin")


def call(local_cloud, method, path, token=None, raw_authorization=None, **kwargs):
    import requests

    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if raw_authorization is not None:
        headers["Authorization"] = raw_authorization
    return requests.request(method, local_cloud.api_url + path, headers=headers, timeout=30, **kwargs)


def assert_gateway_401(reply) -> None:
    assert reply.status_code == 401, reply.text
    assert reply.json() == {"message": "Unauthorized"}
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def _product_count(local_cloud) -> int:
    return int(local_cloud.client("dynamodb").scan(TableName="ProductsTable", Select="COUNT")["Count"])


# ------------------------------------------------------------------ good tokens
def test_without_a_token_every_route_is_401_and_no_function_runs(local_cloud, http):
    before = _product_count(local_cloud)
    for method, path in [("GET", "/api/products"), ("POST", "/api/products"), ("DELETE", "/api/orders/1")]:
        assert_gateway_401(call(local_cloud, method, path, json={"name": "Nope", "price": 1}))
    assert _product_count(local_cloud) == before


def test_an_admin_token_from_initiate_auth_is_accepted_and_names_the_creator(local_cloud, admin_token):
    r = call(local_cloud, "POST", "/api/products", admin_token, json={"name": "Signed", "price": 2})
    assert r.status_code == 201, r.text
    assert r.json()["createdBy"] == _claims(admin_token)["username"]


def test_the_bearer_prefix_is_optional_and_an_id_token_works_too(local_cloud, admin_token):
    assert call(local_cloud, "GET", "/api/products", raw_authorization=admin_token).status_code == 200
    id_token = local_cloud.token("admin", kind="IdToken")
    assert "aud" in _claims(id_token) and "client_id" not in _claims(id_token)
    assert call(local_cloud, "GET", "/api/products", id_token).status_code == 200


def test_a_sales_token_gets_the_sales_rights_only(local_cloud, as_role):
    sales = as_role("sales")
    assert sales.get("/api/products").status_code == 200
    refused = sales.post("/api/products", json={"name": "No", "price": 1})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["title"] == "Forbidden"
    created = sales.post("/api/customers", json={**CUSTOMER, "email": f"s-{uuid.uuid4().hex}@example.com"})
    assert created.status_code == 201, created.text
    assert sales.delete(f"/api/customers/{created.json()['id']}").status_code == 403
    assert as_role("admin").delete(f"/api/customers/{created.json()['id']}").status_code == 204


def test_a_re_signed_unchanged_token_passes(local_cloud, admin_token):
    """The control for the forged tokens below: re-signing alone does not make a token fail."""
    assert call(local_cloud, "GET", "/api/products", _resign(admin_token)).status_code == 200


def test_cors_preflight_needs_no_token(local_cloud):
    r = call(
        local_cloud,
        "OPTIONS",
        "/api/products",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


# ------------------------------------------------------------------ bad tokens: each one 401
def test_a_tampered_signature_is_401(local_cloud, as_role):
    sales_token = as_role("sales").session.headers["Authorization"].split()[1]
    header, _, signature = sales_token.split(".")
    promoted = _b64(json.dumps({**_claims(sales_token), "cognito:groups": ["admin"]}).encode())
    before = _product_count(local_cloud)
    r = call(local_cloud, "POST", "/api/products", f"{header}.{promoted}.{signature}", json={"name": "X", "price": 1})
    assert_gateway_401(r)
    assert _product_count(local_cloud) == before
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    assert_gateway_401(call(local_cloud, "GET", "/api/products", f"{header}.{sales_token.split('.')[1]}.{flipped}"))


def test_alg_none_is_401(local_cloud, admin_token):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(admin_token)).encode())
    assert_gateway_401(call(local_cloud, "GET", "/api/products", f"{header}.{payload}."))


def test_an_hs256_token_signed_with_the_public_key_is_401(local_cloud, admin_token):
    import hashlib
    import hmac

    header = _b64(json.dumps({"alg": "HS256", "kid": "dummy"}).encode())
    payload = _b64(json.dumps(_claims(admin_token)).encode())
    signature = _b64(hmac.new(b"dummy", f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert_gateway_401(call(local_cloud, "GET", "/api/products", f"{header}.{payload}.{signature}"))


def test_a_token_of_another_app_client_is_401(local_cloud, admin_token):
    cognito = local_cloud.client("cognito-idp")
    dev = local_cloud.dev_users
    other = cognito.create_user_pool_client(
        UserPoolId=dev.pool_id,
        ClientName=f"other-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    result = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=other,
        AuthParameters={"USERNAME": dev.users["admin"], "PASSWORD": dev.password},
    )
    assert_gateway_401(call(local_cloud, "GET", "/api/products", result["AuthenticationResult"]["AccessToken"]))
    assert_gateway_401(call(local_cloud, "GET", "/api/products", result["AuthenticationResult"]["IdToken"]))
    assert_gateway_401(call(local_cloud, "GET", "/api/products", _resign(admin_token, client_id=other)))


def test_an_expired_token_is_401(local_cloud, admin_token):
    now = int(time.time())
    expired = _resign(admin_token, iat=now - 7200, auth_time=now - 7200, exp=now - 60)
    assert_gateway_401(call(local_cloud, "GET", "/api/products", expired))
    assert_gateway_401(call(local_cloud, "GET", "/api/products", _resign(admin_token, exp=None)))


def test_a_token_of_another_issuer_is_401(local_cloud, admin_token):
    cognito = local_cloud.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"elsewhere-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="elsewhere", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="eve", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="eve", Password="Elsewhere-Passw0rd!", Permanent=True)
    cognito.create_group(UserPoolId=pool, GroupName="admin")
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="eve", GroupName="admin")
    token = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client,
        AuthParameters={"USERNAME": "eve", "PASSWORD": "Elsewhere-Passw0rd!"},
    )["AuthenticationResult"]["AccessToken"]
    assert _claims(token)["iss"] != _claims(admin_token)["iss"]
    assert_gateway_401(call(local_cloud, "GET", "/api/products", token))
    # the same with only `iss` changed on a token of the right pool and client
    wrong_iss = _resign(admin_token, iss=_claims(admin_token)["iss"] + "x")
    assert_gateway_401(call(local_cloud, "GET", "/api/products", wrong_iss))


@pytest.mark.parametrize(
    "changes",
    [{"token_use": "refresh"}, {"token_use": None}, {"nbf": int(time.time()) + 3600}, {"iat": int(time.time()) + 3600}],
    ids=["token_use refresh", "no token_use", "nbf in the future", "iat in the future"],
)
def test_other_bad_claims_are_401(local_cloud, admin_token, changes):
    assert_gateway_401(call(local_cloud, "GET", "/api/products", _resign(admin_token, **changes)))


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "not.a.jwt", "a.b.c", "Bearer x.y"])
def test_a_malformed_authorization_header_is_401(local_cloud, value):
    assert_gateway_401(call(local_cloud, "GET", "/api/products", raw_authorization=value))


def _token_command(local_cloud, role):
    """`python -m localcloud.token --role ROLE` against the running local cloud's emulator."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "localcloud.token", "--role", role, "--aws-url", local_cloud.aws_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_token_command_prints_a_working_token_from_the_emulator(local_cloud):
    """Also when the pool has other app clients (test_a_token_of_another_app_client_is_401)."""
    dev = local_cloud.dev_users
    local_cloud.client("cognito-idp").create_user_pool_client(UserPoolId=dev.pool_id, ClientName="yet-another")

    printed = _token_command(local_cloud, "sales")
    assert printed.returncode == 0, printed.stderr
    out = printed.stdout.strip()
    assert _claims(out)["cognito:groups"] == ["sales"]
    assert call(local_cloud, "GET", "/api/customers", out).status_code == 200
    assert call(local_cloud, "DELETE", "/api/customers/999999", out).status_code == 403
    unknown = _token_command(local_cloud, "auditor")
    assert unknown.returncode != 0 and "auditor@example.com" in unknown.stderr + unknown.stdout
