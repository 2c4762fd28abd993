"""Property: whatever sequence of orders, cancellations, deletions, shipments and restocks
happens, for every product `stock + units held by live orders == initial stock + restocks`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The slow tier (make test-slow): a hypothesis sweep over operation sequences.
pytestmark = pytest.mark.slow

PRODUCTS = (1, 2, 3)
INITIAL = 4

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 3)), min_size=1, max_size=3),
        ),
        st.tuples(st.sampled_from(["cancel", "delete", "ship", "deliver"]), st.integers(0, 5)),
        st.tuples(st.just("restock"), st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 3))),
    ),
    min_size=1,
    max_size=8,
)


def held_by_live_orders(api):
    """Units in every stored order that was not cancelled (CONFIRMED, SHIPPED, DELIVERED)."""
    held = dict.fromkeys(PRODUCTS, 0)
    for o in api.get("/api/orders", query={"limit": 100}).json:
        if o["status"] == "CANCELLED":
            continue
        for line in o["items"]:
            held[line["productId"]] += line["quantity"]
    return held


def check(api, expected_total):
    held = held_by_live_orders(api)
    for pid in PRODUCTS:
        product = api.get(f"/api/products/{pid}").json
        assert product["stock"] >= 0
        assert product["stock"] + held[pid] == expected_total[pid], (pid, product["stock"], held[pid])


def apply(api, op, arg, restocked):
    order_ids = [o["id"] for o in api.get("/api/orders", query={"limit": 100}).json]
    if op == "order":
        items = [{"productId": p, "quantity": q} for p, q in arg]
        assert api.post("/api/orders", {"customerId": 1, "items": items}).status in (201, 409)
    elif op == "restock":
        pid, n = arg
        current = api.get(f"/api/products/{pid}")
        r = api.put(
            f"/api/products/{pid}", {"stock": current.json["stock"] + n}, headers={"If-Match": current.header("ETag")}
        )
        assert r.status == 200
        restocked[pid] += n
    elif order_ids:
        oid = order_ids[arg % len(order_ids)]
        if op == "delete":
            assert api.delete(f"/api/orders/{oid}").status in (204, 409)
        else:
            status = {"cancel": "CANCELLED", "ship": "SHIPPED", "deliver": "DELIVERED"}[op]
            assert api.put(f"/api/orders/{oid}", {"status": status}).status in (200, 409)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=ops)
def test_stock_is_conserved(api, sequence):
    # Examples share one emulated cloud; each starts from whatever the previous left behind.
    if api.get("/api/customers/1").status == 404:
        api.post("/api/customers", {"name": "P", "email": "p@example.com"})
        for pid in PRODUCTS:
            api.post("/api/products", {"name": f"p{pid}", "price": 1, "stock": INITIAL})
    held = held_by_live_orders(api)
    baseline = {pid: api.get(f"/api/products/{pid}").json["stock"] + held[pid] for pid in PRODUCTS}
    restocked = dict.fromkeys(PRODUCTS, 0)
    for op, arg in sequence:
        apply(api, op, arg, restocked)
        check(api, {pid: baseline[pid] + restocked[pid] for pid in PRODUCTS})
