"""The ledger's arithmetic: table-driven cases and hypothesis properties."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customers import purse
from customers.purse import EARNED, EXPIRED, REDEEMED, REVERSED, Line

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_a_redemption_spends_the_line_closest_to_expiry_first():
    lines = [
        Line(1, EARNED, Decimal(10), day(0), expires_at=day(300)),
        Line(2, EARNED, Decimal(10), day(1), expires_at=day(30)),
        Line(3, EARNED, Decimal(10), day(2), expires_at=None),
    ]
    assert purse.spend(purse.lots(lines), Decimal(15), day(3)) == [(2, 10), (1, 5)]


def test_an_expired_line_cannot_be_spent_even_before_it_is_written_off():
    lines = [
        Line(1, EARNED, Decimal(10), day(0), expires_at=day(5)),
        Line(2, EARNED, Decimal(4), day(1), expires_at=day(50)),
    ]
    found = purse.lots(lines)
    assert purse.spendable(found, day(6)) == 4
    with pytest.raises(purse.Shortfall) as short:
        purse.spend(found, Decimal(5), day(6))
    assert short.value.available == 4
    assert [(lot.id, lot.left) for lot in purse.due(found, day(6))] == [(1, 10)]


def test_expiry_and_reversal_take_what_is_left_of_their_line():
    lines = [
        Line(1, EARNED, Decimal(10), day(0), expires_at=day(5)),
        Line(2, EARNED, Decimal(8), day(0), expires_at=day(50)),
        Line(3, REDEEMED, Decimal(-4), day(1)),
        Line(4, EXPIRED, Decimal(-6), day(5), applies_to=1),
        Line(5, REVERSED, Decimal(-8), day(6), applies_to=2),
    ]
    found = purse.lots(lines)
    assert {lot.id: lot.left for lot in found.values()} == {1: 0, 2: 0}
    assert purse.balance(lines) == 0


# One step of a ledger's life: ("grant", amount, lifetime in days), ("redeem", amount, 0),
# ("expire", 0, 0), ("reverse", index of an earned line, 0), each a day after the last.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(0, 50), st.integers(1, 20)),
        st.tuples(st.just("redeem"), st.integers(1, 60), st.just(0)),
        st.tuples(st.just("expire"), st.just(0), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(0, 10), st.just(0)),
    ),
    max_size=40,
)


def run(plan) -> tuple[list[Line], list[list[tuple[int, Decimal]]], list[dict]]:
    """Play the plan as the services do: refuse what cannot be spent, write off what is due."""
    lines: list[Line] = []
    spends, before = [], []
    for n, (action, amount, extra) in enumerate(plan):
        at = day(n)
        found = purse.lots(lines)
        next_id = len(lines) + 1
        if action == "grant":
            lines.append(
                Line(next_id, EARNED, Decimal(amount), at, expires_at=at + timedelta(extra))
            )
        elif action == "redeem":
            try:
                taken = purse.spend(found, Decimal(amount), at)
            except purse.Shortfall:
                continue
            before.append({lot.id: (lot.expires_at, lot.left) for lot in found.values()})
            spends.append((at, taken))
            lines.append(Line(next_id, REDEEMED, -Decimal(amount), at))
        elif action == "expire":
            for lot in purse.due(found, at):
                lines.append(Line(len(lines) + 1, EXPIRED, -lot.left, at, applies_to=lot.id))
        else:
            earned = [line for line in lines if line.movement == EARNED]
            if earned:
                lot = found[earned[amount % len(earned)].id]
                if lot.left > 0:
                    lines.append(Line(next_id, REVERSED, -lot.left, at, applies_to=lot.id))
    return lines, spends, before


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_balance_is_the_sum_of_the_lines_and_never_negative(plan):
    lines, _, _ = run(plan)
    for n in range(len(lines) + 1):
        prefix = lines[:n]
        found = purse.lots(prefix)
        assert purse.balance(prefix) == sum((lot.left for lot in found.values()), Decimal(0))
        assert purse.balance(prefix) >= 0
        assert all(lot.left >= 0 for lot in found.values())


@settings(max_examples=300, deadline=None)
@given(steps)
def test_a_redemption_never_leaves_a_line_closer_to_expiry_unspent(plan):
    _, spends, before = run(plan)
    for (at, taken), lots in zip(spends, before, strict=True):
        used = dict(taken)
        last = max(lots[lot_id][0] for lot_id in used)
        for lot_id, (expires_at, left) in lots.items():
            usable = left > 0 and expires_at > at
            if usable and expires_at < last:
                assert used.get(lot_id) == left, "a line closer to expiry was left unspent"
