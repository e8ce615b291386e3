"""The live TF pieces without ROS: lookups that wait in order with deadlines, a bounded history, time jumps, and
transforms tf2 would reject."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from leovl_ros.geometry.transforms import pose_from_position_quat
from leovl_ros.io.tf_buffer import TfBuffer, TfLookupError, TfPastError, TfWaitQueue

S = 1_000_000_000


def _T(x: float) -> np.ndarray:
    return pose_from_position_quat(np.array([x, 0.0, 0.0]), np.array([0.0, 0.0, 0.0, 1.0]))


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_waiting_lookups_resolve_in_order_when_tf_arrives() -> None:
    buf, clock = TfBuffer(), FakeClock()
    queue: TfWaitQueue[str] = TfWaitQueue(timeout_s=1.0, max_waiting=5, clock=clock)
    buf.set_transform("map", "cam", 0, _T(0.0))

    def at(stamp: int):
        return lambda: buf.lookup("map", "cam", stamp)

    assert queue.submit("a", at(0))[0].transform is not None  # answerable at once
    assert queue.submit("b", at(2 * S)) == [] and queue.submit("c", at(S)) == []  # b waits, c waits behind it
    assert len(queue) == 2
    buf.set_transform("map", "cam", 2 * S, _T(2.0))
    decided = queue.retry()
    assert [d.item for d in decided] == ["b", "c"]  # arrival order, both now answerable
    np.testing.assert_allclose(decided[0].transform[:3, 3], [2.0, 0, 0])
    np.testing.assert_allclose(decided[1].transform[:3, 3], [1.0, 0, 0])  # interpolated


def test_timeout_past_and_full_are_told_apart() -> None:
    buf, clock = TfBuffer(), FakeClock()
    buf.set_transform("map", "cam", 10 * S, _T(0.0))
    buf.set_transform("map", "cam", 11 * S, _T(1.0))
    queue: TfWaitQueue[str] = TfWaitQueue(timeout_s=0.5, max_waiting=2, clock=clock)
    (past,) = queue.submit("old", lambda: buf.lookup("map", "cam", 9 * S))
    assert (past.item, past.failure, past.transform) == ("old", "past", None)
    assert "before the oldest" in past.detail
    assert queue.submit("late", lambda: buf.lookup("map", "cam", 12 * S)) == []
    clock.now += 0.4
    assert queue.retry() == []  # still within its deadline
    clock.now += 0.2
    (late,) = queue.retry()
    assert late.failure == "timeout" and "after the newest" in late.detail
    for name in ("x", "y"):
        assert queue.submit(name, lambda: buf.lookup("map", "nowhere", 0)) == []
    (full,) = queue.submit("z", lambda: buf.lookup("map", "nowhere", 0))
    assert (full.item, full.failure) == ("x", "full") and "not in the TF tree" in full.detail
    assert queue.clear() == 2 and len(queue) == 0
    with pytest.raises(ValueError):
        TfWaitQueue(-1.0, 3)
    no_wait: TfWaitQueue[str] = TfWaitQueue(0.0, 3, clock=clock)
    assert no_wait.submit("now", lambda: buf.lookup("map", "cam", 12 * S))[0].failure == "timeout"


def test_live_buffer_keeps_its_cache_and_restarts_on_a_time_jump() -> None:
    buf = TfBuffer(cache_ns=2 * S)
    for t in range(6):
        buf.set_transform("odom", "base", t * S, _T(float(t)))
    buf.set_transform("map", "odom", 0, np.eye(4), static=True)
    with pytest.raises(TfPastError):  # forgotten: older than the newest sample minus the cache
        buf.lookup("map", "base", 2 * S)
    np.testing.assert_allclose(buf.lookup("map", "base", 4 * S + S // 2)[:3, 3], [4.5, 0, 0])
    buf.set_transform("odom", "base", 0, _T(10.0))  # a looped bag: time went back beyond the cache
    np.testing.assert_allclose(buf.lookup("map", "base", 0)[:3, 3], [10.0, 0, 0])
    with pytest.raises(TfLookupError, match="after the newest"):
        buf.lookup("map", "base", 4 * S)
    buf.clear_dynamic()
    assert buf.frames == {"map", "odom"}  # the static edge stays


def test_invalid_transforms_are_skipped_like_tf2() -> None:
    def ts(parent: str, child: str, q: tuple, x: float = 0.0) -> SimpleNamespace:
        stamp = SimpleNamespace(sec=1, nanosec=0)
        transform = SimpleNamespace(translation=SimpleNamespace(x=x, y=0.0, z=0.0),
                                    rotation=SimpleNamespace(x=q[0], y=q[1], z=q[2], w=q[3]))
        return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id=parent), child_frame_id=child,
                               transform=transform)

    unit = (0.0, 0.0, 0.0, 1.0)
    msg = SimpleNamespace(transforms=[ts("map", "a", unit), ts("map", "b", (0.0, 0.0, 0.0, 2.0)),
                                      ts("map", "c", unit, x=float("nan")), ts("", "d", unit), ts("e", "e", unit),
                                      ts("map", "f", (0.0, 0.0, 0.0, 1.0 + 1e-7))])
    buf = TfBuffer()
    assert buf.add_message(msg) == 2
    assert buf.frames == {"map", "a", "f"}
