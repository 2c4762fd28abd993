"""Local cloud lifecycle: start/stop, ports, persistence, the real template, the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from localcloud.server import LocalCloud, LocalCloudError, LocalCloudProcess, PortInUseError, free_port
from tests.support.ports import port_is_closed
from tests.support.waiting import until

# The slow tier (make test-slow): most tests start and stop local clouds of their own.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_stop_frees_ports_and_restores_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    cloud = LocalCloud(project, api_port=0, aws_port=0).start()
    api_port, aws_port = cloud.api_port, cloud.aws_port
    assert requests.get(f"{cloud.api_url}/api/other", timeout=10).status_code == 200
    cloud.stop()
    assert port_is_closed(api_port)
    assert port_is_closed(aws_port)
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert "MOTO_PORT" not in os.environ


def test_one_in_process_cloud_at_a_time(project: Path) -> None:
    with LocalCloud(project, api_port=0, aws_port=0), pytest.raises(LocalCloudError, match="another LocalCloud"):
        LocalCloud(project, api_port=0, aws_port=0).start()
    with LocalCloud(project, api_port=0, aws_port=0):
        pass


def test_port_in_use_is_a_clear_error(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"API port 127.0.0.1:{port} is already in use"):
            LocalCloud(project, api_port=port, aws_port=0).start()
        with pytest.raises(PortInUseError, match="AWS"):
            LocalCloud(project, api_port=0, aws_port=port).start()
    assert "AWS_ENDPOINT_URL" not in os.environ


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def test_state_file_persists_items(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.json"
    with LocalCloud(project, api_port=0, aws_port=0, state_file=state) as cloud:
        requests.post(f"{cloud.api_url}/api/items", json={"id": "kept", "name": "Kept"}, timeout=30)
    assert "kept" in state.read_text()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds customer data
    with LocalCloud(project, api_port=0, aws_port=0, state_file=state) as cloud:
        assert requests.get(f"{cloud.api_url}/api/items/kept", timeout=30).json()["status"] == "SUCCEEDED"


def test_acknowledged_writes_survive_sigkill_and_workers_go_too(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    cloud = LocalCloudProcess(project, extra_args=["--state-file", str(state)]).start()
    try:
        r = requests.post(f"{cloud.api_url}/api/items", json={"id": "durable", "name": "Durable"}, timeout=30)
        assert r.status_code == 201
        assert requests.get(f"{cloud.api_url}/api/other", timeout=30).status_code == 200
        # one environment busy in a long invocation when the local cloud dies
        busy = ThreadPoolExecutor(1)
        busy.submit(requests.get, f"{cloud.api_url}/api/other?sleep=60", timeout=90)
        time.sleep(2)  # the guarantee: a write acknowledged to a client is on disk within 2 s
        assert cloud.proc is not None
        workers = _children(cloud.proc.pid)
        assert len(workers) >= 2  # ItemsFunction's (idle) and OtherFunction's (busy) environments
        cloud.proc.send_signal(signal.SIGKILL)
        cloud.proc.wait(timeout=10)
    finally:
        cloud.stop()
    # the busy one too, long before its invocation would have ended
    assert until(lambda: all(_gone(pid) for pid in workers), timeout=15), "workers outlived the local cloud"
    busy.shutdown(wait=False, cancel_futures=True)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    with LocalCloudProcess(project, extra_args=["--state-file", str(state)]) as again:
        assert requests.get(f"{again.api_url}/api/items/durable", timeout=30).json()["status"] == "SUCCEEDED"


def test_every_acknowledged_write_of_a_burst_survives_a_sigkill_right_after(project: Path, tmp_path: Path) -> None:
    """No waiting for the saver: the local cloud is killed the moment the last write is answered,
    and every write answered 201 is there after a restart (the journal), none twice."""
    state = tmp_path / "state.json"
    cloud = LocalCloudProcess(project, extra_args=["--state-file", str(state)]).start()
    acknowledged: list[str] = []
    try:

        def write(i: int) -> None:
            r = requests.post(f"{cloud.api_url}/api/items", json={"id": f"burst-{i}", "name": str(i)}, timeout=60)
            if r.status_code == 201:
                acknowledged.append(f"burst-{i}")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, range(60)))
        assert cloud.proc is not None
        cloud.proc.send_signal(signal.SIGKILL)
        cloud.proc.wait(timeout=10)
    finally:
        cloud.stop()
    assert len(acknowledged) == 60
    with LocalCloudProcess(project, extra_args=["--state-file", str(state)]) as again:
        dynamodb = again.client("dynamodb")
        stored = [i["pk"]["S"] for i in dynamodb.scan(TableName="ItemsTable")["Items"]]
    assert sorted(pk for pk in stored if pk.startswith("burst-")) == sorted(acknowledged)


def test_every_acknowledged_message_of_a_burst_survives_a_sigkill_right_after(project: Path, tmp_path: Path) -> None:
    """Queued messages are kept as the items are: the local cloud is killed the moment the last
    SendMessage is answered, and after a restart the queue holds every acknowledged message, by
    its id, once, and not the ones deleted before the kill."""
    template = project.read_text()
    project.write_text(template.replace("\nResources:\n", "\nResources:\n  Inbox:\n    Type: AWS::SQS::Queue\n", 1))
    state = tmp_path / "state.json"
    cloud = LocalCloudProcess(project, extra_args=["--state-file", str(state)]).start()
    try:
        sqs = cloud.client("sqs")
        url = sqs.get_queue_url(QueueName="Inbox")["QueueUrl"]
        with ThreadPoolExecutor(4) as pool:
            sent = list(
                pool.map(lambda i: sqs.send_message(QueueUrl=url, MessageBody=f"m-{i}")["MessageId"], range(60))
            )
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5)["Messages"]
        for message in first:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        assert cloud.proc is not None
        cloud.proc.send_signal(signal.SIGKILL)
        cloud.proc.wait(timeout=10)
    finally:
        cloud.stop()
    deleted = {m["MessageId"] for m in first}
    assert len(set(sent)) == 60 and len(deleted) == 5
    with LocalCloudProcess(project, extra_args=["--state-file", str(state)]) as again:
        sqs = again.client("sqs")
        url = sqs.get_queue_url(QueueName="Inbox")["QueueUrl"]
        kept: list[str] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
            kept += [m["MessageId"] for m in batch]
    assert sorted(kept) == sorted(set(sent) - deleted)


def test_a_failed_save_is_loud_and_exits_non_zero(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    cloud = LocalCloudProcess(project, extra_args=["--state-file", str(state)]).start()
    try:
        state.mkdir()  # the next save cannot replace it
        (state / "in-the-way").write_text("x")
        r = requests.post(f"{cloud.api_url}/api/items", json={"id": "lost", "name": "Lost"}, timeout=30)
        assert r.status_code == 201
        assert cloud.proc is not None
        code = cloud.proc.wait(timeout=30)
    finally:
        cloud.stop()
    assert code != 0
    assert any(f"error: cannot save the state file {state}" in line for line in cloud.output)


@pytest.mark.parametrize(
    ("content", "reason"),
    [("{oops", "not valid JSON"), ('{"hello": 1}', "not a local cloud state file"), ("[]", "not a local cloud")],
)
def test_a_corrupt_or_foreign_state_file_is_a_one_line_error(project: Path, tmp_path: Path, content, reason) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "localcloud", "--template", str(project), "--port", "0", "--aws-port", "0",
         "--state-file", str(state)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: state file {state}: ") and reason in lines[0]
    assert "Traceback" not in result.stderr
    assert state.read_text() == content  # left as it was


def test_tables_the_template_does_not_know_are_kept(project: Path, tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    ghost = [{"pk": {"S": "boo"}, "note": {"S": "from another template"}}]
    state.write_text(json.dumps({"dynamodb": {"GhostTable": ghost, "ItemsTable": []}}))
    with LocalCloud(project, api_port=0, aws_port=0, state_file=state) as cloud:
        assert "GhostTable" in capsys.readouterr().err
        requests.post(f"{cloud.api_url}/api/items", json={"id": "new", "name": "New"}, timeout=30)
    saved = json.loads(state.read_text())["dynamodb"]
    assert saved["GhostTable"] == ghost
    assert any(item["pk"] == {"S": "new"} for item in saved["ItemsTable"])


def test_the_emulator_stays_on_loopback_when_the_api_is_exposed(project: Path) -> None:
    with LocalCloud(project, host="0.0.0.0", api_port=0, aws_port=0) as cloud:
        assert cloud._api_server.server_address[0] == "0.0.0.0"
        assert cloud._moto.host == "127.0.0.1"
        assert cloud.aws_url.startswith("http://127.0.0.1:")
        body = requests.get(f"{cloud.api_url}/api/other", timeout=30).json()
        assert body["env"]["AWS_ENDPOINT_URL"] == cloud.aws_url


def test_idle_environments_stop(project: Path) -> None:
    with LocalCloud(project, api_port=0, aws_port=0, idle_timeout=1) as cloud:
        assert requests.get(f"{cloud.api_url}/api/other", timeout=30).status_code == 200
        pids = cloud.worker_pids()
        assert pids
        assert until(lambda: cloud.environments() == {})
        assert until(lambda: all(_gone(pid) for pid in pids))


def test_stop_stops_every_environment(project: Path) -> None:
    with LocalCloud(project, api_port=0, aws_port=0) as cloud:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: requests.get(f"{cloud.api_url}/api/other?sleep=0.2", timeout=30), range(4)))
        pids = cloud.worker_pids()
        assert pids
    assert all(_gone(pid) for pid in pids)


def test_real_template_in_process() -> None:
    """The project's template.yaml and handlers, seeded through the API."""
    with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, seed=True) as cloud:
        assert cloud.seeded["products"] and cloud.seeded["customers"]
        auth = {"Authorization": f"Bearer {cloud.token('sales')}"}
        for collection in ("products", "customers"):
            assert requests.get(f"{cloud.api_url}/api/{collection}", timeout=10).status_code == 401
            r = requests.get(f"{cloud.api_url}/api/{collection}", headers=auth, timeout=10)
            assert r.status_code == 200, r.text
        scan = cloud.client("dynamodb").scan(TableName="ProductsTable")
        assert scan["Count"] >= len(cloud.seeded["products"])


def test_cli_subprocess_starts_serves_and_stops_on_sigterm(project: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"OtherFunction": {"WHO": "from-file"}, "Parameters": {"STAGE": "test"}}))
    with LocalCloudProcess(project, env_vars=env_file) as proc:
        r = requests.get(f"{proc.api_url}/api/other", timeout=10)
        assert r.status_code == 200
        assert r.json()["who"] == "from-file"
        assert requests.get(f"{proc.api_url}/api/items/x", timeout=10).json()["stage"] == "test"
        assert proc.state_machine_arns["Flow"].endswith(":stateMachine:Flow")
        api_port, aws_port = proc.api_port, proc.aws_port
        popen = proc.proc
    assert popen is not None and popen.returncode == 0
    assert any("Stopping" in line for line in proc.output)
    assert port_is_closed(api_port) and port_is_closed(aws_port)


def test_cli_port_in_use_exits_non_zero(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "localcloud", "--template", str(project), "--port", str(port), "--aws-port", "0"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"API port 127.0.0.1:{port} is already in use" in result.stderr


def test_free_port() -> None:
    assert 0 < free_port() < 65536


def test_cli_flags_for_environments_and_the_emulator_host() -> None:
    from localcloud.__main__ import parse_args

    args = parse_args(["--max-concurrency", "2", "--idle-timeout", "30", "--host", "0.0.0.0"])
    assert (args.max_concurrency, args.idle_timeout, args.host, args.aws_host) == (2, 30.0, "0.0.0.0", "127.0.0.1")
    with pytest.raises(SystemExit):
        parse_args(["--max-concurrency", "0"])


def test_the_functions_aws_endpoint_defaults_to_the_emulator_and_can_be_a_proxy() -> None:
    """--function-aws-url puts something (tests/support/proxy.py) between the functions and the
    emulator; tests/e2e/test_placement_replays.py drives a whole local cloud through one."""
    from localcloud.__main__ import parse_args
    from localcloud.server import LocalCloud

    assert parse_args(["--function-aws-url", "http://127.0.0.1:9"]).function_aws_url == "http://127.0.0.1:9"
    assert parse_args([]).function_aws_url is None
    plain = LocalCloud(ROOT / "template.yaml", aws_port=4599)
    assert plain.functions_aws_url == plain.aws_url == "http://127.0.0.1:4599"
    proxied = LocalCloud(ROOT / "template.yaml", aws_port=4599, function_aws_url="http://127.0.0.1:9")
    assert proxied.functions_aws_url == "http://127.0.0.1:9"
