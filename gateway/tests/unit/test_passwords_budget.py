"""The budget credential checks run in (passwords.VerificationBudget): turns within a share of one CPU, the burst
after a quiet spell, refusal beyond the longest wait, hashing time charged as measured and a flat charge for each
check's database work, unused hashing given back; and verifications on one thread of their own, one at a time,
while the event loop goes on."""

from __future__ import annotations

import asyncio
import threading

import pytest
from govdata_gateway import passwords
from govdata_gateway.passwords import VerificationBudget, VerificationBusy


class Clock:
    """A movable monotonic clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(
    clock: Clock, *, share: float = 0.1, lookup: float = 0.0, burst: float = 0.2, max_wait: float = 2.0
) -> VerificationBudget:
    return VerificationBudget(cpu_share=share, lookup_cost=lookup, burst=burst, max_wait=max_wait, clock=clock)


def test_a_burst_starts_at_once_then_turns_are_spaced_by_cost_over_share() -> None:
    clock = Clock()
    b = budget(clock)  # 0.2 s of burst, 20 ms a verification (the first estimate): ten at once
    starts = [b.reserve().start_at for _ in range(13)]
    assert starts[:10] == pytest.approx([clock.now] * 10)
    # Then one every 20 ms / 10 % = 200 ms.
    assert starts[10:] == pytest.approx([clock.now + 0.2, clock.now + 0.4, clock.now + 0.6])


def test_a_turn_further_off_than_max_wait_is_refused_with_the_wait() -> None:
    clock = Clock()
    b = budget(clock, burst=0.02, max_wait=1.1)
    for _ in range(6):  # now, +0.2, … +1.0
        b.reserve()
    with pytest.raises(VerificationBusy) as refused:
        b.reserve()
    assert refused.value.retry_after == pytest.approx(1.2)
    # A refused turn reserves nothing: once the budget is paid back, turns start at once again.
    clock.now += 1.2
    assert b.reserve().start_at == pytest.approx(clock.now)


def test_hashing_is_charged_as_measured() -> None:
    clock = Clock()
    b = budget(clock, burst=0.02, max_wait=100)
    turn = b.reserve()
    b._settle(turn, 0.5)  # a PBKDF2 hash of many iterations: 25 times the estimate
    # 0.5 s of CPU at 10 % is paid back after 5 s. The next, now estimated at more than the burst, starts then.
    assert b.estimate == pytest.approx(0.8 * 0.02 + 0.2 * 0.5)
    assert b.reserve().start_at == pytest.approx(clock.now + 5.0)
    # And the one after waits for that one to be paid back: 0.116 s at 10 %.
    assert b.reserve().start_at == pytest.approx(clock.now + 5.0 + 1.16)


def test_an_unused_turn_is_given_back() -> None:
    clock = Clock()
    b = budget(clock, burst=0.02, max_wait=0.0)
    turn = b.reserve()
    with pytest.raises(VerificationBusy):
        b.reserve()
    b.release(turn)
    b.release(turn)  # twice is once
    assert b.reserve().start_at == pytest.approx(clock.now)
    with pytest.raises(VerificationBusy):
        b.reserve()


def test_each_check_is_charged_for_its_lookup_even_when_no_hashing_follows() -> None:
    clock = Clock()
    b = budget(clock, lookup=0.004, burst=0.0, max_wait=10)
    for _ in range(3):  # three unknown clients: looked up, nothing to hash
        b.release(b.reserve())
    # 3 × 4 ms at 10 % is paid back after 120 ms; the next check (4 + 20 ms) starts then.
    assert b.reserve().start_at == pytest.approx(clock.now + 0.12)


def test_parameters_are_checked() -> None:
    for bad in ({"cpu_share": 0}, {"cpu_share": 1.5}, {"lookup_cost": -1}, {"burst": -1}, {"max_wait": -1}):
        with pytest.raises(ValueError):
            VerificationBudget(**bad)


async def test_verifications_run_one_at_a_time_on_their_own_thread_while_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = passwords.hash_secret("正确的密钥")
    running, most, threads = 0, 0, set()
    lock = threading.Lock()
    real = passwords.verify_secret

    def observed(secret: str, encoded: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.current_thread().name)
        try:
            return real(secret, encoded)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(passwords, "verify_secret", observed)
    b = VerificationBudget(cpu_share=1.0, burst=10.0)
    checks = [asyncio.create_task(b.verify(s, stored)) for s in ("错误", "正确的密钥", "错误2", "错误3")]
    # The loop is free while they hash: other work runs before any of them is done.
    for _ in range(3):
        await asyncio.sleep(0)
    assert not any(check.done() for check in checks)
    assert await asyncio.gather(*checks) == [False, True, False, False]
    assert most == 1
    assert len(threads) == 1 and next(iter(threads)).startswith("verify-secret")
    assert threading.current_thread().name not in threads
