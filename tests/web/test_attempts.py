"""The wrong-token limit on its own, with a clock the test moves (``web/attempts.py``)."""

from __future__ import annotations

from gaai.web.attempts import WrongTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_held_off_after_the_limit_until_its_oldest_wrong_token_leaves_the_window():
    clock = Clock()
    tokens = WrongTokens(limit=3, window_s=60.0, clock=clock)
    for _ in range(2):
        tokens.failed("10.0.0.1")
        clock.now += 10
    assert tokens.wait_s("10.0.0.1") is None  # two wrong tokens: may still try
    tokens.failed("10.0.0.1")  # the third, 20 s after the first
    assert tokens.wait_s("10.0.0.1") == 40.0
    assert tokens.wait_s("10.0.0.2") is None  # another address is not held off
    clock.now += 39.5
    assert tokens.wait_s("10.0.0.1") == 0.5
    clock.now += 0.5  # the first wrong token leaves the window
    assert tokens.wait_s("10.0.0.1") is None


def test_the_remembered_addresses_are_bounded(monkeypatch):
    monkeypatch.setattr("gaai.web.attempts.MAX_ADDRESSES", 5)
    tokens = WrongTokens(limit=1, window_s=60.0, clock=Clock())
    for address in range(8):
        tokens.failed(f"10.0.0.{address}")
    assert [tokens.wait_s(f"10.0.0.{address}") is None for address in range(8)] == [True] * 3 + [False] * 5
