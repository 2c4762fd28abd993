"""Lambda-like execution environments in worker processes: SAM's ``local_runtime`` without Docker.

``LocalLambdaRunner(local_runtime=ProcessRuntime(...), ...)`` keeps SAM's own template parsing,
Globals, intrinsic resolution, ``--env-vars`` overrides and event shapes; only the "run the
handler" step is replaced:

* each function gets its own **execution environments**: worker processes running AWS's runtime
  interface client (``python -m awslambdaric <handler>``) against a :class:`RuntimeApi` of their
  own. An environment serves one invocation at a time and is reused while warm; the handler
  module is imported once per environment (a real cold start);
* environments are created on demand, up to ``max_concurrency`` per function; further requests
  wait for one to become free, as under reserved concurrency;
* an environment's variables are exactly its function's (as SAM resolved them) plus what Lambda
  sets (``AWS_LAMBDA_*``, ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ``PYTHONPATH`` with the code and the
  layers, the Runtime API address) and the emulator's endpoint, region and dummy credentials;
* the template's ``Timeout`` is enforced: a handler past it is killed with its environment, and
  the invocation fails as Lambda's does (``Sandbox.Timedout``), which the gateway answers as an
  HTTP API does (:mod:`localcloud.gateway_errors`);
* every invocation logs a REPORT line like Lambda's (with ``Init Duration`` on a cold start);
* a change under a function's code or layer directories retires its warm environments: the next
  invocation cold-starts on the new code;
* idle environments stop after ``idle_timeout`` seconds, and all of them stop with the runtime.
  A worker also exits by itself when the local cloud's process dies (even by SIGKILL): it watches
  its stdin, a pipe whose other end only the local cloud holds.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.runtime_api import Invocation, RuntimeApi

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_CONCURRENCY", "FunctionError", "ProcessRuntime"]

LOG = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_IDLE_TIMEOUT = 300.0
INIT_LIMIT_S = 10.0  # Lambda's init phase limit (then init is retried within the invoke's timeout)
RELOAD_CHECK_INTERVAL_S = 0.5

# The worker's entry point: leave when the local cloud goes away (EOF on stdin), then hand over to
# the runtime interface client exactly as `python -m awslambdaric <handler>` would run.
_BOOT = """\
import os, sys, threading
def _watch_parent():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)
threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
import runpy
sys.argv = ["awslambdaric", *sys.argv[1:]]
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""


class FunctionError(RuntimeError):
    """An invocation failed (handler exception, timeout, init error): Lambda's error document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        super().__init__(f"{document.get('errorType')}: {document.get('errorMessage')}")
        self.document = dict(document)


def _stopping() -> FunctionError:
    return FunctionError({"errorMessage": "the local cloud is stopping", "errorType": "ServiceException"})


@dataclass(frozen=True)
class FunctionSpec:
    """What every environment of one function is started with."""

    name: str
    handler: str
    task_root: str
    env: Mapping[str, str]
    memory_mb: int
    timeout_s: float
    function_arn: str


class Worker:
    """One execution environment: a process running awslambdaric, and its Runtime API."""

    def __init__(self, spec: FunctionSpec, generation: int, python: str) -> None:
        self.spec = spec
        self.generation = generation
        self.api = RuntimeApi()
        self.started = time.monotonic()
        self.last_used = self.started
        self.invocations = 0
        stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y/%m/%d")
        self.log_stream = f"{stamp}/[$LATEST]{uuid.uuid4().hex}"
        env = {**spec.env, "AWS_LAMBDA_RUNTIME_API": self.api.address, "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream}
        self.proc = subprocess.Popen(
            [python, "-u", "-c", _BOOT, spec.handler],
            env=env,
            cwd=spec.task_root,
            stdin=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the local cloud, which stops its workers
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def max_memory_mb(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
        return None

    def run(self, invocation: Invocation) -> bool:
        """Run one invocation; False when the environment must be discarded (timeout, crash...)."""
        cold = self.invocations == 0
        self.invocations += 1
        self.api.submit(invocation)
        if cold and not self._wait_for_init(invocation):
            return False
        limit = invocation.timeout_s
        while not invocation.done.wait(0.25):
            started = invocation.started
            if started is not None and time.monotonic() - started > limit:
                _fail(invocation, "Sandbox.Timedout", f"Task timed out after {limit:.2f} seconds")
                return False
            if not self.alive:
                if not invocation.done.is_set():
                    status = self.proc.returncode
                    _fail(invocation, "Runtime.ExitError", f"Runtime exited with error: exit status {status}")
                return False
        self.last_used = time.monotonic()
        return self.alive

    def _wait_for_init(self, invocation: Invocation) -> bool:
        limit = INIT_LIMIT_S + invocation.timeout_s
        while not self.api.init_done.wait(0.25):
            if not self.alive or time.monotonic() - self.started > limit:
                invocation.error = {
                    "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited without providing a "
                    f"reason"
                    if not self.alive
                    else f"Init timed out after {limit:.2f} seconds",
                    "errorType": "Runtime.ExitError" if not self.alive else "Sandbox.Timedout",
                }
                invocation.done.set()
                return False
        if self.api.init_error is not None:
            invocation.error = self.api.init_error
            invocation.done.set()
            return False
        return True

    @property
    def init_ms(self) -> float | None:
        done = self.api.init_done_at
        return None if done is None else (done - self.started) * 1000

    def stop(self) -> None:
        """Ask the process to leave (EOF on its stdin, then SIGTERM); see :meth:`reap`."""
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        with contextlib.suppress(OSError):
            self.proc.terminate()
        self.api.close()

    def reap(self, timeout: float = 2.0) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()


class CodeWatcher:
    """A generation number that changes when any file under the watched directories changes.

    When a ``.py`` file changed, its cached bytecode is removed: Python validates a ``.pyc`` by the
    source's mtime in whole seconds and its size, so an edit within the same second that keeps the
    size would otherwise run the old code.
    """

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = sorted({os.path.realpath(r) for r in roots})
        self.generation = 0
        self._files = self._scan()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _scan(self) -> dict[str, tuple[int, int]]:
        files: dict[str, tuple[int, int]] = {}
        for root in self.roots:
            for directory, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
                for name in names:
                    path = os.path.join(directory, name)
                    with contextlib.suppress(OSError):
                        st = os.stat(path)
                        files[path] = (st.st_mtime_ns, st.st_size)
        return files

    def check(self, force: bool = False) -> int:
        """The current generation; rescans at most every RELOAD_CHECK_INTERVAL_S (or now, if forced)."""
        now = time.monotonic()
        if (force or now - self._checked >= RELOAD_CHECK_INTERVAL_S) and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                files = self._scan()
                if files != self._files:
                    changed = {p for p in files.keys() | self._files.keys() if files.get(p) != self._files.get(p)}
                    for path in changed:
                        if path.endswith(".py"):
                            with contextlib.suppress(OSError, ValueError):
                                os.remove(importlib.util.cache_from_source(path))
                    self._files = files
                    self.generation += 1
                    LOG.warning("code changed (%s): warm environments retired", ", ".join(sorted(changed)[:3]))
            finally:
                self._lock.release()
        return self.generation


class FunctionPool:
    """The execution environments of one function."""

    def __init__(
        self, spec: FunctionSpec, watcher: CodeWatcher, max_concurrency: int, python: str, report: Callable[..., None]
    ) -> None:
        self.spec = spec
        self.watcher = watcher
        self.max_concurrency = max_concurrency
        self.python = python
        self.report = report
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0  # idle + busy (+ starting)
        self._closed = False
        self.workers_started = 0

    def _acquire(self) -> tuple[Worker, int]:
        generation = self.watcher.check()
        with self._cond:
            while True:
                if self._closed:
                    raise _stopping()
                while self._idle:
                    worker = self._idle.pop()
                    if worker.generation == generation and worker.alive:
                        return worker, generation
                    self._discard_locked(worker)
                if self._count < self.max_concurrency:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            worker = Worker(self.spec, generation, self.python)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._all.add(worker)
            if self._closed:
                self._discard_locked(worker)
                raise _stopping()
        self.workers_started += 1
        return worker, generation

    def _discard_locked(self, worker: Worker) -> None:
        if worker not in self._all:
            return
        self._all.discard(worker)
        self._count -= 1
        worker.stop()
        threading.Thread(target=worker.reap, daemon=True).start()
        self._cond.notify()

    def _release(self, worker: Worker, reusable: bool) -> None:
        with self._cond:
            if reusable and not self._closed and worker.generation == self.watcher.generation:
                self._idle.append(worker)
                self._cond.notify()
            else:
                self._discard_locked(worker)

    def invoke(self, event: bytes) -> Invocation:
        worker, _ = self._acquire()
        invocation = Invocation(uuid.uuid4().hex, event, self.spec.timeout_s, self.spec.function_arn)
        cold = worker.invocations == 0
        reusable = False
        try:
            reusable = worker.run(invocation)
        finally:
            self._release(worker, reusable)
        self.report(self.spec, worker, invocation, cold)
        return invocation

    def retire_idle(self, older_than: float | None) -> None:
        """Stop idle environments unused for ``older_than`` seconds, or of an old code generation."""
        generation = self.watcher.check()
        now = time.monotonic()
        with self._cond:
            keep = []
            for worker in self._idle:
                stale = older_than is not None and now - worker.last_used > older_than
                if stale or worker.generation != generation or not worker.alive:
                    self._discard_locked(worker)
                else:
                    keep.append(worker)
            self._idle = keep

    def close(self) -> list[Worker]:
        with self._cond:
            self._closed = True
            workers, self._all, self._idle = list(self._all), set(), []
            self._count -= len(workers)
            for worker in workers:
                worker.stop()
            self._cond.notify_all()
        return workers

    def pids(self) -> list[int]:
        with self._cond:
            return [w.proc.pid for w in self._all]

    @property
    def size(self) -> int:
        with self._cond:
            return self._count


class ProcessRuntime:
    """SAM ``local_runtime`` whose execution environments are worker processes.

    :param fixed_env: variables every function gets on top of SAM's resolution (endpoint URL,
        dummy credentials, region...). They win over the template and ``--env-vars``.
    :param max_concurrency: environments per function at most (further invocations wait).
    :param idle_timeout: seconds an unused environment stays warm.
    """

    def __init__(
        self,
        fixed_env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        python: str = sys.executable,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.fixed_env = dict(fixed_env or {})
        self.cwd = cwd or os.getcwd()
        self.region = region
        self.account = account
        self.max_concurrency = max_concurrency
        self.idle_timeout = idle_timeout
        self.python = python
        self.log = log
        self._lock = threading.Lock()
        self._pools: dict[str, FunctionPool] = {}
        self._watchers: dict[tuple[str, ...], CodeWatcher] = {}
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-idle-reaper", daemon=True)
        self._reaper.start()

    # SAM passes: function_config, event, tenant_id, invocation_type=, durable_execution_name=,
    # debug_context=, stdout=, stderr=, container_host=, ... (more keywords appear between
    # releases: **kwargs).
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
        pool = self._pool(function_config)
        invocation = pool.invoke(event.encode("utf-8") if isinstance(event, str) else event)
        if invocation.error is not None:
            document = invocation.error
            trace = "".join(document.get("stackTrace") or [])
            self._write(
                stderr,
                f"ERROR in {function_config.name} ({invocation.request_id}): "
                f"{document['errorType']}: {document['errorMessage']}\n{trace}",
            )
            output = json.dumps(document)
        else:
            output = (invocation.result or b"null").decode("utf-8", "replace")
        if stdout is not None:
            stdout.write_str(output)
            stdout.flush()
        return None

    def _pool(self, config: Any) -> FunctionPool:
        pool = self._pools.get(config.name)
        if pool is not None:
            return pool
        with self._lock:
            if self._closed.is_set():
                raise _stopping()
            pool = self._pools.get(config.name)
            if pool is None:
                roots = self.code_roots(config.code_abs_path, config.layers)
                key = tuple(roots)
                watcher = self._watchers.get(key)
                if watcher is None:
                    watcher = self._watchers[key] = CodeWatcher(roots)
                pool = FunctionPool(self._spec(config, roots), watcher, self.max_concurrency, self.python, self._report)
                self._pools[config.name] = pool
        return pool

    def _spec(self, config: Any, roots: list[str]) -> FunctionSpec:
        name = str(config.name)
        task_root = roots[0] if roots else self.cwd
        env = {k: str(v) for k, v in config.env_vars.resolve().items()}
        env.update(self.fixed_env)
        venv_bin = os.path.dirname(self.python)
        env.update(
            {
                "_HANDLER": config.handler,
                "LAMBDA_TASK_ROOT": task_root,
                "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime or 'python3.13'}",
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "PYTHONPATH": os.pathsep.join(roots),
                "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
                "LANG": "C.UTF-8",
                "TZ": ":UTC",
            }
        )
        return FunctionSpec(
            name=name,
            handler=config.handler,
            task_root=task_root,
            env=env,
            memory_mb=int(config.memory or 128),
            timeout_s=float(config.timeout or 3),
            function_arn=f"arn:aws:lambda:{self.region}:{self.account}:function:{name}",
        )

    def code_roots(self, code_abs_path: str | None, layers: Iterable[Any] | None) -> list[str]:
        """The function's code directory, then each layer's (its ``python/`` if it has one)."""
        roots: list[str] = []
        if code_abs_path:
            roots.append(os.path.realpath(code_abs_path))
        for layer in layers or []:
            codeuri = getattr(layer, "codeuri", None)
            if not codeuri:
                continue
            path = Path(codeuri)
            if not path.is_absolute():
                path = Path(self.cwd) / path
            roots.append(os.path.realpath(path / "python") if (path / "python").is_dir() else os.path.realpath(path))
        return roots

    def _report(self, spec: FunctionSpec, worker: Worker, invocation: Invocation, cold: bool) -> None:
        started = invocation.started
        end = invocation.finished or time.monotonic()
        duration = 0.0 if started is None else (end - started) * 1000
        parts = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {math.ceil(duration)} ms",
            f"Memory Size: {spec.memory_mb} MB",
        ]
        used = worker.max_memory_mb()
        if used is not None:
            parts.append(f"Max Memory Used: {used} MB")
        if cold and worker.init_ms is not None:
            parts.append(f"Init Duration: {worker.init_ms:.2f} ms")
        if invocation.error is not None and invocation.error.get("errorType") == "Sandbox.Timedout":
            parts.append("Status: timeout")
        line = f"{spec.name} " + "\t".join(parts)
        if self.log is not None:
            self.log(line)
        else:
            LOG.info(line)

    @staticmethod
    def _write(stream: Any, text: str) -> None:
        if stream is not None and hasattr(stream, "write_str"):
            stream.write_str(text)
            stream.flush()
        else:
            sys.stderr.write(text)
            sys.stderr.flush()

    # -- lifecycle
    def _reap_idle(self) -> None:
        interval = max(0.5, min(5.0, self.idle_timeout / 4))
        while not self._closed.wait(interval):
            for pool in list(self._pools.values()):
                pool.retire_idle(self.idle_timeout)

    def environments(self) -> dict[str, int]:
        """{function: environments running (idle or busy)}."""
        return {name: pool.size for name, pool in self._pools.items() if pool.size}

    def worker_pids(self) -> list[int]:
        return [pid for pool in list(self._pools.values()) for pid in pool.pids()]

    def close(self) -> None:
        """Stop every environment (busy ones are discarded when their invocation returns)."""
        self._closed.set()
        stopped: list[Worker] = []
        for pool in list(self._pools.values()):
            stopped.extend(pool.close())
        for worker in stopped:
            worker.reap()


def _fail(invocation: Invocation, error_type: str, message: str) -> None:
    """End `invocation` with the error document Lambda gives for a failed environment."""
    invocation.error = {"errorMessage": f"RequestId: {invocation.request_id} Error: {message}", "errorType": error_type}
    invocation.done.set()
