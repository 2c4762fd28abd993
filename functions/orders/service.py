"""Orders domain logic: placement through the workflow, status lifecycle, deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orders.catalog import Catalog, Quote
from orders.models import MAX_QUANTITY, TRANSITIONS, Order, OrderCreate, OrderItemIn, OrderStatus
from orders.repository import OrderStore
from orders.settings import OrderSettings, PlacementSettings
from orders.workflow import PlacementWorkflow
from sales_common.dynamo import Condition, EntityStore, from_value, now_iso
from sales_common.errors import Conflict, DomainError, ServiceUnavailable, Unprocessable
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def rejection(error: type[DomainError], reason: str, detail: str) -> DomainError:
    """A domain error that also names why an order was rejected (for the OrdersRejected metric)."""
    exc = error(detail)
    exc.reason = reason  # type: ignore[attr-defined]
    return exc


# ---------------------------------------------------------------- reads
def default_store() -> OrderStore:
    return OrderStore(load_settings(OrderSettings))


def list_orders(
    limit: int,
    cursor: str | None,
    customer_id: int | None = None,
    status: OrderStatus | None = None,
    created_by: str | None = None,
    store: EntityStore | None = None,
) -> Page[Order]:
    """Orders in id order: a customer's through the byCustomer index, else a user's through
    byCreator, else all; the other filters (status, and createdBy next to customerId) filter."""
    store = store or EntityStore(load_settings(), "order")
    query: dict[str, Any] = {}
    filters: list[Condition] = []
    if customer_id is not None:
        query = {"index": "byCustomer", "key_condition": "customerId = :c", "values": {":c": customer_id}}
        if created_by is not None:
            filters.append(Condition("#createdBy = :by", {":by": created_by}, {"#createdBy": "createdBy"}))
    elif created_by is not None:
        query = {"index": "byCreator", "key_condition": "createdBy = :by", "values": {":by": created_by}}
    if status is not None:
        filters.append(Condition("#status = :status", {":status": status.value}, {"#status": "status"}))
    if filters:
        query["filter_by"] = Condition(
            " AND ".join(f.expression for f in filters),
            {k: v for f in filters for k, v in f.values.items()},
            {k: v for f in filters for k, v in f.names.items()},
        )
    scope = scope_of(
        "/api/orders",
        {"customerId": customer_id, "status": status.value if status else None, "createdBy": created_by},
    )
    return fetch_page(store, limit, cursor, Order.model_validate, scope, **query)


def get_order(order_id: int, store: EntityStore | None = None) -> Order:
    store = store or EntityStore(load_settings(), "order")
    return Order.model_validate(store.require(order_id))


# ---------------------------------------------------------------- lifecycle
def change_status(
    order_id: int, status: OrderStatus, expected_version: int | None, actor: str, store: OrderStore | None = None
) -> Order:
    """CONFIRMED -> SHIPPED -> DELIVERED, CONFIRMED -> CANCELLED (restocks); else 409."""
    store = store or default_store()
    order = store.require(order_id)
    current = OrderStatus(order["status"])
    if status not in TRANSITIONS[current]:
        raise Conflict(f"Order {order_id} is {current.value}; it cannot become {status.value}.")
    return Order.model_validate(store.set_status(order, status, expected_version, actor))


def delete_order(order_id: int, expected_version: int | None, store: OrderStore | None = None) -> None:
    """CONFIRMED: restock and delete atomically. CANCELLED: delete the record (it holds nothing).
    SHIPPED, DELIVERED: 409 -- a fulfilled order is the record of stock that left; deleting it
    would make those units vanish from the books."""
    store = store or default_store()
    order = store.require(order_id)
    if order["status"] in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise Conflict(f"Order {order_id} is {order['status']}; fulfilled orders cannot be deleted.")
    store.remove(order, expected_version)


# ---------------------------------------------------------------- placement
@dataclass
class Placement:
    """What placing an order needs; tests substitute any part."""

    settings: PlacementSettings
    store: OrderStore
    catalog: Catalog
    workflow: PlacementWorkflow

    @classmethod
    def default(cls) -> Placement:
        settings = load_settings(PlacementSettings)
        return cls(settings, OrderStore(settings), Catalog(settings), PlacementWorkflow(settings))


def place_order(
    data: OrderCreate,
    actor: str,
    idempotency_key: str | None = None,
    context: LambdaContext | None = None,
    deps: Placement | None = None,
) -> Order:
    deps = deps or Placement.default()
    if idempotency_key is None:
        return _place(data, actor, deps)
    return _place_idempotently(data, actor, idempotency_key, context, deps)


def merge_lines(items: Iterable[OrderItemIn]) -> dict[int, OrderItemIn]:
    """Repeated productIds are merged into one line (quantities added), which obeys the per-line
    cap like any line. Two lines for the same product that name different prices contradict each
    other: 422."""
    merged: dict[int, OrderItemIn] = {}
    for item in items:
        seen = merged.get(item.product_id)
        if seen is None:
            merged[item.product_id] = item.model_copy()
            continue
        if seen.price is not None and item.price is not None and seen.price != item.price:
            raise Unprocessable(f"Product {item.product_id} appears twice with different prices.")
        seen.quantity += item.quantity
        seen.price = seen.price if seen.price is not None else item.price
        if seen.quantity > MAX_QUANTITY:
            raise Unprocessable(
                f"Product {item.product_id}: its lines add up to more than {MAX_QUANTITY} units.",
                errors=[
                    {
                        "field": "items",
                        "message": f"quantities of product {item.product_id} add up to more than {MAX_QUANTITY}",
                        "type": "less_than_equal",
                    }
                ],
            )
    return merged


def _priced_lines(lines: dict[int, OrderItemIn], quotes: dict[int, Quote]) -> list[dict[str, Any]]:
    missing = sorted(set(lines) - set(quotes))
    if missing:
        raise rejection(Unprocessable, "UnknownProduct", f"Unknown product(s): {', '.join(map(str, missing))}.")
    stale = [pid for pid, line in lines.items() if line.price is not None and line.price != quotes[pid].price]
    if stale:
        detail = "; ".join(f"product {pid} costs {quotes[pid].price}, not {lines[pid].price}" for pid in stale)
        raise rejection(Conflict, "PriceMismatch", f"Prices have changed: {detail}.")
    short = [pid for pid, line in lines.items() if line.quantity > quotes[pid].stock]
    if short:
        # Certain to fail: answer now rather than run the workflow (and spend an order id) for it.
        raise _out_of_stock(short, lines, quotes)
    return [
        {
            "productId": pid,
            "quantity": line.quantity,
            "unitPrice": str(quotes[pid].price),
            "lineTotal": str(quotes[pid].price * line.quantity),
        }
        for pid, line in lines.items()
    ]


def _out_of_stock(short: list[int], lines: dict[int, OrderItemIn], quotes: dict[int, Quote]) -> DomainError:
    details = "; ".join(
        f"product {pid}: {lines[pid].quantity} requested, {quotes[pid].stock} in stock" for pid in short
    )
    return rejection(Conflict, "OutOfStock", f"Insufficient stock ({details}). Nothing was reserved.")


def _place(data: OrderCreate, actor: str, deps: Placement) -> Order:
    lines = merge_lines(data.items)
    priced = _priced_lines(lines, deps.catalog.quote(list(lines)))
    order_id = deps.store.allocate_id()
    payload = {
        "orderId": order_id,
        "customerId": data.customer_id,
        "createdBy": actor,
        "createdAt": now_iso(),
        "total": str(sum((Decimal(line["lineTotal"]) for line in priced), Decimal(0))),
        "items": priced,
    }
    outcome = deps.workflow.run(f"order-{order_id}", payload)
    if outcome.succeeded and outcome.output is not None:
        return _stored_order(payload, outcome.output)
    raise _explain_failure(outcome.error, outcome.cause, data, lines, deps)


def _stored_order(payload: dict[str, Any], output: dict[str, Any]) -> Order:
    """The order as WriteOrder stored it: the payload plus the lines the workflow captured."""
    return Order.model_validate(
        {
            "id": payload["orderId"],
            "customerId": payload["customerId"],
            "createdBy": payload["createdBy"],
            "updatedBy": payload["createdBy"],
            "status": output["status"],
            "items": [from_value(record) for record in output["items"]],
            "total": Decimal(payload["total"]),
            "version": 1,
            "createdAt": payload["createdAt"],
            "updatedAt": payload["createdAt"],
        }
    )


def _explain_failure(
    error: str | None, cause: str | None, data: OrderCreate, lines: dict[int, OrderItemIn], deps: Placement
) -> DomainError:
    if error == "CustomerNotFound":
        return rejection(Unprocessable, "CustomerNotFound", f"Customer {data.customer_id} does not exist.")
    if error == "OutOfStock":
        short = [int(pid) for pid in json.loads(cause or "[]")]
        # The reservation failed; re-read those products to say why (informative only).
        quotes = deps.catalog.quote(short)
        gone = [pid for pid in short if pid not in quotes]
        if gone:
            return rejection(Unprocessable, "UnknownProduct", f"Unknown product(s): {', '.join(map(str, gone))}.")
        return _out_of_stock(short, lines, quotes)
    if error in UNAVAILABLE:
        reason, detail = UNAVAILABLE[error]
        return rejection(ServiceUnavailable, reason, f"{detail} Please retry.")
    detail = f"Order placement did not complete ({error}); no stock is kept. Please retry."
    return rejection(ServiceUnavailable, "WorkflowFailed", detail)


# Workflow failures that are worth a retry (503): metric reason and what the client is told.
UNAVAILABLE = {
    "CustomerCheckFailed": ("CustomerCheckFailed", "The customer could not be checked; no stock was taken."),
    "ReservationFailed": ("ReservationFailed", "Stock could not be reserved; no stock is kept."),
    "OrderWriteFailed": ("WriteFailed", "The order could not be stored; no stock is kept."),
}


def _place_idempotently(
    data: OrderCreate, actor: str, key: str, context: LambdaContext | None, deps: Placement
) -> Order:
    """Same key and body: the same order, placed once. Same key, other body: 422. A retry that
    races the first request waits for it (bounded) and then returns its order. Keys are per user:
    another user's identical key is another request."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from sales_common import aws

    settings = deps.settings
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.IDEMPOTENCY_TABLE_NAME, boto3_client=aws.dynamodb(settings)
    )
    config = IdempotencyConfig(
        event_key_jmespath="[user, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.IDEMPOTENCY_TTL_SECONDS,
    )
    if context is not None:
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def place(request: dict[str, Any]) -> dict[str, Any]:
        return _place(data, actor, deps).model_dump(mode="json", by_alias=True)

    request = {"user": actor, "key": key, "body": data.model_dump(mode="json", by_alias=True)}
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        try:
            return Order.model_validate(place(request=request))
        except IdempotencyValidationError as exc:
            raise Unprocessable("This Idempotency-Key was already used with a different request body.") from exc
        except IdempotencyAlreadyInProgressError as exc:
            if time.monotonic() >= deadline:
                raise Conflict("A request with this Idempotency-Key is still in progress; retry later.") from exc
            time.sleep(0.1)
