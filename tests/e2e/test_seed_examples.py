"""The seed README's three curl examples, verbatim, against a fresh local cloud started with
--no-auth (they send no token); with sign-in on, the same curl is refused."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.apigw import TEMPLATE

SEED_CURLS = [
    """curl -X POST http://localhost:8080/api/products \\
  -H "Content-Type: application/json" \\
  -d '{"name": "Laptop", "price": 999.99, "description": "High-performance laptop", "stock": 10}'""",
    """curl -X POST http://localhost:8080/api/customers \\
  -H "Content-Type: application/json" \\
  -d '{"name": "John Doe", "email": "john@example.com", "phone": "123-456-7890", "address": "123 Main St"}'""",
    """curl -X POST http://localhost:8080/api/orders \\
  -H "Content-Type: application/json" \\
  -d '{"customerId": 1, "items": [{"productId": 1, "quantity": 2, "price": 999.99}]}'""",
]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_examples_work_verbatim():
    from localcloud.server import LocalCloudProcess

    with LocalCloudProcess(TEMPLATE, extra_args=["--no-auth"]) as cloud:
        assert "AUTH DISABLED" in "".join(cloud.output)
        port = cloud.api_url.rsplit(":", 1)[1]
        replies = []
        for command in SEED_CURLS:
            # Only the port differs from the README (the test picks a free one).
            script = command.replace("localhost:8080", f"localhost:{port}") + " -s -w '\\n%{http_code}'"
            out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
            body, status = out.rsplit("\n", 1)
            replies.append((int(status), json.loads(body)))
        check = subprocess.run(
            ["curl", "-s", f"http://localhost:{port}/api/products/1"], capture_output=True, text=True, check=True
        )
        me = subprocess.run(
            ["curl", "-s", f"http://localhost:{port}/api/me"], capture_output=True, text=True, check=True
        )

    assert [status for status, _ in replies] == [201, 201, 201]
    assert replies[0][1]["id"] == 1 and replies[1][1]["id"] == 1
    placed = replies[2][1]
    assert placed["status"] == "CONFIRMED"
    assert placed["total"] == 1999.98
    assert json.loads(check.stdout)["stock"] == 8
    assert placed["createdBy"]  # as the dev admin user
    # the dev admin's claims are those of a real access token, the pool's token trigger included
    assert json.loads(me.stdout)["email"] == "admin@example.com"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_seed_curl_without_a_token_is_401_when_sign_in_is_on(local_cloud):
    port = local_cloud.api_url.rsplit(":", 1)[1]
    script = SEED_CURLS[0].replace("localhost:8080", f"localhost:{port}") + " -s -w '\n%{http_code}'"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
    body, status = out.rsplit("\n", 1)
    assert int(status) == 401 and json.loads(body)["message"] == "Unauthorized"
