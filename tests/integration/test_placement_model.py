"""A model-based test of the placement protocol (docs/adr/0011-placement-protocol.md): hypothesis
explores interleavings of placements, replays, retries, lost answers, slow steps, cancellations,
stock adjustments and sweeps against the real ASL (executed by moto) and the real functions, and
checks after every step what the protocol promises:

* for every product, stock + units of live orders + units in holds = initial + adjustments;
* after a sweep past the longest execution, no hold is left;
* at most one order is stored per Idempotency-Key;
* every 201 names an order that is stored;
* no order is stored that the caller was told failed;
* every replay of an execution gives the answer the caller was given (or, after a 202, the truth);
* no stored order refers to a deleted customer or product, whatever archives, deletes and
  erasures (issue 24) come in between.

The default profile runs in the normal suite (about 20 s). `make soak` runs thousands of steps
(PLACEMENT_MODEL_PROFILE=soak: 100 examples of 25 steps, about an hour here; PLACEMENT_MODEL_EXAMPLES
and PLACEMENT_MODEL_STEPS change that) and prints what it explored: how often each step ended how.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from orders.placement_record import hold_key
from tests.support import faults as fault_support
from tests.support import schedules

PROFILES = {
    # about 20 s on the project's machine
    "default": settings(
        max_examples=3,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    ),
    # `make soak`: thousands of steps
    "soak": settings(
        max_examples=int(os.environ.get("PLACEMENT_MODEL_EXAMPLES", "100")),
        stateful_step_count=int(os.environ.get("PLACEMENT_MODEL_STEPS", "25")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    ),
}
# A hypothesis model exploring interleavings: the slow tier (docs/testing.md, "Tiers"); CI runs it.
pytestmark = pytest.mark.slow

PROFILE = os.environ.get("PLACEMENT_MODEL_PROFILE", "default")

INITIAL = 6
LATER = timedelta(minutes=2)  # past the sweeper's STALE_AFTER_SECONDS
EXPLORED: Counter[str] = Counter()

LOSSES = (
    "reservation-answer",
    "order-write-answer",
    "workflow-answer",
    "workflow-answer-and-decide",
    "decide-in-workflow",
)
SLOW_STEPS = ("customer-check", "reserve", "write-order")

lines = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=2, unique_by=lambda t: t[0])


class PlacementModel(RuleBasedStateMachine):
    api: Any
    cloud: Any
    faults: Any

    # ------------------------------------------------------------ setup
    @initialize()
    def shop(self) -> None:
        reply = self.api.post("/api/customers", {"name": "M", "email": f"m{self._counter('CUSTOMER')}@example.com"})
        assert reply.status == 201, reply.raw
        self.customer = reply.json["id"]
        self.customers = [self.customer]  # and those of the delete races
        self.products: list[int] = []
        for _ in range(2):
            reply = self.api.post("/api/products", {"name": "m", "price": 2, "stock": INITIAL})
            assert reply.status == 201, reply.raw
            self.products.append(reply.json["id"])
        self.adjusted = dict.fromkeys(self.products, 0)
        self.deleted: set[int] = set()  # products the delete races deleted (204)
        self.placed: set[int] = set()  # answered 201 (or found stored after a 202)
        self.refused: set[int] = set()  # the caller was told it failed
        self.unknown: dict[int, str | None] = {}  # answered 202: id -> its key
        self.keys: dict[str, set[int]] = {}  # every order id a key stood for
        self.bodies: dict[str, list[tuple[int, int]]] = {}
        self.seen_executions: set[str] = set()
        self.inputs: list[dict[str, Any]] = []  # executions' inputs, for replays
        self.swept = False

    # ------------------------------------------------------------ rules
    @rule(order=lines, keyed=st.booleans())
    def place(self, order, keyed):
        key = f"k{len(self.keys)}-{self._counter('ORDER')}" if keyed else None
        self._request(order, key, "place")

    @precondition(lambda self: self.keys)
    @rule(which=st.integers(0, 50))
    def retry_with_the_same_key(self, which):
        key = sorted(self.keys)[which % len(self.keys)]
        self._request(self.bodies[key], key, "retry")

    @precondition(lambda self: self.inputs)
    @rule(which=st.integers(0, 50), concurrent=st.booleans())
    def replay_an_execution(self, which, concurrent):
        payload = self.inputs[which % len(self.inputs)]
        runs = 3 if concurrent else 1
        with ThreadPoolExecutor(runs) as pool:
            results = list(pool.map(lambda _: self._start(payload), range(runs)))
        # SUCCEEDED, a decided failure reason, or unknown (the run could not learn or record one)
        answers = {_answer(r) for r in results}
        known = answers - {"unknown"}
        assert len(known) <= 1, f"runs of one input disagree: {results}"
        order_id = payload["orderId"]
        if known == {"SUCCEEDED"}:
            assert order_id not in self.refused, f"a replay stored refused order {order_id}"
            self._learn(order_id, True)
        elif known:
            assert order_id not in self.placed, f"a replay of placed order {order_id} failed: {known}"
            self._learn(order_id, False)
        EXPLORED[f"replay ({'concurrent' if concurrent else 'sequential'}) -> {'/'.join(sorted(answers))}"] += 1

    @rule(order=lines, keyed=st.booleans(), loss=st.sampled_from(LOSSES))
    def lose_an_answer(self, order, keyed, loss):
        key = f"k{len(self.keys)}-{self._counter('ORDER')}" if keyed else None
        with self._losing(loss):
            self._request(order, key, f"lose {loss}")

    @rule(order=lines, step=st.sampled_from(SLOW_STEPS))
    def time_a_step_out(self, order, step):
        when = {
            "customer-check": ("UpdateItem", self.faults.marking_customer),
            "reserve": ("TransactWriteItems", self.faults.reserving),
            "write-order": ("TransactWriteItems", self.faults.writing_order),
        }[step]
        self.faults.inject(when[0], fault_support.SLOW, when=when[1], times=1, applied=True, delay=1.1)
        try:
            with fault_support.real_task_timeouts():
                self._request(order, None, f"slow {step}")
        finally:
            self.faults.clear()

    @precondition(lambda self: self.placed)
    @rule(which=st.integers(0, 50))
    def cancel_an_order(self, which):
        order_id = sorted(self.placed)[which % len(self.placed)]
        reply = self.api.put(f"/api/orders/{order_id}", {"status": "CANCELLED"})
        assert reply.status in (200, 409), reply.raw
        EXPLORED[f"cancel -> {reply.status}"] += 1

    @rule(which=st.integers(0, 1), delta=st.integers(-3, 4))
    def adjust_stock(self, which, delta):
        pid = self.products[which]
        reply = self.api.post(f"/api/products/{pid}/stock-adjustments", {"delta": delta or 1, "reason": "model"})
        assert reply.status in (200, 409), reply.raw
        if reply.status == 200:
            self.adjusted[pid] += delta or 1
        EXPLORED[f"adjust -> {reply.status}"] += 1

    @rule(which=st.integers(0, 1), status=st.sampled_from(["ARCHIVED", "ACTIVE"]))
    def archive_or_restore_a_product(self, which, status):
        """Archived: placements refuse it (422), its orders still give stock back (ADR 0020)."""
        reply = self.api.put(f"/api/products/{self.products[which]}", {"status": status})
        assert reply.status == 200, reply.raw
        EXPLORED[f"{status.lower()} -> {reply.status}"] += 1

    @rule(order=lines, against=st.sampled_from(["delete", "erase"]), delay=st.sampled_from([0.0, 0.3, 0.6, 1.0]))
    def race_deletes_against_a_placement(self, order, against, delay):
        """A new customer orders a new product (and the order's lines) while both are deleted (or
        the customer erased): either a delete lands first (the order is refused) or the placement
        marked the record first (the delete is refused, 409); never an order for a deleted record."""
        customer = self.api.post("/api/customers", {"name": "R", "email": f"r{self._counter('CUSTOMER')}@x.com"})
        product = self.api.post("/api/products", {"name": "r", "price": 2, "stock": 3})
        assert customer.status == product.status == 201, (customer.raw, product.raw)
        cid, pid = customer.json["id"], product.json["id"]
        self.customers.append(cid)
        items = [{"productId": pid, "quantity": 1}, *({"productId": self.products[i], "quantity": q} for i, q in order)]
        calls = [
            lambda: self.api.post("/api/orders", {"customerId": cid, "items": items}),
            lambda: self.api.delete(f"/api/products/{pid}"),
            lambda: (
                self.api.delete(f"/api/customers/{cid}")
                if against == "delete"
                else self.api.post(f"/api/customers/{cid}/erasure")
            ),
        ]

        def call(i):  # the deletes `delay` seconds after the placement started (it takes about 1 s)
            if i:
                threading.Event().wait(delay)
            return calls[i]()

        with ThreadPoolExecutor(3) as pool:
            placed, deleted, other = list(pool.map(call, range(3)))
        assert placed.status in (201, 409, 422, 503), placed.raw
        # (never 404: an SDK retry of a delete whose first attempt applied is a 204, test_retried_writes.py)
        assert deleted.status in (204, 409) and other.status in (200, 204, 404, 409), (deleted.raw, other.raw)
        if self.cloud.item("ProductsTable", f"PRODUCT#{pid}") is None:
            self.deleted.add(pid)
        if placed.status == 201:
            self.placed.add(placed.json["id"])
            assert deleted.status == 409, deleted.raw
            assert other.status in (200, 409), other.raw  # erased (the order stays) or refused
        EXPLORED[f"race {against} -> {placed.status}/{deleted.status}/{other.status}"] += 1

    @rule()
    def run_the_sweeper(self):
        result = schedules.sweep(datetime.now(UTC) + LATER)
        self.swept = True
        EXPLORED[f"sweep -> {'found holds' if result['holdsFound'] else 'nothing'}"] += 1

    # ------------------------------------------------------------ invariants
    @invariant()
    def stock_is_conserved(self):
        if not hasattr(self, "products"):
            return
        live = dict.fromkeys(self.products, 0)
        for order in self._orders():
            if order["status"] != "CANCELLED":
                for line in order["items"]:
                    if int(line["productId"]) in live:
                        live[int(line["productId"])] += int(line["quantity"])
        for pid in self.products:
            item = self.cloud.item("ProductsTable", f"PRODUCT#{pid}")
            held = sum(int(v) for k, v in item.items() if k.startswith("hold_"))
            assert item["stock"] >= 0
            assert item["stock"] + live[pid] + held == INITIAL + self.adjusted[pid], (pid, item, live[pid])
            if self.swept:
                assert held == 0, f"a hold outlived a sweep: {item}"
        self.swept = False

    @invariant()
    def holds_belong_to_unfinished_placements(self):
        """A hold exists only while its placement is undecided, or failed and not yet released:
        never for a stored order (its transaction removed them), never unmarked (unfindable)."""
        if not hasattr(self, "products"):
            return
        for pid in self.products:
            item = self.cloud.item("ProductsTable", f"PRODUCT#{pid}")
            for attribute in (k for k in item if k.startswith("hold_")):
                placement = self.cloud.item("OrdersTable", f"PLACEMENT#{attribute.removeprefix('hold_')}")
                assert placement is not None, f"{attribute} on product {pid} has no placement record"
                assert placement.get("outcome") != "PLACED", f"{attribute} outlived its stored order"
                assert placement.get("pending") == hold_key(int(attribute.removeprefix("hold_"))), (
                    f"{attribute} cannot be found by the sweeper"
                )

    @invariant()
    def no_order_refers_to_a_deleted_record(self):
        """Deletes race nothing into orphans: what a stored order refers to still exists (ADR 0020)."""
        if not hasattr(self, "products"):
            return
        for order in self._orders():
            assert self.cloud.item("CustomersTable", f"CUSTOMER#{order['customerId']}"), f"order {order['id']}"
            for line in order["items"]:
                assert int(line["productId"]) not in self.deleted, f"order {order['id']} refers to a deleted product"

    @invariant()
    def answers_are_true(self):
        if not hasattr(self, "products"):
            return
        stored = {int(o["id"]) for o in self._orders()}
        assert self.placed <= stored, f"answered 201 but not stored: {self.placed - stored}"
        assert not (self.refused & stored), f"stored although the caller was told it failed: {self.refused & stored}"
        for key, ids in self.keys.items():
            assert len(ids & stored) <= 1, f"key {key} has {sorted(ids & stored)} stored"

    # ------------------------------------------------------------ helpers
    def _request(self, order, key, label):
        items = [{"productId": self.products[i], "quantity": q} for i, q in order]
        before = self._counter("ORDER")
        pending = {i for i, k in self.unknown.items() if k == key} if key else set()
        headers = {"Idempotency-Key": key} if key else None
        reply = self.api.post("/api/orders", {"customerId": self.customer, "items": items}, headers=headers)
        allocated = set(range(before + 1, self._counter("ORDER") + 1))
        self._collect_inputs()
        if key:
            self.keys.setdefault(key, set()).update(allocated | pending)
            self.bodies[key] = order
        EXPLORED[f"{label} -> {reply.status}"] += 1
        event(f"{label} -> {reply.status}")
        if reply.status == 201:
            order_id = reply.json["id"]
            self._learn(order_id, True)
            for other in (allocated | pending) - {order_id}:
                self._learn(other, False)
        elif reply.status == 202:
            assert reply.header("Location") == f"/api/orders/{reply.json['orderId']}"
            self.unknown[reply.json["orderId"]] = key
        else:
            assert reply.status in (409, 422, 503), reply.raw
            if not (reply.status == 409 and "still in progress" in reply.raw):
                for other in allocated | pending:
                    self._learn(other, False)

    def _learn(self, order_id, stored):
        self.unknown.pop(order_id, None)
        (self.placed if stored else self.refused).add(order_id)

    def _start(self, payload):
        return self.cloud.stepfunctions.start_sync_execution(
            stateMachineArn=self.cloud.state_machines["PlaceOrderStateMachine"],
            name=f"order-{payload['orderId']}",
            input=json.dumps(payload),
        )

    def _collect_inputs(self):
        sfn = self.cloud.stepfunctions
        arn = self.cloud.state_machines["PlaceOrderStateMachine"]
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
            if execution["executionArn"] not in self.seen_executions:
                self.seen_executions.add(execution["executionArn"])
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                payload = json.loads(described["input"])
                if payload.get("customerId") == self.customer:
                    self.inputs.append(payload)

    def _orders(self):
        """This example's orders (examples share one emulated cloud), from every shard of the
        byCustomer index."""
        from sales_common.dynamo import from_item
        from sales_common.shards import ORDER_SHARDS, sharded

        orders = []
        for customer in self.customers:
            for shard in range(ORDER_SHARDS):
                found = self.cloud.dynamodb.query(
                    TableName=self.cloud.tables["OrdersTable"],
                    IndexName="byCustomer",
                    KeyConditionExpression="customerShard = :c",
                    ExpressionAttributeValues={":c": {"S": sharded(customer, shard)}},
                )
                orders += [from_item(item) for item in found["Items"]]
        return orders

    def _counter(self, entity):
        item = self.cloud.item("OrdersTable" if entity == "ORDER" else "CustomersTable", f"COUNTER#{entity}")
        return int(item["lastId"]) if item else 0

    @contextmanager
    def _losing(self, loss):
        faults = self.faults
        with pytest.MonkeyPatch.context() as patch:
            if loss == "reservation-answer":
                faults.inject("TransactWriteItems", "InternalServerError", when=faults.reserving, times=1, applied=True)
            elif loss == "order-write-answer":
                faults.inject(
                    "TransactWriteItems", "InternalServerError", when=faults.writing_order, times=1, applied=True
                )
            elif loss == "decide-in-workflow":
                faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
                faults.inject("UpdateItem", "InternalServerError", when=faults.deciding, times=2)
            else:
                _lose_workflow_answer(patch)
                if loss == "workflow-answer-and-decide":
                    faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
            try:
                yield
            finally:
                faults.clear()


def _answer(result):
    from orders.placement import DECIDED_FAILURES

    if result["status"] == "SUCCEEDED":
        return "SUCCEEDED"
    return result.get("error") if result.get("error") in DECIDED_FAILURES else "unknown"


def _lose_workflow_answer(patch):
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.start_sync_execution

    def lost(self):
        original(self)
        raise JsonRESTError("InternalFailure", "injected: the answer was lost")

    patch.setattr(StepFunctionResponse, "start_sync_execution", lost, raising=False)


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


@pytest.fixture
def no_retry_waits(monkeypatch):
    """The ASL's retry intervals are not slept (their worst case is proven in tests/template)."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda _: None))


def test_the_placement_protocol_keeps_its_promises(api, cloud, faults, no_retry_waits):
    PlacementModel.api, PlacementModel.cloud, PlacementModel.faults = api, cloud, faults
    EXPLORED.clear()
    run_state_machine_as_test(PlacementModel, settings=PROFILES[PROFILE])
    if PROFILE == "soak":
        print(f"\nexplored {sum(EXPLORED.values())} steps:")
        for outcome, count in sorted(EXPLORED.items()):
            print(f"  {count:6d}  {outcome}")
