"""Conditional requests (RFC 9110, section 13.1.1): the one parser of `If-Match`.

    If-Match = "*" / #entity-tag
    entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / %x80-FF

* `*` is true for any current entity: :func:`parse_if_match` returns None (no version condition;
  every write is conditional on the entity existing anyway).
* A list of entity-tags is true when one of them matches the entity's ETag by the *strong*
  comparison: a weak tag (`W/"3"`) never matches, nor does an opaque tag this API never issues
  (`"anything-else"`). The result is the set of versions that would satisfy it, possibly empty;
  the write is conditional on the entity's version being in it, else 412.
* Anything else (`3` without quotes, `*` inside a list, a stray quote) is not an If-Match value:
  :class:`InvalidIfMatch`, a 400.

This API's ETags are strong: the entity's version in quotes (`"3"`).
"""

from __future__ import annotations

import re

from sales_common.errors import BadRequest
from sales_common.models import MAX_ID

__all__ = ["IF_MATCH_MAX_TAGS", "IF_MATCH_PATTERN", "InvalidIfMatch", "Versions", "etag", "parse_if_match"]

type Versions = frozenset[int]
"""The versions an If-Match header accepts (empty: none can)."""

IF_MATCH_MAX_TAGS = 100
_OWS = r"[ \t]*"
_TAG = r'(?:W/)?"[\x21\x23-\x7E\x80-\xFF]*"'
# One list element: optional whitespace, then an optional tag and whitespace. Written so that a
# value parses one way only (no backtracking blow-up on hostile input).
_ELEMENT = rf"{_OWS}(?:{_TAG}{_OWS})?"
_LIST = rf"{_ELEMENT}(?:,{_ELEMENT}){{0,{IF_MATCH_MAX_TAGS - 1}}}"
IF_MATCH_PATTERN = rf"^(?:{_OWS}\*{_OWS}|{_LIST})$"
"""RFC 9110's If-Match syntax (at most 100 list elements), for the API's contract."""

_VALUE = re.compile(IF_MATCH_PATTERN)
_TAGS = re.compile(r'(W/)?"([^"]*)"')
_VERSION = re.compile(r"[1-9][0-9]{0,15}")


class InvalidIfMatch(BadRequest):
    title = "Invalid If-Match"


def etag(version: int) -> str:
    """The strong ETag of an entity at `version`."""
    return f'"{version}"'


def parse_if_match(value: str | None) -> Versions | None:
    """None when the header is absent or `*`; else the versions whose ETag it names by the strong
    comparison. Raises :class:`InvalidIfMatch` when the value is not RFC 9110's syntax."""
    if value is None:
        return None
    if not _VALUE.fullmatch(value):
        raise InvalidIfMatch(
            f"If-Match {value[:80]!r} is not a list of entity-tags: send the ETag you read, quotes "
            'included (If-Match: "3"), several separated by commas, or *.'
        )
    if value.strip() == "*":
        return None
    # The value is well-formed, so its quoted strings are exactly its tags (an opaque tag may hold
    # a comma, never a quote); empty list elements, which the RFC allows, hold none.
    return frozenset(
        int(opaque)
        for weak, opaque in _TAGS.findall(value)
        if not weak and _VERSION.fullmatch(opaque) and int(opaque) <= MAX_ID
    )
