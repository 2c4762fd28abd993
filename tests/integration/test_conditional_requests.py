"""Conditional requests per RFC 9110 on every PUT and DELETE: a syntactically valid If-Match that
names no current version is a 412 and changes nothing; weak tags never match; a list matches when
one of its tags does; `*` matches any entity; an invalid value is a 400; an unknown id stays a
404 whatever the If-Match."""

from __future__ import annotations

import itertools

import pytest

ENTITIES = {
    "products": {"name": "Laptop", "price": 10, "stock": 5},
    "customers": {"name": "Ann", "email": "ann@example.com"},
}
CHANGES = {"products": {"name": "Laptop 2"}, "customers": {"name": "Ann B"}, "orders": {"status": "SHIPPED"}}


_emails = itertools.count(1)


def _create(api, kind: str) -> tuple[str, int]:
    """A new entity of `kind` (at version 1): its URL and version."""
    if kind == "customers":
        body = {**ENTITIES["customers"], "email": f"ann{next(_emails)}@example.com"}
    elif kind == "orders":
        product = api.post("/api/products", ENTITIES["products"]).json["id"]
        customer = _create(api, "customers")[0].rsplit("/", 1)[1]
        body = {"customerId": int(customer), "items": [{"productId": product, "quantity": 1}]}
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
# Valid entity-tags (RFC 9110) that name no current version of a new entity (version 1).
NO_MATCH = ['"anything-else"', 'W/"1"', '"2", W/"1"', '"0"', '""', '"1.0"']
# Values that are no list of entity-tags.
INVALID = ["1", "null", '"1', '*, "1"', "W/1"]
# Values that match a new entity.
MATCH = ['"1"', '"7", "1"', 'W/"3", "1"', "*", ' "1" ']


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_if_match_as_rfc_9110_says(api, kind, method):
    """Per route: each valid tag that names no current version is a 412 and each invalid value a
    400, and neither changes anything; each matching value (a list with the tag, `*`) applies."""
    url, version = _create(api, kind)
    before = api.get(url).json
    for if_match in NO_MATCH:
        r = _write(api, method, kind, url, if_match)
        assert r.status == 412, (if_match, r.raw)
        assert r.header("Content-Type") == "application/problem+json"
        assert f'ETag "{version}"' in r.json["detail"] and "GET it again" in r.json["detail"]
    for if_match in INVALID:
        r = _write(api, method, kind, url, if_match)
        assert r.status == 400, (if_match, r.raw)
        assert r.json["errors"][0]["field"] == "if-match"
    assert api.get(url).json == before
    # Every matching form on products; one (a list naming the version) on the other kinds, whose
    # writes go through the same conditional write (sales_common.dynamo).
    for if_match in MATCH if kind == "products" else MATCH[1:2]:
        url, _ = _create(api, kind)  # a new entity at version 1 for each
        r = _write(api, method, kind, url, if_match)
        assert r.status == (200 if method == "PUT" else 204), (if_match, r.raw)


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
