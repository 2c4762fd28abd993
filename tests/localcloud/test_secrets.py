"""The local cloud creates template.yaml's secrets in moto: a cursor key generated per state file
(kept with it, so cursors survive a restart) or per start without one."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localcloud.server import LocalCloud

# The slow tier (make test-slow): restarts local clouds of its own.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _auth(cloud: LocalCloud) -> dict[str, str]:
    return {"Authorization": f"Bearer {cloud.token('admin')}"}


def _cursor(api: str, auth: dict[str, str]) -> str:
    for i in range(2):
        r = requests.post(f"{api}/api/products", json={"name": f"P{i}", "price": 1}, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
    first = requests.get(f"{api}/api/products", params={"limit": 1}, headers=auth, timeout=30)
    return first.links["next"]["url"].split("cursor=", 1)[1]


def test_cursor_key_is_kept_with_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, state_file=state) as cloud:
        key = cloud.secrets["CursorSigningSecret"]
        cursor = _cursor(cloud.api_url, _auth(cloud))
    with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, state_file=state) as cloud:
        assert cloud.secrets["CursorSigningSecret"] == key
        r = requests.get(f"{cloud.api_url}/api/products", params={"cursor": cursor}, headers=_auth(cloud), timeout=30)
        assert r.status_code == 200, r.text
        assert [p["name"] for p in r.json()] == ["P1"]


def test_without_a_state_file_every_start_generates_a_new_key() -> None:
    keys = []
    for _ in range(2):
        with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0) as cloud:
            keys.append(cloud.secrets["CursorSigningSecret"])
            value = cloud.client("secretsmanager").get_secret_value(SecretId="CursorSigningSecret")["SecretString"]
            assert value == keys[-1]
    assert keys[0] != keys[1] and len(keys[0]) == 64
