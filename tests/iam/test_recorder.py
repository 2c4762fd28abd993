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


# ---------------------------------------------------------------- key prefixes (dynamodb:LeadingKeys)
def _keys(calls):
    return [(c.action, c.keys.get(iam.LEADING_KEYS)) for c in calls]


def test_item_requests_record_their_partition_key():
    get = iam.calls_of("F", "dynamodb", "GetItem", {"TableName": "ProductsTable", "Key": {"pk": {"S": "PRODUCT#7"}}})
    put = iam.calls_of("F", "dynamodb", "PutItem", {"TableName": "OrdersTable", "Item": {"pk": {"S": "ORDER#1"}}})
    # the Reports table's key has a sort key too: only the partition key leads
    update = iam.calls_of(
        "F",
        "dynamodb",
        "UpdateItem",
        {"TableName": "ReportsTable", "Key": {"pk": {"S": "SALES#DAY#2026-12"}, "sk": {"S": "x"}}},
    )
    assert _keys(get + put + update) == [
        ("dynamodb:GetItem", ["PRODUCT#7"]),
        ("dynamodb:PutItem", ["ORDER#1"]),
        ("dynamodb:UpdateItem", ["SALES#DAY#2026-12"]),
    ]


def test_batches_and_transactions_record_each_item_key():
    batch = iam.calls_of(
        "F",
        "dynamodb",
        "BatchGetItem",
        {"RequestItems": {"ProductsTable": {"Keys": [{"pk": {"S": "PRODUCT#1"}}, {"pk": {"S": "PRODUCT#2"}}]}}},
    )
    writes = iam.calls_of(
        "F",
        "dynamodb",
        "BatchWriteItem",
        {
            "RequestItems": {
                "CustomersTable": [
                    {"PutRequest": {"Item": {"pk": {"S": "CUSTOMER#1"}, "name": {"S": "A"}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "EMAIL#a@example.com"}}}},
                ]
            }
        },
    )
    transaction = iam.calls_of(
        "F",
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "CustomersTable", "Item": {"pk": {"S": "EMAIL#b@example.com"}}}},
                {"ConditionCheck": {"TableName": "CustomersTable", "Key": {"pk": {"S": "EMAIL#B@example.com"}}}},
            ]
        },
    )
    assert _keys(batch + writes + transaction) == [
        ("dynamodb:BatchGetItem", ["PRODUCT#1"]),
        ("dynamodb:BatchGetItem", ["PRODUCT#2"]),
        ("dynamodb:BatchWriteItem", ["CUSTOMER#1"]),
        ("dynamodb:BatchWriteItem", ["EMAIL#a@example.com"]),
        ("dynamodb:PutItem", ["EMAIL#b@example.com"]),
        ("dynamodb:ConditionCheckItem", ["EMAIL#B@example.com"]),
    ]


def test_a_table_query_records_its_partition_key_an_index_query_none():
    table = iam.calls_of(
        "F",
        "dynamodb",
        "Query",
        {
            "TableName": "ReportsTable",
            "KeyConditionExpression": "#p = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeNames": {"#p": "pk"},
            "ExpressionAttributeValues": {":pk": {"S": "SALES#DAY#2026-12"}, ":first": {"S": "a"}, ":last": {"S": "b"}},
        },
    )
    index = iam.calls_of(
        "F",
        "dynamodb",
        "Query",
        {
            "TableName": "ProductsTable",
            "IndexName": "byEntity",
            "KeyConditionExpression": "entity = :entity",
            "ExpressionAttributeValues": {":entity": {"S": "product"}},
        },
    )
    assert _keys(table) == [("dynamodb:Query", ["SALES#DAY#2026-12"])]
    # a key condition the recorder cannot read records a key no grant names: the check stays closed
    (odd,) = iam.calls_of("F", "dynamodb", "Query", {"TableName": "ReportsTable", "KeyConditionExpression": "sk = :s"})
    assert odd.keys[iam.LEADING_KEYS] == ["<not understood: sk = :s>"]
    assert index == [iam.Call("F", "dynamodb:Query", iam.table_arn("ProductsTable", "byEntity"))]


def test_a_call_outside_the_granted_key_prefixes_is_denied_where_it_happens():
    """In-process, as AWS would: GetProductFunction may read products, not the id counter."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # never reached: the refusal comes first
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # (not recorded: this deliberate call is no call of the code's, for the least-privilege check)
    with iam.acting_as("GetProductFunction", record=False), pytest.raises(ClientError) as refused:
        client.get_item(TableName="ProductsTable", Key={"pk": {"S": "COUNTER#PRODUCT"}})
    assert not [c for c in iam.recorded() if c.principal == "GetProductFunction" and "COUNTER#PRODUCT" in str(c)]
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "COUNTER#PRODUCT" in str(refused.value)
    # a key the grant names passes the check (and would go on to the endpoint)
    allowed = iam.calls_of(
        "GetProductFunction", "dynamodb", "GetItem", {"TableName": "ProductsTable", "Key": {"pk": {"S": "PRODUCT#1"}}}
    )
    iam._deny_outside_key_prefixes(allowed[0], "GetItem")


def _product_reads(*keys: str) -> set:
    return {
        iam.Call("GetProductFunction", "dynamodb:GetItem", iam.table_arn("ProductsTable"), ((iam.LEADING_KEYS, (k,)),))
        for k in keys
    }


def _read_product_statement(template):
    (policy,) = template.data["Resources"]["GetProductFunction"]["Properties"]["Policies"]
    (statement,) = policy["Statement"]
    return statement


def test_the_checker_refuses_a_key_outside_the_granted_prefixes():
    from tests.support.apigw import template as project

    t = project()
    report = iam.check(t, _product_reads("PRODUCT#1", "COUNTER#PRODUCT"))
    assert [c.keys[iam.LEADING_KEYS] for c in report.missing] == [["COUNTER#PRODUCT"]]


def test_the_checker_refuses_a_granted_prefix_no_call_used():
    from tests.support.apigw import template as project

    widened = project().variant()
    _read_product_statement(widened)["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append(
        "STOCKADJ#*"
    )
    report = iam.check(widened, _product_reads("PRODUCT#1", "COUNTER#PRODUCT", "STOCKADJ#1#a"))
    assert not [u for u in report.unused_keys if u.startswith("GetProductFunction")]  # each used: fine
    report = iam.check(widened, _product_reads("PRODUCT#1", "COUNTER#PRODUCT"))
    assert [u for u in report.unused_keys if "GetProductFunction" in u] == [
        "GetProductFunction Policies[0] inline ReadProduct: dynamodb:GetItem on STOCKADJ#*"
    ]


def test_the_checker_refuses_an_unlimited_grant_on_a_shared_table():
    from tests.support.apigw import template as project

    loose = project().variant()
    del _read_product_statement(loose)["Condition"]
    # the records show two kinds of item in the Products table: it is shared
    report = iam.check(loose, _product_reads("PRODUCT#1", "COUNTER#PRODUCT"))
    assert [u for u in report.unlimited if u.startswith("GetProductFunction")] == [
        f"GetProductFunction Policies[0] inline ReadProduct: ['dynamodb:GetItem'] on {iam.table_arn('ProductsTable')}"
        " (['COUNTER', 'PRODUCT'])"
    ]
    # a table of one kind of item needs no key prefixes
    assert not iam.check(loose, _product_reads("PRODUCT#1", "PRODUCT#2")).unlimited


def test_the_checker_refuses_key_prefixes_on_an_index_grant():
    from tests.support.apigw import template as project

    keyed = project().variant()
    (policy, _secret) = keyed.data["Resources"]["ListProductsFunction"]["Properties"]["Policies"]
    (query,) = [statement for statement in policy["Statement"] if statement["Sid"] == "QueryLists"]
    query["Condition"] = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["PRODUCT#*"]}}
    assert [m.split(":")[0] for m in iam.check(keyed, set()).misplaced] == [
        "ListProductsFunction Policies[0] inline QueryLists"
    ]


def test_key_prefixes_need_for_all_values():
    statement = iam.Statement(
        "F", (0, 0), "s", ["dynamodb:GetItem"], ["*"], {"StringLike": {iam.LEADING_KEYS: ["A#*"]}}
    )
    with pytest.raises(ValueError, match="ForAllValues"):
        iam.key_patterns(statement)
