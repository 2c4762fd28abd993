"""The front door (functions/docs): GET / redirects to the docs page, the page and the OpenAPI
document are public, a route the API does not have says where the docs are, and a 401 on the
local cloud says how to get a token. Every answer carries its own request id."""

from __future__ import annotations

import json

import requests

from localcloud import openapi


def test_root_redirects_to_the_docs_page(local_cloud):
    r = requests.get(f"{local_cloud.api_url}/", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"] == "/api/docs"
    page = requests.get(f"{local_cloud.api_url}/", timeout=60)  # followed, without a token
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<title>Sales management API</title>" in page.text and "swagger" in page.text.lower()


def test_the_document_is_public_and_the_committed_one(local_cloud):
    r = requests.get(f"{local_cloud.api_url}/api/openapi.json", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == json.loads(openapi.COMMITTED.read_text(encoding="utf-8"))


def test_an_unknown_route_says_where_the_docs_are(http):
    r = http.get("/api/produtcs")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    assert "GET /api/produtcs" in r.json()["detail"] and "/api/docs" in r.json()["detail"]


def test_a_method_the_path_does_not_take_is_405_with_allow(http):
    r = http.patch("/api/products")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"
    assert "/api/docs" in r.json()["detail"]
    r = http.post("/api/products/1")
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, GET, PUT"


def test_a_401_says_how_to_get_a_token_locally(local_cloud):
    for headers, reason in (({}, "Missing token"), ({"Authorization": "Bearer not-a-jwt"}, "Malformed token")):
        for path in ("/api/products", "/api/nothing-here"):
            r = requests.get(f"{local_cloud.api_url}{path}", headers=headers, timeout=30)
            assert r.status_code == 401
            body = r.json()
            assert body["message"] == "Unauthorized"  # API Gateway's own body ...
            assert body["hint"].startswith(reason) and "make -s token ROLE=admin" in body["hint"]  # ... and what to do
            assert f"AWS_URL={local_cloud.aws_url}" in body["hint"]  # this cloud's emulator is not on :4566


def test_every_answer_has_its_own_request_id(local_cloud, http):
    ids = {http.get("/api/products").headers["apigw-requestid"] for _ in range(3)}
    ids.add(requests.get(f"{local_cloud.api_url}/api/products", timeout=30).headers["apigw-requestid"])
    assert len(ids) == 4 and all(len(i) == 16 for i in ids)
