"""The recorder and the checker themselves (run with the suite, no records needed)."""

from __future__ import annotations

import pytest

from tests.support import iam


def test_a_handler_call_is_recorded_with_function_action_and_resource(api):
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    api.get("/api/products")

    calls = iam.recorded()

    assert iam.Call("ListProductsFunction", "dynamodb:Query", iam.table_arn("ProductsTable", "byList")) in calls
    assert any(c.principal == "CreateProductFunction" and c.action == "dynamodb:PutItem" for c in calls)


def test_transactions_are_authorised_per_item():
    calls = iam.calls_of(
        "F",
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "A", "Item": {"pk": {"S": "x"}}}},
                {
                    "Update": {
                        "TableName": "B",
                        "Key": {"pk": {"S": "y"}},
                        "UpdateExpression": "SET #s = :v",
                        "ExpressionAttributeNames": {"#s": "stock"},
                    }
                },
            ]
        },
    )
    assert [(c.action, c.resource) for c in calls] == [
        ("dynamodb:PutItem", iam.table_arn("A")),
        ("dynamodb:UpdateItem", iam.table_arn("B")),
    ]
    assert calls[1].keys["dynamodb:Attributes"] == ["pk", "stock"]


def test_attribute_names_cover_key_update_and_condition():
    names = iam.attribute_names(
        {
            "Key": {"pk": {"S": "P#1"}},
            "UpdateExpression": "SET stock = stock + :q, updatedAt = :now REMOVE #hold ADD version :one",
            "ConditionExpression": "#hold = :q AND attribute_exists(pk)",
            "ExpressionAttributeNames": {"#hold": "hold_7"},
        }
    )
    assert names == ["hold_7", "pk", "stock", "updatedAt", "version"]


@pytest.mark.parametrize(
    ("condition", "keys", "expected"),
    [
        (
            {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "stock"]}},
            {"dynamodb:Attributes": ["pk"]},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk"]}},
            {"dynamodb:Attributes": ["pk", "name"]},
            False,
        ),
        ({"ForAllValues:StringLike": {"dynamodb:Attributes": ["hold_*"]}}, {"dynamodb:Attributes": ["hold_3"]}, True),
        ({"StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE"]}}, {}, True),
        ({"StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE"]}}, {"dynamodb:ReturnValues": "ALL_NEW"}, False),
        ({"StringEquals": {"aws:SourceVpc": "v"}}, {}, False),
    ],
)
def test_conditions(condition, keys, expected):
    assert iam.conditions_hold(condition, keys) is expected


def test_unknown_condition_operators_fail_closed():
    with pytest.raises(ValueError, match="not supported"):
        iam.conditions_hold({"NumericLessThan": {"dynamodb:Limit": "5"}}, {})


def test_iam_comments_attach_to_the_entry_or_statement_below():
    text = """Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        # iam: kept for the migration
        - DynamoDBCrudPolicy: { TableName: !Ref T }
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: "*"
            # iam: the service needs it
            - Sid: Logs
              Effect: Allow
  Other:
    Type: AWS::SQS::Queue
"""
    assert iam.iam_comments(text) == {("Fn", 0, None): "kept for the migration", ("Fn", 1, 1): "the service needs it"}
