"""`make bench`: the handlers against a bare boto3 baseline, measured side by side in one run.

    .venv/bin/python -m tools.bench.run [--quick] [--no-suite] [--only abcde] [--json PATH]

Everything runs on loopback against a moto server this script starts on a free port (tables and
the PlaceOrder state machine from template.yaml). It measures:

  a. cold start: a fresh interpreter imports the handler module and invokes it once, against the
     same for `tools/bench/bare.py` making the same AWS requests (goal: ratio <= 1.3);
  b. warm invocations in-process, p50/p99, alternating real and bare calls (goal: p50 ratio <= 1.15);
  c. order placement cost for 1, 5 and 20 items: DynamoDB requests seen by the emulator and state
     transitions from the execution history (goal: <= n + 2 DynamoDB requests);
  d. wall time of `make test`, the Docker tier excluded (goal: <= 90 s);
  e. gateway throughput: GET product, GET list and POST order through the local cloud's API
     (`LocalCloudProcess`, each function in its own worker processes, warmed to their concurrency
     limit first) at concurrency 1, 8 and 32, requests/s and p50/p99, and the scaling from 1 to 8,
     against the same AWS
     requests the handler makes sent straight to that local cloud's emulator with boto3 (GetItem;
     Query on byEntity; BatchGetItem + UpdateItem + StartSyncExecution) -- the baseline is the
     emulator's own rate for the handler's AWS work (goal: gateway >= 0.5x the emulator's rate).

The table is printed and the figures are written to .localcloud/bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "functions", ROOT / "layers" / "shared", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

GOALS = {
    "cold_ratio": 1.3,
    "warm_p50_ratio": 1.15,
    "fan_out_extra_ms": 5.0,  # issue 23: a sharded page at most a few ms slower than one list partition's
    "suite_seconds": 90.0,
    "gateway_rps_ratio": 0.5,
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
ORIGINAL_ENV = dict(os.environ)


# ------------------------------------------------------------------ emulator
@dataclass
class Emulator:
    url: str
    tables: dict[str, str]
    arns: dict[str, str]
    server: Any
    dynamodb_calls: Counter[str] = field(default_factory=Counter)

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.url, config=Config(inject_host_prefix=False))  # type: ignore[call-overload]

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.dynamodb_calls.clear()
        seen: Counter[str] = Counter()
        yield seen
        seen.update(self.dynamodb_calls)


def start_emulator() -> Emulator:
    from moto.dynamodb.responses import DynamoHandler

    from localcloud import sync_execution
    from localcloud.provision import provision
    from localcloud.sam_template import SamTemplate
    from localcloud.serving import start_moto

    moto = start_moto()  # the local cloud's own emulator: its patches, state machines executed
    os.environ.update(
        {
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto.url,
            **moto.env,
            "POWERTOOLS_METRICS_NAMESPACE": "SalesBench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **sync_execution.LOCAL_ENV,
        }
    )
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(k, None)
    emulator = Emulator(moto.url, {}, {}, moto)
    original = DynamoHandler.call_action

    def counted(self: Any) -> Any:
        emulator.dynamodb_calls[self._get_action()] += 1
        return original(self)

    DynamoHandler.call_action = counted  # type: ignore[method-assign]
    made = provision(emulator.client, SamTemplate.load(ROOT / "template.yaml"), sign_in=False)
    emulator.tables, emulator.arns = made.tables, made.state_machines
    os.environ["PRODUCTS_TABLE_NAME"] = emulator.tables["ProductsTable"]
    os.environ["PLACE_ORDER_STATE_MACHINE_ARN"] = emulator.arns["PlaceOrderStateMachine"]
    return emulator


# ------------------------------------------------------------------ fixtures
class Fixtures:
    """Products and orders written straight to the tables (fast), in the shapes the services
    store; customers created by their own handler (their email lock has a form of its own)."""

    def __init__(self, emulator: Emulator) -> None:
        self.ddb = emulator.client("dynamodb")
        self.tables = emulator.tables
        self.arns = emulator.arns
        self.next_id = 1_000_000
        self.order_ids = 0  # orders are numbered as the counter numbers them (1, 2, 3: see `order`)

    def put(self, table: str, entity: str, attrs: dict[str, Any], entity_id: int | None = None) -> int:
        from sales_common.dynamo import to_item

        if entity_id is None:
            self.next_id += 1
            entity_id = self.next_id
        stamp = "2026-01-01T00:00:00.000Z"
        item = {**attrs, "pk": f"{entity.upper()}#{entity_id}", "entity": entity, "id": entity_id, "version": 1}
        item.update(createdAt=stamp, updatedAt=stamp)
        self.ddb.put_item(TableName=self.tables[table], Item=to_item(item))
        return entity_id

    def product(self, stock: int = 10_000_000, price: str = "9.99") -> int:
        from decimal import Decimal

        return self.put("ProductsTable", "product", {"name": "Bench", "price": Decimal(price), "stock": stock})

    def customer(self) -> int:
        """A customer created by the CreateCustomer handler itself: its items (the email lock
        above all) are whatever the service writes, not a copy that drifts from it."""
        from tests.support.apigw import build_event, route

        fn, _ = route("POST", "/api/customers")
        body = {"name": "Bench", "email": f"bench-{uuid.uuid4().hex[:12]}@example.com"}
        with contextlib.redirect_stdout(io.StringIO()):  # its metrics
            reply = invoke_real(fn, build_event(fn, "/api/customers", {}, body), self.arns)
        if reply["statusCode"] != 201:
            raise RuntimeError(f"the bench could not create a customer: {reply['statusCode']} {reply.get('body')}")
        return int(json.loads(reply["body"])["id"])

    def order(self, customer_id: int, product_id: int) -> int:
        from decimal import Decimal

        line = {"productId": product_id, "name": "Bench", "unitPrice": Decimal("9.99"), "quantity": 1}
        line["lineTotal"] = Decimal("9.99")
        from orders.repository import list_keys

        attrs = {"customerId": customer_id, "status": "CONFIRMED", "items": [line], "total": Decimal("9.99")}
        # The id the order counter hands out next, and the counter moved past it, as the service
        # numbers orders (the list of all orders reads its first ids by key: ADR 0040).
        self.order_ids += 1
        order_id = self.order_ids
        counter = {"pk": {"S": "COUNTER#ORDER"}, "lastId": {"N": str(order_id)}}
        self.ddb.put_item(TableName=self.tables["OrdersTable"], Item=counter)
        shards = list_keys(order_id, customer_id, "bench", "CONFIRMED")  # its place in the lists (ADR 0040)
        return self.put("OrdersTable", "order", {**attrs, "createdBy": "bench", **shards}, order_id)


# ------------------------------------------------------------------ routes
@dataclass
class Case:
    """One template function, its bare twin, and how to make a request for it."""

    function: Any  # tests.support.apigw.Function
    kind: str
    entity: str
    request: Callable[[], tuple[str, dict[str, str], Any]]  # -> (path, path params, body)

    @property
    def name(self) -> str:
        return str(self.function.logical_id.removesuffix("Function"))

    def event(self) -> dict[str, Any]:
        from tests.support.apigw import build_event

        path, params, body = self.request()
        # Orders are placed by a storefront's account (the `integration` group): a user's quota
        # (20 at once, 60 a minute) would refuse the benchmark's hundreds with 429.
        role = "admin integration" if self.kind == "create_order" else "admin"
        return build_event(self.function, path, params, body, role=role)


def cases(fx: Fixtures) -> list[Case]:
    from tests.support.apigw import functions

    product, customer = fx.product(), fx.customer()
    from sales_common.shards import ORDER_SHARDS

    # something to list: a page of 20 in each shard, so that one shard's query (the list of
    # orders before it was sharded, `bare.list_unsharded`) answers a full page too
    for _ in range(20 * ORDER_SHARDS):
        fx.order(customer, product)
    out = []
    for fn in functions():
        verb = fn.logical_id[: next(i for i in range(1, len(fn.logical_id)) if fn.logical_id[i].isupper())].lower()
        service = fn.route.split("/")[2]
        entity = service.removesuffix("s")
        kind = {"list": "list", "get": "get", "create": "create", "update": "update", "delete": "delete"}.get(verb)
        if kind is None or fn.route.count("/") > 3 or service not in ("products", "customers", "orders"):
            # no bare baseline for this route yet (GET /api/me reads nothing)
            # (sub-resources: stock adjustments and their history, customer erasure)
            print(f"  {fn.logical_id}: no bare baseline, not measured", flush=True)
            continue
        if service != "products" and verb in ("create", "delete"):
            kind = f"{verb}_{entity}"
        if service == "orders" and verb == "update":
            kind = "update_order"
        if service == "orders" and verb == "list":
            kind = "list_orders"  # the sharded list (ADR 0040); see fan_out() for its cost
        out.append(Case(fn, kind, entity, _requester(fx, fn.route, service, verb, product, customer)))
    return out


def _requester(
    fx: Fixtures, route: str, service: str, verb: str, product: int, customer: int
) -> Callable[[], tuple[str, dict[str, str], Any]]:
    base = route.split("{")[0].rstrip("/")

    def one(entity_id: int, body: Any = None) -> tuple[str, dict[str, str], Any]:
        return f"{base}/{entity_id}", {"id": str(entity_id)}, body

    fixed_id = {"products": product, "customers": customer, "orders": fx.order(customer, product)}[service]
    makers: dict[tuple[str, str], Callable[[], tuple[str, dict[str, str], Any]]] = {
        ("products", "list"): lambda: (base, {}, None),
        ("customers", "list"): lambda: (base, {}, None),
        ("orders", "list"): lambda: (base, {}, None),
        ("products", "get"): lambda: one(fixed_id),
        ("customers", "get"): lambda: one(fixed_id),
        ("orders", "get"): lambda: one(fixed_id),
        ("products", "create"): lambda: (base, {}, {"name": "Bench", "price": 9.99, "stock": 5}),
        ("customers", "create"): lambda: (
            base,
            {},
            {"name": "Bench", "email": f"new-{uuid.uuid4().hex[:12]}@example.com"},
        ),
        ("orders", "create"): lambda: (
            base,
            {},
            {"customerId": customer, "items": [{"productId": product, "quantity": 1}]},
        ),
        ("products", "update"): lambda: one(fixed_id, {"description": "benchmarked"}),
        ("customers", "update"): lambda: one(fixed_id, {"phone": "123-456"}),
        ("orders", "update"): lambda: one(fx.order(customer, product), {"status": "SHIPPED"}),
        ("products", "delete"): lambda: one(fx.product()),
        ("customers", "delete"): lambda: one(fx.customer()),
        ("orders", "delete"): lambda: one(fx.order(customer, product)),
    }
    return makers[(service, verb)]


def invoke_real(function: Any, event: dict[str, Any], arns: dict[str, str]) -> dict[str, Any]:
    """The handler as the test harness runs it, with the function's own environment, except that
    boto3 must not add StartSyncExecution's `sync-` host prefix to the emulator's address."""
    from localcloud import sync_execution
    from tests.support.apigw import LambdaContext, _handler, function_env

    handler = _handler(function, arns)
    with function_env({**function.resolved_environment(arns), **sync_execution.LOCAL_ENV}):
        return handler(event, LambdaContext(function.logical_id))  # type: ignore[no-any-return]


# ------------------------------------------------------------------ a. cold start
COLD_SCRIPT = r"""
import json, os, sys, time
t0 = time.perf_counter()
import importlib
module_name, _, attr = os.environ["BENCH_HANDLER"].rpartition(".")
handler = getattr(importlib.import_module(module_name), attr)
t1 = time.perf_counter()
class Context:
    function_name = "bench"; function_version = "$LATEST"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"; aws_request_id = "bench"
    def get_remaining_time_in_millis(self): return 10000
result = handler(json.loads(os.environ["BENCH_EVENT"]), Context())
t2 = time.perf_counter()
print("BENCH " + json.dumps({"init_ms": (t1 - t0) * 1e3, "invoke_ms": (t2 - t1) * 1e3, "status": result["statusCode"]}))
"""


def cold_once(case: Case, emulator: Emulator, bare: bool) -> dict[str, float]:
    env = {k: v for k, v in ORIGINAL_ENV.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env.update(case.function.resolved_environment(emulator.arns))
    env.update({k: os.environ[k] for k in os.environ if k.startswith(("AWS_", "POWERTOOLS_"))})
    env.update(
        PRODUCTS_TABLE_NAME=emulator.tables["ProductsTable"],
        PYTHONPATH=os.pathsep.join(str(p) for p in (ROOT / "functions", ROOT / "layers" / "shared", ROOT)),
        BENCH_HANDLER="tools.bench.bare.handler" if bare else case.function.handler,
        BENCH_EVENT=json.dumps(case.event()),
        BARE_KIND=case.kind,
        BARE_ENTITY=case.entity,
    )
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", COLD_SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    wall = (time.perf_counter() - began) * 1e3
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"cold start of {case.name} (bare={bare}) failed:\n{done.stdout}\n{done.stderr}")
    out: dict[str, float] = json.loads(line[6:])
    if out["status"] >= 400:
        raise RuntimeError(f"cold start of {case.name} (bare={bare}) answered {out['status']}:\n{done.stdout}")
    out["total_ms"] = out["init_ms"] + out["invoke_ms"]
    out["process_ms"] = wall
    return out


def cold_start(all_cases: list[Case], emulator: Emulator, reps: int) -> list[dict[str, Any]]:
    rows = []
    for case in all_cases:
        real, bare = [], []
        for _ in range(reps):  # alternate, so drift hits both alike
            real.append(cold_once(case, emulator, bare=False))
            bare.append(cold_once(case, emulator, bare=True))
        r = statistics.median(x["total_ms"] for x in real)
        b = statistics.median(x["total_ms"] for x in bare)
        rows.append(
            {
                "function": case.name,
                "real_ms": r,
                "real_init_ms": statistics.median(x["init_ms"] for x in real),
                "bare_ms": b,
                "bare_init_ms": statistics.median(x["init_ms"] for x in bare),
                "ratio": r / b,
                "met": r / b <= GOALS["cold_ratio"],
            }
        )
        print(f"  cold {case.name:<16} {r:7.1f} ms vs bare {b:7.1f} ms  x{r / b:.2f}", flush=True)
    return rows


# ------------------------------------------------------------------ b. warm
def warm(all_cases: list[Case], emulator: Emulator, iterations: int) -> list[dict[str, Any]]:
    from tools.bench import bare

    rows = []
    sink = io.StringIO()
    for case in all_cases:
        n = max(10, iterations // 5) if case.kind == "create_order" else iterations
        bare_fn = bare.HANDLERS[case.kind]
        table = emulator.tables[case.function.resolved_environment({})["TABLE_NAME"]]
        real_ns: list[int] = []
        bare_ns: list[int] = []
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            for i in range(n + 3):  # the first 3 of each warm up (clients, caches)
                for is_bare in (i % 2 == 1, i % 2 == 0):  # alternate which goes first
                    event = case.event()
                    t0 = time.perf_counter_ns()
                    if is_bare:
                        result = bare_fn(event, table, case.entity)
                    else:
                        result = invoke_real(case.function, event, emulator.arns)
                    elapsed = time.perf_counter_ns() - t0
                    if result["statusCode"] >= 400:
                        raise RuntimeError(f"warm {case.name} (bare={is_bare}): {result}")
                    if i >= 3:
                        (bare_ns if is_bare else real_ns).append(elapsed)
                sink.seek(0)
                sink.truncate()
        r50, r99 = _pct(real_ns, 50), _pct(real_ns, 99)
        b50, b99 = _pct(bare_ns, 50), _pct(bare_ns, 99)
        rows.append(
            {
                "function": case.name,
                "iterations": n,
                "real_p50_ms": r50,
                "real_p99_ms": r99,
                "bare_p50_ms": b50,
                "bare_p99_ms": b99,
                "p50_ratio": r50 / b50,
                "met": r50 / b50 <= GOALS["warm_p50_ratio"],
            }
        )
        print(f"  warm {case.name:<16} p50 {r50:6.2f} ms vs bare {b50:6.2f} ms  x{r50 / b50:.2f}", flush=True)
    return rows


def fan_out(all_cases: list[Case], emulator: Emulator, iterations: int) -> dict[str, Any]:
    """What sharding costs a page of orders, three ways in turn on the same table: the real
    handler, the same requests by hand (`bare.list_orders`: 16 queries in parallel), and the one
    query of the list before it was sharded (`bare.list_unsharded`)."""
    from tools.bench import bare

    case = next(c for c in all_cases if c.kind == "list_orders")
    table = emulator.tables[case.function.resolved_environment({})["TABLE_NAME"]]
    ways: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "real": lambda event: invoke_real(case.function, event, emulator.arns),
        "sharded": lambda event: bare.list_orders(event, table, case.entity),
        "unsharded": lambda event: bare.list_unsharded(event, table, case.entity),
    }
    samples: dict[str, list[int]] = {name: [] for name in ways}
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        for i in range(iterations + 3):
            names = list(ways)
            for name in names[i % 3 :] + names[: i % 3]:  # each goes first in turn
                event = case.event()
                t0 = time.perf_counter_ns()
                result = ways[name](event)
                elapsed = time.perf_counter_ns() - t0
                if result["statusCode"] != 200:
                    raise RuntimeError(f"{case.name} ({name}): {result}")
                if i >= 3:
                    samples[name].append(elapsed)
            sink.seek(0)
            sink.truncate()
    p50 = {name: _pct(ns, 50) for name, ns in samples.items()}
    extra = p50["real"] - p50["unsharded"]
    return {
        "function": case.name,
        "iterations": iterations,
        "real_p50_ms": p50["real"],
        "sharded_bare_p50_ms": p50["sharded"],
        "unsharded_bare_p50_ms": p50["unsharded"],
        "extra_ms": extra,
        "met": extra <= GOALS["fan_out_extra_ms"],
    }


def _pct(samples_ns: list[int], p: int) -> float:
    ordered = sorted(samples_ns)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] / 1e6


# ------------------------------------------------------------------ c. placement cost
def placement_cost(emulator: Emulator, fx: Fixtures) -> list[dict[str, Any]]:
    from tests.support.apigw import build_event, route

    function, _ = route("POST", "/api/orders")
    sfn = emulator.client("stepfunctions")
    rows = []
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        customer = fx.customer()
        for n in (1, 5, 20):
            items = [{"productId": fx.product(), "quantity": 1} for _ in range(n)]
            event = build_event(function, "/api/orders", {}, {"customerId": customer, "items": items})
            with emulator.counting() as calls:
                reply = invoke_real(function, event, emulator.arns)
            if reply["statusCode"] != 201:
                raise RuntimeError(f"placing an order of {n} items answered {reply['statusCode']}: {reply['body']}")
            order_id = json.loads(reply["body"])["id"]
            arn = emulator.arns["PlaceOrderStateMachine"]
            executions = sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
            execution = next(e for e in executions if e["name"] == f"order-{order_id}")
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
            in_workflow = sum(
                1
                for e in events
                if e["type"] == "TaskScheduled" and "dynamodb" in e["taskScheduledEventDetails"]["resourceType"]
            )
            total = sum(calls.values())
            rows.append(
                {
                    "items": n,
                    "workflow_dynamodb_requests": in_workflow,
                    "dynamodb_requests": total,
                    "by_action": dict(sorted(calls.items())),
                    "state_transitions": transitions,
                    "goal": n + 2,
                    "met": in_workflow <= n + 2,
                }
            )
            print(
                f"  order of {n:>2} items: {in_workflow} DynamoDB requests in the workflow, {total} for the whole "
                f"request, {transitions} state transitions",
                flush=True,
            )
    return rows


# ------------------------------------------------------------------ d. test suite
def suite_wall_time() -> dict[str, Any]:
    """`make test`'s wall time against the goal, with the CPU time it used (its processes and
    theirs: the local cloud and its workers) and the machine's load, since a shared machine's wall
    time says little alone: on 2 idle cores the wall time cannot be below about half the CPU time."""
    import resource

    env = {k: v for k, v in ORIGINAL_ENV.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    cmd = ["make", "test"]  # the README's test command; the e2e, protocol, slow and Docker tiers are separate
    load_before = os.getloadavg()[0]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    tests = [line for line in done.stdout.splitlines() if " passed" in line or " failed" in line]
    summary = tests[-1].strip(" =") if tests else f"exit {done.returncode}"
    return {
        "command": " ".join(cmd),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "cores": os.cpu_count(),
        "load_average": [load_before, os.getloadavg()[0]],
        "passed": done.returncode == 0,
        "summary": summary,
        "met": seconds <= GOALS["suite_seconds"],
    }


# ------------------------------------------------------------------ e. gateway throughput
GATEWAY_LEVELS = (1, 8, 32)


@contextlib.contextmanager
def _original_environment() -> Iterator[None]:
    """The local cloud subprocess inherits os.environ; give it the caller's, not start_emulator()'s."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(ORIGINAL_ENV)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _timed_pool(call: Callable[[int], None], requests_total: int, concurrency: int) -> tuple[float, list[int]]:
    """Run `call(i)` for i in range(requests_total) on `concurrency` threads; (wall seconds, latencies ns)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        t0 = time.perf_counter_ns()
        call(i)
        return time.perf_counter_ns() - t0

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(one, range(requests_total)))
    return time.perf_counter() - began, latencies


class _Gateway:
    """The three operations through the local cloud's API, and their direct boto3 equivalents
    against the same emulator (what the handler itself asks of AWS, without gateway and handler)."""

    def __init__(self, cloud: Any) -> None:
        import threading

        import requests

        self.cloud = cloud
        self.api = cloud.api_url
        self.local = threading.local()
        self.requests = requests
        # Orders as fast as an integration places them: the per-user limit of the `integration` group.
        cloud.add_to_group("admin", "integration")
        self.auth = {"Authorization": f"Bearer {cloud.token('admin')}"}
        http = requests.Session()
        http.headers.update(self.auth)
        make: dict[str, Any] = {"name": "Bench", "price": 9.99, "stock": 10_000_000}
        self.product = http.post(f"{self.api}/api/products", json=make, timeout=30).json()["id"]
        for _ in range(25):  # a full first page for the list
            http.post(f"{self.api}/api/products", json={**make, "stock": 1}, timeout=30).raise_for_status()
        body = {"name": "Bench", "email": f"bench-{uuid.uuid4().hex[:12]}@example.com"}
        self.customer = http.post(f"{self.api}/api/customers", json=body, timeout=30).json()["id"]
        self.tables = cloud.tables
        self.arn = cloud.state_machine_arns["PlaceOrderStateMachine"]

    # -- per-thread clients: one keep-alive session / one boto3 client per worker thread
    def _session(self) -> Any:
        if not hasattr(self.local, "session"):
            self.local.session = self.requests.Session()
            self.local.session.headers.update(self.auth)
        return self.local.session

    def _aws(self, service: str) -> Any:
        if not hasattr(self.local, service):
            setattr(self.local, service, self.cloud.client(service))
        return getattr(self.local, service)

    def _expect(self, response: Any, status: int) -> None:
        if response.status_code != status:
            raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code} {response.text}")

    # -- through the gateway
    def api_get(self, _: int) -> None:
        self._expect(self._session().get(f"{self.api}/api/products/{self.product}", timeout=60), 200)

    def api_list(self, _: int) -> None:
        self._expect(self._session().get(f"{self.api}/api/products", timeout=60), 200)

    def api_order(self, _: int) -> None:
        body = {"customerId": self.customer, "items": [{"productId": self.product, "quantity": 1}]}
        self._expect(self._session().post(f"{self.api}/api/orders", json=body, timeout=60), 201)

    # -- the same AWS requests, straight to the emulator
    def aws_get(self, _: int) -> None:
        key = {"pk": {"S": f"PRODUCT#{self.product}"}}
        self._aws("dynamodb").get_item(TableName=self.tables["ProductsTable"], Key=key, ConsistentRead=True)

    def aws_list(self, _: int) -> None:
        ddb = self._aws("dynamodb")
        products = self.tables["ProductsTable"]
        listed = ddb.query(
            TableName=products,
            IndexName="byEntity",
            KeyConditionExpression="entity = :entity",
            ExpressionAttributeValues={":entity": {"S": "product"}},
            Limit=20,
        )
        keys = [{"pk": i["pk"]} for i in listed["Items"]]  # keys only (docs/adr/0039): the items from the table
        if keys:
            ddb.batch_get_item(RequestItems={products: {"Keys": keys}})

    def aws_order(self, _: int) -> None:
        ddb = self._aws("dynamodb")
        products = self.tables["ProductsTable"]
        ddb.batch_get_item(  # the price quote
            RequestItems={
                products: {
                    "Keys": [{"pk": {"S": f"PRODUCT#{self.product}"}}],
                    "ConsistentRead": True,
                    "ProjectionExpression": "id, #n, price, stock",
                    "ExpressionAttributeNames": {"#n": "name"},
                }
            }
        )
        allocated = ddb.update_item(  # the order id
            TableName=self.tables["OrdersTable"],
            Key={"pk": {"S": "COUNTER#ORDER"}},
            UpdateExpression="ADD lastId :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        order_id = int(allocated["Attributes"]["lastId"]["N"])
        line = {"productId": self.product, "name": "Bench", "quantity": 1, "unitPrice": "9.99", "lineTotal": "9.99"}
        payload = {
            "orderId": order_id,
            "customerId": self.customer,
            "createdBy": "bench",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "total": "9.99",
            "items": [line],
        }
        result = self._aws("stepfunctions").start_sync_execution(
            stateMachineArn=self.arn, name=f"order-{order_id}", input=json.dumps(payload)
        )
        if result["status"] != "SUCCEEDED":
            raise RuntimeError(f"baseline order {order_id}: {result.get('error')} {result.get('cause')}")


def gateway_throughput(quick: bool) -> list[dict[str, Any]]:
    from localcloud.server import LocalCloudProcess

    scale = 0.25 if quick else 1.0
    counts = {  # requests per (operation, concurrency): bounded, and enough for a p99 at 8 and 32
        "GET /api/products/{id}": {1: 100, 8: 320, 32: 640},
        "GET /api/products": {1: 40, 8: 96, 32: 192},
        "POST /api/orders": {1: 12, 8: 32, 32: 64},
    }
    rows = []
    with _original_environment():
        cloud = LocalCloudProcess(ROOT / "template.yaml", host="127.0.0.1").start()
    try:
        gw = _Gateway(cloud)
        operations = [
            ("GET /api/products/{id}", gw.api_get, gw.aws_get, "GetItem"),
            ("GET /api/products", gw.api_list, gw.aws_list, "Query byEntity, Limit 20"),
            ("POST /api/orders", gw.api_order, gw.aws_order, "BatchGetItem + UpdateItem + StartSyncExecution"),
        ]
        for name, through_api, direct, baseline in operations:
            for _ in range(3):  # warm both paths (connections, clients)
                through_api(0)
                direct(0)
            # Every execution environment the runs below can use, started before measuring: a burst
            # at the highest concurrency makes the function scale out to its limit (cold starts).
            _timed_pool(through_api, 2 * max(GATEWAY_LEVELS), max(GATEWAY_LEVELS))
            for level in GATEWAY_LEVELS:
                n = max(level * 2, int(counts[name][level] * scale))
                # alternate which side runs first, so drift (table growth, GC) hits both alike
                sides = [("api", through_api), ("aws", direct)]
                if level == 8:
                    sides.reverse()
                measured: dict[str, tuple[float, list[int]]] = {}
                for side, call in sides:
                    measured[side] = _timed_pool(call, n, level)
                (api_s, api_ns), (aws_s, aws_ns) = measured["api"], measured["aws"]
                api_rps, aws_rps = n / api_s, n / aws_s
                rows.append(
                    {
                        "operation": name,
                        "baseline": baseline,
                        "concurrency": level,
                        "requests": n,
                        "api_rps": api_rps,
                        "api_p50_ms": _pct(api_ns, 50),
                        "api_p99_ms": _pct(api_ns, 99),
                        "aws_rps": aws_rps,
                        "aws_p50_ms": _pct(aws_ns, 50),
                        "aws_p99_ms": _pct(aws_ns, 99),
                        "ratio": api_rps / aws_rps,
                        "met": api_rps / aws_rps >= GOALS["gateway_rps_ratio"],
                    }
                )
                print(
                    f"  {name:<24} c={level:<2} gateway {api_rps:7.1f} req/s vs emulator {aws_rps:7.1f} req/s"
                    f"  x{api_rps / aws_rps:.2f}",
                    flush=True,
                )
    finally:
        cloud.stop()
    return rows


def gateway_scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Throughput at concurrency 8 over concurrency 1, for the gateway and for the emulator."""
    out = []
    for operation in dict.fromkeys(r["operation"] for r in rows):
        at = {r["concurrency"]: r for r in rows if r["operation"] == operation}
        if 1 in at and 8 in at:
            out.append(
                {
                    "operation": operation,
                    "api_scaling": at[8]["api_rps"] / at[1]["api_rps"],
                    "aws_scaling": at[8]["aws_rps"] / at[1]["aws_rps"],
                }
            )
    return out


# ------------------------------------------------------------------ report
def _verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def _section(*heading: str, rows: list[str]) -> list[str]:
    """A part of the report: its heading (title, goal, column header), its rows, a blank line."""
    return [*heading, *rows, ""]


def report(results: dict[str, Any]) -> str:
    lines = []
    if results.get("cold_start"):
        lines += _section(
            f"a. Cold start: fresh interpreter, import + first invocation (median of {results['cold_reps']})."
            f"  Goal: ratio <= {GOALS['cold_ratio']}",
            f"  {'function':<16} {'handler ms':>10} {'(init)':>8} {'bare ms':>8} {'(init)':>8} {'ratio':>6}  goal",
            rows=[
                f"  {r['function']:<16} {r['real_ms']:10.1f} {r['real_init_ms']:8.1f} {r['bare_ms']:8.1f} "
                f"{r['bare_init_ms']:8.1f} {r['ratio']:6.2f}  {_verdict(r['met'])}"
                for r in results["cold_start"]
            ],
        )
    if results.get("warm"):
        lines += _section(
            f"b. Warm invocations, in-process.  Goal: p50 ratio <= {GOALS['warm_p50_ratio']}",
            f"  {'function':<16} {'n':>4} {'p50 ms':>7} {'p99 ms':>7} {'bare p50':>8} {'bare p99':>8} {'ratio':>6}  goal",
            rows=[
                f"  {r['function']:<16} {r['iterations']:4d} {r['real_p50_ms']:7.2f} {r['real_p99_ms']:7.2f} "
                f"{r['bare_p50_ms']:8.2f} {r['bare_p99_ms']:8.2f} {r['p50_ratio']:6.2f}  {_verdict(r['met'])}"
                for r in results["warm"]
            ],
        )
    if results.get("fan_out"):
        f = results["fan_out"]
        lines += _section(
            f"b'. The sharded list's page ({f['function']}, 16 shards, ADR 0040) against one list partition's.  Goal:"
            f" <= {GOALS['fan_out_extra_ms']:.0f} ms slower",
            f"  real handler {f['real_p50_ms']:.2f} ms; by hand, the same requests {f['sharded_bare_p50_ms']:.2f} ms,"
            f" one partition's query {f['unsharded_bare_p50_ms']:.2f} ms: +{f['extra_ms']:.2f} ms  {_verdict(f['met'])}",
            "  (the page reads the ids after its cursor by key, one request; only what that leaves is asked of",
            "   the 16 shards, whose queries this emulator answers one at a time: docs/performance.md)",
            rows=[],
        )
    if results.get("placement"):
        lines += _section(
            "c. Order placement (POST /api/orders, no Idempotency-Key).  Goal: <= n + 2 DynamoDB requests in the",
            "   workflow (from the execution history); 'request' also counts the handler's quote and id counter",
            f"  {'items':>5} {'workflow':>8} {'goal':>5} {'request':>8} {'transitions':>11}  by action (whole request)",
            rows=[
                f"  {r['items']:5d} {r['workflow_dynamodb_requests']:8d} {r['goal']:5d} {r['dynamodb_requests']:8d} "
                f"{r['state_transitions']:11d}  "
                + ", ".join(f"{k} {v}" for k, v in r["by_action"].items())
                + f"  {_verdict(r['met'])}"
                for r in results["placement"]
            ],
        )
    if results.get("gateway"):
        baselines = {r["operation"]: r["baseline"] for r in results["gateway"]}
        lines += _section(
            "e. Gateway throughput: the local cloud's API vs the same AWS requests sent straight to its emulator."
            f"  Goal: req/s ratio >= {GOALS['gateway_rps_ratio']}",
            f"  {'operation':<24} {'conc':>4} {'n':>4} {'API req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'AWS req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}  goal",
            rows=[
                *(
                    f"  {r['operation']:<24} {r['concurrency']:4d} {r['requests']:4d} {r['api_rps']:9.1f} "
                    f"{r['api_p50_ms']:7.1f} {r['api_p99_ms']:7.1f} {r['aws_rps']:9.1f} {r['aws_p50_ms']:7.1f} "
                    f"{r['aws_p99_ms']:7.1f} {r['ratio']:6.2f}  {_verdict(r['met'])}"
                    for r in results["gateway"]
                ),
                *(f"  baseline for {op}: {b}" for op, b in baselines.items()),
                "  scaling from concurrency 1 to 8 (req/s at 8 / req/s at 1):",
                *(
                    f"    {s['operation']:<24} gateway x{s['api_scaling']:.2f}   emulator x{s['aws_scaling']:.2f}"
                    for s in results.get("gateway_scaling", [])
                ),
            ],
        )
    if results.get("suite"):
        s = results["suite"]
        lines += [
            f"d. Test suite wall time ({s['command']}; slow and Docker tiers excluded).  Goal: <= "
            f"{GOALS['suite_seconds']:.0f} s",
            f"  {s['seconds']:.1f} s  ({s['summary']})  {_verdict(s['met'] and s['passed'])}",
            f"  CPU time {s['cpu_seconds']:.0f} s on {s['cores']} cores (so at best {s['cpu_seconds'] / s['cores']:.0f} s "
            f"of wall time on an idle machine); load average {s['load_average'][0]:.1f} before, "
            f"{s['load_average'][1]:.1f} after",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--no-suite", action="store_true", help="skip d. (the wall time of make test)")
    parser.add_argument("--only", default="abcde", help="which parts to run, e.g. 'bc' (default: abcde)")
    parser.add_argument("--json", default=str(ROOT / ".localcloud" / "bench.json"), help="where to write figures")
    args = parser.parse_args(argv)
    cold_reps, warm_iterations = (1, 20) if args.quick else (3, 150)
    only = set(args.only) - ({"d"} if args.no_suite else set())

    began = time.perf_counter()
    results: dict[str, Any] = {"cold_reps": cold_reps, "goals": GOALS, "python": sys.version.split()[0]}
    if only & set("abc"):
        emulator = start_emulator()
        try:
            fx = Fixtures(emulator)
            all_cases = cases(fx)
            if "a" in only:
                print("a. cold start ...", flush=True)
                results["cold_start"] = cold_start(all_cases, emulator, cold_reps)
            if "b" in only:
                print("b. warm invocations ...", flush=True)
                results["warm"] = warm(all_cases, emulator, warm_iterations)
                results["fan_out"] = fan_out(all_cases, emulator, warm_iterations)
            if "c" in only:
                print("c. order placement cost ...", flush=True)
                results["placement"] = placement_cost(emulator, fx)
        finally:
            emulator.server.stop()
    if "e" in only:
        print("e. gateway throughput ...", flush=True)
        results["gateway"] = gateway_throughput(args.quick)
        results["gateway_scaling"] = gateway_scaling(results["gateway"])
    if "d" in only:
        print("d. make test ...", flush=True)
        results["suite"] = suite_wall_time()
    results["bench_seconds"] = time.perf_counter() - began

    print("\n" + report(results))
    print(f"(bench took {results['bench_seconds']:.0f} s)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
