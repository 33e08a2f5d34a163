"""The cost model and the atomic ledger.

Cost table (credits): each video costs 1 credit per started 5 seconds of its ``duration``
(1-5 s: 1 credit, 6-10 s: 2 credits), times ``quantity``. ``loop`` repeats the same motion and
costs nothing more. A failed generation is refunded in full.
"""

from __future__ import annotations

import math

from sqlalchemy import update
from sqlalchemy.orm import Session

from kinora.db.models import CreditEntry, Customer
from kinora.errors import InsufficientCreditError


def cost_of(*, quantity: int, duration: int) -> int:
    return quantity * math.ceil(duration / 5)


def debit(session: Session, *, customer_id: str, amount: int, media_id: str | None) -> None:
    """Take ``amount`` credits in one conditional UPDATE; raise if the balance is short."""
    if amount <= 0:
        return
    result = session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.credits >= amount)
        .values(credits=Customer.credits - amount)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InsufficientCreditError()
    session.add(
        CreditEntry(customer_id=customer_id, media_id=media_id, delta=-amount, reason="debit")
    )


def credit(
    session: Session, *, customer_id: str, amount: int, media_id: str | None, reason: str
) -> None:
    if amount <= 0:
        return
    session.execute(
        update(Customer).where(Customer.id == customer_id).values(credits=Customer.credits + amount)
    )
    session.add(
        CreditEntry(customer_id=customer_id, media_id=media_id, delta=amount, reason=reason)
    )
