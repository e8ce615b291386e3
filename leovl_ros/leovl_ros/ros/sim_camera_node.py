"""Camera stand-in: streams a synthetic room (``leovl_ros.sim``) or a recorded RGB-D sequence as ROS topics.

All frames are rendered/loaded and converted to messages *before* streaming, so the renderer or the disk never
competes with the fusion node for the CPU while frames go out. Each tick publishes colour, depth (16UC1 mm or
32FC1 m; raw or image_transport compressed/compressedDepth), CameraInfo and the optical-frame PoseStamped in
``map`` with one stamp (the node clock, or the sequence time on ``/clock`` when ``publish_clock``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from geometry_msgs.msg import PoseStamped
from rclpy.duration import Duration
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from leovl_ros.agent.node_config import param
from leovl_ros.ros import conversions as conv
from leovl_ros.ros.node_main import main_or_help
from leovl_ros.ros.params import declare_config
from leovl_ros.ros.qos import qos_by_name

SOURCES = ("sim", "scannet", "redwood", "3dmatch")
"""Values of the ``source`` parameter."""
PUBLISHED_LOG = "sim_camera: frames published in total:"
"""Printed (with the count) when the node is destroyed, e.g. after SIGINT: the camera's own count of sent frames."""


@dataclass
class SimCameraConfig:
    """Parameters of the camera stand-in (each is a ROS parameter of the same name)."""

    source: str = param("sim", "'sim' (synthetic room from seed) or a reader: 'scannet', 'redwood', '3dmatch'.")
    path: str = param("", "Dataset folder for a reader source.")
    seed: int = param(0, "Synthetic scene and trajectory seed (source 'sim').")
    frames: int = param(300, "Frames to render (sim) or the maximum to load (readers; 0 = all).")
    stride: int = param(1, "Use every stride-th frame of a recorded sequence.")
    width: int = param(640, "Rendered image width (source 'sim').")
    height: int = param(480, "Rendered image height (source 'sim').")
    rate: float = param(30.0, "Publish rate (Hz).")
    loop: bool = param(True, "Restart at the end; False: stop and exit after the last frame.")
    wait_for_subscribers: int = param(0, "Start streaming only once this many readers match each camera topic "
                                         "(colour, depth, info, pose), plus a short settle time for discovery "
                                         "(replays that must not lose their first frames).")
    depth_encoding: str = param("16UC1", "Depth encoding: '16UC1' (millimetres) or '32FC1' (metres).")
    compressed: bool = param(False, "Publish <colour>/compressed (jpeg) and <depth>/compressedDepth instead of raw.")
    qos: str = param("reliable", "Publisher QoS: 'reliable' or 'sensor'.")
    publish_clock: bool = param(False, "Publish /clock with the sequence time and stamp frames with it.")
    colour_topic: str = param("camera/color/image_raw", "Colour topic.")
    depth_topic: str = param("camera/aligned_depth_to_color/image_raw", "Depth topic.")
    camera_info_topic: str = param("camera/color/camera_info", "CameraInfo topic.")
    pose_topic: str = param("camera/pose", "Optical-frame PoseStamped topic (in map_frame).")
    camera_frame: str = param("camera_color_optical_frame", "frame_id of images and camera_info.")
    map_frame: str = param("map", "frame_id of the poses.")

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.source != "sim" and not self.path:
            raise ValueError(f"source {self.source!r} needs a dataset path")
        if self.depth_encoding not in ("16UC1", "32FC1"):
            raise ValueError(f"depth_encoding must be 16UC1 or 32FC1, got {self.depth_encoding!r}")
        if not 0.1 <= self.rate <= 200.0:
            raise ValueError(f"rate must be in [0.1, 200] Hz, got {self.rate}")
        if self.frames < 0 or self.stride < 1 or self.width < 16 or self.height < 16 or self.wait_for_subscribers < 0:
            raise ValueError("frames >= 0, stride >= 1, width/height >= 16, wait_for_subscribers >= 0 required")
        if self.source == "sim" and self.frames < 1:
            raise ValueError("source 'sim' needs frames >= 1")
        qos_by_name(self.qos)


def iter_frames(config: SimCameraConfig) -> Iterator[tuple[int, int, Any]]:
    """Yield (i, n, Frame): the rendered synthetic room or the recorded sequence, one frame at a time."""
    if config.source == "sim":
        from leovl_ros.sim.render import render_sequence
        from leovl_ros.sim.world import generate_scene

        scene = generate_scene(config.seed)
        frames = render_sequence(scene, config.frames, seed=config.seed, width=config.width, height=config.height,
                                 fps=config.rate)
        for i, frame in enumerate(frames):
            yield i, config.frames, frame
        return
    from leovl_ros.io import rgbd

    reader = {"scannet": rgbd.read_scannet, "redwood": rgbd.read_redwood, "3dmatch": rgbd.read_3dmatch}
    sequence = reader[config.source](config.path)
    indices = list(range(0, len(sequence), config.stride))
    if config.frames:
        indices = indices[: config.frames]
    for n, i in enumerate(indices):
        yield n, len(indices), sequence[i]


@dataclass
class FrameMessages:
    """One frame's pre-built messages; only the header stamps change at publish time."""

    colour: Any
    depth: Any
    info: CameraInfo
    pose: PoseStamped


class SimCameraNode(Node):
    """Publishes pre-rendered RGB-D frames with camera_info and pose at a fixed rate."""

    SETTLE_S = 0.5  # after the readers matched, before the first frame (see _subscribers_ready)

    def __init__(self, **kwargs: Any) -> None:
        """Declare parameters, render/load everything into memory, then start the publish timer."""
        super().__init__(kwargs.pop("node_name", "sim_camera"), **kwargs)
        self.config: SimCameraConfig = declare_config(self, SimCameraConfig)
        c = self.config
        # Publishers first: discovery completes in the middleware while the frames are prepared.
        qos = qos_by_name(c.qos)
        msg_type = CompressedImage if c.compressed else Image
        self._colour_pub = self.create_publisher(msg_type, c.colour_topic + ("/compressed" if c.compressed else ""),
                                                 qos)
        self._depth_pub = self.create_publisher(msg_type, c.depth_topic + ("/compressedDepth" if c.compressed
                                                                           else ""), qos)
        self._info_pub = self.create_publisher(CameraInfo, c.camera_info_topic, qos)
        self._pose_pub = self.create_publisher(PoseStamped, c.pose_topic, qos)
        self._clock_pub = self.create_publisher(Clock, "/clock", 10) if c.publish_clock else None
        t0 = time.monotonic()
        self._messages: list[FrameMessages] = []
        for i, n, frame in iter_frames(c):
            self._messages.append(self._build(frame))
            if (i + 1) % max(1, n // 10) == 0 or i + 1 == n:
                self.get_logger().info(f"prepared {i + 1}/{n} frames")
        if not self._messages:
            raise ValueError(f"no frames in {c.source} {c.path}")
        size = (self._messages[0].info.width, self._messages[0].info.height)
        self.get_logger().info(f"{len(self._messages)} frames {size[0]}x{size[1]} ready in "
                               f"{time.monotonic() - t0:.1f} s; streaming at {c.rate} Hz "
                               f"({'loop' if c.loop else 'once'}, {'compressed' if c.compressed else 'raw'}, "
                               f"depth {c.depth_encoding})")
        self._index = 0
        self._published = 0
        self._sim_ns = 1_000_000_000
        self._progress_t = time.monotonic()
        self._progress_n = 0
        self._waiting_logged = 0.0
        self._matched_at: Optional[float] = None
        self._timer = self.create_timer(1.0 / c.rate, self._tick)

    def _build(self, frame: Any) -> FrameMessages:
        """Frame → messages (converted once, before streaming)."""
        c = self.config
        cam = conv.make_header(c.camera_frame, 0)
        if c.compressed:
            colour = conv.compressed_from_colour(frame.rgb, cam)
            depth = conv.compressed_from_depth(frame.depth, cam, c.depth_encoding)
        else:
            colour = conv.image_from_array(frame.rgb, "rgb8", cam)
            depth = conv.depth_image_from_metres(frame.depth, c.depth_encoding, cam)
        info = conv.camera_info_from_intrinsics(frame.K, frame.width, frame.height, cam)
        pose = conv.pose_stamped_from_matrix(frame.pose, conv.make_header(c.map_frame, 0))
        return FrameMessages(colour, depth, info, pose)

    def _subscribers_ready(self) -> bool:
        """True ``SETTLE_S`` after ``wait_for_subscribers`` readers first match every camera topic (logged every 5 s).

        The writer sees a reader before the reader has matched the writer back; the settle time lets discovery finish
        on both sides so a best-effort reader does not miss the first frames.
        """
        want = self.config.wait_for_subscribers
        pubs = (self._colour_pub, self._depth_pub, self._info_pub, self._pose_pub)
        have = min(pub.get_subscription_count() for pub in pubs)
        now = time.monotonic()
        if have >= want:
            if self._matched_at is None:
                self._matched_at = now
            return want == 0 or now - self._matched_at >= self.SETTLE_S
        self._matched_at = None
        if now - self._waiting_logged >= 5.0:
            self._waiting_logged = now
            self.get_logger().info(f"waiting for {want} subscriber(s) on every camera topic ({have} on the least)")
        return False

    def _tick(self) -> None:
        """Publish the next frame with a fresh stamp; loop or stop at the end; log progress every 5 s."""
        if self._published == 0 and not self._subscribers_ready():
            return
        if self._index >= len(self._messages):
            if not self.config.loop:
                self._timer.cancel()
                # Reliable subscribers must acknowledge the last frames before the writers go away.
                acked = all(pub.wait_for_all_acked(Duration(seconds=5.0))
                            for pub in (self._colour_pub, self._depth_pub, self._info_pub, self._pose_pub))
                self.get_logger().info(f"sequence finished after {self._published} frames"
                                       f"{'' if acked else ' (not all acknowledged within 5 s)'}")
                self.context.try_shutdown()
                return
            self._index = 0
        m = self._messages[self._index]
        if self._clock_pub is not None:
            self._sim_ns += int(1e9 / self.config.rate)
            stamp = conv.ns_to_stamp(self._sim_ns)
            self._clock_pub.publish(Clock(clock=stamp))
        else:
            stamp = self.get_clock().now().to_msg()
        for msg in (m.colour, m.depth, m.info, m.pose):
            msg.header.stamp = stamp
        self._info_pub.publish(m.info)
        self._pose_pub.publish(m.pose)
        self._depth_pub.publish(m.depth)
        self._colour_pub.publish(m.colour)
        self._index += 1
        self._published += 1
        now = time.monotonic()
        if now - self._progress_t >= 5.0:
            rate = (self._published - self._progress_n) / (now - self._progress_t)
            self.get_logger().info(f"published {self._published} frames (frame {self._index}/{len(self._messages)}, "
                                   f"{rate:.1f} Hz)")
            self._progress_t, self._progress_n = now, self._published

    def destroy_node(self) -> None:
        """Log the camera's own frame count (benchmarks read it: ``PUBLISHED_LOG`` + the number) before going."""
        print(f"{PUBLISHED_LOG} {self._published}", flush=True)
        super().destroy_node()


def main(args: Optional[list[str]] = None) -> int:
    """``sim_camera_node`` executable."""
    return main_or_help("sim_camera_node", __doc__, [SimCameraConfig], [SimCameraNode], args=args)


if __name__ == "__main__":
    raise SystemExit(main())
