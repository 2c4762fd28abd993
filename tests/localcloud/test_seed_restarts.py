"""`make dev ARGS="--seed --state-file FILE"` restarts any number of times with the same data, and
the dev users keep their ids, so `createdBy` keeps naming the same user."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests

from localcloud.seed import CUSTOMERS, PRODUCTS
from localcloud.server import LocalCloud

# The slow tier (make test-slow): three starts of the real template.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _everything(cloud: LocalCloud, token: str) -> dict[str, list[dict]]:
    auth = {"Authorization": f"Bearer {token}"}
    out = {}
    for collection in ("products", "customers"):
        r = requests.get(f"{cloud.api_url}/api/{collection}?limit=100", headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        out[collection] = r.json()
    return out


def test_seeded_restarts_keep_the_same_data_and_the_same_users(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    seen = []
    for start in range(3):
        with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, seed=True, state_file=state) as cloud:
            assert cloud.seed_kept == (start > 0)
            assert bool(cloud.seeded) == (start == 0)
            admin, sales = cloud.token("admin"), cloud.token("sales")
            ids = {role: _claims(token)["username"] for role, token in (("admin", admin), ("sales", sales))}
            if start == 0:  # a sale by the sales user, to see its id kept too
                r = requests.post(
                    f"{cloud.api_url}/api/orders",
                    json={"customerId": 1, "items": [{"productId": 1, "quantity": 1}]},
                    headers={"Authorization": f"Bearer {sales}"},
                    timeout=60,
                )
                assert r.status_code == 201, r.text
            data = _everything(cloud, admin)
            r = requests.get(f"{cloud.api_url}/api/orders/1", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
            assert r.status_code == 200, r.text
            seen.append((data, ids, r.json()["createdBy"]))

    first, *restarts = seen
    assert len(first[0]["products"]) == len(PRODUCTS) and len(first[0]["customers"]) == len(CUSTOMERS)
    assert all(again == first for again in restarts), "a restart changed the data or the users' ids"
    data, ids, order_by = first
    assert order_by == ids["sales"] and ids["admin"] != ids["sales"]
    assert {p["createdBy"] for p in data["products"]} == {ids["admin"]}


def test_the_seed_does_not_create_what_is_there(tmp_path: Path) -> None:
    """A seed interrupted half-way (the state file not yet marked) completes without duplicates."""
    from localcloud.seed import seed_through_api

    with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, seed=True) as cloud:
        token = cloud.token("admin")
        again = seed_through_api(cloud.api_url, token)
        assert again == {"products": [], "customers": []}
        data = _everything(cloud, token)
        assert len(data["products"]) == len(PRODUCTS) and len(data["customers"]) == len(CUSTOMERS)
