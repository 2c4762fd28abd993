"""HTTP servers in daemon threads: the emulator (moto's server) and, in :mod:`localcloud.server`,
the API gateway. :func:`start_moto` is the one way the local cloud, its Docker tier's backend and
the tests start moto on a host and port.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

__all__ = ["LocalCloudError", "MotoServer", "PortInUseError", "quiet", "serve_in_thread", "start_moto"]


class LocalCloudError(RuntimeError):
    """The local cloud could not start."""


class PortInUseError(LocalCloudError):
    pass


def serve_in_thread(app: Any, host: str, port: int, name: str, request_handler: Any = None) -> tuple[Any, Any]:
    """Bind a threaded werkzeug server now (errors surface here) and serve it in a daemon thread."""
    from werkzeug.serving import make_server

    kwargs = {"request_handler": request_handler} if request_handler else {}
    try:
        server = make_server(host, port, app, threaded=True, **kwargs)
    except (OSError, SystemExit) as exc:
        raise PortInUseError(f"{name}: cannot listen on {host}:{port}: {exc}") from exc
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"localcloud-{name}", daemon=True
    )
    thread.start()
    return server, thread


def quiet(handler_class: Any) -> Any:
    """A werkzeug request handler that logs only errors, not a line per request."""

    class Quiet(handler_class):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            pass

    return Quiet


class MotoServer:
    """moto's server app in this process, with the local cloud's patches
    (:func:`localcloud.patching.install_all`) and state machines really executed."""

    def __init__(self, server: Any, thread: Any, saved_config: dict[str, Any]) -> None:
        self._server = server
        self._thread = thread
        self._saved_config = saved_config
        self.port = int(server.server_address[1])

    @property
    def host(self) -> str:
        """The address it is bound to."""
        return str(self._server.server_address[0])

    @property
    def url(self) -> str:
        """Where this process reaches it (loopback)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What the process that runs moto needs: its ASL interpreter calls DynamoDB & co at
        localhost:$MOTO_PORT."""
        return {"MOTO_PORT": str(self.port)}

    def api(self, action: str, payload: Any = None) -> None:
        """POST to moto's own API (``/moto-api/reset``, ``/moto-api/config``)."""
        body = json.dumps(payload).encode() if payload is not None else b""
        request = urllib.request.Request(f"{self.url}/moto-api/{action}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        from moto.core.config import default_user_config

        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        default_user_config["stepfunctions"] = self._saved_config  # type: ignore[typeddict-item]


def start_moto(
    host: str = "127.0.0.1",
    port: int = 0,
    sync_timeout_seconds: float | None = None,
    log_requests: bool = False,
    task_timeout_scale: float | None = None,
) -> MotoServer:
    """Serve moto on `host`:`port` (0: a free port) from a clean slate, with the patches installed
    and ``execute_state_machine`` on. The same pieces as ``moto.server.ThreadedMotoServer``, but a
    bind error surfaces here (PortInUseError) instead of leaving its start() waiting forever, and
    stop() closes the socket."""
    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    from localcloud.patching import install_all

    install_all(sync_timeout_seconds, task_timeout_scale)
    handler = MotoRequestHandler if log_requests else quiet(MotoRequestHandler)
    server, thread = serve_in_thread(DomainDispatcherApplication(create_backend_app), host, port, "moto", handler)
    moto = MotoServer(server, thread, dict(default_user_config.get("stepfunctions", {})))
    try:
        # moto's state is per process: start from a clean slate, then run state machines for real.
        moto.api("reset")
        moto.api("config", {"stepfunctions": {"execute_state_machine": True}})
    except BaseException:
        moto.stop()
        raise
    return moto
