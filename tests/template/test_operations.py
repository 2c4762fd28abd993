"""Someone is paged: every function, the workflow, every queue and every table is watched by an alarm,
every alarm reaches the alarm topic (itself or through a composite alarm), and the dashboard shows
resources that exist. The alarms are generated into template.yaml by tools/alarms.py (`make alarms`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.sam_template import FUNCTION, QUEUE, STATE_MACHINE, TABLE, SamTemplate
from tests.support.apigw import ROOT, template
from tools import alarms

ALARM, COMPOSITE = "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"
TOPIC = [{"Ref": "AlarmTopic"}]
WATCHED = (FUNCTION, STATE_MACHINE, QUEUE, TABLE)


def names(node: Any) -> Iterator[str]:
    """The logical ids a property value refers to (Ref, GetAtt, ${...} in Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value.split(".")[0]
            elif key == "Fn::GetAtt":
                yield (value.split(".")[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                if not isinstance(value, str):
                    yield from names(value[1])
            else:
                yield from names(value)
    elif isinstance(node, list):
        for item in node:
            yield from names(item)


def unwatched(t: SamTemplate) -> set[str]:
    """Functions, state machines, queues and tables no alarm refers to."""
    watched = {name for alarm in t.of_type(ALARM).values() for name in names(alarm)}
    return set(t.resources(*WATCHED)) - watched


def silent(t: SamTemplate) -> set[str]:
    """Alarms that notify nobody: neither the topic themselves nor a paging composite alarm names them."""
    composites = t.of_type(COMPOSITE)
    for name, props in composites.items():
        assert props["AlarmActions"] == TOPIC and props["OKActions"] == TOPIC, name
    in_rules = {name for props in composites.values() for name in names(props["AlarmRule"])}
    paging = {n for n, p in t.of_type(ALARM).items() if p.get("AlarmActions") == TOPIC and p.get("OKActions") == TOPIC}
    return set(t.of_type(ALARM)) - paging - in_rules


def test_every_function_workflow_queue_and_table_is_watched_by_an_alarm() -> None:
    t = template()
    assert len(t.resources(FUNCTION)) >= 18 and t.resources(STATE_MACHINE)
    assert unwatched(t) == set()


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok() -> None:
    t = template()
    assert t.resources("AWS::SNS::Topic").keys() == {"AlarmTopic"}
    assert silent(t) == set()
    # composite alarms' children do not notify on their own (one cause pages once)
    children = {n for p in t.of_type(COMPOSITE).values() for n in names(p["AlarmRule"])}
    assert all("AlarmActions" not in t.properties(child) for child in children)
    assert children <= set(t.of_type(ALARM))


def test_the_topics_subscription_is_a_parameter() -> None:
    t = template()
    (subscription,) = t.resources("AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmSubscription"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmSubscriptionEndpoint"}
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}


def test_a_new_function_without_an_alarm_fails_until_make_alarms_runs() -> None:
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    new = (
        "  NewFunction:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      Handler: orders.handlers.get_order.handler\n\n"
    )
    added = text.replace(alarms.BEGIN, new + alarms.BEGIN)
    stale = SamTemplate(_parse(added), ROOT / "template.yaml")
    assert unwatched(stale) == {"NewFunction"}
    assert alarms.render(added) != added  # `make alarms --check` (test below) fails too
    fresh = SamTemplate(_parse(alarms.render(added)), ROOT / "template.yaml")
    assert unwatched(fresh) == set() and silent(fresh) == set()
    assert {"NewFunctionErrorsAlarm", "NewFunctionThrottlesAlarm"} <= set(fresh.of_type(ALARM))


def test_the_generated_alarms_and_dashboard_are_up_to_date() -> None:
    assert alarms.main(["--check"]) == 0, "run `make alarms`"


@pytest.mark.parametrize("dlq", ["CompensationDeadLetterQueue", "EventsDeadLetterQueue", "ReportsDeadLetterQueue"])
def test_any_message_in_a_dead_letter_queue_pages_directly(dlq: str) -> None:
    t = template()
    assert dlq in alarms.dead_letter_queues(t)
    (alarm,) = [p for p in t.of_type(ALARM).values() if dlq in set(names(p.get("Dimensions", [])))]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == TOPIC == alarm["OKActions"]


def test_thresholds_are_parameters_with_defaults() -> None:
    t = template()
    for name, props in t.of_type(ALARM).items():
        threshold = props["Threshold"]
        if isinstance(threshold, dict):
            assert "Default" in t.parameters[threshold["Ref"]], name
        else:  # a fixed 0: any occurrence is an alarm (a dead letter, a stale hold)
            assert threshold == 0 and props["ComparisonOperator"] == "GreaterThanThreshold", name


def test_the_dashboard_names_existing_resources_and_metrics() -> None:
    t = template()
    (dashboard,) = t.of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["DashboardBody"]["Fn::Sub"]
    referred = re.findall(r"\$\{([^}]+)\}", body)
    known = set(t.resources()) | set(t.parameters)
    for ref in referred:
        assert ref.startswith("AWS::") or ref.split(".")[0] in known, ref
    for fn in t.resources(FUNCTION):
        assert f"${{{fn}}}" in body, fn
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    custom = {m[1] for w in widgets for m in w["properties"].get("metrics", []) if m and m[0] == "SalesManagement"}
    code = "\n".join(p.read_text() for d in ("functions", "layers") for p in (ROOT / d).rglob("*.py"))
    emitted = set(re.findall(r'name="([A-Za-z]+)"', code))
    assert custom and custom <= emitted
    custom_alarmed = {p.get("MetricName") for p in t.of_type(ALARM).values() if p.get("Namespace") == "SalesManagement"}
    assert custom_alarmed - {None} <= emitted


def _parse(text: str) -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    return dict(yaml_parse(text))


# ---------------------------------------------------------------- the access log
ACCESS_LOG_VARIABLES = {  # what a line may say: who, which route, the answer; never a token or a body
    "$context.requestId",
    "$context.requestTime",
    "$context.authorizer.claims.sub",
    "$context.routeKey",
    "$context.httpMethod",
    "$context.path",
    "$context.status",
    "$context.responseLatency",
    "$context.responseLength",
    "$context.integrationStatus",
    "$context.integrationLatency",
    "$context.integrationErrorMessage",
    "$context.error.message",
    "$context.identity.sourceIp",
    "$context.identity.userAgent",
}


def access_log() -> dict[str, Any]:
    (api,) = template().of_type("AWS::Serverless::HttpApi").values()
    return dict(api["AccessLogSettings"])


def test_the_access_log_is_one_json_line_per_request_with_who_what_and_how_long() -> None:
    settings = access_log()
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    text = settings["Format"]
    assert "\n" not in text
    variables = re.findall(r"\$context\.[A-Za-z.]+", text)
    assert set(variables) == ACCESS_LOG_VARIABLES
    # as API Gateway fills it in: every string value quoted, numbers bare, "-" where there is none
    line = re.sub(r'"\$context\.[A-Za-z.]+"', '"-"', text)
    line = re.sub(r"\$context\.[A-Za-z.]+", "200", line)
    entry = json.loads(line)
    for field in ("requestId", "sub", "routeKey", "status", "latency", "integrationError"):
        assert field in entry
    assert isinstance(entry["status"], int) and isinstance(entry["latency"], int)


def test_the_access_log_has_a_retention_parameter() -> None:
    t = template()
    group = t.properties("ApiAccessLogGroup")
    assert group["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert t.parameters["AccessLogRetentionDays"]["Default"] == 30


def test_every_alarm_has_a_runbook_section() -> None:
    t = template()
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    sections = {h.strip().lower() for h in re.findall(r"^#{2,3} (.+)$", runbook, flags=re.M)}
    for name, props in {**t.of_type(ALARM), **t.of_type(COMPOSITE)}.items():
        anchor = re.search(r"docs/runbook\.md#([a-z0-9]+)", str(props["AlarmDescription"]))
        assert anchor and anchor.group(1) in sections, name


def test_the_documented_alarm_cost_counts_what_the_template_declares() -> None:
    """docs/deployment.md's monthly cost names the template's counts (they change with every
    function `make alarms` watches): resources, alarms, the metrics they read, composite alarms."""
    t = template()
    work_queues = [q for q in t.resources(QUEUE) if q not in alarms.dead_letter_queues(t)]
    metrics = sum(
        1 if "MetricName" in p else sum(1 for m in p["Metrics"] if "MetricStat" in m) for p in t.of_type(ALARM).values()
    )
    text = " ".join((ROOT / "docs/deployment.md").read_text(encoding="utf-8").split())
    expected = (
        f"{len(t.resources(FUNCTION))} functions, {len(t.resources(TABLE))} tables, {len(work_queues)} work queues, "
        f"{len(t.resources(QUEUE)) - len(work_queues)} dead-letter queues): {len(t.of_type(ALARM))} alarms reading "
        f"{metrics} metrics ({metrics / 10:.2f} USD), {len(t.of_type(COMPOSITE))} composite alarms"
    )
    assert expected in text
