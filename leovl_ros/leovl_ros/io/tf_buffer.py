"""A ROS-free TF buffer: transforms from ``/tf`` and ``/tf_static`` (bags or a live feed) composed at a stamp.

tf2_ros is not on PyPI, so bag replays that record poses as TF (how robots record) and the fusion node's live
``pose_source: tf`` without tf2_ros use this buffer: ``TfBuffer.lookup("map", "camera_color_optical_frame",
stamp_ns)`` walks both frames up the tree to their common ancestor and composes every edge at the stamp — static
edges as they are, dynamic edges interpolated between the two bracketing samples (translation linearly, rotation
by slerp), as tf2 does. Beyond the newest sample of a dynamic edge the lookup fails with ``TfLookupError`` (the
transform may still come), before the oldest with ``TfPastError`` (it never will), unless the stamp lies within
``tolerance_ns`` of it. A live buffer keeps ``cache_ns`` of history per edge (tf2's 10 s); a sample older than that
behind an edge's newest one (a looped bag, a restarted publisher) starts the edge again. ``TfWaitQueue`` holds
lookups that cannot be answered yet, in arrival order, for a bounded time (tf2's message filter, without ROS).
``tf_messages`` decodes ``tf2_msgs/msg/TFMessage`` from a rosbag2 with ``rosbags`` (no ROS types); ``tf_message``
builds one for writing. Frame ids are compared without a leading ``/``.
"""

from __future__ import annotations

import bisect
import collections
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Optional, TypeVar

import numpy as np

from leovl_ros.geometry.transforms import matrix_to_quat_xyzw, quat_xyzw_to_matrix

TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"
TF_TYPE = "tf2_msgs/msg/TFMessage"


TF_CACHE_NS = 10_000_000_000
"""History a live buffer keeps per dynamic edge (tf2's default cache time, 10 s)."""
T = TypeVar("T")


class TfLookupError(LookupError):
    """No transform between two frames at a stamp (unknown frame, disconnected trees or extrapolation)."""


class TfPastError(TfLookupError):
    """The stamp is older than every sample of a dynamic edge on the path: no later message can answer it."""


def _frame(name: str) -> str:
    """A frame id without its leading slash (tf2 ignores it)."""
    return name.lstrip("/")


def _slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (x, y, z, w), shortest arc."""
    dot = float(np.dot(q0, q1))
    if dot < 0.0:
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q = q0 + t * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = np.arccos(min(dot, 1.0))
    s = np.sin(theta)
    return (np.sin((1.0 - t) * theta) * q0 + np.sin(t * theta) * q1) / s


def _matrix(translation: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """4×4 of a translation and a quaternion (x, y, z, w)."""
    T = np.eye(4)
    T[:3, :3] = quat_xyzw_to_matrix(quat)
    T[:3, 3] = translation
    return T


@dataclass
class _Edge:
    """Samples of one parent → child transform (sorted by stamp; a static edge has one sample and no time)."""

    parent: str
    static: bool
    stamps: list[int] = field(default_factory=list)
    translations: list[np.ndarray] = field(default_factory=list)
    quats: list[np.ndarray] = field(default_factory=list)

    def add(self, stamp_ns: int, translation: np.ndarray, quat: np.ndarray, cache_ns: Optional[int] = None) -> None:
        """Insert a sample (a static edge keeps only the latest); with ``cache_ns``, samples older than that behind
        the newest are forgotten, and a sample that old starts the edge again (time went backwards)."""
        if self.static or (cache_ns is not None and self.stamps and stamp_ns < self.stamps[-1] - cache_ns):
            self.stamps, self.translations, self.quats = [stamp_ns], [translation], [quat]
            return
        if cache_ns is not None and self.stamps:
            keep = bisect.bisect_left(self.stamps, max(stamp_ns, self.stamps[-1]) - cache_ns)
            del self.stamps[:keep], self.translations[:keep], self.quats[:keep]
        i = bisect.bisect_left(self.stamps, stamp_ns)
        if i < len(self.stamps) and self.stamps[i] == stamp_ns:
            self.translations[i], self.quats[i] = translation, quat
            return
        self.stamps.insert(i, stamp_ns)
        self.translations.insert(i, translation)
        self.quats.insert(i, quat)

    def at(self, stamp_ns: Optional[int], tolerance_ns: int, child: str) -> np.ndarray:
        """parent ← child at ``stamp_ns`` (None: the latest sample)."""
        if self.static or stamp_ns is None:
            return _matrix(self.translations[-1], self.quats[-1])
        i = bisect.bisect_left(self.stamps, stamp_ns)
        if i < len(self.stamps) and self.stamps[i] == stamp_ns:
            return _matrix(self.translations[i], self.quats[i])
        if i == 0 or i == len(self.stamps):
            j = 0 if i == 0 else len(self.stamps) - 1
            if abs(self.stamps[j] - stamp_ns) <= tolerance_ns:
                return _matrix(self.translations[j], self.quats[j])
            side = "before the oldest" if i == 0 else "after the newest"
            error = TfPastError if i == 0 else TfLookupError
            raise error(f"{self.parent} ← {child}: {stamp_ns * 1e-9:.6f} s is {side} sample "
                        f"({self.stamps[j] * 1e-9:.6f} s; {len(self.stamps)} samples)")
        t0, t1 = self.stamps[i - 1], self.stamps[i]
        a = (stamp_ns - t0) / (t1 - t0)
        translation = (1.0 - a) * self.translations[i - 1] + a * self.translations[i]
        return _matrix(translation, _slerp(self.quats[i - 1], self.quats[i], a))


class TfBuffer:
    """Parent → child transforms over time; ``lookup(target, source, stamp)`` gives target ← source (4×4)."""

    def __init__(self, tolerance_ns: int = 0, cache_ns: Optional[int] = None) -> None:
        """``tolerance_ns``: how far beyond a dynamic edge's first/last sample a lookup may still use it;
        ``cache_ns``: history kept per dynamic edge (None: everything, for a bag; ``TF_CACHE_NS`` for a live feed)."""
        self.tolerance_ns = int(tolerance_ns)
        self.cache_ns = None if cache_ns is None else int(cache_ns)
        self._edges: dict[str, _Edge] = {}

    def __len__(self) -> int:
        """Number of known child frames."""
        return len(self._edges)

    @property
    def frames(self) -> set[str]:
        """Every frame id the buffer knows (parents and children)."""
        return set(self._edges) | {e.parent for e in self._edges.values()}

    def set_transform(self, parent: str, child: str, stamp_ns: int, transform: np.ndarray,
                      static: bool = False) -> None:
        """Add parent ← child (4×4) at ``stamp_ns``; a child that changes parent starts a new edge (as tf2)."""
        parent, child = _frame(parent), _frame(child)
        if not parent or not child or parent == child:
            raise ValueError(f"bad transform {parent!r} ← {child!r}")
        T = np.asarray(transform, dtype=np.float64)
        edge = self._edges.get(child)
        if edge is None or edge.parent != parent or edge.static != static:
            edge = self._edges[child] = _Edge(parent, static)
        edge.add(int(stamp_ns), T[:3, 3].copy(), matrix_to_quat_xyzw(T[:3, :3]), self.cache_ns)

    def clear_dynamic(self) -> None:
        """Forget every dynamic edge (a map reset or a time jump); static edges stay, as tf2 keeps /tf_static."""
        self._edges = {child: e for child, e in self._edges.items() if e.static}

    def add_message(self, msg: Any, static: bool = False) -> int:
        """Add every TransformStamped of a TFMessage (rosbags or rclpy object); returns how many. Transforms that
        tf2 rejects too are skipped: empty or equal frame ids, NaN/Inf, a quaternion not of unit length."""
        n = 0
        for ts in msg.transforms:
            tr, q = ts.transform.translation, ts.transform.rotation
            t, quat = np.array([tr.x, tr.y, tr.z], dtype=np.float64), np.array([q.x, q.y, q.z, q.w], np.float64)
            if not (np.all(np.isfinite(t)) and abs(float(quat @ quat) - 1.0) <= 1e-5):
                continue
            stamp = int(ts.header.stamp.sec) * 1_000_000_000 + int(ts.header.stamp.nanosec)
            try:
                self.set_transform(ts.header.frame_id, ts.child_frame_id, stamp, _matrix(t, quat), static=static)
            except ValueError:
                continue
            n += 1
        return n

    def sample_stamps(self) -> list[int]:
        """Every stamp at which a dynamic edge has a sample, sorted."""
        return sorted({s for e in self._edges.values() if not e.static for s in e.stamps})

    def _chain(self, frame: str) -> list[str]:
        """``frame`` and its ancestors up to the root."""
        chain, seen = [frame], {frame}
        while chain[-1] in self._edges:
            parent = self._edges[chain[-1]].parent
            if parent in seen:
                raise TfLookupError(f"the TF tree has a loop through {parent!r}")
            chain.append(parent)
            seen.add(parent)
        return chain

    def _to_ancestor(self, chain: list[str], stamp_ns: Optional[int]) -> np.ndarray:
        """ancestor ← chain[0] where ancestor = chain[-1]."""
        T = np.eye(4)
        for child in chain[:-1]:
            T = self._edges[child].at(stamp_ns, self.tolerance_ns, child) @ T
        return T

    def lookup(self, target: str, source: str, stamp_ns: Optional[int] = None) -> np.ndarray:
        """target ← source at ``stamp_ns`` (None: latest samples); ``TfLookupError`` says what is missing."""
        target, source = _frame(target), _frame(source)
        if target == source:
            return np.eye(4)
        for name in (target, source):
            if name not in self.frames:
                known = ", ".join(sorted(self.frames)) or "none"
                raise TfLookupError(f"frame {name!r} is not in the TF tree (known frames: {known})")
        up_source, up_target = self._chain(source), self._chain(target)
        common = next((f for f in up_source if f in set(up_target)), None)
        if common is None:
            raise TfLookupError(f"{target!r} and {source!r} are in unconnected trees (roots {up_target[-1]!r} and "
                                f"{up_source[-1]!r})")
        a = self._to_ancestor(up_source[: up_source.index(common) + 1], stamp_ns)
        b = self._to_ancestor(up_target[: up_target.index(common) + 1], stamp_ns)
        return np.linalg.inv(b) @ a

    def can_transform(self, target: str, source: str, stamp_ns: Optional[int] = None) -> bool:
        """Whether ``lookup`` would succeed."""
        try:
            self.lookup(target, source, stamp_ns)
        except TfLookupError:
            return False
        return True


@dataclass
class WaitOutcome(Generic[T]):
    """A decided lookup of a ``TfWaitQueue``: the transform, or why there is none."""

    item: T
    """What the caller submitted with the lookup (e.g. the frame that waits for its pose)."""
    transform: Optional[np.ndarray]
    """The lookup's 4×4 result; None when it failed."""
    failure: str = ""
    """'' (resolved), 'timeout' (waited ``timeout_s``), 'full' (evicted by a newer one) or 'past' (older than the
    TF history: it can never resolve)."""
    detail: str = ""
    """The last lookup error, for the log."""


@dataclass
class _Waiting(Generic[T]):
    """One queued lookup."""

    item: T
    lookup: Callable[[], np.ndarray]
    deadline: float
    error: str = ""


class TfWaitQueue(Generic[T]):
    """Lookups that wait, in arrival order, until TF can answer them: ``submit`` and ``retry`` (call it when new
    TF arrives, and now and then for the deadlines) return what was decided, oldest first.

    An item is decided only after every item before it (frames keep their order): resolved, failed for good
    (``TfPastError``: at once), waited ``timeout_s`` (0: no wait), or evicted when ``max_waiting`` wait already.
    Not thread-safe: call from one thread (or under one lock).
    """

    def __init__(self, timeout_s: float, max_waiting: int, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock``: seconds of a monotonic clock (the deadlines are wall time, whatever the stamps' clock)."""
        if timeout_s < 0 or max_waiting < 1:
            raise ValueError(f"TfWaitQueue needs timeout_s >= 0 and max_waiting >= 1, got {timeout_s}, {max_waiting}")
        self.timeout_s, self.max_waiting, self._clock = float(timeout_s), int(max_waiting), clock
        self._waiting: collections.deque[_Waiting[T]] = collections.deque()

    def __len__(self) -> int:
        """Lookups still waiting."""
        return len(self._waiting)

    def submit(self, item: T, lookup: Callable[[], np.ndarray]) -> list[WaitOutcome[T]]:
        """Queue ``lookup`` (raises ``TfLookupError`` while TF cannot answer) behind the waiting ones; decide what
        can be decided now."""
        self._waiting.append(_Waiting(item, lookup, self._clock() + self.timeout_s))
        evicted = []
        while len(self._waiting) > self.max_waiting:
            old = self._waiting.popleft()
            evicted.append(WaitOutcome(old.item, None, "full", f"{self.max_waiting} frames already waited for TF"
                                                               + (f" (last error: {old.error})" if old.error else "")))
        return evicted + self.retry()

    def retry(self) -> list[WaitOutcome[T]]:
        """Try the waiting lookups from the oldest: stop at the first that may still resolve before its deadline."""
        decided: list[WaitOutcome[T]] = []
        now = self._clock()
        while self._waiting:
            head = self._waiting[0]
            try:
                transform = head.lookup()
            except TfPastError as exc:
                decided.append(WaitOutcome(self._waiting.popleft().item, None, "past", str(exc)))
            except TfLookupError as exc:
                head.error = str(exc)
                if now < head.deadline:
                    break
                decided.append(WaitOutcome(self._waiting.popleft().item, None, "timeout", head.error))
            else:
                decided.append(WaitOutcome(self._waiting.popleft().item, transform))
        return decided

    def clear(self) -> int:
        """Forget every waiting lookup (a map reset); returns how many."""
        n = len(self._waiting)
        self._waiting.clear()
        return n


def tf_messages(path: str | Path, topics: Iterable[str] = (TF_TOPIC, TF_STATIC_TOPIC)) -> Iterator[tuple[str, Any]]:
    """(topic, TFMessage) of a rosbag2 in bag order, decoded by ``rosbags`` (no ROS types needed)."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_KILTED)
    wanted = set(topics)
    with Reader(path) as reader:
        conns = [c for c in reader.connections if c.topic in wanted and c.msgtype == TF_TYPE]
        for conn, _, raw in reader.messages(connections=conns):
            yield conn.topic, ts.deserialize_cdr(raw, conn.msgtype)


def buffer_from_bag(path: str | Path, tolerance_ns: int = 0) -> TfBuffer:
    """A buffer holding every ``/tf`` and ``/tf_static`` transform of a bag."""
    buffer = TfBuffer(tolerance_ns)
    for topic, msg in tf_messages(path):
        buffer.add_message(msg, static=topic == TF_STATIC_TOPIC)
    return buffer


def tf_message(ts: Any, transforms: Iterable[tuple[str, str, int, np.ndarray]]) -> Any:
    """A rosbags ``tf2_msgs/msg/TFMessage`` of (parent, child, stamp_ns, 4×4 parent ← child) tuples."""
    t = ts.types
    out = []
    for parent, child, ns, T in transforms:
        q = matrix_to_quat_xyzw(np.asarray(T)[:3, :3])
        p = np.asarray(T)[:3, 3]
        stamp = t["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
        out.append(t["geometry_msgs/msg/TransformStamped"](
            header=t["std_msgs/msg/Header"](stamp=stamp, frame_id=parent), child_frame_id=child,
            transform=t["geometry_msgs/msg/Transform"](
                translation=t["geometry_msgs/msg/Vector3"](x=float(p[0]), y=float(p[1]), z=float(p[2])),
                rotation=t["geometry_msgs/msg/Quaternion"](x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                                           w=float(q[3])))))
    return t[TF_TYPE](transforms=out)
