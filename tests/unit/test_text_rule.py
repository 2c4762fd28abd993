"""The text rule itself (sales_common.models, docs/text.md), code point by code point, and the
check that every text field of every request model is under it. No AWS."""

from __future__ import annotations

import importlib
import re
import types
import typing
import unicodedata

import pytest
from pydantic import BaseModel, ValidationError

from sales_common.models import (
    MULTI_LINE,
    MULTI_LINE_PATTERN,
    SINGLE_LINE,
    SINGLE_LINE_PATTERN,
    ApiModel,
    TextRule,
    check_text,
)

CC = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
SURROGATES = [chr(c) for c in range(0xD800, 0xE000)]


def accepted(text: str, multiline: bool) -> bool:
    try:
        check_text(text, multiline=multiline)
    except ValueError:
        return False
    return True


def test_every_control_character_is_refused_and_only_line_breaks_pass_in_multi_line_text():
    assert len(CC) == 65  # U+0000-U+001F, U+007F-U+009F
    assert not any(accepted(f"a{c}b", multiline=False) for c in CC)
    assert [c for c in CC if accepted(f"a{c}b", multiline=True)] == ["\n", "\r"]


def test_unicode_line_separators_are_line_breaks():
    for c in ("\u2028", "\u2029"):
        assert not accepted(c, multiline=False)
        assert accepted(c, multiline=True)


@pytest.mark.parametrize("multiline", [False, True])
def test_bidirectional_formatting_characters_and_lone_surrogates_are_refused(multiline):
    assert not any(accepted(f"x{c}y", multiline) for c in BIDI + SURROGATES)
    # the bidi *marks* (LRM, RLM, ALM) are ordinary text
    assert all(accepted(f"x{c}y", multiline) for c in ("\u200e", "\u200f", "\u061c"))


def test_accepted_text_comes_back_in_nfc():
    assert check_text("Cafe\u0301") == "Caf\u00e9"
    assert check_text("\u212b") == "\u00c5"  # ANGSTROM SIGN -> LATIN CAPITAL A WITH RING ABOVE
    assert check_text("ﬁ") == "ﬁ"  # NFC, not NFKC: compatibility characters stay
    assert check_text(5) == 5  # not text: left to the field's type check


def test_the_message_names_the_character_not_the_text():
    with pytest.raises(ValueError, match=r"U\+202E") as caught:
        check_text("secret\u202eexe")
    assert "secret" not in str(caught.value).split("input_value")[0]


@pytest.mark.slow  # every code point, twice: ~10 s
@pytest.mark.parametrize(("pattern", "multiline"), [(SINGLE_LINE_PATTERN, False), (MULTI_LINE_PATTERN, True)])
def test_the_published_json_schema_pattern_is_the_rule(pattern, multiline):
    """Every code point but the surrogates (which a pattern cannot single out): the pattern in the
    OpenAPI document accepts exactly what the API accepts."""
    compiled = re.compile(pattern)
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        text = f"a{chr(code)}b"
        assert (compiled.fullmatch(text) is not None) == accepted(text, multiline), f"U+{code:04X}"


def _request_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for service in ("products", "customers", "orders"):
        module = importlib.import_module(f"{service}.models")
        found += [
            m
            for m in vars(module).values()
            if isinstance(m, type) and issubclass(m, ApiModel) and m.__module__ == module.__name__
        ]
    return found


def _parts(annotation: object) -> list[tuple[object, list[object]]]:
    """(type, its Annotated metadata) for each alternative of `annotation` (unions unfolded)."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return [(t, [*m, *metadata]) for t, m in _parts(inner)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [p for arg in typing.get_args(annotation) for p in _parts(arg)]
    return [(annotation, [])]


def test_every_text_field_of_every_request_model_is_under_the_rule():
    models = _request_models()
    assert {m.__name__ for m in models} >= {"ProductCreate", "ProductUpdate", "CustomerCreate", "StockAdjustmentCreate"}
    text_fields = []
    for model in models:
        for name, info in model.model_fields.items():
            for kind, metadata in _parts(info.annotation):
                if kind is not str:
                    continue
                text_fields.append(f"{model.__name__}.{name}")
                rules = [m for m in [*metadata, *info.metadata] if isinstance(m, TextRule)]
                assert rules, f"{model.__name__}.{name} is text without the text rule"
    assert len(text_fields) == 13, text_fields


def test_a_model_field_refuses_and_normalises():
    class Probe(BaseModel):
        line: typing.Annotated[str, SINGLE_LINE]
        block: typing.Annotated[str, MULTI_LINE] = ""

    assert Probe(line="e\u0301").line == "\u00e9"
    with pytest.raises(ValidationError) as caught:
        Probe(line="a\nb")
    assert caught.value.errors()[0]["loc"] == ("line",)
    assert Probe(line="x", block="a\nb").block == "a\nb"
