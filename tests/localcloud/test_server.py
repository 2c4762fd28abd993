"""One in-process LocalCloud on a throwaway project, shared by the module's tests."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from localcloud.server import LocalCloud

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cloud(module_project: Path):
    started = time.monotonic()
    with LocalCloud(module_project, api_port=0, aws_port=0, env_vars={"OtherFunction": {"WHO": "other-env"}}) as c:
        c.test_startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        c.client("dynamodb").put_item(TableName="ItemsTable", Item={"pk": {"S": "a"}, "name": {"S": "Apple"}})
        yield c


def test_starts_quickly_and_serves_routes(cloud: LocalCloud) -> None:
    assert cloud.test_startup_seconds < 15  # type: ignore[attr-defined]
    r = requests.get(f"{cloud.api_url}/api/other", timeout=10)
    assert r.status_code == 200
    assert r.json()["table"] == "OtherTable"
    assert r.json()["who"] == "other-env"  # --env-vars style override of a declared variable
    assert requests.delete(f"{cloud.api_url}/api/other", timeout=10).status_code == 403  # as in SAM / API GW


def test_handler_env_comes_from_the_template(cloud: LocalCloud) -> None:
    body = requests.get(f"{cloud.api_url}/api/items/a", timeout=10).json()
    assert body["table"] == "ItemsTable"
    assert body["stage"] == "dev"
    assert body["function"] == "ItemsFunction"
    # !Ref Flow became the real moto ARN; the workflow ran for real against moto's DynamoDB
    assert body["status"] == "SUCCEEDED"
    assert body["output"] == {"id": "a", "name": "Apple"}


def test_failed_workflow(cloud: LocalCloud) -> None:
    body = requests.get(f"{cloud.api_url}/api/items/missing", timeout=10).json()
    assert body["status"] == "FAILED"
    assert body["error"] == "ItemNotFound"


def test_post_writes_to_moto(cloud: LocalCloud) -> None:
    r = requests.post(f"{cloud.api_url}/api/items", json={"id": "b", "name": "Banana"}, timeout=10)
    assert r.status_code == 201
    item = cloud.client("dynamodb").get_item(TableName="ItemsTable", Key={"pk": {"S": "b"}})["Item"]
    assert item["name"] == {"S": "Banana"}


def test_handler_exception_is_a_500_without_details(cloud: LocalCloud, capfd: pytest.CaptureFixture[str]) -> None:
    r = requests.get(f"{cloud.api_url}/api/boom", timeout=10)
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}
    assert "secret" not in r.text and "Traceback" not in r.text
    assert "RuntimeError: secret internal detail" in capfd.readouterr().err


def test_concurrent_requests_do_not_cross_talk(cloud: LocalCloud) -> None:
    def call(i: int) -> tuple[int, dict]:
        path = "/api/items/a?sleep=0.02" if i % 2 else "/api/other?sleep=0.02"
        r = requests.get(cloud.api_url + path, timeout=30)
        assert r.status_code == 200, r.text
        return i, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(64)))
    for i, body in results:
        expected = ("items", "ItemsTable") if i % 2 else ("other-env", "OtherTable")
        assert (body["who"], body["table"]) == expected
        assert body["env_who"] == expected[0]
    assert "WHO" not in os.environ and "TABLE_NAME" not in os.environ


def test_edited_handler_takes_effect_without_restart(cloud: LocalCloud, module_project: Path) -> None:
    source = module_project.parent / "functions/svc/handlers/other.py"
    original = source.read_text()
    try:
        source.write_text(original.replace("VERSION = 1", "VERSION = 2"))
        stamp = time.time() + 2
        os.utime(source, (stamp, stamp))
        assert requests.get(f"{cloud.api_url}/api/other", timeout=10).json()["version"] == 2
    finally:
        source.write_text(original)
        stamp = time.time() + 4
        os.utime(source, (stamp, stamp))
    assert requests.get(f"{cloud.api_url}/api/other", timeout=10).json()["version"] == 1


def test_process_env_is_set_once_for_shared_settings(cloud: LocalCloud) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == cloud.aws_url
    assert os.environ["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
    assert os.environ["MOTO_PORT"] == str(cloud.aws_port)
