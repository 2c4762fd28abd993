"""Why an order is refused. Each reason is its own exception: a `DomainError` whose HTTP status
is the one its second base names (422, 409 or 503), and whose `reason` is the `reason`
dimension of the OrdersRejected metric."""

from __future__ import annotations

from typing import ClassVar

from sales_common.errors import Conflict, DomainError, ServiceUnavailable, Unprocessable


class OrderRejected(DomainError):
    """An order that was not placed; nothing was reserved, or what was has been given back.
    Its `reason` is the name of its class."""

    reason: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.reason = cls.__name__


class CustomerNotFound(OrderRejected, Unprocessable):
    """The order's customer does not exist (the workflow's check)."""


class CustomerErased(OrderRejected, Unprocessable):
    """The order's customer was erased (GDPR): nobody can be ordered for any more (the workflow's check)."""


class UnknownProduct(OrderRejected, Unprocessable):
    """A product of the order does not exist (in the quote, or deleted before the reservation)."""


class ProductArchived(OrderRejected, Unprocessable):
    """A product of the order is archived (in the quote, or archived before the reservation)."""


class PriceMismatch(OrderRejected, Conflict):
    """A line names a price that is not the catalog's (the client's view is stale)."""


class PriceChanged(OrderRejected, Conflict):
    """A product's price changed between the quote and the reservation; the answer names the
    current price."""


class OutOfStock(OrderRejected, Conflict):
    """A product has fewer units than the order asks (in the quote, or at the reservation)."""


class CustomerCheckFailed(OrderRejected, ServiceUnavailable):
    """The customer could not be read (DynamoDB kept failing); no stock was taken."""


class ReservationFailed(OrderRejected, ServiceUnavailable):
    """Stock could not be reserved (DynamoDB kept failing); what was taken is given back."""


class WriteFailed(OrderRejected, ServiceUnavailable):
    """The order could not be stored; its stock is given back."""


class WorkflowFailed(OrderRejected, ServiceUnavailable):
    """The placement did not complete for another reason (it could not start in time, or its
    outcome was unknown and has been decided as failed: timeout, throttled call, ...)."""
