"""Recent prices per pair, thinned to one sample per step, for sparklines. Pure; injected times."""

from __future__ import annotations

from collections import deque


class PriceHistory:
    """The last ``window_s`` seconds of one pair's prices, at most one sample per ``step_s``.

    Within a step the latest price wins, so the line ends at the current price. Memory is
    bounded by ``window_s / step_s + 1`` samples however fast prices arrive.
    """

    def __init__(self, window_s: float = 900.0, step_s: float = 2.0) -> None:
        if window_s <= 0 or step_s <= 0:
            raise ValueError("window_s and step_s must be > 0")
        self.window_s = window_s
        self.step_s = step_s
        self._samples: deque[tuple[float, float]] = deque(maxlen=int(window_s / step_s) + 1)

    def add(self, t: float, price: float) -> None:
        """Record ``price`` at monotonic time ``t``."""
        samples = self._samples
        if samples and t - samples[-1][0] < self.step_s:
            samples[-1] = (samples[-1][0], price)  # same step: keep its time, take the newest price
        else:
            samples.append((t, price))
        while samples and samples[0][0] < t - self.window_s:
            samples.popleft()

    def points(self) -> list[tuple[float, float]]:
        """``(t, price)`` samples, oldest first."""
        return list(self._samples)

    def __len__(self) -> int:
        return len(self._samples)
