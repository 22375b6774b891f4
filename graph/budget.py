"""Token and cost budgets: when one is spent, no new model call starts and the run goes to verification.

Parallel branches run in threads of one process, so the meter is shared in memory per run id. The
schedule node re-syncs it from the state's usage records at every wave boundary, which makes it exact
after a resume too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from pydantic import BaseModel, Field

from state.models import ModelUsage


class Price(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


def usage_cost(usage: Iterable[ModelUsage], prices: dict[str, Price] | None) -> float | None:
    """The cost of the usage records, or None when no price table was given."""
    if not prices:
        return None
    total = 0.0
    for item in usage:
        price = prices.get(item.model) or prices.get("*")
        if price is not None:
            total += (item.input_tokens * price.input + item.output_tokens * price.output) / 1_000_000
    return round(total, 6)


class BudgetMeter:
    """What a run has spent, checked before every model call."""

    def __init__(self, max_tokens: int | None, max_cost: float | None, prices: dict[str, Price] | None) -> None:
        self.max_tokens, self.max_cost, self.prices = max_tokens, max_cost, prices or {}
        self.tokens = 0
        self.cost = 0.0
        self._lock = threading.Lock()

    def sync(self, usage: Iterable[ModelUsage]) -> None:
        items = list(usage)
        with self._lock:
            self.tokens = sum(u.input_tokens + u.output_tokens for u in items)
            self.cost = usage_cost(items, self.prices) or 0.0

    def charge(self, model: str, input_tokens: int, output_tokens: int) -> None:
        price = self.prices.get(model) or self.prices.get("*")
        with self._lock:
            self.tokens += input_tokens + output_tokens
            if price is not None:
                self.cost += (input_tokens * price.input + output_tokens * price.output) / 1_000_000

    def exhausted(self) -> str | None:
        """Why no new model call may start, or None."""
        with self._lock:
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                return f"budget exhausted: {self.tokens} tokens spent of {self.max_tokens}"
            if self.max_cost is not None and self.cost >= self.max_cost:
                return f"budget exhausted: ${self.cost:.4f} spent of ${self.max_cost:.4f}"
        return None


_meters: dict[str, BudgetMeter] = {}
_meters_lock = threading.Lock()


def meter_for(
    run_id: str, max_tokens: int | None, max_cost: float | None, prices: dict[str, Price] | None
) -> BudgetMeter:
    """The run's shared meter; limits follow the latest settings (a resume may change them)."""
    with _meters_lock:
        meter = _meters.get(run_id)
        if meter is None:
            meter = _meters[run_id] = BudgetMeter(max_tokens, max_cost, prices)
        meter.max_tokens, meter.max_cost, meter.prices = max_tokens, max_cost, prices or {}
        return meter
