"""One in-process LocalCloud on a throwaway project, shared by the module's tests: its functions
run in worker processes (awslambdaric against the local Runtime API)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from localcloud.server import FunctionError, LocalCloud
from tests.support.waiting import until

ROOT = Path(__file__).resolve().parents[2]
# What a deployed HTTP API answers for a failed invocation, byte for byte (localcloud/gateway_errors.py).
HTTP_API_FAILURE = b'{"message":"Internal Server Error"}'


@pytest.fixture(scope="module")
def cloud(module_project: Path):
    started = time.monotonic()
    env_vars = {"OtherFunction": {"WHO": "other-env"}}
    with LocalCloud(module_project, api_port=0, aws_port=0, env_vars=env_vars, max_concurrency=3) as c:
        c.test_startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        c.client("dynamodb").put_item(TableName="ItemsTable", Item={"pk": {"S": "a"}, "name": {"S": "Apple"}})
        yield c


def test_starts_quickly_and_serves_routes(cloud: LocalCloud) -> None:
    assert cloud.test_startup_seconds < 15  # type: ignore[attr-defined]
    r = requests.get(f"{cloud.api_url}/api/other", timeout=30)
    assert r.status_code == 200
    assert r.json()["table"] == "OtherTable"
    assert r.json()["who"] == "other-env"  # --env-vars style override of a declared variable
    assert r.json()["price"] == 9.5
    unrouted = requests.delete(f"{cloud.api_url}/api/other", timeout=10)  # as an HTTP API answers
    assert (unrouted.status_code, unrouted.json()) == (404, {"message": "Not Found"})


def test_handler_env_comes_from_the_template(cloud: LocalCloud) -> None:
    body = requests.get(f"{cloud.api_url}/api/items/a", timeout=30).json()
    assert body["table"] == "ItemsTable"
    assert body["stage"] == "dev"
    assert body["function"] == "ItemsFunction"
    # !Ref Flow became the real moto ARN; the workflow ran for real against moto's DynamoDB
    assert body["status"] == "SUCCEEDED"
    assert body["output"] == {"id": "a", "name": "Apple"}


def test_environment_is_exactly_the_functions(cloud: LocalCloud) -> None:
    body = requests.get(f"{cloud.api_url}/api/other", timeout=30).json()
    env, functions = body["env"], str(cloud.project_dir / "functions")
    assert body["pid"] != os.getpid()
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "OtherFunction"
    assert env["_HANDLER"] == "svc.handlers.other.handler"
    assert env["LAMBDA_TASK_ROOT"] == os.path.realpath(functions)
    assert env["PYTHONPATH"].split(os.pathsep) == [
        os.path.realpath(functions),
        os.path.realpath(cloud.project_dir / "layers/shared"),
    ]
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/OtherFunction"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["AWS_ENDPOINT_URL"] == cloud.aws_url
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_ACCESS_KEY_ID"] == "testing"
    assert (env["STAGE"], env["WHO"], env["TABLE_NAME"]) == ("dev", "other-env", "OtherTable")
    # nothing of the local cloud's own process, nor another function's variables
    assert "FLOW_ARN" not in env
    leaked = {"HOME", "MOTO_PORT", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "SAM_CLI_TELEMETRY"} & set(env)
    assert leaked == set()
    assert 0 < body["left_ms"] <= 10_000


def test_failed_workflow(cloud: LocalCloud) -> None:
    body = requests.get(f"{cloud.api_url}/api/items/missing", timeout=30).json()
    assert body["status"] == "FAILED"
    assert body["error"] == "ItemNotFound"


def test_post_writes_to_moto(cloud: LocalCloud) -> None:
    r = requests.post(f"{cloud.api_url}/api/items", json={"id": "b", "name": "Banana"}, timeout=30)
    assert r.status_code == 201
    item = cloud.client("dynamodb").get_item(TableName="ItemsTable", Key={"pk": {"S": "b"}})["Item"]
    assert item["name"] == {"S": "Banana"}


def test_handler_exception_is_a_500_without_details(cloud: LocalCloud, capfd: pytest.CaptureFixture[str]) -> None:
    r = requests.get(f"{cloud.api_url}/api/boom", timeout=30)
    assert r.status_code == 500
    assert r.content == HTTP_API_FAILURE
    assert "secret" not in r.text and "Traceback" not in r.text
    assert "RuntimeError: secret internal detail" in capfd.readouterr().err


def test_environments_are_reused_and_serve_one_invocation_at_a_time(cloud: LocalCloud) -> None:
    def call(_: int) -> int:
        r = requests.get(f"{cloud.api_url}/api/other?sleep=0.2", timeout=60)
        assert r.status_code == 200, r.text
        return int(r.json()["pid"])

    with ThreadPoolExecutor(9) as pool:
        pids = list(pool.map(call, range(9)))
    # 9 overlapping invocations, at most 3 environments (max_concurrency): the rest waited
    assert 1 <= len(set(pids)) <= 3
    assert cloud.environments()["OtherFunction"] <= 3
    # warm: a later invocation lands in one of them
    assert call(0) in set(pids)


def test_concurrent_requests_do_not_cross_talk(cloud: LocalCloud) -> None:
    def call(i: int) -> tuple[int, dict]:
        path = "/api/items/a?sleep=0.02" if i % 2 else "/api/other?sleep=0.02"
        r = requests.get(cloud.api_url + path, timeout=60)
        assert r.status_code == 200, r.text
        return i, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(64)))
    for i, body in results:
        expected = ("items", "ItemsTable") if i % 2 else ("other-env", "OtherTable")
        assert (body["who"], body["table"]) == expected
        assert body["env_who"] == expected[0]
    assert "WHO" not in os.environ and "TABLE_NAME" not in os.environ


def test_timeout_kills_the_environment_and_answers_500(cloud: LocalCloud, capfd: pytest.CaptureFixture[str]) -> None:
    first = requests.get(f"{cloud.api_url}/api/slow", timeout=30).json()["pid"]
    r = requests.get(f"{cloud.api_url}/api/slow?sleep=5", timeout=30)
    assert r.status_code == 500
    assert r.content == HTTP_API_FAILURE
    assert "Task timed out after 1.00 seconds" in capfd.readouterr().err
    assert until(lambda: not os.path.exists(f"/proc/{first}") or _is_zombie(first))
    again = requests.get(f"{cloud.api_url}/api/slow", timeout=30)
    assert again.status_code == 200 and again.json()["pid"] != first


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_init_error_is_a_500_and_the_next_invocation_retries(cloud: LocalCloud, capfd) -> None:
    for _ in range(2):
        r = requests.get(f"{cloud.api_url}/api/broken", timeout=30)
        assert r.status_code == 500
        assert r.content == HTTP_API_FAILURE
    assert "this module cannot be loaded" in capfd.readouterr().err


def test_every_invocation_logs_a_report_line(cloud: LocalCloud, capfd) -> None:
    capfd.readouterr()
    requests.get(f"{cloud.api_url}/api/other", timeout=30)
    report = next(line for line in capfd.readouterr().err.splitlines() if line.startswith("OtherFunction REPORT"))
    assert "Duration: " in report and "Billed Duration: " in report and "Memory Size: 128 MB" in report


def test_direct_invoke_for_other_event_sources(cloud: LocalCloud) -> None:
    event = {"rawPath": "/api/other", "queryStringParameters": None}
    result = cloud.invoke("OtherFunction", event)
    assert result["statusCode"] == 200
    with pytest.raises(FunctionError) as failed:
        cloud.invoke("OtherFunction", {"rawPath": "/api/boom"})
    assert failed.value.document["errorType"] == "RuntimeError"


@contextmanager
def _edited(cloud: LocalCloud, source: Path, edit: Callable[[str], str]) -> Iterator[set[int]]:
    """Warm an environment of OtherFunction, then rewrite `source` with `edit`; yields the warm
    environments' pids. Restores the file afterwards, as a quick edit back can be: within the same
    second and with the same size (Python would take the edited bytecode for still valid, hence the
    newer mtime)."""
    original = source.read_text()
    requests.get(f"{cloud.api_url}/api/other", timeout=30).raise_for_status()
    warm = set(cloud.worker_pids())
    try:
        source.write_text(edit(original))
        yield warm
    finally:
        edited = source.stat().st_mtime_ns
        source.write_text(original)
        os.utime(source, ns=(edited, edited + 1))


def test_edited_handler_takes_effect_without_restart(cloud: LocalCloud, module_project: Path) -> None:
    handler = module_project.parent / "functions/svc/handlers/other.py"
    with _edited(cloud, handler, lambda text: text.replace("VERSION = 1", "VERSION = 2")) as warm:
        after = until(
            lambda: (b := requests.get(f"{cloud.api_url}/api/other", timeout=30).json())["version"] == 2 and b
        )
        assert after and after["pid"] not in warm  # a new environment: a cold start on the new code
    assert until(lambda: requests.get(f"{cloud.api_url}/api/other", timeout=30).json()["version"] == 1)


def test_edited_layer_retires_warm_environments(cloud: LocalCloud, module_project: Path) -> None:
    layer = module_project.parent / "layers/shared/common/settings.py"
    with _edited(cloud, layer, lambda text: text + "\nLAYER_EDITED = True\n") as warm:
        assert until(lambda: requests.get(f"{cloud.api_url}/api/other", timeout=30).json()["pid"] not in warm)
