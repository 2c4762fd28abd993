"""The reports' projection, pure (functions/reports/projection.py): a model of a shop produces a
history of domain events as the publisher would (each entity's events in version order, order
events carrying the whole order); delivered in ANY order, each any number of times, the
projection must end exactly where the shop is: every sales row, every product's stock, names.

The projection is applied here by an in-memory stand-in for `reports.store` with the same rules
(a marker per eventId, rows replaced as planned, sales counters added). The store itself, on
DynamoDB, is tested with real events in tests/integration/test_report_delivery.py."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.events import parse
from reports.projection import Counters, CustomerRow, OrderRow, ProductRow, Rows, SalesKey, plan

CENT = Decimal("0.01")


# ---------------------------------------------------------------- events as the bus delivers them
def envelope(source: str, detail_type: str, entity: dict[str, Any], **extra: Any) -> dict[str, Any]:
    version = entity["version"]
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "detail-type": detail_type,
        "detail": {
            "eventId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{source}|{entity['id']}|{version}|{detail_type}")),
            "occurredAt": entity.get("updatedAt", "2026-01-01T00:00:00.000Z"),
            "actor": "ann",
            "id": entity["id"],
            "version": version,
            "data": dict(entity),
            **extra,
        },
    }


# ---------------------------------------------------------------- the in-memory store
@dataclass
class Memory:
    markers: set[str] = field(default_factory=set)
    orders: dict[int, OrderRow] = field(default_factory=dict)
    products: dict[int, ProductRow] = field(default_factory=dict)
    customers: dict[int, CustomerRow] = field(default_factory=dict)
    sales: dict[SalesKey, Counters] = field(default_factory=lambda: defaultdict(Counters))

    def deliver(self, raw: dict[str, Any]) -> None:
        event = parse(raw)
        if event.event_id in self.markers:
            return
        writes = plan(event, Rows(self.orders, self.products, self.customers))
        self.markers.add(event.event_id)
        for row in writes.orders:
            self.orders[row.id] = row
        for product in writes.products:
            self.products[product.id] = product
        for customer in writes.customers:
            self.customers[customer.id] = customer
        for key, delta in writes.sales.items():
            self.sales[key] += delta

    def view(self) -> dict[str, Any]:
        return {
            "sales": {k: v for k, v in self.sales.items() if not v.is_zero},
            "stock": {p.id: (p.stock, p.low, p.listed) for p in self.products.values()},
            "names": {("p", p.id): p.name for p in self.products.values()}
            | {("c", c.id): c.name for c in self.customers.values()},
        }


# ---------------------------------------------------------------- a shop that publishes events
@dataclass
class Shop:
    """The services, reduced to what the events say; `log` is what the bus got, in order."""

    log: list[dict[str, Any]] = field(default_factory=list)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted_products: set[int] = field(default_factory=set)
    deleted_customers: set[int] = field(default_factory=set)
    next_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def create_product(self, stock: int, threshold: int, price: Decimal) -> None:
        pid = next(self.next_id)
        self.products[pid] = {
            "id": pid,
            "version": 1,
            "name": f"P{pid}",
            "price": price,
            "stock": stock,
            "lowStockThreshold": threshold,
        }
        self.log.append(envelope("sales.products", "ProductCreated", self.products[pid]))

    def _product(self, pid: int, detail_type: str, **extra: Any) -> None:
        product = self.products[pid]
        product["version"] += 1
        self.log.append(envelope("sales.products", detail_type, product, **extra))

    def put_product(self, pid: int, stock: int | None, threshold: int | None, rename: bool) -> None:
        product = self.products[pid]
        before = product["stock"]
        if stock is not None:
            product["stock"] = stock
        if threshold is not None:
            product["lowStockThreshold"] = threshold
        if rename:
            product["name"] += "'"
        self._product(pid, "ProductUpdated", stockDelta=product["stock"] - before)

    def adjust(self, pid: int, delta: int) -> None:
        if self.products[pid]["stock"] + delta < 0:
            return
        self.products[pid]["stock"] += delta
        self._product(pid, "StockAdjusted", adjustmentId=str(uuid.uuid4()), delta=delta, reason="r")

    def delete_product(self, pid: int) -> None:
        product = self.products.pop(pid)
        self.deleted_products.add(pid)
        self.log.append(envelope("sales.products", "ProductDeleted", product))

    def create_customer(self) -> None:
        cid = next(self.next_id)
        self.customers[cid] = {"id": cid, "version": 1, "name": f"C{cid}", "email": f"c{cid}@example.com"}
        self.log.append(envelope("sales.customers", "CustomerCreated", self.customers[cid]))

    def rename_customer(self, cid: int, erase: bool) -> None:
        customer = self.customers[cid]
        if customer["name"] is None:
            return  # erased: refused
        customer["name"] = None if erase else customer["name"] + "'"
        customer["version"] += 1
        self.log.append(envelope("sales.customers", "CustomerUpdated", customer))

    def delete_customer(self, cid: int) -> None:
        self.deleted_customers.add(cid)
        self.log.append(envelope("sales.customers", "CustomerDeleted", self.customers.pop(cid)))

    def place(self, cid: int, lines: dict[int, int], day: str) -> None:
        if any(self.products[p]["stock"] < q for p, q in lines.items()):
            return  # refused: publishes nothing
        oid = next(self.next_id)
        items = []
        for pid, quantity in lines.items():
            self.products[pid]["stock"] -= quantity
            price = self.products[pid]["price"]
            items.append(
                {
                    "productId": pid,
                    "name": self.products[pid]["name"],
                    "unitPrice": price,
                    "quantity": quantity,
                    "lineTotal": price * quantity,
                }
            )
        stamp = f"{day}T12:00:00.000Z"
        self.orders[oid] = {
            "id": oid,
            "version": 1,
            "customerId": cid,
            "status": "CONFIRMED",
            "items": items,
            "total": sum(i["lineTotal"] for i in items),
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        self.log.append(envelope("sales.orders", "OrderPlaced", self.orders[oid]))

    def _restock(self, order: dict[str, Any]) -> None:
        for item in order["items"]:
            if item["productId"] in self.products:
                self.products[item["productId"]]["stock"] += item["quantity"]

    def change(self, oid: int, status: str) -> None:
        order = self.orders[oid]
        allowed = {"CONFIRMED": {"SHIPPED", "CANCELLED"}, "SHIPPED": {"DELIVERED"}}.get(order["status"], set())
        if status not in allowed:
            return
        before = order["status"]
        order["status"], order["version"] = status, order["version"] + 1
        if status == "CANCELLED":
            self._restock(order)
        self.log.append(envelope("sales.orders", "OrderStatusChanged", order, **{"from": before, "to": status}))

    def delete_order(self, oid: int) -> None:
        order = self.orders[oid]
        if order["status"] not in ("CONFIRMED", "CANCELLED"):
            return
        if order["status"] == "CONFIRMED":
            self._restock(order)
        self.log.append(envelope("sales.orders", "OrderDeleted", self.orders.pop(oid)))

    # ------------------------------------------------------------ what the reports must say
    def truth(self) -> dict[str, Any]:
        sales: dict[SalesKey, Counters] = defaultdict(Counters)
        for order in self.orders.values():
            day, cancelled = order["createdAt"][:10], order["status"] == "CANCELLED"
            units = 0 if cancelled else sum(i["quantity"] for i in order["items"])
            whole = Counters(1, int(cancelled), units, Decimal(0) if cancelled else order["total"])
            sales[SalesKey("day", day, day)] += whole
            sales[SalesKey("customer", day, str(order["customerId"]))] += whole
            for item in order["items"]:
                line = (
                    Counters(1, 1, 0, Decimal(0)) if cancelled else Counters(1, 0, item["quantity"], item["lineTotal"])
                )
                sales[SalesKey("product", day, str(item["productId"]))] += line
        stock = {}
        for pid, p in self.products.items():
            stock[pid] = (p["stock"], p["stock"] <= p["lowStockThreshold"], True)
        return {"sales": dict(sales), "stock": stock}


PLACE = st.tuples(
    st.just("place"),
    st.integers(0, 50),
    st.dictionaries(st.integers(0, 50), st.integers(1, 4), min_size=1, max_size=3),
    st.sampled_from(["2026-01-30", "2026-01-31", "2026-02-01"]),
)
STATUS = st.tuples(st.just("status"), st.integers(0, 50), st.sampled_from(["SHIPPED", "DELIVERED", "CANCELLED"]))
OPERATIONS = st.one_of(  # orders weigh more: they are what the reports are about
    st.tuples(st.just("product"), st.integers(0, 30), st.integers(0, 10), st.sampled_from(["1.50", "19.99", "3"])),
    st.tuples(st.just("put"), st.integers(0, 50), st.one_of(st.none(), st.integers(0, 60)), st.booleans()),
    st.tuples(st.just("adjust"), st.integers(0, 50), st.integers(-10, 10)),
    st.tuples(st.just("delete_product"), st.integers(0, 50)),
    st.tuples(st.just("customer")),
    st.tuples(st.just("rename"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("delete_customer"), st.integers(0, 50)),
    PLACE,
    PLACE,
    PLACE,
    PLACE,
    STATUS,
    STATUS,
    STATUS,
    st.tuples(st.just("delete_order"), st.integers(0, 50)),
)


def _pick(ids: list[int], index: int) -> int | None:
    return ids[index % len(ids)] if ids else None


def run(shop: Shop, operations: list[tuple[Any, ...]]) -> None:  # noqa: C901 - one branch per operation
    for op in operations:
        kind, products, customers, orders = op[0], list(shop.products), list(shop.customers), list(shop.orders)
        if kind == "product":
            shop.create_product(op[1], op[2], Decimal(op[3]))
        elif kind == "customer":
            shop.create_customer()
        elif kind == "put" and (pid := _pick(products, op[1])) is not None:
            shop.put_product(pid, op[2], None if op[1] % 3 else op[1] % 7, op[3])
        elif kind == "adjust" and (pid := _pick(products, op[1])) is not None and op[2]:
            shop.adjust(pid, op[2])
        elif kind == "delete_product" and (pid := _pick(products, op[1])) is not None:
            if not any(i["productId"] == pid for o in shop.orders.values() for i in o["items"]):
                shop.delete_product(pid)
        elif kind == "rename" and (cid := _pick(customers, op[1])) is not None:
            shop.rename_customer(cid, op[2])
        elif kind == "delete_customer" and (cid := _pick(customers, op[1])) is not None:
            if not any(o["customerId"] == cid for o in shop.orders.values()):
                shop.delete_customer(cid)
        elif kind == "place" and products and (cid := _pick(customers, op[1])) is not None:
            lines = {products[p % len(products)]: q for p, q in op[2].items()}
            shop.place(cid, lines, op[3])
        elif kind == "status" and (oid := _pick(orders, op[1])) is not None:
            shop.change(oid, op[2])
        elif kind == "delete_order" and (oid := _pick(orders, op[1])) is not None:
            shop.delete_order(oid)


def listed_view(memory: Memory) -> dict[str, Any]:
    view = memory.view()
    return {"sales": view["sales"], "stock": {k: v for k, v in view["stock"].items() if v[2]}}


@pytest.mark.slow  # a sweep (hypothesis, 150 shops of up to 50 operations): the slow tier
@settings(max_examples=150, deadline=None)
@given(
    operations=st.lists(OPERATIONS, min_size=15, max_size=50),
    order=st.randoms(use_true_random=False),
    copies=st.lists(st.integers(1, 3), min_size=200, max_size=200),
)
def test_any_order_and_any_duplicates_end_where_the_shop_is(operations, order, copies):
    shop = Shop()
    run(shop, [("product", 20, 5, "19.99"), ("product", 8, 3, "1.50"), ("customer",), ("customer",), *operations])
    delivered = [event for event, n in zip(shop.log, copies, strict=False) for _ in range(n)]
    delivered += shop.log[len(copies) :]
    order.shuffle(delivered)

    in_order, shuffled = Memory(), Memory()
    for event in shop.log:
        in_order.deliver(event)
    for event in delivered:
        shuffled.deliver(event)

    assert shuffled.view() == in_order.view()
    assert listed_view(in_order) == shop.truth()
    for cid in shop.deleted_customers:
        assert in_order.customers[cid].name is None


# ---------------------------------------------------------------- the cases, one by one
def order_event(detail_type: str, version: int, status: str, **extra: Any) -> dict[str, Any]:
    order = {
        "id": 7,
        "version": version,
        "customerId": 3,
        "status": status,
        "items": [
            {"productId": 1, "name": "A", "unitPrice": Decimal("2.50"), "quantity": 2, "lineTotal": Decimal("5.00")}
        ],
        "total": Decimal("5.00"),
        "createdAt": "2026-05-01T23:59:59.999Z",
        "updatedAt": f"2026-05-0{version}T10:00:00.000Z",
    }
    return envelope("sales.orders", detail_type, order, **extra)


PLACED = order_event("OrderPlaced", 1, "CONFIRMED")
CANCELLED = order_event("OrderStatusChanged", 2, "CANCELLED", **{"from": "CONFIRMED", "to": "CANCELLED"})
DELETED = order_event("OrderDeleted", 2, "CANCELLED")


@pytest.mark.parametrize("sequence", list(itertools.permutations([PLACED, CANCELLED])), ids=["in order", "reversed"])
def test_a_cancellation_before_its_placement_is_the_placed_and_cancelled_order(sequence):
    memory = Memory()
    for event in sequence:
        memory.deliver(event)
    day = SalesKey("day", "2026-05-01", "2026-05-01")
    assert memory.sales[day] == Counters(orders=1, cancelled=1, units=0, revenue=Decimal(0))
    assert memory.sales[SalesKey("product", "2026-05-01", "1")] == Counters(1, 1, 0, Decimal(0))
    assert memory.products.get(1, ProductRow(1)).stock == 0  # taken and given back, or never taken
    assert memory.orders[7].rank == 4


@pytest.mark.parametrize("sequence", list(itertools.permutations([PLACED, CANCELLED, DELETED])))
def test_a_deleted_order_counts_nowhere_whatever_came_first(sequence):
    memory = Memory()
    for event in sequence:
        memory.deliver(event)
    assert all(c.is_zero for c in memory.sales.values())
    assert memory.orders[7].deleted and memory.products.get(1, ProductRow(1)).stock == 0


def test_a_duplicate_changes_nothing():
    memory = Memory()
    memory.deliver(PLACED)
    before = memory.view()
    memory.deliver(PLACED)
    assert memory.view() == before
    assert memory.sales[SalesKey("day", "2026-05-01", "2026-05-01")] == Counters(1, 0, 2, Decimal("5.00"))
    assert memory.products[1].stock == -2  # the product's own events not seen yet: a sum of what was


def test_a_stock_delta_counts_even_when_its_event_is_older_than_the_name_it_carries():
    created = envelope("sales.products", "ProductCreated", {"id": 1, "version": 1, "name": "A", "stock": 10})
    renamed = envelope(
        "sales.products", "ProductUpdated", {"id": 1, "version": 3, "name": "B", "stock": 4}, stockDelta=0
    )
    adjusted = envelope(
        "sales.products", "StockAdjusted", {"id": 1, "version": 2, "name": "A", "stock": 4}, delta=-6, reason="x"
    )
    memory = Memory()
    for event in (renamed, adjusted, created):
        memory.deliver(event)
    product = memory.products[1]
    assert (product.stock, product.name, product.threshold, product.low) == (4, "B", 5, True)


def test_an_archived_or_deleted_product_is_not_listed():
    active = {"id": 1, "version": 1, "name": "A", "stock": 1, "status": "ACTIVE"}
    memory = Memory()
    memory.deliver(envelope("sales.products", "ProductCreated", active))
    assert memory.products[1].low
    memory.deliver(
        envelope("sales.products", "ProductUpdated", {**active, "version": 2, "status": "ARCHIVED"}, stockDelta=0)
    )
    assert not memory.products[1].listed and not memory.products[1].low
    memory.deliver(envelope("sales.products", "ProductDeleted", {**active, "version": 2, "status": "ARCHIVED"}))
    assert memory.products[1].deleted


def test_an_erased_customer_keeps_no_name_even_if_an_older_name_arrives_later():
    ann = {"id": 3, "version": 1, "name": "Ann", "email": "ann@example.com"}
    erased = {"id": 3, "version": 2, "name": None, "email": None}
    memory = Memory()
    memory.deliver(envelope("sales.customers", "CustomerUpdated", erased))
    memory.deliver(envelope("sales.customers", "CustomerCreated", ann))
    assert memory.customers[3].name is None


def test_an_event_the_reports_do_not_use_plans_nothing():
    event = envelope("sales.products", "ProductPhotographed", {"id": 1, "version": 1})
    assert plan(parse(event), Rows()).empty


def test_a_product_update_from_before_stock_delta_moves_no_stock():
    """Events archived before catalogue 1.1 carry no stockDelta: they are read as 0 (ADR 0026)."""
    memory = Memory()
    memory.deliver(envelope("sales.products", "ProductUpdated", {"id": 1, "version": 2, "name": "A", "stock": 9}))
    assert memory.products[1].stock == 0 and memory.products[1].name == "A"


@pytest.mark.parametrize("body", ["[]", "{}", '{"detail-type": "OrderPlaced", "source": "sales.orders"}'])
def test_what_is_not_an_event_is_refused(body):
    with pytest.raises(ValueError):
        parse(body)
