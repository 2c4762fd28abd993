"""`make capacity`: how many orders per second the tables sustain before their hottest partition
throttles, derived from the writes the emulator records, not from the code's own view.

    .venv/bin/python -m tools.capacity [--orders 30] [--lines 3] [--json PATH]

It provisions template.yaml's tables and workflow in the local cloud's emulator (moto, in this
process, with the local cloud's patches), wraps the emulator's DynamoDB backend so that every
item write it applies is recorded with the item before and after, and places orders through the
functions template.yaml routes them to. From each recorded write it derives the write units
DynamoDB would charge (1 per KB, rounded up) on the table's partition-key value and on each global
secondary index the emulator keeps for the table (its key schema and projection: an index item
is written when the item enters, leaves, moves or changes a projected attribute; a move is a
delete on the old key and a put on the new one). Reads of items (GetItem, and the gets of
BatchGetItem and TransactGetItems) are recorded per key value the same way (1 unit per 4 KB).

DynamoDB gives one partition about 1,000 write units and 3,000 read units per second, and one key
value never spreads over several partitions; so the orders per second sustainable are
min(1000 / writes per order, 3000 / reads per order) over every key value of every table and
index. Two mixes: many users and many customers (each order its own user and customer), and one
account placing every order (a storefront). The figure is the lower of the two; the goal
(issue 23) is 10,000 orders per second for three-line orders. Only the order path is measured
(creating the products and customers is not); the domain events' publisher and the reports'
projector, which run from the tables' streams, are not run here.

The id block size is samconfig.toml's `prod` environment's (`IdBlockSize`: the id counter is
written once per block of ids, ADR 0034), and the one account is allowed the goal's rate
(`IntegrationOrdersPerMinute` = 600,000: its quota is split over bucket items, ADR 0040; the
default, 1,200 a minute, refuses a storefront long before any partition throttles).
`--parameter NAME=VALUE` sets others.

Writes `.localcloud/capacity.json` and prints a short table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WCU_PER_PARTITION = 1000
RCU_PER_PARTITION = 3000
GOAL = 10_000
OUT = ROOT / ".localcloud" / "capacity.json"

Key = tuple[str, str | None, str]  # (table's logical id, index name or None, partition-key value)


@dataclass
class Recorder:
    """Write and read units per (table, index, key value), from the emulator's backend."""

    logical: dict[str, str] = field(default_factory=dict)  # physical table name -> logical id
    writes: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    reads: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    # (table, index) -> the key attributes the emulator's index has: what the template must say
    schemas: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    on: bool = False

    def reset(self) -> None:
        self.writes.clear()
        self.reads.clear()

    # ---------------------------------------------------------------- what one write costs
    def wrote(self, table: Any, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        if not self.on or table.name not in self.logical or old == new:
            return
        name = self.logical[table.name]
        hash_key = table.hash_key_attr
        item = new if new is not None else old
        assert item is not None
        self.writes[(name, None, _value(item[hash_key]))] += _units(item, 1024)
        for index in table.global_indexes or []:
            keys = tuple(k["AttributeName"] for k in index.schema)
            self.schemas[(name, index.name)] = keys
            before, after = _index_key(old, keys), _index_key(new, keys)
            if before is None and after is None:
                continue
            if before == after:
                if _projected(old, index) != _projected(new, index):
                    self.writes[(name, index.name, before[0])] += _units(_projected(new, index), 1024)  # type: ignore[index, arg-type]
                continue
            if before is not None:
                self.writes[(name, index.name, before[0])] += 1
            if after is not None:
                self.writes[(name, index.name, after[0])] += _units(_projected(new, index), 1024)  # type: ignore[arg-type]

    def read(self, table: Any, key: Mapping[str, Any], item: Mapping[str, Any] | None) -> None:
        if self.on and table.name in self.logical:
            self.reads[(self.logical[table.name], None, _value(key[table.hash_key_attr]))] += _units(item or {}, 4096)


def _value(typed: Mapping[str, Any]) -> str:
    ((_, value),) = typed.items()
    return str(value)


def _units(item: Mapping[str, Any], size: int) -> int:
    return max(1, math.ceil(len(json.dumps(item, sort_keys=True).encode()) / size))


def _index_key(item: Mapping[str, Any] | None, keys: tuple[str, ...]) -> tuple[str, ...] | None:
    if item is None or any(k not in item for k in keys):
        return None
    return tuple(_value(item[k]) for k in keys)


def _projected(item: Mapping[str, Any] | None, index: Any) -> dict[str, Any] | None:
    if item is None:
        return None
    projection = index.projection or {}
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return dict(item)
    wanted = {k["AttributeName"] for k in index.schema}
    if kind == "INCLUDE":
        wanted |= set(projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in wanted}


def install(recorder: Recorder) -> Callable[[], None]:
    """Wrap moto's DynamoDB backend: every applied write (and item read) goes to `recorder`.
    Returns what undoes it."""
    from moto.dynamodb.models import DynamoDBBackend

    saved = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item", "get_item")}

    def current(table: Any, key: Mapping[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        found = table.get_item(hash_value, range_value)
        return dict(found.to_json()["Attributes"]) if found is not None else None

    def wrap(name: str, key_of: Callable[[Any, tuple[Any, ...]], Mapping[str, Any]]) -> None:
        original = getattr(DynamoDBBackend, name)

        def recorded(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            table = self.get_table(table_name)
            key = key_of(table, args)
            before = current(table, key)
            result = original(self, table_name, *args, **kwargs)
            recorder.wrote(table, before, current(table, key))
            return result

        setattr(DynamoDBBackend, name, recorded)

    def put_key(table: Any, args: tuple[Any, ...]) -> Mapping[str, Any]:
        return {k: args[0][k] for k in (table.hash_key_attr, table.range_key_attr) if k}

    wrap("put_item", put_key)
    wrap("update_item", lambda table, args: args[0])
    wrap("delete_item", lambda table, args: args[0])
    original_get = DynamoDBBackend.get_item

    def get_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        found = original_get(self, table_name, *args, **kwargs)
        item = found.to_json()["Attributes"] if found is not None else None
        recorder.read(self.get_table(table_name), args[0] if args else kwargs["keys"], item)
        return found

    DynamoDBBackend.get_item = get_item  # type: ignore[method-assign]

    def undo() -> None:
        for name, method in saved.items():
            setattr(DynamoDBBackend, name, method)

    return undo


# ---------------------------------------------------------------- the workload
@contextmanager
def emulator(recorder: Recorder) -> Iterator[Any]:
    """A fresh emulated account with template.yaml provisioned; yields the tests' Api over it."""
    import boto3
    from moto import mock_aws

    from localcloud.provision import provision
    from sales_common.dynamo import forget_id_blocks
    from sales_common.listing import forget_signing_keys
    from tests.support.apigw import Api, template

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        forget_signing_keys()
        forget_id_blocks()
        clients = {
            n: boto3.client(n, region_name="us-east-1")
            for n in ("dynamodb", "stepfunctions", "sqs", "secretsmanager", "events")
        }
        made = provision(clients.__getitem__, template(), sign_in=False)
        recorder.logical = {physical: logical for logical, physical in made.tables.items()}
        yield Api(refs=made.state_machines)


def run_mix(
    recorder: Recorder, one_account: bool, orders: int, lines: int, out: Callable[[str], None]
) -> dict[str, Any]:
    catalogue = max(orders, lines) * lines
    with emulator(recorder) as api:
        for i in range(catalogue):
            _ok(api.post("/api/products", {"name": f"Item {i}", "price": 5, "stock": 1_000_000}))
        for i in range(orders):
            _ok(api.post("/api/customers", {"name": f"Customer {i}", "email": f"c{i}@example.com"}))
        recorder.reset()
        recorder.on = True
        try:
            for i in range(orders):
                items = [{"productId": 1 + (i * lines + n) % catalogue, "quantity": 1} for n in range(lines)]
                user, role = ("storefront", "sales integration") if one_account else (f"user{i}", "sales")
                _ok(api.post("/api/orders", {"customerId": 1 + i, "items": items}, role=role, user=user))
        finally:
            recorder.on = False
    per_order = {k: v / orders for k, v in recorder.writes.items()}
    reads = {k: v / orders for k, v in recorder.reads.items()}
    limits = [(WCU_PER_PARTITION / v, k, v, "write") for k, v in per_order.items()]
    limits += [(RCU_PER_PARTITION / v, k, v, "read") for k, v in reads.items()]
    rate, key, units, kind = min(limits, key=lambda limit: limit[0])
    out(
        f"  {'one account' if one_account else 'many users'}: {rate:,.0f} orders/s, limited by {kind}s on {_label(key)}"
    )
    return {
        "orders_per_second": round(rate),
        "limited_by": {**_entry(key, units), "kind": kind},
        "orders": orders,
        "lines": lines,
        "writes_per_order": sorted((_entry(k, v) for k, v in per_order.items()), key=lambda e: -e["writes_per_order"]),
    }


def _ok(reply: Any) -> None:
    if reply.status >= 300:
        raise RuntimeError(f"the workload's request failed: {reply.status} {reply.raw[:300]}")


def _label(key: Key) -> str:
    table, index, value = key
    return f"{table}{'.' + index if index else ''} key {value!r}"


def _entry(key: Key, units: float) -> dict[str, Any]:
    table, index, value = key
    return {"table": table, "index": index, "key": value, "writes_per_order": round(units, 3)}


def production_parameters() -> dict[str, str]:
    """The parameters that shape the writes: samconfig.toml's prod `IdBlockSize`, and the one
    account's limit."""
    import shlex
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = config["prod"]["deploy"]["parameters"]["parameter_overrides"]
    found = dict(pair.split("=", 1) for pair in shlex.split(overrides))
    return {"IdBlockSize": found.get("IdBlockSize", "1"), "IntegrationOrdersPerMinute": str(GOAL * 60)}


def _apply(parameters: Mapping[str, str]) -> Callable[[], None]:
    """Give template.yaml's parameters these values (as a deploy's overrides do) for the functions
    the workload invokes; returns what undoes it."""
    from tests.support import apigw

    declared = apigw.template().parameters
    saved = {name: dict(declared[name]) for name in parameters}
    for name, value in parameters.items():
        declared[name]["Default"] = value
    apigw.functions.cache_clear()

    def undo() -> None:
        for name, spec in saved.items():
            declared[name].clear()
            declared[name].update(spec)
        apigw.functions.cache_clear()

    return undo


def measure(
    orders: int, lines: int, out: Callable[[str], None] = print, parameters: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], Recorder]:
    from localcloud.patching import install_all

    install_all()
    chosen = dict(production_parameters() if parameters is None else parameters)
    restore = _apply(chosen)
    recorder = Recorder()
    undo = install(recorder)
    try:
        mixes = {
            "many_users": run_mix(recorder, False, orders, lines, out),
            "one_account": run_mix(recorder, True, orders, lines, out),
        }
    finally:
        undo()
        restore()
    hottest: dict[Key, float] = {}
    for mix in mixes.values():
        for e in mix["writes_per_order"]:
            key = (e["table"], e["index"], e["key"])
            hottest[key] = max(hottest.get(key, 0.0), e["writes_per_order"])
    ranked = sorted(hottest.items(), key=lambda kv: -kv[1])[:10]
    report = {
        "orders_per_second": min(m["orders_per_second"] for m in mixes.values()),
        "goal": GOAL,
        "lines_per_order": lines,
        "parameters": chosen,
        "mixes": mixes,
        "hottest": [_entry(k, v) for k, v in ranked],
    }
    return report, recorder


def _environment() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_METRICS_NAMESPACE": "SalesCapacity",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    for path in (ROOT, ROOT / "functions", ROOT / "layers" / "shared"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=30, help="orders placed per mix (default 30)")
    parser.add_argument("--lines", type=int, default=3, help="lines per order (default 3)")
    parser.add_argument("--json", type=Path, default=OUT, help=f"where to write the figures (default {OUT})")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (default: samconfig.toml's prod overrides)",
    )
    args = parser.parse_args(argv)
    _environment()
    parameters = {**production_parameters(), **dict(p.split("=", 1) for p in args.parameter)}
    print(f"==> placing {args.orders} orders of {args.lines} lines per mix on the emulator", flush=True)
    print(f"    parameters: {' '.join(f'{k}={v}' for k, v in sorted(parameters.items()))}", flush=True)
    report, _ = measure(args.orders, args.lines, parameters=parameters)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'table':<16} {'index':<16} {'key':<28} {'writes/order':>12}")
    for e in report["hottest"]:
        print(f"{e['table']:<16} {e['index'] or '-':<16} {e['key'][:28]:<28} {e['writes_per_order']:>12}")
    verdict = "meets" if report["orders_per_second"] >= GOAL else "is below"
    print(
        f"\nsustainable: {report['orders_per_second']:,} orders/s ({args.lines}-line orders), which {verdict} "
        f"the goal of {GOAL:,}; wrote {args.json}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
