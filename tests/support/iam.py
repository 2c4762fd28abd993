"""Least privilege, checked against what the code really calls.

Recording: a botocore ``before-parameter-build`` hook (added to botocore's built-in handlers, so
every session and client gets it, as moto's own stubber does) notes each AWS action a function
performs and on which resource, with the request's DynamoDB condition keys. The test harness
says which function runs (:func:`acting_as`); calls made by moto's Step Functions interpreter
are attributed to the template's state machine. Records are written per pytest process to
``$IAM_RECORDS_DIR`` and checked in a later step (``make test-pytest`` runs ``pytest -m iam`` after
the suite).

Checking: each function's ``Policies`` in template.yaml, with SAM policy templates expanded from
samtranslator's own ``policy_templates.json`` and intrinsics resolved as the local cloud does,
must allow every recorded call (IAM evaluation: Allow statements, Action/Resource wildcards,
the condition operators we use; anything else fails closed). Every granted write action must
have been used, unless the grant carries a ``# iam: <reason>`` comment on the line above it.

Key prefixes (docs/adr/0038): each item call also records its partition key as
``dynamodb:LeadingKeys``. On a table the records show holding more than one kind of item, every
item grant must name the key patterns it allows, and each pattern must have been used by each
action of its statement; an index grant names none. During the suite a call whose key is outside
its principal's patterns is refused at once, as AWS would refuse it.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import sam_template as tpl
from localcloud.provision import state_machine_definitions
from localcloud.sam_template import SamTemplate

RECORDS_ENV = "IAM_RECORDS_DIR"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_principal", default=None)
_recording: contextvars.ContextVar[bool] = contextvars.ContextVar("iam_recording", default=True)
_records: set[tuple[str, str, str, str]] = set()
_lock = threading.Lock()


@dataclass(frozen=True, order=True)
class Call:
    principal: str  # function or state machine logical id
    action: str  # e.g. dynamodb:UpdateItem
    resource: str  # ARN
    context: tuple[tuple[str, Any], ...] = ()  # IAM condition keys of the request

    @property
    def keys(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.context}

    def __str__(self) -> str:
        extra = f" {self.keys}" if self.context else ""
        return f"{self.principal}: {self.action} on {self.resource}{extra}"


# ---------------------------------------------------------------- recording
@contextlib.contextmanager
def acting_as(principal: str | None, record: bool = True) -> Iterator[None]:
    """Calls inside are `principal`'s; None: the test's own calls (not recorded), e.g. a fault
    a test injects from inside a handler invocation. `record=False`: the calls are checked against
    the key prefixes (and refused) as usual but not kept for the least-privilege check -- a test's
    deliberate call outside the grants, which the code never makes."""
    token, recording = _current.set(principal), _recording.set(record)
    try:
        yield
    finally:
        _recording.reset(recording)
        _current.reset(token)


def current_principal() -> str | None:
    """The function whose calls are being made (inside :func:`acting_as`), None for the test's own."""
    return _current.get()


def _state_machine_running() -> str | None:
    """The name of the state machine whose execution (moto's ASL interpreter) makes this call."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("moto.stepfunctions.parser.asl"):
            env = frame.f_locals.get("env")
            with contextlib.suppress(AttributeError, KeyError, TypeError):
                return str(env.states.context_object.context_object_data["StateMachine"]["Name"])  # type: ignore[union-attr]
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _hook(params: dict[str, Any], model: Any, **_: Any) -> None:
    principal = _current.get()
    if principal is None and (machine := _state_machine_running()) is not None:
        principal = WORKFLOW + machine
    if principal is None:
        return
    calls = calls_of(principal, model.service_model.signing_name, model.name, params)
    for call in calls if _recording.get() else ():
        with _lock:
            _records.add((call.principal, call.action, call.resource, json.dumps(call.context)))
    for call in calls:
        _deny_outside_key_prefixes(call, model.name)


def _deny_outside_key_prefixes(call: Call, operation: str) -> None:
    """What AWS does with a call whose item key is outside every key prefix the principal's grants
    name (dynamodb:LeadingKeys): refuse it, so the test that makes it fails where it happens (the
    check after the suite, tests/iam, reports it too). Only the key decides here: a call the grants
    refuse for another reason is left to that check."""
    if LEADING_KEYS not in call.keys:
        return
    granted = _project_grants().get(call.principal.removeprefix(WORKFLOW))
    if granted is None:
        return
    unkeyed = Call(
        call.principal, call.action, call.resource, tuple(kv for kv in call.context if kv[0] != LEADING_KEYS)
    )
    if _granted(granted, unkeyed) and not _granted(granted, call):
        from botocore.exceptions import ClientError

        message = (
            f"{call.principal} is not authorized to perform {call.action} on {call.resource} for partition key "
            f"{call.keys[LEADING_KEYS]}: no grant names a key prefix (dynamodb:LeadingKeys) that matches it"
        )
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)


@functools.cache
def _project_grants() -> dict[str, list[Statement]]:
    """Each principal of the project's template with its grants, as the check reads them."""
    template = _project_template()
    return {p: statements(template, p) + event_source_statements(template, p) for p in principals(template)}


def install() -> None:
    """Before any boto3 session exists: every session registers botocore's BUILTIN_HANDLERS."""
    from botocore import handlers

    entry = ("before-parameter-build", _hook)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)


def recorded() -> set[Call]:
    with _lock:
        return {Call(p, a, r, _context(json.loads(c))) for p, a, r, c in _records}


def _context(items: list[list[Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in items)


def dump(directory: str | os.PathLike[str], name: str) -> Path:
    path = Path(directory) / f"{name}.jsonl"
    with _lock:
        lines = [
            json.dumps({"principal": p, "action": a, "resource": r, "context": json.loads(c)})
            for p, a, r, c in sorted(_records)
        ]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def load(directory: str | os.PathLike[str]) -> set[Call]:
    found: set[Call] = set()
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            found.add(Call(doc["principal"], doc["action"], doc["resource"], _context(doc["context"])))
    return found


# ---------------------------------------------------------------- request -> (action, resource)
def table_arn(name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else tpl.table_arn(name)
    return f"{arn}/index/{index}" if index else arn


_NAME_TOKEN = re.compile(r"#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*")
_EXPRESSION_WORDS = {
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size",
    "if_not_exists", "list_append",
}  # fmt: skip


def attribute_names(params: Mapping[str, Any]) -> list[str]:
    """Top-level attribute names a write request touches (dynamodb:Attributes): the key, the
    item's attributes, and every name in its update and condition expressions."""
    names = set((params.get("Key") or {}).keys()) | set((params.get("Item") or {}).keys())
    aliases = params.get("ExpressionAttributeNames") or {}
    for expression in (params.get("UpdateExpression"), params.get("ConditionExpression")):
        text = re.sub(r":[A-Za-z0-9_]+", " ", expression or "")  # values are not attributes
        text = re.sub(r"\[[0-9]+\]", " ", text)
        for path in re.findall(r"[#A-Za-z_][#A-Za-z0-9_.]*", text):
            head = path.split(".", 1)[0]
            if head in _EXPRESSION_WORDS:
                continue
            names.add(aliases.get(head, head))
    return sorted(names)


LEADING_KEYS = "dynamodb:LeadingKeys"


@functools.cache
def _project_template() -> SamTemplate:
    return SamTemplate.load(Path(__file__).resolve().parents[2] / "template.yaml")


@functools.cache
def _partition_keys() -> dict[str, str]:
    """{table logical id: its partition (HASH) key attribute}, from the project's template."""
    template = _project_template()
    return {
        logical_id: key["AttributeName"]
        for logical_id, props in template.of_type(tpl.TABLE).items()
        for key in props.get("KeySchema", [])
        if key.get("KeyType") == "HASH"
    }


def partition_key_of(table: str, key: Mapping[str, Any]) -> str | None:
    """The partition key value in `key` (a DynamoDB-typed Key or Item) of `table` (a name or ARN):
    the table's HASH attribute by the template, else a key's only attribute; None if unknown."""
    name = table.rsplit("/", 1)[-1] if table.startswith("arn:") else table
    attribute = _partition_keys().get(name)
    if attribute is None and len(key) == 1:
        attribute = next(iter(key))
    value = key.get(attribute) if attribute is not None else None
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    return str(next(iter(value.values())))


def _leading_keys(table: str, key: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """dynamodb:LeadingKeys of an item-level request: the item's partition key value. One call is
    recorded per item (a batch's keys each on their own): under ForAllValues, the only operator
    the grants use with it, a set of keys is allowed exactly when each key alone is."""
    value = partition_key_of(table, key or {})
    return [(LEADING_KEYS, (value,))] if value is not None else []


_KEY_EQUALS = re.compile(r"^\s*\(?\s*([#A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)")


def query_leading_keys(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """dynamodb:LeadingKeys of a Query on the table itself (its partition key equality). A Query
    on an index is keyed by the index's partition key, which is not the table's: none is recorded
    for it, and the checker refuses a LeadingKeys condition on an index grant (docs/adr/0038)."""
    if params.get("IndexName"):
        return []
    table = str(params["TableName"])
    name = table.rsplit("/", 1)[-1] if table.startswith("arn:") else table
    aliases = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for clause in re.split(r"\bAND\b", str(params.get("KeyConditionExpression") or ""), flags=re.IGNORECASE):
        match = _KEY_EQUALS.match(clause)
        if match and aliases.get(match.group(1), match.group(1)) == _partition_keys().get(name, "pk"):
            value = values.get(match.group(2))
            if isinstance(value, Mapping) and len(value) == 1:
                return [(LEADING_KEYS, (str(next(iter(value.values()))),))]
    # AWS knows the key; a value no pattern names keeps the check closed until the recorder does
    return [(LEADING_KEYS, (f"<not understood: {params.get('KeyConditionExpression')}>",))]


def _dynamodb_item(principal: str, action: str, params: Mapping[str, Any]) -> Call:
    context: list[tuple[str, Any]] = []
    if action in {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}:
        context.append(("dynamodb:Attributes", tuple(attribute_names(params))))
        context.append(("dynamodb:ReturnValues", params.get("ReturnValues", "NONE")))
    context.extend(_leading_keys(str(params["TableName"]), params.get("Key") or params.get("Item")))
    return Call(principal, action, table_arn(params["TableName"]), tuple(context))


_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _dynamodb_calls(principal: str, operation: str, params: Mapping[str, Any]) -> list[Call] | None:
    action = f"dynamodb:{operation}"
    if operation == "TransactWriteItems":
        return [
            _dynamodb_item(principal, _TRANSACT_WRITE[kind], op)
            for entry in params.get("TransactItems", [])
            for kind, op in entry.items()
        ]
    if operation == "TransactGetItems":
        return [
            Call(
                principal,
                "dynamodb:GetItem",
                table_arn(op["TableName"]),
                tuple(_leading_keys(op["TableName"], op.get("Key"))),
            )
            for entry in params.get("TransactItems", [])
            for op in entry.values()
        ]
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [
            Call(principal, action, table_arn(name), tuple(_leading_keys(name, key)))
            for name, request in params.get("RequestItems", {}).items()
            for key in _batch_keys(request)
        ]
    if operation in {"UpdateItem", "PutItem", "DeleteItem", "GetItem"}:
        return [_dynamodb_item(principal, action, params)]
    if operation == "Query":
        context = tuple(query_leading_keys(params))
        return [Call(principal, action, table_arn(params["TableName"], params.get("IndexName")), context)]
    if "TableName" in params:
        return [Call(principal, action, table_arn(params["TableName"], params.get("IndexName")))]
    return None


def _batch_keys(request: Any) -> list[Mapping[str, Any] | None]:
    """The keys (or items) of one table's part of a BatchGetItem ({"Keys": [...]}) or
    BatchWriteItem ([{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]); [None] if none."""
    if isinstance(request, Mapping):
        keys = list(request.get("Keys") or [])
    else:
        keys = [
            (entry.get("PutRequest") or {}).get("Item") or (entry.get("DeleteRequest") or {}).get("Key")
            for entry in request or []
        ]
    return keys or [None]


def _resource(service: str, params: Mapping[str, Any]) -> str | None:
    if service == "dynamodb" and "StreamArn" in params:  # DynamoDB Streams (signed as dynamodb)
        return str(params["StreamArn"])
    if service == "dynamodb" and "ShardIterator" in params:  # the emulator's iterators start with the stream's ARN
        return str(params["ShardIterator"]).split("|", 1)[0]
    if service == "states":
        return params.get("stateMachineArn") or params.get("executionArn")
    if service == "sqs" and "QueueUrl" in params:
        return tpl.queue_arn(params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1])
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        if not secret.startswith("arn:"):
            secret = tpl.secret_arn(secret)
        return secret
    return None


def calls_of(principal: str, service: str, operation: str, params: Mapping[str, Any]) -> list[Call]:
    """The IAM actions and resources one API call is authorised against."""
    if service == "dynamodb" and (found := _dynamodb_calls(principal, operation, params)) is not None:
        return found
    if service == "events" and operation == "PutEvents":  # authorised per bus its entries name
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries", [])}
        return [Call(principal, "events:PutEvents", _bus_arn(bus)) for bus in sorted(buses)]
    # A resource unknown to the recorder is "*": only a "*" grant allows it (fails closed).
    return [Call(principal, f"{service}:{operation}", _resource(service, params) or "*")]


def _bus_arn(bus: str) -> str:
    return bus if bus.startswith("arn:") else tpl.event_bus_arn(bus)


# ---------------------------------------------------------------- policies
READ_VERBS = ("Get", "BatchGet", "Query", "Scan", "Describe", "List", "ConditionCheck", "PartiQLSelect", "Receive")


def is_write(action: str) -> bool:
    verb = action.split(":", 1)[1]
    return not verb.startswith(READ_VERBS)


@dataclass
class Statement:
    principal: str
    origin: tuple[int, int | None]  # (Policies entry, statement within an inline entry)
    label: str
    actions: list[str]
    resources: list[str]
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"
    reason: str | None = None  # the "# iam: ..." comment, if any

    def allows(self, call: Call) -> bool:
        return (
            any(_matches(pattern, call.action, ignore_case=True) for pattern in self.actions)
            and any(_matches(pattern, call.resource) for pattern in self.resources)
            and conditions_hold(self.condition, call.keys)
        )


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], keys: Mapping[str, Any]) -> bool:
    """IAM condition evaluation for the operators this project uses; others fail closed."""
    return all(
        _test(operator, key, expected, keys) for operator, tests in condition.items() for key, expected in tests.items()
    )


def _test(operator: str, key: str, expected: Any, keys: Mapping[str, Any]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in ("StringEquals", "StringLike") or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"condition operator {operator} is not supported by the checker")
    allowed = [str(v) for v in _as_list(expected)]
    if key not in keys:
        return if_exists or qualifier == "ForAllValues"
    values = [str(v) for v in _as_list(keys[key])]

    def ok(value: str) -> bool:
        return any(value == a if base == "StringEquals" else _matches(a, value) for a in allowed)

    if qualifier == "ForAllValues":
        return all(ok(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(ok(v) for v in values)
    return len(values) == 1 and ok(values[0])


def principals(template: SamTemplate) -> dict[str, dict[str, Any]]:
    """Functions and state machines with their properties."""
    return template.resources(tpl.FUNCTION, tpl.STATE_MACHINE)


def statements(
    template: SamTemplate, principal: str, reasons: Mapping[tuple[str, int, int | None], str] | None = None
) -> list[Statement]:
    """`principal`'s Policies as IAM statements, SAM policy templates expanded by samtranslator."""
    reasons = reasons or {}
    resolver = template.resolver()
    out: list[Statement] = []
    for i, entry in enumerate(template.policies(principal)):
        where = f"{principal}.Policies[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: managed policy {entry!r} cannot be checked; use a template or a statement")
        if "Statement" in entry:
            docs: list[tuple[int | None, Any]] = list(enumerate(_as_list(entry["Statement"])))
            label = "inline"
        else:
            ((name, parameters),) = entry.items()
            expanded = tpl.expand_policy_template(name, parameters or {})
            docs = [(None, s) for s in _as_list(expanded["Statement"])]
            label = name
        for j, doc in docs:
            sid = doc.get("Sid")
            out.append(
                Statement(
                    principal=principal,
                    origin=(i, j),
                    label=f"Policies[{i}] {label}" + (f" {sid}" if sid else f"[{j}]" if j is not None else ""),
                    actions=[str(a) for a in _as_list(doc["Action"])],
                    resources=[_arn(template, resolver.resolve(r, where)) for r in _as_list(doc.get("Resource", "*"))],
                    condition=doc.get("Condition") or {},
                    effect=doc.get("Effect", "Allow"),
                    reason=reasons.get((principal, i, j)) or reasons.get((principal, i, None)),
                )
            )
    return out


# What an event source mapping does with the function's role, and what SAM grants for it (the
# managed AWSLambdaDynamoDBExecutionRole / AWSLambdaSQSQueueExecutionRole policies, on any
# resource; a DestinationConfig's SendMessage on its queue). The check grants it on the event's
# own stream or queue only: the local mappings must not need more.
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
QUEUE_READ = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
EVENT_SOURCE_REASON = "granted by SAM for the event source mapping"


def event_source_statements(template: SamTemplate, principal: str) -> list[Statement]:
    """The grants SAM attaches to a function for its SQS and DynamoDB event sources, narrowed to
    the event's own queue or stream (and its on-failure queue)."""
    if template.type_of(principal) != tpl.FUNCTION:
        return []
    resolver = template.resolver()
    out = []
    for source in template.stream_event_sources():
        if source.function != principal:
            continue
        where = f"{principal}.Events.{source.event}"
        stream = resolver.get_att(source.table, "StreamArn", where)
        out.append(
            Statement(principal, (-1, None), f"{where} (stream)", STREAM_READ, [stream], reason=EVENT_SOURCE_REASON)
        )
        if source.on_failure_queue:
            queue = tpl.queue_arn(source.on_failure_queue)
            out.append(
                Statement(
                    principal,
                    (-1, None),
                    f"{where} (on failure)",
                    ["sqs:SendMessage"],
                    [queue],
                    reason=EVENT_SOURCE_REASON,
                )
            )
    for sqs in template.sqs_event_sources():
        if sqs.function == principal:
            label = f"{principal} (queue {sqs.queue})"
            queue = tpl.queue_arn(sqs.queue)
            out.append(Statement(principal, (-1, None), label, QUEUE_READ, [queue], reason=EVENT_SOURCE_REASON))
    return out


def _arn(template: SamTemplate, resolved: str) -> str:
    """Locally `!Ref Resource` resolves to the logical id (as in sam local); for resources whose
    Ref is an ARN on AWS, use the ARN the recorder sees. (Secrets are named by logical id.)"""
    return tpl.secret_arn(resolved) if template.type_of(resolved) == tpl.SECRET else resolved


def iam_comments(text: str) -> dict[tuple[str, int, int | None], str]:
    """`# iam: reason` comments in template.yaml: {(resource, Policies entry, statement): reason}.
    A comment applies to the list item on the line below it: a Policies entry, or a statement
    inside an entry's `Statement:` list."""
    scanner = _CommentScanner()
    for line in text.splitlines():
        scanner.feed(line)
    return scanner.found


class _CommentScanner:
    def __init__(self) -> None:
        self.found: dict[tuple[str, int, int | None], str] = {}
        self.resource = ""
        self.policies: int | None = None  # indent of "Policies:" while inside that block
        self.entry_indent: int | None = None
        self.statement_indent: int | None = None
        self.entry = self.statement = -1
        self.pending: str | None = None

    def feed(self, line: str) -> None:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if match := re.match(r"#\s*iam:\s*(.+)", stripped):
            self.pending = match.group(1).strip()
        elif not stripped or stripped.startswith("#"):
            return
        elif indent == 2 and re.match(r"^[A-Za-z0-9]+:\s*$", stripped):
            self.resource, self.policies, self.pending = stripped[:-1], None, None
        elif stripped == "Policies:":
            self.policies, self.entry_indent, self.entry = indent, None, -1
        elif self.policies is None or indent <= self.policies:
            self.policies = self.pending = None
        elif stripped.startswith("- "):
            self._item(indent)

    def _item(self, indent: int) -> None:
        if self.entry_indent is None or indent == self.entry_indent:
            self.entry_indent, self.statement_indent = indent, None
            self.entry, self.statement = self.entry + 1, -1
            self._attach(None)
        elif indent > self.entry_indent:
            self.statement_indent = self.statement_indent or indent
            if indent == self.statement_indent:
                self.statement += 1
                self._attach(self.statement)

    def _attach(self, statement: int | None) -> None:
        if self.pending:
            self.found[(self.resource, self.entry, statement)] = self.pending
        self.pending = None


# ---------------------------------------------------------------- the check
@dataclass
class Report:
    missing: list[Call] = field(default_factory=list)  # calls no statement allows
    unused: list[str] = field(default_factory=list)  # write grants never used, without a reason
    unused_keys: list[str] = field(default_factory=list)  # LeadingKeys patterns no allowed call used
    unlimited: list[str] = field(default_factory=list)  # item grants on a shared table without LeadingKeys
    misplaced: list[str] = field(default_factory=list)  # LeadingKeys conditions on index grants

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unused or self.unused_keys or self.unlimited or self.misplaced)

    def __str__(self) -> str:
        lines = (
            [f"not granted: {c}" for c in self.missing]
            + [f"unused write grant: {u}" for u in self.unused]
            + [f"unused key pattern: {u}" for u in self.unused_keys]
            + [f"not limited to key prefixes (dynamodb:LeadingKeys) on a shared table: {u}" for u in self.unlimited]
            + [f"LeadingKeys on an index grant (an index query is keyed by the index): {u}" for u in self.misplaced]
        )
        return "\n".join(lines) or "ok"


def asl_calls(template: SamTemplate) -> set[Call]:
    """What each state machine's Task states call, read from its ASL (with DefinitionSubstitutions):
    service integrations whose table or queue is fixed in the definition."""
    found: set[Call] = set()
    for logical_id, spec in state_machine_definitions(template).items():
        for task in _tasks(json.loads(spec["definition"])):
            match = re.fullmatch(r"arn:aws:states:::(aws-sdk:)?(\w+):(\w+)(\.\w+)?", task["Resource"])
            if not match:
                raise ValueError(f"{logical_id}: task resource {task['Resource']} is not understood by the checker")
            service, api = match.group(2), match.group(3)
            action = f"{service}:{api[0].upper()}{api[1:]}"
            params = task.get("Parameters") or {}
            if service == "dynamodb" and "TableName" in params:
                found.add(Call(logical_id, action, table_arn(params["TableName"])))
            elif service == "sqs" and "QueueUrl" in params:
                found.add(Call(logical_id, action, tpl.queue_arn(params["QueueUrl"].rsplit("/", 1)[-1])))
            elif not match.group(1):
                raise ValueError(f"{logical_id}: cannot tell the resource of {task['Resource']}")
            # aws-sdk tasks with parameters built at run time are covered by the recorded calls.
    return found


def _tasks(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if nested:
                yield from _tasks(nested)


WORKFLOW = "workflow:"  # prefix of calls recorded from a state machine's execution


def _attributed(template: SamTemplate, calls: Iterable[Call]) -> list[Call]:
    """Calls as the template's principals made them. State machines are named by their logical
    id in the emulator; executions of other templates' workflows (the local cloud's own tests run
    some) are not this template's calls."""
    machines = set(template.resources(tpl.STATE_MACHINE))
    out = []
    for call in calls:
        if call.principal.startswith(WORKFLOW):
            name = call.principal.removeprefix(WORKFLOW)
            if name not in machines:
                continue
            call = Call(name, call.action, call.resource, call.context)
        out.append(call)
    return out


def check(
    template: SamTemplate,
    calls: Iterable[Call],
    reasons: Mapping[tuple[str, int, int | None], str] | None = None,
) -> Report:
    report = Report()
    by_principal: dict[str, list[Call]] = {}
    for call in _attributed(template, calls):
        by_principal.setdefault(call.principal, []).append(call)
    known = principals(template)
    shared = shared_tables(_attributed(template, calls))
    for principal in known:
        granted = statements(template, principal, reasons) + event_source_statements(template, principal)
        used = by_principal.get(principal, [])
        report.missing.extend(call for call in sorted(used) if not _granted(granted, call))
        report.unused.extend(_unused_writes(principal, granted, used))
        report.unused_keys.extend(_unused_key_patterns(principal, granted, used))
        report.unlimited.extend(_unlimited(principal, granted, shared))
        report.misplaced.extend(_misplaced(principal, granted))
    for principal in sorted(set(by_principal) - set(known)):
        report.missing.extend(by_principal[principal])
    return report


def _granted(granted: list[Statement], call: Call) -> bool:
    allowed = any(s.effect == "Allow" and s.allows(call) for s in granted)
    return allowed and not any(s.effect == "Deny" and s.allows(call) for s in granted)


def _unused_writes(principal: str, granted: list[Statement], used: list[Call]) -> Iterator[str]:
    for statement in granted:
        if statement.effect != "Allow" or statement.reason:
            continue
        for action in filter(is_write, statement.actions):
            for resource in statement.resources:
                if "/index/" in resource:
                    continue  # writes are authorised on the table; a write grant on an index is inert
                hit = any(_matches(action, c.action, ignore_case=True) and _matches(resource, c.resource) for c in used)
                if not hit:
                    yield f"{principal} {statement.label}: {action} on {resource}"


# ---------------------------------------------------------------- key prefixes (dynamodb:LeadingKeys)
# The actions DynamoDB authorises per item, with the item's partition key as dynamodb:LeadingKeys.
ITEM_ACTIONS = (
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
)  # fmt: skip


def kind_of(key: str) -> str:
    """The kind of item a partition key names: what precedes its first "#" ("PRODUCT#7" ->
    "PRODUCT", "COUNTER#PRODUCT" -> "COUNTER"), the whole key when it has none ("META")."""
    return key.split("#", 1)[0]


def shared_tables(calls: Iterable[Call]) -> dict[str, set[str]]:
    """{table ARN: kinds of item} for the tables the recorded calls found more than one kind of
    item in (by partition key): the tables whose grants must name the key prefixes they need."""
    kinds: dict[str, set[str]] = {}
    for call in calls:  # every principal's: a kind is in the table whoever touched it (the template's)
        for key in call.keys.get(LEADING_KEYS, []):
            kinds.setdefault(call.resource, set()).add(kind_of(str(key)))
    return {table: found for table, found in kinds.items() if len(found) > 1}


def key_patterns(statement: Statement) -> list[str] | None:
    """The LeadingKeys patterns a statement's condition allows, None if it does not limit them."""
    for operator, tests in statement.condition.items():
        if LEADING_KEYS in tests:
            if not operator.startswith("ForAllValues:"):
                raise ValueError(
                    f"{statement.principal} {statement.label}: {LEADING_KEYS} needs ForAllValues ({operator})"
                )
            return [str(v) for v in _as_list(tests[LEADING_KEYS])]
    return None


def _item_actions(statement: Statement) -> list[str]:
    return [a for a in ITEM_ACTIONS if any(_matches(p, a, ignore_case=True) for p in statement.actions)]


def _unlimited(principal: str, granted: list[Statement], shared: Mapping[str, set[str]]) -> Iterator[str]:
    """Allow statements that grant item actions on a shared table without naming key prefixes."""
    for statement in granted:
        if statement.effect != "Allow" or key_patterns(statement) is not None or not _item_actions(statement):
            continue
        for table in sorted(shared):
            if any(_matches(resource, table) for resource in statement.resources):
                yield f"{principal} {statement.label}: {_item_actions(statement)} on {table} ({sorted(shared[table])})"


def _misplaced(principal: str, granted: list[Statement]) -> Iterator[str]:
    for statement in granted:
        if key_patterns(statement) is not None and any("/index/" in r for r in statement.resources):
            yield f"{principal} {statement.label}: {statement.resources}"


def _unused_key_patterns(principal: str, granted: list[Statement], used: list[Call]) -> Iterator[str]:
    """Key patterns an Allow statement grants an item action on that no call it allows used with
    that action: a key prefix granted in vain (each action of a statement must use each pattern;
    an action that needs fewer prefixes goes in a statement of its own)."""
    for statement in granted:
        patterns = key_patterns(statement)
        if statement.effect != "Allow" or statement.reason or patterns is None:
            continue
        allowed = [c for c in used if statement.allows(c)]
        for action in _item_actions(statement):
            keys = [str(k) for c in allowed if c.action == action for k in c.keys.get(LEADING_KEYS, [])]
            for pattern in patterns:
                if not any(_matches(pattern, key) for key in keys):
                    yield f"{principal} {statement.label}: {action} on {pattern}"
