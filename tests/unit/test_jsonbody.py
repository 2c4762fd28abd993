"""The request-body parser's documented limits, at their exact boundaries (docs/api.md, errors:
"nested deeper than 32, a number literal over 40 characters or outside DynamoDB's range (1E-130
to 9.9E+125), NaN/Infinity, a key repeated in one object"). The numbers are written out here,
not read from the module: a limit moved by one must fail these tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sales_common.errors import MalformedJson
from sales_common.jsonbody import loads


def nested(depth: int, inner: str = "") -> str:
    """`depth` levels of alternating arrays and objects around `inner`."""
    text = inner
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k": {text or "1"}}}'
    return text


@pytest.mark.parametrize("depth", [1, 31, 32])
def test_nesting_up_to_32_levels_is_parsed(depth):
    value = loads(nested(depth))
    for _ in range(depth):  # exactly `depth` containers, the innermost holding 1
        value = value["k"] if isinstance(value, dict) else value[0]
    assert value == 1


@pytest.mark.parametrize("depth", [33, 34, 8000])
def test_nesting_deeper_than_32_levels_is_refused(depth):
    with pytest.raises(MalformedJson, match="deeper than 32 levels"):
        loads(nested(depth))


def test_depth_counts_only_open_containers():
    """Closed containers give their level back: 32 siblings of depth 32 are still depth 32."""
    sibling = nested(31, "1")
    assert len(loads("[" + ", ".join([sibling] * 32) + "]")) == 32
    with pytest.raises(MalformedJson):
        loads("[" + sibling + ", " + nested(32, "1") + "]")


def test_brackets_inside_strings_are_not_nesting():
    text = '{"a": "' + "[{" * 100 + '", "b": "\\"[[[[", "c": ["]]]]"]}'
    assert loads(text) == {"a": "[{" * 100, "b": '"[[[[', "c": ["]]]]"]}


@pytest.mark.parametrize("literal", ["1" * 40, "-" + "1" * 39, "0." + "1" * 38, "1" * 38 + "E1"])
def test_number_literals_of_40_characters_are_parsed(literal):
    assert loads(f'{{"n": {literal}}}') == {"n": Decimal(literal) if not literal.isdigit() else int(literal)}


@pytest.mark.parametrize("literal", ["1" * 41, "-" + "1" * 40, "0." + "1" * 39, "1" * 39 + "E1", "9" * 4301])
def test_number_literals_over_40_characters_are_refused(literal):
    with pytest.raises(MalformedJson, match="longer than 40 characters"):
        loads(f"[{literal}]")


def test_integers_stay_integers_and_fractions_are_exact_decimals():
    parsed = loads('{"i": 10, "d": 0.1, "e": 2E2}')
    assert parsed == {"i": 10, "d": Decimal("0.1"), "e": Decimal("2E2")}
    assert type(parsed["i"]) is int
    assert type(parsed["d"]) is Decimal


@pytest.mark.parametrize("literal", ["1E-130", "9.9E+125", "9.99E+125", "-1E-130", "-9.9E+125", "0.0", "0E-999"])
def test_numbers_dynamodb_stores_are_parsed(literal):
    assert loads(f"[{literal}]") == [Decimal(literal)]


@pytest.mark.parametrize("literal", ["1E-131", "9.9E-131", "1E+126", "-1E+126", "-1E-131", "1e-999999999"])
def test_numbers_beyond_dynamodbs_range_are_refused(literal):
    with pytest.raises(MalformedJson, match="outside the range this API stores"):
        loads(f"[{literal}]")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(literal):
    with pytest.raises(MalformedJson, match=f"{literal} is not a JSON number"):
        loads(f"[{literal}]")


def test_a_key_repeated_in_one_object_is_refused_and_named():
    with pytest.raises(MalformedJson, match="'price' appears more than once"):
        loads('{"price": 1, "name": "x", "price": 2}')
    # ... but the same key in two objects is two keys
    assert loads('[{"price": 1}, {"price": 2}]') == [{"price": 1}, {"price": 2}]


def test_bytes_are_utf8():
    assert loads('{"name": "Grüße"}'.encode()) == {"name": "Grüße"}


def test_malformed_json_is_not_a_malformed_json_error_of_ours():
    """Plain syntax errors are left to the caller (api.py answers them 400 too)."""
    with pytest.raises(ValueError):
        loads("{")


def test_a_repeated_key_is_named_by_its_first_64_characters():
    key = "k" * 64 + "TAIL"
    with pytest.raises(MalformedJson) as refused:
        loads(f'{{"{key}": 1, "{key}": 2}}')
    assert (
        refused.value.args[0]
        == f"The key {'k' * 64!r} appears more than once in one object. Fix the request body and send it again."
    )


def test_without_the_depth_check_a_body_too_deep_for_the_parser_is_still_a_400(monkeypatch):
    """Defence in depth: should the depth check miss a body, the parser's RecursionError (8,000
    levels) is a 400 too, never a 500."""
    from sales_common import jsonbody

    monkeypatch.setattr(jsonbody, "_check_depth", lambda text: None)
    with pytest.raises(MalformedJson) as refused:
        loads("[" * 100_000 + "]" * 100_000)
    assert refused.value.args[0] == "The request body nests too deeply. Fix the request body and send it again."
