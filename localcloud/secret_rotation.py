"""Secrets Manager rotation in the emulator, as AWS runs it.

* ``RotateSecret`` with a ``RotationLambdaARN`` invokes the rotation function once per step
  (createSecret, setSecret, testSecret, finishSecret). moto would invoke it through its own Lambda
  backend, which runs functions in Docker; here a function the local cloud (or a test) has
  registered with :func:`serve` is invoked instead, as the local cloud invokes any function.
* ``UpdateSecretVersionStage`` moving ``AWSCURRENT`` makes that version the one ``GetSecretValue``
  returns without a stage (moto kept returning the old one), and ends the rotation: the version
  loses ``AWSPENDING``, so the next ``RotateSecret`` is not refused as "still in progress".
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any

from localcloud.patching import patch

__all__ = ["install", "serve", "stop_serving"]

Invoker = Callable[[dict[str, Any]], Any]
_functions: dict[str, Invoker] = {}
_lock = threading.Lock()


def serve(function_arn: str, invoker: Invoker) -> None:
    """Invocations of `function_arn` (by the emulator's Secrets Manager) call `invoker(event)`."""
    with _lock:
        _functions[function_arn] = invoker


def stop_serving(function_arn: str | None = None) -> None:
    with _lock:
        if function_arn is None:
            _functions.clear()
        else:
            _functions.pop(function_arn, None)


def _served(name_or_arn: str) -> Invoker | None:
    with _lock:
        return _functions.get(name_or_arn)


@patch
def install() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.secretsmanager.models import SecretsManagerBackend

    get_function = LambdaBackend.get_function
    invoke = LambdaBackend.invoke

    @functools.wraps(get_function)
    def get_served_function(self: Any, function_name_or_arn: str, qualifier: str | None = None) -> Any:
        if _served(function_name_or_arn) is not None:
            return function_name_or_arn  # rotate_secret only asks whether it exists
        return get_function(self, function_name_or_arn, qualifier)

    @functools.wraps(invoke)
    def invoke_served(
        self: Any, function_name: str, qualifier: str | None, body: Any, *args: Any, **kwargs: Any
    ) -> Any:
        served = _served(function_name)
        if served is None:
            return invoke(self, function_name, qualifier, body, *args, **kwargs)
        return json.dumps(served(json.loads(body) if isinstance(body, str | bytes) else body))

    LambdaBackend.get_function = get_served_function  # type: ignore[method-assign]
    LambdaBackend.invoke = invoke_served  # type: ignore[method-assign]

    update_stage = SecretsManagerBackend.update_secret_version_stage

    @functools.wraps(update_stage)
    def update_secret_version_stage(
        self: Any, secret_id: str, version_stage: str, remove_from_version_id: str, move_to_version_id: str
    ) -> Any:
        result = update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            secret = self.secrets[secret_id]
            secret.default_version_id = move_to_version_id
            version = secret.versions[move_to_version_id]
            secret.secret_string = version.get("secret_string")
            # A finished rotation: AWSPENDING leaves the new current version (one of the two end
            # states AWS accepts; moto takes the other one for a rotation still in progress).
            if "AWSPENDING" in version["version_stages"]:
                version["version_stages"].remove("AWSPENDING")
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]
