"""The list-endpoint contract shared by every service: `limit` + opaque `cursor` in, a plain
JSON array out, and a `Link: <...>; rel="next"` header while more pages remain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from sales_common.api import PlainDigits, json_response
from sales_common.dynamo import EntityStore
from sales_common.pagination import decode_cursor, encode_cursor, link_header

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, PlainDigits, Query(ge=1, le=MAX_LIMIT, description=f"Page size (default {DEFAULT_LIMIT}).")]
Cursor = Annotated[str | None, Query(max_length=2048, description="Opaque cursor from the previous page's Link.")]

T = TypeVar("T")


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    cursor: str | None


def fetch_page[T](
    store: EntityStore,
    limit: int,
    cursor: str | None,
    convert: Callable[[dict[str, Any]], T],
    **query: Any,
) -> Page[T]:
    key = store.settings.CURSOR_SIGNING_KEY
    start = decode_cursor(cursor, key) if cursor else None
    items, last = store.page(limit, start, **query)
    return Page([convert(i) for i in items], encode_cursor(last, key) if last else None)


def page_response(page: Page[Any], path: str, limit: int, query: Mapping[str, str] | None = None) -> Response[Any]:
    body = [item.model_dump(by_alias=True) for item in page.items]
    link = link_header(path, limit, page.cursor, dict(query or {}))
    return json_response(200, body, headers={"Link": link} if link else None)
