"""Local cloud lifecycle: start/stop, ports, persistence, the real template, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localcloud.server import LocalCloud, LocalCloudError, LocalCloudProcess, PortInUseError, free_port
from tests.support.ports import port_is_closed

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


def test_state_file_persists_items(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.json"
    with LocalCloud(project, api_port=0, aws_port=0, state_file=state) as cloud:
        requests.post(f"{cloud.api_url}/api/items", json={"id": "kept", "name": "Kept"}, timeout=10)
    assert "kept" in state.read_text()
    with LocalCloud(project, api_port=0, aws_port=0, state_file=state) as cloud:
        assert requests.get(f"{cloud.api_url}/api/items/kept", timeout=10).json()["status"] == "SUCCEEDED"


def test_real_template_in_process() -> None:
    """The project's template.yaml and handlers, seeded through the API."""
    with LocalCloud(ROOT / "template.yaml", api_port=0, aws_port=0, seed=True) as cloud:
        assert cloud.seeded["products"] and cloud.seeded["customers"]
        for collection in ("products", "customers"):
            r = requests.get(f"{cloud.api_url}/api/{collection}", timeout=10)
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
