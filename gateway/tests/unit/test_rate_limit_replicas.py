"""A grant's rate limit holds whatever the autoscaler does: each of N gateway replicas passes 1/N of it."""

from __future__ import annotations

from govdata_gateway.dataplane import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def passed(limiter: RateLimiter, clock: Clock, *, rate: int, seconds: int, per_second: int = 100) -> int:
    """Calls let through when a caller tries `per_second` times a second for `seconds`."""
    count = 0
    for _ in range(seconds * per_second):
        clock.now += 1 / per_second
        count += limiter.take("grant-1", rate) == 0.0
    return count


def test_one_replica_passes_the_rate_with_a_burst_of_the_rate() -> None:
    clock = Clock()
    assert passed(RateLimiter(clock), clock, rate=20, seconds=10) in range(199, 221)


def test_ten_replicas_together_pass_no_more_than_the_rate() -> None:
    clocks = [Clock() for _ in range(10)]
    limiters = [RateLimiter(clock, replicas=10) for clock in clocks]
    total = sum(passed(limiter, clock, rate=20, seconds=10) for limiter, clock in zip(limiters, clocks, strict=True))
    assert total <= 20 * 10 + 10  # the rate over ten seconds, plus one first call per replica
    assert total >= 20 * 10 - 10


def test_a_rate_below_the_replica_count_still_lets_each_replica_pass_a_call_now_and_then() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, replicas=10)
    assert limiter.take("grant-1", 5) == 0.0
    assert limiter.take("grant-1", 5) == 2.0  # 0.5 calls a second on this replica: the next in two seconds
    clock.now += 2.0
    assert limiter.take("grant-1", 5) == 0.0
