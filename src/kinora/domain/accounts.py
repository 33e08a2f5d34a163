"""Customers and API keys. A key is shown once; only its SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from kinora.db.models import ApiKey, Customer
from kinora.domain import credits
from kinora.domain.webhooks import new_secret
from kinora.errors import NotFoundError

if TYPE_CHECKING:
    from kinora.runtime import Runtime


@dataclass(frozen=True)
class NewKey:
    customer_id: str
    key: str
    credits: int
    webhook_secret: str


@dataclass(frozen=True)
class KeyInfo:
    customer_id: str
    name: str
    prefix: str
    credits: int
    created_at: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(runtime: Runtime, *, name: str = "", initial_credits: int | None = None) -> NewKey:
    amount = runtime.settings.default_credits if initial_credits is None else initial_credits
    key = "kin_" + secrets.token_urlsafe(32)
    customer_id = "cus_" + secrets.token_hex(8)
    with runtime.db.session() as s:
        secret = new_secret()
        s.add(Customer(id=customer_id, name=name, credits=0, webhook_secret=secret))
        s.flush()
        s.add(ApiKey(customer_id=customer_id, key_hash=_hash(key), prefix=key[:10], name=name))
        credits.credit(s, customer_id=customer_id, amount=amount, media_id=None, reason="grant")
    return NewKey(customer_id=customer_id, key=key, credits=amount, webhook_secret=secret)


def list_keys(runtime: Runtime) -> list[KeyInfo]:
    with runtime.db.sessions() as s:
        rows = s.execute(select(ApiKey, Customer).join(Customer).order_by(ApiKey.id)).all()
        return [
            KeyInfo(c.id, k.name, k.prefix + "…", c.credits, str(k.created_at)) for k, c in rows
        ]


def add_credits(runtime: Runtime, *, key: str, amount: int) -> int:
    """Add to the balance of the key's customer (``key`` may also be a customer id)."""
    with runtime.db.session() as s:
        customer = s.scalars(
            select(Customer).join(ApiKey).where(ApiKey.key_hash == _hash(key))
        ).first() or s.get(Customer, key)
        if customer is None:
            raise NotFoundError("no such key or customer")
        credits.credit(s, customer_id=customer.id, amount=amount, media_id=None, reason="grant")
        s.flush()
        s.refresh(customer)
        return customer.credits
