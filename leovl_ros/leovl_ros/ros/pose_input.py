"""Where the fusion node's camera poses come from (``pose_source``), as robots give them — a ROS adapter.

- ``topic``: ``geometry_msgs/PoseStamped`` of the optical frame in ``map_frame``, into the sync's pose stream.
- ``odometry``: ``nav_msgs/Odometry`` (the base pose) in ``map_frame``, or in ``odom_frame`` behind the static
  ``map_to_odom``, composed with the base → optical extrinsic: the ``base_to_optical`` parameter, or — when it is
  ``[]`` — the static transform from the Odometry's ``child_frame_id`` to the images' ``frame_id`` on
  ``/tf_static``, looked up once and kept.
- ``tf``: ``map_frame`` ← the images' ``frame_id`` at each image stamp.

TF comes from ``tf2_ros`` (``Buffer`` + ``TransformListener``) where it imports (apt ROS 2); elsewhere (the PyPI
wheels have no tf2_ros) from subscriptions to ``/tf`` and ``/tf_static`` (transient local, as tf2 subscribes)
feeding the ROS-free ``leovl_ros.io.tf_buffer.TfBuffer``. A frame whose transform is not there yet waits
(``TfWaitQueue``: in arrival order, at most ``sync_queue_size`` frames, ``tf_timeout`` seconds) and is tried again
whenever TF arrives and on a short timer; a frame stamped before all TF history is dropped at once
(``tf_extrapolation``), one that waited ``tf_timeout`` (or was pushed out of a full queue) as ``tf_timeout``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from leovl_ros.agent.node_config import FusionConfig
from leovl_ros.agent.validation import InputRejected, Reason, Rejection, check_pose_matrix
from leovl_ros.geometry.transforms import extrinsic_from_list, matrix_to_quat_xyzw, pose_from_position_quat
from leovl_ros.io import cdr
from leovl_ros.io.tf_buffer import (
    TF_CACHE_NS,
    TF_STATIC_TOPIC,
    TF_TOPIC,
    TfBuffer,
    TfLookupError,
    TfPastError,
    TfWaitQueue,
    WaitOutcome,
)
from leovl_ros.ros import conversions as conv

RETRY_PERIOD_S = 0.02
"""While frames wait for TF: how often they are tried again (tf2_ros gives no new-data event) and timed out."""
PoseDone = Callable[[Optional[np.ndarray], Optional[Rejection]], None]
"""What ``PoseInput.resolve`` calls with a frame's pose (world ← optical) or the reason it has none."""


@dataclass(frozen=True)
class PoseEntry:
    """A pose message converted in its callback, waiting in the sync's pose stream for its image."""

    pose: Optional[np.ndarray]
    """world ← optical; with the extrinsic from /tf_static: world ← base (the extrinsic comes at ``resolve``)."""
    rejection: Optional[Rejection] = None
    """Why the message gives no pose."""
    base_frame: str = ""
    """Set when the extrinsic comes from /tf_static: the Odometry's child_frame_id, where it starts."""


def tf_qos(static: bool) -> QoSProfile:
    """tf2's subscriber QoS: reliable, depth 100; transient local for ``/tf_static`` (late joiners get it)."""
    return QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if static else DurabilityPolicy.VOLATILE)


class RosFreeTf:
    """``/tf`` (unless ``static_only``) and ``/tf_static`` subscriptions feeding a ROS-free ``TfBuffer``."""

    name = "ROS-free buffer over /tf + /tf_static"

    def __init__(self, node: Node, callback_group: Any, static_only: bool, on_new_data: Callable[[], None]) -> None:
        """Subscribe (in ``callback_group``); ``on_new_data`` runs after each message is in the buffer."""
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError as exc:
            raise RuntimeError("TF input needs tf2_msgs: `make setup` builds a minimal one (vendor/tf2_msgs) where "
                               "ROS 2 has none; with apt ROS 2 install ros-$ROS_DISTRO-tf2-msgs") from exc
        self.buffer = TfBuffer(cache_ns=TF_CACHE_NS)
        self.lock = threading.Lock()
        self._on_new_data = on_new_data
        if static_only:
            self.name = "ROS-free buffer over /tf_static"
        else:
            node.create_subscription(TFMessage, TF_TOPIC, lambda m: self._add(m, False), tf_qos(False),
                                     callback_group=callback_group)
        node.create_subscription(TFMessage, TF_STATIC_TOPIC, lambda m: self._add(m, True), tf_qos(True),
                                 callback_group=callback_group)

    def _add(self, msg: Any, static: bool) -> None:
        """A TFMessage into the buffer (invalid transforms skipped, as tf2 does), then the waiting frames."""
        with self.lock:
            self.buffer.add_message(msg, static=static)
        self._on_new_data()

    def lookup(self, target: str, source: str, stamp_ns: Optional[int]) -> np.ndarray:
        """target ← source at ``stamp_ns`` (None: latest); ``TfLookupError`` / ``TfPastError`` when TF cannot."""
        with self.lock:
            return self.buffer.lookup(target, source, stamp_ns)

    def clear(self) -> None:
        """Forget the dynamic transforms (a map reset); /tf_static stays."""
        with self.lock:
            self.buffer.clear_dynamic()


class Tf2RosTf:
    """tf2_ros ``Buffer`` + ``TransformListener`` (apt ROS 2), behind the same ``lookup`` as ``RosFreeTf``."""

    name = "tf2_ros"

    def __init__(self, node: Node, tf2_ros: Any) -> None:
        """Listen to /tf and /tf_static with tf2's own subscriptions."""
        self._tf2_ros = tf2_ros
        self.buffer = tf2_ros.Buffer()
        self.listener = tf2_ros.TransformListener(self.buffer, node)

    def lookup(self, target: str, source: str, stamp_ns: Optional[int]) -> np.ndarray:
        """target ← source at ``stamp_ns`` (None: latest); tf2's extrapolation into the past → ``TfPastError``."""
        from rclpy.time import Time

        try:
            t = self.buffer.lookup_transform(target, source, Time(nanoseconds=stamp_ns if stamp_ns is not None else 0))
        except self._tf2_ros.TransformException as exc:
            error = TfPastError if "into the past" in str(exc) else TfLookupError
            raise error(f"{target} ← {source}: {exc}") from exc
        tr, q = t.transform.translation, t.transform.rotation
        return pose_from_position_quat((tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))

    def clear(self) -> None:
        """Forget the buffered transforms (tf2 keeps static ones in its own way)."""
        self.buffer.clear()


def tf_source(node: Node, callback_group: Any, static_only: bool, on_new_data: Callable[[], None]) -> Any:
    """``Tf2RosTf`` where tf2_ros imports, else ``RosFreeTf``."""
    try:
        import tf2_ros
    except ImportError:
        return RosFreeTf(node, callback_group, static_only, on_new_data)
    return Tf2RosTf(node, tf2_ros)


def _describe(T: np.ndarray) -> str:
    """A transform for the log: translation and quaternion (x y z w)."""
    q = matrix_to_quat_xyzw(T[:3, :3])
    return f"xyz ({T[0, 3]:.3f}, {T[1, 3]:.3f}, {T[2, 3]:.3f}) q ({q[0]:.3f}, {q[1]:.3f}, {q[2]:.3f}, {q[3]:.3f})"


class PoseInput:
    """The pose subscriptions of ``pose_source`` and ``resolve``: a synced frame's pose, now or after TF came."""

    def __init__(self, node: Node, config: FusionConfig, callback_group: Any, qos: QoSProfile,
                 to_sync: Callable[[int, PoseEntry], None]) -> None:
        """Subscribe in ``callback_group`` (the node's sensor group: every call here runs in it, except ``reset``);
        pose messages go to ``to_sync`` (the sync's pose stream); log where poses come from."""
        c = self.config = config
        self._to_sync = to_sync
        self._logger = node.get_logger()
        self._map_to_odom = extrinsic_from_list(c.map_to_odom) if c.map_to_odom else np.eye(4)
        self._base_to_optical = extrinsic_from_list(c.base_to_optical) if c.base_to_optical else None
        self._extrinsics: dict[tuple[str, str], np.ndarray] = {}
        self._first_tf_logged = False
        self._lock = threading.Lock()
        self._waiting: TfWaitQueue[PoseDone] = TfWaitQueue(c.tf_timeout, c.sync_queue_size)
        self._tf: Any = None
        if c.pose_source == "tf" or (c.pose_source == "odometry" and self._base_to_optical is None):
            self._tf = tf_source(node, callback_group, c.pose_source != "tf", self._retry)
            self._timer = node.create_timer(RETRY_PERIOD_S, self._retry, callback_group=callback_group,
                                            clock=Clock(clock_type=ClockType.STEADY_TIME))
            self._timer.cancel()  # runs only while frames wait
        if c.pose_source == "topic":
            sub = node.create_subscription(PoseStamped, c.pose_topic, self._on_pose, qos, callback_group=callback_group)
            line = f"topic {sub.topic_name} (PoseStamped of the optical frame in {c.map_frame})"
        elif c.pose_source == "odometry":
            sub = node.create_subscription(Odometry, c.odometry_topic, self._on_odometry, qos,
                                           callback_group=callback_group)
            static = "identity" if not c.map_to_odom else _describe(self._map_to_odom)
            extrinsic = (f"extrinsic from parameter base_to_optical ({_describe(self._base_to_optical)})"
                         if self._base_to_optical is not None else
                         f"extrinsic from /tf_static <child_frame_id>-><image frame_id> ({self._tf.name})")
            line = (f"odometry {sub.topic_name} in {c.map_frame} or {c.odom_frame}, {c.map_frame}<-{c.odom_frame} "
                    f"static {static}, {extrinsic}")
        else:
            line = f"tf {c.map_frame} <- <image frame_id> ({self._tf.name}, tf_timeout {c.tf_timeout} s)"
        self._logger.info(f"poses: {line}")

    # ----------------------------------------------------------------------------------- pose messages

    def _on_pose(self, msg: PoseStamped) -> None:
        """PoseStamped (optical frame in map_frame) → the sync's pose stream."""
        frame = msg.header.frame_id.lstrip("/")

        def pose() -> np.ndarray:
            """map ← optical."""
            if frame and frame != self.config.map_frame:
                raise InputRejected(Rejection(Reason.POSE_INVALID, f"pose in frame {frame!r}, expected "
                                                                   f"{self.config.map_frame!r}"))
            return conv.pose_to_matrix(msg.pose)

        self._send(msg, pose)

    def _on_odometry(self, msg: Odometry) -> None:
        """Odometry (base in map_frame or odom_frame) → world ← optical, or world ← base when the extrinsic comes
        from /tf_static at ``resolve``."""
        c = self.config
        frame, base = msg.header.frame_id.lstrip("/"), msg.child_frame_id.lstrip("/")

        def pose() -> np.ndarray:
            """map ← base (· base ← optical when the parameter gives it)."""
            if frame and frame not in (c.map_frame, c.odom_frame):
                raise InputRejected(Rejection(Reason.POSE_INVALID, f"pose in frame {frame!r}, expected "
                                                                   f"{c.map_frame!r} or {c.odom_frame!r}"))
            if self._base_to_optical is None and not base:
                raise InputRejected(Rejection(Reason.POSE_INVALID, "Odometry without child_frame_id: base_to_optical "
                                                                   "[] looks the extrinsic up in /tf_static from it"))
            T = conv.pose_to_matrix(msg.pose.pose)
            if frame == c.odom_frame and frame != c.map_frame:
                T = self._map_to_odom @ T
            return T if self._base_to_optical is None else T @ self._base_to_optical

        self._send(msg, pose, base if self._base_to_optical is None else "")

    def _send(self, msg: Any, pose: Callable[[], np.ndarray], base_frame: str = "") -> None:
        """Convert and validate a pose message; its entry (pose or rejection) goes to the sync at its stamp."""
        try:
            T = pose()
            entry = PoseEntry(T, check_pose_matrix(T), base_frame)
        except InputRejected as exc:
            entry = PoseEntry(None, exc.rejection)
        self._to_sync(conv.stamp_to_ns(msg.header.stamp), entry)

    # ----------------------------------------------------------------------------------------- resolve

    def resolve(self, stamp_ns: int, colour: Any, entry: Optional[PoseEntry], done: PoseDone) -> None:
        """The pose of a synced frame (serialised ``colour`` image, the sync's ``entry`` or None for tf) to
        ``done(pose, rejection)``: at once, or — when TF has to answer — once it can (or when it gives up)."""
        if entry is not None and (entry.rejection is not None or not entry.base_frame):
            done(entry.pose if entry.rejection is None else None, entry.rejection)
            return
        try:
            camera = cdr.header_frame_id(colour).lstrip("/")
        except ValueError as exc:
            done(None, Rejection(Reason.ENCODING, f"unreadable colour header: {exc}"))
            return
        if not camera:
            done(None, Rejection(Reason.POSE_MISSING, "colour image without frame_id: TF poses are looked up for "
                                                      "the images' frame"))
            return
        if entry is None:
            lookup = self._tf_lookup(camera, stamp_ns)
        else:
            lookup = self._extrinsic_lookup(entry.pose, entry.base_frame, camera)
        with self._lock:
            decided = self._waiting.submit(done, lookup)
            waiting = len(self._waiting)
        if waiting:
            self._timer.reset()
        self._finish(decided)

    def _tf_lookup(self, camera: str, stamp_ns: int) -> Callable[[], np.ndarray]:
        """map ← camera at the image stamp (the first success is logged once)."""
        def lookup() -> np.ndarray:
            """One try."""
            T = self._tf.lookup(self.config.map_frame, camera, stamp_ns)
            if not self._first_tf_logged:
                self._first_tf_logged = True
                self._logger.info(f"poses: tf {self.config.map_frame} <- {camera} ({self._tf.name}): first pose at "
                                  f"{stamp_ns * 1e-9:.3f} s, {_describe(T)}")
            return T

        return lookup

    def _extrinsic_lookup(self, world_base: np.ndarray, base: str, camera: str) -> Callable[[], np.ndarray]:
        """world ← base · base ← camera, the extrinsic from /tf_static (looked up once per frame pair, logged)."""
        def lookup() -> np.ndarray:
            """One try."""
            key = (base, camera)
            if key not in self._extrinsics:
                self._extrinsics[key] = self._tf.lookup(base, camera, None)
                self._logger.info(f"poses: extrinsic from /tf_static {base}->{camera} ({self._tf.name}): "
                                  f"{_describe(self._extrinsics[key])}")
            return world_base @ self._extrinsics[key]

        return lookup

    def _retry(self) -> None:
        """New TF, or the retry timer: decide the frames that can be decided now."""
        with self._lock:
            decided = self._waiting.retry()
            if not self._waiting:
                self._timer.cancel()
        self._finish(decided)

    def _finish(self, decided: list[WaitOutcome[PoseDone]]) -> None:
        """Hand each decided frame on, oldest first (outside the lock: in eval mode the hand-over may block)."""
        for outcome in decided:
            if outcome.transform is not None:
                outcome.item(outcome.transform, check_pose_matrix(outcome.transform))
            elif outcome.failure == "past":
                outcome.item(None, Rejection(Reason.TF_EXTRAPOLATION, f"older than the TF history: "
                                                                      f"{outcome.detail}"))
            else:
                waited = (f"waited tf_timeout {self.config.tf_timeout} s" if outcome.failure == "timeout" else
                          "pushed out of the full TF wait queue (sync_queue_size)")
                outcome.item(None, Rejection(Reason.TF_TIMEOUT, f"{waited}: {outcome.detail}"))

    def reset(self) -> None:
        """Forget the waiting frames (not counted, like the sync's queues) and the dynamic TF (a map reset)."""
        if self._tf is None:
            return
        with self._lock:
            self._waiting.clear()
            self._timer.cancel()
        self._tf.clear()
