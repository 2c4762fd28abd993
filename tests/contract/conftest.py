"""Contract tests: the local cloud (`python -m localcloud`) in a subprocess on free ports, fuzzed
over HTTP from its own OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.apigw import TEMPLATE

# Entities created before fuzzing, so that small generated ids (1, 2, ...) often name something
# that exists and the 200/409/412 branches are exercised, not only 404.
SEEDED = 12


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: schemathesis contract/fuzz tests against the local cloud")


@pytest.fixture(scope="session")
def contract_cloud() -> Iterator[object]:
    from localcloud.server import LocalCloudProcess

    with LocalCloudProcess(TEMPLATE, startup_timeout=180) as cloud:  # a loaded machine starts it slowly
        cloud.add_to_group("admin", "integration")  # fuzzing places orders faster than a person would
        _seed(cloud.api_url, cloud.token("admin"))
        cloud.seeded = _snapshot(cloud)  # type: ignore[attr-defined]
        yield cloud


def _snapshot(cloud) -> dict[str, list[dict]]:
    """Every item of every table, as the emulator holds them right now."""
    ddb = cloud.client("dynamodb")
    out: dict[str, list[dict]] = {}
    for table in ddb.list_tables()["TableNames"]:
        out[table] = [item for page in ddb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
    return out


def _is_counter(item: dict) -> bool:
    return item.get("pk", {}).get("S", "").startswith("COUNTER#")


def restore(cloud) -> None:
    """Put every table back to the seeded entities. The id counters keep counting, as they do in
    AWS: an id is never given twice (order ids also name the workflow's executions)."""
    ddb = cloud.client("dynamodb")
    for table, items in cloud.seeded.items():
        keys = [k["AttributeName"] for k in ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if not _is_counter(item):
                    ddb.delete_item(TableName=table, Key={k: item[k] for k in keys})
        for item in items:
            if not _is_counter(item):
                ddb.put_item(TableName=table, Item=item)


@pytest.fixture(scope="session")
def admin_headers(contract_cloud) -> dict[str, str]:
    """Every generated request is sent as the dev admin user (a token from the emulated Cognito)."""
    return {"Authorization": f"Bearer {contract_cloud.token('admin')}"}


def _seed(base: str, token: str) -> None:
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for i in range(1, SEEDED + 1):
            product = {"name": f"Seed {i}", "price": 2.5 + i, "stock": 1000}
            customer = {"name": f"Seed {i}", "email": f"seed-{i}@example.com"}
            assert http.post(f"{base}/api/products", json=product, timeout=30).status_code == 201
            assert http.post(f"{base}/api/customers", json=customer, timeout=30).status_code == 201
        for i in range(1, SEEDED + 1):
            order = {"customerId": i, "items": [{"productId": i, "quantity": 1}]}
            r = http.post(f"{base}/api/orders", json=order, timeout=30)
            assert r.status_code == 201, r.text
