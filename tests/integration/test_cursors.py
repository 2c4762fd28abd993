"""Cursors cannot be forged or replayed: signed with the deployment's secret, bound to their list
and filters, invalid once the secret has rotated twice -- each a clean 400."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


def next_cursor(reply) -> str:
    link = reply.header("Link")
    assert link, reply
    return parse_qs(urlsplit(link.split(";")[0].strip("<>")).query)["cursor"][0]


@pytest.fixture
def shop(api):
    for i in range(1, 4):
        assert api.post("/api/products", {"name": f"P{i}", "price": 1, "stock": 100}).status == 201
        assert api.post("/api/customers", {"name": f"C{i}", "email": f"c{i}@example.com"}).status == 201
    for customer in (1, 1, 1, 3, 3, 3):
        order = {"customerId": customer, "items": [{"productId": 1, "quantity": 1}]}
        assert api.post("/api/orders", order).status == 201
    return api


def test_cursor_pages_through_its_own_list(shop):
    first = shop.get("/api/products", query={"limit": 2})
    second = shop.get("/api/products", query={"limit": 2, "cursor": next_cursor(first)})
    assert [p["id"] for p in first.json + second.json] == [1, 2, 3]


def test_products_cursor_replayed_on_customers_is_400(shop):
    cursor = next_cursor(shop.get("/api/products", query={"limit": 1}))
    r = shop.get("/api/customers", query={"cursor": cursor})
    assert r.status == 400
    assert "another list" in r.json["detail"]


def test_cursor_of_one_filter_replayed_with_another_is_400(shop):
    cursor = next_cursor(shop.get("/api/orders", query={"customerId": 3, "limit": 1}))
    assert shop.get("/api/orders", query={"customerId": 3, "cursor": cursor}).status == 200
    for other in ({"customerId": 1}, {}, {"customerId": 3, "status": "CONFIRMED"}):
        assert shop.get("/api/orders", query={**other, "cursor": cursor}).status == 400, other


def test_cursor_forged_with_the_old_public_key_is_400(shop):
    from sales_common.listing import encode_cursor, scope_of

    forged = encode_cursor(
        {"entity": {"S": "product"}, "id": {"N": "1"}, "pk": {"S": "PRODUCT#1"}},
        "sales-cursor-v1",
        scope_of("/api/products"),
    )
    assert shop.get("/api/products", query={"cursor": forged}).status == 400


def test_a_key_rotated_out_twice_invalidates_its_cursors_cleanly(shop, cloud):
    """A rotation keeps the previous key valid (tests/integration/test_cursor_rotation.py); the
    next one retires it."""
    from sales_common.listing import forget_signing_keys

    cursor = next_cursor(shop.get("/api/products", query={"limit": 1}))
    for key in ("r", "s"):  # a new current version each; the old current becomes the previous one
        cloud.secretsmanager.put_secret_value(SecretId="CursorSigningSecret", SecretString=key * 64)
    forget_signing_keys()  # a container that reads the rotated secret
    r = shop.get("/api/products", query={"cursor": cursor})
    assert r.status == 400
    assert r.header("Content-Type") == "application/problem+json"
    fresh = next_cursor(shop.get("/api/products", query={"limit": 1}))
    assert shop.get("/api/products", query={"cursor": fresh}).status == 200


def test_the_key_is_the_deployments_secret(shop, cloud):
    """A cursor signed with the secret's value verifies; the value is generated per deployment."""
    from sales_common.listing import encode_cursor, scope_of

    key = cloud.secrets["CursorSigningSecret"]
    assert len(key) == 64
    cursor = encode_cursor(
        {"listKey": {"S": "product#ACTIVE"}, "listSort": {"N": "1"}, "pk": {"S": "PRODUCT#1"}},
        key,
        scope_of("/api/products", {"status": "ACTIVE"}),
    )
    assert [p["id"] for p in shop.get("/api/products", query={"cursor": cursor}).json] == [2, 3]


def test_an_order_cursor_is_bound_to_the_lists_url_so_it_outlives_a_deploy(shop, cloud):
    """The scope a cursor of GET /api/orders is signed for is the list's URL: its path and its
    filters under their query-string names (in a canonical order). A client paging through a
    filtered list across a deploy of the same API keeps a valid cursor: the scope does not depend
    on how the code happens to name things."""
    from sales_common.listing import decode_cursor, scope_of

    user = shop.get("/api/orders", query={"limit": 1}).json[0]["createdBy"]
    filters = {"customerId": 3, "status": "CONFIRMED", "createdBy": user}
    cursor = next_cursor(shop.get("/api/orders", query={**filters, "limit": 1}))

    from orders.repository import BY_CUSTOMER
    from sales_common.shards import valid_positions

    key = cloud.secrets["CursorSigningSecret"]
    assert decode_cursor(cursor, key, scope_of("/api/orders", filters), lambda p: valid_positions(p, BY_CUSTOMER[0]))


def test_a_dated_reversed_order_cursor_is_bound_to_from_to_and_order_by_their_query_names(shop, cloud):
    """As above for the time lists: `from` and `to` (as the instants they stand for) and `order`
    are in the scope under their query-string names, so a cursor of one date range or one order
    is refused on another (and survives a deploy that renames them in the code)."""
    from orders.repository import ALL_ORDERS
    from sales_common.listing import decode_cursor, scope_of, utc_instant
    from sales_common.shards import valid_positions

    dates = {"from": "2000-01-01", "to": "9999-01-01"}
    cursor = next_cursor(shop.get("/api/orders", query={**dates, "order": "desc", "limit": 1}))
    scope = scope_of("/api/orders", {**{k: utc_instant(v, k) for k, v in dates.items()}, "order": "desc"})
    key = cloud.secrets["CursorSigningSecret"]
    assert decode_cursor(cursor, key, scope, lambda p: valid_positions(p, ALL_ORDERS[1]))
    for other in (
        {**dates, "order": "asc"},
        {"from": "2000-01-01", "order": "desc"},
        {"to": "9999-01-01", "order": "desc"},
    ):
        assert shop.get("/api/orders", query={**other, "limit": 1, "cursor": cursor}).status == 400, other


def test_an_order_cursor_from_before_the_sharded_lists_is_400(shop, cloud):
    """A cursor of the orders' list as it was before sharding (one index key, docs/adr/0040) is
    refused as stale, not sent to DynamoDB with the wrong key shape."""
    from sales_common.listing import encode_cursor, scope_of

    old = encode_cursor(
        {"entity": {"S": "order"}, "id": {"N": "1"}, "pk": {"S": "ORDER#1"}},
        cloud.secrets["CursorSigningSecret"],
        scope_of("/api/orders"),
    )
    assert shop.get("/api/orders", query={"cursor": old}).status == 400


def test_a_cursor_of_the_product_list_from_before_statuses_is_400(shop, cloud):
    """Cursors issued before products had a status (byEntity keys, scope without the status) are
    refused as stale, not sent to DynamoDB with the wrong key shape."""
    from sales_common.listing import encode_cursor, scope_of

    old = encode_cursor(
        {"entity": {"S": "product"}, "id": {"N": "1"}, "pk": {"S": "PRODUCT#1"}},
        cloud.secrets["CursorSigningSecret"],
        scope_of("/api/products"),
    )
    assert shop.get("/api/products", query={"cursor": old}).status == 400


def test_each_deployment_generates_its_own_key():
    import boto3
    from moto import mock_aws

    from localcloud.provision import create_secrets
    from tests.support.apigw import template

    keys = []
    for _ in range(2):
        with mock_aws():
            keys.append(create_secrets(boto3.client("secretsmanager", region_name="us-east-1"), template()))
    assert keys[0]["CursorSigningSecret"] != keys[1]["CursorSigningSecret"]
    assert all(c.isalnum() for c in keys[0]["CursorSigningSecret"])  # ExcludePunctuation
