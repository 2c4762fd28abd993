"""Why an order is refused. Each reason is its own exception: a `DomainError` whose HTTP status
is the one its second base names (422, 409 or 503), and whose `reason` is the `reason`
dimension of the OrdersRejected metric."""

from __future__ import annotations

from typing import ClassVar

from sales_common.errors import Conflict, DomainError, ServiceUnavailable, Unprocessable


class OrderRejected(DomainError):
    """An order that was not placed; nothing was reserved, or what was has been given back."""

    reason: ClassVar[str]


class CustomerNotFound(OrderRejected, Unprocessable):
    reason = "CustomerNotFound"


class UnknownProduct(OrderRejected, Unprocessable):
    reason = "UnknownProduct"


class PriceMismatch(OrderRejected, Conflict):
    reason = "PriceMismatch"


class OutOfStock(OrderRejected, Conflict):
    reason = "OutOfStock"


class CustomerCheckFailed(OrderRejected, ServiceUnavailable):
    reason = "CustomerCheckFailed"


class ReservationFailed(OrderRejected, ServiceUnavailable):
    reason = "ReservationFailed"


class WriteFailed(OrderRejected, ServiceUnavailable):
    reason = "WriteFailed"


class WorkflowFailed(OrderRejected, ServiceUnavailable):
    reason = "WorkflowFailed"
