"""The Docker tier: template.yaml's API under `sam local start-api`, in real Lambda containers.

Every test here is marked ``samlocal`` and is skipped unless selected on purpose, because it needs
root (or a running Docker engine) and takes a minute on a cold machine:

    pytest -m samlocal            # what `make test-sam-local` runs
    SAMLOCAL_TESTS=1 pytest ...   # the same, whatever the -m expression

The session fixture starts the stack with localcloud/samlocal/start-api.sh in its own run dir
(so it can run beside `make sam-local`) and stops it with teardown.sh --keep-docker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "localcloud" / "samlocal"
RUN_DIR = ROOT / ".localcloud" / "samlocal" / "pytest-run"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = "samlocal" in (config.getoption("markexpr") or "") or os.environ.get("SAMLOCAL_TESTS") == "1"
    if selected:
        return
    skip = pytest.mark.skip(reason="Docker tier: run with `pytest -m samlocal` (make test-sam-local)")
    for item in items:
        if item.get_closest_marker("samlocal"):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_script(name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run one of the samlocal scripts; return its last stdout line, fail with its stderr."""
    result = subprocess.run(
        [str(SCRIPTS / name), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{name} {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class SamLocal:
    api_url: str
    aws_url: str
    image: str
    run_dir: Path

    def dynamodb(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def env_vars(self) -> dict[str, dict[str, str]]:
        return json.loads((self.run_dir / "env.json").read_text())

    def token(self, role: str = "admin") -> str:
        """A fresh access token of the backend's dev user of `role`, from its InitiateAuth."""
        import boto3

        from localcloud.authorizer import initiate_auth

        dev = json.loads((self.run_dir / "auth.json").read_text())["dev_users"]
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return str(initiate_auth(cognito, dev["client_id"], dev["users"][role], dev["password"])["AccessToken"])


@pytest.fixture(scope="session")
def lambda_image() -> str:
    return run_script("ensure-image.sh")


@pytest.fixture(scope="session")
def sam_local(lambda_image: str) -> Iterator[SamLocal]:
    api_port, aws_port = _free_port(), _free_port()
    env = {
        "SAMLOCAL_RUN_DIR": str(RUN_DIR),
        "SAMLOCAL_API_PORT": str(api_port),
        "SAMLOCAL_AWS_PORT": str(aws_port),
    }
    api_url = run_script("start-api.sh", env=env)
    try:
        yield SamLocal(api_url, f"http://127.0.0.1:{aws_port}", lambda_image, RUN_DIR)
    finally:
        run_script("teardown.sh", "--keep-docker", env=env, timeout=120)
