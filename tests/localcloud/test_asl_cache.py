"""The project's state machine definition is parsed once and the parsed program is shared."""

from __future__ import annotations

from localcloud import asl_cache
from tests.support.apigw import ROOT, template


def _definition() -> str:
    props = template().properties("PlaceOrderStateMachine")
    text = (ROOT / props["DefinitionUri"]).read_text()
    for name in props.get("DefinitionSubstitutions", {}):
        text = text.replace("${" + name + "}", name)
    return text


def test_a_definition_is_parsed_once_with_retry_keys_fixed():
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsDecl
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    asl_cache.install()
    definition = _definition()
    first, _ = AmazonStateLanguageParser.parse(definition)
    second, _ = AmazonStateLanguageParser.parse(definition)
    assert first is second

    found: list[MaxAttemptsDecl] = []

    def walk(node: object, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, MaxAttemptsDecl):
            found.append(node)
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            children = list(getattr(node, "__dict__", {}).values())
        for child in children:
            walk(child, seen)

    walk(first, set())
    assert found, "the workflow has Retry blocks"
    assert all(node._EvalComponent__heap_key for node in found)  # set before any execution


def test_jsonpath_expressions_are_parsed_once_and_still_evaluate():
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    asl_cache.install()
    assert json_path.parse("$.order.items") is json_path.parse("$.order.items")
    assert result_path.parse("$.reserved") is result_path.parse("$.reserved")
    assert json_path.extract_json("$.order.total", {"order": {"total": 7}}) == 7
    assert json_path.extract_json("$.order.total", {"order": {"total": 8}}) == 8
