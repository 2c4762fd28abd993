"""If-Match as RFC 9110 defines it (sales_common.preconditions): the one parser."""

from __future__ import annotations

import re

import pytest

from sales_common.models import MAX_ID
from sales_common.preconditions import IF_MATCH_PATTERN, InvalidIfMatch, parse_if_match


@pytest.mark.parametrize(
    ("value", "versions"),
    [
        ('"3"', {3}),
        ('"1", "2"', {1, 2}),
        (' "1" ,"2" ', {1, 2}),
        ('"1",,"2",', {1, 2}),  # empty list elements are allowed
        ('W/"3"', set()),  # a weak tag never matches in If-Match
        ('W/"3", "4"', {4}),
        ('"anything-else"', set()),  # valid, but no version of ours
        ('"a,b", "5"', {5}),  # a comma inside an opaque tag
        ('"0"', set()),
        ('"-1"', set()),
        ('"01"', set()),  # our ETags have no leading zeros: "01" is another tag
        (f'"{MAX_ID + 1}"', set()),
        ('"' + "1" * 39 + '"', set()),
        ('""', set()),
        ("", set()),
    ],
)
def test_a_list_of_entity_tags_names_the_versions_it_matches_strongly(value, versions):
    assert parse_if_match(value) == frozenset(versions)


@pytest.mark.parametrize("value", ["*", " * "])
def test_star_is_no_version_condition(value):
    assert parse_if_match(value) is None


def test_absent_is_no_condition():
    assert parse_if_match(None) is None


@pytest.mark.parametrize(
    "value", ["3", "null", '"3', '3"', "W/3", 'w/"3"', '*, "1"', '"1" "2"', '"a"b"', '"1"\x00', '"é€"', "**"]
)
def test_anything_else_is_invalid(value):
    with pytest.raises(InvalidIfMatch) as caught:
        parse_if_match(value)
    assert caught.value.status == 400
    assert 'If-Match: "3"' in caught.value.detail  # says what to send


def test_at_most_a_hundred_elements():
    assert parse_if_match(", ".join(['"1"'] * 100)) == {1}
    with pytest.raises(InvalidIfMatch):
        parse_if_match(", ".join(['"1"'] * 101))


def test_the_contract_pattern_is_the_parser():
    for value in ('"3"', 'W/"3", "x"', "*", "", '"1",,"2"'):
        assert re.fullmatch(IF_MATCH_PATTERN, value)
    for value in ("3", '*, "1"', '"3', "null"):
        assert not re.fullmatch(IF_MATCH_PATTERN, value)


def test_hostile_values_parse_in_linear_time():
    import time

    for value in (" ," * 5000 + "x", '"' + "a" * 4000, ' "1" ,' * 99 + " x"):
        started = time.perf_counter()
        with pytest.raises(InvalidIfMatch):
            parse_if_match(value)
        assert time.perf_counter() - started < 0.5
