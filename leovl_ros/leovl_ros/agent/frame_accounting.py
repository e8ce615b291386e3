"""Frames that never arrived, inferred from gaps in the stamps of the ones that did (ROS-free).

The middleware reports some losses itself (rmw message-lost events), but not all: a sample overwritten in a
keep-last reader cache, a frame the transport dropped before the reader saw its sequence number, or a camera
driver that skipped a tick leave no trace except a hole in the stamps. ``StampGapCounter`` watches the stamps of
one stream (the colour images: one per frame) and counts ``round(gap / period) − 1`` frames for every gap longer
than 1.5 periods, where the period is the camera's nominal one estimated robustly from the stamps themselves:

* the median of the recent stamp differences first, then the median of the differences within ±25 % of it (so
  jitter around the true period averages out, and neither the long gap nor the short one around a late tick
  moves it): right as long as fewer than half of the gaps span a lost frame (beyond ~50 % loss the count is
  low by the share of double gaps);
* nothing is counted until ``min_samples`` differences were seen; the gaps seen meanwhile are counted then;
* once the period is known, stamps are placed on the camera's tick grid rather than compared gap by gap: a
  loaded camera process stamps some ticks late (up to ``LATE_TOLERANCE`` of a period) while its timer stays on
  the grid, and such a late tick followed by an early-looking one is no loss; the grid follows the earliest
  ticks (and, slowly, later ones: drift) so a wrong phase or a slightly wrong period does not accumulate;
* a late stamp that falls inside a recent counted gap (reordering) takes one frame back off ``lost``; a repeated
  stamp is ignored; a stamp more than ``max_gap_s`` before the previous one (replay restart, clock jump back)
  restarts the reference; a gap longer than ``max_gap_s`` is a pause of the stream (counted in ``pauses``, not as
  lost frames).

Not thread-safe: feed it from one callback group.
"""

from __future__ import annotations

import collections
from typing import Optional

import numpy as np

LATE_TOLERANCE = 0.8
"""A stamp up to this many periods after its grid tick still belongs to that tick (earlier ones up to the rest)."""


class StampGapCounter:
    """``lost_inferred`` from stamp gaps at the nominal period (estimated from the stamps)."""

    def __init__(self, window: int = 120, min_samples: int = 10, max_gap_s: float = 2.0) -> None:
        """``window`` recent differences estimate the period; ``max_gap_s``: longer gaps are pauses."""
        if window < 4 or not 2 <= min_samples <= window or max_gap_s <= 0:
            raise ValueError(f"need window >= 4, 2 <= min_samples <= window, max_gap_s > 0; got {window}, "
                             f"{min_samples}, {max_gap_s}")
        self.window = window
        self.min_samples = min_samples
        self.max_gap_ns = int(max_gap_s * 1e9)
        self._diffs: collections.deque = collections.deque(maxlen=window)
        self._pending: list[int] = []  # gaps seen before the period was known
        self._last: Optional[int] = None
        self._holes: collections.deque = collections.deque(maxlen=32)  # [start, end, frames counted] of recent gaps
        self._grid: Optional[float] = None  # tick time (ns) of the latest stamp's slot on the camera's grid
        self._period: Optional[float] = None
        self._since_estimate = 0
        self.lost = 0
        """Frames inferred lost so far."""
        self.pauses = 0
        """Gaps longer than ``max_gap_s`` (stream paused or restarted; not counted as lost)."""
        self.stamps = 0
        """Stamps seen."""

    @property
    def period_s(self) -> Optional[float]:
        """The nominal period estimate (s), None until ``min_samples`` differences were seen."""
        return None if self._period is None else self._period * 1e-9

    @property
    def rate_hz(self) -> float:
        """The nominal rate estimate (Hz), 0 while unknown."""
        return 0.0 if self._period is None else 1e9 / self._period

    def reset(self) -> None:
        """Forget the reference stamp (keeps the counts and the period estimate)."""
        self._last = None

    def add(self, stamp_ns: int) -> int:
        """Account one stamp; returns the frames inferred lost just before it (0 while the period is unknown; −1
        when a late stamp fills a gap counted before)."""
        self.stamps += 1
        last = self._last
        if last is not None and stamp_ns <= last:
            if last - stamp_ns <= self.max_gap_ns:
                return -self._fill(stamp_ns)  # late or repeated: the reference stays
            self.pauses += 1  # far back: a restart
            self._last = stamp_ns
            return 0
        self._last = stamp_ns
        if last is None:
            return 0
        gap = stamp_ns - last
        if gap > self.max_gap_ns:
            self.pauses += 1
            return 0
        self._diffs.append(gap)
        self._since_estimate += 1
        if self._period is None:
            self._pending.append(gap)
            if len(self._diffs) < self.min_samples:
                return 0
            self._estimate()
            pending, self._pending = self._pending, []
            n = sum(self._missing(g) for g in pending)
            self._grid = float(stamp_ns)
        else:
            if self._since_estimate >= max(1, self.window // 8):
                self._estimate()
            n = self._on_grid(last, stamp_ns)
            if n:
                self._holes.append([last, stamp_ns, n])
        self.lost += n
        return n

    def _fill(self, stamp_ns: int) -> int:
        """A late stamp inside a counted gap was not lost after all: 1 (taken off ``lost``), else 0."""
        for hole in self._holes:
            if hole[0] < stamp_ns < hole[1] and hole[2] > 0:
                hole[2] -= 1
                self.lost -= 1
                return 1
        return 0

    def _estimate(self) -> None:
        """Period from the recent differences: their median, then the median of the ones within ±25 % of it."""
        diffs = np.fromiter(self._diffs, dtype=np.float64)
        mid = float(np.median(diffs))
        near = diffs[np.abs(diffs - mid) <= 0.25 * mid]
        self._period = float(np.median(near)) if near.size else mid
        self._since_estimate = 0

    def _on_grid(self, last: int, stamp_ns: int) -> int:
        """Frames missing between the previous slot and the one ``stamp_ns`` falls in (a new stamp always takes at
        least the next slot); moves the grid to that slot, snapping to early stamps, creeping towards late ones."""
        assert self._period is not None
        period = self._period
        grid = self._grid if self._grid is not None and 0.0 <= last - self._grid < period else float(last)
        slots = max(1, int(np.floor((stamp_ns - grid) / period + (1.0 - LATE_TOLERANCE))))
        tick = grid + slots * period
        error = stamp_ns - tick
        self._grid = float(stamp_ns) if error < 0 else tick + 0.1 * error
        return slots - 1

    def _missing(self, gap: int) -> int:
        """Frames missing in one gap at the current period."""
        assert self._period is not None
        if gap <= 1.5 * self._period:
            return 0
        return max(0, int(round(gap / self._period)) - 1)
