"""From a change of a stored item (one DynamoDB stream record) to the domain events it means.

Pure: no AWS. The images decide, following what each writer leaves in the item:

* Only entities publish: items with an `entity` attribute (`product`, `customer`, `order`).
  Id counters, email locks, stock-adjustment audit records and idempotency records have none.
* INSERT -> `<Entity>Created` (an order: `OrderPlaced`; only a placement that succeeded stores
  one), REMOVE -> `<Entity>Deleted`.
* MODIFY of a product:
  - its `lastAdjustment` changed: a stock adjustment -> `StockAdjusted` (delta, reason);
  - a `hold_<orderId>` appeared or went (a placement reserving, storing its order, or releasing)
    or `lastRestock` changed (a cancelled or deleted order giving stock back): an order moved the
    stock, which the order's own events tell -> no product event;
  - otherwise, if a public field changed -> `ProductUpdated`, with `stockDelta`, how much the
    change moved the stock (a PUT of `stock`; 0 when it did not): with it, a consumer can keep the
    stock as the sum of the changes every event tells, in any order;
  - whatever the cause, `StockLow` when the product becomes low: its stock, counting the holds of
    placements still in flight as not taken, was above its threshold and is now at or below it.
    A placement that is rejected or compensated reserves and releases (holds in, holds out, the
    counted stock never moves): it publishes nothing. Its order being stored moves the counted
    stock: that is when an order's `StockLow` comes.
* MODIFY of a customer: a public field changed -> `CustomerUpdated`.
* MODIFY of an order: its status changed -> `OrderStatusChanged` (from, to).
* A MODIFY that changes no public field (the `deletedBy` written just before a deletion, a
  version bump alone) publishes nothing.

Public fields are the response model's (`Product`, `Customer`, `Order`), compared without
`version` and `updatedAt`. The actor is `createdBy`, `updatedBy` or `deletedBy` (the username of
the caller, which for Cognito users is their `sub`), else "system".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from customers.models import Customer
from events.models import (
    SYSTEM,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
    Envelope,
    OrderDeleted,
    OrderPlaced,
    OrderStatusChanged,
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
    StockAdjusted,
    StockLow,
)
from orders.models import Order
from products.models import Product
from sales_common.dynamo import from_item

ChangeKind = Literal["INSERT", "MODIFY", "REMOVE"]
HOLD_PREFIX = "hold_"  # a placement's reservation on a product (orders.compensation.HOLD_PREFIX)
# Fields of every entity that change with every write, whatever it changes.
_BOOKKEEPING = ("version", "updatedAt")
# A namespace of our own for the ids derived from changes (uuid5).
EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c1e-4f6a-5b7e-9c2d-8a0b1c2d3e4f")


@dataclass(frozen=True)
class Change:
    """One stream record: which table and item, what kind of change, the images before and after
    (Python values, numbers as Decimal), and when DynamoDB stored it."""

    table: str
    kind: ChangeKind
    key: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    stored_at: datetime

    @property
    def image(self) -> Mapping[str, Any]:
        """The item as it is after the change (before it, for a deletion)."""
        return self.new if self.new is not None else self.old or {}


@dataclass(frozen=True)
class DomainEvent:
    """An event to publish: `detail` is the envelope model; `entity` is the item's key (events of
    one entity must stay in order)."""

    detail: Envelope[BaseModel]
    entity: str

    @property
    def source(self) -> str:
        return type(self.detail).source

    @property
    def detail_type(self) -> str:
        return type(self.detail).detail_type()

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.detail.occurred_at)

    def detail_json(self) -> str:
        return self.detail.model_dump_json(by_alias=True)


def change_of(record: Mapping[str, Any]) -> Change:
    """A record of a Lambda DynamoDB stream event as a `Change` (ValueError if it is not one)."""
    stream = record.get("dynamodb")
    arn = record.get("eventSourceARN")
    kind = record.get("eventName")
    if not isinstance(stream, Mapping) or not isinstance(arn, str) or kind not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError("not a DynamoDB stream record")
    key = from_item(stream.get("Keys") or {}).get("pk")
    if not isinstance(key, str):
        raise ValueError("the record names no item key (pk)")
    stamp = stream.get("ApproximateCreationDateTime")
    old, new = stream.get("OldImage"), stream.get("NewImage")
    return Change(
        table=arn.split(":", 5)[-1].split("/")[1],  # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        kind=kind,
        key=key,
        old=from_item(old) if old is not None else None,
        new=from_item(new) if new is not None else None,
        stored_at=datetime.fromtimestamp(float(stamp), UTC) if stamp is not None else datetime.now(UTC),
    )


class UnpublishableChange(ValueError):
    """The change's images are not what the entity's model accepts."""


def events_of(change: Change) -> list[DomainEvent]:
    """The domain events one stored change means (none for internal items and internal writes)."""
    entity = change.image.get("entity")
    mapper = _MAPPERS.get(entity) if isinstance(entity, str) else None
    if mapper is None:
        return []
    return [DomainEvent(detail, change.key) for detail in mapper(change)]


# ---------------------------------------------------------------- helpers
def event_id(change: Change, version: int, detail_type: str) -> str:
    """The same change (table, key, version) always gets the same id for the same detail type."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{change.table}|{change.key}|{version}|{detail_type}"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def occurred_at(change: Change) -> str:
    """`updatedAt` when this change wrote it (the server's clock, in milliseconds), else when
    DynamoDB stored the change (deletions, and writes that do not touch `updatedAt`)."""
    new, old = change.new or {}, change.old or {}
    stamp = new.get("updatedAt")
    if isinstance(stamp, str) and stamp != old.get("updatedAt"):
        try:
            return iso(datetime.fromisoformat(stamp))
        except ValueError:
            pass
    return iso(change.stored_at)


def _model[M: BaseModel](model: type[M], image: Mapping[str, Any] | None, change: Change) -> M:
    try:
        return model.model_validate(dict(image or {}))
    except ValueError as exc:
        raise UnpublishableChange(f"{change.table} {change.key}: not a valid {model.__name__}: {exc}") from exc


def _public(entity: BaseModel) -> dict[str, Any]:
    dumped = entity.model_dump(mode="json", by_alias=True)
    return {k: v for k, v in dumped.items() if k not in _BOOKKEEPING}


def _actor(image: Mapping[str, Any] | None, attribute: str) -> str:
    value = (image or {}).get(attribute)
    return value if isinstance(value, str) and value else SYSTEM


def _envelope(change: Change, entity: Any, actor: str, detail_type: str) -> dict[str, Any]:
    return {
        "event_id": event_id(change, entity.version, detail_type),
        "occurred_at": occurred_at(change),
        "actor": actor,
        "id": entity.id,
        "version": entity.version,
        "data": entity,
    }


def _lifecycle[E: Envelope[Any]](
    change: Change, model: type[BaseModel], created: type[E], updated: type[E], deleted: type[E]
) -> list[Envelope[Any]]:
    """Created on INSERT, Deleted on REMOVE, Updated on a MODIFY that changed a public field."""
    if change.kind == "INSERT":
        entity = _model(model, change.new, change)
        return [created(**_envelope(change, entity, _actor(change.new, "createdBy"), created.detail_type()))]
    if change.kind == "REMOVE":
        entity = _model(model, change.old, change)
        return [deleted(**_envelope(change, entity, _actor(change.old, "deletedBy"), deleted.detail_type()))]
    before, after = _model(model, change.old, change), _model(model, change.new, change)
    if _public(before) == _public(after):
        return []
    return [updated(**_envelope(change, after, _actor(change.new, "updatedBy"), updated.detail_type()))]


# ---------------------------------------------------------------- products
def _holds(image: Mapping[str, Any] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (image or {}).items() if k.startswith(HOLD_PREFIX) and isinstance(v, Decimal | int)}


def counted_stock(product: Product, image: Mapping[str, Any] | None) -> int:
    """The stock with the units of placements still in flight counted as not taken: what it will be
    if they all fail. It moves when an order is stored, not when a placement reserves or releases."""
    return product.stock + sum(_holds(image).values())


def is_low(product: Product, image: Mapping[str, Any] | None) -> bool:
    return counted_stock(product, image) <= product.low_stock_threshold


def _moved_by_an_order(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """A placement reserved, stored its order or released (a hold came or went), or a cancelled or
    deleted order gave its stock back (`lastRestock`): the order events tell it."""
    return _holds(old) != _holds(new) or old.get("lastRestock") != new.get("lastRestock")


def _product_events(change: Change) -> list[Envelope[Any]]:
    if change.kind != "MODIFY":
        return _lifecycle(change, Product, ProductCreated, ProductUpdated, ProductDeleted)
    before, after = _model(Product, change.old, change), _model(Product, change.new, change)
    old, new = change.old or {}, change.new or {}
    actor = _actor(new, "updatedBy")
    out: list[Envelope[Any]] = []
    adjustment = new.get("lastAdjustment")
    if isinstance(adjustment, Mapping) and adjustment != old.get("lastAdjustment"):
        out.append(
            StockAdjusted(
                **_envelope(change, after, actor, StockAdjusted.detail_type()),
                adjustment_id=str(adjustment.get("id")),
                delta=int(adjustment.get("delta", after.stock - before.stock)),
                reason=str(adjustment.get("reason", "")),
            )
        )
    elif not _moved_by_an_order(old, new) and _public(before) != _public(after):
        out.append(
            ProductUpdated(
                **_envelope(change, after, actor, ProductUpdated.detail_type()), stock_delta=after.stock - before.stock
            )
        )
    if is_low(after, new) and not is_low(before, old):
        out.append(
            StockLow(
                **_envelope(change, after, SYSTEM, StockLow.detail_type()),
                stock=counted_stock(after, new),
                threshold=after.low_stock_threshold,
            )
        )
    return out


# ---------------------------------------------------------------- customers, orders
def _customer_events(change: Change) -> list[Envelope[Any]]:
    return _lifecycle(change, Customer, CustomerCreated, CustomerUpdated, CustomerDeleted)


def _order_events(change: Change) -> list[Envelope[Any]]:
    if change.kind != "MODIFY":
        return _lifecycle(change, Order, OrderPlaced, OrderStatusChanged, OrderDeleted)
    before, after = _model(Order, change.old, change), _model(Order, change.new, change)
    if before.status == after.status:
        return []
    return [
        OrderStatusChanged(
            **_envelope(change, after, _actor(change.new, "updatedBy"), OrderStatusChanged.detail_type()),
            from_=before.status,
            to=after.status,
        )
    ]


_MAPPERS: dict[str, Callable[[Change], list[Envelope[Any]]]] = {
    "product": _product_events,
    "customer": _customer_events,
    "order": _order_events,
}
