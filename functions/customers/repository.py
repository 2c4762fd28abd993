"""Customer storage: the entity plus one lock item per email address.

Email uniqueness is enforced by DynamoDB itself: every customer write that introduces an email
also puts `EMAIL#<casefolded email>` with `attribute_not_exists(pk)` in the same transaction,
so two concurrent creates (or a create racing an email change) cannot both succeed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from customers.models import Customer
from sales_common.dynamo import EntityStore, Expected, cancellation_codes, to_item
from sales_common.errors import Conflict


def email_key(email: str) -> str:
    return f"EMAIL#{email.casefold()}"


class CustomerStore(EntityStore[Customer]):
    entity = "customer"
    model = Customer

    def claim_email_op(self, email: str, customer_id: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item({"pk": email_key(email), "customerId": customer_id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def release_email_op(self, email: str, customer_id: int) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self.table,
                "Key": {"pk": {"S": email_key(email)}},
                "ConditionExpression": "customerId = :id",
                "ExpressionAttributeValues": {":id": {"N": str(customer_id)}},
            }
        }

    def create_with_email(self, attributes: dict[str, Any]) -> Customer:
        item = self.new_item(self.allocate_id(), attributes)
        with _email_taken_is_conflict(attributes["email"], position=1):
            self.transact([self.put_new_op(item), self.claim_email_op(attributes["email"], item["id"])])
        return self.model.model_validate(item)

    def change_email(self, customer_id: int, changes: dict[str, Any], old_email: str, version: Expected) -> Customer:
        ops = [self.release_email_op(old_email, customer_id), self.claim_email_op(changes["email"], customer_id)]
        with _email_taken_is_conflict(changes["email"], position=2):
            return self.update(customer_id, changes, version, extra_ops=ops)

    def delete_with_email(self, customer_id: int, email: str, version: Expected, actor: str) -> None:
        self.delete(customer_id, actor, version, extra_ops=[self.release_email_op(email, customer_id)])


class _email_taken_is_conflict:
    def __init__(self, email: str, position: int) -> None:
        self.email, self.position = email, position

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, ClientError):
            codes = cancellation_codes(exc)
            if len(codes) > self.position and codes[self.position] == "ConditionalCheckFailed":
                raise Conflict(
                    f"A customer with email {self.email} already exists; use another email, or change that customer."
                ) from exc
