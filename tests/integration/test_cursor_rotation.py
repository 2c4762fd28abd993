"""The cursor-signing secret rotates (template.yaml's CursorSigningSecretRotation, functions/rotation/):
Secrets Manager (the emulator's RotateSecret, localcloud/secret_rotation.py) runs the rotation
function's four steps; afterwards new cursors are signed with the new key, cursors handed out
before still work, and a forged cursor is still refused."""

from __future__ import annotations

import pytest

from localcloud import secret_rotation
from sales_common.listing import encode_cursor, forget_signing_keys, scope_of
from tests.integration.test_cursors import next_cursor
from tests.support.apigw import function, invoke

SECRET = "CursorSigningSecret"
ROTATOR = "RotateCursorKeyFunction"
ROTATOR_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{ROTATOR}"
# the product list's first page of one ends at product 1 of the byList index's "product#ACTIVE"
FIRST_PAGE_KEY = {"listKey": {"S": "product#ACTIVE"}, "listSort": {"N": "1"}, "pk": {"S": "PRODUCT#1"}}
PRODUCTS_SCOPE = scope_of("/api/products", {"status": "ACTIVE"})


@pytest.fixture
def shop(api):
    for i in range(1, 4):
        assert api.post("/api/products", {"name": f"P{i}", "price": 1, "stock": 1}).status == 201
    return api


@pytest.fixture
def rotator(cloud):
    """The emulator's Secrets Manager invokes the template's rotation function (in this process,
    with its environment and its IAM principal recorded)."""
    fn = function(ROTATOR)
    secret_rotation.serve(ROTATOR_ARN, lambda event: invoke(fn, event))
    yield fn
    secret_rotation.stop_serving(ROTATOR_ARN)


def rotate(cloud) -> None:
    cloud.secretsmanager.rotate_secret(
        SecretId=SECRET, RotationLambdaARN=ROTATOR_ARN, RotationRules={"AutomaticallyAfterDays": 30}
    )


def value(cloud, stage: str = "AWSCURRENT") -> str:
    return cloud.secretsmanager.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"]


def test_a_rotation_makes_a_new_key_and_cursors_signed_before_still_work(shop, cloud, rotator):
    old = value(cloud)
    cursor = next_cursor(shop.get("/api/products", query={"limit": 1}))

    rotate(cloud)
    forget_signing_keys()  # a container started after the rotation (or whose cache expired)

    new = value(cloud)
    assert new != old and len(new) == 64 and new.isalnum()
    assert value(cloud, "AWSPREVIOUS") == old
    r = shop.get("/api/products", query={"cursor": cursor})
    assert r.status == 200, r.json
    assert [p["id"] for p in r.json] == [2, 3]
    # new cursors are signed with the new key
    fresh = next_cursor(shop.get("/api/products", query={"limit": 1}))
    assert fresh == encode_cursor(FIRST_PAGE_KEY, new, PRODUCTS_SCOPE)


def test_a_forged_cursor_is_still_refused_after_a_rotation(shop, cloud, rotator):
    rotate(cloud)
    forget_signing_keys()
    forged = encode_cursor(FIRST_PAGE_KEY, "x" * 64, PRODUCTS_SCOPE)
    r = shop.get("/api/products", query={"cursor": forged})
    assert r.status == 400
    assert r.header("Content-Type") == "application/problem+json"


def test_the_second_rotation_retires_the_first_key(shop, cloud, rotator):
    cursor = next_cursor(shop.get("/api/products", query={"limit": 1}))
    rotate(cloud)
    rotate(cloud)
    forget_signing_keys()
    assert shop.get("/api/products", query={"cursor": cursor}).status == 400


def test_a_container_that_cached_the_old_key_accepts_cursors_of_the_new_one(shop, cloud, rotator, monkeypatch):
    """The cache (5 minutes) may hold the old key when a cursor signed with the new one arrives
    from another container: the keys are read again (at most every REFRESH_AFTER_SECONDS)."""
    from sales_common import listing

    shop.get("/api/products", query={"limit": 1})  # this container caches the current key
    rotate(cloud)
    cursor = encode_cursor(FIRST_PAGE_KEY, value(cloud), PRODUCTS_SCOPE)  # another container's
    monkeypatch.setattr(listing, "REFRESH_AFTER_SECONDS", 0)
    assert shop.get("/api/products", query={"cursor": cursor}).status == 200


@pytest.mark.parametrize("rotated", [False, True])
def test_forged_cursors_do_not_make_every_request_read_the_secret(shop, cloud, rotator, monkeypatch, rotated):
    """Counted in the emulator (the function has its own client): the current and the previous key
    are read once, and once more for the first cursor they refuse, not for every forged cursor;
    a secret that never rotated has no previous version, and asking for it is not repeated either."""
    from moto.secretsmanager.models import SecretsManagerBackend

    if rotated:
        rotate(cloud)
    forget_signing_keys()
    calls: list[str | None] = []
    read = SecretsManagerBackend.get_secret_value

    def counted(self, secret_id, version_id, version_stage):  # type: ignore[no-untyped-def]
        calls.append(version_stage)
        return read(self, secret_id, version_id, version_stage)

    monkeypatch.setattr(SecretsManagerBackend, "get_secret_value", counted)
    shop.get("/api/products", query={"limit": 1})
    forged = encode_cursor(FIRST_PAGE_KEY, "x" * 64, PRODUCTS_SCOPE)
    for _ in range(5):
        assert shop.get("/api/products", query={"cursor": forged}).status == 400
    assert 1 <= len(calls) <= 4, calls


def test_each_step_is_idempotent(cloud, rotator):
    """Secrets Manager retries a failed step: running each twice gives the same rotation."""
    token = "e0b9c6a2-0000-4000-8000-000000000001"
    _pending(cloud, token)
    for step in ("createSecret", "createSecret", "setSecret", "testSecret"):
        _step(rotator, step, token)
    pending = cloud.secretsmanager.get_secret_value(SecretId=SECRET, VersionId=token)["SecretString"]
    _step(rotator, "finishSecret", token)
    _step(rotator, "finishSecret", token)
    assert value(cloud) == pending


def test_it_rotates_its_own_secret_only(cloud, rotator):
    cloud.secretsmanager.create_secret(Name="SomeoneElses", SecretString="y" * 64)
    with pytest.raises(ValueError, match="not the secret this function rotates"):
        invoke(rotator, {"Step": "createSecret", "SecretId": "SomeoneElses", "ClientRequestToken": "t"})


def test_a_version_that_is_not_pending_is_refused(cloud, rotator):
    _pending(cloud, "e0b9c6a2-0000-4000-8000-000000000003")
    with pytest.raises(ValueError, match="not pending rotation"):
        _step(rotator, "createSecret", "e0b9c6a2-0000-4000-8000-00000000dead")


def test_an_unusable_pending_key_fails_the_test_step_and_the_current_key_stays(cloud, rotator):
    current, token = value(cloud), "e0b9c6a2-0000-4000-8000-000000000002"
    _pending(cloud, token, "short")
    with pytest.raises(ValueError, match="not a usable new key"):
        _step(rotator, "testSecret", token)
    assert value(cloud) == current


def _pending(cloud, token: str, value: str | None = None) -> None:
    """What RotateSecret does before invoking the function: turn rotation on and attach AWSPENDING
    to a new version (here with a value when `value` is given, as a retried createSecret finds it)."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends["123456789012"]["us-east-1"].secrets[SECRET]
    secret.rotation_requested = secret.rotation_enabled = True
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": 0, "version_id": token, "version_stages": ["AWSPENDING"]}
    if value is not None:
        secret.versions[token]["secret_string"] = value


def _step(rotator, step: str, token: str) -> None:
    invoke(rotator, {"Step": step, "SecretId": SECRET, "ClientRequestToken": token})
