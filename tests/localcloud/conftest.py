"""Fixtures for the local cloud's own tests: a throwaway SAM project written to tmp."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.13
    CodeUri: functions/
    Timeout: 10
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        STAGE: !Ref Stage
        AWS_ENDPOINT_URL: ""
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared/, CompatibleRuntimes: [python3.13]}
  Api:
    Type: AWS::Serverless::HttpApi
  ItemsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: entity, AttributeType: S}
        - {AttributeName: id, AttributeType: N}
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byEntity
          KeySchema: [{AttributeName: entity, KeyType: HASH}, {AttributeName: id, KeyType: RANGE}]
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
  OtherTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: code, AttributeType: N}]
      KeySchema: [{AttributeName: code, KeyType: HASH}]
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      DefinitionUri: statemachines/flow.asl.json
      DefinitionSubstitutions:
        ItemsTable: !Ref ItemsTable
        ItemsTableArn: !GetAtt ItemsTable.Arn
        Greeting: !Sub "hello-${Stage}"
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: svc.handlers.items.handler
      Environment:
        Variables:
          TABLE_NAME: !Ref ItemsTable
          FLOW_ARN: !Ref Flow
          WHO: items
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/api/items/{id}", Method: GET}}
        Put: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/items, Method: POST}}
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: svc.handlers.other.handler
      Environment:
        Variables:
          TABLE_NAME: !Ref OtherTable
          WHO: other
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/other, Method: GET}}
        Boom: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/boom, Method: GET}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: svc.handlers.other.handler
      Timeout: 1
      Environment:
        Variables:
          TABLE_NAME: !Ref OtherTable
          WHO: slow
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/slow, Method: GET}}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: svc.handlers.broken.handler
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /api/broken, Method: GET}}
"""

FLOW = {
    "Comment": "${Greeting} reads ${ItemsTableArn}",
    "StartAt": "Get",
    "States": {
        "Get": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "${ItemsTable}", "Key": {"pk": {"S.$": "$.id"}}},
            "ResultPath": "$.got",
            "Next": "Found?",
        },
        "Found?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.got.Item", "IsPresent": True, "Next": "Done"}],
            "Default": "Missing",
        },
        "Done": {"Type": "Pass", "Parameters": {"id.$": "$.id", "name.$": "$.got.Item.name.S"}, "End": True},
        "Missing": {"Type": "Fail", "Error": "ItemNotFound", "Cause": "no such item"},
    },
}

SETTINGS = """
import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    flow_arn: str
    who: str


def get_settings():
    # read per call, cache keyed on the values: no cross-talk between functions
    return _settings(os.environ.get("TABLE_NAME", ""), os.environ.get("FLOW_ARN", ""), os.environ.get("WHO", ""))


@lru_cache(maxsize=32)
def _settings(*values):
    return Settings(*values)


_clients = {}


def client(name):
    import boto3

    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]
"""

ITEMS = """
import json
import os
import time

from common.settings import client, get_settings


def handler(event, context):
    s = get_settings()
    if event["requestContext"]["http"]["method"] == "POST":
        body = json.loads(event["body"])
        client("dynamodb").put_item(TableName=s.table_name, Item={"pk": {"S": body["id"]}, "name": {"S": body["name"]}})
        return {"statusCode": 201, "body": json.dumps({"table": s.table_name})}
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    res = client("stepfunctions").start_sync_execution(
        stateMachineArn=s.flow_arn, input=json.dumps({"id": event["pathParameters"]["id"]})
    )
    return {
        "statusCode": 200,
        "body": json.dumps({
            "who": s.who, "env_who": os.environ["WHO"], "table": s.table_name, "status": res["status"],
            "output": json.loads(res.get("output") or "null"), "error": res.get("error"),
            "function": context.function_name, "stage": os.environ.get("STAGE"),
        }),
    }
"""

OTHER = """
import json
import os
import time
from decimal import Decimal

from common.settings import get_settings

VERSION = 1


def handler(event, context):
    if event["rawPath"].endswith("boom"):
        raise RuntimeError("secret internal detail")
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    s = get_settings()
    return {"statusCode": 200, "body": json.dumps({
        "who": s.who, "env_who": os.environ["WHO"], "table": s.table_name, "version": VERSION,
        "extra": os.environ.get("EXTRA"), "pid": os.getpid(), "env": dict(os.environ),
        "price": Decimal("9.50"), "left_ms": context.get_remaining_time_in_millis(),
    }, default=float)}
"""

BROKEN = """
raise ImportError("this module cannot be loaded")
"""


def write_project(root: Path) -> Path:
    """A minimal SAM project (template, two functions, a layer, an Express workflow)."""
    (root / "functions/svc/handlers").mkdir(parents=True)
    (root / "layers/shared/common").mkdir(parents=True)
    (root / "statemachines").mkdir()
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "statemachines/flow.asl.json").write_text(json.dumps(FLOW, indent=1))
    for init in ("functions/svc/__init__.py", "functions/svc/handlers/__init__.py", "layers/shared/common/__init__.py"):
        (root / init).write_text("")
    (root / "layers/shared/common/settings.py").write_text(textwrap.dedent(SETTINGS))
    (root / "functions/svc/handlers/items.py").write_text(textwrap.dedent(ITEMS))
    (root / "functions/svc/handlers/other.py").write_text(textwrap.dedent(OTHER))
    (root / "functions/svc/handlers/broken.py").write_text(textwrap.dedent(BROKEN))
    return root / "template.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


@pytest.fixture(scope="module")
def module_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("proj"))
