"""The one way the local cloud adjusts third-party code: install functions that run once, and
:func:`install_all`, the one list of them that every runner and test fixture installs."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable


class Patch:
    """Wraps a function that patches a library; calling it applies the patch exactly once
    (thread-safe), and `installed` tells whether it has been applied."""

    def __init__(self, apply: Callable[[], None]) -> None:
        self._apply = apply
        self._lock = threading.Lock()
        self.installed = False
        functools.update_wrapper(self, apply)

    def __call__(self) -> None:
        with self._lock:
            if not self.installed:
                self._apply()
                self.installed = True


def patch(apply: Callable[[], None]) -> Patch:
    """Decorator: `@patch def install(): ...` makes `install()` idempotent."""
    return Patch(apply)


def install_all(sync_timeout_seconds: float | None = None, task_timeout_scale: float | None = None) -> None:
    """Every emulator-fidelity patch, once per process (moto's decorator mode and server alike):

    * :mod:`localcloud.sync_execution` -- StartSyncExecution (bounded by `sync_timeout_seconds`);
    * :mod:`localcloud.task_timeouts` -- Task timeouts stretched by `task_timeout_scale` (default 1);
    * :mod:`localcloud.dynamodb_atomic` -- one DynamoDB request at a time, as DynamoDB is atomic;
    * :mod:`localcloud.dynamodb_tokens` -- TransactWriteItems idempotent per ClientRequestToken
      (the SDK's retry of an applied transaction succeeds without changing anything);
    * :mod:`localcloud.dynamodb_responses` -- DynamoDB's attribute values serialized directly (the
      same bytes as moto's generic serializer, without its cost per value);
    * :mod:`localcloud.dynamodb_key_conditions` -- a Query whose KeyConditionExpression has a part
      that is not a key condition (`pk = :v AND XXXX`) is refused, not read as `pk = :v`;
    * :mod:`localcloud.dynamodb_partitions` -- a Query reads the items of its partition, not the
      whole table (moto's answer, from fewer candidates);
    * :mod:`localcloud.asl_cache` -- each state machine definition parsed once;
    * :mod:`localcloud.moto_dispatch` -- moto's server lists its own modules once, not per request;
    * :mod:`localcloud.base64_bodies` -- SAM's gateway passes non-UTF-8 bodies base64-encoded;
    * :mod:`localcloud.dynamodb_streams` -- no stream records from cancelled transactions, and
      shard iterators that expire;
    * :mod:`localcloud.signing_key` -- Cognito tokens signed with the local cloud's own key (not the
      one in moto's package), named by its ``kid``, living as long as their app client says;
    * :mod:`localcloud.cognito_triggers` -- a user pool's pre token generation trigger, registered
      with its ``serve`` (the local cloud registers the template's), runs before its tokens are
      signed, and its claim changes are applied (the emulator runs no triggers);
    * :mod:`localcloud.secret_rotation` -- RotateSecret invokes a rotation function registered with
      its ``serve`` (tests/integration/test_cursor_rotation.py registers the template's), and
      AWSCURRENT moves as UpdateSecretVersionStage says;
    * :mod:`localcloud.sqs_journal` -- the queues' messages reported to the state file's journal
      (only while a state file is in use).
    """
    from localcloud import (
        asl_cache,
        base64_bodies,
        cognito_triggers,
        dynamodb_atomic,
        dynamodb_key_conditions,
        dynamodb_partitions,
        dynamodb_responses,
        dynamodb_streams,
        dynamodb_tokens,
        moto_dispatch,
        secret_rotation,
        signing_key,
        sqs_journal,
        sync_execution,
        task_timeouts,
    )

    if sync_timeout_seconds is not None:
        sync_execution.set_timeout(sync_timeout_seconds)
    if task_timeout_scale is not None:
        task_timeouts.set_scale(task_timeout_scale)
    sync_execution.install()
    task_timeouts.install()
    dynamodb_atomic.install()
    dynamodb_tokens.install()
    dynamodb_responses.install()
    dynamodb_key_conditions.install()
    dynamodb_partitions.install()
    asl_cache.install()
    moto_dispatch.install()
    base64_bodies.install()
    dynamodb_streams.install()
    signing_key.install()
    cognito_triggers.install()
    secret_rotation.install()
    sqs_journal.install()
