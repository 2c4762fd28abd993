"""StartSyncExecution for moto 5.2.5, in one small place.

moto's bundled ASL interpreter can run Express workflows, but its HTTP layer does not route
``StartSyncExecution``. :func:`install` adds that action to moto's StepFunctions response class:
it starts an execution (which moto runs in a worker thread when
``{"stepfunctions": {"execute_state_machine": True}}`` is configured), waits for it to finish
(bounded), and answers with the ``StartSyncExecution`` response shape.

As on AWS, an Express execution is **not deduplicated by its name**: every call starts a new
execution, even with the name and input of one that ran (or runs) already -- what happens when an
SDK retries the call after a lost response, or a client replays an input. (moto's StartExecution
refuses a finished execution's name and joins a running one with the same name and input, as
Standard workflows do; that hid replays.) Each execution gets an Express-style ARN,
``arn:aws:states:<region>:<account>:express:<state machine>:<name>:<uuid>``, which
DescribeExecution and GetExecutionHistory accept here (on AWS, Express executions are read from
their CloudWatch log instead).

It also teaches moto's decorator mode the ``sync-states.<region>.amazonaws.com`` host that botocore
uses for this operation (the ``sync-`` host prefix). Against a custom endpoint (moto server mode)
the prefix cannot be served at all -- ``http://sync-127.0.0.1:port`` does not resolve -- so local
environments must set ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (see :data:`LOCAL_ENV`).

This is local/test configuration only; production handler code calls ``start_sync_execution``
unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
import time
import uuid
from typing import Any

from localcloud.patching import patch

__all__ = ["LOCAL_ENV", "install", "set_timeout"]

#: Environment that boto3 clients talking to a *custom endpoint* need for StartSyncExecution.
LOCAL_ENV = {"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}

#: Upper bound for one synchronous execution (Express workflows are capped at 5 minutes on AWS).
DEFAULT_TIMEOUT_SECONDS = 300.0

_SYNC_URL_BASE = r"https?://sync-states\.(.+)\.amazonaws.com"
_timeout_seconds = DEFAULT_TIMEOUT_SECONDS


def set_timeout(seconds: float) -> None:
    """Bound every later StartSyncExecution wait at `seconds`."""
    global _timeout_seconds
    _timeout_seconds = float(seconds)


@patch
def install() -> None:
    """Add ``start_sync_execution`` to moto's StepFunctions responses. Idempotent, thread-safe.

    Call it before the first StartSyncExecution request: in a pytest fixture (decorator mode) or
    in the process that serves moto (server mode; in-process only -- a separately started
    ``moto_server`` process is not patched). :func:`localcloud.patching.install_all` does.
    """
    from moto import backend_index
    from moto.stepfunctions import urls
    from moto.stepfunctions.responses import StepFunctionResponse

    if _SYNC_URL_BASE not in urls.url_bases:
        urls.url_bases.append(_SYNC_URL_BASE)
    if not any(p.pattern == _SYNC_URL_BASE for _, p in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("stepfunctions", re.compile(_SYNC_URL_BASE)))
    StepFunctionResponse.start_sync_execution = _start_sync_execution  # type: ignore[attr-defined]
    _accept_express_arns()


def _accept_express_arns() -> None:
    """DescribeExecution & co. accept ``...:express:<machine>:<name>:<uuid>`` ARNs too."""
    from moto.stepfunctions.models import StepFunctionBackend

    pattern = StepFunctionBackend.accepted_exec_arn_format.pattern
    if ":(execution|express):" not in pattern:
        StepFunctionBackend.accepted_exec_arn_format = re.compile(
            pattern.replace(":execution:", ":(execution|express):")
        )


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _start_sync_execution(self: Any) -> Any:
    """Bound as ``StepFunctionResponse.start_sync_execution``."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    backend = self.stepfunction_backend
    if not isinstance(backend, StepFunctionsParserBackend):
        raise _error(
            "ValidationException",
            "StartSyncExecution needs moto to execute state machines: use "
            'mock_aws(config={"stepfunctions": {"execute_state_machine": True}}) or POST that '
            "config to /moto-api/config in server mode.",
        )
    arn = self._get_param("stateMachineArn")
    state_machine = backend.describe_state_machine(arn)
    # moto keeps the requested type in ``.type`` (its ``sm_type`` is always "STANDARD").
    if getattr(state_machine, "type", "STANDARD") != "EXPRESS":
        raise _error(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
    # moto 5.2.5 names every unnamed execution "None": always pass a unique name.
    name = self._get_param("name") or uuid.uuid4().hex
    execution_input = self._get_param("input", if_none="{}")
    execution = _start_express_execution(backend, state_machine, name, execution_input)
    timed_out = not _wait(execution, _timeout_seconds)
    return ActionResult(_sync_output(execution, timed_out))


def _start_express_execution(backend: Any, state_machine: Any, name: str, execution_input: str) -> Any:
    """moto's ``StepFunctionsParserBackend.start_execution`` without its name-based
    deduplication (Standard workflows only, on AWS), under a unique Express-style ARN."""
    import datetime

    from moto.stepfunctions.parser.backend.execution import Execution

    try:
        json.loads(execution_input)
    except ValueError as exc:
        raise _error("InvalidExecutionInput", str(exc)) from exc
    # A snapshot of the definition for this execution, as moto takes one: without the other
    # executions (live threads) and sharing the backend (see moto's start_execution).
    snapshot = copy.deepcopy(
        state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend}
    )
    arn = (
        f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
        f"{state_machine.name}:{name}:{uuid.uuid4()}"
    )
    execution = Execution(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=arn,
        account_id=backend.account_id,
        region_name=backend.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=execution_input,
        trace_header=None,
        activity_store={},
    )
    state_machine.executions.append(execution)
    execution.start()
    return execution


def _status_of(execution: Any) -> str | None:
    status = getattr(execution, "exec_status", None)
    return None if status is None else getattr(status, "value", str(status))


def _wait(execution: Any, timeout_seconds: float) -> bool:
    """Poll until the execution leaves RUNNING; False (after stopping it) if the bound is hit."""
    deadline = time.monotonic() + timeout_seconds
    delay = 0.001
    while _status_of(execution) in (None, "RUNNING", "PENDING_REDRIVE"):
        if time.monotonic() >= deadline:
            # best effort: the worker may not have set up its environment yet
            with contextlib.suppress(Exception):
                execution.stop(stop_date=_now(), error="States.Timeout", cause="StartSyncExecution bound hit")
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    return True


def _now() -> Any:
    import datetime

    return datetime.datetime.now(tz=datetime.UTC)


def _sync_output(execution: Any, timed_out: bool = False) -> dict[str, Any]:
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    status = "TIMED_OUT" if timed_out else _status_of(execution)
    sync_status = status if status in ("SUCCEEDED", "TIMED_OUT") else "FAILED"
    start, stop = execution.start_date, execution.stop_date or _now()
    duration_ms = max(0.0, (stop - start).total_seconds() * 1000)
    out: dict[str, Any] = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "startDate": start,
        "stopDate": stop,
        "status": sync_status,
        "input": to_json_str(execution.input_data, separators=(",", ":")),
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(100, math.ceil(duration_ms / 100.0) * 100),
        },
    }
    if sync_status == "SUCCEEDED":
        out["output"] = to_json_str(execution.output, separators=(",", ":"))
        out["outputDetails"] = {"included": True}
    if execution.error is not None:
        out["error"] = execution.error
    if execution.cause is not None:
        out["cause"] = execution.cause
    if sync_status == "TIMED_OUT":
        out.setdefault("error", "States.Timeout")
        out.setdefault("cause", "The execution timed out")
    return out
