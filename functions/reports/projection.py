"""What one domain event changes in the reports: pure functions of the event and the rows it
touches, as they are stored (no AWS; `reports.store` reads and writes the rows).

The projection keeps, per entity, what it last applied:

* **an order**: its last applied rank (version, a deletion after the version it had) and what it
  contributes -- its day (UTC, from `createdAt`), customer, lines, total, status. Applying an
  order event replaces that contribution by the event's: the sales counters change by the
  difference (new minus old), the products' stock by the units the order takes now minus those
  it took. An event whose rank is not above the stored one changes nothing (a duplicate, or
  older than what was applied). Each order event carries the whole order, so the last one
  applied says everything: a cancellation that arrives before the placement is the placed and
  cancelled order, and the placement arriving later is older and changes nothing.
* **a product**: its stock as a *sum* of what every event says moved it -- `ProductCreated` its
  initial stock, `ProductUpdated` its `stockDelta`, `StockAdjusted` its `delta`, and the order
  events the units orders take and give back -- so it does not depend on the order the events
  arrive in; and, by rank, the name, low-stock threshold, status and deletion from its latest
  event. (A stock figure carried by a product event cannot be ordered against the order events:
  an order's write moves the stock without a product version of its own.)
* **a customer**: by rank, its name (none once erased or deleted).

A sum is only right if every event is added exactly once: `reports.store` applies an event in one
transaction with a marker of its `eventId` (written only if absent), so a redelivered event
changes nothing.

Products' stock here is the stock *counted* as the events tell it: units of a placement still in
flight count as not taken (as for the `StockLow` event), so a rejected placement never shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from reports.events import ARCHIVED, CANCELLED, DomainEvent, OrderData, ProductData, rank

Dimension = Literal["day", "product", "customer"]
DIMENSIONS: tuple[Dimension, ...] = ("day", "product", "customer")


@dataclass(frozen=True)
class Counters:
    """One report row's figures: orders placed, of them cancelled, units and revenue net of the
    cancelled ones."""

    orders: int = 0
    cancelled: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.orders + other.orders,
            self.cancelled + other.cancelled,
            self.units + other.units,
            self.revenue + other.revenue,
        )

    def __sub__(self, other: Counters) -> Counters:
        return self + Counters(-other.orders, -other.cancelled, -other.units, -other.revenue)

    @property
    def is_zero(self) -> bool:
        return not (self.orders or self.cancelled or self.units or self.revenue)


@dataclass(frozen=True, order=True)
class SalesKey:
    """A report row: `day` (YYYY-MM-DD, UTC) and the `key` within the dimension (the day itself,
    a product id or a customer id)."""

    dimension: Dimension
    day: str
    key: str


# ---------------------------------------------------------------- rows
@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int
    line_total: Decimal


@dataclass(frozen=True)
class OrderRow:
    """What the projection holds of an order: its rank and its contribution."""

    id: int
    rank: int
    deleted: bool
    day: str
    customer_id: int
    status: str
    total: Decimal
    lines: tuple[Line, ...]
    rev: int = 0  # the row's write count: the condition of the next write

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass(frozen=True)
class ProductRow:
    """A product as the projection sees it. `rank` 0: no product event applied yet (only orders
    told of it)."""

    id: int
    stock: int = 0
    rank: int = 0
    name: str | None = None
    threshold: int = 0
    status: str | None = None
    deleted: bool = False
    rev: int = 0

    @property
    def listed(self) -> bool:
        """In the low-stock report's reach: known, not deleted, not archived."""
        return self.rank > 0 and not self.deleted and self.status != ARCHIVED

    @property
    def low(self) -> bool:
        """At or below its own threshold."""
        return self.listed and self.stock <= self.threshold


@dataclass(frozen=True)
class CustomerRow:
    id: int
    rank: int = 0
    name: str | None = None
    deleted: bool = False
    rev: int = 0


# ---------------------------------------------------------------- what an order contributes
def sales_of(order: OrderRow | None) -> dict[SalesKey, Counters]:
    """The rows an order counts in: its day, its customer on that day, each of its products on
    that day. A deleted order counts nowhere (it no longer exists); a cancelled one counts as
    placed and cancelled, with no units and no revenue."""
    if order is None or order.deleted:
        return {}
    cancelled = order.cancelled
    units = 0 if cancelled else sum(line.quantity for line in order.lines)
    revenue = Decimal(0) if cancelled else order.total
    whole = Counters(1, int(cancelled), units, revenue)
    out = {
        SalesKey("day", order.day, order.day): whole,
        SalesKey("customer", order.day, str(order.customer_id)): whole,
    }
    per_product: dict[int, tuple[int, Decimal]] = {}
    for line in order.lines:
        quantity, total = per_product.get(line.product_id, (0, Decimal(0)))
        per_product[line.product_id] = (quantity + line.quantity, total + line.line_total)
    for product_id, (quantity, total) in per_product.items():
        out[SalesKey("product", order.day, str(product_id))] = (
            Counters(1, 1, 0, Decimal(0)) if cancelled else Counters(1, 0, quantity, total)
        )
    return out


def stock_taken(order: OrderRow | None) -> dict[int, int]:
    """Units the order holds out of each product's stock: none once cancelled (it restocked) or
    deleted (a confirmed one restocks when deleted; a cancelled one already had)."""
    taken: dict[int, int] = defaultdict(int)
    if order is not None and not order.deleted and not order.cancelled:
        for line in order.lines:
            taken[line.product_id] += line.quantity
    return dict(taken)


def order_row(event: DomainEvent, data: OrderData, previous: OrderRow | None) -> OrderRow:
    return OrderRow(
        id=data.id,
        rank=event.rank,
        deleted=event.deletion,
        day=data.created_at[:10],
        customer_id=data.customer_id,
        status=data.status,
        total=data.total,
        lines=tuple(Line(i.product_id, i.quantity, i.line_total) for i in data.items),
        rev=previous.rev if previous else 0,
    )


# ---------------------------------------------------------------- the plan of one event
@dataclass
class Plan:
    """The writes one event needs besides its marker. `expected` holds, per row written, the
    `rev` it had when read (None: it did not exist); each write is conditional on it."""

    orders: list[OrderRow] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    customers: list[CustomerRow] = field(default_factory=list)
    sales: dict[SalesKey, Counters] = field(default_factory=dict)
    expected: dict[tuple[str, int], int | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.orders or self.products or self.customers or self.sales)


@dataclass(frozen=True)
class Rows:
    """The rows an event needs, as read (absent ones are missing from the maps)."""

    orders: Mapping[int, OrderRow] = field(default_factory=dict)
    products: Mapping[int, ProductRow] = field(default_factory=dict)
    customers: Mapping[int, CustomerRow] = field(default_factory=dict)


def needs(event: DomainEvent, stored_order: OrderRow | None = None) -> tuple[set[int], set[int], set[int]]:
    """(order ids, product ids, customer ids) whose rows planning `event` reads. For an order
    event, the products of its lines and of the lines the projection holds (`stored_order`)."""
    kind, entity = event.kind, event.detail.id
    if kind == "order":
        products = {i.product_id for i in event.order().items}
        if stored_order is not None:
            products |= {line.product_id for line in stored_order.lines}
        return {entity}, products, set()
    if kind == "product":
        return set(), {entity}, set()
    if kind == "customer":
        return set(), set(), {entity}
    return set(), set(), set()


def plan(event: DomainEvent, rows: Rows) -> Plan:
    """What applying `event` (for the first time: its marker is absent) changes."""
    if event.kind == "order":
        return _plan_order(event, rows)
    if event.kind == "product":
        return _plan_product(event, rows)
    if event.kind == "customer":
        return _plan_customer(event, rows)
    return Plan()


def _plan_order(event: DomainEvent, rows: Rows) -> Plan:
    data = event.order()
    old = rows.orders.get(data.id)
    out = Plan()
    if old is not None and old.rank >= event.rank:
        return out  # superseded: what the projection holds is as new or newer
    new = order_row(event, data, old)
    out.orders.append(new)
    out.expected[("order", data.id)] = old.rev if old else None
    before, after = sales_of(old), sales_of(new)
    for key in sorted(set(before) | set(after)):
        delta = after.get(key, Counters()) - before.get(key, Counters())
        if not delta.is_zero:
            out.sales[key] = delta
    taken_before, taken_after = stock_taken(old), stock_taken(new)
    for product_id in sorted(set(taken_before) | set(taken_after)):
        moved = taken_before.get(product_id, 0) - taken_after.get(product_id, 0)
        if moved:
            product = rows.products.get(product_id)
            current = product or ProductRow(product_id)
            out.products.append(replace(current, stock=current.stock + moved))
            out.expected[("product", product_id)] = product.rev if product else None
    return out


def stock_moved(event: DomainEvent, data: ProductData) -> int:
    """How much the product event says its stock moved."""
    if event.detail_type == "ProductCreated":
        return data.stock
    if event.detail_type == "ProductUpdated":
        return event.detail.stock_delta or 0  # absent before catalogue 1.1: see docs/adr/0026
    if event.detail_type == "StockAdjusted":
        return event.detail.delta or 0
    return 0  # StockLow, ProductDeleted: a state, not a move


def _plan_product(event: DomainEvent, rows: Rows) -> Plan:
    data = event.product()
    old = rows.products.get(data.id)
    current = old or ProductRow(data.id)
    new = replace(current, stock=current.stock + stock_moved(event, data))
    if event.rank > current.rank:
        new = replace(
            new,
            rank=event.rank,
            name=data.name,
            threshold=data.low_stock_threshold,
            status=data.status,
            deleted=event.deletion,
        )
    out = Plan()
    if new != current or old is None:
        out.products.append(new)
        out.expected[("product", data.id)] = old.rev if old else None
    return out


def _plan_customer(event: DomainEvent, rows: Rows) -> Plan:
    data = event.customer()
    old = rows.customers.get(data.id)
    out = Plan()
    if old is not None and old.rank >= event.rank:
        return out
    # A deleted customer keeps no name here: it is personal data (docs/events.md, "Privacy").
    name = None if event.deletion else data.name
    out.customers.append(
        CustomerRow(data.id, event.rank, name, event.deletion, old.rev if old else 0),
    )
    out.expected[("customer", data.id)] = old.rev if old else None
    return out


def totals(rows: Iterable[Counters]) -> Counters:
    out = Counters()
    for row in rows:
        out += row
    return out


__all__ = [
    "DIMENSIONS",
    "Counters",
    "CustomerRow",
    "Dimension",
    "Line",
    "OrderRow",
    "Plan",
    "ProductRow",
    "Rows",
    "SalesKey",
    "needs",
    "order_row",
    "plan",
    "rank",
    "sales_of",
    "stock_taken",
    "totals",
]
