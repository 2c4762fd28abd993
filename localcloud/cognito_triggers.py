"""Cognito's pre token generation trigger in the emulator, as Cognito runs it.

moto's cognito-idp runs no Lambda triggers. Here a user pool whose template names a pre token
generation function (``LambdaConfig.PreTokenGenerationConfig``; :meth:`SamTemplate.pre_token_triggers`)
has an invoker registered with :func:`serve` (the local cloud registers the template's function, run
in its execution environments like any invocation), and every token pair the emulator issues for
that pool is made as Cognito makes it:

* one invocation per sign-in or refresh, before the tokens are signed, with the event of the
  pool's ``LambdaVersion``: ``V2_0``/``V3_0`` (``version`` "2"/"3": both tokens) or ``V1_0``
  ("1": the ID token only). ``triggerSource`` is ``TokenGeneration_Authentication`` for a sign-in
  and ``TokenGeneration_RefreshTokens`` for a refresh; ``userName`` is the user's internal name
  (the ``sub`` when email is the sign-in name); ``request.userAttributes`` holds the user's
  attributes with ``cognito:user_status``; ``request.groupConfiguration`` the user's groups;
  ``callerContext.clientId`` the app client;
* the response's ``claimsToAddOrOverride`` and ``claimsToSuppress`` are applied to the access token
  (``accessTokenGeneration``) and the ID token (``idTokenGeneration``; V1_0:
  ``claimsOverrideDetails``). Claims Cognito keeps for itself (:data:`PROTECTED`: ``iss``, ``sub``,
  ``token_use``, ``exp``, the groups, ...) are left as they are; group and scope overrides are not
  emulated (the template's trigger makes none);
* a trigger that fails (an error, a timeout) fails the sign-in or refresh as Cognito does, with
  ``UserLambdaValidationException``; a response that is not a trigger response, with
  ``InvalidLambdaResponseException``. No token is issued.

A pool without a registered trigger issues tokens as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.patching import patch

__all__ = ["PROTECTED", "TriggerFailed", "install", "serve", "stop_serving"]

Invoker = Callable[[dict[str, Any]], Any]

#: Claims a pre token generation trigger cannot add, override or suppress (Cognito's own, the
#: groups, which have their own override, and the scopes).
PROTECTED = frozenset(
    {
        "acr",
        "amr",
        "at_hash",
        "aud",
        "auth_time",
        "azp",
        "client_id",
        "cognito:groups",
        "cognito:username",
        "event_id",
        "exp",
        "iat",
        "identities",
        "iss",
        "jti",
        "nbf",
        "nonce",
        "origin_jti",
        "scope",
        "sub",
        "token_use",
        "username",
    }
)

_EVENT_VERSION = {"V1_0": "1", "V2_0": "2", "V3_0": "3"}
_SIGN_IN = "TokenGeneration_Authentication"
_REFRESH = "TokenGeneration_RefreshTokens"

_lock = threading.Lock()
_triggers: dict[str, tuple[str, Invoker]] = {}  # pool id -> (LambdaVersion, invoker)
_signing_in: set[str] = set()  # origin_jti of sessions whose first tokens are not issued yet
_pending: dict[tuple[str, str, str, str], dict[str, Any]] = {}  # the ID token's half of a response


class TriggerFailed(Exception):
    """The trigger failed or answered something that is not a trigger response."""


def serve(pool_id: str, version: str, invoker: Invoker) -> None:
    """Tokens of the emulator's pool `pool_id` are made after `invoker(event)` (a pre token
    generation trigger of LambdaVersion `version`) answered."""
    if version not in _EVENT_VERSION:
        raise ValueError(f"pre token generation LambdaVersion {version!r}: V1_0, V2_0 or V3_0")
    with _lock:
        _triggers[pool_id] = (version, invoker)


def stop_serving(pool_id: str | None = None) -> None:
    with _lock:
        if pool_id is None:
            _triggers.clear()
        else:
            _triggers.pop(pool_id, None)


def _served(pool_id: str) -> tuple[str, Invoker] | None:
    with _lock:
        return _triggers.get(pool_id)


@functools.cache
def _errors() -> tuple[type[Exception], type[Exception]]:
    from moto.core.exceptions import JsonRESTError

    class UserLambdaValidationException(JsonRESTError):
        def __init__(self, message: str) -> None:
            super().__init__("UserLambdaValidationException", message)

    class InvalidLambdaResponseException(JsonRESTError):
        def __init__(self, message: str) -> None:
            super().__init__("InvalidLambdaResponseException", message)

    return UserLambdaValidationException, InvalidLambdaResponseException


def event(pool: Any, client_id: str, user: Any, version: str, trigger_source: str) -> dict[str, Any]:
    """The event Cognito sends the trigger of `pool` for `user`'s tokens."""
    attributes = {a["Name"]: a["Value"] for a in user.attributes}
    status = getattr(user.status, "value", user.status)
    groups = sorted(g.group_name for g in user.groups)
    request: dict[str, Any] = {
        "userAttributes": {**attributes, "sub": user.id, "cognito:user_status": str(status)},
        "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [], "preferredRole": None},
    }
    if version != "V1_0":
        request["scopes"] = ["aws.cognito.signin.user.admin"]
    details = "claimsOverrideDetails" if version == "V1_0" else "claimsAndScopeOverrideDetails"
    return {
        "version": _EVENT_VERSION[version],
        "triggerSource": trigger_source,
        "region": pool.region,
        "userPoolId": pool.id,
        "userName": user.username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": request,
        "response": {details: None},
    }


def changes(response: Any, version: str) -> dict[str, dict[str, Any]]:
    """{"access": ..., "id": ...}: each token's ``claimsToAddOrOverride``/``claimsToSuppress`` from
    the trigger's answer. Raises :class:`TriggerFailed` for an answer that is not a trigger response."""
    if not isinstance(response, Mapping) or not isinstance(response.get("response"), Mapping):
        raise TriggerFailed("the trigger's answer is not its event with a response")
    if version == "V1_0":
        per_token = {"id": response["response"].get("claimsOverrideDetails")}
    else:
        details = response["response"].get("claimsAndScopeOverrideDetails") or {}
        if not isinstance(details, Mapping):
            raise TriggerFailed("claimsAndScopeOverrideDetails is not an object")
        per_token = {"access": details.get("accessTokenGeneration"), "id": details.get("idTokenGeneration")}
    out: dict[str, dict[str, Any]] = {}
    for token_use, change in per_token.items():
        change = {} if change is None else change
        if not isinstance(change, Mapping):
            raise TriggerFailed(f"the {token_use} token's claim changes are not an object")
        add, suppress = change.get("claimsToAddOrOverride"), change.get("claimsToSuppress")
        if not isinstance(add or {}, Mapping) or not isinstance(suppress or [], list):
            raise TriggerFailed(f"the {token_use} token's claimsToAddOrOverride/claimsToSuppress are malformed")
        out[token_use] = {"add": dict(add or {}), "suppress": [str(c) for c in suppress or []]}
    return out


def apply(claims: dict[str, Any], change: Mapping[str, Any] | None) -> dict[str, Any]:
    """`claims` with `change` applied: added or overridden, then suppressed (a claim both added and
    suppressed is suppressed, as Cognito does); protected claims stay as they are."""
    if not change:
        return claims
    out = {**claims, **{k: v for k, v in change["add"].items() if k not in PROTECTED}}
    for name in change["suppress"]:
        if name not in PROTECTED:
            out.pop(name, None)
    return out


def _invoke(pool: Any, client_id: str, username: str, token_use: str, origin_jti: str) -> dict[str, Any] | None:
    """This token's claim changes (None without a trigger), invoking the trigger once per pair."""
    served = _served(pool.id)
    if served is None:
        return None
    version, invoker = served
    key = (pool.id, client_id, username, origin_jti)
    with _lock:
        pending = _pending.pop(key, None) if token_use == "id" else None
        signing_in = origin_jti in _signing_in
        _signing_in.discard(origin_jti)
    if pending is not None:
        return pending
    user_lambda_error, invalid_response = _errors()
    source = _SIGN_IN if signing_in else _REFRESH
    try:
        answer = invoker(event(pool, client_id, pool._get_user(username), version, source))
    except Exception as exc:
        raise user_lambda_error(f"PreTokenGeneration failed with error {exc}.") from None
    try:
        per_token = changes(answer, version)
    except TriggerFailed as exc:
        raise invalid_response(f"Invalid lambda response: {exc}.") from None
    if token_use == "access":
        with _lock:
            _pending[key] = per_token.get("id") or {}
    return per_token.get(token_use)


@patch
def install() -> None:
    from joserfc import jwt as jose_jwt
    from moto.cognitoidp import models

    create_refresh_token = models.CognitoIdpUserPool.create_refresh_token
    create_jwt = models.CognitoIdpUserPool.create_jwt

    @functools.wraps(create_refresh_token)
    def create_refresh_token_signing_in(self: Any, client_id: str, username: str) -> tuple[str, str]:
        refresh_token, origin_jti = create_refresh_token(self, client_id, username)
        if _served(self.id) is not None:
            with _lock:
                _signing_in.add(origin_jti)  # a sign-in: its first tokens follow
        return refresh_token, origin_jti

    @functools.wraps(create_jwt)
    def create_jwt_after_trigger(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 60 * 60,
        extra_data: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        origin_jti = str((extra_data or {}).get("origin_jti", ""))
        change = _invoke(self, client_id, username, token_use, origin_jti)
        token, lifetime = create_jwt(self, client_id, username, token_use, expires_in, extra_data)
        if not change or not (change["add"] or change["suppress"]):
            return token, lifetime
        decoded = jose_jwt.decode(token, self.json_web_key)
        claims = apply(dict(decoded.claims), change)
        return models.jwt.encode(dict(decoded.header), claims, self.json_web_key), lifetime

    models.CognitoIdpUserPool.create_refresh_token = create_refresh_token_signing_in  # type: ignore[method-assign]
    models.CognitoIdpUserPool.create_jwt = create_jwt_after_trigger  # type: ignore[method-assign]
