"""`make mutate`'s workflow driver (tools/mutate.py): its mutants are the bug they name and
nothing else -- DynamoDB refuses a request naming an unused placeholder, and a Choice state
needs a rule, so a mutant that kept either would die whatever the tests say about its clause."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.mutate import ASL, asl_mutants

ROOT = Path(__file__).resolve().parents[2]
EXPRESSIONS = ("ConditionExpression", "UpdateExpression", "ProjectionExpression", "KeyConditionExpression")


def requests(node):
    """Every dict of the definition that holds an expression."""
    if isinstance(node, dict):
        if any(key in node for key in EXPRESSIONS):
            yield node
        for value in node.values():
            yield from requests(value)
    elif isinstance(node, list):
        for value in node:
            yield from requests(value)


def unused_placeholders(definition):
    unused = []
    for request in requests(definition):
        text = " ".join(str(request.get(key, "")) for key in EXPRESSIONS)
        for table in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            for key in request.get(table, {}):
                name = key.removesuffix(".$")
                if not re.search(re.escape(name) + r"(?![A-Za-z0-9_])", text):
                    unused.append(name)
    return unused


def test_no_workflow_mutant_names_a_placeholder_its_expressions_do_not_use():
    definition = json.loads((ROOT / ASL).read_text())
    assert unused_placeholders(definition) == []  # the real ASL, as DynamoDB requires
    mutants = dict(asl_mutants(definition))

    assert {label: unused_placeholders(m) for label, m in mutants.items() if unused_placeholders(m)} == {}
    dropped = mutants["PrepareLines.Line.reserve.Update.ConditionExpression: without price = :price"]
    reserve = dropped["States"]["PrepareLines"]["ItemProcessor"]["States"]["Line"]["Parameters"]["reserve"]["Update"]
    assert ":price" not in reserve["ExpressionAttributeValues"] and ":q" in reserve["ExpressionAttributeValues"]


def test_a_choice_without_its_only_rule_always_takes_its_default():
    definition = json.loads((ROOT / ASL).read_text())
    only_rule = [s for s in definition["States"].values() if s["Type"] == "Choice" and len(s["Choices"]) == 1]
    assert only_rule, "the workflow has a Choice with a single rule (CustomerErasedOrMissing)"

    mutants = dict(asl_mutants(definition))

    state = mutants["CustomerErasedOrMissing: without the rule to CustomerErased"]["States"]["CustomerErasedOrMissing"]
    assert state == {"Type": "Pass", "Next": "CustomerNotFound"}
    several = mutants["Decided: without the rule to Placed"]["States"]["Decided"]
    assert [rule["Next"] for rule in several["Choices"]] == ["ReleaseReservations"]


def test_a_narrowed_run_takes_exactly_the_mutants_its_globs_name():
    from tools.mutate import _selected

    only = ("orders.lifecycle.x_change_status__*", "orders.lifecycle.x__writer__*")
    assert _selected("orders.lifecycle.x_change_status__mutmut_17", only)
    assert _selected("orders.lifecycle.x__writer__mutmut_1", only)
    assert not _selected("orders.lifecycle.x_list_orders__mutmut_1", only)
    assert not _selected("orders.lifecycle.x__reader__mutmut_1", only)  # `_reader` is not `_writer`
    assert _selected("orders.lifecycle.x_list_orders__mutmut_1", ())  # no globs: every mutant


def test_a_module_without_functions_has_its_table_mutants_only():
    """mutmut mutates function bodies: models.py (pydantic fields) gives it nothing to do, and its
    run must not wait for results mutmut never writes."""
    from tools.mutate import _has_functions, table_mutants

    assert not _has_functions("functions/orders/models.py")
    assert _has_functions("functions/orders/repository.py")
    models = (ROOT / "functions/orders/models.py").read_text(encoding="utf-8")
    assert list(table_mutants(models, ("TRANSITIONS", "MAX_ITEMS", "MAX_QUANTITY")))  # what is mutated instead
