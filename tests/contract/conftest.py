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

    with LocalCloudProcess(TEMPLATE) as cloud:
        _seed(cloud.api_url)
        yield cloud


def _seed(base: str) -> None:
    with requests.Session() as http:
        for i in range(1, SEEDED + 1):
            product = {"name": f"Seed {i}", "price": 2.5 + i, "stock": 1000}
            customer = {"name": f"Seed {i}", "email": f"seed-{i}@example.com"}
            assert http.post(f"{base}/api/products", json=product, timeout=30).status_code == 201
            assert http.post(f"{base}/api/customers", json=customer, timeout=30).status_code == 201
        for i in range(1, SEEDED + 1):
            order = {"customerId": i, "items": [{"productId": i, "quantity": 1}]}
            r = http.post(f"{base}/api/orders", json=order, timeout=30)
            assert r.status_code == 201, r.text
