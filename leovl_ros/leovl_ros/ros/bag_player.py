"""``leovl-bag play BAG``: publish a rosbag2 (MCAP or sqlite3) over ROS 2 with ``/clock`` (``ros2 bag play`` is not
on PyPI; on a robot ``ros2 bag play`` works as well).

Messages go out as the bag stores them — serialized CDR bytes handed to ``Publisher.publish`` (no decoding) —
at the bag's pace times ``--rate`` (``--rate 0``: as fast as possible), each publisher with the QoS the bag's
metadata recorded for its topic (reliable / volatile / keep-last 100 where none is given; ``/tf_static``
transient-local). ``/clock`` is published at every new bag time (the bag's own ``/clock`` is not replayed),
so nodes with ``use_sim_time`` follow the bag. ``--topics`` selects, ``--remap FROM:=TO`` renames, ``--loop``
repeats. Topics whose message package does not import here (e.g. ``tf2_msgs`` from PyPI) are skipped with one
log line; where the bag records poses as ``/tf`` + ``/tf_static``, ``--pose-from-tf`` (default: when the bag has
TF but no ``PoseStamped``) composes map ← image frame at every colour image's stamp with the ROS-free
``leovl_ros.io.tf_buffer`` and publishes it as ``PoseStamped`` on ``--pose-topic`` — the fusion node's pose input.

``BagPlayer`` is also the replay engine of ``leovl-eval``: its ``gate(k)`` callback runs before the k-th colour
image goes out (back-pressure: the next frame only when the fusion node reports the previous ones done).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from leovl_ros.io.bag import CLOCK_TOPIC, COLOR_TOPIC, MAP_FRAME, POSE_TOPIC

_POSE_TYPE = "geometry_msgs/msg/PoseStamped"
_COLOUR_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


@dataclass
class PlayConfig:
    """Options of one replay."""

    bag: Path
    """rosbag2 folder (or a single .mcap / .db3 file)."""
    rate: float = 1.0
    """Replay speed relative to the bag; 0 = as fast as possible (back-pressure only)."""
    loop: bool = False
    """Start again at the end (until interrupted)."""
    topics: list[str] = field(default_factory=list)
    """Only these bag topics (empty: all)."""
    remap: dict[str, str] = field(default_factory=dict)
    """Bag topic → published topic."""
    clock: bool = True
    """Publish /clock at every new bag time (the bag's own /clock is then skipped)."""
    pose_from_tf: str = "auto"
    """'auto' (when the bag has /tf but no PoseStamped), 'on' or 'off'."""
    colour_topic: str = COLOR_TOPIC
    """Colour topic (its /compressed variant is found too): frames are counted and TF is looked up on it."""
    pose_topic: str = POSE_TOPIC
    """Where poses composed from TF are published."""
    map_frame: str = MAP_FRAME
    """Target frame of poses composed from TF."""
    wait_for_subscribers: float = 5.0
    """Seconds to wait for the colour topic's first subscriber before starting (0: do not wait)."""


def message_class(msgtype: str) -> Any:
    """The rclpy message class of ``pkg/msg/Name`` (ImportError/AttributeError when not installed)."""
    pkg, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def qos_from_bag(profiles: list[Any], topic: str) -> Any:
    """rclpy QoS of a connection's first offered profile (rosbags ``Qos``), with sensible defaults."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    reliability, durability = ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE
    history, depth = HistoryPolicy.KEEP_LAST, 100
    if topic == "/tf_static":
        durability, depth = DurabilityPolicy.TRANSIENT_LOCAL, 1
    if profiles:
        p = profiles[0]
        if p.reliability.name == "BEST_EFFORT":
            reliability = ReliabilityPolicy.BEST_EFFORT
        if p.durability.name == "TRANSIENT_LOCAL":
            durability = DurabilityPolicy.TRANSIENT_LOCAL
        if p.history.name == "KEEP_ALL":
            history = HistoryPolicy.KEEP_ALL
        elif p.depth > 0:
            depth = max(int(p.depth), 1)
    return QoSProfile(history=history, depth=depth, reliability=reliability, durability=durability)


class BagPlayer:
    """Publishes a bag's messages from ``node``; ``play()`` returns a summary dict."""

    def __init__(self, node: Any, config: PlayConfig, gate: Optional[Callable[[int], None]] = None,
                 on_frame: Optional[Callable[[int, int], None]] = None) -> None:
        """``gate(k)`` runs before colour image k is published; ``on_frame(k, stamp_ns)`` after it."""
        from rosbags.rosbag2 import Reader
        from rosbags.typesys import Stores, get_typestore

        self.node, self.config, self.gate, self.on_frame = node, config, gate, on_frame
        self.log = node.get_logger()
        self.ts = get_typestore(Stores.ROS2_KILTED)
        self.reader = Reader(config.bag)
        self.reader.open()
        conns = self.reader.connections
        wanted = set(config.topics)
        unknown = wanted - {c.topic for c in conns}
        if unknown:
            have = sorted({c.topic for c in conns})
            raise ValueError(f"--topics not in the bag: {sorted(unknown)}; the bag has {have}")
        self.colour_topics = {config.colour_topic, config.colour_topic + "/compressed"}
        has_tf = any(c.topic == "/tf" for c in conns)
        has_pose = any(c.msgtype == _POSE_TYPE for c in conns)
        self.tf = None
        if config.pose_from_tf == "on" or (config.pose_from_tf == "auto" and has_tf and not has_pose):
            from leovl_ros.io.tf_buffer import buffer_from_bag

            self.tf = buffer_from_bag(config.bag)
            self.log.info(f"poses from /tf + /tf_static ({len(self.tf)} frames in the tree) → {config.pose_topic}")
        self.publishers: dict[int, Any] = {}
        self.skipped: dict[str, str] = {}
        for c in conns:
            if (wanted and c.topic not in wanted) or (config.clock and c.topic == CLOCK_TOPIC):
                continue
            try:
                cls = message_class(c.msgtype)
            except (ImportError, AttributeError):
                self.skipped[c.topic] = c.msgtype
                continue
            out = config.remap.get(c.topic, c.topic)
            self.publishers[c.id] = node.create_publisher(cls, out, qos_from_bag(c.ext.offered_qos_profiles, c.topic))
        for topic, msgtype in sorted(self.skipped.items()):
            self.log.info(f"not replaying {topic}: {msgtype} is not installed here"
                          + (" (poses are composed from it instead)" if self.tf is not None else ""))
        self.clock_pub = None
        if config.clock:
            from rclpy.qos import QoSProfile, ReliabilityPolicy
            from rosgraph_msgs.msg import Clock

            self.clock_pub = node.create_publisher(Clock, CLOCK_TOPIC,
                                                   QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.pose_pub = None
        if self.tf is not None:
            from geometry_msgs.msg import PoseStamped

            from leovl_ros.ros.qos import reliable_qos

            self.pose_pub = node.create_publisher(PoseStamped, config.remap.get(config.pose_topic, config.pose_topic),
                                                  reliable_qos(100))
        self.colour_conns = [c for c in conns if c.topic in self.colour_topics and c.msgtype in _COLOUR_TYPES]
        self.frames_in_bag = sum(c.msgcount for c in self.colour_conns)
        self.pose_errors = 0

    def close(self) -> None:
        """Close the bag."""
        self.reader.close()

    SETTLE_S = 0.5
    """Discovery settle time: after the colour topic's first reader, wait until no topic has gained a reader for
    this long. The fusion node's other subscriptions (depth, pose, camera info) match moments after its colour one,
    and a reader the player sees has not always matched the player back yet: without it a bag's first depth images
    went out unread (the sim camera node settles the same way)."""

    def wait_for_subscribers(self, spin: Callable[[float], None]) -> bool:
        """Wait up to ``wait_for_subscribers`` s for a subscriber of the colour topic, then ``SETTLE_S`` for the
        rest of discovery; False when no colour subscriber came."""
        colour = [self.publishers[c.id] for c in self.colour_conns if c.id in self.publishers]
        every = [*self.publishers.values(), *([self.pose_pub] if self.pose_pub is not None else [])]
        deadline = time.monotonic() + self.config.wait_for_subscribers
        readers, changed = None, 0.0
        while colour and time.monotonic() < deadline:
            now = time.monotonic()
            if readers is not None or any(p.get_subscription_count() > 0 for p in colour):
                counts = [p.get_subscription_count() for p in every]
                if counts != readers:
                    readers, changed = counts, now
                elif now - changed >= self.SETTLE_S:
                    return True
            spin(0.05)
        return readers is not None or not colour

    def _publish_clock(self, ns: int) -> None:
        from rosgraph_msgs.msg import Clock

        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = ns // 1_000_000_000, ns % 1_000_000_000
        self.clock_pub.publish(msg)

    def _publish_tf_pose(self, conn: Any, raw: bytes) -> None:
        """PoseStamped of map ← the image's frame at its stamp, from the bag's TF."""
        from geometry_msgs.msg import PoseStamped

        from leovl_ros.io.tf_buffer import TfLookupError
        from leovl_ros.ros import conversions as conv

        header = self.ts.deserialize_cdr(raw, conn.msgtype).header
        ns = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
        try:
            T = self.tf.lookup(self.config.map_frame, header.frame_id, ns)
        except TfLookupError as exc:
            self.pose_errors += 1
            self.log.warning(f"no pose for the image at {ns * 1e-9:.3f} s: {exc}", throttle_duration_sec=5.0)
            return
        msg = PoseStamped()
        msg.header.stamp.sec, msg.header.stamp.nanosec = header.stamp.sec, header.stamp.nanosec
        msg.header.frame_id = self.config.map_frame
        msg.pose = conv.matrix_to_pose(T)
        self.pose_pub.publish(msg)

    def play(self, spin: Callable[[float], None] = time.sleep) -> dict[str, Any]:
        """Publish the bag (``loop``: until interrupted); ``spin(seconds)`` waits while serving callbacks."""
        summary = {"messages": 0, "frames": 0, "bag_s": 0.0, "wall_s": 0.0, "first_frame_wall": None}
        t_start = time.monotonic()
        while True:
            t0_wall, t0_bag = None, None
            last_clock = -1
            conns = [c for c in self.reader.connections if c.id in self.publishers]
            for conn, ns, raw in self.reader.messages(connections=conns):
                if t0_wall is None:
                    t0_wall, t0_bag = time.monotonic(), ns
                colour = conn in self.colour_conns
                if colour and self.gate is not None:
                    waited = time.monotonic()
                    self.gate(summary["frames"])
                    t0_wall += time.monotonic() - waited  # back-pressure shifts the schedule, never skips
                if self.config.rate > 0:
                    due = t0_wall + (ns - t0_bag) * 1e-9 / self.config.rate
                    while (delay := due - time.monotonic()) > 0:
                        spin(min(delay, 0.05))
                if self.clock_pub is not None and ns > last_clock:
                    self._publish_clock(ns)
                    last_clock = ns
                if colour and self.pose_pub is not None:
                    self._publish_tf_pose(conn, raw)
                self.publishers[conn.id].publish(bytes(raw))
                summary["messages"] += 1
                if colour:
                    if summary["first_frame_wall"] is None:
                        summary["first_frame_wall"] = time.monotonic()
                    if self.on_frame is not None:
                        self.on_frame(summary["frames"], ns)
                    summary["frames"] += 1
                summary["bag_s"] = max(summary["bag_s"], (ns - t0_bag) * 1e-9)
            if not self.config.loop:
                break
        summary["wall_s"] = time.monotonic() - t_start
        summary["pose_errors"] = self.pose_errors
        return summary


def parse_remap(items: list[str]) -> dict[str, str]:
    """``FROM:=TO`` pairs → dict (ValueError on a malformed one)."""
    out = {}
    for item in items:
        src, sep, dst = item.partition(":=")
        if not sep or not src or not dst:
            raise ValueError(f"--remap expects FROM:=TO, got {item!r}")
        out[src] = dst
    return out


def build_parser() -> argparse.ArgumentParser:
    """Options of ``leovl-bag play``."""
    d = PlayConfig(Path("."))
    p = argparse.ArgumentParser(prog="leovl-bag play", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("bag", type=Path, help="rosbag2 folder (MCAP or sqlite3) or a single .mcap/.db3 file")
    p.add_argument("--rate", type=float, default=d.rate, help="speed factor; 0 = as fast as possible (%(default)s)")
    p.add_argument("--loop", action="store_true", help="replay again at the end, until Ctrl-C")
    p.add_argument("--topics", nargs="+", default=[], metavar="TOPIC", help="only these topics (default: all)")
    p.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO", help="rename topics, e.g. "
                   "/camera/color/image_raw:=/rs/color/image_raw")
    p.add_argument("--no-clock", dest="clock", action="store_false", help="do not publish /clock (replays the "
                   "bag's own /clock topic instead, if it has one)")
    p.add_argument("--pose-from-tf", choices=["auto", "on", "off"], default=d.pose_from_tf,
                   help="publish map ← image frame from the bag's /tf + /tf_static as PoseStamped on --pose-topic")
    p.add_argument("--pose-topic", default=d.pose_topic, help="topic of poses composed from TF (%(default)s)")
    p.add_argument("--colour-topic", default=d.colour_topic, help="colour image topic (%(default)s)")
    p.add_argument("--map-frame", default=d.map_frame, help="world frame of composed poses (%(default)s)")
    p.add_argument("--wait-for-subscribers", type=float, default=d.wait_for_subscribers,
                   help="seconds to wait for a colour subscriber before starting (%(default)s)")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-bag play``; exit 2 with one line for a bad bag or option."""
    args = build_parser().parse_args(argv)
    try:
        config = PlayConfig(bag=args.bag, rate=args.rate, loop=args.loop, topics=args.topics,
                            remap=parse_remap(args.remap), clock=args.clock, pose_from_tf=args.pose_from_tf,
                            colour_topic=args.colour_topic, pose_topic=args.pose_topic, map_frame=args.map_frame,
                            wait_for_subscribers=args.wait_for_subscribers)
        if config.rate < 0:
            raise ValueError(f"--rate must be >= 0, got {config.rate}")
    except ValueError as exc:
        print(f"leovl-bag play: error: {exc}", file=sys.stderr)
        return 2
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.node import Node

    from leovl_ros.ros.node_main import rclpy_session

    with rclpy_session(["leovl_bag_play"]):
        node = Node("leovl_bag_player")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            player = BagPlayer(node, config)
        except Exception as exc:  # unreadable / truncated bag, unknown topic: one line, exit 2
            print(f"leovl-bag play: error: cannot open {config.bag}: {type(exc).__name__}: {exc}", file=sys.stderr)
            node.destroy_node()
            return 2

        def spin(seconds: float) -> None:
            executor.spin_once(timeout_sec=seconds)

        try:
            player.wait_for_subscribers(spin)
            summary = player.play(spin)
            node.get_logger().info(f"played {summary['messages']} messages ({summary['frames']} frames, "
                                   f"{summary['bag_s']:.1f} s of bag) in {summary['wall_s']:.1f} s")
            spin(0.5)  # let reliable writers hand over the last messages
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception as exc:
            print(f"leovl-bag play: error while reading {config.bag}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        finally:
            player.close()
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
            rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
