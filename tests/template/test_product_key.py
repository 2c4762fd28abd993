"""The product key format is defined once, in code (sales_common.dynamo.PRODUCT_KEY_PREFIX); the
PlaceOrder workflow, which reads and writes Products items itself, gets it from template.yaml's
DefinitionSubstitutions. These fail if the two disagree or the ASL spells a key on its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sales_common.dynamo import PRODUCT_KEY_PREFIX, product_key
from tests.support.apigw import template

STATE_MACHINE = "PlaceOrderStateMachine"


def _properties() -> dict[str, Any]:
    return template().properties(STATE_MACHINE)


def _product_key_expressions(node: Any) -> Iterator[Any]:
    """The `pk` of every Products-table request in the definition."""
    if isinstance(node, dict):
        if node.get("TableName") == "${ProductsTable}" and "Key" in node:
            yield node["Key"]["pk"]
        for value in node.values():
            yield from _product_key_expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _product_key_expressions(value)


def test_the_template_gives_the_workflow_the_code_s_product_key_prefix():
    assert _properties()["DefinitionSubstitutions"]["ProductKeyPrefix"] == PRODUCT_KEY_PREFIX


def test_the_code_builds_product_keys_from_the_prefix():
    assert product_key(7) == {"pk": {"S": f"{PRODUCT_KEY_PREFIX}7"}}


def test_every_product_key_in_the_workflow_comes_from_the_substitution():
    definition = json.loads((template().root / _properties()["DefinitionUri"]).read_text())
    keys = list(_product_key_expressions(definition))

    assert len(keys) == 3  # reserve, release inline, release in the compensation path
    for key in keys:
        assert key == {"S.$": key["S.$"]} and key["S.$"].startswith("States.Format('${ProductKeyPrefix}{}'"), key
    assert PRODUCT_KEY_PREFIX not in json.dumps(definition)
