"""localcloud.schedules: scheduled functions from template.yaml, invoked as EventBridge does."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from localcloud import schedules
from localcloud.sam_template import SamTemplate, ScheduleEventSource, TemplateError
from tests.support.apigw import template as project_template


def test_the_templates_schedules():
    assert project_template().schedule_event_sources() == [
        ScheduleEventSource("SweepStaleHoldsFunction", "Sweep", "rate(5 minutes)", True)
    ]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression, seconds):
    assert schedules.rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "cron(0 12 * * ? *)"])
def test_expressions_eventbridge_refuses_or_that_do_not_run_locally(expression):
    with pytest.raises(TemplateError):
        schedules.rate_seconds(expression)


def _template(events):
    return SamTemplate({"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Events": events}}}})


def test_disabled_and_cron_schedules_are_not_run():
    template = _template(
        {
            "Off": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)", "Enabled": False}},
            "Cron": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 12 * * ? *)"}},
        }
    )
    assert [s.enabled for s in template.schedule_event_sources()] == [False, True]
    assert schedules.start_schedulers(template, runner=None) == []


def test_a_schedule_needs_a_literal_expression():
    with pytest.raises(TemplateError, match=r"Events\.E\.Properties\.Schedule"):
        _template({"E": {"Type": "Schedule", "Properties": {"Schedule": {"Ref": "P"}}}}).schedule_event_sources()


def test_the_event_is_eventbridges_scheduled_event():
    source = ScheduleEventSource("Fn", "Tick", "rate(1 minute)", True)
    event = schedules.scheduled_event(source, datetime(2026, 12, 1, 8, 30, 5, 123, tzinfo=UTC))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-12-01T08:30:05Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/FnTick"]
    assert event["detail"] == {}


class FakeRunner:
    def __init__(self):
        self.events = []

    def invoke(self, function, event, stdout=None, stderr=None):
        self.events.append((function, json.loads(event)))
        stdout.write_str(json.dumps({"ok": True}))


def test_a_scheduler_invokes_its_function_every_period():
    runner = FakeRunner()
    scheduler = schedules.Scheduler(ScheduleEventSource("Fn", "Tick", "rate(1 minute)", True), runner)
    scheduler.period = 0.05  # a minute is long for a test
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while len(runner.events) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        schedules.stop_schedulers([scheduler])
    assert [f for f, _ in runner.events[:2]] == ["Fn", "Fn"]
    assert runner.events[0][1]["detail-type"] == "Scheduled Event"
    assert not scheduler.is_alive()


def test_fire_returns_what_the_function_answered():
    scheduler = schedules.Scheduler(ScheduleEventSource("Fn", "Tick", "rate(1 minute)", True), FakeRunner())
    assert json.loads(scheduler.fire()) == {"ok": True}
    assert scheduler.invocations == 1
