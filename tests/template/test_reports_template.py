"""What template.yaml deploys for the reports (issue 22): their own table, fed only by the events
(a rule on the bus -> a queue -> the projector, partial batch responses, a dead-letter queue with
an alarm), a lag alarm whose threshold is a parameter, and no grant on another service's table."""

from __future__ import annotations

from reports.events import SOURCES
from tests.support.apigw import template

REPORT_FUNCTIONS = ("ProjectReportsFunction", "SalesReportFunction", "LowStockReportFunction")


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else str(value).split(".")[0]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_reports_functions_touch_no_other_services_table():
    t = template()
    tables = set(t.resources("AWS::DynamoDB::Table"))
    for name in REPORT_FUNCTIONS:
        props = t.properties(name)
        used = set(_refs(props.get("Policies"))) | set(_refs(props.get("Environment")))
        assert used & tables == {"ReportsTable"}, name


def test_the_events_reach_the_projector_through_a_rule_and_a_queue_with_a_dead_letter_queue():
    t = template()
    rule = t.properties("ReportsRule")
    assert rule["EventBusName"] == {"Ref": "SalesEventBus"}
    assert rule["EventPattern"] == {"source": list(SOURCES)}
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": ["ReportsQueue", "Arn"]}]
    (source,) = [s for s in t.sqs_event_sources() if s.function == "ProjectReportsFunction"]
    assert (source.queue, source.report_batch_item_failures) == ("ReportsQueue", True)
    redrive = t.properties("ReportsQueue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReportsDeadLetterQueue", "Arn"]}
    alarm = t.properties("ReportsDeadLetterAlarm")
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ReportsDeadLetterQueue", "QueueName"]}
    policy = t.properties("ReportsQueuePolicy")["PolicyDocument"]["Statement"][0]
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["ReportsRule", "Arn"]}


def test_the_lag_alarm_watches_the_lag_metric_and_the_queue_with_a_parameter_threshold():
    t = template()
    alarm = t.properties("ReportsLagAlarm")
    assert alarm["Threshold"] == {"Ref": "ReportsLagAlarmSeconds"}
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    assert metrics["lag"]["MetricStat"]["Metric"]["MetricName"] == "ReportsLag"
    assert metrics["waiting"]["MetricStat"]["Metric"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert metrics["behind"]["Expression"] == "MAX([lag, waiting])" and metrics["behind"]["ReturnData"]
    assert t.parameters["ReportsLagAlarmSeconds"]["Default"] == 300
