"""Money and ids as the API validates them: exact Decimal, whole cents, JSON numbers only."""

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from sales_common.models import MAX_ID, MAX_PRICE, EntityId, Money

money = TypeAdapter(Money)
entity_id = TypeAdapter(EntityId)


@pytest.mark.parametrize("value", [Decimal("0.01"), Decimal("19.99"), 5, MAX_PRICE])
def test_positive_whole_cents_up_to_the_maximum_are_money(value):
    assert money.validate_python(value) == Decimal(value)


def test_money_is_stored_as_cents():
    assert str(money.validate_python(Decimal("19.9"))) == "19.90"


@pytest.mark.parametrize(
    "value", [Decimal("0.001"), Decimal("1e-999999999"), Decimal(0), Decimal(-1), MAX_PRICE + Decimal("0.01")]
)
def test_sub_cent_non_positive_and_too_large_amounts_are_refused(value):
    with pytest.raises(ValidationError):
        money.validate_python(value)


@pytest.mark.parametrize("value", [19.99, "19.99", True, None])
def test_only_json_numbers_parsed_exactly_are_money(value):
    with pytest.raises(ValidationError):
        money.validate_python(value)


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, "1", 1.0, True])
def test_ids_are_positive_integers_below_2_to_the_53(value):
    with pytest.raises(ValidationError):
        entity_id.validate_python(value)
    assert entity_id.validate_python(MAX_ID) == MAX_ID
