"""What GET /api/me answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Me(BaseModel):
    """The signed-in user, as their access token says."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(description="The user's immutable id.")
    username: str = Field(description="What `createdBy`/`updatedBy` record for this user (`createdBy=me`).")
    email: str | None = Field(
        description=(
            "The token's `email` claim; null when the token has none (Cognito's access tokens carry it only "
            "when a pre token generation trigger adds it)."
        )
    )
    groups: list[str] = Field(description="The user's groups (`cognito:groups`), sorted.")
