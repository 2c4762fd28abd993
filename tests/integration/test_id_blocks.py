"""Id blocks (issue 23, docs/adr/0034): a container reserves ID_BLOCK_SIZE ids per counter update
and hands them out from memory; ids stay unique across containers and concurrent callers, and
the ids a container reserved but did not use are gaps."""

from __future__ import annotations

import threading

import pytest

from products.repository import ProductStore
from sales_common import dynamo
from sales_common.settings import ServiceSettings


@pytest.fixture
def store(cloud):
    def make(size: int) -> ProductStore:
        return ProductStore(ServiceSettings(TABLE_NAME=cloud.tables["ProductsTable"], ID_BLOCK_SIZE=size))

    return make


def counter(cloud) -> int:
    return int(cloud.item("ProductsTable", "COUNTER#PRODUCT")["lastId"])


def test_one_counter_update_reserves_a_block(cloud, store):
    products = store(10)
    assert [products.allocate_id() for _ in range(3)] == [1, 2, 3]
    assert counter(cloud) == 10  # one update for three ids
    assert [products.allocate_id() for _ in range(8)] == [4, 5, 6, 7, 8, 9, 10, 11]
    assert counter(cloud) == 20


def test_a_new_container_starts_a_new_block_and_leaves_a_gap(cloud, store):
    assert [store(10).allocate_id() for _ in range(2)] == [1, 2]
    dynamo.forget_id_blocks()  # the container ended: 3..10 are never used
    assert store(10).allocate_id() == 11


def test_concurrent_callers_never_share_an_id(cloud, store):
    products, got, lock = store(7), [], threading.Lock()

    def take() -> None:
        for _ in range(20):
            new = products.allocate_id()
            with lock:
                got.append(new)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 101))


def test_the_block_size_is_a_parameter_that_production_sets():
    import tomllib

    from tests.support.apigw import ROOT, functions, template

    assert template().function_globals["Environment"]["Variables"]["ID_BLOCK_SIZE"] == {"Ref": "IdBlockSize"}
    assert template().parameters["IdBlockSize"]["Default"] == 1
    create = next(fn for fn in functions() if fn.logical_id == "CreateProductFunction")
    assert create.resolved_environment({})["ID_BLOCK_SIZE"] == "1"  # the tests' and the local cloud's
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert "IdBlockSize=100" in config["prod"]["deploy"]["parameters"]["parameter_overrides"].split()
