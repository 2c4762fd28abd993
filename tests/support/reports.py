"""The reports' event path in-process, over the `cloud` fixture's moto: the tables' streams through
the local cloud's stream mappings and the publisher (tests/support/streams.py), the bus and the
template's `ReportsRule` (moto delivers rules to queues) to `ReportsQueue`, and its consumer,
`ProjectReportsFunction`, invoked as Lambda's SQS event source mapping would (tests/support/queues.py).

`sync()` runs all of it until nothing is left in flight; the report routes then read what the
projection holds. A test can also deliver any list of events to a table of its own (`fresh_table`,
`deliver`): the permutation and rebuild tests do."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from localcloud.event_sources import sqs_event
from localcloud.provision import table_definitions
from tests.support import apigw, iam, queues
from tests.support.streams import StreamMappings

QUEUE = "ReportsQueue"
PROJECTOR = "ProjectReportsFunction"
TABLE = "ReportsTable"


class EventPath:
    """API -> tables -> streams -> publisher -> bus -> rule -> queue -> projector, in-process."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.mappings = StreamMappings(cloud, cloud.refs)
        self.url = cloud.queues[QUEUE]
        self.delivered: list[dict[str, Any]] = []  # every event body the projector was given

    def sync(self, max_rounds: int = 50) -> list[dict[str, Any]]:
        """Publish what the streams hold and project everything the queue receives; the events
        projected in this call."""
        self.mappings.drain()
        start = len(self.delivered)
        for _ in range(max_rounds):
            messages = queues.receive(self.cloud.sqs, self.url)
            if not messages:
                return self.delivered[start:]
            self.delivered += queues.bodies(messages)
            result = queues.deliver(self.cloud.sqs, self.url, messages, QUEUE)
            assert not result["batchItemFailures"], result
        raise AssertionError(f"the reports queue did not drain in {max_rounds} rounds")


def fresh_table(cloud: Any) -> str:
    """A new, empty table shaped as template.yaml's ReportsTable; its name."""
    definition = dict(table_definitions(apigw.template())[TABLE])
    definition.pop("_ttl", None)
    definition["TableName"] = f"reports-{uuid.uuid4().hex[:12]}"
    cloud.dynamodb.create_table(**definition)
    return str(definition["TableName"])


def _invoke(fn: apigw.Function, event: dict[str, Any], table: str) -> dict[str, Any]:
    """`fn` against `table` instead of its own. Its calls are not recorded for the least-privilege
    check (tests/iam): the template grants them on ReportsTable, where other tests make the same."""
    with apigw.function_env(fn.resolved_environment({TABLE: table})), iam.acting_as(None):
        return apigw._handler(fn)(event, apigw.LambdaContext(fn.logical_id))  # type: ignore[no-any-return]


def deliver(table: str, events: Sequence[dict[str, Any]], batch_size: int = 10) -> list[dict[str, Any]]:
    """Give `events` (EventBridge events, as the queue's messages carry them) to the projector
    in batches, as the SQS event source would, against `table`; its answers."""
    fn = apigw.function(PROJECTOR)
    answers = []
    for start in range(0, len(events), batch_size):
        messages = [_message(e) for e in events[start : start + batch_size]]
        event = sqs_event(messages, f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}")
        answers.append(_invoke(fn, event, table))
    return answers


def _message(event: dict[str, Any]) -> dict[str, Any]:
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": json.dumps(event)}


def reports(table: str, queries: Iterable[str]) -> dict[str, Any]:
    """GET each report path (with its query) against `table`, as JSON; {path: body}."""
    out = {}
    for path in queries:
        route, _, query = path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&")) if query else None
        fn, _ = apigw.route("GET", route)
        reply = _invoke(fn, apigw.build_event(fn, route, {}, query=params), table)
        assert reply["statusCode"] == 200, reply
        out[path] = json.loads(reply["body"])
    return out


def row_of(cloud: Any, kind: str, entity_id: int, table: str = TABLE) -> dict[str, Any]:
    """The projection's row of an entity (ORDER, PRODUCT, CUSTOMER), as stored."""
    from sales_common.dynamo import from_item

    found = cloud.dynamodb.get_item(TableName=table, Key={"pk": {"S": f"{kind}#{entity_id}"}, "sk": {"S": "STATE"}})
    return from_item(found.get("Item", {}))
