"""The list-endpoint contract shared by every service: `limit` + opaque `cursor` in, a plain
JSON array out, and a `Link: <...>; rel="next"` header while more pages remain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from sales_common import aws
from sales_common.api import json_response
from sales_common.dynamo import EntityStore
from sales_common.errors import ConfigurationError
from sales_common.pagination import decode_cursor, encode_cursor, link_header
from sales_common.settings import ServiceSettings, load_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SECRET_MAX_AGE = 300
MIN_KEY_CHARS = 32

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (default {DEFAULT_LIMIT}).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Opaque cursor from the previous page's Link; valid for that list and filter only "
        "(empty: the first page).",
    ),
]

T = TypeVar("T")


class CursorSettings(ServiceSettings):
    """List functions also need the secret that signs their cursors."""

    CURSOR_SECRET_ID: str = Field(min_length=1, description="ARN (or name) of the cursor signing secret")


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    cursor: str | None


def scope_of(path: str, filters: Mapping[str, Any] | None = None) -> str:
    """What a cursor is bound to: the list's path and its filters (in a canonical order)."""
    from urllib.parse import urlencode

    given = {k: str(v) for k, v in sorted((filters or {}).items()) if v is not None}
    return f"{path}?{urlencode(given)}"


_providers: dict[int, Any] = {}


def _secrets_provider(settings: CursorSettings) -> Any:
    """powertools' SecretsProvider over the shared client for these settings' endpoint and region
    (one per client, so an emulator restarted on another port never meets a stale client)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws.client("secretsmanager", settings)
    provider = _providers.get(id(client))
    if provider is None:
        provider = _providers.setdefault(id(client), SecretsProvider(boto3_client=client))
    return provider


def signing_key() -> str:
    """The deployment's cursor key, from the Secrets Manager secret CURSOR_SECRET_ID names. Read
    once per warm container (powertools' parameters cache, refreshed after SECRET_MAX_AGE seconds,
    so a rotation reaches every container). No default: without the setting the function refuses."""
    settings = load_settings(CursorSettings)
    value = _secrets_provider(settings).get(settings.CURSOR_SECRET_ID, max_age=SECRET_MAX_AGE)
    if not isinstance(value, str) or len(value) < MIN_KEY_CHARS:
        raise ConfigurationError(f"secret {settings.CURSOR_SECRET_ID} is not a string of >= {MIN_KEY_CHARS} characters")
    return value


def forget_signing_keys() -> None:
    """Drop the cached keys: what a new container starts with (tests use it after a rotation)."""
    for provider in _providers.values():
        provider.clear_cache()


def fetch_page[T](
    store: EntityStore,
    limit: int,
    cursor: str | None,
    convert: Callable[[dict[str, Any]], T],
    scope: str,
    **query: Any,
) -> Page[T]:
    """One page; `scope` (see `scope_of`) binds the cursors given and issued to this list and filter."""
    start = decode_cursor(cursor, signing_key(), scope) if cursor else None
    items, last = store.page(limit, start, **query)
    return Page([convert(i) for i in items], encode_cursor(last, signing_key(), scope) if last else None)


def page_response(page: Page[Any], path: str, limit: int, query: Mapping[str, str] | None = None) -> Response[Any]:
    body = [item.model_dump(by_alias=True) for item in page.items]
    link = link_header(path, limit, page.cursor, dict(query or {}))
    return json_response(200, body, headers={"Link": link} if link else None)
