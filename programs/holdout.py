"""Who is held out: treatment or control, by a stable hash of (salt, customer id).

Pure: no database. A customer's draw is a number in [0, 1) fixed by the salt and their id, and
they are in control when it falls under the share. Re-enrolling or enrolling in batches never
reshuffles anyone, and raising or lowering a share only moves those whose draw lies between the
old and the new share: nobody who stays in is reshuffled.
"""

import hashlib
import secrets
from typing import Literal

Group = Literal["treated", "holdout", "global_control"]
MAX_SHARE = 50


def new_salt() -> str:
    """A fresh salt for a program's draws."""
    return secrets.token_hex(16)


def draw(salt: str, customer_id: int) -> float:
    """The customer's fixed number in [0, 1) under this salt."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def group_for(
    customer_id: int,
    *,
    program_salt: str,
    program_share: int,
    global_salt: str,
    global_share: int,
) -> Group:
    """treated, holdout (this program's control) or global_control (no program touches at
    all); shares in percent."""
    if global_share and draw(global_salt, customer_id) * 100 < global_share:
        return "global_control"
    if program_share and draw(program_salt, customer_id) * 100 < program_share:
        return "holdout"
    return "treated"
