"""Per-key rate limits with the ``limits`` package (memory by default, Redis when configured)."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request, Response
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from kinora.api.deps import CustomerDep
from kinora.db.models import Customer
from kinora.errors import RateLimitedError


class RateLimits:
    def __init__(self, *, storage_url: str, general: str, generation: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self.general = parse(general)
        self.generation = parse(generation)

    def hit(self, item: RateLimitItem, key: str, response: Response | None) -> None:
        allowed = self.limiter.hit(item, "kinora", key)
        stats = self.limiter.get_window_stats(item, "kinora", key)
        headers = {
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(max(0, stats.remaining)),
            "X-RateLimit-Reset": str(int(stats.reset_time)),
        }
        if not allowed:
            retry = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimitedError(
                f"more than {item} for this key", headers={**headers, "Retry-After": str(retry)}
            )
        if response is not None:
            response.headers.update(headers)


def get_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def limited_customer(
    customer: CustomerDep, response: Response, limits: Annotated[RateLimits, Depends(get_limits)]
) -> Customer:
    """The caller, counted against the general per-key limit."""
    limits.hit(limits.general, customer.id, response)
    return customer


def generation_limited(
    customer: Annotated[Customer, Depends(limited_customer)],
    limits: Annotated[RateLimits, Depends(get_limits)],
) -> Customer:
    """The caller, also counted against the limit on requests that start renders."""
    limits.hit(limits.generation, f"gen:{customer.id}", None)
    return customer


LimitedCustomer = Annotated[Customer, Depends(limited_customer)]
GenerationCustomer = Annotated[Customer, Depends(generation_limited)]
