"""Concurrent in-process invocations must not see each other's powertools event."""

from __future__ import annotations

import threading

from localcloud import router_isolation


def test_each_thread_sees_its_own_current_event():
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    router_isolation.install()
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


def test_install_is_idempotent():
    router_isolation.install()
    router_isolation.install()
    assert router_isolation.install.installed
