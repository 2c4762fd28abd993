"""Serialize moto's DynamoDB attribute values directly: the same bytes, far fewer steps.

moto 5.2 builds every DynamoDB response with its generic, model-driven serializer, which for
each `AttributeValue` visits all ten members of the shape (S, N, B, SS, NS, BS, M, L, NULL,
BOOL) and asks six alias providers where each might be found on the value: about 0.5 ms of
Python per attribute value. A Query of 20 small items spent 9 in 10 of its time there (profile
in docs/performance.md, "List latency"), and a sharded list page (16 Queries, docs/adr/0040)
sixteen times that: the emulator's own overhead, which DynamoDB does not have.

:func:`install` gives the JSON serializer a direct path for the DynamoDB service's
`AttributeValue` (the dicts moto's `DynamoResult` already holds in the wire's shape): each
present member in the shape's order, strings as they are, blobs base64-encoded, maps and lists
recursively -- exactly what the generic path writes. Anything it does not recognise (a member
it does not know, a value of an unexpected Python type, an empty map key, which the generic path
treats specially) goes the generic way. tests/localcloud/test_dynamodb_responses.py compares the
two byte for byte over randomised items and every DynamoDB operation that answers items.
:func:`generic` turns the direct path off for a while (that test's reference).
"""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.patching import patch

_MEMBERS = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_KNOWN = frozenset(_MEMBERS)
_state = threading.local()


class _Generic(Exception):
    """The value needs moto's generic path."""


@contextmanager
def generic() -> Iterator[None]:
    """Serialize with moto's generic path only, in this thread, meanwhile."""
    before = getattr(_state, "generic", False)
    _state.generic = True
    try:
        yield
    finally:
        _state.generic = before


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Generic
    return value


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes):
        raise _Generic
    return base64.b64encode(value).strip().decode("utf-8")


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _Generic
    return value


def attribute_value(value: Any) -> dict[str, Any]:
    """What moto's generic JSON serializer writes for the `AttributeValue` `value` (raises
    _Generic where it cannot tell)."""
    if type(value) is not dict or not value.keys() <= _KNOWN:
        raise _Generic
    out: dict[str, Any] = {}
    for member in _MEMBERS:
        inner = value.get(member)
        if inner is None:
            continue
        if member in ("S", "N"):
            out[member] = _text(inner)
        elif member == "B":
            out[member] = _blob(inner)
        elif member in ("SS", "NS", "BS", "L"):
            if type(inner) is not list:
                raise _Generic
            convert = _blob if member == "BS" else attribute_value if member == "L" else _text
            out[member] = [convert(v) for v in inner]
        elif member == "M":
            if type(inner) is not dict or not all(type(k) is str and k for k in inner):
                raise _Generic
            out[member] = {k: attribute_value(v) for k, v in inner.items()}
        else:
            out[member] = _flag(inner)
    return out


@patch
def install() -> None:
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    @functools.wraps(original)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and not getattr(_state, "generic", False)
            and self.operation_model.service_model.service_name == "dynamodb"
        ):
            try:
                direct = attribute_value(value)
            except _Generic:
                pass
            else:
                serialized[self.get_serialized_name(shape, key)] = direct
                return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
