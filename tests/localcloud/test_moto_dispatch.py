"""moto's server lists its modules once: the same names, and no directory listing per request."""

from __future__ import annotations

import os

import boto3

from localcloud import moto_dispatch
from localcloud.serving import start_moto


def _listed_by_moto() -> list[str]:
    import moto

    path = os.path.dirname(moto.__file__)
    return sorted(m for m in os.listdir(path) if os.path.isdir(os.path.join(path, m)) and not m.startswith("__"))


def test_requests_are_dispatched_without_listing_motos_package(monkeypatch):
    moto_dispatch.install()
    from moto import backends

    assert list(backends.list_of_moto_modules()) == _listed_by_moto()
    assert "dynamodb" in backends.list_of_moto_modules()

    server = start_moto()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        client.list_tables()  # the server's first request, before any counting
        listed: list[str] = []
        real_listdir = os.listdir
        monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(str(path)) or real_listdir(path))
        for _ in range(3):
            assert client.list_tables()["TableNames"] == []
        assert [p for p in listed if "moto" in p] == []
    finally:
        server.stop()
