"""Secrets Manager's rotation protocol for a key of our own (the cursor-signing key).

Secrets Manager calls the rotation function four times per rotation, each with the same
``ClientRequestToken`` (the new version's id), which it has already attached to the secret with
the ``AWSPENDING`` label:

* ``createSecret``: store a new random key as that version (unless a retried call did already);
* ``setSecret``: nothing -- no other system holds the key, so there is nothing to configure;
* ``testSecret``: the pending key is one the list functions accept (long enough, not the current);
* ``finishSecret``: move ``AWSCURRENT`` to it; Secrets Manager moves ``AWSPREVIOUS`` to the old one.

Every step may be called again (Secrets Manager retries a failed step), so each is idempotent.
Readers sign with ``AWSCURRENT`` and also accept ``AWSPREVIOUS`` (``sales_common.listing``), so
cursors handed out before a rotation keep working until the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sales_common.listing import MIN_KEY_CHARS
from sales_common.settings import FunctionSettings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

KEY_CHARS = 64
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


class RotationSettings(FunctionSettings):
    """The one secret this function may rotate."""

    CURSOR_SECRET_ID: str = Field(min_length=1, description="ARN (or name) of the cursor-signing secret")


class RotationRefused(ValueError):
    """Secrets Manager asked for something this function must not do (Secrets Manager records the
    failed step, and the secret keeps its current version)."""


@dataclass(frozen=True)
class Rotation:
    client: SecretsManagerClient
    secret_id: str  # as Secrets Manager sends it (its ARN)
    token: str  # the pending version's id

    def run(self, step: str) -> str:
        """Run one step; returns what it did (for the log)."""
        action = self._steps().get(step)
        if action is None:
            raise RotationRefused(f"unknown rotation step {step!r}")
        stages = self._stages()
        if CURRENT in stages.get(self.token, []):
            return "already current"
        if PENDING not in stages.get(self.token, []):
            raise RotationRefused(f"version {self.token} is not pending rotation")
        return action()

    def _steps(self) -> dict[str, Callable[[], str]]:
        return {
            "createSecret": self.create,
            "setSecret": lambda: "nothing to set: the key is ours alone",
            "testSecret": self.test,
            "finishSecret": self.finish,
        }

    def _stages(self) -> dict[str, list[str]]:
        metadata = self.client.describe_secret(SecretId=self.secret_id)
        if not metadata.get("RotationEnabled"):
            raise RotationRefused(f"rotation is not enabled for {self.secret_id}")
        return {version: list(stages) for version, stages in metadata.get("VersionIdsToStages", {}).items()}

    def create(self) -> str:
        self.client.get_secret_value(SecretId=self.secret_id, VersionStage=CURRENT)  # the secret is readable
        if self._pending_value() is not None:
            return "pending key exists"
        key = self.client.get_random_password(PasswordLength=KEY_CHARS, ExcludePunctuation=True)["RandomPassword"]
        self.client.put_secret_value(
            SecretId=self.secret_id, ClientRequestToken=self.token, SecretString=key, VersionStages=[PENDING]
        )
        return "pending key created"

    def test(self) -> str:
        pending = self._pending_value()
        current = self.client.get_secret_value(SecretId=self.secret_id, VersionStage=CURRENT)["SecretString"]
        if pending is None or len(pending) < MIN_KEY_CHARS or pending == current:
            raise RotationRefused(f"the pending key of {self.secret_id} is not a usable new key")
        return "pending key is usable"

    def finish(self) -> str:
        current = next(v for v, stages in self._stages().items() if CURRENT in stages)
        self.client.update_secret_version_stage(
            SecretId=self.secret_id, VersionStage=CURRENT, MoveToVersionId=self.token, RemoveFromVersionId=current
        )
        return f"pending key is current; {current} is previous"

    def _pending_value(self) -> str | None:
        try:
            answer: Any = self.client.get_secret_value(
                SecretId=self.secret_id, VersionId=self.token, VersionStage=PENDING
            )
        except self.client.exceptions.ResourceNotFoundException:
            return None
        value = answer.get("SecretString")
        return value if isinstance(value, str) else None


def is_the_configured_secret(client: SecretsManagerClient, secret_id: str, settings: RotationSettings) -> bool:
    """Whether `secret_id` (an ARN or a name) is the secret this function is configured for; only
    that one is described (the function may not read any other)."""
    metadata = client.describe_secret(SecretId=settings.CURSOR_SECRET_ID)
    return secret_id in (metadata.get("ARN"), metadata.get("Name"))
