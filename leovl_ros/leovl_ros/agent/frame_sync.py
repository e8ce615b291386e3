"""ROS-free building blocks of the fusion node's input path (message_filters is not on PyPI).

* ``ApproxTimeSync``: pairs a pivot stream (colour) with the other streams (depth, ...) whose stamps lie within
  a per-stream slop of it (the pose stream uses the max pose age), from bounded per-stream queues; every pivot
  message that cannot be matched is reported with the streams that were missing.
* ``LatestQueue`` (live mode: a few frames of slack for bursts, the oldest unprocessed one evicted and counted as
  dropped) and ``BlockingQueue`` (eval mode: ``put`` blocks = back-pressure, every frame processed).
* ``DropCounters``: thread-safe counters by reason.
"""

from __future__ import annotations

import bisect
import collections
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, Optional, TypeVar

T = TypeVar("T")


class DropCounters:
    """Thread-safe ``reason → count`` (reasons appear in first-seen order, zero counts for pre-registered ones)."""

    def __init__(self, reasons: Sequence[str] = ()) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {r: 0 for r in reasons}

    def add(self, reason: str, n: int = 1) -> int:
        """Add ``n`` to ``reason``; returns the new count."""
        with self._lock:
            self._counts[reason] = self._counts.get(reason, 0) + n
            return self._counts[reason]

    def snapshot(self) -> dict[str, int]:
        """A copy of all counters."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """Sum over reasons."""
        with self._lock:
            return sum(self._counts.values())


class ApproxTimeSync:
    """Approximate-time sync of ``n`` streams around stream 0 (the pivot), like message_filters' policy.

    ``add(i, stamp_ns, msg)`` queues a message; whenever every other stream ``i`` holds a message within
    ``slops_s[i-1]`` of the oldest pivot message, ``on_match(stamp_ns, [msg0, msg1, ...])`` is called with the
    nearest ones and everything up to them is consumed. A pivot message that can no longer match (each missing
    stream already holds a newer message beyond its slop) or that overflows its queue goes to
    ``on_drop(stamp_ns, msg, missing_streams)``. Not thread-safe: call from one callback group.
    """

    def __init__(self, n_streams: int, slop_s: float, queue_size: int,
                 on_match: Callable[[int, list[Any]], None], on_drop: Callable[[int, Any, list[int]], None],
                 slops_s: Optional[Sequence[float]] = None) -> None:
        """``slops_s`` gives a tolerance per non-pivot stream (default ``slop_s`` for all)."""
        if n_streams < 2 or queue_size < 1:
            raise ValueError("ApproxTimeSync needs >= 2 streams and queue_size >= 1")
        self.queue_size = queue_size
        self.slops_ns: list[int] = []
        self.set_slops(list(slops_s) if slops_s is not None else [slop_s] * (n_streams - 1))
        self._queues: list[collections.deque] = [collections.deque() for _ in range(n_streams)]
        self._seen = [False] * n_streams
        self._on_match = on_match
        self._on_drop = on_drop

    def set_slops(self, slops_s: Sequence[float]) -> None:
        """Change the per-stream tolerances (seconds, ≥ 0)."""
        if any(s < 0 for s in slops_s):
            raise ValueError(f"slops must be >= 0, got {list(slops_s)}")
        self.slops_ns = [int(round(s * 1e9)) for s in slops_s]

    def seen(self, stream: int) -> bool:
        """Whether ``stream`` ever delivered a message (since the last reset)."""
        return self._seen[stream]

    def reset(self) -> None:
        """Forget every queued message (no drops counted)."""
        for q in self._queues:
            q.clear()
        self._seen = [False] * len(self._queues)

    def add(self, stream: int, stamp_ns: int, msg: Any) -> None:
        """Queue a message (kept sorted by stamp) and emit/drop what can be decided now."""
        self._seen[stream] = True
        q = self._queues[stream]
        if q and stamp_ns < q[-1][0]:
            stamps = [s for s, _ in q]
            q.insert(bisect.bisect_right(stamps, stamp_ns), (stamp_ns, msg))
        else:
            q.append((stamp_ns, msg))
        while len(q) > self.queue_size:
            old_stamp, old_msg = q.popleft()
            if stream == 0:
                picks = self._picks(old_stamp)
                self._on_drop(old_stamp, old_msg, [i for i, p in enumerate(picks, start=1) if p is None])
        self._process()

    def _picks(self, stamp_ns: int) -> list[Optional[int]]:
        """Per non-pivot stream: index of the message nearest ``stamp_ns`` within its slop, else None."""
        picks: list[Optional[int]] = []
        for stream in range(1, len(self._queues)):
            slop = self.slops_ns[stream - 1]
            best, best_gap = None, slop + 1
            for i, (s, _) in enumerate(self._queues[stream]):
                gap = abs(s - stamp_ns)
                if gap < best_gap:
                    best, best_gap = i, gap
            picks.append(best)
        return picks

    def _process(self) -> None:
        """Emit every decidable pivot message, oldest first: matched, or dropped when it can no longer match."""
        pivot = self._queues[0]
        while pivot:
            stamp, msg = pivot[0]
            picks = self._picks(stamp)
            if all(p is not None for p in picks):
                pivot.popleft()
                matched = [msg]
                for i, p in enumerate(picks, start=1):
                    q = self._queues[i]
                    matched.append(q[p][1])
                    for _ in range(p + 1):
                        q.popleft()
                self._on_match(stamp, matched)
                continue
            missing = [i for i, p in enumerate(picks, start=1) if p is None]
            hopeless = all(self._queues[i] and self._queues[i][-1][0] > stamp + self.slops_ns[i - 1]
                           for i in missing)
            if not hopeless:
                return
            pivot.popleft()
            self._on_drop(stamp, msg, missing)


class _HandOff(Generic[T]):
    """A bounded FIFO between the sensor callbacks and the fusion worker; subclasses decide what ``put`` does when
    it is full."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"{type(self).__name__} needs maxsize >= 1, got {maxsize}")
        self._cond = threading.Condition()
        self._items: collections.deque = collections.deque()
        self.maxsize = maxsize
        self._closed = False

    def get(self, timeout: float) -> Optional[T]:
        """Pop the oldest item, waiting up to ``timeout`` s; None on timeout or after ``close``."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self) -> None:
        """Release blocked producers and consumers (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class LatestQueue(_HandOff[T]):
    """Drop-oldest hand-over (live mode): ``put`` appends and, when full, evicts and returns the oldest unconsumed
    item (the caller counts the drop). A depth of 2–3 absorbs a burst of frames that arrived together (an executor
    catching up) without adding more than that many frames of latency; depth 1 keeps only the newest frame."""

    def __init__(self, maxsize: int = 2) -> None:
        super().__init__(maxsize)

    def put(self, item: T) -> Optional[T]:
        """Append ``item``; returns the evicted oldest item when the queue was full (else None)."""
        with self._cond:
            evicted = self._items.popleft() if len(self._items) >= self.maxsize else None
            self._items.append(item)
            self._cond.notify_all()
            return evicted


class BlockingQueue(_HandOff[T]):
    """Back-pressure hand-over (eval mode): ``put`` blocks while full until the consumer takes an item or
    ``close``."""

    def put(self, item: T) -> None:
        """Append, waiting while the queue is full (returns immediately after ``close``)."""
        with self._cond:
            while len(self._items) >= self.maxsize and not self._closed:
                self._cond.wait(0.1)
            if not self._closed:
                self._items.append(item)
                self._cond.notify_all()
