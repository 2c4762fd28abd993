"""End-to-end fixtures: the local cloud (`python -m localcloud`) in a subprocess on free ports,
exercised over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.apigw import TEMPLATE


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[object]:
    from localcloud.server import LocalCloudProcess

    with LocalCloudProcess(TEMPLATE) as cloud:
        yield cloud


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def __getattr__(self, method: str):  # get/post/put/delete
        def call(path: str, **kwargs):
            return self.session.request(method.upper(), self.base + path, timeout=30, **kwargs)

        return call


@pytest.fixture(scope="session")
def http(local_cloud) -> Http:
    return Http(local_cloud.api_url)


@pytest.fixture
def product(http):
    """A fresh product (the e2e cloud is shared by the session, so tests never assume ids)."""

    def make(stock: int = 10, price: float = 5.5, name: str = "Widget") -> dict:
        r = http.post("/api/products", json={"name": name, "price": price, "stock": stock})
        assert r.status_code == 201, r.text
        return r.json()

    return make


@pytest.fixture
def customer(http):
    def make() -> dict:
        r = http.post("/api/customers", json={"name": "E2E", "email": f"e2e-{uuid.uuid4().hex}@example.com"})
        assert r.status_code == 201, r.text
        return r.json()

    return make
