"""A client generated from docs/openapi.json with openapi-python-client has short, readable
names (`create_order`, not `create_order_api_orders_post`) and places an order on the local cloud."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud import openapi

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "sales_api_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    if not GENERATOR.exists() and shutil.which("openapi-python-client") is None:
        pytest.fail("openapi-python-client is not installed (it is a dev dependency: make install)")
    out = tmp_path_factory.mktemp("client")
    config = out / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    done = subprocess.run(
        [str(GENERATOR if GENERATOR.exists() else "openapi-python-client"), "generate",
         "--path", str(openapi.COMMITTED), "--meta", "none", "--output-path", str(out / PACKAGE),
         "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generated_client_has_short_names(client_package):
    api = Path(client_package.__file__).parent / "api"
    names = {p.stem for p in api.glob("*/*.py") if p.stem != "__init__"}
    assert names == {
        "list_products", "get_product", "create_product", "update_product", "delete_product", "adjust_stock",
        "list_stock_adjustments",
        "list_customers", "get_customer", "create_customer", "update_customer", "delete_customer", "erase_customer",
        "list_orders", "get_order", "create_order", "update_order", "delete_order",
        "sales_report", "low_stock_report",
        "get_me",
    }  # fmt: skip


def test_the_generated_client_places_an_order(client_package, local_cloud):
    pkg = client_package.__name__
    models = importlib.import_module(f"{pkg}.models")
    create_product = importlib.import_module(f"{pkg}.api.products.create_product")
    get_product = importlib.import_module(f"{pkg}.api.products.get_product")
    create_customer = importlib.import_module(f"{pkg}.api.customers.create_customer")
    create_order = importlib.import_module(f"{pkg}.api.orders.create_order")
    get_order = importlib.import_module(f"{pkg}.api.orders.get_order")

    client = client_package.AuthenticatedClient
    with (
        client(base_url=local_cloud.api_url, token=local_cloud.token("sales")) as sales,
        client(base_url=local_cloud.api_url, token=local_cloud.token("admin")) as admin,
    ):
        product = create_product.sync(client=admin, body=models.ProductCreate(name="Client lamp", price=12.5, stock=4))
        assert isinstance(product, models.Product), product
        customer = create_customer.sync(
            client=sales, body=models.CustomerCreate(name="Client", email=f"client-{product.id}@example.com")
        )
        assert isinstance(customer, models.Customer), customer

        order = create_order.sync(
            client=sales,
            body=models.OrderCreate(
                customer_id=customer.id, items=[models.OrderItemIn(product_id=product.id, quantity=3)]
            ),
            idempotency_key=f"client-{product.id}",
        )
        assert isinstance(order, models.Order), order
        assert order.status == models.OrderStatus.CONFIRMED
        assert order.total == 37.5
        assert get_order.sync(client=sales, id=order.id).id == order.id
        assert get_product.sync(client=sales, id=product.id).stock == 1

        refused = create_order.sync_detailed(
            client=sales,
            body=models.OrderCreate(
                customer_id=customer.id, items=[models.OrderItemIn(product_id=product.id, quantity=2)]
            ),
        )
        assert refused.status_code == 409 and isinstance(refused.parsed, models.Problem)
