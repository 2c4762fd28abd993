"""Nested time budgets, proven from the numbers where they live (docs/adr/0012-time-budgets.md):

    every retry of every Task on the PlaceOrder workflow's longest path
      <= the state machine's TimeoutSeconds (<= 25 s)
      <  StartSyncExecution's read timeout (the caller hears the state machine's own answer)
      <= the time CreateOrder needs left to start the workflow (its connect + read timeouts)
      <  CreateOrder's Timeout, with time to prepare before it
      <= the HTTP API's integration timeout (30 s), with room for a cold start

The numbers come from template.yaml (through SamTemplate), the ASL file it references, and the
botocore limits of the shared AWS module (sales_common.aws.LIMITS). Every check is one function
of those numbers, `violations()`; the mutation tests below change one number at a time and show
that the check then fails.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, replace
from typing import Any

import pytest

from localcloud.provision import state_machine_definitions
from orders.models import MAX_ITEMS
from orders.placement import ANSWER_MARGIN_SECONDS
from sales_common import aws
from tests.support.apigw import template

STATE_MACHINE = "PlaceOrderStateMachine"
CREATE_ORDER = "CreateOrderFunction"
SWEEPER = "SweepStaleHoldsFunction"
CONSUMER = "ReleaseStockFunction"

MAX_STATE_MACHINE_TIMEOUT = 25  # the bound
HTTP_API_MAX_TIMEOUT_MS = 30_000  # HTTP API integrations cannot wait longer
COLD_START_AND_GATEWAY = 2.0  # seconds of the API's 30 left for the function's init and the gateway
PREPARE_ALLOWANCE = 4.0  # seconds CreateOrder may spend preparing (quote, id, key) and still start
STATE_TRANSITIONS_MARGIN = 1.0  # Step Functions' own time between states on the longest path
RETRIER_FIELDS = ("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy")


@dataclass(frozen=True)
class Numbers:
    definition: dict[str, Any]
    function_timeout: float
    api_timeout_ms: int
    stale_after: float
    consumer_timeout: float
    queue_visibility: float
    limits: dict[str, aws.ClientLimits]


def project_numbers() -> Numbers:
    t = template()
    definition = json.loads(state_machine_definitions(t)[STATE_MACHINE]["definition"])
    create = t.function(CREATE_ORDER)
    (api_event,) = [e for e in create.events.values() if e.get("Type") == "HttpApi"]
    return Numbers(
        definition=definition,
        function_timeout=float(create.timeout or 0),
        api_timeout_ms=int(api_event["Properties"].get("TimeoutInMillis", HTTP_API_MAX_TIMEOUT_MS)),
        stale_after=float(t.function(SWEEPER).own_environment["STALE_AFTER_SECONDS"]),
        consumer_timeout=float(t.function(CONSUMER).timeout or t.function_globals["Timeout"]),
        queue_visibility=float(t.properties("CompensationQueue")["VisibilityTimeout"]),
        limits=dict(aws.LIMITS),
    )


# ---------------------------------------------------------------- the workflow's worst case
def task_worst_case(name: str, state: dict[str, Any]) -> float:
    """Every attempt running into TimeoutSeconds, and the longest wait before every retry (full
    jitter waits at most the computed interval). Retriers count their attempts separately, so
    errors that alternate between them can use all of them."""
    timeout = state["TimeoutSeconds"]
    retriers = state["Retry"]
    attempts = 1 + sum(r["MaxAttempts"] for r in retriers)
    waits = sum(
        min(r["IntervalSeconds"] * r["BackoffRate"] ** k, r["MaxDelaySeconds"])
        for r in retriers
        for k in range(r["MaxAttempts"])
    )
    return attempts * timeout + waits


def successors(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Catch", [])]
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    return found


def longest_path(states: dict[str, Any], start: str, seen: tuple[str, ...] = ()) -> float:
    """The worst-case seconds from `start` to the end (the graph must be acyclic)."""
    assert start not in seen, f"the workflow loops through {start}: its time is unbounded"
    state = states[start]
    own = 0.0
    if state["Type"] == "Task":
        own = task_worst_case(start, state)
    elif state["Type"] == "Map":
        processor = state["ItemProcessor"]
        batches = math.ceil(MAX_ITEMS / (state.get("MaxConcurrency") or MAX_ITEMS))
        own = batches * longest_path(processor["States"], processor["StartAt"])
    elif state["Type"] == "Wait":
        own = float(state["Seconds"])
    after = [longest_path(states, n, (*seen, start)) for n in successors(state)]
    return own + max(after, default=0.0)


def tasks(states: dict[str, Any]):
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        if "ItemProcessor" in state:
            yield from tasks(state["ItemProcessor"]["States"])


def workflow_worst_case(definition: dict[str, Any]) -> float:
    return longest_path(definition["States"], definition["StartAt"])


# ---------------------------------------------------------------- a call's worst case
def call_worst_case(limits: aws.ClientLimits) -> float:
    """As `sales_common.aws.worst_case_seconds`, from these limits: every attempt waits out both
    timeouts; botocore's standard mode waits at most min(2 ** (i - 1), 20) s before retry i."""
    from botocore import configprovider
    from botocore.retries.standard import ExponentialBackoff

    # with botocore's new retry behaviour, an x-amz-retry-after header may add up to 5 s per retry
    extra = ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL if configprovider.NEW_RETRIES_ENABLED else 0
    backoff = sum(
        min(ExponentialBackoff._BASE ** (i - 1), ExponentialBackoff._MAX_BACKOFF) + extra
        for i in range(1, limits.max_attempts)
    )
    return limits.max_attempts * (limits.connect_timeout + limits.read_timeout) + backoff


# ---------------------------------------------------------------- the inequalities
def violations(n: Numbers) -> list[str]:
    """Every broken inequality (empty: the budgets nest)."""
    declared = undeclared_limits(n.definition)
    if declared:
        return declared
    machine_timeout = n.definition.get("TimeoutSeconds")
    if not isinstance(machine_timeout, int) or not 0 < machine_timeout <= MAX_STATE_MACHINE_TIMEOUT:
        return [
            f"the state machine's TimeoutSeconds ({machine_timeout}) must be set, at most {MAX_STATE_MACHINE_TIMEOUT}"
        ]
    return workflow_violations(n, machine_timeout) + caller_violations(n, machine_timeout) + other_violations(n)


def undeclared_limits(definition: dict[str, Any]) -> list[str]:
    out = []
    for name, state in tasks(definition["States"]):
        if not isinstance(state.get("TimeoutSeconds"), int) or state["TimeoutSeconds"] < 1:
            out.append(f"Task {name} has no explicit TimeoutSeconds")
        if not state.get("Retry"):
            out.append(f"Task {name} has no explicit Retry")
        for retrier in state.get("Retry", []):
            missing = [f for f in RETRIER_FIELDS if f not in retrier]
            if missing:
                out.append(f"Task {name}: a retrier leaves {missing} implicit")
    return out


def workflow_violations(n: Numbers, machine_timeout: int) -> list[str]:
    worst = workflow_worst_case(n.definition)
    if worst + STATE_TRANSITIONS_MARGIN > machine_timeout:
        return [
            f"the workflow's worst case {worst} s (+{STATE_TRANSITIONS_MARGIN}) exceeds its TimeoutSeconds {machine_timeout}"
        ]
    return []


def caller_violations(n: Numbers, machine_timeout: int) -> list[str]:
    out = []
    sfn = n.limits["stepfunctions"]
    if sfn.max_attempts != 1:
        out.append("StartSyncExecution must not be retried by the SDK (the caller decides instead)")
    if sfn.read_timeout < machine_timeout + 1:
        out.append(
            f"StartSyncExecution's read timeout {sfn.read_timeout} s gives up before the workflow's {machine_timeout} s"
        )
    start_budget = call_worst_case(sfn) + ANSWER_MARGIN_SECONDS
    if start_budget + PREPARE_ALLOWANCE > n.function_timeout:
        out.append(
            f"CreateOrder's Timeout {n.function_timeout} s leaves less than {PREPARE_ALLOWANCE} s to prepare "
            f"before the {start_budget} s the workflow call needs"
        )
    api = min(n.api_timeout_ms, HTTP_API_MAX_TIMEOUT_MS) / 1000
    if n.function_timeout + COLD_START_AND_GATEWAY > api:
        out.append(
            f"CreateOrder's Timeout {n.function_timeout} s (+{COLD_START_AND_GATEWAY}) exceeds the API's {api} s"
        )
    if n.stale_after <= machine_timeout + 30:
        out.append(f"the sweeper's STALE_AFTER_SECONDS {n.stale_after} could take holds of a running execution")
    return out


def other_violations(n: Numbers) -> list[str]:
    out = []
    dynamodb = call_worst_case(n.limits["dynamodb"])
    if dynamodb > n.consumer_timeout:
        out.append(f"one DynamoDB call ({dynamodb} s) outlives the compensation consumer's Timeout")
    if n.queue_visibility < n.consumer_timeout:
        out.append("the compensation queue redelivers before its consumer's Timeout")
    for name, limits in n.limits.items():
        if name != "stepfunctions" and call_worst_case(limits) > template().function_globals["Timeout"]:
            out.append(f"one {name} call ({call_worst_case(limits)} s) outlives a function's default Timeout")
    return out


def test_the_budgets_nest():
    assert violations(project_numbers()) == []


def test_the_figures_the_docs_state():
    """docs/adr/0012-time-budgets.md quotes these; this keeps the text honest."""
    n = project_numbers()
    assert workflow_worst_case(n.definition) == 18
    assert n.definition["TimeoutSeconds"] == 20
    assert call_worst_case(n.limits["stepfunctions"]) == 23
    assert call_worst_case(n.limits["dynamodb"]) == 9
    assert (n.function_timeout, n.api_timeout_ms) == (28, 30_000)


def test_the_code_computes_the_same_worst_cases():
    for service, limits in aws.LIMITS.items():
        assert aws.worst_case_seconds(service) == call_worst_case(limits)


def test_every_client_is_configured_with_its_limits():
    from sales_common.settings import ServiceSettings

    settings = ServiceSettings(TABLE_NAME="t", AWS_REGION="us-east-1", AWS_ENDPOINT_URL="http://127.0.0.1:1")
    for service, limits in aws.LIMITS.items():
        config = aws.client(service, settings).meta.config
        assert (config.connect_timeout, config.read_timeout) == (limits.connect_timeout, limits.read_timeout)
        assert config.retries == {"mode": "standard", "total_max_attempts": limits.max_attempts}


# ---------------------------------------------------------------- the check can fail
def _with_task(definition: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(definition)
    for task_name, state in tasks(changed["States"]):
        if task_name == name:
            for key, value in changes.items():
                if key.startswith("Retry."):
                    field = key.removeprefix("Retry.")
                    for retrier in state["Retry"]:
                        if value is None:
                            retrier.pop(field)
                        else:
                            retrier[field] = value
                elif value is None:
                    state.pop(key)
                else:
                    state[key] = value
    return changed


def _mutations():
    n = project_numbers()
    d = n.definition
    yield "machine timeout 17", replace(n, definition={**d, "TimeoutSeconds": 17})
    yield "machine timeout 26", replace(n, definition={**d, "TimeoutSeconds": 26})
    yield "no machine timeout", replace(n, definition={k: v for k, v in d.items() if k != "TimeoutSeconds"})
    yield "WriteOrder timeout 2", replace(n, definition=_with_task(d, "WriteOrder", TimeoutSeconds=2))
    yield "Reserve 2 retries", replace(n, definition=_with_task(d, "Reserve", **{"Retry.MaxAttempts": 2}))
    yield (
        "Decide interval 3",
        replace(n, definition=_with_task(d, "Decide", **{"Retry.IntervalSeconds": 3, "Retry.MaxDelaySeconds": 3})),
    )
    yield "Release without timeout", replace(n, definition=_with_task(d, "Release", TimeoutSeconds=None))
    yield "Validate without retry", replace(n, definition=_with_task(d, "ValidateCustomer", Retry=None))
    yield "implicit jitter", replace(n, definition=_with_task(d, "QueueRelease", **{"Retry.JitterStrategy": None}))
    yield "function timeout 30", replace(n, function_timeout=30)
    yield "function timeout 25", replace(n, function_timeout=25)
    yield "API timeout 25 s", replace(n, api_timeout_ms=25_000)
    sfn = n.limits["stepfunctions"]
    yield "sfn read 19", replace(n, limits={**n.limits, "stepfunctions": replace(sfn, read_timeout=19)})
    yield "sfn read 26", replace(n, limits={**n.limits, "stepfunctions": replace(sfn, read_timeout=26)})
    yield "sfn retried", replace(n, limits={**n.limits, "stepfunctions": replace(sfn, max_attempts=2)})
    ddb = n.limits["dynamodb"]
    yield "dynamodb 4 attempts", replace(n, limits={**n.limits, "dynamodb": replace(ddb, max_attempts=4)})
    yield "stale after 30", replace(n, stale_after=30)
    yield "visibility 5", replace(n, queue_visibility=5)


@pytest.mark.parametrize(("label", "numbers"), list(_mutations()), ids=[label for label, _ in _mutations()])
def test_changing_a_number_so_the_budgets_no_longer_nest_fails_the_check(label, numbers):
    assert violations(numbers), f"{label}: the check still passes"
