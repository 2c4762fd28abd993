"""Task timeouts on an emulator that answers slower than AWS.

A Task's ``TimeoutSeconds`` bounds how long a service integration may take. On AWS, DynamoDB
answers Step Functions in milliseconds, so a 1 s task timeout only fires when something is
really wrong. moto's interpreter answers the same request in tens of milliseconds when the
machine is idle -- and in seconds when it is overloaded (a test suite on two shared cores), when a
1 s timeout fires although nothing is wrong.

:func:`set_scale` stretches every Task's timeout by a factor (default 1: the definition's own
numbers, as on AWS). The state machine's own ``TimeoutSeconds`` is not stretched: it is what the
caller's time budget relies on. ``python -m localcloud --task-timeout-scale K`` sets it for a
local cloud; the test suite runs with :data:`TEST_SCALE` and the tests about task timeouts put
it back to 1 (``tests/support/faults.py``'s ``real_task_timeouts``).

It also makes a timed-out Task fail as on AWS, with ``States.Timeout``: moto's DynamoDB and SQS
integrations turn every exception that is not a ClientError -- the timeout too -- into their own
error (``DynamoDB.AmazonDynamoDBException``), so a Retry or Catch on ``States.Timeout`` never
matched locally.
"""

from __future__ import annotations

from typing import Any

from localcloud.patching import patch

__all__ = ["TEST_SCALE", "install", "scale", "set_scale"]

#: What the test suite uses: a task gets 5 s where AWS would give it 1 s.
TEST_SCALE = 5.0
_scale = 1.0


def set_scale(factor: float) -> None:
    """Stretch every later Task timeout by `factor` (>= 1)."""
    global _scale
    if factor < 1:
        raise ValueError(f"a task timeout scale below 1 would make the emulator stricter than AWS: {factor}")
    _scale = float(factor)


def scale() -> float:
    return _scale


@patch
def install() -> None:
    """Every Task timeout moto evaluates (TimeoutSeconds, TimeoutSecondsPath, JSONata) is scaled,
    and every service integration reports its timeout as States.Timeout."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout

    def _eval_body(self: Any, env: Any) -> None:
        env.stack.append(self._eval_seconds(env=env) * _scale)

    Timeout._eval_body = _eval_body  # type: ignore[method-assign]
    _timeouts_are_states_timeout()


def _timeouts_are_states_timeout() -> None:
    import importlib
    import pkgutil

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import service
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    for info in pkgutil.iter_modules(service.__path__):
        module = importlib.import_module(f"{service.__name__}.{info.name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, StateTaskService) and "_from_error" in vars(cls):
                cls._from_error = _reporting_timeouts(cls._from_error)  # type: ignore[method-assign]


def _reporting_timeouts(from_error: Any) -> Any:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, TimeoutError):
            return self._get_timed_out_failure_event(env)
        return from_error(self, env, ex)

    return _from_error
