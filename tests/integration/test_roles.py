"""Roles and ownership: every route of template.yaml x every kind of caller x own or someone
else's record, from events carrying the JWT authorizer's claims as a deployed HTTP API sends them
(tests/support/apigw.py).

The expected matrix is restated here from issues 13 and 20, independently of `sales_common.auth`,
so a wrong entry there fails these tests:

| route                                   | admin | sales            |
|-----------------------------------------|-------|------------------|
| every GET                               |  yes  |  yes             |
| POST/PUT products, stock adjustments    |  yes  |  no              |
| POST/PUT customers                      |  yes  |  yes             |
| POST orders                             |  yes  |  yes             |
| PUT order status                        |  yes  |  own orders only |
| every DELETE                            |  yes  |  no              |
| POST customer erasure (issue 24)        |  yes  |  no              |
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
    """The roles that may call the route (on their own records, where records have owners)."""
    if method == "GET":
        return ADMIN_AND_SALES
    if method == "DELETE" or path.endswith("/erasure"):
        return {"admin"}
    if path.startswith("/api/products"):  # POST/PUT products, stock adjustments
        return {"admin"}
    return ADMIN_AND_SALES  # POST/PUT customers, POST orders, PUT order status


# Routes on a record with an owner (an order's createdBy): the roles that may act on orders
# other users placed. Everywhere else own and others' are the same.
OTHERS_ORDERS = {
    ("GET", "/api/orders/{id}"): ADMIN_AND_SALES,
    ("PUT", "/api/orders/{id}"): {"admin"},
    ("DELETE", "/api/orders/{id}"): {"admin"},
}


def expected(method: str, path: str, role: str, whose: str) -> bool:
    if role not in expected_roles(method, path):
        return False
    return whose == "own" or role in OTHERS_ORDERS.get((method, path), {role})


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


def test_the_declared_matrix_is_the_issue_matrix_cell_by_cell():
    for key in auth.PERMISSIONS:
        method, path = key.split(" ", 1)
        for role in sorted(auth.ROLES):
            for whose in (auth.OWN, auth.OTHERS):
                assert auth.allowed(key, role, whose) == expected(method, path, role, whose), (key, role, whose)
    assert {tuple(k.split(" ", 1)) for k in auth.OTHERS_RECORDS} == set(OTHERS_ORDERS)


def test_the_rendered_matrix_names_every_route_once():
    table = auth.matrix().splitlines()
    assert len(table) == 2 + len(auth.PERMISSIONS)
    assert "| `PUT /api/orders/{id}` | ✔ | own records only |" in table
    assert "| `DELETE /api/orders/{id}` | ✔ | ✘ |" in table
    assert "| `GET /api/orders/{id}` | ✔ | ✔ |" in table


@pytest.mark.parametrize("fn", ROUTES)
@pytest.mark.parametrize("role", ["admin", "sales"])
def test_a_role_the_route_allows_gets_through_and_one_it_does_not_gets_403(api, cloud, fn, role):
    """On records an admin created (`_prepare`): for sales, someone else's."""
    _prepare(api, fn)
    allowed = expected(fn.method, fn.route, role, "others")
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
        assert "admin" in problem["detail"] or "created by someone else" in problem["detail"]
        assert _snapshot(cloud) == before, "a refused request changed nothing"


# ---------------------------------------------------------------- ownership: every cell
OWNED = [pytest.param(method, path, id=f"{method} {path}") for method, path in OTHERS_ORDERS]
BODIES = {"GET": None, "PUT": {"status": "CANCELLED"}, "DELETE": None}


@pytest.mark.slow  # a sweep: the slow tier (the fast one keeps the route x role matrix)
@pytest.mark.parametrize(("method", "path"), OWNED)
@pytest.mark.parametrize("role", ["admin", "sales"])
@pytest.mark.parametrize("whose", ["own", "others"])
def test_ownership_every_cell(api, cloud, method, path, role, whose):
    """A `sales` user and an `admin` on an order they placed themselves and on one the other placed."""
    me, other = f"{role}-user", ("admin-user" if role == "sales" else "sales-user")
    owner, owner_role = (me, role) if whose == "own" else (other, "admin" if role == "sales" else "sales")
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "o@example.com"}).status == 201
    placed = api.post(
        "/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}, role=owner_role, user=owner
    )
    assert placed.status == 201 and placed.json["createdBy"] == owner
    before = _snapshot(cloud)

    reply = api.request(method, "/api/orders/1", BODIES[method], role=role, user=me)

    if expected(method, path, role, whose):
        assert 200 <= reply.status < 300, reply
        if method == "PUT":
            assert reply.json["status"] == "CANCELLED" and reply.json["updatedBy"] == me
            assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 5  # the cancel restocked
    else:
        assert reply.status == 403, reply
        assert reply.header("Content-Type") == "application/problem+json"
        assert reply.json["title"] == "Forbidden"
        assert _snapshot(cloud) == before, "a refused request changed nothing"


def test_an_order_without_a_recorded_creator_is_nobodys_own(api, cloud):
    """Fail closed: an order stored before createdBy existed can be changed by admins only."""
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "o@example.com"}).status == 201
    assert (
        api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}, role="sales").status
        == 201
    )
    cloud.dynamodb.update_item(
        TableName=cloud.tables["OrdersTable"], Key={"pk": {"S": "ORDER#1"}}, UpdateExpression="REMOVE createdBy"
    )
    assert api.put("/api/orders/1", {"status": "SHIPPED"}, role="sales").status == 403
    assert api.put("/api/orders/1", {"status": "SHIPPED"}, role="admin").status == 200


def test_ownership_is_checked_before_the_status_rules(api):
    """A sales user learns nothing about someone else's order from the refusal (no 409 vs 200)."""
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "o@example.com"}).status == 201
    assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201
    assert api.put("/api/orders/1", {"status": "DELIVERED"}).status == 409  # admin: an illegal transition
    assert api.put("/api/orders/1", {"status": "DELIVERED"}, role="sales").status == 403
    assert api.put("/api/orders/1", {"status": "SHIPPED"}, role="sales", headers={"If-Match": '"9"'}).status == 403


@pytest.mark.slow  # a sweep: the slow tier (the fast one keeps the route x role matrix)
@pytest.mark.parametrize("fn", ROUTES)
@pytest.mark.parametrize("role", ["", "auditor", "Admin"])
def test_a_user_in_no_allowed_group_gets_403_everywhere(cloud, fn, role):
    before = _snapshot(cloud)
    reply = _call(cloud, fn, role)
    assert reply["statusCode"] == 403, reply
    assert json.loads(reply["body"])["status"] == 403
    assert _snapshot(cloud) == before


@pytest.mark.slow  # a sweep: the slow tier (the fast one keeps the route x role matrix)
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
        {"jwt": {"claims": {"cognito:groups": "[admin]", "token_use": "access", "sub": "u"}}},  # no username
        {"jwt": {"claims": {"cognito:groups": "[admin]", "token_use": "access", "username": "u"}}},  # no sub
        {"jwt": {"claims": {"cognito:groups": "[admin]", "token_use": "access", "username": "  ", "sub": "u"}}},
        {"jwt": {"claims": {"cognito:groups": "[admin]", "username": "u", "sub": "u"}}},  # no token_use
        {"lambda": {"username": "x", "cognito:groups": "[admin]"}},  # not a JWT authorizer's context
        "admin",
    ],
)
def test_claims_without_a_user_are_401(cloud, authorizer):
    fn, params = route("DELETE", "/api/products/1")
    event = build_event(fn, "/api/products/1", params)
    event["requestContext"]["authorizer"] = authorizer
    assert invoke(fn, event)["statusCode"] == 401


@pytest.mark.parametrize("token_use", ["id", "refresh", "ACCESS", "access ", ""])
def test_only_an_access_token_is_a_credential(cloud, token_use):
    """API Gateway's JWT authorizer accepts an ID token (its `aud` is the client id): the functions
    refuse it, and any other token_use, with 401 before anything else happens."""
    fn, params = route("POST", "/api/products")
    event = build_event(fn, "/api/products", params, {"name": "Id", "price": 1})
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims["token_use"] = token_use
    if token_use == "id":  # an ID token's shape: aud instead of client_id, cognito:username
        claims.update({"aud": claims.pop("client_id"), "cognito:username": claims.pop("username")})
    reply = invoke(fn, event)
    assert reply["statusCode"] == 401, reply
    assert "access token" in json.loads(reply["body"])["detail"]
    assert cloud.scan("ProductsTable") == []


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


@pytest.mark.parametrize(
    ("groups", "status"),
    [
        ("[admin]", 204),
        ("[sales admin]", 204),
        ("[viewer admin]", 204),
        ("[viewer,admin]", 403),  # one group named "viewer,admin": not admin
        ("[admin,sales]", 403),
        ("[[admin]]", 403),  # a group named "[admin]"
        ("[admin]]", 403),  # a group named "admin]"
        ("[[admin sales]]", 403),  # groups "[admin" and "sales]"
        ('["admin"]', 403),  # a group named '"admin"', not a JSON list
        ("[admins]", 403),
        ("[xadmin]", 403),
        ("[Admin]", 403),
        ("[ädmin]", 403),
        ("[sales]", 403),
        ("[]", 403),
        (None, 403),  # no groups claim: a user in no group
    ],
)
def test_group_names_are_compared_whole(world, groups, status):
    """`cognito:groups` as API Gateway delivers it: names joined by single spaces in brackets
    (Cognito group names cannot contain white space). Commas, brackets, quotes and other groups'
    names inside a name make another group, never admin."""
    assert world.post("/api/products", {"name": "Never ordered", "price": 1}).status == 201  # deletable
    fn, params = route("DELETE", "/api/products/2")
    event = build_event(fn, "/api/products/2", params)
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims.pop("cognito:groups", None)
    if groups is not None:
        claims["cognito:groups"] = groups
    reply = invoke(fn, event)
    assert reply["statusCode"] == status, reply
    if status == 403:
        assert world.get("/api/products/2").status == 200  # still there


@pytest.mark.parametrize(
    "groups", ["admin", "[admin", "admin]", "[ admin]", "[admin ]", "[admin  sales]", "", ["admin"], 7]
)
def test_a_groups_claim_not_in_the_gateways_form_is_401(world, groups):
    """Fail closed: API Gateway never sends these; a function that gets one refuses the caller."""
    fn, params = route("GET", "/api/products")
    event = build_event(fn, "/api/products", params)
    event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = groups
    reply = invoke(fn, event)
    assert reply["statusCode"] == 401, reply
    assert "cognito:groups" in json.loads(reply["body"])["detail"]


def test_an_unknown_group_is_named_in_the_refusal(world):
    reply = world.delete("/api/products/1", role="auditor")
    assert reply.status == 403
    assert "unknown groups grant nothing: auditor" in reply.json["detail"]


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
        (None, set()),
        ("[viewer,admin]", {"viewer,admin"}),
        ("[[admin]]", {"[admin]"}),
        ('["admin", "sales"]', {'"admin",', '"sales"'}),
        ("[a]b c[d]", {"a]b", "c[d"}),
    ],
)
def test_parse_groups(value, groups):
    assert auth.parse_groups(value) == groups


@pytest.mark.parametrize(
    "value", ["", "  ", "admin", "[admin", "admin]", "[ admin]", "[a  b]", "[a ]", 7, ["admin"], {}]
)
def test_parse_groups_refuses_what_the_gateway_never_sends(value):
    with pytest.raises(ValueError):
        auth.parse_groups(value)


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
    st.sampled_from(
        ["[admin]", "[sales]", "[admin sales]", '["admin"]', "admin", "[ admin ]", "[admin", "ADMIN", "[viewer,admin]"]
    ),
    st.sampled_from(["access", "id", "refresh"]),
)


@pytest.mark.slow  # a sweep: the slow tier (the fast one keeps the route x role matrix)
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
    assert claims["token_use"] == "access"
    assert who.username == claims["username"] and who.sub == claims["sub"]
    assert who.groups & auth.PERMISSIONS[route_key]
    raw = claims["cognito:groups"]
    assert isinstance(raw, str) and raw.startswith("[") and raw.endswith("]")
    assert who.groups <= set(raw[1:-1].split(" "))
