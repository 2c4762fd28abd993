"""`make load`: a bounded locust run against the local cloud, then the stock invariant.

    .venv/bin/python -m tools.load.run [--users 12] [--spawn-rate 6] [--run-time 30s] [--max-requests 2000]

1. Starts the local cloud (`LocalCloudProcess`) on free loopback ports.
2. Seeds a few products with small stock and some customers through the API.
3. Runs locust headless (`tools/load/locustfile.py`) against 127.0.0.1, stopping at --max-requests
   requests or --run-time, whichever comes first.
4. Prints per-endpoint and overall latency (p50/p95/p99, exact from every sample) and the error
   rate; a 409 on an order (insufficient stock) is an expected business answer, counted apart.
5. Checks the invariant, paging through GET /api/products and GET /api/orders by their Link
   headers: for every product, stock + units held by orders that are not CANCELLED == initial
   stock; and every order placed during the run is listed (unless deleted), cancelled ones as
   CANCELLED.

Writes .localcloud/load-report.json and .localcloud/load-report.txt. Exits 1 when the invariant
breaks, on any 5xx or connection error, or on any other unexpected answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
REPORT_DIR = ROOT / ".localcloud"

SEED_PRODUCTS = [  # (name, price, stock): small stock, so orders run out and 409s happen
    ("Laptop", "999.99", 25),
    ("Mouse", "19.90", 40),
    ("Keyboard", "49.50", 30),
    ("Monitor", "189.00", 15),
    ("Dock", "129.95", 10),
    ("Cable", "4.99", 60),
]
SEED_CUSTOMERS = 20


# ------------------------------------------------------------------ seeding
def seed(base: str, token: str) -> tuple[dict[int, int], list[int]]:
    initial: dict[int, int] = {}
    customers: list[int] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for name, price, stock in SEED_PRODUCTS:
            body: dict[str, Any] = {"name": name, "price": float(price), "stock": stock}
            r = http.post(f"{base}/api/products", json=body, timeout=30)
            r.raise_for_status()
            initial[r.json()["id"]] = stock
        for i in range(SEED_CUSTOMERS):
            body = {"name": f"Customer {i}", "email": f"load-seed-{i}@example.com"}
            r = http.post(f"{base}/api/customers", json=body, timeout=30)
            r.raise_for_status()
            customers.append(r.json()["id"])
    return initial, customers


# ------------------------------------------------------------------ locust
def run_locust(
    base: str, products: list[int], customers: list[int], args: argparse.Namespace, token: str
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        samples_path = Path(tmp) / "samples.json"
        env = dict(os.environ)
        env.update(
            LOAD_PRODUCTS=json.dumps(products),
            LOAD_CUSTOMERS=json.dumps(customers),
            LOAD_MAX_REQUESTS=str(args.max_requests),
            LOAD_SAMPLES=str(samples_path),
            LOAD_SEED=str(args.seed),
            LOAD_TOKEN=token,
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        cmd = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
            "-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", args.run_time,
            "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
        ]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        wall = time.perf_counter() - began
        if not samples_path.is_file():
            raise RuntimeError(f"locust wrote no samples (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
        data: dict[str, Any] = json.loads(samples_path.read_text(encoding="utf-8"))
    data["wall_seconds"] = wall
    data["locust_exit"] = done.returncode
    data["locust_stderr_tail"] = done.stderr.strip().splitlines()[-15:]
    return data


# ------------------------------------------------------------------ figures
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of the samples (exact: every request was recorded)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def summarise(samples: list[list[Any]], wall: float) -> dict[str, Any]:
    by_endpoint: dict[str, list[list[Any]]] = defaultdict(list)
    for sample in samples:
        by_endpoint[sample[0]].append(sample)

    def row(name: str, rows: list[list[Any]]) -> dict[str, Any]:
        ms = [r[2] for r in rows]
        outcomes: dict[str, int] = defaultdict(int)
        statuses: dict[str, int] = defaultdict(int)
        for r in rows:
            outcomes[r[3]] += 1
            statuses[str(r[1])] += 1
        failures = outcomes["server_error"] + outcomes["error"] + outcomes["unexpected"]
        return {
            "endpoint": name,
            "requests": len(rows),
            "rps": len(rows) / wall if wall else 0.0,
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else 0.0,
            "ok": outcomes["ok"],
            "expected_409": outcomes["expected"],
            "unexpected_4xx": outcomes["unexpected"],
            "server_errors": outcomes["server_error"],
            "connection_errors": outcomes["error"],
            "error_rate": failures / len(rows) if rows else 0.0,
            "statuses": dict(sorted(statuses.items())),
        }

    endpoints = [row(name, rows) for name, rows in sorted(by_endpoint.items())]
    return {"endpoints": endpoints, "overall": row("overall", samples)}


# ------------------------------------------------------------------ invariant
def paged(http: requests.Session, url: str) -> list[dict[str, Any]]:
    """Every entity of a list endpoint, following `Link: <...>; rel="next"`."""
    out: list[dict[str, Any]] = []
    pages = 0
    while url:
        r = http.get(url, timeout=30)
        r.raise_for_status()
        out.extend(r.json())
        pages += 1
        nxt = r.links.get("next", {}).get("url")
        url = requests.compat.urljoin(url, nxt) if nxt else ""
        if pages > 10_000:
            raise RuntimeError(f"{url}: more than 10,000 pages; is the Link header looping?")
    return out


def check_invariant(base: str, initial: dict[int, int], run: dict[str, Any], token: str) -> dict[str, Any]:
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        products = {p["id"]: p for p in paged(http, f"{base}/api/products?limit=100")}
        orders = paged(http, f"{base}/api/orders?limit=100")
    held: dict[int, int] = defaultdict(int)
    for order in orders:
        if order["status"] != "CANCELLED":
            for line in order["items"]:
                held[line["productId"]] += line["quantity"]
    rows = []
    for pid, start in sorted(initial.items()):
        stock = products[pid]["stock"] if pid in products else None
        ok = stock is not None and stock >= 0 and stock + held[pid] == start
        rows.append({"product": pid, "initial": start, "stock": stock, "held": held[pid], "ok": ok})
    by_id = {o["id"]: o for o in orders}
    deleted, cancelled = set(run["deleted"]), set(run["cancelled"])
    missing = sorted(i for i in run["placed"] if i not in deleted and i not in by_id)
    resurrected = sorted(i for i in deleted if i in by_id)
    not_cancelled = sorted(i for i in cancelled if i in by_id and by_id[i]["status"] != "CANCELLED")
    return {
        "products": rows,
        "orders_listed": len(orders),
        "orders_placed": len(run["placed"]),
        "orders_cancelled": len(cancelled),
        "orders_deleted": len(deleted),
        "placed_but_missing": missing,
        "deleted_but_listed": resurrected,
        "cancelled_but_not_cancelled": not_cancelled,
        "ok": all(r["ok"] for r in rows) and not missing and not resurrected and not not_cancelled,
    }


# ------------------------------------------------------------------ report
def render(report: dict[str, Any]) -> str:
    s = report["summary"]
    head = (
        f"  {'endpoint':<32} {'reqs':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'ok':>5} {'409*':>5} {'4xx!':>5} {'5xx':>4} {'err%':>6}"
    )
    lines = [
        f"Load: {report['config']['users']} users, stop at {report['config']['max_requests']} requests or "
        f"{report['config']['run_time']}; {s['overall']['requests']} requests in {report['wall_seconds']:.1f} s",
        head,
    ]
    for r in [*s["endpoints"], s["overall"]]:
        if r["endpoint"] == "overall":
            lines.append("  " + "-" * (len(head) - 2))
        lines.append(
            f"  {r['endpoint']:<32} {r['requests']:5d} {r['rps']:6.1f} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} "
            f"{r['p99_ms']:7.1f} {r['ok']:5d} {r['expected_409']:5d} {r['unexpected_4xx']:5d} "
            f"{r['server_errors'] + r['connection_errors']:4d} {100 * r['error_rate']:5.2f}%"
        )
    lines.append("  409* = expected business answer (insufficient stock), not an error; 4xx! = unexpected 4xx")
    inv = report["invariant"]
    lines += ["", "Stock invariant: stock + units held by orders not CANCELLED == initial stock"]
    lines.append(f"  {'product':>7} {'initial':>7} {'stock':>6} {'held':>5}  check")
    for r in inv["products"]:
        lines.append(
            f"  {r['product']:7d} {r['initial']:7d} {r['stock'] if r['stock'] is not None else '-':>6} "
            f"{r['held']:5d}  {'ok' if r['ok'] else 'BROKEN'}"
        )
    lines.append(
        f"  orders: {inv['orders_placed']} placed, {inv['orders_cancelled']} cancelled, {inv['orders_deleted']} "
        f"deleted, {inv['orders_listed']} listed; missing {len(inv['placed_but_missing'])}, deleted but listed "
        f"{len(inv['deleted_but_listed'])}, cancel lost {len(inv['cancelled_but_not_cancelled'])}"
    )
    lines.append(f"Verdict: {'PASS' if report['passed'] else 'FAIL'}" + (
        "" if report["passed"] else f" ({'; '.join(report['reasons'])})"))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.load.run", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=12, help="concurrent locust users (default: %(default)s)")
    parser.add_argument("--spawn-rate", type=float, default=6, help="users started per second (default: %(default)s)")
    parser.add_argument("--run-time", default="30s", help="locust --run-time (default: %(default)s)")
    parser.add_argument("--max-requests", type=int, default=2000, help="stop after this many (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the users' random choices")
    parser.add_argument("--json", default=str(REPORT_DIR / "load-report.json"), help="where to write the report")
    args = parser.parse_args(argv)

    from localcloud.server import LocalCloudProcess

    began = time.perf_counter()
    with LocalCloudProcess(ROOT / "template.yaml", host="127.0.0.1") as cloud:
        base = cloud.api_url
        print(f"local cloud at {base}; seeding ...", flush=True)
        # The shoppers place orders as fast as a storefront does: an admin (they also delete
        # orders) in the `integration` group, whose per-user order limit is the higher one.
        cloud.add_to_group("admin", "integration")
        admin = cloud.token("admin")
        initial, customers = seed(base, admin)
        print(
            f"running locust: {args.users} users, <= {args.max_requests} requests, <= {args.run_time} ...", flush=True
        )
        # a fresh access token lasts 15 minutes: longer runs need --run-time below that
        run = run_locust(base, list(initial), customers, args, admin)
        invariant = check_invariant(base, initial, run, admin)

    summary = summarise(run["samples"], run["wall_seconds"])
    overall = summary["overall"]
    reasons = []
    if not run["samples"]:
        reasons.append("no request was made")
    if overall["server_errors"] or overall["connection_errors"]:
        reasons.append(f"{overall['server_errors']} 5xx, {overall['connection_errors']} connection errors")
    if overall["unexpected_4xx"]:
        reasons.append(f"{overall['unexpected_4xx']} unexpected 4xx")
    if not invariant["ok"]:
        reasons.append("stock invariant broken")
    report = {
        "config": {
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "run_time": args.run_time,
            "max_requests": args.max_requests,
            "seed": args.seed,
            "products": [{"name": n, "price": p, "stock": s} for n, p, s in SEED_PRODUCTS],
            "customers": SEED_CUSTOMERS,
        },
        "wall_seconds": run["wall_seconds"],
        "summary": summary,
        "invariant": invariant,
        "passed": not reasons,
        "reasons": reasons,
        "total_seconds": time.perf_counter() - began,
    }
    text = render(report)
    print("\n" + text)
    if reasons and run["locust_stderr_tail"]:
        print("\nlocust stderr (tail):\n  " + "\n  ".join(run["locust_stderr_tail"]))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    print(f"\nreport written to {out} (and {out.with_suffix('.txt').name}); took {report['total_seconds']:.0f} s")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
