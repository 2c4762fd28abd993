"""Email identity (issue 24, docs/adr/0021): an address is stored as given and compared on its
ASCII letters lowercased, nothing else folded. `Ann@X.com` and `ann@x.com` are one address;
`straße@x` and `strasse@x` are two mailboxes. Customers stored under the old rule (locks keyed on
the casefolded address) keep working before the migration and are rewritten by it."""

from __future__ import annotations

import pytest

from customers.models import email_identity
from tools.migrations.record_integrity import Tables, migrate


def create(api, email, name="C"):
    return api.post("/api/customers", {"name": name, "email": email})


def test_stored_as_given_and_one_address_whatever_the_case_of_its_ascii_letters(api):
    r = create(api, "Ann.Smith@Example.COM")
    assert r.status == 201 and r.json["email"] == "Ann.Smith@Example.COM"
    for same in ("ann.smith@example.com", "ANN.SMITH@EXAMPLE.COM", "aNN.sMITH@eXAMPLE.com"):
        assert create(api, same).status == 409, same


def test_sharp_s_and_ss_are_two_addresses(api):
    assert create(api, "straße@example.com").status == 201
    assert create(api, "strasse@example.com").status == 201
    assert create(api, "STRASSE@example.com").status == 409  # ASCII case only: the second one again
    assert create(api, "STRAßE@example.com").status == 409  # ß has no ASCII case: the first one again
    assert [c["email"] for c in api.get("/api/customers").json] == ["straße@example.com", "strasse@example.com"]


def test_non_ascii_letters_are_not_case_folded(api):
    assert create(api, "ärger@example.com").status == 201
    assert create(api, "Ärger@example.com").status == 201


def test_changing_an_email_compares_identities(api):
    assert create(api, "ann@example.com").status == 201
    assert create(api, "strasse@example.com").status == 201
    assert api.put("/api/customers/1", {"email": "ANN@Example.com"}).json["email"] == "ANN@Example.com"
    assert api.put("/api/customers/1", {"email": "STRASSE@example.com"}).status == 409
    assert api.put("/api/customers/1", {"email": "straße@example.com"}).status == 200
    assert create(api, "ann@example.com").status == 201  # released by the change


def test_the_identity_lowercases_ascii_letters_only():
    assert email_identity("Ann@X.COM") == "ann@x.com"
    assert email_identity("STRAßE@X.com") == "straße@x.com"
    assert email_identity("ÄNN@x.com") == "Änn@x.com"
    assert email_identity("İ@x.com") == "İ@x.com"  # str.lower would make it "i̇"


# ---------------------------------------------------------------- records from before identities
def legacy_customer(cloud, customer_id: int, email: str) -> None:
    """A customer as the code before issue 24 stored it: the email as email-validator normalised
    it, and a lock keyed on its casefold, without an `identity`."""
    table = cloud.tables["CustomersTable"]
    item = {
        "pk": {"S": f"CUSTOMER#{customer_id}"},
        "entity": {"S": "customer"},
        "id": {"N": str(customer_id)},
        "version": {"N": "1"},
        "name": {"S": "Legacy"},
        "email": {"S": email},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
        "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
    }
    cloud.dynamodb.put_item(TableName=table, Item=item)
    cloud.dynamodb.put_item(
        TableName=table, Item={"pk": {"S": f"EMAIL#{email.casefold()}"}, "customerId": {"N": str(customer_id)}}
    )
    cloud.dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "COUNTER#CUSTOMER"}},
        UpdateExpression="SET lastId = :n",
        ExpressionAttributeValues={":n": {"N": str(customer_id)}},
    )


def locks(cloud) -> dict[str, dict]:
    return {i["pk"]: i for i in cloud.scan("CustomersTable") if i["pk"].startswith("EMAIL#")}


def run_migration(cloud):
    tables = Tables(*(cloud.tables[t] for t in ("ProductsTable", "CustomersTable", "OrdersTable")))
    return migrate(cloud.dynamodb, tables, out=lambda _: None)


def test_a_legacy_ascii_address_keeps_its_lock(api, cloud):
    """For ASCII addresses the old key and the identity key are the same item."""
    legacy_customer(cloud, 1, "ann@example.com")
    assert create(api, "ANN@example.com").status == 409
    assert api.delete("/api/customers/1").status == 204
    assert create(api, "ANN@example.com").status == 201


def test_a_legacy_address_blocks_its_own_identity_before_the_migration(api, cloud):
    """Legacy "Straße@…" sits at the casefolded key "strasse@…"; a new "STRAßE@…" (the same
    address) is refused although its identity key is free: the legacy lock is consulted."""
    legacy_customer(cloud, 1, "Straße@example.com")
    assert create(api, "STRAßE@example.com").status == 409


def test_an_address_a_legacy_lock_may_stand_for_is_refused_until_the_migration(api, cloud):
    """ "strasse@…" is another mailbox than legacy "Straße@…", but the old lock at "strasse@…"
    cannot say so: refused (fail closed) before the migration, accepted after it."""
    legacy_customer(cloud, 1, "Straße@example.com")
    r = create(api, "strasse@example.com")
    assert r.status == 409 and "migrated" in r.json["detail"]
    run_migration(cloud)
    assert create(api, "strasse@example.com").status == 201
    assert create(api, "STRAßE@example.com").status == 409


@pytest.mark.parametrize("how", ["delete", "erase", "change"])
def test_a_legacy_customer_frees_its_old_lock(api, cloud, how):
    legacy_customer(cloud, 1, "Straße@example.com")
    if how == "delete":
        assert api.delete("/api/customers/1").status == 204
    elif how == "erase":
        assert api.post("/api/customers/1/erasure").status == 200
    else:
        assert api.put("/api/customers/1", {"email": "new@example.com"}).status == 200
    assert "EMAIL#strasse@example.com" not in locks(cloud)
    assert create(api, "strasse@example.com").status == 201
    assert create(api, "Straße@example.com").status == 201


def test_a_legacy_customer_changing_to_the_address_its_old_lock_stands_at(api, cloud):
    """ "Straße@…" (old lock at "strasse@…") becomes "STRASSE@…", whose identity key is that very
    item: it is taken over, not refused."""
    legacy_customer(cloud, 1, "Straße@example.com")
    r = api.put("/api/customers/1", {"email": "STRASSE@example.com"})
    assert r.status == 200, r.raw
    assert set(locks(cloud)) == {"EMAIL#strasse@example.com"}
    assert locks(cloud)["EMAIL#strasse@example.com"]["identity"] == "strasse@example.com"
    assert create(api, "straße@example.com").status == 201


def test_the_migration_rewrites_legacy_locks_and_is_idempotent(api, cloud):
    legacy_customer(cloud, 1, "ann@example.com")
    legacy_customer(cloud, 2, "Straße@example.com")
    legacy_customer(cloud, 3, "gone@example.com")
    cloud.dynamodb.delete_item(TableName=cloud.tables["CustomersTable"], Key={"pk": {"S": "CUSTOMER#3"}})

    report = run_migration(cloud)

    assert set(locks(cloud)) == {"EMAIL#ann@example.com", "EMAIL#straße@example.com"}
    assert all(lock["identity"] == lock["pk"].removeprefix("EMAIL#") for lock in locks(cloud).values())
    assert report.counts["email locks moved to their identity key"] == 1
    assert report.counts["email locks kept (same key), marked with their identity"] == 1
    assert report.counts["stale email locks removed"] == 1
    before = locks(cloud)
    assert dict(run_migration(cloud).counts) == {}
    assert locks(cloud) == before
    assert create(api, "STRAßE@example.com").status == 409 and create(api, "Ann@example.com").status == 409
