"""Listing, the one contract of every list endpoint: `limit` + opaque `cursor` in, a plain JSON
array out, and a `Link: <...>; rel="next"` header while more pages remain.

A cursor is DynamoDB's LastEvaluatedKey (kept in its typed form), HMAC-signed with the
deployment's secret key (a Secrets Manager secret) over its *scope* (the route and its filters)
and its payload, so it cannot be forged, nor replayed on another list or with other filters.
Each is answered 400. The key rotates (Secrets Manager, functions/rotation/): cursors are signed
with its current version and verified with the current and the previous one, so a cursor handed
out before a rotation keeps working until the next one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from sales_common import aws
from sales_common.api import json_response
from sales_common.dynamo import ENTITY_INDEX, LIST_INDEX, LIST_KEY
from sales_common.errors import BadRequest, ConfigurationError
from sales_common.models import NAME_MAX_LENGTH, SINGLE_LINE, StoredModel
from sales_common.settings import ServiceSettings, load_settings

if TYPE_CHECKING:
    from sales_common.dynamo import EntityStore
    from sales_common.shards import ShardedIndex

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


# ---------------------------------------------------------------- the cursor codec
_SIG_BYTES = 16
_MAX_ATTRIBUTES = 4
_NUMBER = re.compile(r"-?[0-9]{1,38}")


def scope_of(path: str, filters: Mapping[str, Any] | None = None) -> str:
    """What a cursor is bound to: the list's path and its filters (in a canonical order)."""
    from urllib.parse import urlencode

    given = {k: str(v) for k, v in sorted((filters or {}).items()) if v is not None}
    return f"{path}?{urlencode(given)}"


def _signature(key: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), scope.encode() + b"\n" + payload, hashlib.sha256).digest()[:_SIG_BYTES]


def encode_cursor(last_key: Any, key: str, scope: str) -> str:
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(_signature(key, scope, payload) + payload).decode().rstrip("=")


def decode_cursor(
    cursor: str, keys: str | Sequence[str], scope: str, valid: Callable[[Any], bool] | None = None
) -> Any:
    """Return the DynamoDB key the cursor stands for (or, with `valid`, the payload `valid`
    accepts: a sharded list's positions); BadRequest if it was altered, forged, made for another
    list or filter, or signed with none of `keys` (e.g. a key rotated out twice)."""
    invalid = BadRequest(
        "The pagination cursor is invalid (altered, from another list or filter, or expired): follow the "
        'previous page\'s `Link: rel="next"` as it is, or start again from the first page (no cursor).'
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid from exc
    sig, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    candidates = [keys] if isinstance(keys, str) else list(keys)
    if not payload or not any(hmac.compare_digest(sig, _signature(key, scope, payload)) for key in candidates):
        raise invalid
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise invalid from exc
    if not (valid or _is_start_key)(decoded):
        raise invalid
    return decoded


def _is_start_key(value: Any) -> bool:
    """A DynamoDB key as LastEvaluatedKey gives it: a few attributes, each {"S": str} or {"N": int}.
    Checked even though it is signed: a key whose structure boto3 refuses must be a 400, not a 500."""
    if not isinstance(value, dict) or not 0 < len(value) <= _MAX_ATTRIBUTES:
        return False
    for name, typed in value.items():
        if not isinstance(name, str) or not isinstance(typed, dict) or len(typed) != 1:
            return False
        ((kind, text),) = typed.items()
        if not isinstance(text, str) or not 0 < len(text) <= 1024:
            return False
        if kind == "N" and not _NUMBER.fullmatch(text):
            return False
        if kind not in ("S", "N"):
            return False
    return True


# ---------------------------------------------------------------- signing key
class CursorSettings(ServiceSettings):
    """List functions also need the secret that signs their cursors."""

    CURSOR_SECRET_ID: str = Field(min_length=1, description="ARN (or name) of the cursor signing secret")


CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
#: A cursor no cached key verifies makes the keys be read again, at most this often per container
#: (a container that cached the key before a rotation then accepts cursors of the new one).
REFRESH_AFTER_SECONDS = 10

_providers: dict[tuple[int, str], Any] = {}
_verification: dict[str, tuple[float | None, list[str]]] = {}  # secret id: (read at, keys)


def _secrets_provider(settings: CursorSettings, stage: str) -> Any:
    """powertools' SecretsProvider over the shared client for these settings' endpoint and region
    (one per client, so an emulator restarted on another port never meets a stale client), one per
    version stage (its cache is keyed by the secret's name alone)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws.client("secretsmanager", settings)
    provider = _providers.get((id(client), stage))
    if provider is None:
        provider = _providers.setdefault((id(client), stage), SecretsProvider(boto3_client=client))
    return provider


def _read_key(settings: CursorSettings, stage: str, force: bool = False) -> str | None:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = _secrets_provider(settings, stage)
    try:
        value = provider.get(settings.CURSOR_SECRET_ID, max_age=SECRET_MAX_AGE, force_fetch=force, VersionStage=stage)
    except GetParameterError:
        if stage == PREVIOUS:  # never rotated yet
            return None
        raise
    if not isinstance(value, str) or len(value) < MIN_KEY_CHARS:
        raise ConfigurationError(f"secret {settings.CURSOR_SECRET_ID} is not a string of >= {MIN_KEY_CHARS} characters")
    return value


def signing_key() -> str:
    """The key new cursors are signed with: the current version of the Secrets Manager secret
    CURSOR_SECRET_ID names, read once per warm container (powertools' parameters cache, refreshed
    after SECRET_MAX_AGE seconds). No default: without the setting the function refuses."""
    settings = load_settings(CursorSettings)
    key = _read_key(settings, CURRENT)
    if key is None:
        raise ConfigurationError(f"secret {settings.CURSOR_SECRET_ID} has no current version")
    return key


def verification_keys(refresh: bool = False) -> list[str]:
    """The keys a cursor may be signed with: the current and, once the secret has rotated, the
    previous version, read together and kept SECRET_MAX_AGE seconds (a secret that never rotated
    has no previous version; that answer is kept too). `refresh` reads them again unless that
    happened in the last REFRESH_AFTER_SECONDS, so forged cursors cannot make every request read
    the secret."""
    import time

    settings = load_settings(CursorSettings)
    now = time.monotonic()
    read_at, keys = _verification.get(settings.CURSOR_SECRET_ID, (None, []))
    age = None if read_at is None else now - read_at
    if age is None or age >= SECRET_MAX_AGE or (refresh and age >= REFRESH_AFTER_SECONDS):
        read = [_read_key(settings, CURRENT, force=True), _read_key(settings, PREVIOUS, force=True)]
        keys = [key for key in read if key is not None]
        _verification[settings.CURSOR_SECRET_ID] = (now, keys)
    return keys


def forget_signing_keys() -> None:
    """Drop the cached keys: what a new container starts with (tests use it after a rotation)."""
    for provider in _providers.values():
        provider.clear_cache()
    _verification.clear()


# ---------------------------------------------------------------- the list endpoint
@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    cursor: str | None


def link_header(path: str, limit: int, cursor: str | None, extra_query: dict[str, str] | None = None) -> str | None:
    """An RFC 8288 `Link` header pointing at the next page, or None on the last page."""
    if cursor is None:
        return None
    from urllib.parse import urlencode

    query = urlencode({**(extra_query or {}), "limit": limit, "cursor": cursor})
    return f'<{path}?{query}>; rel="next"'


def fetch[T](
    pager: Callable[[int, dict[str, Any] | None], tuple[list[T], dict[str, Any] | None]],
    limit: int,
    cursor: str | None,
    scope: str,
) -> Page[T]:
    """One page of `pager` ((limit, start key) -> (items, key to continue from or None)); `scope`
    (see `scope_of`) binds the cursors given and issued to this list and filter."""
    start = start_key(cursor, scope) if cursor else None
    items, last = pager(limit, start)
    return Page(items, encode_cursor(last, signing_key(), scope) if last else None)


def fetch_sharded[M: StoredModel](
    store: EntityStore[M],
    index: ShardedIndex,
    value: object,
    limit: int,
    cursor: str | None,
    scope: str,
    *,
    every_entity_by_id: bool = False,
    **query: Any,
) -> Page[M]:
    """One page of the sharded list `value` of `index` (docs/adr/0040): every shard queried, merged
    in the index's order; the cursor carries each shard's position (`query`: see
    `EntityStore.sharded_page`). `every_entity_by_id`: the list holds every entity of the store
    in id order, unfiltered, and a page reads the ids after the cursor by key first
    (`EntityStore.id_ordered`; `query` may then only give `forward`)."""
    from sales_common.shards import valid_positions

    positions = start_key(cursor, scope, lambda p: valid_positions(p, index)) if cursor else None
    if every_entity_by_id:
        if any(given for name, given in query.items() if name != "forward"):
            raise ValueError(f"a list read by id takes no condition or filter: {sorted(query)}")
        items, following = store.id_ordered(index, value, limit, positions, query.get("forward", True))
    else:
        items, following = store.sharded(index, value, limit, positions, **query)
    return Page(items, encode_cursor(following, signing_key(), scope) if following is not None else None)


def fetch_page[M: StoredModel](
    store: EntityStore[M], limit: int, cursor: str | None, scope: str, **query: Any
) -> Page[M]:
    """One page of `store`'s entities (`query`: see `EntityStore.page`)."""
    return fetch(lambda n, start: store.page(n, start, **query), limit, cursor, scope)


# ---------------------------------------------------------------- lists the byList index serves
ALL = "ALL"


def status_list(entity: str, status: str) -> str:
    """The byList list of the entities of type `entity` in `status` ("product#ACTIVE")."""
    return f"{entity}#{status}"


def by_status(entity: str, status: str) -> dict[str, Any]:
    """The query (`EntityStore.page` arguments) of a list of `entity` filtered by `status`, in id
    order: one partition of the byList index, whose sort key is the id; `ALL` is byEntity itself.
    No filter expression: every page is full while more remain, however many are hidden."""
    if status == ALL:
        return {"index": ENTITY_INDEX}
    return {
        "index": LIST_INDEX,
        "key_condition": f"{LIST_KEY} = :list",
        "values": {":list": status_list(entity, status)},
    }


def start_key(cursor: str, scope: str, valid: Callable[[Any], bool] | None = None) -> Any:
    """The cursor's key (or payload `valid` accepts); a cursor the cached keys refuse is tried
    once more with the keys read again (this container may have cached them before a rotation)."""
    try:
        return decode_cursor(cursor, verification_keys(), scope, valid)
    except BadRequest:
        return decode_cursor(cursor, verification_keys(refresh=True), scope, valid)


def page_response(page: Page[Any], path: str, limit: int, query: Mapping[str, str] | None = None) -> Response[Any]:
    body = [item.model_dump(by_alias=True) for item in page.items]
    link = link_header(path, limit, page.cursor, dict(query or {}))
    return json_response(200, body, headers={"Link": link} if link else None)


# ---------------------------------------------------------------- order, name prefix, dates
class SortOrder(StrEnum):
    """`order=` of every list: `asc` in the list's own order (ids, names, times), `desc` reversed
    (newest first for lists in id or time order)."""

    ASC = "asc"
    DESC = "desc"


Order = Annotated[
    SortOrder,
    Query(alias="order", description="asc (default): in the list's order; desc: reversed (newest first)."),
]

NAME_INDEX = "byName"
NAME_SORT = "nameSort"
# A name's key keeps its first NAME_KEY_BYTES of UTF-8 (at least 100 characters of any script: a sort
# key holds at most 1,024 bytes, and a cursor carrying it must stay below 2,048 characters; a longer
# `q` is cut alike, so it finds the names that share those bytes), then the id after a separator
# (U+0001: a control character, which no name may hold, and which sorts before every character a
# name can hold, so a name sorts before any longer name it is a prefix of).
NAME_KEY_BYTES = 400
_SEPARATOR = "\x01"


def folded(text: str) -> str:
    """What a name is compared as: NFC, case-folded, NFC again (case folding can decompose), cut
    to NAME_KEY_BYTES of UTF-8 at a character boundary."""
    key = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return key.encode()[:NAME_KEY_BYTES].decode(errors="ignore")


def name_sort(name: str, entity_id: int) -> str:
    """The `nameSort` of an entity called `name`: its folded name, then its id (names may repeat)."""
    return f"{folded(name)}{_SEPARATOR}{entity_id:012d}"


def by_name_prefix(list_name: str, prefix: str) -> dict[str, Any]:
    """The query (`EntityStore.page` arguments) of the entities of list `list_name` (byList's
    `listKey`) whose name starts with `prefix`, whatever the case: one partition of byName, in
    name order."""
    return {
        "index": NAME_INDEX,
        "key_condition": f"{LIST_KEY} = :list AND begins_with({NAME_SORT}, :prefix)",
        "values": {":list": list_name, ":prefix": folded(prefix)},
    }


NamePrefix = Annotated[
    str | None,
    SINGLE_LINE,
    Query(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        description=(
            "Name prefix, case-insensitive (Unicode NFC, case-folded): the entities whose name starts with it, "
            "in name order; 1 to the longest name's length in characters."
        ),
    ),
]


# What `from`/`to` look like (the OpenAPI document says it): an ISO 8601 date, or a date-time to the
# minute, second or fraction, with Z, an offset or nothing (UTC).
INSTANT_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)


def utc_instant(text: str, name: str) -> str:
    """An ISO 8601 date (that day's 00:00 UTC) or date-time (UTC when it has no offset) in the
    stored form of `createdAt` (`2026-12-07T00:00:00.000Z`), rounded up to the millisecond, which
    keeps both bounds exact on millisecond times: t >= x iff t >= ceil(x), t < x iff t < ceil(x).
    400 for a time no calendar has (2026-02-30) or outside years 1..9999 in UTC."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(0), UTC)
        else:
            moment = datetime.fromisoformat(text)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if moment.microsecond % 1000:
            moment += timedelta(microseconds=1000 - moment.microsecond % 1000)
        if moment <= datetime.min.replace(tzinfo=UTC):  # nothing is before it, and `to` needs a millisecond before
            raise ValueError(text)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(
            f"`{name}` must be an ISO 8601 date (2026-12-07) or date-time (2026-12-07T09:30:00Z), UTC unless it "
            f"has an offset, between the years 1 and 9999 in UTC; got {text[:40]!r}.",
            errors=[{"field": name, "message": "must be an ISO 8601 date or date-time", "type": "datetime_parsing"}],
        ) from exc
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_range(sort: str, first: str | None, end: str | None) -> tuple[str, dict[str, Any]] | None:
    """The key condition on the time sort key `sort` for `first` (included) .. `end` (excluded),
    both already `utc_instant`s, and its values ("" for no bounds); None for an empty range
    (`from` = `to`); 400 when `to` is before `from`."""
    if first is not None and end is not None:
        if end < first:
            raise BadRequest(f"`to` ({end}) is before `from` ({first}); `from` is included, `to` excluded.")
        if end == first:
            return None
        last = datetime.fromisoformat(end.replace("Z", "+00:00")) - timedelta(milliseconds=1)
        last_text = last.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"{sort} BETWEEN :first AND :last", {":first": first, ":last": last_text}
    if first is not None:
        return f"{sort} >= :first", {":first": first}
    if end is not None:
        return f"{sort} < :end", {":end": end}
    return "", {}
