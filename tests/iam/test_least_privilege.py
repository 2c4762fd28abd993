"""Least privilege, proven against what the test suite really called (see tests/support/iam.py).

Runs after the suite, on its records: `make test-pytest` runs the suite with IAM_RECORDS_DIR set,
then `pytest -m iam tests/iam`."""

from __future__ import annotations

import os

import pytest

from tests.support import iam
from tests.support.apigw import TEMPLATE
from tests.support.apigw import template as project_template

pytestmark = pytest.mark.iam


@pytest.fixture(scope="module")
def template():
    return project_template()


@pytest.fixture(scope="module")
def reasons():
    return iam.iam_comments(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def calls(template):
    directory = os.environ.get(iam.RECORDS_ENV)
    if not directory:
        pytest.skip(f"needs the records of a full test run: run `make test-pytest` (sets {iam.RECORDS_ENV})")
    found = iam.load(directory)
    assert found, f"no AWS calls recorded in {directory}: did the suite run with {iam.RECORDS_ENV} set?"
    return found | iam.asl_calls(template)


def test_every_call_is_granted_and_every_write_grant_is_used(template, calls, reasons):
    report = iam.check(template, calls, reasons)
    assert report.ok, f"\n{report}"


def test_every_function_and_the_workflow_made_calls(template, calls):
    """The records cover every principal that is granted anything, so the check above has something
    to check. A principal granted nothing (the docs front door) needs no record: any call it made
    would be ungranted, which the check above refuses."""
    principals = {c.principal for c in iam._attributed(template, calls)}
    granted = {p for p in iam.principals(template) if iam.statements(template, p)}
    assert granted <= principals, granted - principals


def _removals(template):
    """(label, template without one Policies entry or one inline statement) for every grant."""
    for principal in iam.principals(template):
        for i, entry in enumerate(template.policies(principal)):
            inline = entry.get("Statement") if isinstance(entry, dict) else None
            for j in range(len(inline)) if isinstance(inline, list) and len(inline) > 1 else [None]:
                pruned = template.variant()
                policies = pruned.data["Resources"][principal]["Properties"]["Policies"]
                if j is None:
                    del policies[i]
                else:
                    del policies[i]["Statement"][j]
                yield (
                    f"{principal} Policies[{i}]" + ("" if j is None else f".Statement[{j}]"),
                    (principal, i, j),
                    pruned,
                )


def test_removing_any_single_needed_statement_fails_the_check(template, calls, reasons):
    survivors = []
    for label, origin, pruned in _removals(template):
        principal, i, j = origin
        if reasons.get((principal, i, j)) or reasons.get((principal, i, None)):
            continue  # kept on purpose, for a reason the template states
        if not iam.check(pruned, calls, {}).missing:
            survivors.append(label)
    assert not survivors, f"these grants are not needed by any recorded call: {survivors}"


def _key_narrowings(template):
    """(label, template with one key pattern of one inline statement taken away) for every key
    pattern granted (dynamodb:LeadingKeys; a statement's only pattern becomes one no key has)."""
    for principal in iam.principals(template):
        for i, entry in enumerate(template.policies(principal)):
            for j, statement in enumerate(entry.get("Statement", []) if isinstance(entry, dict) else []):
                for operator, tests in (statement.get("Condition") or {}).items():
                    for k, pattern in enumerate(tests.get(iam.LEADING_KEYS, [])):
                        narrowed = template.variant()
                        policies = narrowed.data["Resources"][principal]["Properties"]["Policies"]
                        patterns = policies[i]["Statement"][j]["Condition"][operator][iam.LEADING_KEYS]
                        patterns[k : k + 1] = [] if len(patterns) > 1 else ["NO-SUCH-KIND#*"]
                        yield f"{principal} Policies[{i}].Statement[{j}] without {pattern}", narrowed


def test_every_granted_key_pattern_is_needed(template, calls):
    """Narrowing any statement's key prefixes (dynamodb:LeadingKeys) by one pattern leaves a
    recorded call ungranted: each pattern is there for a call the code makes, none is spare."""
    narrowings = list(_key_narrowings(template))
    assert len(narrowings) > 30
    survivors = [label for label, narrowed in narrowings if not iam.check(narrowed, calls, {}).missing]
    assert not survivors, f"these key patterns are not needed by any recorded call: {survivors}"


def test_the_shared_tables_are_the_four_of_several_kinds(template, calls):
    """The records find more than one kind of item (by partition key) in exactly the tables whose
    grants name key prefixes (docs/adr/0038): a new kind elsewhere makes that table shared too."""
    shared = {arn.rsplit("/", 1)[-1] for arn in iam.shared_tables(iam._attributed(template, calls))}
    assert shared == {"ProductsTable", "CustomersTable", "OrdersTable", "ReportsTable"}


def test_the_check_fails_on_an_ungranted_call(template, calls, reasons):
    extra = iam.Call("ListProductsFunction", "dynamodb:DeleteItem", iam.table_arn("ProductsTable"))
    report = iam.check(template, calls | {extra}, reasons)
    assert report.missing == [extra]


def test_the_check_fails_on_an_unused_write_grant(template, calls, reasons):
    widened = template.variant()
    widened.data["Resources"]["ListProductsFunction"]["Properties"]["Policies"].append(
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "ProductsTable"}}}
    )
    report = iam.check(widened, calls, reasons)
    assert any("ListProductsFunction" in u and "dynamodb:DeleteItem" in u for u in report.unused), report
