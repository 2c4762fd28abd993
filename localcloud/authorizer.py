"""The HTTP API JWT authorizer, emulated in front of SAM's local gateway.

SAM CLI's gateway runs Lambda authorizers only: for a route whose authorizer is a JWT authorizer
it invokes the function with no ``requestContext.authorizer`` at all (the functions then refuse
with 401, as they must). This module does what API Gateway does for such a route, from the
template's own ``Auth`` section:

* take the token from the identity source (``$request.header.Authorization``; a ``Bearer``
  prefix is optional);
* verify its RS256 signature (as Cognito signs) with the key its header's ``kid`` names in the
  issuer's JWKS (for a Cognito issuer, the JWKS that the emulator serves for that pool: the local
  cloud's own key, :mod:`localcloud.signing_key`), refusing ``alg: none``, HMAC and every other
  algorithm, a token without ``kid``, a ``kid`` the JWKS does not have, and the keys that ship
  in the emulator package whatever the JWKS says (anyone can sign with those);
* check ``iss`` (the configured issuer), ``aud`` or, only when there is no ``aud``,
  ``client_id`` (one of the configured audiences), ``exp``, ``nbf`` and ``iat``, as API Gateway
  does; and ``token_use`` = ``access``, which API Gateway does not check (it would take an ID
  token, whose ``aud`` is the client) and the functions do (``sales_common.auth``): only access
  tokens are API credentials;
* on success pass the claims in ``requestContext.authorizer.jwt.claims`` as API Gateway does,
  every value a string and lists as ``"[a b]"``; on failure answer 401
  ``{"message": "Unauthorized"}`` without invoking the function.

CORS preflight (OPTIONS on an API with a CORS configuration) is answered without a token, as on
AWS. ``--no-auth`` replaces the verification by a fixed identity (the dev admin user's claims).

Hook: :func:`gateway_service` wraps SAM's ``LocalApigwService`` class; the local cloud builds its
gateway from the wrapped class and nothing else changes.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud import signing_key
from localcloud.gateway_errors import http_api_failures, http_api_routing
from localcloud.provision import DevUsers
from localcloud.sam_template import REGION, SamTemplate, TemplateError

__all__ = [
    "Denied",
    "EmulatorJwks",
    "JwtAuthorizer",
    "JwtVerifier",
    "gateway_claims",
    "gateway_service",
    "initiate_auth",
    "route_authorizers",
]

DEFAULT_IDENTITY_SOURCE = "$request.header.Authorization"
ALGORITHMS = ("RS256",)  # what Cognito signs with
TOKEN_USES = frozenset({"access"})
COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[\w-]+)$")


class Denied(Exception):
    """The request carries no acceptable token (API Gateway answers 401)."""


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    header: str  # lower-case header name of the identity source
    issuer: str
    audience: frozenset[str]


# ------------------------------------------------------------------ from the template
def route_authorizers(
    template: SamTemplate,
    physical_ids: Mapping[str, str],
    parameter_overrides: Mapping[str, str] | None = None,
    lenient: bool = False,
) -> dict[tuple[str, str], JwtAuthorizer | None]:
    """{(METHOD, path): its JWT authorizer, or None when the route has none} for every HttpApi
    event of the template. Lambda authorizers are left to SAM's gateway (None here); an authorizer
    that can be neither emulated here nor by SAM is an error, so nothing is served unprotected --
    unless `lenient` (``--no-auth``, where no token is checked anyway): then it is listed as a
    JWT authorizer that nothing can satisfy."""
    resolver = template.resolver(parameter_overrides, physical_ids)
    out: dict[tuple[str, str], JwtAuthorizer | None] = {}
    for route in template.routes():
        key = (route.method, route.path)
        if route.authorizer is None:
            out[key] = None
            continue
        where = f"Resources.{route.function}.Events.{route.event}"
        spec = (template.http_api_auth(route.api).get("Authorizers") or {}).get(route.authorizer)
        if spec is None:
            raise TemplateError(f"{where}: authorizer {route.authorizer!r} is not defined on {route.api}")
        if "FunctionArn" in spec:
            out[key] = None  # a Lambda authorizer: SAM's gateway invokes it itself
            continue
        jwt = spec.get("JwtConfiguration")
        if not isinstance(jwt, Mapping) and lenient:
            out[key] = JwtAuthorizer(route.authorizer, "authorization", "", frozenset())
            continue
        if not isinstance(jwt, Mapping):
            raise TemplateError(f"{where}: authorizer {route.authorizer!r} cannot be emulated locally (use --no-auth)")
        auth_where = f"Resources.{route.api}.Properties.Auth.{route.authorizer}"
        out[key] = _jwt_authorizer(route.authorizer, spec, jwt, resolver, auth_where)
    return out


def _jwt_authorizer(
    name: str, spec: Mapping[str, Any], jwt: Mapping[str, Any], resolver: Any, where: str
) -> JwtAuthorizer:
    source = str(spec.get("IdentitySource", DEFAULT_IDENTITY_SOURCE))
    if not source.startswith("$request.header."):
        raise TemplateError(f"{where}: identity source {source!r} is not a header")
    issuer = resolver.resolve(jwt.get("issuer"), f"{where}.JwtConfiguration.issuer")
    audience = frozenset(resolver.resolve(a, f"{where}.JwtConfiguration.audience") for a in jwt.get("audience") or [])
    if not audience:
        raise TemplateError(f"{where}: JwtConfiguration.audience is empty")
    return JwtAuthorizer(name, source.removeprefix("$request.header.").lower(), issuer, audience)


def without_jwt_authorizers(template_dict: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a template for SAM's own gateway, whose JWT authorizers this module enforces in
    front of it: their definitions and every reference to them removed. SAM's gateway runs Lambda
    authorizers only, and would otherwise skip each JWT-protected route with a warning (which
    nothing here would be, since :func:`gateway_service` checks those routes itself)."""
    import copy

    data = copy.deepcopy(dict(template_dict))
    resources = data.get("Resources") or {}
    jwt: dict[str, set[str]] = {}  # HttpApi logical id -> its JWT authorizers
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        authorizers = auth.get("Authorizers") or {}
        names = {name for name, spec in authorizers.items() if isinstance(spec, dict) and "JwtConfiguration" in spec}
        jwt[logical_id] = names
        for name in names:
            del authorizers[name]
        if auth.get("DefaultAuthorizer") in names:
            del auth["DefaultAuthorizer"]
    for resource in resources.values():
        events = ((resource.get("Properties") or {}).get("Events") or {}) if isinstance(resource, dict) else {}
        for event in events.values():
            props = event.get("Properties") if isinstance(event, dict) else None
            if not isinstance(props, dict) or event.get("Type") != "HttpApi":
                continue
            api = props.get("ApiId")
            api_id = api.get("Ref") if isinstance(api, dict) else None
            auth = props.get("Auth") or {}
            if auth.get("Authorizer") in jwt.get(str(api_id), set()):
                del auth["Authorizer"]
    return data


# ------------------------------------------------------------------ verification
class EmulatorJwks:
    """The JWKS of a Cognito issuer, read from the emulator (moto serves one per user pool at
    ``/<pool id>/.well-known/jwks.json``), cached per issuer and re-read for an unknown key id,
    as API Gateway caches and refreshes it. Keys that ship in the emulator package are dropped:
    their private halves are public."""

    def __init__(self, aws_url: str) -> None:
        self.aws_url = aws_url.rstrip("/")
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def key_set(self, issuer: str, refresh: bool = False) -> Any:
        from joserfc.jwk import KeySet

        with self._lock:
            if refresh or issuer not in self._cache:
                match = COGNITO_ISSUER.match(issuer)
                if match is None:
                    raise Denied(f"no JWKS for issuer {issuer}")
                request = urllib.request.Request(
                    f"{self.aws_url}/{match['pool']}/.well-known/jwks.json",
                    headers={"Host": f"cognito-idp.{match['region']}.amazonaws.com"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        keys = KeySet.import_key_set(json.loads(response.read()))
                except (OSError, ValueError) as exc:  # unreachable or not a JWKS: nobody gets in
                    raise Denied(f"the issuer's JWKS is unavailable ({exc})") from exc
                self._cache[issuer] = KeySet([k for k in keys.keys if not signing_key.is_bundled(k)])
            return self._cache[issuer]


class JwtVerifier:
    """Verifies bearer tokens for a :class:`JwtAuthorizer`; ``verify`` returns the claims."""

    def __init__(self, jwks: EmulatorJwks, clock: Callable[[], float] = time.time) -> None:
        self.jwks = jwks
        self.clock = clock

    def verify(self, authorizer: JwtAuthorizer, headers: Mapping[str, str]) -> dict[str, Any]:
        from joserfc import jws, jwt
        from joserfc.errors import JoseError

        value = next((v for k, v in headers.items() if k.lower() == authorizer.header), "").strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if not value:
            raise Denied("missing token")
        try:
            header = jws.extract_compact(value.encode()).protected
        except (JoseError, ValueError) as exc:
            raise Denied("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Denied(f"signing method {header.get('alg')} is invalid")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Denied("the token names no signing key (kid)")
        key = self._key(authorizer.issuer, kid)
        try:
            token = jwt.decode(value, key, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise Denied("invalid signature") from exc
        claims = dict(token.claims)
        self._check_claims(authorizer, claims)
        return claims

    def _key(self, issuer: str, kid: str) -> Any:
        """The issuer's key named `kid` (the JWKS is read again once for a kid it lacks)."""
        for refresh in (False, True):
            found = next((k for k in self.jwks.key_set(issuer, refresh=refresh).keys if k.kid == kid), None)
            if found is not None and not signing_key.is_bundled(found):
                return found
        raise Denied(f"the token's signing key {kid!r} is not the issuer's")

    def _check_claims(self, authorizer: JwtAuthorizer, claims: Mapping[str, Any]) -> None:
        now = self.clock()
        if claims.get("iss") != authorizer.issuer:
            raise Denied("the token has an invalid issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
            raise Denied("the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or value > now):
                raise Denied(f"the token's {name} is in the future")
        aud = claims.get("aud")
        audiences = set(aud if isinstance(aud, list) else [aud]) if aud is not None else {claims.get("client_id")}
        if not audiences & authorizer.audience:
            raise Denied("the token does not have a valid audience")
        if claims.get("token_use") not in TOKEN_USES:
            raise Denied("the token is not an access token (token_use)")


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's HTTP API passes them to the function: strings, lists as "[a b]"."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return "[" + " ".join(text(v) for v in value) + "]"
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: text(value) for name, value in claims.items()}


# ------------------------------------------------------------------ the gateway hook
_claims: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("jwt_claims", default=None)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def new_request_id() -> str:
    """A request id as an HTTP API makes one (16 characters, e.g. `JKJaXmPLvHcESHA=`). SAM's gateway
    gives every request the same one (a default argument evaluated once)."""
    import base64
    import os

    return base64.b64encode(os.urandom(11)).decode()


def unauthorized_body(reason: str, hint: str = "") -> dict[str, str]:
    """API Gateway's 401 body, byte for byte, plus (locally) why and what to do."""
    body = {"message": "Unauthorized"}
    if hint:
        body["hint"] = f"{reason[:1].upper()}{reason[1:]}. {hint}"
    return body


def gateway_service(
    base: type,
    routes: Mapping[tuple[str, str], JwtAuthorizer | None],
    verify: Callable[[JwtAuthorizer, Mapping[str, str]], Mapping[str, Any]],
    log: Callable[[str], None] | None = None,
    hint: str = "",
) -> type:
    """SAM's ``LocalApigwService`` (``base``) with the JWT authorizer in front of each route that
    has one: ``verify(authorizer, headers)`` returns the claims or raises :class:`Denied`. Every
    request gets its own request id (``requestContext.requestId``, and the ``apigw-requestid``
    response header, as an HTTP API sends it). A 401 also carries ``hint`` (how to get a token
    here), beside API Gateway's own ``message``."""

    class JwtAuthorizedApigwService(base):
        def _request_handler(self, **kwargs: Any) -> Any:
            request_id = new_request_id()
            token = _request_id.set(request_id)
            try:
                response = self._authorized_request(**kwargs)
            finally:
                _request_id.reset(token)
            response.headers["apigw-requestid"] = request_id
            return response

        def _authorized_request(self, **kwargs: Any) -> Any:
            from flask import request

            route = self._get_current_route(request)
            cors = route.cors if route.cors is not None else self.api.cors
            key = (request.method.upper(), route.path)
            authorizer = routes[key] if key in routes else routes.get(("ANY", route.path))
            if authorizer is None or (request.method == "OPTIONS" and cors):
                return super()._request_handler(**kwargs)
            try:
                claims = verify(authorizer, dict(request.headers.items()))
            except Denied as denied:
                if log is not None:
                    log(f"401 {request.method} {request.path} (request {_request_id.get()}): {denied}")
                return self._unauthorized(route, cors, str(denied))
            token = _claims.set(gateway_claims(claims))
            try:
                return super()._request_handler(**kwargs)
            finally:
                _claims.reset(token)

        def _generate_lambda_event(self, flask_request: Any, route: Any, method: str, endpoint: str) -> dict[str, Any]:
            event: dict[str, Any] = super()._generate_lambda_event(flask_request, route, method, endpoint)
            if isinstance(event.get("requestContext"), dict) and _request_id.get():
                event["requestContext"]["requestId"] = _request_id.get()
            claims = _claims.get()
            if claims is not None and isinstance(event.get("requestContext"), dict):
                event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
            return event

        def _unauthorized(self, route: Any, cors: Any, reason: str) -> Any:
            from flask import request
            from samcli.local.apigw.local_apigw_service import Cors
            from werkzeug.datastructures import Headers

            headers = Headers(Cors.cors_to_headers(cors, request.headers.get("Origin"), route.event_type))
            headers["Content-Type"] = "application/json"
            # The reason may quote the token's own header fields: printable ASCII only, so that an
            # odd `kid` or `alg` cannot break the header (HTTP header values are ISO-8859-1 at best).
            description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in reason)
            headers["WWW-Authenticate"] = f'Bearer scope="" error="invalid_token" error_description="{description}"'
            return self.service_response(json.dumps(unauthorized_body(reason, hint)), headers, 401)

    return JwtAuthorizedApigwService


# ------------------------------------------------------------------ tokens
def initiate_auth(cognito_client: Any, client_id: str, username: str, password: str) -> dict[str, Any]:
    """``InitiateAuth`` with USER_PASSWORD_AUTH, as a client of the deployed stack would call it:
    the ``AuthenticationResult`` (AccessToken, IdToken, RefreshToken, ExpiresIn)."""
    result = cognito_client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    if "AuthenticationResult" not in result:
        raise RuntimeError(f"sign-in needs a challenge: {result.get('ChallengeName')}")
    return dict(result["AuthenticationResult"])


def local_gateway(
    base: type,
    template: SamTemplate,
    pools: Mapping[str, str],
    aws_url: str,
    parameter_overrides: Mapping[str, str] | None = None,
    no_auth_claims: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> type:
    """The local cloud's gateway class: ``base`` with the template's JWT authorizers verified
    against the emulator, or, with ``no_auth_claims`` (``--no-auth``), every JWT-protected route
    given those claims without looking at any token; a failed integration, and a request that
    matches no route (``HEAD`` included), answer as an HTTP API does (:mod:`localcloud.gateway_errors`)."""
    base = http_api_failures(base)
    routes = route_authorizers(template, pools, parameter_overrides, lenient=no_auth_claims is not None)
    if no_auth_claims is not None:
        fixed = dict(no_auth_claims)
        return http_api_routing(gateway_service(base, routes, lambda _authorizer, _headers: fixed, log))
    hint = (
        f"This local cloud needs `Authorization: Bearer <token>`: get a token with `{token_command(aws_url)}` "
        "(or ROLE=sales) in the project's directory. The API's docs: /api/docs."
    )
    return http_api_routing(gateway_service(base, routes, JwtVerifier(EmulatorJwks(aws_url)).verify, log, hint))


def dev_claims(cognito_client: Any, dev: DevUsers, group: str, aws_url: str) -> dict[str, Any]:
    """The verified claims of a fresh access token of the dev user of `group`."""
    token = initiate_auth(cognito_client, dev.client_id, dev.users[group], dev.password)["AccessToken"]
    authorizer = JwtAuthorizer("dev", "authorization", dev.issuer, frozenset({dev.client_id}))
    return JwtVerifier(EmulatorJwks(aws_url)).verify(authorizer, {"authorization": token})


NO_AUTH_BANNER = (
    "!" * 100,
    "!!  AUTH DISABLED (--no-auth): tokens are NOT checked. Every request runs as the dev admin user",
    "!!  {admin}, with its claims. Never expose this server.",
    "!" * 100,
)


def banner_lines(dev: DevUsers | None, auth: bool) -> list[str]:
    """What the local cloud prints about signing in."""
    if dev is None:
        return ["  Sign-in:       the template has no user pool"]
    if not auth:
        return [line.format(admin=dev.users.get("admin", "-")) for line in NO_AUTH_BANNER]
    users = ", ".join(f"{email} ({group})" for group, email in dev.users.items())
    return [
        "  Sign-in:       every route needs `Authorization: Bearer <token>` (401 without, 403 without the role)",
        f"    User pool {dev.pool_id}, app client {dev.client_id}",
        f"    Dev users: {users}; password {dev.password}",
        "    Tokens: `make -s token ROLE=admin` (or ROLE=sales) signs in with InitiateAuth on the emulator",
    ]


def token_command(aws_url: str) -> str:
    """`make -s token ROLE=admin`, with AWS_URL= when the emulator is not on its default port."""
    return "make -s token ROLE=admin" + ("" if aws_url.endswith(":4566") else f" AWS_URL={aws_url}")


def banner_examples(dev: DevUsers | None, auth: bool, api_url: str, aws_url: str, example: str) -> list[str]:
    """Shell lines that run as printed against this local cloud (the banner's "Try:")."""
    if dev is None or not auth:
        return [f"curl {api_url}{example}"]
    return [
        f"TOKEN=$({token_command(aws_url)})",
        f'curl -H "Authorization: Bearer $TOKEN" {api_url}{example}',
        f"aws cognito-idp initiate-auth --auth-flow USER_PASSWORD_AUTH --client-id {dev.client_id} "
        f"--auth-parameters USERNAME={next(iter(dev.users.values()), '-')},PASSWORD='{dev.password}' "
        f"--endpoint-url {aws_url} --region {REGION} --query AuthenticationResult.AccessToken --output text",
    ]
