"""`sam local start-api` over template.yaml, in containers from the locally built Lambda image."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.samlocal.conftest import SamLocal, run_script

pytestmark = pytest.mark.samlocal


_TOKENS: dict[str, str] = {}


def request(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = "admin") -> tuple[int, Any]:
    """`token`: a role whose dev user signs in (default admin), a raw token, or None for none."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {_TOKENS.get(token, token)}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


# ------------------------------------------------------------------ the image
def test_image_runs_python_313_with_the_lambda_runtime_client(lambda_image: str) -> None:
    out = docker(
        "run", "--rm", lambda_image, "python3", "-c",
        "import sys, os, awslambdaric, boto3; "
        "print(sys.version_info[:2] == (3, 13), os.environ['LAMBDA_TASK_ROOT'], os.getcwd(), "
        "os.access('/var/runtime/bootstrap', os.X_OK))",
    )  # fmt: skip
    assert out.split() == ["True", "/var/task", "/var/task", "True"]


def test_second_ensure_image_reuses_the_tag_without_building(lambda_image: str) -> None:
    image_id = docker("image", "inspect", "-f", "{{.Id}}", lambda_image).strip()
    assert run_script("ensure-image.sh") == lambda_image
    assert run_script("ensure-image.sh", "--print-tag") == lambda_image
    assert docker("image", "inspect", "-f", "{{.Id}}", lambda_image).strip() == image_id


# ------------------------------------------------------------------ the API in containers
@pytest.fixture(scope="module", autouse=True)
def _tokens(sam_local: SamLocal) -> None:
    _TOKENS.update({role: sam_local.token(role) for role in ("admin", "sales")})


def test_sign_in_and_roles_in_containers(sam_local: SamLocal) -> None:
    """The JWT authorizer in front of SAM (localcloud/samlocal/sam_cli.py) and the functions'
    role checks, in real Lambda containers."""
    base = sam_local.api_url
    status, body = request("GET", f"{base}/api/products", token=None)
    assert status == 401 and body["message"] == "Unauthorized" and "make -s token" in body["hint"]
    header, payload, signature = _TOKENS["sales"].split(".")
    assert request("GET", f"{base}/api/products", token=f"{header}.{payload}.{signature[::-1]}")[0] == 401
    assert request("GET", f"{base}/api/products", token="sales")[0] == 200
    status, refused = request("POST", f"{base}/api/products", {"name": "No", "price": 1}, token="sales")
    assert (status, refused["title"]) == (403, "Forbidden")
    status, created = request("POST", f"{base}/api/products", {"name": "Yes", "price": 1}, token="admin")
    assert status == 201 and created["createdBy"]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_me_answers_the_email_the_token_trigger_added_in_a_lambda_container(sam_local: SamLocal) -> None:
    """Each sign-in ran the user pool's pre token generation trigger (template.yaml's
    LambdaConfig) in a real Lambda container of `sam local start-lambda`, as Cognito runs it: the
    access token carries the user's email, and /api/me answers it, for both roles."""
    users = json.loads((sam_local.run_dir / "auth.json").read_text())["dev_users"]["users"]
    for role in ("admin", "sales"):
        claims = _claims(_TOKENS[role])
        assert (claims["token_use"], claims["email"]) == ("access", users[role])

        status, me = request("GET", f"{sam_local.api_url}/api/me", token=role)

        assert status == 200, me
        assert (me["email"], me["username"], me["sub"]) == (users[role], claims["username"], claims["sub"])
        assert role in me["groups"]
    trigger = docker("ps", "-q", "--filter", "label=sam.cli.function.name=PreTokenGenerationFunction").split()
    assert trigger, "no container of the trigger function"


def test_unknown_route_answers_like_an_http_api(sam_local: SamLocal) -> None:
    """As on the HTTP API, the front door's `ANY /{proxy+}` (functions/docs) takes what no other
    route does: a problem that points at /api/docs, 405 for a path the API has (HEAD on a GET
    route included); only `/` with another method is the gateway's own 404
    (localcloud/gateway_errors.py). Never a 5xx."""
    status, body = request("GET", f"{sam_local.api_url}/api/no-such-route")

    assert status == 404
    assert "/api/docs" in body["detail"]
    assert request("PATCH", f"{sam_local.api_url}/api/products")[0] == 405
    assert request("HEAD", f"{sam_local.api_url}/api/products")[0] == 405
    assert request("PATCH", f"{sam_local.api_url}/") == (404, {"message": "Not Found"})


def test_created_product_is_stored_in_the_host_emulator_and_read_back(sam_local: SamLocal) -> None:
    # Given the handlers run in containers and reach moto through AWS_ENDPOINT_URL (env.json)
    assert sam_local.env_vars()["Parameters"]["AWS_ENDPOINT_URL"].startswith("http://host.docker.internal:")

    # When a product is created through the API
    status, created = request(
        "POST",
        f"{sam_local.api_url}/api/products",
        {"name": "Docker tier probe", "price": 12.5, "description": "samlocal", "stock": 4},
    )

    # Then it is in the host's ProductsTable and GET returns it
    assert status == 201, created
    items = sam_local.dynamodb().scan(TableName="ProductsTable")["Items"]
    assert any(item.get("name", {}).get("S") == "Docker tier probe" for item in items)
    status, fetched = request("GET", f"{sam_local.api_url}/api/products/{created['id']}")
    assert status == 200
    assert fetched == created


def test_shared_layer_is_in_opt_python_of_the_function_container(sam_local: SamLocal) -> None:
    status, _ = request("GET", f"{sam_local.api_url}/api/products")
    assert status == 200

    # The function's warm container (start-api.sh runs SAM with --warm-containers LAZY).
    containers = docker("ps", "-q", "--filter", "label=sam.cli.function.name=ListProductsFunction").split()
    container = containers[0]
    listing = docker("exec", container, "ls", "/opt/python", "/var/task").split()
    assert {"sales_common", "aws_lambda_powertools", "pydantic", "products"} <= set(listing)


def test_order_workflow_through_sam_local(sam_local: SamLocal) -> None:
    """Place, reject and cancel an order: handlers in containers, the workflow in the emulator."""
    base = sam_local.api_url
    status, product = request("POST", f"{base}/api/products", {"name": "Sam tier", "price": 3.25, "stock": 3})
    assert status == 201, product
    status, customer = request(
        "POST", f"{base}/api/customers", {"name": "Sam", "email": f"sam-{product['id']}@example.com"}
    )
    assert status == 201, customer
    line = {"productId": product["id"], "quantity": 2}

    status, order = request("POST", f"{base}/api/orders", {"customerId": customer["id"], "items": [line]})
    assert status == 201, order
    assert order["total"] == 6.5
    assert request("GET", f"{base}/api/products/{product['id']}")[1]["stock"] == 1

    status, rejected = request("POST", f"{base}/api/orders", {"customerId": customer["id"], "items": [line]})
    assert status == 409, rejected
    assert request("GET", f"{base}/api/products/{product['id']}")[1]["stock"] == 1

    status, cancelled = request("PUT", f"{base}/api/orders/{order['id']}", {"status": "CANCELLED"})
    assert status == 200, cancelled
    assert request("GET", f"{base}/api/products/{product['id']}")[1]["stock"] == 3
