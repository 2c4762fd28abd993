"""The per-user limit on placing orders (functions/orders/quota.py) with template.yaml's defaults:
a user may place OrderBurst orders at once and OrdersPerMinute a minute; beyond that 429
problem+json with Retry-After, and nothing is placed. Members of `integration` have their own,
higher limit. Racing requests of one user never take more than the bucket holds."""

from __future__ import annotations

import json
import threading
import time

import pytest

from sales_common.auth import Caller
from sales_common.errors import TooManyRequests
from tests.support.apigw import Reply, build_event, function_env, invoke, route, template

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")


def _default(name: str) -> int:
    return int(template().parameters[name]["Default"])


BURST, PER_MINUTE = _default("OrderBurst"), _default("OrdersPerMinute")
INTEGRATION_BURST, INTEGRATION_PER_MINUTE = _default("IntegrationOrderBurst"), _default("IntegrationOrdersPerMinute")
ORDER = {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}


def test_the_defaults_stop_a_flood_but_let_an_integration_place_several_orders_a_second():
    assert 1 <= BURST <= 50 and PER_MINUTE <= 120  # a person, or a script run by one
    assert INTEGRATION_PER_MINUTE >= 5 * 60 and INTEGRATION_BURST >= 5 * BURST  # several a second, all day
    orders_route = template().properties("SalesApi")["RouteSettings"]["POST /api/orders"]
    stage_rate = _default(orders_route["ThrottlingRateLimit"]["Ref"])
    assert stage_rate * 60 > INTEGRATION_PER_MINUTE  # one integration cannot use up the stage's rate


@pytest.fixture
def shop(api):
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 1000}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    return api


UNKNOWN_PRODUCT = {"customerId": 1, "items": [{"productId": 999, "quantity": 1}]}  # 422, but it counts


def _flood(place) -> tuple[int, Reply]:
    """Call `place()` until it answers 429; (answers before, the refusal). The bucket refills while
    the flood runs, so the refusal comes after BURST plus what refilled meanwhile. The attempts are
    orders for an unknown product: they pass the limit (and count), then answer 422 quickly, so the
    flood outruns the refill however slow the machine."""
    began, answered = time.monotonic(), 0
    while True:
        reply = place()
        refill = (time.monotonic() - began) * PER_MINUTE / 60
        if reply.status == 429:
            assert BURST <= answered <= BURST + refill + 1, (answered, refill)
            return answered, reply
        assert reply.status == 422, reply
        answered += 1
        assert answered <= BURST + refill + 1, f"{answered} attempts in a row, the limit never answered"


def _spend_allowance(cloud, sub: str, seconds: int = 30) -> None:
    """`sub`'s bucket empty for the next `seconds` beyond its burst (what a flood leaves), set
    directly so that the test does not depend on how fast orders run here."""
    interval = -(-60_000 // PER_MINUTE)
    tat = int(time.time() * 1000) + (BURST - 1) * interval + seconds * 1000
    cloud.dynamodb.put_item(
        TableName=cloud.tables["OrderQuotaTable"],
        Item={"pk": {"S": f"ORDERS#{sub}"}, "tat": {"N": str(tat)}, "expiresAt": {"N": str(tat // 1000 + 3600)}},
    )


@pytest.mark.slow  # a flood or a race: the slow tier
def test_a_flood_of_order_attempts_is_refused_once_the_burst_is_spent(shop):
    answered, refused = _flood(lambda: shop.post("/api/orders", UNKNOWN_PRODUCT, role="sales", user="flooder"))
    assert refused.status == 429 and answered >= BURST


def test_a_user_whose_allowance_is_spent_gets_429_and_nothing_is_placed_while_another_user_succeeds(shop, cloud):
    _spend_allowance(cloud, "flooder", seconds=30)

    refused = shop.post("/api/orders", ORDER, role="sales", user="flooder")

    assert refused.status == 429, refused
    assert refused.header("Content-Type") == "application/problem+json"
    assert refused.json["status"] == 429 and refused.json["title"] == "Too many requests"
    assert 28 <= int(refused.header("Retry-After")) <= 31
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 1000  # nothing was placed
    assert [o for o in cloud.scan("OrdersTable") if o.get("entity") == "order"] == []
    other = shop.post("/api/orders", ORDER, role="sales", user="someone-else")
    assert other.status == 201, other
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 999


def test_the_limit_is_counted_per_sub(shop):
    """Usernames change, the `sub` does not: the bucket is keyed by the token's immutable subject."""
    fn, params = route("POST", "/api/orders")
    names = iter(range(10**6))

    def place() -> Reply:
        event = build_event(fn, "/api/orders", params, UNKNOWN_PRODUCT, role="sales", user=f"name-{next(names)}")
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "one-subject"
        result = invoke(fn, event, shop.refs)
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    assert _flood(place)[1].status == 429


def test_a_refused_role_or_invalid_body_takes_nothing_from_the_allowance(shop):
    for _ in range(BURST):
        assert shop.post("/api/orders", {"customerId": 1, "items": []}, role="sales", user="u").status == 422
        assert shop.post("/api/orders", ORDER, role="auditor", user="u").status == 403
    assert shop.post("/api/orders", ORDER, role="sales", user="u").status == 201


# ---------------------------------------------------------------- the bucket itself
@pytest.fixture
def take(cloud):
    """quota.take with CreateOrderFunction's environment (template defaults) and a given clock."""
    from orders import quota

    fn, _ = route("POST", "/api/orders")
    env = fn.resolved_environment({})

    def call(groups: str = "sales", now_ms: int = 0, sub: str = "s1") -> None:
        with function_env(env):
            quota.take(Caller(sub=sub, username=sub, groups=frozenset(groups.split())), now_ms=now_ms)

    return call


def _allowed(take, n: int, **kwargs) -> int:
    ok = 0
    for _ in range(n):
        try:
            take(**kwargs)
            ok += 1
        except TooManyRequests:
            pass
    return ok


def test_burst_then_the_steady_rate_with_exact_retry_after(take):
    interval = -(-60_000 // PER_MINUTE)
    assert _allowed(take, BURST + 5, now_ms=0) == BURST
    with pytest.raises(TooManyRequests) as refused:
        take(now_ms=interval - 1)
    assert refused.value.headers == {"Retry-After": "1"}
    take(now_ms=interval)  # one more after one interval
    with pytest.raises(TooManyRequests):
        take(now_ms=interval)
    for k in range(2, 12):  # exactly one per interval from then on
        take(now_ms=k * interval)
        with pytest.raises(TooManyRequests):
            take(now_ms=k * interval)
    assert _allowed(take, BURST + 5, now_ms=10**9) == BURST  # idle long enough: a full bucket again


@pytest.mark.parametrize("now", [0, 1, 499, 999])
def test_retry_after_says_when_the_next_order_fits(take, now):
    interval = -(-60_000 // PER_MINUTE)
    assert _allowed(take, BURST, now_ms=0) == BURST
    with pytest.raises(TooManyRequests) as refused:
        take(now_ms=now)
    wait_s = int(refused.value.headers["Retry-After"])
    assert wait_s * 1000 >= interval - now > (wait_s - 1) * 1000
    take(now_ms=now + wait_s * 1000)  # it does fit then


def test_users_do_not_share_a_bucket(take):
    assert _allowed(take, BURST + 1, sub="a") == BURST
    assert _allowed(take, BURST + 1, sub="b") == BURST


@pytest.mark.slow  # a flood or a race: the slow tier
def test_integration_members_have_their_own_higher_limit(take):
    assert _allowed(take, INTEGRATION_BURST + 5, groups="sales integration", sub="shop") == INTEGRATION_BURST
    assert _allowed(take, BURST + 1, groups="sales", sub="person") == BURST
    assert _allowed(take, INTEGRATION_BURST, groups="admin integration", sub="shop") == 0  # used up


@pytest.mark.slow  # a flood or a race: the slow tier
def test_racing_requests_of_one_user_never_take_more_than_the_bucket_holds(cloud):
    """Conditional writes only: 16 threads at the same instant, 4x the burst, exactly BURST pass."""
    from orders import quota

    fn, _ = route("POST", "/api/orders")
    who = Caller(sub="racer", username="racer", groups=frozenset({"sales"}))
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker() -> None:
        start.wait()
        for _ in range(BURST // 4 + 1):
            try:
                quota.take(who, now_ms=5_000)
                ok = True
            except TooManyRequests:
                ok = False
            with lock:
                results.append(ok)

    with function_env(fn.resolved_environment({})):  # once for all threads
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(results) == BURST and len(results) == 16 * (BURST // 4 + 1)


def test_the_quota_item_expires_after_the_bucket_refilled(take, cloud):
    take(now_ms=1_000_000)
    (item,) = cloud.scan("OrderQuotaTable")
    assert item["pk"] == "ORDERS#s1" and item["tat"] > 1_000_000
    assert item["expiresAt"] * 1000 >= 1_000_000 + BURST * (60_000 // PER_MINUTE)
    assert set(item) == {"pk", "tat", "expiresAt", "lastTake"}  # lastTake: the last take counted (an SDK retry)


def test_a_limit_above_one_items_share_is_split_over_buckets_and_exact_in_total(cloud):
    """A storefront allowed thousands of orders a second would write its one bucket item past
    DynamoDB's ~1,000 writes a second: its limit is split over several items (docs/adr/0040),
    taken in turn, together allowing exactly the burst; the refusal names the whole limit."""
    from orders import quota

    fn, _ = route("POST", "/api/orders")
    per_minute, burst = 4 * quota.ITEM_PER_MINUTE, 40
    env = {
        **fn.resolved_environment({}),
        "INTEGRATION_ORDERS_PER_MINUTE": str(per_minute),
        "INTEGRATION_ORDER_BURST": str(burst),
    }
    assert quota.Limit(per_minute, burst).buckets == 4
    assert quota.Limit(quota.ITEM_PER_MINUTE, burst).buckets == 1
    caller = Caller(sub="shop", username="shop", groups=frozenset({"sales", "integration"}))
    allowed, refusals = 0, []
    with function_env(env):
        for _ in range(burst + 8):
            try:
                quota.take(caller, now_ms=0)
                allowed += 1
            except TooManyRequests as exc:
                refusals.append(str(exc))
    assert allowed == burst
    assert all(f"{per_minute} a minute" in r for r in refusals)
    items = {i["pk"]: i for i in _quota_items(cloud)}
    assert set(items) == {f"ORDERS#shop#{n:02d}" for n in range(4)}


def _quota_items(cloud) -> list[dict]:
    return [i for i in cloud.scan("OrderQuotaTable") if i["pk"].startswith("ORDERS#shop")]


def test_a_take_whose_answer_was_lost_counts_once(take, monkeypatch):
    """Each take's update is applied and its answer lost (a timeout): the SDK sends it again, and
    its condition then fails on the take's own write. The user still gets exactly BURST orders."""
    from tests.support import faults as fault_support

    faults = next(fault_support.install(monkeypatch))
    seen: set[str] = set()

    def first_attempt(body: dict) -> bool:
        if "Quota" not in body["TableName"]:
            return False
        request = json.dumps(body, sort_keys=True)  # the SDK's retry sends the very same request
        first = request not in seen
        seen.add(request)
        return first

    lost = faults.inject("UpdateItem", fault_support.TIMEOUT, when=first_attempt, applied=True)

    assert _allowed(take, BURST + 3, now_ms=0) == BURST
    assert lost.hits >= BURST  # every allowed take's answer was lost once
