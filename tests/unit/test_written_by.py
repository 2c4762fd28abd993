"""How an update tells its own write (applied, answer lost, retried by the SDK) from another's:
the stored item carries this write's token, the instant it chose and every field as it set them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from sales_common.dynamo import _written_by, to_item

NOW = "2026-12-07T10:00:00.123Z"
# update_op's shape: price set, phone removed
TOKEN = "5f0c2a9e4b7d41e8a3c6f1d2e0b9a874"
OP = {
    "ExpressionAttributeNames": {"#updatedAt": "updatedAt", "#writeId": "writeId", "#f0": "price", "#f1": "phone"},
    "ExpressionAttributeValues": to_item({":one": 1, ":now": NOW, ":writeId": TOKEN, ":v0": Decimal("2.5")}),
}
MINE = {"pk": "PRODUCT#1", "updatedAt": NOW, "writeId": TOKEN, "price": Decimal("2.5"), "version": 2}


def failed(item, code="ConditionalCheckFailedException"):
    response = {"Error": {"Code": code, "Message": "x"}}
    if item is not None:
        response["Item"] = to_item(item)
    return ClientError(response, "UpdateItem")


def test_the_item_this_request_wrote_is_its_write():
    assert _written_by(failed(MINE), OP) == MINE


@pytest.mark.parametrize(
    "stored",
    [
        {**MINE, "updatedAt": "2026-12-07T10:00:00.124Z"},  # another instant: another writer
        # another request's write of the same change in the same millisecond: another token
        {**MINE, "writeId": "0" * 32},
        {k: v for k, v in MINE.items() if k != "writeId"},  # written by an update without a token
        {**MINE, "price": Decimal("3")},  # a field not as this request set it
        {**MINE, "phone": "555"},  # a field this request removed is there
        None,  # nothing stored
    ],
    ids=[
        "other-instant",
        "same-change-same-instant-other-write",
        "no-token",
        "other-value",
        "removed-field-present",
        "no-item",
    ],
)
def test_anything_else_is_not(stored):
    assert _written_by(failed(stored), OP) is None


def test_only_a_failed_condition_is_looked_at():
    assert _written_by(failed(MINE, code="ValidationException"), OP) is None
    assert _written_by(RuntimeError("boom"), OP) is None


def test_every_update_carries_a_token_of_its_own(monkeypatch):
    from sales_common.dynamo import EntityStore, from_item
    from sales_common.settings import ServiceSettings

    class Things(EntityStore):  # type: ignore[type-arg]
        entity = "thing"

    store = Things(ServiceSettings(TABLE_NAME="t"))
    first, second = (store.update_op(1, {"price": Decimal("2.5")}, 1) for _ in range(2))
    tokens = [from_item(op["ExpressionAttributeValues"])[":writeId"] for op in (first, second)]
    assert tokens[0] != tokens[1] and all(len(t) == 32 for t in tokens)
    assert (
        "#writeId = :writeId" in first["UpdateExpression"]
        and first["ExpressionAttributeNames"]["#writeId"] == "writeId"
    )
