"""Events the customers app announces to the apps above it (programs, the dashboard)."""

from django.dispatch import Signal

# Sent after commit when a customer moves on the ladder: customer, from_tier, to_tier, change.
tier_changed = Signal()

# Sent after commit when a customer's review finds them short of their rung and the grace
# starts: customer, tier, until (the last day of grace), to_keep (what it takes, in lines).
tier_at_risk = Signal()

# Sent inside the merge's transaction: survivor, merged. Apps above move their own rows.
customers_merged = Signal()

# Sent after commit when a follow-up is marked done: follow_up.
follow_up_done = Signal()

# Sent after commit when a contract is added: contract.
contract_added = Signal()
