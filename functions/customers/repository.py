"""Customer storage: the entity plus one lock item per email address, deletes refused while
orders refer to the customer, and erasure.

Email uniqueness is enforced by DynamoDB itself: every customer write that introduces an email
also puts `EMAIL#<identity>` (see `email_identity`: ASCII letters lowercased, nothing else
folded) with `attribute_not_exists(pk)` in the same transaction, so two concurrent creates (or a
create racing an email change) cannot both succeed.

Locks written before identities were ASCII-lowercased are keyed on the casefolded address and
carry no `identity` attribute ("legacy" locks). Until `make migrate` rewrites them
(tools/migrations/record_integrity.py), a claim also checks that no legacy lock sits at the new
address's casefolded key (a 409 if one does: it may stand for the same address), and a release
also removes the customer's own legacy lock (docs/adr/0021).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from customers.models import Customer, email_identity
from sales_common.dynamo import (
    ENTITY_INDEX,
    LIST_KEY,
    REFERENCED,
    Condition,
    EntityStore,
    Expected,
    cancellation_codes,
    from_item,
    now_iso,
    to_item,
)
from sales_common.errors import Conflict, DomainError
from sales_common.listing import NAME_INDEX, NAME_SORT, name_sort

EMAIL_PREFIX = "EMAIL#"
IDENTITY = "identity"
# The byName list of every customer (docs/adr/0030).
CUSTOMER_LIST = "customer"


def email_key(email: str) -> str:
    """The key of the lock that makes `email` unique."""
    return f"{EMAIL_PREFIX}{email_identity(email)}"


def legacy_email_key(email: str) -> str:
    """Where a lock for `email` was written before identities: its normalised form, casefolded."""
    from email_validator import EmailNotValidError, validate_email

    try:
        normalized = validate_email(email, check_deliverability=False, globally_deliverable=False).normalized
    except EmailNotValidError:
        normalized = email
    return f"{EMAIL_PREFIX}{normalized.casefold()}"


NOT_ERASED = Condition("attribute_not_exists(erasedAt)")
NOT_REFERENCED = Condition("attribute_not_exists(#ref)", names={"#ref": REFERENCED})


def erased(customer_id: int) -> Callable[[dict[str, Any]], DomainError]:
    return lambda item: Conflict(
        f"Customer {customer_id} was erased at {item.get('erasedAt')}; an erased customer cannot be changed."
    )


def has_orders(customer_id: int) -> Callable[[dict[str, Any]], DomainError]:
    return lambda _: Conflict(
        f"Customer {customer_id} has orders, so deleting it would leave orders that point at nobody. "
        f"To remove the customer's personal data and keep the orders, erase it: "
        f"POST /api/customers/{customer_id}/erasure."
    )


def _maybe_taken(email: str) -> Conflict:
    """A lock of the old form (casefolded key, no identity) stands where `email`'s is, or would be."""
    return Conflict(
        f"The email {email} may belong to a customer stored before email addresses were compared by "
        "their ASCII letters only; until those records are migrated (make migrate) it cannot be told "
        "apart, so it is refused. Nothing changed."
    )


@dataclass
class LockPlan:
    """The lock writes of one customer write, and what a failed condition on each one means."""

    ops: list[dict[str, Any]] = field(default_factory=list)
    # index in ops -> its 409, made from the item that failed the condition (None if not returned)
    conflicts: dict[int, Callable[[dict[str, Any] | None], Conflict]] = field(default_factory=dict)


class CustomerStore(EntityStore[Customer]):
    entity = "customer"
    model = Customer
    # each first order of a customer marks it referenced: its lists project keys only (docs/adr/0039)
    keys_only = frozenset({ENTITY_INDEX, NAME_INDEX})

    def new_item(self, entity_id: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A new customer is in the byName list, sorted by its folded name."""
        item = super().new_item(entity_id, attributes)
        return {**item, LIST_KEY: CUSTOMER_LIST, NAME_SORT: name_sort(item["name"], entity_id)}

    @staticmethod
    def listed(customer_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """`changes` plus the byName sort key when the name changes (removed when it is erased)."""
        if "name" not in changes:
            return changes
        name = changes["name"]
        return {**changes, NAME_SORT: None if name is None else name_sort(name, customer_id)}

    # ------------------------------------------------------------------ reads
    def by_email(self, email: str) -> Customer | None:
        """The customer whose email has `email`'s identity (ASCII letters in any case), through its
        lock item (no index, no scan); a lock of the old form (not migrated yet) is followed too,
        if the customer it names has that identity."""
        for key in dict.fromkeys((email_key(email), legacy_email_key(email))):
            lock = self._lock(key)
            if lock is None or "customerId" not in lock:
                continue
            customer = self.get(int(from_item(lock)["customerId"]))
            if customer is not None and email_identity(customer.email or "") == email_identity(email):
                return customer
        return None

    # ------------------------------------------------------------------ email locks
    def _lock(self, key: str) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True)
        return found.get("Item")

    def locks(self, customer_id: int, old: str | None, new: str | None) -> LockPlan:
        """The lock writes that release `old` (the customer's current address, if any) and claim
        `new` (if any) for customer `customer_id`, in one transaction with the customer's write."""
        me = {":id": {"N": str(customer_id)}}
        deletes: dict[str, dict[str, Any]] = {}
        if old is not None:
            deletes[email_key(old)] = {"ConditionExpression": "attribute_not_exists(pk) OR customerId = :id"}
            legacy = legacy_email_key(old)
            if legacy != email_key(old) and self._owns_legacy_lock(legacy, customer_id):
                deletes[legacy] = {
                    "ConditionExpression": "customerId = :id AND attribute_not_exists(#identity)",
                    "ExpressionAttributeNames": {"#identity": IDENTITY},
                }
        plan = LockPlan()
        if new is not None:
            key, legacy = email_key(new), legacy_email_key(new)
            ours = deletes.pop(key, None) is not None  # our own (legacy) lock there becomes the new one
            put: dict[str, Any] = {
                "TableName": self.table,
                "Item": to_item({"pk": key, "customerId": customer_id, IDENTITY: email_identity(new)}),
                "ConditionExpression": "attribute_not_exists(pk)" + (" OR customerId = :id" if ours else ""),
            }
            if ours:
                put["ExpressionAttributeValues"] = me
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            plan.conflicts[len(plan.ops)] = lambda held: (
                Conflict(f"A customer with email {new} already exists; use another email, or change that customer.")
                if held is None or IDENTITY in held
                else _maybe_taken(new)
            )
            plan.ops.append({"Put": put})
            if legacy != key and legacy not in deletes:
                plan.conflicts[len(plan.ops)] = lambda _: _maybe_taken(new)
                plan.ops.append(
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": legacy}},
                            "ConditionExpression": "attribute_not_exists(pk) OR attribute_exists(#identity)",
                            "ExpressionAttributeNames": {"#identity": IDENTITY},
                        }
                    }
                )
        for key, condition in deletes.items():
            plan.ops.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": key}},
                        "ExpressionAttributeValues": me,
                        **condition,
                    }
                }
            )
        return plan

    def _owns_legacy_lock(self, key: str, customer_id: int) -> bool:
        lock = self._lock(key)
        return lock is not None and IDENTITY not in lock and lock.get("customerId", {}).get("N") == str(customer_id)

    def _with_locks(self, plan: LockPlan, write: Callable[[list[dict[str, Any]]], Customer | None]) -> Customer | None:
        """Run `write(plan.ops)` (the entity's write is the transaction's first item); a failed
        lock condition becomes that lock's 409."""
        try:
            return write(plan.ops)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            codes = cancellation_codes(exc)
            for index, conflict in plan.conflicts.items():
                if len(codes) > index + 1 and codes[index + 1] == "ConditionalCheckFailed":
                    held = reasons[index + 1].get("Item")
                    raise conflict(dict(held) if held is not None else None) from exc
            raise

    # ------------------------------------------------------------------ writes
    def create_with_email(self, attributes: dict[str, Any]) -> Customer:
        item = self.new_item(self.allocate_id(), attributes)
        plan = self.locks(item["id"], None, attributes["email"])
        self._with_locks(plan, lambda ops: self.transact([self.put_new_op(item), *ops]))
        return self.model.model_validate(item)

    def change(self, customer_id: int, changes: dict[str, Any], version: Expected) -> Customer:
        """A change that keeps the email's identity; 409 for an erased customer."""
        changes = self.listed(customer_id, changes)
        return self.update(customer_id, changes, version, condition=NOT_ERASED, refused=erased(customer_id))

    def change_email(self, customer_id: int, changes: dict[str, Any], old_email: str, version: Expected) -> Customer:
        plan = self.locks(customer_id, old_email, changes["email"])
        changes = self.listed(customer_id, changes)
        updated = self._with_locks(
            plan,
            lambda ops: self.update(
                customer_id, changes, version, extra_ops=ops, condition=NOT_ERASED, refused=erased(customer_id)
            ),
        )
        assert updated is not None
        return updated

    def delete_unreferenced(self, customer: Customer, version: Expected, actor: str) -> None:
        """Delete the customer and free its email, unless an order refers to it (409: erase it
        instead). PlaceOrder's ValidateCustomer sets the reference mark in its conditional write,
        so a delete racing a placement either lands first or is refused (docs/adr/0020)."""
        plan = self.locks(customer.id, customer.email, None)
        self._with_locks(
            plan,
            lambda ops: self.delete(
                customer.id, actor, version, extra_ops=ops, condition=NOT_REFERENCED, refused=has_orders(customer.id)
            ),
        )

    def erase(self, customer: Customer, actor: str) -> Customer:
        """Remove the customer's personal data and free its email, keeping its id (and so its
        orders); conditional on the version read and on it not being erased yet."""
        changes = {
            "name": None,
            "email": None,
            "phone": None,
            "address": None,
            "erasedAt": now_iso(),
            "erasedBy": actor,
            "updatedBy": actor,
        }
        changes = self.listed(customer.id, changes)
        plan = self.locks(customer.id, customer.email, None)
        erased_now = self._with_locks(
            plan,
            lambda ops: self.update(
                customer.id, changes, customer.version, extra_ops=ops, condition=NOT_ERASED, refused=erased(customer.id)
            ),
        )
        assert erased_now is not None
        return erased_now
