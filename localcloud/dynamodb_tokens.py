"""Make moto's TransactWriteItems idempotent per ClientRequestToken, as DynamoDB's is.

botocore fills in a ClientRequestToken for every TransactWriteItems call and sends the same one
again when it retries (after a timeout, say). DynamoDB answers such a repeat of a transaction
that succeeded with success and changes nothing, for ten minutes; the same token with other
parameters is refused with IdempotentParameterMismatchException. moto ignores the token and runs
the transaction again, so a retry of an applied transaction meets its own writes: its conditions
fail and the caller sees a conflict that AWS never shows it (a customer's email "already used" by
the very request that created it). :func:`install` restores DynamoDB's behaviour. It is emulator
fidelity, not application logic.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from typing import Any

from localcloud import dynamodb_atomic
from localcloud.patching import patch

#: How long DynamoDB remembers a token (its documentation: ten minutes).
TOKEN_TTL_SECONDS = 600.0
#: token -> (digest of the request without its token, when it succeeded, the answer it got)
_succeeded: dict[str, tuple[str, float, Any]] = {}


def _digest(body: Any) -> str:
    parsed = json.loads(body) if isinstance(body, str | bytes) else dict(body)
    parsed.pop("ClientRequestToken", None)
    return hashlib.sha256(json.dumps(parsed, sort_keys=True).encode()).hexdigest()


def _forget_expired(now: float) -> None:
    for token in [t for t, (_, at, _) in _succeeded.items() if now - at > TOKEN_TTL_SECONDS]:
        del _succeeded[token]


def _mismatch() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "The ClientRequestToken was used before with different parameters.",
    )


@patch
def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        if self._get_action() != "TransactWriteItems":
            return original(self)
        body = self.body
        token = (json.loads(body) if isinstance(body, str | bytes) else body).get("ClientRequestToken")
        if not token:
            return original(self)
        with dynamodb_atomic.locked():  # the check and the transaction as one step
            now = time.monotonic()
            _forget_expired(now)
            digest = _digest(body)
            seen = _succeeded.get(token)
            if seen is not None:
                if seen[0] != digest:
                    raise _mismatch()
                return seen[2]  # a repeat of a transaction that succeeded: success, nothing changed
            answer = original(self)
            if dynamodb_atomic.succeeded(answer):
                _succeeded[token] = (digest, now, answer)
            return answer

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
