"""Opaque, signed pagination cursors over DynamoDB's LastEvaluatedKey (kept in its typed form)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from sales_common.errors import BadRequest

_SIG_BYTES = 12


def encode_cursor(last_key: dict[str, Any], key: str) -> str:
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(sig + payload).decode().rstrip("=")


def decode_cursor(cursor: str, key: str) -> dict[str, Any]:
    """Return the DynamoDB key the cursor stands for; BadRequest if it was altered or forged."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise BadRequest("The pagination cursor is invalid.") from exc
    sig, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    expected = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not payload or not hmac.compare_digest(sig, expected):
        raise BadRequest("The pagination cursor is invalid.")
    decoded = json.loads(payload)
    if not isinstance(decoded, dict):
        raise BadRequest("The pagination cursor is invalid.")
    return decoded


def link_header(path: str, limit: int, cursor: str | None, extra_query: dict[str, str] | None = None) -> str | None:
    """An RFC 8288 `Link` header pointing at the next page, or None on the last page."""
    if cursor is None:
        return None
    from urllib.parse import urlencode

    query = urlencode({**(extra_query or {}), "limit": limit, "cursor": cursor})
    return f'<{path}?{query}>; rel="next"'
