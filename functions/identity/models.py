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
            "The user's email address: the access token's `email` claim, which the user pool's pre token "
            "generation trigger adds at every sign-in and refresh (Cognito's access tokens carry none by "
            "themselves). Null for a user without an email, or a token issued without the trigger."
        )
    )
    groups: list[str] = Field(description="The user's groups (`cognito:groups`), sorted.")
