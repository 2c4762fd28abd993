"""An Idempotency-Key stands for one placement of one user: the same key again (the same user,
the same body) is that placement, whatever else is in flight; another key, or the same key of
another user, is another placement. A retry that races the first request with its key waits for
that request's placement instead of being refused at once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from orders.placement import Deadline, Intent, start_budget_seconds
from sales_common.errors import Conflict

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

BODY = {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}


@pytest.fixture
def shop(api):
    assert api.post("/api/products", {"name": "Lamp", "price": 5, "stock": 10}).status == 201
    assert api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"}).status == 201
    return api


def place(api, key: str, user: str = "ann") -> Any:
    reply = api.post("/api/orders", BODY, headers={"Idempotency-Key": key}, role="sales", user=user)
    assert reply.status == 201, reply.raw
    return reply.json


def stock(api) -> int:
    return api.get("/api/products/1").json["stock"]


def test_two_keys_of_one_user_are_two_placements_and_each_is_kept(shop):
    first, second = place(shop, "k-1"), place(shop, "k-2")
    assert first["id"] != second["id"]
    assert stock(shop) == 6
    # each key still answers its own placement, interleaved
    assert place(shop, "k-1") == first
    assert place(shop, "k-2") == second
    assert place(shop, "k-1") == first
    assert stock(shop) == 6
    assert len(shop.get("/api/orders").json) == 2


def test_one_key_of_two_users_is_two_placements(shop):
    ann, bob = place(shop, "same", "ann"), place(shop, "same", "bob")
    assert ann["id"] != bob["id"]
    assert (ann["createdBy"], bob["createdBy"]) == ("ann", "bob")
    assert place(shop, "same", "bob") == bob
    assert place(shop, "same", "ann") == ann
    assert stock(shop) == 6


def test_without_a_key_every_request_is_a_new_placement(shop):
    ids = {shop.post("/api/orders", BODY).json["id"] for _ in range(2)}
    assert len(ids) == 2
    assert stock(shop) == 6


def test_a_different_body_under_a_users_key_is_422_but_not_under_another_users(shop):
    place(shop, "k", "ann")
    other = {**BODY, "items": [{"productId": 1, "quantity": 1}]}
    refused = shop.post("/api/orders", other, headers={"Idempotency-Key": "k"}, role="sales", user="ann")
    assert refused.status == 422
    assert refused.json["detail"] == (
        "This Idempotency-Key was already used with a different request body; use a new key for a new order."
    )
    placed = shop.post("/api/orders", other, headers={"Idempotency-Key": "k"}, role="sales", user="bob")
    assert placed.status == 201
    assert stock(shop) == 7


def test_a_key_stands_for_its_placement_for_24_hours(shop, cloud):
    """docs/api.md: keys expire after 24 h (the key's record's TTL; powertools' default is 1 h)."""
    before = time.time()
    place(shop, "k-day")
    after = time.time()

    (record,) = cloud.scan("IdempotencyTable")
    assert before + 24 * 3600 - 1 <= float(record["expiration"]) <= after + 24 * 3600 + 1


def test_a_key_is_held_in_progress_no_longer_than_the_invocation_can_run(shop, cloud):
    """Were the request preparing a key's placement to die, its retries would wait only until
    that invocation's time is over (the in-progress mark expires with the Lambda's deadline),
    not until the key expires a day later."""
    from tests.support.apigw import template

    timeout = float(template().function("CreateOrderFunction").timeout)
    before = time.time()
    place(shop, "k-held")
    after = time.time()

    (record,) = cloud.scan("IdempotencyTable")
    assert before * 1000 < float(record["in_progress_expiration"]) <= (after + timeout) * 1000 + 1


def test_the_key_store_is_called_within_the_limits_the_time_budgets_assume(shop, monkeypatch):
    """start_budget_seconds and decide_budget_seconds assume every DynamoDB call is bounded by
    sales_common.aws.LIMITS: the key store's calls too (a client of powertools' own making would
    wait a minute per read and retry on its own)."""
    from sales_common import aws

    seen: list[Intent] = []
    payload = Intent.payload

    def spy(self: Intent) -> tuple[dict[str, Any], bool]:
        seen.append(self)
        return payload(self)

    monkeypatch.setattr(Intent, "payload", spy)
    place(shop, "k-limits")

    config = seen[0].persistence.client.meta.config
    limits = aws.LIMITS["dynamodb"]
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (
        limits.connect_timeout,
        limits.read_timeout,
        limits.max_attempts,
    )


def test_a_request_whose_key_another_request_is_preparing_waits_then_answers_409(shop, cloud):
    """Through the function: another request holds the key in progress (it is preparing the
    placement) for longer than the wait: 409 in progress, nothing placed."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from orders.models import OrderCreate
    from orders.placement import KEY_PREFIX

    other = DynamoDBPersistenceLayer(table_name=cloud.tables["IdempotencyTable"], boto3_client=cloud.dynamodb)
    other.configure(
        IdempotencyConfig(event_key_jmespath="[user, key]", payload_validation_jmespath="body"),
        key_prefix=KEY_PREFIX.format(function="test-func"),
    )
    body = OrderCreate.model_validate(BODY).model_dump(mode="json", by_alias=True)
    other.save_inprogress(data={"user": "ann", "key": "k-busy", "body": body}, remaining_time_in_millis=60_000)

    reply = shop.post("/api/orders", BODY, headers={"Idempotency-Key": "k-busy"}, role="sales", user="ann")

    assert reply.status == 409, reply.raw
    assert reply.json["detail"] == "A request with this Idempotency-Key is still in progress; retry later."
    assert stock(shop) == 10
    assert shop.get("/api/orders").json == []


# ---------------------------------------------------------------- a retry racing the first request
class Context:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def intent(in_progress: int, wait_seconds: float, time_left: float = 30.0) -> tuple[Intent, list[float]]:
    """An Intent whose key's record is in progress (another request is preparing it) for the
    first `in_progress` looks, then holds that request's payload. Returns it and the look times."""
    looks: list[float] = []

    def prepared(request: dict[str, Any]) -> dict[str, Any]:
        looks.append(time.monotonic())
        if len(looks) <= in_progress:
            raise IdempotencyAlreadyInProgressError("in progress")
        return {"payload": {"orderId": 7}, "replayed": True}

    waiting = Intent.__new__(Intent)  # the persistence layer is what `prepared` stands in for
    waiting.deadline = Deadline(Context(time_left))  # type: ignore[arg-type]
    waiting.wait_seconds = wait_seconds
    waiting.request = {"user": "ann", "key": "k"}
    waiting._prepared = prepared
    return waiting, looks


def test_a_retry_racing_the_first_request_waits_for_its_payload():
    waiting, looks = intent(in_progress=5, wait_seconds=3.0)
    assert waiting.payload() == ({"orderId": 7}, True)
    assert len(looks) == 6
    assert 0.4 <= looks[-1] - looks[0] < 3.0  # it polled, briefly


def test_a_retry_gives_up_with_409_once_the_wait_is_over_not_before():
    waiting, looks = intent(in_progress=10**6, wait_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(Conflict) as refused:
        waiting.payload()
    assert 0.5 <= time.monotonic() - started < 2.5
    assert refused.value.detail == "A request with this Idempotency-Key is still in progress; retry later."
    assert len(looks) >= 3


def test_a_retry_without_time_to_start_the_workflow_is_409_at_once():
    waiting, looks = intent(in_progress=1, wait_seconds=3.0, time_left=start_budget_seconds() - 0.5)
    with pytest.raises(Conflict):
        waiting.payload()
    assert len(looks) == 1
