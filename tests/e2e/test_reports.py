"""The reports on the local cloud, as a developer gets them from `make dev`: an order placed over
HTTP reaches the report routes through the tables, their streams, the publisher, the bus, the
reports' rule and queue and the projector, all running as template.yaml says, within seconds; and
`make reports-rebuild` finds the live projection equal to one rebuilt from the archive."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import started_local_cloud
from tests.e2e.conftest import Http
from tests.support.apigw import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory):
    """A local cloud of this module's own: the reports and the archive's replay see only these
    tests' events, not the backlog the session's floods and races leave on the shared cloud."""
    with started_local_cloud(tmp_path_factory) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def http(local_cloud) -> Http:
    return Http(local_cloud.api_url, lambda: local_cloud.token("admin"))


def until(read, predicate, timeout=30.0):
    """Poll `read()` until `predicate(value)`; (value, seconds it took)."""
    start = time.monotonic()
    while True:
        value = read()
        if predicate(value):
            return value, time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout}s; last: {value}")
        time.sleep(0.2)


def test_an_order_reaches_the_reports_within_seconds(http, product, customer):
    today = datetime.now(UTC).date().isoformat()
    laptop = product(stock=6, price=12.5, name="E2E report laptop")
    ann = customer()
    placed = http.post(
        "/api/orders", json={"customerId": ann["id"], "items": [{"productId": laptop["id"], "quantity": 2}]}
    )
    assert placed.status_code == 201, placed.text
    query = {"from": today, "to": today, "groupBy": "product"}

    def row():
        body = http.get("/api/reports/sales", params=query).json()
        return next((r for r in body["rows"] if r["key"] == str(laptop["id"])), None)

    found, seconds = until(row, lambda r: r is not None)
    print(f"order -> report in {seconds:.1f}s")
    assert found == {
        "key": str(laptop["id"]),
        "name": "E2E report laptop",
        "orders": 1,
        "cancelled": 0,
        "units": 2,
        "revenue": 25,
    }

    def low():
        return http.get("/api/reports/low-stock", params={"threshold": 4, "limit": 100}).json()

    listed, _ = until(low, lambda items: any(i["productId"] == laptop["id"] for i in items))
    assert {"productId": laptop["id"], "name": "E2E report laptop", "stock": 4, "lowStockThreshold": 5} in listed

    assert http.put(f"/api/orders/{placed.json()['id']}", json={"status": "CANCELLED"}).status_code == 200
    cancelled, _ = until(row, lambda r: r["cancelled"] == 1)
    assert (cancelled["orders"], cancelled["units"], cancelled["revenue"]) == (1, 0, 0)
    csv = http.get("/api/reports/sales", params=query, headers={"Accept": "text/csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert f"{laptop['id']},E2E report laptop,1,1,0,0.00\r\n" in csv.text


def test_make_reports_rebuild_finds_the_live_projection_equal_to_the_archive(local_cloud, http, product):
    product(stock=1, name="E2E rebuild")  # at least one event
    options = ["--from", "archive", "--quiet", "2", "--settle", "30", "--timeout", "240"]
    done = subprocess.run(
        [sys.executable, "-m", "tools.reports_rebuild", "--aws-url", local_cloud.aws_url, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences: ReportsTable is what the archive says" in done.stdout
