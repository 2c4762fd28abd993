"""Every class that talks to AWS uses the one shared client for its settings' endpoint and region
(sales_common.aws), created on first use; none holds its own. No AWS call is made."""

from __future__ import annotations

from customers.repository import CustomerStore
from orders.catalog import Catalog
from orders.compensation import StockReleaser
from orders.repository import OrderStore
from orders.settings import PlacementSettings
from orders.workflow import PlacementWorkflow
from products.repository import ProductStore
from sales_common import aws

SETTINGS = PlacementSettings(
    TABLE_NAME="OrdersTable",
    PRODUCTS_TABLE_NAME="ProductsTable",
    PLACE_ORDER_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:PlaceOrder",
    IDEMPOTENCY_TABLE_NAME="IdempotencyTable",
    AWS_REGION="us-east-1",
    AWS_ENDPOINT_URL="http://127.0.0.1:1",
)


def test_the_stores_and_the_catalog_share_one_dynamodb_client():
    shared = aws.dynamodb(SETTINGS)
    users = [ProductStore(SETTINGS), CustomerStore(SETTINGS), OrderStore(SETTINGS), Catalog(SETTINGS)]

    assert all(user.client is shared for user in users)
    assert StockReleaser(SETTINGS).client is shared


def test_the_workflow_client_is_the_shared_step_functions_client():
    assert PlacementWorkflow(SETTINGS).client is aws.stepfunctions(SETTINGS)


def test_another_endpoint_or_region_gets_its_own_client():
    elsewhere = SETTINGS.model_copy(update={"AWS_ENDPOINT_URL": "http://127.0.0.1:2"})
    other_region = SETTINGS.model_copy(update={"AWS_REGION": "eu-west-1"})

    assert aws.dynamodb(elsewhere) is not aws.dynamodb(SETTINGS)
    assert aws.dynamodb(other_region) is not aws.dynamodb(SETTINGS)
    assert aws.dynamodb(elsewhere).meta.endpoint_url == "http://127.0.0.1:2"
