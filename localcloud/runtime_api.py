"""A small implementation of the Lambda Runtime API, for one execution environment.

Lambda's runtime interface client (``python -m awslambdaric <handler>``, the same client the
``sam local`` image and AWS's Python base image run) polls this API: it asks for the next
invocation, runs the handler, and posts the result or the error. One :class:`RuntimeApi` serves
one worker process, so an environment only ever sees its own function's invocations, one at a
time, as on Lambda.

Paths (under ``/2018-06-01/runtime/``), as documented for custom runtimes:

* ``GET invocation/next`` blocks until :meth:`RuntimeApi.submit` hands it an event;
* ``POST invocation/{id}/response`` and ``POST invocation/{id}/error`` complete it (202);
* ``POST init/error`` reports that the handler could not be loaded (202).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Invocation", "RuntimeApi"]

PREFIX = "/2018-06-01/runtime/"


@dataclass
class Invocation:
    """One event on its way through an environment."""

    request_id: str
    event: bytes
    timeout_s: float
    function_arn: str
    done: threading.Event = field(default_factory=threading.Event)
    started: float | None = None  # monotonic, when the runtime picked it up
    finished: float | None = None
    result: bytes | None = None
    error: dict[str, Any] | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the runtime client reuses its connection
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        api = self.server.api
        if self.path != PREFIX + "invocation/next":
            self._reply(404)
            return
        invocation = api.next_invocation()
        if invocation is None:  # the environment is shutting down
            self.close_connection = True
            self._reply(410)
            return
        deadline_ms = int((time.time() + invocation.timeout_s) * 1000)
        self._reply(
            200,
            invocation.event,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            },
        )

    def do_POST(self) -> None:
        api = self.server.api
        body = self._body()
        path = self.path.removeprefix(PREFIX)
        if path == "init/error":
            api.init_failed(_error_document(body, "Runtime.Unknown"))
            self._reply(202)
            return
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if parts[2] == "response":
                ok = api.complete(parts[1], result=body)
            else:
                ok = api.complete(parts[1], error=_error_document(body, "Runtime.Unknown"))
            self._reply(202 if ok else 400)
            return
        self._reply(404)


def _error_document(body: bytes, default_type: str) -> dict[str, Any]:
    """Lambda's error shape, whatever the runtime sent."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = {"errorMessage": body.decode("utf-8", "replace")}
    if not isinstance(doc, dict):
        doc = {"errorMessage": str(doc)}
    out: dict[str, Any] = {
        "errorMessage": str(doc.get("errorMessage", "")),
        "errorType": str(doc.get("errorType") or default_type),
    }
    if isinstance(doc.get("stackTrace"), list):
        out["stackTrace"] = [str(line) for line in doc["stackTrace"]]
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: RuntimeApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a runtime killed mid-request (timeout, shutdown) resets its connection: nothing to report


class RuntimeApi:
    """The Runtime API of one environment, on a free loopback port (``address`` = host:port)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._queue: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._current: Invocation | None = None
        self.init_done = threading.Event()  # set at the first GET next (or an init error)
        self.init_done_at: float | None = None
        self.init_error: dict[str, Any] | None = None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="runtime-api", daemon=True
        )
        self._thread.start()

    # -- called by the environment's owner
    def submit(self, invocation: Invocation) -> None:
        self._queue.put(invocation)

    def close(self) -> None:
        """Release a runtime blocked in GET next and stop serving (in the background)."""
        self._queue.put(None)
        with self._lock:
            current, self._current = self._current, None
        if current is not None and not current.done.is_set():
            current.error = {"errorMessage": "the execution environment was stopped", "errorType": "Runtime.ExitError"}
            current.done.set()
        threading.Thread(target=self._shutdown, daemon=True).start()

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- called from the handler threads
    def next_invocation(self) -> Invocation | None:
        if not self.init_done.is_set():
            self.init_done_at = time.monotonic()
            self.init_done.set()
        invocation = self._queue.get()
        if invocation is not None:
            invocation.started = time.monotonic()
            with self._lock:
                self._current = invocation
        return invocation

    def complete(self, request_id: str, result: bytes | None = None, error: dict[str, Any] | None = None) -> bool:
        with self._lock:
            current = self._current
            if current is None or current.request_id != request_id:
                return False
            self._current = None
        current.finished = time.monotonic()
        current.result, current.error = result, error
        current.done.set()
        return True

    def init_failed(self, error: dict[str, Any]) -> None:
        self.init_error = error
        self.init_done_at = time.monotonic()
        self.init_done.set()
