"""Customers API, including atomic case-insensitive email uniqueness."""

from __future__ import annotations

import pytest

JOHN = {"name": "John Doe", "email": "john@example.com", "phone": "123-456-7890", "address": "123 Main St"}


def create(api, **overrides):
    r = api.post("/api/customers", {**JOHN, **overrides})
    assert r.status == 201, r.raw
    return r.json


def test_seed_example_creates_customer_1(api):
    r = api.post("/api/customers", JOHN)
    assert r.status == 201
    assert r.json["id"] == 1
    assert r.json | JOHN == r.json
    assert r.header("Location") == "/api/customers/1"


def test_get_list_and_delete(api):
    create(api)
    create(api, email="jane@example.com", name="Jane")
    assert api.get("/api/customers/2").json["name"] == "Jane"
    assert [c["id"] for c in api.get("/api/customers").json] == [1, 2]
    assert api.delete("/api/customers/1").status == 204
    assert api.get("/api/customers/1").status == 404
    assert [c["id"] for c in api.get("/api/customers").json] == [2]


def test_duplicate_email_is_409_case_insensitively(api, cloud):
    create(api)
    r = api.post("/api/customers", {**JOHN, "email": "JOHN@Example.COM"})
    assert r.status == 409
    assert "john@example.com".casefold() in r.json["detail"].casefold()
    assert [c["id"] for c in api.get("/api/customers").json] == [1]


def test_deleting_a_customer_frees_the_email(api):
    create(api)
    api.delete("/api/customers/1")
    assert api.post("/api/customers", JOHN).status == 201


def test_changing_email_moves_the_uniqueness_claim(api):
    create(api)
    create(api, email="jane@example.com")
    assert api.put("/api/customers/2", {"email": "john@example.com"}).status == 409
    r = api.put("/api/customers/1", {"email": "johnny@example.com"})
    assert r.status == 200 and r.json["email"] == "johnny@example.com"
    # the old address is free again, the new one is taken
    assert api.put("/api/customers/2", {"email": "JOHN@example.com"}).status == 200
    assert api.post("/api/customers", {**JOHN, "email": "johnny@example.com"}).status == 409


def test_changing_only_the_case_of_the_email_is_allowed(api):
    create(api)
    r = api.put("/api/customers/1", {"email": "John@Example.com"})
    assert r.status == 200
    assert r.json["email"] == "John@Example.com"  # stored as given (docs/adr/0021)


def test_put_partial_update_and_clear_optional_field(api):
    create(api)
    r = api.put("/api/customers/1", {"phone": None, "address": "1 New Rd"})
    assert r.status == 200
    assert "phone" not in r.json or r.json["phone"] is None
    assert r.json["address"] == "1 New Rd" and r.json["name"] == "John Doe"


def test_stale_if_match_is_412_for_email_change(api):
    create(api)
    api.put("/api/customers/1", {"name": "J"})
    r = api.put("/api/customers/1", {"email": "x@example.com"}, headers={"If-Match": '"1"'})
    assert r.status == 412
    assert api.post("/api/customers", {**JOHN, "email": "x@example.com"}).status == 201


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "a@example.com"}, ["name"]),
        ({"name": "A"}, ["email"]),
        ({"name": "A", "email": "not-an-email"}, ["email"]),
        ({"name": "A", "email": "a@example.com", "phone": "call me"}, ["phone"]),
        ({"name": "A" * 201, "email": "a@example.com"}, ["name"]),
        ({"name": 5, "email": "a@example.com"}, ["name"]),
        ({"name": "A", "email": "a@example.com", "vip": True}, ["vip"]),
    ],
)
def test_invalid_customers_are_422_naming_each_field(api, body, fields):
    r = api.post("/api/customers", body)
    assert r.status == 422
    assert sorted(e["field"] for e in r.json["errors"]) == fields
