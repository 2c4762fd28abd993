"""Who may call which route, on whose records: the one place the API's roles are declared and
enforced.

The HTTP API's JWT authorizer (template.yaml, `CognitoJwt`) verifies the Cognito token before a
function runs and passes its claims in `requestContext.authorizer.jwt.claims`. Every function
then checks, before any parsing, that the token is an access token of a known user and that the
caller's `cognito:groups` include a role that `PERMISSIONS` grants for the route API Gateway
matched (`requestContext.routeKey`):

* no claims, claims that are not an access token's (`token_use` other than `access`: an ID token
  is the client app's, not an API credential; API Gateway's JWT authorizer accepts both), no
  `sub` or `username`, or a `cognito:groups` claim not in the form API Gateway delivers: 401;
* a route missing from `PERMISSIONS`, or no granted role among the caller's groups: 403.

Routes on one record that has an owner (the user who created it, its `createdBy`) are also in
`OTHERS_RECORDS`: there, a role not listed may act only on the records its user created (the
handler checks with `require_owner` once it has read the record). `matrix()` derives the whole
role x route x own/other table from these two mappings; docs/security.md shows it and a test
keeps the two equal.

API Gateway passes every claim as a string; a list claim such as `cognito:groups` arrives as
`"[admin sales]"`: the names joined by single spaces in brackets. Cognito group names cannot
contain white space (their pattern is `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+`), so that form is exact:
a group named `viewer,admin` or `[admin]` is that one group, never `admin`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sales_common.errors import DomainError

ADMIN = "admin"
SALES = "sales"
ROLES = frozenset({ADMIN, SALES})
# Not a role (it grants no route): members place orders under their own, higher per-user limit
# (orders/quota.py). A storefront or integration account is in `sales` (its rights) and `integration`.
INTEGRATION = "integration"
KNOWN_GROUPS = ROLES | {INTEGRATION}
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
    "GET /api/products/{id}/stock-adjustments": _ANYONE,
    "GET /api/customers": _ANYONE,
    "GET /api/customers/{id}": _ANYONE,
    "POST /api/customers": _ANYONE,
    "PUT /api/customers/{id}": _ANYONE,
    "DELETE /api/customers/{id}": _ADMINS,
    "POST /api/customers/{id}/erasure": _ADMINS,
    "GET /api/orders": _ANYONE,
    "GET /api/orders/{id}": _ANYONE,
    "POST /api/orders": _ANYONE,
    "PUT /api/orders/{id}": _ANYONE,
    "DELETE /api/orders/{id}": _ADMINS,
    "GET /api/reports/sales": _ANYONE,
    "GET /api/reports/low-stock": _ANYONE,
    "GET /api/me": _ANYONE,
}

# Routes on one record with an owner -> the roles that may act on records other users created.
# A role that PERMISSIONS allows on such a route but that is not listed here acts on its own
# records only. Reading stays open: a sales team shares its orders (docs/adr/0015).
OTHERS_RECORDS: Mapping[str, frozenset[str]] = {
    "GET /api/orders/{id}": _ANYONE,
    "PUT /api/orders/{id}": _ADMINS,
    "DELETE /api/orders/{id}": _ADMINS,
}

GROUPS_CLAIM = "cognito:groups"
ACCESS = "access"


class Unauthenticated(DomainError):
    status, title = 401, "Unauthorized"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request: `sub` (the user's immutable id), `username` (what
    createdBy/updatedBy record; the `sub` too when users sign in with their email), their
    groups, and whether their role lets them act on others' records on this route."""

    sub: str
    username: str
    groups: frozenset[str]
    others_records: bool = True

    def owns(self, owner: str | None) -> bool:
        return owner is not None and owner == self.username


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` exactly as API Gateway delivers it: "[admin sales]" (names joined by one
    space, in brackets; "[]" or no claim at all for none). Anything else raises ValueError."""
    if value is None:
        return frozenset()
    if not isinstance(value, str) or len(value) < 2 or value[0] != "[" or value[-1] != "]":
        raise ValueError("not a bracketed list")
    inner = value[1:-1]
    if not inner:
        return frozenset()
    names = inner.split(" ")
    if "" in names:
        raise ValueError("an empty group name")
    return frozenset(names)


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JWT authorizer's claims in an HTTP API (payload 2.0) event, None when there are none."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) and claims else None


def _text_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value.strip() == value and value else None


def caller(event: Mapping[str, Any]) -> Caller:
    """The authenticated caller of `event`; 401 when the event carries no usable access token."""
    claims = claims_of(event)
    if claims is None:
        raise Unauthenticated("Sign in and send the access token as `Authorization: Bearer <token>`.")
    if claims.get("token_use") != ACCESS:
        raise Unauthenticated("Send an access token; an ID token or any other token is not an API credential.")
    sub, username = _text_claim(claims, "sub"), _text_claim(claims, "username")
    if sub is None or username is None:
        raise Unauthenticated(
            "The token names no user (it needs `sub` and `username`): sign in again and send its access token."
        )
    try:
        groups = parse_groups(claims.get(GROUPS_CLAIM))
    except ValueError:
        raise Unauthenticated(f"The token's {GROUPS_CLAIM} claim is not in the form API Gateway delivers.") from None
    return Caller(sub=sub, username=username, groups=groups)


def route_key(event: Mapping[str, Any]) -> str | None:
    context = event.get("requestContext")
    key = context.get("routeKey") if isinstance(context, Mapping) else None
    return key if isinstance(key, str) else None


def authorize(event: Mapping[str, Any]) -> Caller:
    """The caller, if one of their groups may call the event's route; else 401 or 403."""
    who = caller(event)
    key = route_key(event)
    allowed = PERMISSIONS.get(key) if key is not None else None
    if allowed is None:
        raise Forbidden(f"No role may call {key!r}: it is not in the API's permission table.")
    granted = who.groups & allowed
    if not granted:
        needed = " or ".join(sorted(allowed))
        unknown = sorted(who.groups - KNOWN_GROUPS)
        note = f" (unknown groups grant nothing: {', '.join(unknown)})" if unknown else ""
        mine = ", ".join(sorted(who.groups)) or "none"
        raise Forbidden(f"This needs the {needed} role; your groups: {mine}{note}. Sign in as a user with that role.")
    others = OTHERS_RECORDS.get(key) if key is not None else None
    return Caller(who.sub, who.username, who.groups, others_records=others is None or bool(granted & others))


def require_owner(who: Caller, owner: str | None, what: str) -> None:
    """403 unless `who` may act on `what`, a record created by `owner`, on this route."""
    if not who.others_records and not who.owns(owner):
        raise Forbidden(f"Your role may change only what you created; {what} was created by someone else.")


# ---------------------------------------------------------------- the matrix, for docs and tests
OWN, OTHERS = "own", "others"


def allowed(key: str, role: str, whose: str = OWN) -> bool:
    """May a user whose only role is `role` call route `key` on a record of `whose` (own/others)?"""
    if role not in PERMISSIONS.get(key, frozenset()):
        return False
    return whose == OWN or role in OTHERS_RECORDS.get(key, frozenset({role}))


def matrix() -> str:
    """The role x route x own/other table as Markdown (docs/security.md shows it)."""
    roles = sorted(ROLES)
    lines = ["| route | " + " | ".join(roles) + " |", "|---|" + "---|" * len(roles)]
    for key in PERMISSIONS:
        cells = []
        for role in roles:
            own, others = allowed(key, role, OWN), allowed(key, role, OTHERS)
            cells.append("✔" if others else "own records only" if own else "✘")
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def log_keys(event: Mapping[str, Any]) -> dict[str, Any]:
    """Who called, for every log line of the request: the token's `sub` and groups as API Gateway
    passed them (also when the claims are refused: then the refusal is logged with them)."""
    claims = claims_of(event) or {}
    sub, raw = claims.get("sub"), claims.get(GROUPS_CLAIM)
    try:
        groups: Any = sorted(parse_groups(raw))
    except ValueError:
        groups = str(raw)  # logged as it came: it is why the request was refused
    return {"caller_sub": sub if isinstance(sub, str) else None, "caller_groups": groups}
