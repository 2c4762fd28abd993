"""The text rule (issue 24, docs/text.md) on every text field of every entity, through the API:
each forbidden class of character is a 422 naming the field, on create and on update, and
nothing is stored or changed; accepted text is stored in NFC."""

from __future__ import annotations

import json

import pytest

# (create route, update route or None, the other fields a valid body needs, the text field, multi-line?)
FIELDS = [
    ("/api/products", "/api/products/1", {"name": "P", "price": 1}, "name", False),
    ("/api/products", "/api/products/1", {"name": "P", "price": 1}, "description", True),
    ("/api/customers", "/api/customers/1", {"name": "C", "email": "c@example.com"}, "name", False),
    ("/api/customers", "/api/customers/1", {"name": "C", "email": "c@example.com"}, "email", False),
    ("/api/customers", "/api/customers/1", {"name": "C", "email": "c@example.com"}, "phone", False),
    ("/api/customers", "/api/customers/1", {"name": "C", "email": "c@example.com"}, "address", True),
    ("/api/products/1/stock-adjustments", None, {"delta": 1}, "reason", False),
]
FIELD_IDS = [f"{route.split('/')[2]}.{name}" for route, _, _, name, _ in FIELDS]
# A phone number has its own, narrower pattern (digits and a few signs): nothing to normalise.
NFC_FIELDS = [(f, i) for f, i in zip(FIELDS, FIELD_IDS, strict=True) if f[3] != "phone"]

# One of each class the rule refuses, in the middle of otherwise valid text. Lone surrogates
# cannot be written in a Python str that json.dumps keeps: they are sent as raw JSON escapes.
REFUSED_EVERYWHERE = {
    "NUL": "\x00",
    "C0 control (BEL)": "\x07",
    "TAB": "\t",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 control (NEL)": "\x85",
    "C1 control (CSI)": "\x9b",
    **{f"bidi U+{c:04X}": chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
LINE_BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "LINE SEPARATOR": "\u2028", "PARAGRAPH SEPARATOR": "\u2029"}
LONE_SURROGATES = {"high surrogate": "\\ud800", "low surrogate": "\\udfff", "reversed pair": "\\udc00\\ud800"}


def valid_value(name: str, inner: str = "") -> str:
    """A valid value of field `name` with `inner` in the middle."""
    if name == "email":
        return f"a{inner}b@example.com"
    if name == "phone":
        return f"123{inner}456"
    return f"Evil{inner}gpj.exe"


def cases(multiline: bool) -> list[tuple[str, str, bool]]:
    """(label, the text to insert, is it raw JSON) the rule refuses in such a field."""
    found = [(label, char, False) for label, char in REFUSED_EVERYWHERE.items()]
    found += [(label, escape, True) for label, escape in LONE_SURROGATES.items()]
    if not multiline:
        found += [(label, char, False) for label, char in LINE_BREAKS.items()]
    return found


def raw_body(body: dict, field: str, inner: str, is_raw: bool) -> str:
    marker = "\u0001MARK\u0001"
    text = json.dumps({**body, field: valid_value(field, marker if is_raw else inner)})
    return text.replace(json.dumps(marker)[1:-1], inner) if is_raw else text


def snapshot(cloud) -> list:
    return sorted(json.dumps(i, sort_keys=True, default=str) for t in cloud.tables for i in cloud.scan(t))


@pytest.fixture
def seeded(api):
    assert api.post("/api/products", {"name": "P", "price": 1}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    return api


def _assert_refused(reply, field: str) -> None:
    assert reply.status == 422, reply.raw
    problem = reply.json
    assert [e["field"] for e in problem["errors"]] == [field], problem
    assert problem["errors"][0]["type"] == "text_forbidden_character", problem


@pytest.mark.parametrize(("route", "update", "body", "field", "multiline"), FIELDS, ids=FIELD_IDS)
def test_every_forbidden_class_is_422_naming_the_field_and_nothing_changes(
    seeded, cloud, route, update, body, field, multiline
):
    before = snapshot(cloud)
    for label, inner, is_raw in cases(multiline):
        text = raw_body(body, field, inner, is_raw)
        _assert_refused(seeded.post(route, raw_body=text), field)
        if update:
            _assert_refused(seeded.put(update, raw_body=raw_body({}, field, inner, is_raw)), field)
        assert snapshot(cloud) == before, label


@pytest.mark.parametrize(
    ("route", "update", "body", "field", "multiline"), [f for f, _ in NFC_FIELDS], ids=[i for _, i in NFC_FIELDS]
)
def test_text_is_stored_in_nfc(seeded, cloud, route, update, body, field, multiline):
    decomposed = valid_value(field, "e\u0301")  # e + COMBINING ACUTE ACCENT
    composed = valid_value(field, "\u00e9")
    fresh = {**body, **({"email": "nfc@example.com"} if "email" in body else {})}  # c@example.com is taken
    r = seeded.post(route, {**fresh, field: decomposed})
    assert r.status in (200, 201), r.raw
    if field == "reason":
        stored = next(i for i in cloud.scan("ProductsTable") if i["pk"].startswith("STOCKADJ#"))
        assert stored["reason"] == composed
        return
    assert r.json[field] == composed
    changed = seeded.put(update, {field: decomposed})
    if field == "email":  # the same address as the customer just created, once normalised
        assert changed.status == 409, changed.raw
        return
    assert changed.json[field] == composed


def test_multi_line_fields_keep_their_line_breaks(seeded):
    text = "Line 1\nLine 2\r\nLine 3\u2028Line 4"
    assert seeded.put("/api/products/1", {"description": text}).json["description"] == text
    assert seeded.put("/api/customers/1", {"address": text}).json["address"] == text


def test_other_unicode_is_welcome(seeded):
    name = "Zoë Ångström-Łukasiewicz 李小龍 مرحبا 👩\u200d💻"  # ZWJ emoji, Arabic (no bidi controls)
    r = seeded.put("/api/customers/1", {"name": name})
    assert r.status == 200 and r.json["name"] == name
