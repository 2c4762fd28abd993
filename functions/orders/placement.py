"""Placing an order: merge and price its lines from a quote, allocate its id, run the PlaceOrder
workflow (which reserves the stock and stores the order), and say why when it is refused (a typed
`OrderRejected`). With an Idempotency-Key, the same request places one order however often sent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orders.catalog import Catalog, Quote
from orders.models import MAX_QUANTITY, Order, OrderCreate, OrderItemIn
from orders.rejections import (
    CustomerCheckFailed,
    CustomerNotFound,
    OrderRejected,
    OutOfStock,
    PriceMismatch,
    ReservationFailed,
    UnknownProduct,
    WorkflowFailed,
    WriteFailed,
)
from orders.repository import OrderStore
from orders.settings import PlacementSettings
from orders.workflow import PlacementWorkflow
from sales_common.dynamo import from_value, now_iso
from sales_common.errors import Conflict, Unprocessable
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def place_order(
    data: OrderCreate,
    actor: str,
    idempotency_key: str | None = None,
    context: LambdaContext | None = None,
) -> Order:
    settings = load_settings(PlacementSettings)
    if idempotency_key is None:
        return _place(data, actor, settings)
    return _place_idempotently(data, actor, idempotency_key, context, settings)


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


def price_lines(lines: dict[int, OrderItemIn], quotes: dict[int, Quote]) -> list[dict[str, Any]]:
    """The lines as the workflow stores them, priced exactly from `quotes`; refused, before anything
    is reserved, when a product is unknown, its price is not the one the client named, or the
    quote already shows too little stock."""
    missing = sorted(set(lines) - set(quotes))
    if missing:
        raise UnknownProduct(f"Unknown product(s): {', '.join(map(str, missing))}.")
    stale = [pid for pid, line in lines.items() if line.price is not None and line.price != quotes[pid].price]
    if stale:
        detail = "; ".join(f"product {pid} costs {quotes[pid].price}, not {lines[pid].price}" for pid in stale)
        raise PriceMismatch(f"Prices have changed: {detail}.")
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


def order_total(priced: list[dict[str, Any]]) -> Decimal:
    """The exact sum of the priced lines' totals."""
    return sum((Decimal(line["lineTotal"]) for line in priced), Decimal(0))


def _out_of_stock(short: list[int], lines: dict[int, OrderItemIn], quotes: dict[int, Quote]) -> OutOfStock:
    details = "; ".join(
        f"product {pid}: {lines[pid].quantity} requested, {quotes[pid].stock} in stock" for pid in short
    )
    return OutOfStock(f"Insufficient stock ({details}). Nothing was reserved.")


def _place(data: OrderCreate, actor: str, settings: PlacementSettings) -> Order:
    catalog = Catalog(settings)
    lines = merge_lines(data.items)
    priced = price_lines(lines, catalog.quote(list(lines)))
    order_id = OrderStore(settings).allocate_id()
    payload = {
        "orderId": order_id,
        "customerId": data.customer_id,
        "createdBy": actor,
        "createdAt": now_iso(),
        "total": str(order_total(priced)),
        "items": priced,
    }
    outcome = PlacementWorkflow(settings).run(f"order-{order_id}", payload)
    if outcome.succeeded and outcome.output is not None:
        return _stored_order(payload, outcome.output)
    raise explain_failure(outcome.error, outcome.cause, data, lines, catalog.quote)


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


def explain_failure(
    error: str | None,
    cause: str | None,
    data: OrderCreate,
    lines: dict[int, OrderItemIn],
    requote: Callable[[list[int]], dict[int, Quote]],
) -> OrderRejected:
    """The rejection for a workflow that failed with `error` (its `cause`: the products it found
    short, for OutOfStock, which `requote` re-reads to say why)."""
    if error == "CustomerNotFound":
        return CustomerNotFound(f"Customer {data.customer_id} does not exist.")
    if error == "OutOfStock":
        short = [int(pid) for pid in json.loads(cause or "[]")]
        # The reservation failed; re-read those products to say why (informative only).
        quotes = requote(short)
        gone = [pid for pid in short if pid not in quotes]
        if gone:
            return UnknownProduct(f"Unknown product(s): {', '.join(map(str, gone))}.")
        return _out_of_stock(short, lines, quotes)
    if error in UNAVAILABLE:
        rejected, detail = UNAVAILABLE[error]
        return rejected(f"{detail} Please retry.")
    return WorkflowFailed(f"Order placement did not complete ({error}); no stock is kept. Please retry.")


# Workflow failures that are worth a retry (503), and what the client is told.
UNAVAILABLE: dict[str, tuple[type[OrderRejected], str]] = {
    "CustomerCheckFailed": (CustomerCheckFailed, "The customer could not be checked; no stock was taken."),
    "ReservationFailed": (ReservationFailed, "Stock could not be reserved; no stock is kept."),
    "OrderWriteFailed": (WriteFailed, "The order could not be stored; no stock is kept."),
}


def _place_idempotently(
    data: OrderCreate, actor: str, key: str, context: LambdaContext | None, settings: PlacementSettings
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
        return _place(data, actor, settings).model_dump(mode="json", by_alias=True)

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
