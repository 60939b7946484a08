"""The events whose ``__init__`` is written out for speed (``PriceArrived``, one per price;
``QuoteUpdate``, one per frame) are still the frozen dataclasses their fields say."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from ccdesk.core.events import PriceArrived
from ccdesk.core.wire import QuoteUpdate
from tests.pairs import BTC, ETH

CASES: list[tuple[type[Any], dict[str, Any], dict[str, Any]]] = [
    (PriceArrived, {"sub": BTC, "price": 1.5, "changed": True}, {"price": 2.5}),
    (QuoteUpdate, {"sub": BTC, "fields": {"PRICE": 1.5}, "dropped": ("BID is not positive",)}, {"sub": ETH}),
]


@pytest.mark.parametrize(("cls", "values", "change"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_written_out_init_takes_every_field_and_the_instance_stays_frozen(
    cls: type[Any], values: dict[str, Any], change: dict[str, Any]
) -> None:
    fields = dataclasses.fields(cls)
    # The __init__ names every field, in order, with its default: a field added later is not missed.
    params = list(inspect.signature(cls).parameters.values())
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default) for f in fields
    ]
    ev = cls(*values.values())
    assert ev == cls(**values)
    assert {f.name: getattr(ev, f.name) for f in fields} == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.sub = ETH
    changed = dataclasses.replace(ev, **change)
    assert {f.name: getattr(changed, f.name) for f in fields} == {**values, **change}
    assert not hasattr(ev, "__dict__")  # slots, as before


def test_quote_update_drops_nothing_by_default() -> None:
    assert QuoteUpdate(BTC, {"PRICE": 1.5}).dropped == ()


def test_equal_prices_arrived_hash_alike() -> None:
    assert hash(PriceArrived(BTC, 1.5, True)) == hash(PriceArrived(sub=BTC, price=1.5, changed=True))
    assert PriceArrived(BTC, 1.5, True) != PriceArrived(BTC, 1.5, False)
