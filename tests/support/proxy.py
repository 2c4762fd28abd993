"""A faulty network between a function and AWS, for black-box tests of the local cloud.

Point a function at :class:`FaultyEndpoint` (its ``AWS_ENDPOINT_URL``, through ``--env-vars``)
and every AWS request it makes passes through here to the emulator. A rule, chosen by the
request's ``X-Amz-Target`` (and optionally its body), can:

* ``drop_answer``: forward the request (it is applied) and close the connection instead of
  answering -- the caller sees a connection error after the work was done;
* ``fail``: answer an AWS error without forwarding (the request is not applied);
* ``hold``: wait until the test releases it, then forward (to change something in between).

Nothing in the local cloud or the product knows about it: it is the network.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Rule:
    target: str  # X-Amz-Target, e.g. "AWSStepFunctions.StartSyncExecution"
    action: str  # drop_answer | fail | hold
    when: Callable[[bytes], bool] | None = None
    times: int | None = None
    status: int = 500
    error: str = "InternalServerError"
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hits: int = 0

    def matches(self, target: str, body: bytes) -> bool:
        if target != self.target or (self.times is not None and self.hits >= self.times):
            return False
        return self.when is None or self.when(body)


class FaultyEndpoint:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultyEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for rule in self.rules:
            rule.release.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, target: str, action: str, **kwargs: Any) -> Rule:
        rule = Rule(target, action, **kwargs)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            for rule in self.rules:
                rule.release.set()
            self.rules.clear()

    def _match(self, target: str, body: bytes) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(target, body):
                    rule.hits += 1
                    return rule
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                rule = endpoint._match(target, body)
                if rule is not None and rule.action == "fail":
                    self._answer(rule.status, {"Content-Type": "application/x-amz-json-1.0"}, _error(rule.error))
                    return
                if rule is not None and rule.action == "hold":
                    rule.arrived.set()
                    rule.release.wait(60)
                status, headers, answer = endpoint._forward(self.command, self.path, dict(self.headers), body)
                if rule is not None and rule.action == "drop_answer":
                    rule.arrived.set()
                    self.close_connection = True  # the work was done; the answer never arrives
                    return
                self._answer(status, headers, answer)

            do_GET = do_POST

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "connection", "server", "date"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def _error(code: str) -> bytes:
    import json

    return json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected by the test network"}
    ).encode()
