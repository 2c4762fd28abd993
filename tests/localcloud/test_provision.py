"""template.yaml -> tables and state machines (localcloud.provision), in moto's decorator mode."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud.provision import create_state_machines, create_tables, state_machine_definitions
from localcloud.sam_template import SamTemplate, TemplateError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1"), boto3.client("stepfunctions", region_name="us-east-1")


def test_create_tables_mirrors_the_template(project: Path, aws) -> None:
    ddb, _ = aws
    assert create_tables(ddb, SamTemplate.load(project)) == {"ItemsTable": "ItemsTable", "OtherTable": "OtherTable"}
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
    template = SamTemplate.load(project)
    create_tables(ddb, template)
    ddb.put_item(TableName="ItemsTable", Item={"pk": {"S": "kept"}})
    create_tables(ddb, template)
    assert ddb.get_item(TableName="ItemsTable", Key={"pk": {"S": "kept"}})["Item"]


@pytest.mark.parametrize(
    "change",
    [
        {"BillingMode": "PROVISIONED"},
        {"LocalSecondaryIndexes": []},
    ],
    ids=["provisioned", "lsi"],
)
def test_table_features_the_emulator_does_not_provision_are_refused(project: Path, change: dict) -> None:
    template = SamTemplate.load(project)
    template.data["Resources"]["OtherTable"]["Properties"].update(change)
    with pytest.raises(TemplateError, match=r"Resources.OtherTable: .*not supported locally"):
        create_tables(None, template)


def test_state_machine_substitutions(project: Path) -> None:
    (spec,) = state_machine_definitions(SamTemplate.load(project)).values()
    definition = json.loads(spec["definition"])
    assert spec["type"] == "EXPRESS"
    assert definition["States"]["Get"]["Parameters"]["TableName"] == "ItemsTable"
    assert definition["Comment"] == "hello-dev reads arn:aws:dynamodb:us-east-1:123456789012:table/ItemsTable"
    (spec,) = state_machine_definitions(SamTemplate.load(project), {"Stage": "prod"}).values()
    assert json.loads(spec["definition"])["Comment"].startswith("hello-prod ")


def test_create_state_machines(project: Path, aws) -> None:
    _, sfn = aws
    arns = create_state_machines(sfn, SamTemplate.load(project))
    assert arns == {"Flow": "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"}
    described = sfn.describe_state_machine(stateMachineArn=arns["Flow"])
    assert described["type"] == "EXPRESS"
    assert "${" not in described["definition"]
    # again: updated in place, same ARN
    assert create_state_machines(sfn, SamTemplate.load(project)) == arns


def _with_substitutions(project: Path, **subs: object) -> SamTemplate:
    template = SamTemplate.load(project)
    template.data["Resources"]["Flow"]["Properties"]["DefinitionSubstitutions"] = subs
    return template


def test_unresolvable_substitution_fails_loudly(project: Path) -> None:
    template = _with_substitutions(project, ItemsTable={"Fn::ImportValue": "x"}, ItemsTableArn="a", Greeting="g")
    with pytest.raises(TemplateError, match=r"DefinitionSubstitutions.ItemsTable.*Fn::ImportValue"):
        state_machine_definitions(template)
    template = _with_substitutions(project, ItemsTable={"Ref": "Nope"}, ItemsTableArn="a", Greeting="g")
    with pytest.raises(TemplateError, match="Nope"):
        state_machine_definitions(template)


def test_placeholder_without_substitution_fails_loudly(project: Path) -> None:
    template = _with_substitutions(project, ItemsTable={"Ref": "ItemsTable"})
    with pytest.raises(TemplateError, match=r"Greeting.*ItemsTableArn|ItemsTableArn"):
        state_machine_definitions(template)


def test_missing_definition_file_fails_loudly(project: Path) -> None:
    (project.parent / "statemachines/flow.asl.json").unlink()
    with pytest.raises(TemplateError, match="does not exist"):
        state_machine_definitions(SamTemplate.load(project))


def test_real_template(aws) -> None:
    """The project's own template.yaml: every table and workflow is creatable."""
    ddb, sfn = aws
    template = SamTemplate.load(ROOT / "template.yaml")
    declared = list(template.resources("AWS::DynamoDB::Table"))
    assert sorted(create_tables(ddb, template)) == sorted(declared)
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(declared)
    machines = create_state_machines(sfn, template)
    declared_sm = list(template.resources("AWS::Serverless::StateMachine"))
    assert sorted(machines) == sorted(declared_sm)


def test_provision_creates_everything_the_template_declares_and_says_what() -> None:
    from localcloud.provision import provision

    template = SamTemplate.load(ROOT / "template.yaml")
    with mock_aws():
        clients: dict[str, object] = {}

        def client(service: str) -> object:
            return clients.setdefault(service, boto3.client(service, region_name="us-east-1"))

        made = provision(client, template, secret_values={"CursorSigningSecret": "kept"})
        assert sorted(made.tables) == sorted(template.resources("AWS::DynamoDB::Table"))
        assert sorted(made.queues) == sorted(template.resources("AWS::SQS::Queue"))
        assert made.secrets == {"CursorSigningSecret": "kept"}
        assert sorted(made.state_machines) == sorted(template.resources("AWS::Serverless::StateMachine"))
        assert set(made.user_pools) == {"UserPool", "UserPoolClient"}
        assert made.dev_users is not None and set(made.dev_users.users) == {"admin", "sales", "integration"}
        sqs = boto3.client("sqs", region_name="us-east-1")
        attributes = sqs.get_queue_attributes(QueueUrl=made.queues["CompensationQueue"], AttributeNames=["All"])
        assert "CompensationDeadLetterQueue" in attributes["Attributes"]["RedrivePolicy"]

        ddb, events = boto3.client("dynamodb", region_name="us-east-1"), boto3.client("events", region_name="us-east-1")
        streams = {
            name: ddb.describe_table(TableName=name)["Table"].get("StreamSpecification", {}).get("StreamViewType")
            for name in made.tables.values()
        }
        assert streams == {
            "ProductsTable": "NEW_AND_OLD_IMAGES",
            "CustomersTable": "NEW_AND_OLD_IMAGES",
            "OrdersTable": "NEW_AND_OLD_IMAGES",
            "IdempotencyTable": None,
            "OrderQuotaTable": None,  # the per-user order limit: no domain events
            "ReportsTable": None,  # the reports' projection: fed by the events, publishes none
        }
        assert made.event_buses == {"SalesEventBus": "sales-events-dev"}
        archive = events.describe_archive(ArchiveName="sales-events-dev")
        assert archive["EventSourceArn"].endswith(":event-bus/sales-events-dev")
        assert (archive["RetentionDays"], json.loads(archive["EventPattern"])) == (
            90,
            {"source": [{"prefix": "sales."}]},
        )

        without = provision(client, template, sign_in=False)  # again: idempotent, no pool
        assert without.tables == made.tables and without.state_machines == made.state_machines
        assert without.event_buses == made.event_buses
        assert (dict(without.user_pools), without.dev_users) == ({}, None)


def _with_rule(target_arn: object, **rule: object) -> SamTemplate:
    template = SamTemplate.load(ROOT / "template.yaml").variant()
    resources = template.data["Resources"]
    resources["RuleTestQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    resources["OrdersToReports"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventBusName": {"Ref": "SalesEventBus"},
            "EventPattern": {"source": ["sales.orders"], "detail-type": ["OrderPlaced"]},
            "Targets": [{"Id": "reports", "Arn": target_arn}],
            **rule,
        },
    }
    return template


def test_a_rule_on_the_bus_delivers_to_its_queue() -> None:
    """The pattern issue 22's consumers follow: rule -> SQS queue (-> function)."""
    from localcloud.provision import provision

    template = _with_rule({"Fn::GetAtt": ["RuleTestQueue", "Arn"]})
    with mock_aws():
        clients: dict[str, object] = {}

        def client(service: str) -> object:
            return clients.setdefault(service, boto3.client(service, region_name="us-east-1"))

        made = provision(client, template, sign_in=False)
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        bus = made.event_buses["SalesEventBus"]
        for detail_type in ("OrderPlaced", "OrderDeleted"):
            events.put_events(
                Entries=[{"Source": "sales.orders", "DetailType": detail_type, "Detail": "{}", "EventBusName": bus}]
            )
        messages = sqs.receive_message(QueueUrl=made.queues["RuleTestQueue"], MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["detail-type"] for m in messages] == ["OrderPlaced"]
        provision(client, template, sign_in=False)  # idempotent
        assert [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"] if r["Name"] == "OrdersToReports"]


@pytest.mark.parametrize(
    ("target", "rule", "message"),
    [
        ({"Fn::GetAtt": ["PublishEventsFunction", "Arn"]}, {}, "only SQS queue targets run locally"),
        ({"Fn::GetAtt": ["RuleTestQueue", "Arn"]}, {"ScheduleExpression": "rate(1 hour)"}, "scheduled rules"),
    ],
    ids=["function-target", "schedule"],
)
def test_rules_the_emulator_cannot_run_are_refused(target: object, rule: dict, message: str) -> None:
    from localcloud.provision import create_event_buses

    template = _with_rule(target, **rule)
    if "PublishEventsFunction" in str(target):
        template.data["Resources"]["OrdersToReports"]["Properties"]["Targets"][0]["Arn"] = (
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        )
    with mock_aws(), pytest.raises(TemplateError, match=message):
        create_event_buses(boto3.client("events", region_name="us-east-1"), template)
