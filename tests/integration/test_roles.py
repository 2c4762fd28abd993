"""Roles: every route of template.yaml x every kind of caller, from events carrying the JWT
authorizer's claims as a deployed HTTP API sends them (tests/support/apigw.py).

The expected matrix is restated here from issue 13, independently of `sales_common.auth`, so a
wrong entry there fails these tests:

| route                                   | admin | sales |
|-----------------------------------------|-------|-------|
| every GET                               |  yes  |  yes  |
| POST/PUT products, stock adjustments    |  yes  |  no   |
| POST/PUT customers                      |  yes  |  yes  |
| POST orders, PUT order status           |  yes  |  yes  |
| every DELETE                            |  yes  |  no   |
"""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_common import auth
from tests.support.apigw import build_event, functions, invoke, route

ADMIN_AND_SALES = {"admin", "sales"}


def expected_roles(method: str, path: str) -> set[str]:
    if method == "GET":
        return ADMIN_AND_SALES
    if method == "DELETE":
        return {"admin"}
    if path.startswith("/api/products"):  # POST/PUT products, stock adjustments
        return {"admin"}
    return ADMIN_AND_SALES  # POST/PUT customers, POST orders, PUT order status


def _body(method: str, path: str) -> dict | None:
    """A request each route accepts after `_prepare` (so an allowed caller gets a 2xx)."""
    bodies = {
        ("POST", "/api/products"): {"name": "Matrix", "price": 1.5, "stock": 3},
        ("PUT", "/api/products/{id}"): {"price": 3},
        ("POST", "/api/customers"): {"name": "Matrix", "email": f"m-{uuid.uuid4().hex}@example.com"},
        ("PUT", "/api/customers/{id}"): {"name": "Renamed"},
        ("POST", "/api/orders"): {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]},
        ("PUT", "/api/orders/{id}"): {"status": "CANCELLED"},
        ("POST", "/api/products/{id}/stock-adjustments"): {"delta": 2, "reason": "recount"},
    }
    return bodies.get((method, path))


def _path(template_route: str) -> str:
    return template_route.replace("{id}", "1")


@pytest.fixture
def world(api):
    """Product 1, customer 1 and order 1 (CONFIRMED), created by an admin."""
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201
    return api


def _prepare(api, fn) -> None:
    """What `fn`'s request needs to succeed: as `world`, but only the entities its route uses."""
    service, has_id = fn.route.split("/")[2], "{id}" in fn.route
    if (service == "products" and has_id) or service == "orders":
        assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    if (service == "customers" and has_id) or service == "orders":
        assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    if service == "orders" and has_id:
        assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201


def _snapshot(cloud) -> dict[str, list]:
    return {t: sorted(json.dumps(i, sort_keys=True, default=str) for i in cloud.scan(t)) for t in cloud.tables}


def _call(cloud, fn, role):
    path = _path(fn.route)
    _, params = route(fn.method, path)
    event = build_event(fn, path, params, _body(fn.method, fn.route), role=role)
    return invoke(fn, event, cloud.state_machines)


ROUTES = [pytest.param(fn, id=f"{fn.method} {fn.route}") for fn in functions()]


def test_the_declared_permissions_are_the_issue_matrix_for_every_template_route():
    for fn in functions():
        key = f"{fn.method} {fn.route}"
        assert key in auth.PERMISSIONS, f"{key} is routed by template.yaml but has no permission"
        assert set(auth.PERMISSIONS[key]) == expected_roles(fn.method, fn.route), key
    for key, roles in auth.PERMISSIONS.items():
        method, path = key.split(" ", 1)
        assert set(roles) == expected_roles(method, path), key


@pytest.mark.parametrize("fn", ROUTES)
@pytest.mark.parametrize("role", ["admin", "sales"])
def test_a_role_the_route_allows_gets_through_and_one_it_does_not_gets_403(api, cloud, fn, role):
    _prepare(api, fn)
    allowed = set(role.split()) & expected_roles(fn.method, fn.route)
    before = _snapshot(cloud)

    reply = _call(cloud, fn, role)

    if allowed and _body(fn.method, fn.route) is None and fn.method in ("POST", "PUT"):
        assert reply["statusCode"] not in (401, 403), reply  # a route this test has no body for
    elif allowed:
        assert 200 <= reply["statusCode"] < 300, reply
    else:
        assert reply["statusCode"] == 403, reply
        assert reply["headers"]["Content-Type"] == "application/problem+json"
        problem = json.loads(reply["body"])
        assert (problem["status"], problem["title"]) == (403, "Forbidden")
        assert "admin" in problem["detail"]
        assert _snapshot(cloud) == before, "a refused request changed nothing"


@pytest.mark.parametrize("fn", ROUTES)
@pytest.mark.parametrize("role", ["", "auditor", "Admin"])
def test_a_user_in_no_allowed_group_gets_403_everywhere(cloud, fn, role):
    before = _snapshot(cloud)
    reply = _call(cloud, fn, role)
    assert reply["statusCode"] == 403, reply
    assert json.loads(reply["body"])["status"] == 403
    assert _snapshot(cloud) == before


@pytest.mark.parametrize("fn", ROUTES)
def test_no_claims_is_401_problem_everywhere(cloud, fn):
    """Fail closed: a function reached without the authorizer's claims refuses."""
    reply = _call(cloud, fn, None)
    assert reply["statusCode"] == 401, reply
    assert reply["headers"]["Content-Type"] == "application/problem+json"
    assert reply["headers"]["WWW-Authenticate"] == "Bearer"
    assert json.loads(reply["body"])["title"] == "Unauthorized"
    assert all(i["pk"].startswith("COUNTER#") for t in cloud.tables for i in cloud.scan(t))


@pytest.mark.parametrize(
    "authorizer",
    [
        {},
        {"jwt": {}},
        {"jwt": {"claims": {}}},
        {"jwt": {"claims": {"cognito:groups": "[admin]"}}},  # no username
        {"jwt": {"claims": {"cognito:groups": "[admin]", "username": "  "}}},
        {"lambda": {"username": "x", "cognito:groups": "[admin]"}},  # not a JWT authorizer's context
        "admin",
    ],
)
def test_claims_without_a_user_are_401(cloud, authorizer):
    fn, params = route("DELETE", "/api/products/1")
    event = build_event(fn, "/api/products/1", params)
    event["requestContext"]["authorizer"] = authorizer
    assert invoke(fn, event)["statusCode"] == 401


def test_an_id_token_names_the_user_in_cognito_username(api, cloud):
    fn, params = route("POST", "/api/products")
    event = build_event(fn, "/api/products", params, {"name": "Id", "price": 1})
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims["cognito:username"] = claims.pop("username")
    claims.update(token_use="id", aud=claims.pop("client_id"))
    reply = invoke(fn, event)
    assert reply["statusCode"] == 201
    assert json.loads(reply["body"])["createdBy"] == claims["cognito:username"]


def test_a_route_key_without_a_declared_permission_is_403(world):
    fn, params = route("GET", "/api/products")
    event = build_event(fn, "/api/products", params)
    event["requestContext"]["routeKey"] = "$default"
    assert invoke(fn, event)["statusCode"] == 403
    event["requestContext"].pop("routeKey")
    assert invoke(fn, event)["statusCode"] == 403


def test_a_user_in_several_groups_has_the_union_of_their_rights(world):
    assert world.delete("/api/orders/1", role="sales auditor").status == 403
    assert world.delete("/api/orders/1", role="sales admin").status == 204


def test_groups_as_a_json_list_also_work(world):
    """The local cloud and API Gateway send "[admin]"; a JSON list is accepted too."""
    fn, params = route("DELETE", "/api/products/1")
    for groups, status in ((["sales"], 403), (["admin"], 204)):
        event = build_event(fn, "/api/products/1", params)
        event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = groups
        assert invoke(fn, event)["statusCode"] == status


def test_the_role_is_checked_before_the_body(world):
    # A sales user learns nothing about the product schema; an anonymous caller not even the size limit.
    assert world.post("/api/products", {"bogus": 1}, role="sales").status == 403
    assert world.post("/api/products", raw_body="x" * 20_000, role=None).status == 401
    assert world.post("/api/products", raw_body="{", headers={"content-type": "text/plain"}, role="sales").status == 403


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("[admin sales]", {"admin", "sales"}),
        ("[admin]", {"admin"}),
        ("[]", set()),
        ('["admin", "sales"]', {"admin", "sales"}),
        ("[admin,sales]", {"admin", "sales"}),
        (["sales"], {"sales"}),
        ("sales", {"sales"}),
        ("", set()),
        ("  ", set()),
        (None, set()),
        (7, set()),
        ({"admin": True}, set()),
        ('[{"a": 1}]', set()),
    ],
)
def test_parse_groups(value, groups):
    assert auth.parse_groups(value) == groups


def test_sample_events_carry_claims_as_a_deployed_http_api_sends_them():
    for fn in functions():
        event = json.loads(fn.event_file.read_text())
        jwt = event["requestContext"]["authorizer"]["jwt"]
        assert all(isinstance(v, str) for v in jwt["claims"].values()), fn.event_file
        assert jwt["claims"]["cognito:groups"] == "[admin]"
        assert jwt["claims"]["token_use"] == "access"
        assert event["headers"]["authorization"].startswith("Bearer ")


_claim_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=4),
    st.sampled_from(["[admin]", "[sales]", "[admin sales]", '["admin"]', "admin", "[ admin ]", "[admin", "ADMIN"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    claims=st.dictionaries(
        st.sampled_from(["username", "cognito:username", "cognito:groups", "sub", "token_use", "x"]), _claim_values
    ),
    route_key=st.sampled_from([*auth.PERMISSIONS, "$default", "GET /api/other", "", None]),
)
def test_hostile_claims_are_either_refused_or_grant_exactly_the_declared_roles(claims, route_key):
    event = {"requestContext": {"routeKey": route_key, "authorizer": {"jwt": {"claims": claims}}}}
    try:
        who = auth.authorize(event)
    except (auth.Unauthenticated, auth.Forbidden):
        return
    assert isinstance(who.username, str) and who.username.strip()
    assert who.groups & auth.PERMISSIONS[route_key]
    raw = claims.get("cognito:groups")
    assert any(role in (raw if isinstance(raw, list) else str(raw)) for role in who.groups & auth.ROLES)
