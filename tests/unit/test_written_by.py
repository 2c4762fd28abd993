"""How an update tells its own write (applied, answer lost, retried by the SDK) from another's:
the stored item carries the instant this request chose and every field as it set them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from sales_common.dynamo import _written_by, to_item

NOW = "2026-12-07T10:00:00.123Z"
# update_op's shape: price set, phone removed
OP = {
    "ExpressionAttributeNames": {"#updatedAt": "updatedAt", "#f0": "price", "#f1": "phone"},
    "ExpressionAttributeValues": to_item({":one": 1, ":now": NOW, ":v0": Decimal("2.5")}),
}
MINE = {"pk": "PRODUCT#1", "updatedAt": NOW, "price": Decimal("2.5"), "version": 2}


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
        {**MINE, "price": Decimal("3")},  # a field not as this request set it
        {**MINE, "phone": "555"},  # a field this request removed is there
        None,  # nothing stored
    ],
    ids=["other-instant", "other-value", "removed-field-present", "no-item"],
)
def test_anything_else_is_not(stored):
    assert _written_by(failed(stored), OP) is None


def test_only_a_failed_condition_is_looked_at():
    assert _written_by(failed(MINE, code="ValidationException"), OP) is None
    assert _written_by(RuntimeError("boom"), OP) is None
