"""Sample data, created through the public API (so it goes through the real handlers)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

PRODUCTS: list[dict[str, Any]] = [
    {"name": "Laptop", "price": 999.99, "description": "High-performance laptop", "stock": 10},
    {"name": "Wireless Mouse", "price": 24.5, "description": "Ergonomic 2.4 GHz mouse", "stock": 150},
    {"name": "Mechanical Keyboard", "price": 89.0, "description": "Tenkeyless, brown switches", "stock": 40},
    {"name": "27-inch Monitor", "price": 279.99, "description": "QHD IPS panel", "stock": 25},
    {"name": "USB-C Dock", "price": 129.0, "description": "Dual display, 100 W power delivery", "stock": 0},
]

CUSTOMERS: list[dict[str, Any]] = [
    {"name": "John Doe", "email": "john@example.com", "phone": "123-456-7890", "address": "123 Main St"},
    {"name": "Jane Roe", "email": "jane@example.com", "phone": "555-010-2030", "address": "42 Elm Street"},
    {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "555-123-4567", "address": "10 Analytical Way"},
]


def _call(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, Any, Any]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, head = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, head = exc.code, exc.read(), exc.headers
    try:
        return status, json.loads(raw or b"null"), head
    except ValueError:
        return status, raw.decode(errors="replace"), head


def _all(api_url: str, collection: str, token: str | None) -> list[dict[str, Any]]:
    """Every entity of a collection, following the lists' `Link: <...>; rel="next"`."""
    out: list[dict[str, Any]] = []
    url: str | None = f"{api_url}/api/{collection}?limit=100"
    while url:
        status, body, headers = _call("GET", url, token=token)
        if status != 200 or not isinstance(body, list):
            raise RuntimeError(f"seeding: GET /api/{collection} -> {status} {body}")
        out += body
        link = re.search(r"<([^>]+)>;\s*rel=\"next\"", headers.get("Link") or "")
        url = urllib.parse.urljoin(api_url, link.group(1)) if link else None
    return out


def seed_through_api(api_url: str, token: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """POST the samples to /api/products and /api/customers (as the holder of `token`, an
    admin's) and return what was created; raises if any is rejected. Idempotent: a sample that is
    already there (a product of that name, a customer of that email) is not created again."""
    created: dict[str, list[dict[str, Any]]] = {"products": [], "customers": []}
    for collection, rows, key in (("products", PRODUCTS, "name"), ("customers", CUSTOMERS, "email")):
        present = {str(entity.get(key, "")).lower() for entity in _all(api_url, collection, token)}
        for row in rows:
            if str(row[key]).lower() in present:
                continue
            status, body, _ = _call("POST", f"{api_url}/api/{collection}", row, token)
            if status not in (200, 201):
                raise RuntimeError(f"seeding POST /api/{collection} {row} -> {status} {body}")
            created[collection].append(body)
    return created
