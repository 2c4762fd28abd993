"""An in-process stand-in for SAM CLI's Docker ``LambdaRuntime``.

``LocalLambdaRunner(local_runtime=InProcessRuntime(...), ...)`` keeps SAM's own template parsing,
Globals, intrinsic resolution, ``--env-vars`` overrides and event shapes; only the "run the
handler" step happens here, in this process:

* the function's environment (as SAM resolved it, plus the local cloud's fixed variables) is
  applied with :func:`localcloud.envoverlay.overlay` -- a per-invocation view of ``os.environ``;
  the process environment is never mutated per request;
* the handler module is imported from the function's CodeUri and its layers' directories, and
  re-imported when a source file under those directories changed (mtime), under a lock;
* the handler's return value is written to SAM's stdout stream as JSON; an exception is written
  as Lambda's error document (SAM's gateway turns that into ``500 {"message": "Internal server
  error"}``) and its traceback goes to stderr.
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from localcloud import envoverlay

__all__ = ["InProcessRuntime", "LambdaContext", "ModuleReloader"]

LOG = logging.getLogger(__name__)


class LambdaContext:
    """The attributes of the Lambda context object that handler code (and Powertools) use."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: float, region: str, account: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = int(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "$LATEST"
        self.identity = None
        self.client_context = None
        self.tenant_id: str | None = None
        self._deadline = time.monotonic() + float(timeout_s)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class ModuleReloader:
    """Imports handlers from source roots; drops every module under those roots when one changed."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._roots: list[str] = []
        self._mtimes: dict[str, float] = {}  # file -> mtime when first seen
        self._handlers: dict[str, Callable[..., Any]] = {}
        # Idle "containers" per handler: extra module instances for concurrent invocations.
        self._idle: dict[str, list[Callable[..., Any]]] = {}
        self._generation = 0
        self._added_to_path: list[str] = []
        self._preexisting = set(sys.modules)  # close() leaves these alone (tests may hold them)

    def add_roots(self, roots: Iterable[str]) -> None:
        with self._lock:
            for root in roots:
                root = os.path.realpath(root)
                if root not in self._roots:
                    self._roots.append(root)
                    self._added_to_path.append(root)
                    sys.path.insert(0, root)
                    self._evict_shadowed(root)

    def _evict_shadowed(self, root: str) -> None:
        """Forget modules named like this root's top-level packages but loaded from elsewhere
        (e.g. a previous LocalCloud on another project in the same test process)."""
        try:
            names = {
                entry.name.removesuffix(".py")
                for entry in os.scandir(root)
                if entry.name.endswith(".py") or os.path.isfile(os.path.join(entry.path, "__init__.py"))
            }
        except OSError:
            return
        for name, module in list(sys.modules.items()):
            if name.split(".", 1)[0] not in names:
                continue
            file = getattr(module, "__file__", None)
            if file and not os.path.realpath(file).startswith(root + os.sep):
                sys.modules.pop(name, None)

    def close(self) -> None:
        """Drop the handler modules and the sys.path entries this reloader added."""
        with self._lock:
            for name in self._own_modules():
                if name not in self._preexisting:
                    sys.modules.pop(name, None)
            for root in self._added_to_path:
                with contextlib.suppress(ValueError):
                    sys.path.remove(root)
            self._added_to_path.clear()
            self._roots.clear()
            self._handlers.clear()
            self._idle.clear()
            self._mtimes.clear()

    def _own_modules(self) -> dict[str, str]:
        own: dict[str, str] = {}
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if not file:
                continue
            real = os.path.realpath(file)
            if any(real.startswith(root + os.sep) for root in self._roots):
                own[name] = real
        return own

    def _changed(self) -> bool:
        for file, mtime in self._mtimes.items():
            try:
                if os.stat(file).st_mtime != mtime:
                    return True
            except OSError:
                return True
        return False

    def _snapshot(self) -> None:
        self._mtimes = {}
        for file in self._own_modules().values():
            with contextlib.suppress(OSError):
                self._mtimes[file] = os.stat(file).st_mtime

    def get_handler(self, handler: str) -> Callable[..., Any]:
        """``"products.handlers.get_product.handler"`` -> the function (fresh if sources changed)."""
        with self._lock:
            if self._changed():
                for name in self._own_modules():
                    sys.modules.pop(name, None)
                self._handlers.clear()
                self._idle.clear()
                self._generation += 1
                importlib.invalidate_caches()
                LOG.info("source changed: reloading handler modules")
            fn = self._handlers.get(handler)
            if fn is None:
                module_name, _, attr = handler.rpartition(".")
                if not module_name:
                    raise ImportError(f"handler {handler!r} must look like 'package.module.function'")
                module = importlib.import_module(module_name)
                fn = getattr(module, attr)
                self._handlers[handler] = fn
                self._snapshot()
            return fn

    @contextlib.contextmanager
    def container(self, handler: str) -> Iterator[Callable[..., Any]]:
        """A handler instance that serves one invocation at a time, as a Lambda container does.

        Handler modules keep per-invocation state (powertools' resolver holds the current event
        on its `app`), so concurrent invocations of one function must not share a module
        instance. The first instance is the imported module; when it is busy, another instance
        of the same module is executed from source (sharing the imported service/layer modules)
        and kept warm for reuse.
        """
        with self._lock:
            primary = self.get_handler(handler)
            generation = self._generation
            idle = self._idle.setdefault(handler, [primary])
            fn = idle.pop() if idle else None
        if fn is None:
            fn = self._fresh_instance(handler)
        try:
            yield fn
        finally:
            with self._lock:
                if generation == self._generation:
                    self._idle.setdefault(handler, []).append(fn)

    @staticmethod
    def _fresh_instance(handler: str) -> Callable[..., Any]:
        module_name, _, attr = handler.rpartition(".")
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, attr)  # type: ignore[no-any-return]


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class InProcessRuntime:
    """SAM ``local_runtime`` that calls handlers in this process.

    :param fixed_env: variables every function gets on top of SAM's resolution (endpoint URL,
        dummy credentials, region...). They win over the template and ``--env-vars``.
    :param code_roots_extra: additional import roots (e.g. ``layers/shared``) for every function.
    """

    def __init__(
        self,
        fixed_env: Mapping[str, str] | None = None,
        code_roots_extra: Iterable[str] = (),
        cwd: str | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.fixed_env = dict(fixed_env or {})
        self.cwd = cwd or os.getcwd()
        self.region = region
        self.account = account
        self.reloader = ModuleReloader()
        self.reloader.add_roots(code_roots_extra)

    # SAM passes: function_config, event, tenant_id, invocation_type=, durable_execution_name=,
    # debug_context=, stdout=, stderr=, container_host=, container_host_interface=,
    # extra_hosts=, container_dns= ... (more keywords appear between releases: **kwargs).
    def invoke(
        self,
        function_config: Any,
        event: str,
        tenant_id: str | None = None,
        *args: Any,
        stdout: Any = None,
        stderr: Any = None,
        **kwargs: Any,
    ) -> None:
        env = function_config.env_vars.resolve()  # before the overlay: SAM reads the shell env
        env.update(self.fixed_env)
        self.reloader.add_roots(self._code_roots(function_config))
        started = time.monotonic()
        # A copied context per invocation: nothing set during the call outlives it.
        result_doc = contextvars.copy_context().run(
            self._invoke_in_context, function_config, event, tenant_id, env, stderr
        )
        elapsed = time.monotonic() - started
        if elapsed > float(function_config.timeout):
            self._write(
                stderr,
                f"WARNING {function_config.name} took {elapsed:.2f}s, over its Timeout of "
                f"{function_config.timeout}s (on AWS it would have been killed)\n",
            )
        if stdout is not None:
            stdout.write_str(result_doc)
            stdout.flush()
        return None

    def _invoke_in_context(
        self, function_config: Any, event: str, tenant_id: str | None, env: dict[str, str], stderr: Any
    ) -> str:
        with envoverlay.overlay(env):
            try:
                with self.reloader.container(function_config.handler) as handler:
                    context = LambdaContext(
                        function_config.name,
                        function_config.memory,
                        function_config.timeout,
                        self.region,
                        self.account,
                    )
                    context.tenant_id = tenant_id
                    result = handler(json.loads(event), context)
                return json.dumps(result, default=_json_default)
            except Exception as exc:  # a handler error must become a 500, not crash the server
                return self._report_error(function_config.name, exc, stderr)

    def _code_roots(self, function_config: Any) -> list[str]:
        roots: list[str] = []
        if function_config.code_abs_path:
            roots.append(function_config.code_abs_path)
        for layer in function_config.layers or []:
            codeuri = getattr(layer, "codeuri", None)
            if not codeuri:
                continue
            path = Path(codeuri)
            if not path.is_absolute():
                path = Path(self.cwd) / path
            roots.append(str(path / "python") if (path / "python").is_dir() else str(path))
        return roots

    def _report_error(self, function_name: str, exc: BaseException, stderr: Any) -> str:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._write(stderr, f"ERROR in {function_name}: unhandled exception\n{tb}")
        # Lambda's error document; SAM's gateway answers 500 {"message":"Internal server error"}.
        return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})

    @staticmethod
    def _write(stream: Any, text: str) -> None:
        if stream is not None and hasattr(stream, "write_str"):
            stream.write_str(text)
            stream.flush()
        else:
            sys.stderr.write(text)
            sys.stderr.flush()
