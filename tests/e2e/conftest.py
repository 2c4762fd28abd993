"""End-to-end fixtures: the local cloud (`python -m localcloud`) in a subprocess on free ports,
exercised over real HTTP."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from localcloud.task_timeouts import TEST_SCALE

# The emulator answers far slower than AWS on a loaded machine: workflow Task timeouts get room.
# (The shared `local_cloud` fixture, in tests/conftest.py, starts with the same scale.)
TASK_TIMEOUTS = ["--task-timeout-scale", str(TEST_SCALE)]


class Http:
    """Requests to the local cloud, signed in with the access tokens `mint` returns (None: no
    Authorization). Access tokens live 15 minutes (the template's AccessTokenValidity) and a test
    session on a loaded machine outlives that, so a token is renewed well before it expires."""

    RENEW_AFTER_S = 5 * 60

    def __init__(self, base: str, mint: Callable[[], str] | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self._mint = mint
        self._token: str | None = None
        self._minted_at = 0.0
        self._lock = threading.Lock()

    @property
    def token(self) -> str | None:
        with self._lock:  # threads share one client: one renewal, not one each
            if self._mint is not None and (
                self._token is None or time.monotonic() - self._minted_at > self.RENEW_AFTER_S
            ):
                self._token, self._minted_at = self._mint(), time.monotonic()
            return self._token

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header, for callers that use `requests` directly (e.g. from threads)."""
        token = self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, method: str):  # get/post/put/delete
        def call(path: str, **kwargs):
            headers = {**self.auth, **(kwargs.pop("headers", None) or {})}
            return self.session.request(method.upper(), self.base + path, headers=headers, timeout=30, **kwargs)

        return call


@pytest.fixture(scope="session")
def http(local_cloud) -> Http:
    """Signed in as the dev admin user, with tokens from the emulated Cognito (InitiateAuth)."""
    return Http(local_cloud.api_url, lambda: local_cloud.token("admin"))


@pytest.fixture(scope="session")
def as_role(local_cloud):
    """`as_role("sales")`: an Http signed in as that group's dev user; `as_role(None)`: no token."""

    def make(role: str | None) -> Http:
        return Http(local_cloud.api_url, (lambda: local_cloud.token(role)) if role else None)

    return make


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
