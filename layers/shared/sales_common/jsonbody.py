"""Strict parsing of request bodies: JSON that the standard parser accepts but that would crash or
mislead us later is refused with a 400 before any model sees it.

* nesting deeper than `MAX_DEPTH` (the C parser recurses; 8,000 levels raise RecursionError),
* number literals longer than `MAX_NUMBER_CHARS` (Python refuses ints over 4,300 digits with
  ValueError; DynamoDB keeps 38 significant digits),
* numbers whose magnitude DynamoDB cannot store (1E-130 to 9.9E+125; `1e-999999999` underflows
  in boto3),
* `NaN`, `Infinity` (not JSON),
* duplicate keys in one object (which value was meant?).

Floats are parsed as `Decimal`, never float: money stays exact.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sales_common.errors import MalformedJson

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
# DynamoDB's number range: positive magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125
MIN_ADJUSTED_EXPONENT = -130
MAX_ADJUSTED_EXPONENT = 125

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _refuse(detail: str) -> MalformedJson:
    return MalformedJson(f"{detail} Fix the request body and send it again.")


def _check_depth(text: str) -> None:
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise _refuse(f"The request body nests deeper than {MAX_DEPTH} levels.")


def _number_literal(literal: str) -> None:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _refuse(f"A number in the request body is longer than {MAX_NUMBER_CHARS} characters.")


def _int(literal: str) -> int:
    _number_literal(literal)
    return int(literal)


def _decimal(literal: str) -> Decimal:
    _number_literal(literal)
    value = Decimal(literal)
    if value and not MIN_ADJUSTED_EXPONENT <= value.adjusted() <= MAX_ADJUSTED_EXPONENT:
        raise _refuse(f"The number {literal} is outside the range this API stores (1E-130 to 9.9E+125).")
    return value


def _constant(name: str) -> Any:
    raise _refuse(f"{name} is not a JSON number.")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _refuse(f"The key {key[:64]!r} appears more than once in one object.")
        result[key] = value
    return result


def loads(text: str | bytes) -> Any:
    """Parse a request body; MalformedJson (400) for anything listed in the module docstring."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    _check_depth(text)
    try:
        return json.loads(
            text, parse_float=_decimal, parse_int=_int, parse_constant=_constant, object_pairs_hook=_object
        )
    except RecursionError as exc:  # defence in depth: _check_depth should have refused it
        raise _refuse("The request body nests too deeply.") from exc
