"""`make capacity` (tools/capacity.py): the writes it records come from the emulator and fall on
exactly the indexes and key attributes template.yaml declares; the model's figure follows from them."""

from __future__ import annotations

import re

import pytest

from tests.support.apigw import template
from tools import capacity

pytestmark = pytest.mark.slow  # two fresh emulated accounts and a few placements: ~20 s


@pytest.fixture(scope="module")
def measured():
    printed: list[str] = []
    report, recorder = capacity.measure(orders=2, lines=3, out=printed.append)
    return report, recorder, printed


def _template_indexes() -> dict[tuple[str, str], tuple[str, ...]]:
    out = {}
    for logical, table in template().resources("AWS::DynamoDB::Table").items():
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            out[(logical, index["IndexName"])] = tuple(k["AttributeName"] for k in index["KeySchema"])
    return out


def test_the_recorded_writes_fall_on_the_templates_key_schemas(measured):
    report, recorder, _ = measured
    declared = _template_indexes()
    assert recorder.schemas  # the emulator's indexes were seen
    for where, keys in recorder.schemas.items():
        assert declared[where] == keys, where
    tables = set(template().resources("AWS::DynamoDB::Table"))
    for mix in report["mixes"].values():
        for entry in mix["writes_per_order"]:
            assert entry["table"] in tables
            assert entry["index"] is None or (entry["table"], entry["index"]) in declared
    # every order lands once on the Orders table's id-sorted and time-sorted lists, in one of
    # their shards ("order#07"), never on one key for all orders (ADR 0040)
    many = {
        (e["table"], e["index"], e["key"]): e["writes_per_order"]
        for e in report["mixes"]["many_users"]["writes_per_order"]
    }
    one = {
        (e["table"], e["index"], e["key"]): e["writes_per_order"]
        for e in report["mixes"]["one_account"]["writes_per_order"]
    }
    for index in ("byEntity", "byDate"):
        keys = [k for k in many if k[:2] == ("OrdersTable", index)]
        assert keys and all(re.fullmatch(r"order#\d\d", k[2]) for k in keys), keys
        assert sum(many[k] for k in keys) == 1
    creator = [k for k in one if k[:2] == ("OrdersTable", "byCreator")]
    assert creator and all(re.fullmatch(r"storefront#\d\d", k[2]) for k in creator)  # the one account's shards
    assert sum(one[k] for k in creator) == 1
    assert not [k for k in many if k[2].startswith("storefront")]
    holds = [k for k in many if k[:2] == ("OrdersTable", "pendingHolds")]
    assert holds and all(re.fullmatch(r"HOLDS#\d\d", k[2]) for k in holds)
    # the storefront is allowed 10,000 orders a second: its quota is split over bucket items
    quota = [k for k in one if k[0] == "OrderQuotaTable"]
    assert quota and all(re.fullmatch(r"ORDERS#storefront#\d\d", k[2]) for k in quota)
    assert report["parameters"]["IdBlockSize"] == "100"  # production's id blocks (samconfig.toml)
    # reservations and releases change stock, reference marks change no listed attribute: the
    # product and customer lists project keys only, so placing orders writes none of them (ADR 0039)
    for mix in (many, one):
        assert not [k for k in mix if k[0] in {"ProductsTable", "CustomersTable"} and k[1] is not None]


def test_the_figure_is_the_hottest_partitions_limit(measured):
    report, _, printed = measured
    for mix in report["mixes"].values():
        hottest = max(e["writes_per_order"] for e in mix["writes_per_order"])
        assert mix["orders_per_second"] <= round(capacity.WCU_PER_PARTITION / hottest)
    assert report["orders_per_second"] == min(m["orders_per_second"] for m in report["mixes"].values())
    assert report["hottest"][0]["writes_per_order"] == max(
        e["writes_per_order"] for m in report["mixes"].values() for e in m["writes_per_order"]
    )
    assert set(report["hottest"][0]) == {"table", "index", "key", "writes_per_order"}
    assert any("orders/s" in line for line in printed)
