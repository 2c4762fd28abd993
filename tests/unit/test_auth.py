"""`sales_common.auth` alone, on the claims API Gateway's JWT authorizer passes (every claim a
string, `cognito:groups` as "[a b]"). The expected rights are restated here (as in
tests/integration/test_roles.py, which proves them through every function): a wrong entry in
PERMISSIONS or OTHERS_RECORDS, or a check loosened by one branch, fails these tests in
milliseconds."""

from __future__ import annotations

from typing import Any

import pytest

from sales_common import auth
from sales_common.auth import Forbidden, Unauthenticated

ROUTES = [
    "GET /api/products",
    "GET /api/products/{id}",
    "POST /api/products",
    "PUT /api/products/{id}",
    "DELETE /api/products/{id}",
    "POST /api/products/{id}/stock-adjustments",
    "GET /api/products/{id}/stock-adjustments",
    "GET /api/customers",
    "GET /api/customers/{id}",
    "POST /api/customers",
    "PUT /api/customers/{id}",
    "DELETE /api/customers/{id}",
    "POST /api/customers/{id}/erasure",
    "GET /api/orders",
    "GET /api/orders/{id}",
    "POST /api/orders",
    "PUT /api/orders/{id}",
    "DELETE /api/orders/{id}",
    "GET /api/reports/sales",
    "GET /api/reports/low-stock",
    "GET /api/me",
]


def may(route: str, role: str) -> bool:
    """Issues 13, 20, 22 and 24: GETs (reports and stock history included) for both roles; products' writes,
    every DELETE and a customer's erasure for admins; the rest (customers' POST/PUT, placing orders, order
    status) for both."""
    method, path = route.split(" ", 1)
    if method == "GET" or role == "admin":
        return True
    return method != "DELETE" and not path.startswith("/api/products") and not path.endswith("/erasure")


def may_on_others(route: str, role: str) -> bool:
    """A sales user changes only the orders they placed; everything else has no owner."""
    return may(route, role) and (role == "admin" or route not in {"PUT /api/orders/{id}", "DELETE /api/orders/{id}"})


def event(route: str | None = "GET /api/orders", **claims: Any) -> dict[str, Any]:
    base = {"sub": "0b5e-sub", "username": "alice", "token_use": "access", "cognito:groups": "[admin]"}
    base.update(claims)
    context: dict[str, Any] = {"authorizer": {"jwt": {"claims": {k: v for k, v in base.items() if v is not None}}}}
    if route is not None:
        context["routeKey"] = route
    return {"requestContext": context}


def test_the_routes_are_the_templates():
    assert set(auth.PERMISSIONS) == set(ROUTES)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["admin", "sales"])
def test_each_role_may_call_exactly_its_routes(route, role):
    request = event(route, **{"cognito:groups": f"[{role}]"})
    if may(route, role):
        who = auth.authorize(request)
        assert (who.sub, who.username, who.groups) == ("0b5e-sub", "alice", frozenset({role}))
        assert who.others_records is may_on_others(route, role)
    else:
        with pytest.raises(Forbidden, match=f"This needs the admin role; your groups: {role}."):
            auth.authorize(request)
    assert auth.allowed(route, role, auth.OWN) is may(route, role)
    assert auth.allowed(route, role, auth.OTHERS) is may_on_others(route, role)


@pytest.mark.parametrize("route", ROUTES)
def test_no_known_group_grants_nothing(route):
    for groups in ("[]", "[integration]", "[viewer]", "[Admin]", "[admin,sales]", "[[admin]]"):
        with pytest.raises(Forbidden):
            auth.authorize(event(route, **{"cognito:groups": groups}))
    with pytest.raises(Forbidden):
        auth.authorize(event(route, **{"cognito:groups": None}))


def test_two_groups_grant_the_union():
    who = auth.authorize(event("DELETE /api/orders/{id}", **{"cognito:groups": "[sales admin]"}))
    assert who.groups == {"sales", "admin"} and who.others_records
    who = auth.authorize(event("PUT /api/orders/{id}", **{"cognito:groups": "[sales integration]"}))
    assert who.groups == {"sales", "integration"} and not who.others_records


def test_the_refusal_names_unknown_groups_and_what_is_needed():
    with pytest.raises(Forbidden) as refused:
        auth.authorize(event("GET /api/orders", **{"cognito:groups": "[zeta viewer]"}))
    assert refused.value.args[0] == (
        "This needs the admin or sales role; your groups: viewer, zeta (unknown groups grant nothing: viewer, zeta). Sign in as a user with that role."
    )
    with pytest.raises(Forbidden) as refused:
        auth.authorize(event("POST /api/products", **{"cognito:groups": "[]"}))
    assert refused.value.args[0] == "This needs the admin role; your groups: none. Sign in as a user with that role."
    with pytest.raises(Forbidden) as refused:
        auth.authorize(event("POST /api/products", **{"cognito:groups": "[integration sales]"}))
    assert "unknown" not in refused.value.args[0]  # integration is a known group (it grants no route)


@pytest.mark.parametrize("route", [None, "GET /api/other", "PATCH /api/orders/{id}", "$default"])
def test_a_route_nobody_is_granted_is_403_even_for_admins(route):
    with pytest.raises(Forbidden, match="No role may call"):
        auth.authorize(event(route))


@pytest.mark.parametrize(
    "claims",
    [
        {"token_use": "id"},
        {"token_use": None},
        {"token_use": "Access"},
        {"sub": None},
        {"sub": ""},
        {"sub": " x"},
        {"sub": "x\n"},
        {"username": None},
        {"username": ""},
        {"username": "alice "},
        {"username": 7},
        {"cognito:groups": "admin"},
        {"cognito:groups": "[admin"},
        {"cognito:groups": "admin]"},
        {"cognito:groups": "["},
        {"cognito:groups": "[admin  sales]"},
        {"cognito:groups": "[ admin]"},
        {"cognito:groups": "[admin ]"},
        {"cognito:groups": ["admin"]},
    ],
)
def test_claims_that_are_not_a_users_access_token_are_401(claims):
    with pytest.raises(Unauthenticated):
        auth.authorize(event(**claims))


@pytest.mark.parametrize(
    "request_event",
    [
        {},
        {"requestContext": None},
        {"requestContext": {}},
        {"requestContext": {"authorizer": "x"}},
        {"requestContext": {"authorizer": {"jwt": []}}},
        {"requestContext": {"authorizer": {"jwt": {"claims": "sub=x"}}}},
        {"requestContext": {"authorizer": {"jwt": {"claims": {}}}}},
    ],
)
def test_no_claims_is_401(request_event):
    with pytest.raises(Unauthenticated, match="Sign in"):
        auth.caller(request_event)
    assert auth.claims_of(request_event) is None


def test_groups_are_exactly_the_bracketed_names():
    assert auth.parse_groups(None) == frozenset()
    assert auth.parse_groups("[]") == frozenset()
    assert auth.parse_groups("[admin]") == {"admin"}
    assert auth.parse_groups("[admin sales]") == {"admin", "sales"}
    assert auth.parse_groups("[viewer,admin]") == {"viewer,admin"}
    assert auth.parse_groups("[[admin]]") == {"[admin]"}
    for bad in ("", "[", "]", "admin", "[a  b]", "[ a]", 5, ["admin"]):
        with pytest.raises(ValueError):
            auth.parse_groups(bad)


def test_a_role_limited_to_its_records_acts_only_on_its_own():
    sales = auth.authorize(event("PUT /api/orders/{id}", **{"cognito:groups": "[sales]"}))
    auth.require_owner(sales, "alice", "order 1")
    for owner in ("bob", None, "Alice", ""):
        with pytest.raises(Forbidden, match="order 1 was created by someone else"):
            auth.require_owner(sales, owner, "order 1")
    admin = auth.authorize(event("PUT /api/orders/{id}"))
    for owner in ("bob", None, "alice"):
        auth.require_owner(admin, owner, "order 1")
    reader = auth.authorize(event("GET /api/orders/{id}", **{"cognito:groups": "[sales]"}))
    auth.require_owner(reader, "bob", "order 1")


def test_the_matrix_shows_each_right():
    lines = auth.matrix().splitlines()
    assert lines[:2] == ["| route | admin | sales |", "|---|---|---|"]
    rows = {line.split("`")[1]: [c.strip() for c in line.split("|")[2:4]] for line in lines[2:]}
    assert list(rows) == ROUTES
    for route, (admin, sales) in rows.items():
        assert admin == "✔"
        assert sales == ("✔" if may_on_others(route, "sales") else "own records only" if may(route, "sales") else "✘")


def test_log_keys_name_the_caller_even_when_refused():
    assert auth.log_keys(event(**{"cognito:groups": "[sales admin]"})) == {
        "caller_sub": "0b5e-sub",
        "caller_groups": ["admin", "sales"],
    }
    assert auth.log_keys(event(**{"cognito:groups": "admin", "sub": 5})) == {
        "caller_sub": None,
        "caller_groups": "admin",
    }
    assert auth.log_keys({}) == {"caller_sub": None, "caller_groups": []}


@pytest.mark.parametrize("route", ["GET /api/other", "PATCH /api/orders/{id}", ""])
def test_no_role_is_allowed_a_route_the_table_does_not_name(route):
    for role in ("admin", "sales"):
        assert not auth.allowed(route, role, auth.OWN)
        assert not auth.allowed(route, role, auth.OTHERS)


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"token_use": "id"}, "Send an access token; an ID token or any other token is not an API credential."),
        (
            {"sub": None},
            "The token names no user (it needs `sub` and `username`): sign in again and send its access token.",
        ),
        (
            {"username": ""},
            "The token names no user (it needs `sub` and `username`): sign in again and send its access token.",
        ),
        ({"cognito:groups": "admin"}, "The token's cognito:groups claim is not in the form API Gateway delivers."),
    ],
)
def test_each_refused_token_is_told_what_is_wrong_with_it(claims, detail):
    with pytest.raises(Unauthenticated) as refused:
        auth.authorize(event(**claims))
    assert refused.value.args[0] == detail


def test_a_request_without_claims_is_told_how_to_sign_in():
    with pytest.raises(Unauthenticated) as refused:
        auth.authorize({"requestContext": {"routeKey": "GET /api/orders"}})
    assert refused.value.args[0] == "Sign in and send the access token as `Authorization: Bearer <token>`."
