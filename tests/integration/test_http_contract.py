"""The error contract shared by every service: malformed JSON, field errors, body size limit,
content type, and no stack traces."""

from __future__ import annotations

import pytest

GOOD = {"name": "Laptop", "price": 999.99, "description": "x", "stock": 10}


def test_malformed_json_is_400(api):
    r = api.post("/api/products", raw_body='{"name": "Laptop",')
    assert r.status == 400
    assert r.json["title"] == "Malformed JSON"


def test_non_json_content_type_is_415(api):
    r = api.post("/api/products", raw_body="name=Laptop", headers={"Content-Type": "text/plain"})
    assert r.status == 415


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"],
)
def test_bodies_that_are_not_json_are_415(api, cloud, content_type):
    r = api.post("/api/products", raw_body="name=Laptop&price=1", headers={"Content-Type": content_type})
    assert r.status == 415
    assert r.json["title"] == "Unsupported media type"
    assert cloud.scan("ProductsTable") == []


def test_body_that_is_not_utf8_is_400(api):
    import base64

    from tests.support.apigw import build_event, invoke, route

    fn, params = route("POST", "/api/products")
    event = build_event(fn, "/api/products", params, raw_body=base64.b64encode(b'{"name": "\xff"}').decode())
    event["isBase64Encoded"] = True
    reply = invoke(fn, event)
    assert reply["statusCode"] == 400


def test_body_over_the_limit_is_413_before_parsing(api, cloud):
    r = api.post("/api/products", {**GOOD, "description": "x" * 40_000})
    assert r.status == 413
    assert "32768-byte limit" in r.json["detail"]
    assert cloud.scan("ProductsTable") == []


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"price": -1}, "price"),
        ({"price": 0}, "price"),
        ({"price": 1.001}, "price"),
        ({"price": "999.99"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"price": 1000000.01}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"stock": "3"}, "stock"),
        ({"description": 7}, "description"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_bad_field_is_422_and_named(api, cloud, patch, field):
    r = api.post("/api/products", {**GOOD, **patch})
    assert r.status == 422, r.raw
    assert [e["field"] for e in r.json["errors"]] == [field]
    assert cloud.scan("ProductsTable") == []


def test_missing_name_is_reported(api):
    r = api.post("/api/products", {"price": 1})
    assert r.status == 422
    assert [e["field"] for e in r.json["errors"]] == ["name"]


def test_every_bad_field_is_reported_at_once(api):
    r = api.post("/api/products", {"name": "", "price": -5, "stock": -1, "extra": 1})
    assert r.status == 422
    assert sorted(e["field"] for e in r.json["errors"]) == ["extra", "name", "price", "stock"]


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_wrong_json_types_for_the_body_are_422(api, body):
    r = api.post("/api/products", raw_body=__import__("json").dumps(body))
    assert r.status == 422


def test_unexpected_error_is_500_problem_without_traceback(api, monkeypatch):
    from products import service

    def boom(*_args, **_kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service, "get_product", boom)
    r = api.get("/api/products/1")
    assert r.status == 500
    assert r.json["title"] == "Internal server error"
    assert "secret" not in r.raw and "Traceback" not in r.raw


def test_every_request_logs_structured_json_with_the_request_id(monkeypatch, capfd):
    """What every handler is built from: entrypoint() + observability() + create_app()."""
    import json

    from sales_common.api import create_app
    from sales_common.observability import entrypoint, observability
    from tests.support.apigw import LambdaContext, build_event, route

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    app = create_app()
    logger, metrics = observability("logcheck")

    @app.get("/api/products/<id>")
    def boom(id: int):
        raise RuntimeError("boom")

    fn, params = route("GET", "/api/products/1")
    capfd.readouterr()
    reply = entrypoint(app, logger, metrics)(build_event(fn, "/api/products/1", params), LambdaContext("Fn"))
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]

    assert reply["statusCode"] == 500 and "boom" not in reply["body"]
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["correlation_id"] == "sample-GetProductFunction"  # the event's requestContext.requestId
    assert "boom" in error["exception"]
    summary = next(line for line in lines if line["message"] == "request handled")
    assert (summary["status"], summary["path"], summary["service"]) == (500, "/api/products/1", "logcheck")
    assert summary["correlation_id"] == "sample-GetProductFunction"
