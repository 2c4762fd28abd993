"""The local cloud's own token-signing key, and the emulator made to sign Cognito tokens with it.

moto's cognito-idp signs every token with one RSA key that ships inside the moto package
(``cognitoidp/resources/jwks-private.json``, key id ``dummy``): anyone who installs moto holds it,
so a local cloud that trusted it would accept a token anyone can forge. Instead, each run has its
own key pair:

* :func:`current` is this process's key, generated on first use (2048-bit RSA, RS256, a random
  ``kid``); :func:`load_or_create` reads it from a file or writes a new one there (mode 0600), so
  that tokens survive a restart when the local cloud keeps its state in a file;
* :func:`install` (one of :func:`localcloud.patching.install_all`) makes moto sign with it, name its
  ``kid`` in the token header, serve it (and only it) as every user pool's JWKS, and give tokens the
  lifetime of their app client (``AccessTokenValidity``/``IdTokenValidity`` in ``TokenValidityUnits``,
  as Cognito does; moto always gives an hour);
* :func:`is_bundled` tells the emulator package's own keys, which the local authorizer refuses
  whatever a JWKS says.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from functools import cache
from pathlib import Path
from typing import Any

from localcloud.patching import patch

__all__ = ["current", "install", "is_bundled", "load_or_create", "public_jwks", "use"]

_lock = threading.Lock()
_key: Any = None

# Cognito's defaults when an app client sets no validity, and the seconds per TokenValidityUnits unit.
_DEFAULT_UNIT = "hours"
_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_VALIDITY = {"access": ("AccessTokenValidity", "AccessToken"), "id": ("IdTokenValidity", "IdToken")}


def generate() -> Any:
    """A fresh RS256 key pair with a random key id."""
    from joserfc.jwk import RSAKey

    kid = f"localcloud-{secrets.token_hex(8)}"
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


def current() -> Any:
    """This process's signing key (generated, and served, on first use)."""
    global _key
    with _lock:
        if _key is not None:
            return _key
        _key = generate()
    _serve(_key)
    return _key


def use(key: Any) -> None:
    """Sign with `key` from now on (and serve its public half)."""
    global _key
    with _lock:
        _key = key
    _serve(key)


def public_jwks() -> dict[str, Any]:
    return {"keys": [current().as_dict(private=False)]}


@cache
def _bundled_thumbprints() -> frozenset[str]:
    from joserfc.jwk import KeySet
    from moto.utilities.utils import load_resource

    bundled = KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))
    return frozenset(k.thumbprint() for k in bundled.keys)


def is_bundled(key: Any) -> bool:
    """Is `key` (a joserfc key) one of the keys that ship in the emulator package?"""
    try:
        return bool(key.thumbprint() in _bundled_thumbprints())
    except Exception:  # not an RSA key joserfc can fingerprint: not ours either
        return False


def load_or_create(path: str | os.PathLike[str]) -> Any:
    """The key kept in `path` (a private JWK), or a new one written there first (mode 0600)."""
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    file = Path(path)
    if file.exists():
        try:
            key = RSAKey.import_key(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError, JoseError) as exc:
            raise ValueError(f"signing key {file}: not a private RSA JWK ({exc}); fix or remove it") from None
        if not key.is_private or not key.kid or is_bundled(key):
            raise ValueError(f"signing key {file}: needs a private RSA key with a kid of its own; fix or remove it")
        return key
    key = generate()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(key.as_dict(private=True), out)
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return key


def _serve(key: Any) -> None:
    """moto's JWKS endpoint (one document for every pool) serves `key`'s public half only (no key
    at all before the first one exists: nothing has been signed yet)."""
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    keys = [key.as_dict(private=False)] if key is not None else []
    CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps({"keys": keys}).encode()


def _lifetime(pool: Any, client_id: str, token_use: str, default: int) -> int:
    """Seconds a token of `token_use` issued to `client_id` lives, as the app client says."""
    client = pool.clients.get(client_id)
    if client is None or token_use not in _VALIDITY:
        return default
    field, unit_key = _VALIDITY[token_use]
    config = client.extended_config
    value = config.get(field)
    if value is None:
        return default
    unit = (config.get("TokenValidityUnits") or {}).get(unit_key, _DEFAULT_UNIT)
    return int(value) * _SECONDS[unit]


class _SigningJwt:
    """moto's ``jwt`` module as its cognito-idp models see it: ``encode`` names the key's ``kid``."""

    def __getattr__(self, name: str) -> Any:
        from joserfc import jwt

        return getattr(jwt, name)

    @staticmethod
    def encode(header: dict[str, Any], claims: dict[str, Any], key: Any, *args: Any, **kwargs: Any) -> str:
        from joserfc import jwt

        return jwt.encode({**header, "kid": key.kid, "alg": "RS256"}, claims, key, *args, **kwargs)


@patch
def install() -> None:
    from moto.cognitoidp import models

    models.jwt = _SigningJwt()  # type: ignore[assignment]
    # Every pool signs with this process's key; moto's assignment of its bundled key is ignored.
    models.CognitoIdpUserPool.json_web_key = property(lambda _self: current(), lambda _self, _value: None)  # type: ignore[assignment]
    original = models.CognitoIdpUserPool.create_jwt

    def create_jwt(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 60 * 60,
        extra_data: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        lifetime = _lifetime(self, client_id, token_use, expires_in)
        return original(self, client_id, username, token_use, lifetime, extra_data)

    models.CognitoIdpUserPool.create_jwt = create_jwt  # type: ignore[method-assign]
    with _lock:
        key = _key
    _serve(key)  # the key is made on first use (a local cloud's start picks its own)
