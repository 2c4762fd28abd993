"""template.yaml -> tables and state machines, in moto's decorator mode."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud.template import (
    TemplateError,
    create_state_machines,
    create_tables,
    load_template,
    state_machine_definitions,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1"), boto3.client("stepfunctions", region_name="us-east-1")


def test_load_template_expands_short_form_tags(project: Path) -> None:
    template = load_template(project)
    fn = template["Resources"]["ItemsFunction"]["Properties"]
    assert fn["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "ItemsTable"}
    subs = template["Resources"]["Flow"]["Properties"]["DefinitionSubstitutions"]
    assert subs["ItemsTableArn"] == {"Fn::GetAtt": ["ItemsTable", "Arn"]}
    assert subs["Greeting"] == {"Fn::Sub": "hello-${Stage}"}
    assert type(template["Resources"]) is dict


def test_load_template_rejects_non_templates(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("just: a mapping\n")
    with pytest.raises(TemplateError):
        load_template(bad)


def test_create_tables_mirrors_the_template(project: Path, aws) -> None:
    ddb, _ = aws
    assert create_tables(ddb, load_template(project)) == {"ItemsTable": "ItemsTable", "OtherTable": "OtherTable"}
    items = ddb.describe_table(TableName="ItemsTable")["Table"]
    assert items["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert items["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (gsi,) = items["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "byEntity"
    assert gsi["KeySchema"] == [
        {"AttributeName": "entity", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    ttl = ddb.describe_time_to_live(TableName="ItemsTable")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    other = ddb.describe_table(TableName="OtherTable")["Table"]
    assert other["AttributeDefinitions"] == [{"AttributeName": "code", "AttributeType": "N"}]


def test_create_tables_is_idempotent(project: Path, aws) -> None:
    ddb, _ = aws
    template = load_template(project)
    create_tables(ddb, template)
    ddb.put_item(TableName="ItemsTable", Item={"pk": {"S": "kept"}})
    create_tables(ddb, template)
    assert ddb.get_item(TableName="ItemsTable", Key={"pk": {"S": "kept"}})["Item"]


def test_state_machine_substitutions(project: Path) -> None:
    (spec,) = state_machine_definitions(load_template(project), project.parent).values()
    definition = json.loads(spec["definition"])
    assert spec["type"] == "EXPRESS"
    assert definition["States"]["Get"]["Parameters"]["TableName"] == "ItemsTable"
    assert definition["Comment"] == "hello-dev reads arn:aws:dynamodb:us-east-1:123456789012:table/ItemsTable"
    (spec,) = state_machine_definitions(load_template(project), project.parent, {"Stage": "prod"}).values()
    assert json.loads(spec["definition"])["Comment"].startswith("hello-prod ")


def test_create_state_machines(project: Path, aws) -> None:
    _, sfn = aws
    arns = create_state_machines(sfn, load_template(project), project.parent)
    assert arns == {"Flow": "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"}
    described = sfn.describe_state_machine(stateMachineArn=arns["Flow"])
    assert described["type"] == "EXPRESS"
    assert "${" not in described["definition"]
    # again: updated in place, same ARN
    assert create_state_machines(sfn, load_template(project), project.parent) == arns


def _with_substitutions(project: Path, **subs: object) -> dict:
    template = load_template(project)
    template["Resources"]["Flow"]["Properties"]["DefinitionSubstitutions"] = subs
    return template


def test_unresolvable_substitution_fails_loudly(project: Path) -> None:
    template = _with_substitutions(project, ItemsTable={"Fn::ImportValue": "x"}, ItemsTableArn="a", Greeting="g")
    with pytest.raises(TemplateError, match=r"DefinitionSubstitutions.ItemsTable.*Fn::ImportValue"):
        state_machine_definitions(template, project.parent)
    template = _with_substitutions(project, ItemsTable={"Ref": "Nope"}, ItemsTableArn="a", Greeting="g")
    with pytest.raises(TemplateError, match="Nope"):
        state_machine_definitions(template, project.parent)


def test_placeholder_without_substitution_fails_loudly(project: Path) -> None:
    template = _with_substitutions(project, ItemsTable={"Ref": "ItemsTable"})
    with pytest.raises(TemplateError, match=r"Greeting.*ItemsTableArn|ItemsTableArn"):
        state_machine_definitions(template, project.parent)


def test_missing_definition_file_fails_loudly(project: Path) -> None:
    (project.parent / "statemachines/flow.asl.json").unlink()
    with pytest.raises(TemplateError, match="does not exist"):
        state_machine_definitions(load_template(project), project.parent)


def test_real_template(aws) -> None:
    """The project's own template.yaml: every table and workflow is creatable."""
    ddb, sfn = aws
    template = load_template(ROOT / "template.yaml")
    declared = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"]
    assert sorted(create_tables(ddb, template)) == sorted(declared)
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(declared)
    machines = create_state_machines(sfn, template, ROOT)
    declared_sm = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::StateMachine"]
    assert sorted(machines) == sorted(declared_sm)
