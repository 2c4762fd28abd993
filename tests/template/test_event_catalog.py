"""The event catalogue (docs/events/): generated from the event models, a valid AsyncAPI 3.0
document and JSON Schemas, and strict enough that drift either way fails (tests/support/catalog.py
checks every event the suite publishes with it)."""

from __future__ import annotations

import json
import shutil
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from events.mapping import Change, events_of
from events.models import CATALOGUE
from localcloud import event_catalog
from tests.support import catalog

DOCS = Path(event_catalog.COMMITTED)


def test_the_committed_catalogue_is_what_the_code_generates():
    assert event_catalog.stale() == [], "stale: run `make events-catalog`"


def test_stale_files_and_files_the_catalogue_does_not_have_are_reported(tmp_path):
    copy = tmp_path / "events"
    shutil.copytree(DOCS, copy)
    (copy / "StockLow.schema.json").write_text("{}\n")
    (copy / "Retired.schema.json").write_text("{}\n")
    problems = event_catalog.stale(copy)
    assert any("committed StockLow.schema.json" in p for p in problems)
    assert any(p.startswith("Retired.schema.json: in") for p in problems)
    assert event_catalog.main(["--check", "--output", str(copy)]) == 1
    assert event_catalog.main(["--write", "--output", str(copy)]) == 0
    assert event_catalog.stale(copy) == []


def test_asyncapi_is_a_valid_asyncapi_3_document_listing_every_detail_type():
    from asyncapi3 import AsyncAPI3

    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AsyncAPI3.model_validate(document)
    assert document["asyncapi"] == "3.0.0"
    messages = document["components"]["messages"]
    assert sorted(messages) == sorted(m.detail_type() for m in CATALOGUE)
    for model in CATALOGUE:
        (channel,) = [c for c in document["channels"].values() if model.detail_type() in c["messages"]]
        assert channel["address"] == model.source
        payload = messages[model.detail_type()]["payload"]["properties"]
        assert payload["source"]["const"] == model.source and payload["detail-type"]["const"] == model.detail_type()


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _pointer(document, pointer):
    for part in pointer.lstrip("#/").split("/"):
        document = document[part]
    return document


def test_every_reference_resolves():
    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    for ref in _refs(document):
        if ref.startswith("#"):
            _pointer(document, ref)
        else:
            assert (DOCS / ref).is_file(), ref
    for path in DOCS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        for ref in _refs(schema):
            _pointer(schema, ref)


# ---------------------------------------------------------------- drift either way fails
def product_detail():
    image = {
        "pk": "PRODUCT#1",
        "entity": "product",
        "id": Decimal(1),
        "version": Decimal(1),
        "name": "Laptop",
        "price": Decimal("9.5"),
        "stock": Decimal(3),
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": "2026-12-01T09:00:00.000Z",
    }
    (event,) = events_of(Change("ProductsTable", "INSERT", "PRODUCT#1", None, image, datetime.now(UTC)))
    return json.loads(event.detail_json())


def test_an_event_as_the_code_builds_it_matches():
    assert catalog.problems("sales.products", "ProductCreated", product_detail()) == []


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        (lambda d: d.update(extra=1), "Additional properties are not allowed ('extra' was unexpected)"),
        (lambda d: d["data"].update(colour="red"), "Additional properties are not allowed ('colour' was unexpected)"),
        (lambda d: d.pop("actor"), "'actor' is a required property"),
        (lambda d: d["data"].pop("lowStockThreshold"), "'lowStockThreshold' is a required property"),
        (lambda d: d.update(version="1"), "'1' is not of type 'integer'"),
        (lambda d: d["data"].update(price="9.50"), "'9.50' is not of type 'number'"),
        (lambda d: d.update(eventId="not-a-uuid"), "is not a 'uuid'"),
    ],
    ids=["extra-field", "extra-data-field", "missing-field", "missing-data-field", "type", "data-type", "format"],
)
def test_a_field_or_type_the_catalogue_does_not_list_fails(drift, message):
    detail = product_detail()
    drift(detail)
    problems = catalog.problems("sales.products", "ProductCreated", detail)
    assert any(message in p for p in problems), problems


def test_an_unknown_detail_type_or_another_source_fails():
    assert catalog.problems("sales.products", "ProductRenamed", product_detail()) == [
        f"ProductRenamed: no such detail type in {catalog.CATALOGUE}"
    ]
    assert catalog.problems("sales.orders", "ProductCreated", product_detail())[0].startswith("ProductCreated: source")
    assert catalog.entry_problems({"Source": "sales.products", "DetailType": "ProductCreated", "Detail": "{"}) == [
        "ProductCreated: Detail is not JSON"
    ]
