"""Concurrent in-process invocations must not see each other's powertools event or metrics."""

from __future__ import annotations

import json
import threading
from contextlib import redirect_stdout
from io import StringIO

from localcloud import invocation_isolation


def test_each_thread_sees_its_own_current_event():
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    invocation_isolation.install()
    app = APIGatewayHttpResolver()
    a_set, b_set = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first():
        BaseRouter.current_event = "event-A"  # what resolve() does
        a_set.set()
        b_set.wait(5)
        seen["A"] = app.current_event

    def second():
        a_set.wait(5)
        BaseRouter.current_event = "event-B"
        b_set.set()
        seen["B"] = app.current_event

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert seen == {"A": "event-A", "B": "event-B"}


def test_each_thread_flushes_only_its_own_metrics(monkeypatch):
    """Two invocations interleaved the way the emulator's threads can interleave them: B
    flushes while A has added a metric but not yet flushed. Each must publish exactly its own
    metric with its own dimension (unpatched, B publishes both and A's flush raises)."""
    from aws_lambda_powertools.metrics import Metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Isolation")
    invocation_isolation.install()
    a_added, b_flushed = threading.Event(), threading.Event()
    out, errors = StringIO(), []

    def invocation(name: str, added: threading.Event, flush_after: threading.Event, flushed: threading.Event) -> None:
        metrics = Metrics(service="isolation")  # one per module instance ("container")
        try:
            metrics.add_dimension(name="who", value=name)
            metrics.add_metric(name=f"Metric{name}", unit="Count", value=1)
            added.set()
            flush_after.wait(5)
            metrics.flush_metrics()
            flushed.set()
        except Exception as exc:
            errors.append(exc)

    with redirect_stdout(out):
        a = threading.Thread(target=invocation, args=("A", a_added, b_flushed, threading.Event()))
        b = threading.Thread(target=invocation, args=("B", threading.Event(), a_added, b_flushed))
        for t in (a, b):
            t.start()
        for t in (a, b):
            t.join(10)

    blobs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert errors == []
    assert sorted((blob["who"], [k for k in blob if k.startswith("Metric")]) for blob in blobs) == [
        ("A", ["MetricA"]),
        ("B", ["MetricB"]),
    ]


def test_install_is_idempotent():
    invocation_isolation.install()
    invocation_isolation.install()
    assert invocation_isolation.install.installed


def test_each_thread_logs_its_own_correlation_id():
    """Two module instances ("containers") of one service share a powertools formatter. A sets
    its correlation id, B sets its own, then A logs: A's line must carry A's id."""
    import logging
    import uuid

    from aws_lambda_powertools import Logger

    invocation_isolation.install()
    out = StringIO()
    service = f"isolation-{uuid.uuid4().hex}"
    loggers = {"A": Logger(service=service, logger_handler=logging.StreamHandler(out)), "B": Logger(service=service)}
    a_set, b_set = threading.Event(), threading.Event()

    def invocation(name: str) -> None:
        logger = loggers[name]
        logger.structure_logs(cold_start=False)  # what inject_lambda_context(clear_state=True) does
        if name == "B":
            a_set.wait(5)
        logger.set_correlation_id(f"request-{name}")
        if name == "A":
            a_set.set()
            b_set.wait(5)
        else:
            b_set.set()
        logger.warning("handled", extra={"who": name})

    threads = [threading.Thread(target=invocation, args=(name,)) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted((line["who"], line["correlation_id"]) for line in lines) == [("A", "request-A"), ("B", "request-B")]
