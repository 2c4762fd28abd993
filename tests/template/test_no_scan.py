"""No Scan anywhere: no code (functions, layer, workflow) scans a table, and no grant allows it
(SAM's DynamoDBReadPolicy would: the template grants reads without it). Every read is a GetItem or
a Query on a key or an index."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from tests.support.apigw import ROOT, template


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def test_no_grant_allows_scan() -> None:
    resources = template().translated(Stage="prod", CustomerManagedKey="true")["Resources"]
    granted = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                granted += [(name, a) for a in actions(statement)]
    assert len(granted) > 50
    assert [g for g in granted if g[1].lower() in ("dynamodb:scan", "dynamodb:*", "*")] == []


def _calls(path: Path) -> list[str]:
    """Method names called in a Python file, and string constants that name an operation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    found += [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return found


# Operator tools that read whole tables, run with the operator's own credentials (never a
# function's role, so the template grants them nothing): rebuilding the reports from the services'
# data reads every product, customer and order, and comparing two projections reads both whole.
OPERATOR_SCANS = {"tools/reports_rebuild.py"}


def _scans(path: Path) -> bool:
    return any(name.lower() in ("scan", "dynamodb:scan") for name in _calls(path)) or 'get_paginator("scan")' in (
        path.read_text(encoding="utf-8")
    )


def test_no_code_scans_a_table() -> None:
    """No function, layer or tool scans, but the operator tools named in OPERATOR_SCANS."""
    files = [p for d in ("functions", "layers/shared", "tools") for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 20
    scanning = {str(path.relative_to(ROOT)) for path in files if _scans(path)}
    assert scanning == OPERATOR_SCANS
    for definition in (ROOT / "functions").rglob("*.asl.json"):
        resources = [s.get("Resource", "") for s in _states(json.loads(definition.read_text(encoding="utf-8")))]
        assert all(not r.lower().endswith((":scan", ":dynamodb:scan")) for r in resources), definition


def _states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in definition.get("States", {}).values():
        found.append(state)
        for branch in state.get("Branches", []):
            found += _states(branch)
        if "Iterator" in state or "ItemProcessor" in state:
            found += _states(state.get("ItemProcessor") or state["Iterator"])
    return found


def test_the_check_sees_a_scan() -> None:
    """The checks above would notice one (a self-test of the detectors)."""
    assert "scan" in [n.lower() for n in _calls_of("table.scan(Limit=1)")]
    assert any(
        r.endswith(":scan")
        for r in [
            s["Resource"] for s in _states({"States": {"S": {"Resource": "arn:aws:states:::aws-sdk:dynamodb:scan"}}})
        ]
    )


def _calls_of(code: str) -> list[str]:
    tree = ast.parse(code)
    return [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
