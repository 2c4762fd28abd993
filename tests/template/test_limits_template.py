"""Limits as deployed: reserved concurrency per function, the stage's throttles per route, and the
per-user order limit's numbers, all template parameters with documented defaults (docs/security.md),
checked on what SAM's translator makes of template.yaml (offline)."""

from __future__ import annotations

import re

import pytest

from tests.support.apigw import ROOT, functions, template
from tests.template.test_deploy_options import deployed, of_type

ACCOUNT_CONCURRENCY = 1000  # an account's default concurrency quota
UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves less unreserved
LIMIT_PARAMETERS = [
    "ReserveConcurrency",
    "OrderPlacementConcurrency",
    "WriteConcurrency",
    "ReadConcurrency",
    "ReadRateLimit",
    "ReadBurstLimit",
    "WriteRateLimit",
    "WriteBurstLimit",
    "OrderRateLimit",
    "OrderBurstLimit",
    "OrdersPerMinute",
    "OrderBurst",
    "IntegrationOrdersPerMinute",
    "IntegrationOrderBurst",
]


def _api_functions() -> dict[str, str]:
    """{logical id: "METHOD /path"} of every function behind the HTTP API."""
    return {fn.logical_id: f"{fn.method} {fn.route}" for fn in functions()}


def test_every_api_function_has_a_concurrency_budget_that_leaves_the_account_room():
    deployed_functions = of_type(deployed(), "AWS::Lambda::Function")
    reserved = {name: deployed_functions[name].get("ReservedConcurrentExecutions") for name in _api_functions()}
    assert all(isinstance(n, int) and n >= 1 for n in reserved.values()), reserved
    assert sum(reserved.values()) <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM - 100  # and room for the rest
    # Placing orders has its own reservation, the largest: a flood on any other route cannot take it.
    assert reserved["CreateOrderFunction"] == max(reserved.values())
    reads = {name for name, key in _api_functions().items() if key.startswith("GET ")}
    assert {reserved[name] for name in reads} == {int(template().parameters["ReadConcurrency"]["Default"])}


def test_the_queue_consumer_is_not_reserved():
    """An SQS event source scales its pollers itself; a reservation would throttle them and send
    releases to the dead-letter queue under load."""
    assert "ReservedConcurrentExecutions" not in of_type(deployed(), "AWS::Lambda::Function")["ReleaseStockFunction"]


def test_reserved_concurrency_can_be_turned_off_for_small_accounts():
    deployed_functions = of_type(deployed(ReserveConcurrency="false"), "AWS::Lambda::Function")
    assert all("ReservedConcurrentExecutions" not in f for f in deployed_functions.values())


def test_the_stage_throttles_reads_writes_and_orders_each_with_their_own_numbers():
    (stage,) = of_type(deployed(), "AWS::ApiGatewayV2::Stage").values()
    defaults = {k: int(v["Default"]) for k, v in template().parameters.items() if k in LIMIT_PARAMETERS[4:10]}
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": defaults["ReadBurstLimit"],
        "ThrottlingRateLimit": defaults["ReadRateLimit"],
    }
    writes = {key for key in _api_functions().values() if not key.startswith("GET ")}
    assert set(stage["RouteSettings"]) == writes  # every write route, nothing else (reads: the default)
    for key, settings in stage["RouteSettings"].items():
        kind = "Order" if key == "POST /api/orders" else "Write"
        assert settings == {
            "ThrottlingBurstLimit": defaults[f"{kind}BurstLimit"],
            "ThrottlingRateLimit": defaults[f"{kind}RateLimit"],
        }, key
    assert defaults["WriteRateLimit"] < defaults["ReadRateLimit"]


def test_the_order_limit_reaches_the_function_as_the_parameters_say():
    env = template().function("CreateOrderFunction").environment
    assert env["ORDERS_PER_MINUTE"] == {"Ref": "OrdersPerMinute"}
    assert env["ORDER_BURST"] == {"Ref": "OrderBurst"}
    assert env["INTEGRATION_ORDERS_PER_MINUTE"] == {"Ref": "IntegrationOrdersPerMinute"}
    assert env["INTEGRATION_ORDER_BURST"] == {"Ref": "IntegrationOrderBurst"}
    assert env["ORDER_QUOTA_TABLE_NAME"] == {"Ref": "OrderQuotaTable"}


@pytest.mark.parametrize("name", LIMIT_PARAMETERS)
def test_every_limit_is_a_parameter_with_a_documented_default(name):
    spec = template().parameters[name]
    assert spec.get("Description") and "Default" in spec
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{name}` \| ([^|]+) \|", security, re.MULTILINE)
    assert row, f"docs/security.md has no row for {name}"
    assert row.group(1).strip().strip('`"') == str(spec["Default"]), name
