"""The arithmetic of a reward ledger, with no database: what is left of each earned line, what
can be spent now, and which lines a redemption spends (the ones closest to expiry first).

The ledger is replayed in the order its lines were written; every write is made under the
customer's lock, so that order is the order the decisions were taken in.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

EARNED, REDEEMED, EXPIRED, REVERSED = "earned", "redeemed", "expired", "reversed"
ZERO = Decimal(0)


class Shortfall(ValueError):
    """A redemption asks for more than can be spent."""

    def __init__(self, available: Decimal) -> None:
        super().__init__(f"Only {available} can be spent.")
        self.available = available


@dataclass(frozen=True)
class Line:
    """One ledger line of one unit: positive when earned, negative otherwise."""

    id: int
    movement: str
    value: Decimal
    at: datetime
    expires_at: datetime | None = None
    applies_to: int | None = None


@dataclass
class Lot:
    """An earned line and what is left of it."""

    id: int
    expires_at: datetime | None
    earned_at: datetime
    left: Decimal

    def spendable_at(self, at: datetime) -> bool:
        return self.left > 0 and (self.expires_at is None or self.expires_at > at)

    def order(self) -> tuple:
        # Closest to expiry first; lines that never expire last; then the oldest.
        return (self.expires_at is None, self.expires_at or self.earned_at, self.earned_at, self.id)


def balance(lines: list[Line]) -> Decimal:
    """The balance is the sum of the lines, whatever they are."""
    return sum((line.value for line in lines), ZERO)


def lots(lines: list[Line]) -> dict[int, Lot]:
    """Replay the ledger: each earned line with what redemptions, expiries and reversals left."""
    found: dict[int, Lot] = {}
    for line in sorted(lines, key=lambda line: line.id):
        if line.movement == EARNED:
            found[line.id] = Lot(line.id, line.expires_at, line.at, line.value)
        elif line.movement == REDEEMED:
            for lot_id, taken in _allocate(found, -line.value, line.at):
                found[lot_id].left -= taken
        elif line.applies_to in found:
            lot = found[line.applies_to]
            lot.left -= min(lot.left, -line.value)
    return found


def spendable(found: dict[int, Lot], at: datetime) -> Decimal:
    """What can be spent at this moment: the unexpired rest of every earned line."""
    return sum((lot.left for lot in found.values() if lot.spendable_at(at)), ZERO)


def spend(found: dict[int, Lot], amount: Decimal, at: datetime) -> list[tuple[int, Decimal]]:
    """Which earned lines a redemption of `amount` takes from and how much of each; raises
    Shortfall (changing nothing) when there is not enough."""
    if amount <= 0:
        raise ValueError("A redemption spends a positive amount.")
    available = spendable(found, at)
    if amount > available:
        raise Shortfall(available)
    return _allocate(found, amount, at)


def due(found: dict[int, Lot], at: datetime) -> list[Lot]:
    """The earned lines that have expired by `at` with something left to write off."""
    return [
        lot
        for lot in found.values()
        if lot.expires_at is not None and lot.expires_at <= at and lot.left > 0
    ]


def _allocate(found: dict[int, Lot], amount: Decimal, at: datetime) -> list[tuple[int, Decimal]]:
    taken = []
    for lot in sorted((lot for lot in found.values() if lot.spendable_at(at)), key=Lot.order):
        if amount <= 0:
            break
        part = min(lot.left, amount)
        taken.append((lot.id, part))
        amount -= part
    return taken
