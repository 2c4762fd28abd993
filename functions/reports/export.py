"""Reports as CSV for spreadsheets (RFC 4180), when the request's `Accept` prefers it.

* Negotiation (RFC 9110): each of `application/json` and `text/csv` gets the quality of the most
  specific media range in `Accept` that matches it (`text/csv`, then `text/*`, then `*/*`); CSV
  only when it is strictly preferred, so no `Accept`, `*/*` or a tie answers JSON.
* The text: a header row, CRLF line ends, fields quoted when they hold a comma, a quote or a
  line break (quotes doubled), UTF-8. Money with two decimals, exact.
* A text cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab
  or a carriage return: a product named `=HYPERLINK(...)`) is written with a leading `'`, as
  OWASP advises for CSV exports; numbers are ours and never need it.
* `Content-Disposition: attachment; filename="..."` names the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import Response

from sales_common.models import CENT

CSV = "text/csv"
JSON = "application/json"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8; header=present"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _quality(accept: str, media_type: str) -> float:
    """The q of the most specific range in `accept` matching `media_type` (0 when none does)."""
    kind = media_type.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None or specificity < best[0]:
            continue
        q = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        best = (specificity, q)
    return best[1]


def wants_csv(accept: str | None) -> bool:
    if not accept:
        return False
    csv_q = _quality(accept, CSV)
    return csv_q > 0 and csv_q > _quality(accept, JSON)


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    text = str(value)
    if not isinstance(value, int) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def render(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def csv_response(text: str, filename: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=200,
        content_type=CSV_CONTENT_TYPE,
        body=text,
        headers={**(headers or {}), "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def with_csv(documented: dict[int, Any], model: Any, description: str) -> dict[int, Any]:
    """`sales_common.api.responses(...)` with the success answer in JSON (`model`) or CSV, and
    the CSV answer's Content-Disposition."""
    status = min(documented)
    ok = documented[status]
    ok["content"] = {JSON: {"model": model}, CSV: {"schema": {"type": "string", "description": description}}}
    ok["headers"] = {
        **ok.get("headers", {}),
        "Content-Disposition": {
            "description": 'With text/csv: `attachment; filename="..."`.',
            "schema": {"type": "string"},
        },
    }
    return documented
