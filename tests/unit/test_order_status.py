"""The order status lifecycle as a table: pure logic, no AWS."""

import pytest

from orders.models import TRANSITIONS, OrderStatus

C, S, D, X = OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "allowed"), [(C, {S, X}), (S, {D}), (D, set()), (X, set())])
def test_allowed_changes(current, allowed):
    assert TRANSITIONS[current] == allowed


def test_no_status_goes_back_to_confirmed_or_to_itself():
    assert all(C not in targets and status not in targets for status, targets in TRANSITIONS.items())


def test_delivered_and_cancelled_are_final():
    assert not TRANSITIONS[D] and not TRANSITIONS[X]
