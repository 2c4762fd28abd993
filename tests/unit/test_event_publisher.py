"""Publishing with PutEvents (events.publisher), against EventBridge's answers as botocore's
Stubber plays them: partial failures, whole-request failures, limits. No AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from botocore.stub import Stubber

from events.mapping import Change
from events.publisher import MAX_ENTRIES, Publisher, entry_size
from events.settings import PublisherSettings
from sales_common import aws

BUS = "sales-events-test"
SETTINGS = PublisherSettings(EVENT_BUS_NAME=BUS, AWS_REGION="us-east-1", PUT_EVENTS_BACKOFF_SECONDS=0.01)


def created(product_id: int, version: int = 1) -> Change:
    image = {
        "pk": f"PRODUCT#{product_id}",
        "entity": "product",
        "id": Decimal(product_id),
        "version": Decimal(version),
        "name": f"p{product_id} v{version}",
        "price": Decimal(1),
        "stock": Decimal(50),
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": f"2026-12-01T09:00:{version:02}.000Z",
    }
    old = {**image, "version": Decimal(version - 1), "name": "before"} if version > 1 else None
    return Change("ProductsTable", "MODIFY" if old else "INSERT", image["pk"], old, image, datetime.now(UTC))


def stream(*changes: Change) -> list[tuple[str, Change | Exception]]:
    return [(str(100 + i), change) for i, change in enumerate(changes)]


@pytest.fixture
def stubbed():
    client = aws.events(SETTINGS)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def slept():
    return []


@pytest.fixture
def publisher(slept):
    return Publisher(SETTINGS, sleep=slept.append)


def entries_of(publisher: Publisher, changes: list[tuple[str, Change | Exception]], *indexes: int):
    from events.mapping import events_of

    return [publisher.entry(events_of(changes[i][1])[0]) for i in indexes]  # type: ignore[arg-type]


def ok(n: int) -> dict:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(n)]}


def test_only_the_entries_eventbridge_refused_are_sent_again(stubbed, publisher, slept):
    changes = stream(created(1), created(2), created(3))
    stubbed.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [
                {"EventId": "e1"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"EventId": "e3"},
            ],
        },
        {"Entries": entries_of(publisher, changes, 0, 1, 2)},
    )
    stubbed.add_response("put_events", ok(1), {"Entries": entries_of(publisher, changes, 1)})

    outcome = publisher.publish(changes)

    assert outcome.failed == []
    assert [e.detail.data.id for e in outcome.published] == [1, 3, 2]
    assert len(slept) == 1  # one backoff before the retry


def test_an_entry_refused_every_time_is_reported_and_holds_back_its_entitys_later_changes(stubbed, publisher, slept):
    changes = stream(created(1), created(2), created(1, version=2), created(3))
    refused = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
    stubbed.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [refused, {"EventId": "e2"}]},
        {"Entries": entries_of(publisher, changes, 0, 1)},
    )
    for _ in range(SETTINGS.PUT_EVENTS_ATTEMPTS - 1):
        stubbed.add_response(
            "put_events", {"FailedEntryCount": 1, "Entries": [refused]}, {"Entries": entries_of(publisher, changes, 0)}
        )
    stubbed.add_response("put_events", ok(1), {"Entries": entries_of(publisher, changes, 3)})  # product 1 v2: held

    outcome = publisher.publish(changes)

    assert outcome.failed == ["100", "102"]  # product 1's change, and its later one, for the mapping to retry
    assert "InternalFailure: try again" in outcome.errors["100"]
    assert [e.detail.data.id for e in outcome.published] == [2, 3]
    assert len(slept) == SETTINGS.PUT_EVENTS_ATTEMPTS - 1
    assert slept == sorted(slept) and slept[-1] <= SETTINGS.PUT_EVENTS_BACKOFF_SECONDS * 4


def test_a_request_that_fails_as_a_whole_counts_for_every_entry(stubbed, publisher):
    changes = stream(created(1), created(2))
    stubbed.add_client_error("put_events", "ThrottlingException", "Rate exceeded")
    stubbed.add_response("put_events", ok(2), {"Entries": entries_of(publisher, changes, 0, 1)})
    outcome = publisher.publish(changes)
    assert (outcome.failed, len(outcome.published)) == ([], 2)


def test_a_request_never_holds_more_than_ten_entries(stubbed, publisher):
    changes = stream(*[created(i) for i in range(1, 13)], created(1, version=2))
    stubbed.add_response("put_events", ok(10), {"Entries": entries_of(publisher, changes, *range(10))})
    # product 1's second change may go now: its first was accepted
    stubbed.add_response("put_events", ok(3), {"Entries": entries_of(publisher, changes, 10, 11, 12)})
    outcome = publisher.publish(changes)
    assert len(outcome.published) == 13 and MAX_ENTRIES == 10


def test_the_next_event_of_an_entity_waits_until_the_bus_accepted_the_previous_one(stubbed, publisher):
    changes = stream(created(1), created(2), created(1, version=2), created(1, version=3))
    stubbed.add_response("put_events", ok(2), {"Entries": entries_of(publisher, changes, 0, 1)})
    stubbed.add_response("put_events", ok(1), {"Entries": entries_of(publisher, changes, 2)})
    stubbed.add_response("put_events", ok(1), {"Entries": entries_of(publisher, changes, 3)})
    outcome = publisher.publish(changes)
    assert [(e.detail.data.id, e.detail.version) for e in outcome.published] == [(1, 1), (2, 1), (1, 2), (1, 3)]


def test_a_change_that_cannot_be_read_is_reported_and_the_others_published(stubbed, publisher):
    changes = [("100", ValueError("not a DynamoDB stream record")), *stream(created(2))[:1]]
    changes[1] = ("101", changes[1][1])
    stubbed.add_response("put_events", ok(1))
    outcome = publisher.publish(changes)
    assert outcome.failed == ["100"] and outcome.errors["100"] == "not a DynamoDB stream record"
    assert len(outcome.published) == 1


def test_an_answer_that_does_not_match_the_entries_is_a_failure(stubbed, publisher):
    changes = stream(created(1))
    for _ in range(SETTINGS.PUT_EVENTS_ATTEMPTS):
        stubbed.add_response("put_events", {"FailedEntryCount": 0, "Entries": []})
    outcome = publisher.publish(changes)
    assert outcome.failed == ["100"] and "MissingAnswer" in outcome.errors["100"]


def test_entries_go_to_the_bus_with_the_change_time():
    from events.mapping import events_of

    (event,) = events_of(created(1))
    entry = Publisher(SETTINGS).entry(event)
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == (BUS, "sales.products", "ProductCreated")
    assert entry["Time"] == datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC)
    assert entry_size(entry) == 14 + sum(
        len(entry[k].encode()) for k in ("Source", "DetailType", "Detail", "EventBusName")
    )


def test_a_request_stays_within_the_size_limit(stubbed, publisher, monkeypatch):
    from events import publisher as module

    changes = stream(created(1), created(2), created(3))
    one = entry_size(entries_of(publisher, changes, 0)[0])
    monkeypatch.setattr(module, "MAX_REQUEST_BYTES", 2 * one + 10)
    stubbed.add_response("put_events", ok(2), {"Entries": entries_of(publisher, changes, 0, 1)})
    stubbed.add_response("put_events", ok(1), {"Entries": entries_of(publisher, changes, 2)})
    assert len(publisher.publish(changes).published) == 3
