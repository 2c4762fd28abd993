"""A Query's KeyConditionExpression is refused when a condition in it is not a condition, as
DynamoDB refuses it.

moto 5.2's key condition parser reads conditions until the first one it can use per key and
drops whatever follows an `AND` that it cannot read: `pk = :v AND XXXX` and `pk = :v AND` are
answered as if they were `pk = :v`, where DynamoDB answers a ValidationException ("Invalid
KeyConditionExpression: Syntax error"). A malformed key condition built by the code (say a sort
key condition left empty or garbled) would pass every local test and fail on its first request
in AWS. :func:`install` checks that every `AND`-separated part of the expression is a key
condition -- `a = b`, `a < b`, `a <= b`, `a > b`, `a >= b`, `a BETWEEN b AND c` or
`begins_with(a, b)`, in optional parentheses -- before moto's parser reads it.
tests/localcloud/test_dynamodb_key_conditions.py holds the cases.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from localcloud.patching import patch

_OPERAND = r"[#:]?[A-Za-z0-9_.\-]+"
_CONDITION = re.compile(
    rf"\(*\s*(?:{_OPERAND}\s*(?:<=|>=|=|<|>)\s*{_OPERAND}"
    rf"|{_OPERAND}\s+BETWEEN\s+{_OPERAND}\s+AND\s+{_OPERAND}"
    rf"|begins_with\s*\(\s*{_OPERAND}\s*,\s*{_OPERAND}\s*\))\s*\)*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s*AND\s+", re.IGNORECASE)


def malformed(expression: str) -> str | None:
    """The first part of `expression` that is not a key condition (None: all are)."""
    text = expression.strip()
    while True:
        match = _CONDITION.match(text)
        if match is None:
            return text.split()[0] if text.split() else "<EOF>"
        text = text[match.end() :]
        if not text.strip():
            return None
        joint = _AND.match(text)
        if joint is None:
            return text.split()[0]
        text = text[joint.end() :]
        if not text.strip():
            return "<EOF>"


@patch
def install() -> None:
    from moto.dynamodb import responses
    from moto.dynamodb.exceptions import MockValidationException

    parse = responses.parse_expression

    @functools.wraps(parse)
    def checked(key_condition_expression: str, *args: Any, **kwargs: Any) -> Any:
        token = malformed(key_condition_expression)
        if token is not None:
            raise MockValidationException(f'Invalid KeyConditionExpression: Syntax error; token: "{token}"')
        return parse(key_condition_expression, *args, **kwargs)

    responses.parse_expression = checked
