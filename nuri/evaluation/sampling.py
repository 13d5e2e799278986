"""A capped benchmark sample that keeps every stratum: items are drawn in turn from each
stratum (shuffled with the seed) and returned in their original order. Pure logic."""

from __future__ import annotations

import random
from typing import Callable, Hashable, Sequence, TypeVar

T = TypeVar("T")


def stratified_sample(items: Sequence[T], max_items: int | None, seed: int,
                      stratum: Callable[[T], Hashable]) -> list[T]:
    """At most max_items of items; every stratum is in once max_items reaches their number."""
    if max_items is None or max_items >= len(items):
        return list(items)
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1 (got {max_items})")
    strata: dict = {}
    for i, it in enumerate(items):
        strata.setdefault(stratum(it), []).append(i)
    rng = random.Random(seed)
    queues = [rng.sample(idx, len(idx)) for _, idx in sorted(strata.items())]
    chosen: list[int] = []
    while len(chosen) < max_items:
        for q in queues:
            if q and len(chosen) < max_items:
                chosen.append(q.pop())
    return [items[i] for i in sorted(chosen)]
