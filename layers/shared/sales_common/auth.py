"""Who may call which route: the one place the API's roles are declared and enforced.

The HTTP API's JWT authorizer (template.yaml, `CognitoJwt`) verifies the Cognito token before a
function runs and passes its claims in `requestContext.authorizer.jwt.claims`. Every function
then checks, before any parsing, that the caller's `cognito:groups` include a role that
`PERMISSIONS` grants for the route API Gateway matched (`requestContext.routeKey`):

* no claims, or claims without a username: 401 (a deployed stack never gets here without a
  token; a function invoked without the authorizer refuses everything);
* a route missing from `PERMISSIONS`, or no granted role among the caller's groups: 403.

API Gateway passes every claim as a string; a list claim such as `cognito:groups` arrives as
`"[admin sales]"`. Both that form and a JSON list are understood.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sales_common.errors import DomainError

ADMIN = "admin"
SALES = "sales"
ROLES = frozenset({ADMIN, SALES})
_ANYONE = frozenset({ADMIN, SALES})
_ADMINS = frozenset({ADMIN})

# routeKey ("METHOD /path/{param}", as in template.yaml) -> the groups allowed to call it.
PERMISSIONS: Mapping[str, frozenset[str]] = {
    "GET /api/products": _ANYONE,
    "GET /api/products/{id}": _ANYONE,
    "POST /api/products": _ADMINS,
    "PUT /api/products/{id}": _ADMINS,
    "DELETE /api/products/{id}": _ADMINS,
    "POST /api/products/{id}/stock-adjustments": _ADMINS,
    "GET /api/customers": _ANYONE,
    "GET /api/customers/{id}": _ANYONE,
    "POST /api/customers": _ANYONE,
    "PUT /api/customers/{id}": _ANYONE,
    "DELETE /api/customers/{id}": _ADMINS,
    "GET /api/orders": _ANYONE,
    "GET /api/orders/{id}": _ANYONE,
    "POST /api/orders": _ANYONE,
    "PUT /api/orders/{id}": _ANYONE,
    "DELETE /api/orders/{id}": _ADMINS,
}

GROUPS_CLAIM = "cognito:groups"
# Access tokens name the user in `username`, ID tokens in `cognito:username`.
USERNAME_CLAIMS = ("username", "cognito:username")


class Unauthenticated(DomainError):
    status, title = 401, "Unauthorized"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


@dataclass(frozen=True)
class Caller:
    username: str
    groups: frozenset[str]


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as API Gateway sends it ("[admin sales]"), as a JSON list text
    ('["admin"]'), as a list, or a single group name. Anything else is no group at all."""
    if isinstance(value, list | tuple):
        return frozenset(g for g in value if isinstance(g, str) and g)
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text[1:-1].replace(",", " ").split()
        return parse_groups(parsed) if isinstance(parsed, list) else frozenset()
    return frozenset({text}) if text else frozenset()


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JWT authorizer's claims in an HTTP API (payload 2.0) event, None when there are none."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) and claims else None


def caller(event: Mapping[str, Any]) -> Caller:
    """The authenticated caller of `event`; 401 when the event carries no usable identity."""
    claims = claims_of(event)
    if claims is None:
        raise Unauthenticated("Sign in and send the access token as `Authorization: Bearer <token>`.")
    username = next((v for k in USERNAME_CLAIMS if isinstance(v := claims.get(k), str) and v.strip()), None)
    if username is None:
        raise Unauthenticated("The token names no user.")
    return Caller(username=username.strip(), groups=parse_groups(claims.get(GROUPS_CLAIM)))


def authorize(event: Mapping[str, Any]) -> Caller:
    """The caller, if one of their groups may call the event's route; else 401 or 403."""
    who = caller(event)
    context = event.get("requestContext")
    route_key = context.get("routeKey") if isinstance(context, Mapping) else None
    allowed = PERMISSIONS.get(route_key) if isinstance(route_key, str) else None
    if allowed is None:
        raise Forbidden(f"No role may call {route_key!r}.")
    if not who.groups & allowed:
        needed = " or ".join(sorted(allowed))
        raise Forbidden(f"This needs the {needed} role; you have {', '.join(sorted(who.groups)) or 'none'}.")
    return who
