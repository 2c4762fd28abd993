"""moto's emulated account, saved once and put back before each test (ADR 0041).

Provisioning template.yaml's resources through moto's API takes about 25 requests and, on this
project's machine, 50-100 ms of CPU; done for each of a thousand in-process tests it was a fifth
of the fast loop. A :class:`Snapshot` is taken once per test process, right after provisioning,
and :meth:`Snapshot.restore` puts every moto backend back exactly as it was then (a deep copy of
each backend's state, a few milliseconds): no item, message, execution, event or resource a test
made survives into the next test, and a backend the snapshot does not know (a service first used
by a test, another account or region) is reset to empty.

This reaches into moto's internals (``BackendDict``, each backend's ``__dict__``), as moto's own
``reset`` does; it is test support, not part of the local cloud.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict

# A backend's state holds locks (moto's SQS queues have a Condition each): a copy gets a new,
# unlocked one. (A Condition keeps its lock's bound methods, which deepcopy would share with the
# original: it is made anew around the copy of its lock.)
_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}
for _lock_type, _new in _LOCK_TYPES.items():
    copy._deepcopy_dispatch[_lock_type] = lambda _lock, _memo, _new=_new: _new()  # type: ignore[attr-defined]
copy._deepcopy_dispatch[threading.Condition] = lambda condition, memo: threading.Condition(  # type: ignore[attr-defined]
    copy.deepcopy(condition._lock, memo)
)


@dataclass(frozen=True)
class _Saved:
    backends: BackendDict  # e.g. moto.dynamodb.models.dynamodb_backends
    account: str
    region: str
    original: Any  # the backend object the state was copied from


def _live() -> list[tuple[BackendDict, str, str, Any]]:
    return [
        (backends, account, region, backend)
        for backends in list(BackendDict._instances)  # type: ignore[attr-defined]
        for account, regions in list(backends.items())
        for region, backend in list(regions.items())
    ]


class Snapshot:
    """The state of every moto backend when it is taken (inside an active ``mock_aws``)."""

    def __init__(self) -> None:
        live = _live()
        self._saved = [_Saved(backends, account, region, backend) for backends, account, region, backend in live]
        # One copy for all backends, so that a reference from one backend's state to another
        # backend (or to itself) still points at that live backend object, not at a copy of it.
        memo: dict[int, Any] = {id(backend): backend for *_, backend in live}
        states = [backend.__dict__ for *_, backend in live]
        self._state = _deepcopy(states, memo)

    def restore(self) -> None:
        """Every backend as it was when the snapshot was taken; backends made since, empty."""
        known = {(id(s.backends), s.account, s.region) for s in self._saved}
        for backends, account, region, backend in _live():
            if (id(backends), account, region) not in known:
                backend.reset()
        # A `mock_aws` started elsewhere may have dropped the backend objects (moto's reset clears
        # the BackendDicts); the saved state then goes into the new ones moto makes on first use.
        current = [s.backends[s.account][s.region] for s in self._saved]
        memo: dict[int, Any] = {id(s.original): now for s, now in zip(self._saved, current, strict=True)}
        for backend, state in zip(current, _deepcopy(self._state, memo), strict=True):
            backend.__dict__ = state


def _deepcopy(states: list[dict[str, Any]], memo: dict[int, Any]) -> list[dict[str, Any]]:
    """A deep copy of backends' states in which DynamoDB's stream shards are copied too: the local
    cloud makes a copy of a table share its stream (localcloud/dynamodb_streams.py, for moto's
    copy of the tables a transaction may roll back), but two tests must not share one."""
    for state in states:
        for table in (state.get("tables") or {}).values():
            shard = getattr(table, "stream_shard", None)
            if shard is not None and id(shard) not in memo:
                copied = object.__new__(type(shard))
                memo[id(shard)] = copied
                copied.__dict__ = copy.deepcopy(shard.__dict__, memo)
    return copy.deepcopy(states, memo)
