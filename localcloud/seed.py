"""Sample data, created through the public API (so it goes through the real handlers)."""

from __future__ import annotations

import json
import urllib.error
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


def _post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def seed_through_api(api_url: str, token: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """POST the samples to /api/products and /api/customers (as the holder of `token`, an
    admin's); raises if any is rejected."""
    created: dict[str, list[dict[str, Any]]] = {"products": [], "customers": []}
    for collection, rows in (("products", PRODUCTS), ("customers", CUSTOMERS)):
        for row in rows:
            status, body = _post(f"{api_url}/api/{collection}", row, token)
            if status not in (200, 201):
                raise RuntimeError(f"seeding POST /api/{collection} {row} -> {status} {body}")
            created[collection].append(body)
    return created
