"""Placing an order, exactly once (docs/adr/0011-placement-protocol.md, docs/placement.md).

1. *Prepare*: merge and price the lines from a quote, allocate the order id and stamp the time:
   the placement's input (its "payload"). With an Idempotency-Key, powertools' idempotency
   utility makes this step once per key and keeps the payload, so every retry of the request
   runs the same placement (same id, same prices) instead of a new one.
2. *Run* the PlaceOrder workflow on the payload. Runs of one payload converge however many there
   are (the placement record, `orders.placement_record`): succeeded means stored once; failed
   with a decided reason means never stored.
3. If the run's outcome is unknown (the call failed or timed out, or the workflow could not
   record an outcome), *decide* it: the placement record gets a failure reason unless it was
   placed, and its answer is the truth. Without time or DynamoDB for that, the answer is 202
   `OutcomeUnknown`: the payload stays behind the key, so a retry runs the same placement again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from orders.catalog import Catalog, Quote
from orders.models import MAX_QUANTITY, Order, OrderCreate, OrderItemIn, OrderStatus
from orders.placement_record import PlacementRecords, hold_key
from orders.rejections import (
    CustomerCheckFailed,
    CustomerErased,
    CustomerNotFound,
    OrderRejected,
    OutOfStock,
    PriceChanged,
    PriceMismatch,
    ProductArchived,
    ReservationFailed,
    UnknownProduct,
    WorkflowFailed,
    WriteFailed,
)
from orders.repository import OrderStore, list_keys
from orders.settings import PlacementSettings
from orders.workflow import PlacementWorkflow
from sales_common import aws
from sales_common.dynamo import now_iso
from sales_common.errors import Conflict, Unprocessable, aws_error
from sales_common.observability import correlation_id
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# What the function still needs once the workflow answers: decide an unknown outcome (one
# DynamoDB call), answer. The workflow is started only with the call's worst case plus this
# left (see `Deadline`); tests/template/test_time_budgets.py proves it fits the function's Timeout.
ANSWER_MARGIN_SECONDS = 0.5


def start_budget_seconds() -> float:
    """Time the function must have left to start the workflow: StartSyncExecution's worst case
    (it answers after the state machine's TimeoutSeconds at the latest) and a margin to answer."""
    return aws.worst_case_seconds("stepfunctions") + ANSWER_MARGIN_SECONDS


def decide_budget_seconds() -> float:
    """Time needed to decide an unknown outcome: one DynamoDB call's worst case and a margin."""
    return aws.worst_case_seconds("dynamodb") + ANSWER_MARGIN_SECONDS


class OutcomeUnknown(Exception):
    """The order may or may not be stored, and there was no way to find out in time. Answered
    202 with the order's id: the client asks GET /api/orders/{id}, or retries with the same
    Idempotency-Key, which runs this same placement again."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"the outcome of placing order {order_id} is unknown")
        self.order_id = order_id


@dataclass(frozen=True)
class Deadline:
    """The invocation's remaining time, from Lambda's context."""

    context: LambdaContext

    def remaining(self) -> float:
        return self.context.get_remaining_time_in_millis() / 1000

    def allows(self, seconds: float) -> bool:
        return self.remaining() >= seconds


def place_order(data: OrderCreate, actor: str, idempotency_key: str | None, context: LambdaContext) -> Order:
    """Place `data` for `actor`: the stored order, or an `OrderRejected` (nothing is kept, and
    the order can never be stored), or `OutcomeUnknown`."""
    settings = load_settings(PlacementSettings)
    deadline = Deadline(context)
    if idempotency_key is None:
        with nothing_started():
            payload = prepare(data, actor, settings)
        return Placement(data, settings, deadline).run(payload)
    return _place_idempotently(data, actor, idempotency_key, settings, deadline)


@contextmanager
def nothing_started() -> Iterator[None]:
    """A backing service's failure before any run of the placement can have started (the quota,
    the quote, the order id): no order was placed and nothing reserved, so the answer is a 503
    that says so, not the "may have been applied" of a write whose fate is unknown."""
    try:
        yield
    except Exception as exc:
        if not _aws_failure(exc):
            raise
        raise WorkflowFailed(
            "The order could not be prepared: a backing service was busy or failed. This request placed no "
            "order and nothing was reserved; please retry (with the same Idempotency-Key if you sent one: the "
            "retry answers what that key's placement did)."
        ) from exc


def _aws_failure(exc: BaseException) -> bool:
    """An AWS call's failure: the SDK's own error, or powertools' idempotency store's error
    raised from one (its table timed out, was throttled, ...)."""
    return isinstance(aws_error(exc), (ClientError, BotoCoreError))


# ---------------------------------------------------------------- prepare (pure, then the quote)
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
            raise Unprocessable(
                f"Product {item.product_id} appears twice with different prices; name one price, or none."
            )
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
    """The lines as the workflow stores them, priced exactly from `quotes` (with the product's
    name as quoted); refused, before anything is reserved, when a product is unknown or archived,
    its price is not the one the client named, or the quote already shows too little stock."""
    missing = sorted(set(lines) - set(quotes))
    if missing:
        raise UnknownProduct(_unknown(missing))
    archived = sorted(pid for pid in lines if quotes[pid].archived)
    if archived:
        raise _archived(archived, quotes)
    stale = [pid for pid, line in lines.items() if line.price is not None and line.price != quotes[pid].price]
    if stale:
        detail = "; ".join(f"product {pid} costs {quotes[pid].price}, not {lines[pid].price}" for pid in stale)
        raise PriceMismatch(f"Prices have changed: {detail}. Send the current prices, or leave `price` out.")
    short = [pid for pid, line in lines.items() if line.quantity > quotes[pid].stock]
    if short:
        # Certain to fail: answer now rather than run the workflow (and spend an order id) for it.
        raise _out_of_stock(short, lines, quotes)
    return [
        {
            "productId": pid,
            "name": quotes[pid].name,
            "quantity": line.quantity,
            "unitPrice": str(quotes[pid].price),
            "lineTotal": str(quotes[pid].price * line.quantity),
        }
        for pid, line in lines.items()
    ]


def order_total(priced: list[dict[str, Any]]) -> Decimal:
    """The exact sum of the priced lines' totals."""
    return sum((Decimal(line["lineTotal"]) for line in priced), Decimal(0))


def _unknown(products: list[int]) -> str:
    return f"Unknown product(s): {', '.join(map(str, products))}; GET /api/products lists the catalog."


def prepare(data: OrderCreate, actor: str, settings: PlacementSettings) -> dict[str, Any]:
    """The placement's input: priced lines, a new order id, the time. Refused (OrderRejected)
    when the quote already shows it cannot succeed."""
    lines = merge_lines(data.items)
    priced = price_lines(lines, Catalog(settings).quote(list(lines)))
    order_id = OrderStore(settings).allocate_id()
    return {
        "orderId": order_id,
        # the order's shard of each list, and its record's of the pending holds (docs/adr/0040)
        "listKeys": list_keys(order_id, data.customer_id, actor, OrderStatus.CONFIRMED.value),
        "holdKey": hold_key(order_id),
        "customerId": data.customer_id,
        "createdBy": actor,
        "createdAt": now_iso(),
        "total": str(order_total(priced)),
        "items": priced,
        # the request's id: the execution's input and logs are found from the request's log lines
        "correlationId": correlation_id(),
    }


def _archived(archived: list[int], quotes: dict[int, Quote]) -> ProductArchived:
    named = ", ".join(f"{pid} ({quotes[pid].name})" for pid in archived)
    return ProductArchived(
        f"Archived product(s) cannot be ordered: {named}. Nothing was reserved.",
        errors=[
            {"field": "items", "message": f"product {pid} is archived", "type": "product_archived"} for pid in archived
        ],
    )


def _out_of_stock(short: list[int], lines: dict[int, OrderItemIn], quotes: dict[int, Quote]) -> OutOfStock:
    details = "; ".join(
        f"product {pid}: {lines[pid].quantity} requested, {quotes[pid].stock} in stock" for pid in short
    )
    return OutOfStock(f"Insufficient stock ({details}). Nothing was reserved; order at most what is in stock.")


# ---------------------------------------------------------------- run, and decide what is unknown
# The workflow's own failure reasons (Fail states, and outcomes recorded by the caller or the
# sweeper): each means the placement is decided and the order will never be stored.
DECIDED_FAILURES = frozenset(
    {
        "CustomerNotFound",
        "CustomerErased",
        "CustomerCheckFailed",
        "Refused",
        "ReservationFailed",
        "OrderWriteFailed",
        "WorkflowFailed",
        "Abandoned",
    }
)
# How this function records an outcome it could not learn (see Placement.decide).
UNLEARNT = "WorkflowFailed"


class Placement:
    """Runs one payload and turns what happened into the stored order or a rejection."""

    def __init__(self, data: OrderCreate, settings: PlacementSettings, deadline: Deadline) -> None:
        self.data = data
        self.settings = settings
        self.deadline = deadline
        self.records = PlacementRecords(settings)

    def run(self, payload: dict[str, Any]) -> Order:
        order_id = int(payload["orderId"])
        if not self.deadline.allows(start_budget_seconds()):
            # Nothing started: no run of this payload exists, so it is definitely not placed.
            raise WorkflowFailed("Order placement could not start in time; nothing was reserved. Please retry.")
        outcome = PlacementWorkflow(self.settings).run(f"order-{order_id}", payload)
        if outcome.succeeded:
            return placed_order(payload)
        if outcome.error in DECIDED_FAILURES:
            raise self.explain(outcome.error, payload)
        return self.decide(payload)

    def resume(self, payload: dict[str, Any]) -> Order:
        """A retry of a placement that already ran (same Idempotency-Key): answer from its record
        when it is decided, else run it again (runs of one payload converge)."""
        try:
            record = self.records.get(int(payload["orderId"]))
        except (ClientError, BotoCoreError) as exc:  # an earlier request may have placed it
            raise OutcomeUnknown(int(payload["orderId"])) from exc
        if record is None or not record.decided:
            return self.run(payload)
        if record.placed:
            return self.stored(payload)
        raise self.explain(record.outcome, payload)

    def decide(self, payload: dict[str, Any]) -> Order:
        """The workflow's answer was lost or it could not record an outcome: record one now
        (a failure, unless it is PLACED already) and answer it. OutcomeUnknown if there is no
        time left for that or DynamoDB does not answer."""
        order_id = int(payload["orderId"])
        if not self.deadline.allows(decide_budget_seconds()):
            raise OutcomeUnknown(order_id)
        try:
            record = self.records.decide(order_id, UNLEARNT)
        except (ClientError, BotoCoreError) as exc:
            raise OutcomeUnknown(order_id) from exc
        if record.placed:
            return placed_order(payload)
        raise self.explain(record.outcome, payload)

    def stored(self, payload: dict[str, Any]) -> Order:
        """The order as it is stored now (a retry may come after it changed); 409 if it was
        placed and has since been deleted."""
        order_id = int(payload["orderId"])
        try:
            found = OrderStore(self.settings).get(order_id)
        except (ClientError, BotoCoreError) as exc:  # placed, but it cannot be shown now
            raise OutcomeUnknown(order_id) from exc
        if found is None:
            raise Conflict(f"Order {order_id} was placed with this Idempotency-Key and has since been deleted.")
        return found

    def explain(self, reason: str | None, payload: dict[str, Any]) -> OrderRejected:
        """The rejection for a decided failure. Saying why a reservation was refused re-reads the
        products; without time or DynamoDB for that, the answer is still a true rejection."""

        def requote(product_ids: list[int]) -> dict[int, Quote]:
            if not self.deadline.allows(decide_budget_seconds()):
                raise TimeoutError("no time left to re-read the products")
            return Catalog(self.settings).quote(product_ids)

        try:
            return explain_failure(reason, self.data, merge_lines(self.data.items), requote, payload)
        except (TimeoutError, ClientError, BotoCoreError):
            return ReservationFailed(
                "The order was refused: the stock or the price of a product changed while it was being placed. "
                "Nothing was reserved. Please retry."
            )


def placed_order(payload: dict[str, Any]) -> Order:
    """The order WriteOrder stored for `payload` (the payload determines it entirely)."""
    return Order.model_validate(
        {
            "id": payload["orderId"],
            "customerId": payload["customerId"],
            "createdBy": payload["createdBy"],
            "updatedBy": payload["createdBy"],
            "status": "CONFIRMED",
            "items": payload["items"],
            "total": Decimal(payload["total"]),
            "version": 1,
            "createdAt": payload["createdAt"],
            "updatedAt": payload["createdAt"],
        }
    )


def explain_failure(
    reason: str | None,
    data: OrderCreate,
    lines: dict[int, OrderItemIn],
    requote: Callable[[list[int]], dict[int, Quote]],
    payload: dict[str, Any],
) -> OrderRejected:
    """The rejection for a placement whose recorded outcome is `reason`. `Refused` (a condition of
    the reservation failed) is explained from a fresh quote of the order's products: gone or
    archived (422), repriced since the quote (409, naming the current price), short (409); if none
    of these holds any more, the refusal was a conflict with concurrent writes (503, retry)."""
    if reason == "CustomerNotFound":
        return CustomerNotFound(
            f"Customer {data.customer_id} does not exist; GET /api/customers lists them, POST creates one."
        )
    if reason == "CustomerErased":
        return CustomerErased(
            f"Customer {data.customer_id} was erased; orders cannot be placed for it (place it for another customer)."
        )
    if reason == "Refused":
        return _refusal(
            lines, requote(list(lines)), {int(i["productId"]): Decimal(i["unitPrice"]) for i in payload["items"]}
        )
    if reason in UNAVAILABLE:
        rejected, detail = UNAVAILABLE[reason]
        return rejected(f"{detail} Please retry.")
    return WorkflowFailed(f"Order placement did not complete ({reason}); no stock is kept. Please retry.")


def _refusal(lines: dict[int, OrderItemIn], quotes: dict[int, Quote], priced: dict[int, Decimal]) -> OrderRejected:
    gone = [pid for pid in lines if pid not in quotes]
    if gone:
        return UnknownProduct(_unknown(gone))
    archived = [pid for pid in lines if quotes[pid].archived]
    if archived:
        return _archived(archived, quotes)
    repriced = [pid for pid in lines if quotes[pid].price != priced[pid]]
    if repriced:
        return PriceChanged(
            "The price changed while the order was being placed: "
            + "; ".join(f"product {pid} now costs {quotes[pid].price} (quoted {priced[pid]})" for pid in repriced)
            + ". Nothing was reserved; review the prices and order again.",
            errors=[
                {
                    "field": "items",
                    "message": f"product {pid} now costs {quotes[pid].price}",
                    "type": "price_changed",
                }
                for pid in repriced
            ],
        )
    short = [pid for pid, line in lines.items() if line.quantity > quotes[pid].stock]
    if short:
        return _out_of_stock(short, lines, quotes)
    return ReservationFailed(
        "Stock could not be reserved because of concurrent changes to the same products; "
        "nothing was reserved. Please retry."
    )


# Decided failures that are worth a retry (503), and what the client is told.
UNAVAILABLE: dict[str, tuple[type[OrderRejected], str]] = {
    "CustomerCheckFailed": (CustomerCheckFailed, "The customer could not be checked; no stock was taken."),
    "ReservationFailed": (ReservationFailed, "Stock could not be reserved; no stock is kept."),
    "OrderWriteFailed": (WriteFailed, "The order could not be stored; no stock is kept."),
}


# ---------------------------------------------------------------- one placement per Idempotency-Key
def _place_idempotently(
    data: OrderCreate, actor: str, key: str, settings: PlacementSettings, deadline: Deadline
) -> Order:
    """Same key and body: the same placement (one order id, one payload) however often sent, also
    when the retries race. Same key, other body: 422. Keys are per user. A definite rejection
    forgets the key's placement, so a retry after fixing the cause places a new one (its order id
    is decided as failed and can never be stored)."""
    intent = Intent(data, actor, key, settings, deadline)
    placement = Placement(data, settings, deadline)
    first = True
    while True:
        with nothing_started():
            payload, replayed = intent.payload()
        if "orderId" not in payload:
            # The key's record was written by the previous version of this code, which kept the
            # placed order itself (it only ever kept successful placements).
            return Order.model_validate(payload)
        try:
            return placement.resume(payload) if replayed else placement.run(payload)
        except OrderRejected as rejected:
            intent.forget(rejected)
            if not (replayed and first):
                # A placement of this request's own, or (replayed again) the one a racing request
                # with the key prepared after the first was forgotten: its failure is the answer.
                raise
            # An earlier request's placement failed (its answer may have been lost): place anew.
            first = False


# The idempotency records' key prefix, fixed: powertools would derive it from this code's module
# and function names, so a refactor (or this version) would orphan the keys of requests in flight
# across a deploy, and their retries would place second orders. This is the prefix powertools
# derived for the first version; its records are read as placed orders (see _place_idempotently).
KEY_PREFIX = "{function}.orders.placement._place_idempotently.<locals>.place"


ATTEMPT_ATTRIBUTE = "attempt"  # the key record's token of the put that wrote it (see _key_store)


@cache
def _key_store() -> type:
    """powertools' DynamoDB store of the keys' records, knowing its own write: when DynamoDB's
    answer to the put of a key's record is lost, the SDK sends the same put again, and its
    condition then finds the record this very request wrote. powertools would read that as
    another request in progress with the key (and this one would wait for itself, then answer
    409, its order never placed). Each put carries a random token of its own (`attempt`), which
    the SDK's retry sends unchanged: the record is this request's when it carries that token.
    Nothing else tells them apart: two requests racing with one key send records alike in every
    field powertools writes when their invocations end in the same millisecond."""
    import secrets

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError

    class Tokened:
        """The store's client, adding one put's token to the record it writes."""

        def __init__(self, client: Any, token: str) -> None:
            self._client, self._token = client, token

        def put_item(self, **request: Any) -> Any:
            item = {**request["Item"], ATTEMPT_ATTRIBUTE: {"S": self._token}}
            return self._client.put_item(**{**request, "Item": item})

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    class KeyStore(DynamoDBPersistenceLayer):
        def _put_record(self, data_record: Any) -> None:
            token, client = secrets.token_hex(16), self.client
            self.client = cast(Any, Tokened(client, token))  # the client, one put changed
            try:
                super()._put_record(data_record)
            except IdempotencyItemAlreadyExistsError as exc:
                found = getattr(exc.__cause__, "response", None) or {}
                if found.get("Item", {}).get(ATTEMPT_ATTRIBUTE, {}).get("S") != token:
                    raise
            finally:
                self.client = client

    return KeyStore


class Intent:
    """The placement an Idempotency-Key stands for, kept in the IdempotencyTable by powertools'
    idempotency utility: the idempotent function is `prepare` (quote, price, order id), its saved
    result the payload. powertools' `response_hook` marks a payload that comes from an earlier
    request, which the caller then resumes rather than runs blind."""

    def __init__(
        self, data: OrderCreate, actor: str, key: str, settings: PlacementSettings, deadline: Deadline
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        self.deadline = deadline
        self.wait_seconds = settings.IDEMPOTENCY_WAIT_SECONDS
        self.request = {"user": actor, "key": key, "body": data.model_dump(mode="json", by_alias=True)}
        self.persistence = _key_store()(table_name=settings.IDEMPOTENCY_TABLE_NAME, boto3_client=aws.dynamodb(settings))
        config = IdempotencyConfig(
            event_key_jmespath="[user, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.IDEMPOTENCY_TTL_SECONDS,
            response_hook=lambda response, _record: {**response, "replayed": True},
        )
        config.register_lambda_context(deadline.context)

        @idempotent_function(
            data_keyword_argument="request",
            persistence_store=self.persistence,
            config=config,
            key_prefix=KEY_PREFIX.format(function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test-func")),
        )
        def prepared(request: dict[str, Any]) -> dict[str, Any]:
            return {"payload": prepare(data, actor, settings)}

        self._prepared = prepared

    def payload(self) -> tuple[dict[str, Any], bool]:
        """(payload, replayed). A request racing the first one with this key waits for its
        payload (briefly: preparing takes a quote and a counter update), then runs it too."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        waited_until = time.monotonic() + self.wait_seconds
        while True:
            try:
                result = self._prepared(request=self.request)
                if "payload" not in result:  # the previous version's record: the placed order
                    return {k: v for k, v in result.items() if k != "replayed"}, True
                return result["payload"], bool(result.get("replayed"))
            except IdempotencyValidationError as exc:
                raise Unprocessable(
                    "This Idempotency-Key was already used with a different request body; "
                    "use a new key for a new order."
                ) from exc
            except IdempotencyAlreadyInProgressError as exc:
                if time.monotonic() >= waited_until or not self.deadline.allows(start_budget_seconds()):
                    raise Conflict("A request with this Idempotency-Key is still in progress; retry later.") from exc
                time.sleep(0.1)

    def forget(self, cause: Exception) -> None:
        """Drop the key's placement (it was rejected): the next request with the key starts anew."""
        self.persistence.delete_record(data=self.request, exception=cause)
