"""Typed settings fail fast, naming the variable, and a misconfigured function answers 500
without leaking the detail."""

from __future__ import annotations

import pytest

from orders.settings import PlacementSettings
from sales_common.errors import ConfigurationError
from sales_common.settings import ServiceSettings, load_settings


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "T")
    monkeypatch.setenv("STAGE", "prod")
    settings = load_settings(ServiceSettings)
    assert (settings.TABLE_NAME, settings.STAGE) == ("T", "prod")


def test_missing_and_invalid_variables_are_named(monkeypatch):
    env = {"TABLE_NAME": "T", "PRODUCTS_TABLE_NAME": "P", "PLACE_ORDER_STATE_MACHINE_ARN": "not-an-arn"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME", raising=False)
    with pytest.raises(ConfigurationError) as raised:
        load_settings(PlacementSettings)
    message = str(raised.value)
    assert "PLACE_ORDER_STATE_MACHINE_ARN" in message
    assert "IDEMPOTENCY_TABLE_NAME" in message


def test_misconfigured_function_answers_500_problem(api, monkeypatch):
    from tests.support import apigw

    fn, params = apigw.route("GET", "/api/products/1")
    # function_env is not thread-safe: two invocations racing in threads (the race tests) can
    # leave one's TABLE_NAME in os.environ for the rest of the worker; this test needs it absent
    monkeypatch.delenv("TABLE_NAME", raising=False)
    broken = apigw.Function(fn.logical_id, fn.handler, fn.method, fn.route, {})  # no TABLE_NAME
    reply = apigw.invoke(broken, apigw.build_event(broken, "/api/products/1", params))
    assert reply["statusCode"] == 500
    assert "TABLE_NAME" not in reply["body"]
