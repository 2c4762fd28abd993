"""List latency in process over moto (docs/performance.md, "List latency"):

    .venv/bin/python -m tools.bench.lists [--products 40] [--orders 200] [--pages 150] [--profile PATH]

The tests' in-process API (tests/support/apigw: each request through the handler template.yaml
routes it to, in this process) over moto with the local cloud's patches (install_all), every
table provisioned from template.yaml. It writes `--products` products and `--orders` orders (in
the shapes the services store, each order in its shard of every list), then times `--pages` GETs
of a page of 20 of each list and prints p50 and p90 in milliseconds. `--profile` writes a cProfile
of the orders' list pages to PATH (read it with `python -m pstats PATH`)."""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "functions", ROOT / "layers" / "shared", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

LISTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/api/products", {}),
    ("/api/orders", {}),
    ("/api/orders", {"from": "2026-01-01"}),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "SalesBench",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from localcloud.patching import install_all
    from localcloud.provision import provision
    from orders.repository import list_keys
    from sales_common.dynamo import to_item
    from tests.support.apigw import Api, template

    install_all()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        services = ("dynamodb", "stepfunctions", "sqs", "secretsmanager", "events")
        clients: dict[str, Any] = {s: boto3.client(s, region_name="us-east-1") for s in services}  # type: ignore[call-overload]
        made = provision(clients.__getitem__, template(), sign_in=False)
        api = Api(refs=made.state_machines)
        for n in range(args.products):
            reply = api.post("/api/products", {"name": f"Product {n:03d}", "price": Decimal("9.99"), "stock": 1000})
            assert reply.status == 201, reply.raw
        ddb, orders = clients["dynamodb"], made.tables["OrdersTable"]
        for order_id in range(1, args.orders + 1):
            stamp = f"2026-12-07T10:{order_id // 60 % 60:02d}:{order_id % 60:02d}.000Z"
            line = {"productId": 1, "name": "Product 000", "unitPrice": Decimal("9.99"), "quantity": 1}
            item = {
                "pk": f"ORDER#{order_id}",
                "entity": "order",
                "id": order_id,
                "version": 1,
                "createdAt": stamp,
                "updatedAt": stamp,
                "createdBy": "bench",
                "updatedBy": "bench",
                "customerId": 1 + order_id % 7,
                "status": "CONFIRMED",
                "items": [{**line, "lineTotal": Decimal("9.99")}],
                "total": Decimal("9.99"),
                **list_keys(order_id, 1 + order_id % 7, "bench", "CONFIRMED"),
            }
            ddb.put_item(TableName=orders, Item=to_item(item))
        print(f"{args.products} products, {args.orders} orders; {args.pages} GETs of a page of 20 each (ms):")
        for path, query in LISTS:
            query = {**query, "limit": "20"}
            url = f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
            assert api.get(path, query=query).status == 200  # warm: imports, clients, signing keys
            profiler = cProfile.Profile() if args.profile and url == "/api/orders?limit=20" else None
            samples = []
            for _ in range(args.pages):
                start = time.perf_counter_ns()
                if profiler:
                    profiler.enable()
                reply = api.get(path, query=query)
                if profiler:
                    profiler.disable()
                samples.append((time.perf_counter_ns() - start) / 1e6)
                assert reply.status == 200 and len(reply.json) == 20, reply.raw
            if profiler:
                profiler.dump_stats(args.profile)
            p50 = statistics.median(samples)
            p90 = statistics.quantiles(samples, n=10)[-1]
            print(f"  {url:<40} p50 {p50:8.1f}  p90 {p90:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
