"""Opaque, signed pagination cursors over DynamoDB's LastEvaluatedKey (kept in its typed form).

A cursor is HMAC-signed with the deployment's secret key over its *scope* (the route and its
filters) and its payload, so it cannot be forged, nor replayed on another list or with other
filters; when the key rotates, old cursors stop verifying. Each is answered 400."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from sales_common.errors import BadRequest

_SIG_BYTES = 16
_MAX_ATTRIBUTES = 4
_NUMBER = re.compile(r"-?[0-9]{1,38}")


def _signature(key: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), scope.encode() + b"\n" + payload, hashlib.sha256).digest()[:_SIG_BYTES]


def encode_cursor(last_key: dict[str, Any], key: str, scope: str) -> str:
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(_signature(key, scope, payload) + payload).decode().rstrip("=")


def decode_cursor(cursor: str, key: str, scope: str) -> dict[str, Any]:
    """Return the DynamoDB key the cursor stands for; BadRequest if it was altered, forged, made
    for another list or filter, or signed with a key that has since rotated."""
    invalid = BadRequest("The pagination cursor is invalid (altered, from another list or filter, or expired).")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid from exc
    sig, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    if not payload or not hmac.compare_digest(sig, _signature(key, scope, payload)):
        raise invalid
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise invalid from exc
    if not _is_start_key(decoded):
        raise invalid
    return decoded  # type: ignore[no-any-return]


def _is_start_key(value: Any) -> bool:
    """A DynamoDB key as LastEvaluatedKey gives it: a few attributes, each {"S": str} or {"N": int}.
    Checked even though it is signed: a key whose structure boto3 refuses must be a 400, not a 500."""
    if not isinstance(value, dict) or not 0 < len(value) <= _MAX_ATTRIBUTES:
        return False
    for name, typed in value.items():
        if not isinstance(name, str) or not isinstance(typed, dict) or len(typed) != 1:
            return False
        ((kind, text),) = typed.items()
        if not isinstance(text, str) or not 0 < len(text) <= 1024:
            return False
        if kind == "N" and not _NUMBER.fullmatch(text):
            return False
        if kind not in ("S", "N"):
            return False
    return True


def link_header(path: str, limit: int, cursor: str | None, extra_query: dict[str, str] | None = None) -> str | None:
    """An RFC 8288 `Link` header pointing at the next page, or None on the last page."""
    if cursor is None:
        return None
    from urllib.parse import urlencode

    query = urlencode({**(extra_query or {}), "limit": limit, "cursor": cursor})
    return f'<{path}?{query}>; rel="next"'
