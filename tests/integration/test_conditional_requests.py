"""Conditional requests per RFC 9110 on every PUT and DELETE: a syntactically valid If-Match that
names no current version is a 412 and changes nothing; weak tags never match; a list matches when
one of its tags does; `*` matches any entity; an invalid value is a 400; an unknown id stays a
404 whatever the If-Match."""

from __future__ import annotations

import pytest

ENTITIES = {
    "products": {"name": "Laptop", "price": 10, "stock": 5},
    "customers": {"name": "Ann", "email": "ann@example.com"},
}
CHANGES = {"products": {"name": "Laptop 2"}, "customers": {"name": "Ann B"}, "orders": {"status": "SHIPPED"}}


def _create(api, kind: str) -> tuple[str, int]:
    if kind == "orders":
        assert api.post("/api/products", ENTITIES["products"]).status == 201
        assert api.post("/api/customers", ENTITIES["customers"]).status == 201
        body = {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}
    else:
        body = ENTITIES[kind]
    r = api.post(f"/api/{kind}", body)
    assert r.status == 201, r.raw
    return f"/api/{kind}/{r.json['id']}", r.json["version"]


def _write(api, method: str, kind: str, url: str, if_match: str):
    headers = {"If-Match": if_match}
    if method == "PUT":
        return api.put(url, CHANGES[kind], headers=headers)
    return api.delete(url, headers=headers)


KINDS = ["products", "customers", "orders"]
METHODS = ["PUT", "DELETE"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("if_match", ['"anything-else"', 'W/"1"', '"2", W/"1"', '"0"', '""', '"1.0"'])
def test_a_valid_tag_that_names_no_current_version_is_412_and_changes_nothing(api, kind, method, if_match):
    url, version = _create(api, kind)
    before = api.get(url).json
    r = _write(api, method, kind, url, if_match)
    assert r.status == 412, r.raw
    assert r.header("Content-Type") == "application/problem+json"
    assert f'ETag "{version}"' in r.json["detail"] and "GET it again" in r.json["detail"]
    assert api.get(url).json == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("if_match", ['"1"', '"7", "1"', 'W/"3", "1"', "*", ' "1" '])
def test_a_tag_list_that_names_the_current_version_or_star_applies(api, kind, method, if_match):
    url, _ = _create(api, kind)
    r = _write(api, method, kind, url, if_match)
    assert r.status == (200 if method == "PUT" else 204), r.raw


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("if_match", ["1", "null", '"1', '*, "1"', "W/1"])
def test_an_if_match_that_is_no_list_of_entity_tags_is_400(api, kind, method, if_match):
    url, _ = _create(api, kind)
    before = api.get(url).json
    r = _write(api, method, kind, url, if_match)
    assert r.status == 400, r.raw
    assert r.json["errors"][0]["field"] == "if-match"
    assert api.get(url).json == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_id_is_404_whatever_the_if_match(api, kind, method):
    for if_match in ('"1"', '"anything-else"', "*"):
        assert _write(api, method, kind, f"/api/{kind}/77", if_match).status == 404


def test_the_stale_version_of_a_list_is_412_after_a_change(api):
    url, _ = _create(api, "products")
    assert api.put(url, {"name": "x"}).status == 200  # now version 2
    assert api.put(url, {"name": "y"}, headers={"If-Match": '"1", "3"'}).status == 412
    assert api.put(url, {"name": "y"}, headers={"If-Match": '"1", "2"'}).status == 200
