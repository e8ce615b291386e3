"""rosbag2 (MCAP) writer and reader for posed RGB-D, with the ``leovl-bag`` command; uses ``rosbags`` (no rclpy).

A bag holds sensor_msgs/Image (rgb8) colour, depth (16UC1 mm or 32FC1 m), sensor_msgs/CameraInfo,
geometry_msgs/PoseStamped of the optical frame in ``map`` and /clock, under the RealSense topic names the
nodes subscribe to; ``compressed=True`` writes CompressedImage (``…/compressed`` JPEG colour and
``…/compressedDepth`` PNG depth, as image_transport names and encodes them).
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np

from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import pose_from_position_quat, position_quat_from_pose
from leovl_ros.io import image_codec

LOG = logging.getLogger(__name__)

COLOR_TOPIC = "/camera/color/image_raw"
DEPTH_TOPIC = "/camera/aligned_depth_to_color/image_raw"
INFO_TOPIC = "/camera/color/camera_info"
POSE_TOPIC = "/camera/pose"
CLOCK_TOPIC = "/clock"
MAP_FRAME = "map"
BAG_VERSION = 8
"""rosbag2 metadata version: 8 is the oldest rosbags writes and what Jazzy reads."""

_IMAGE = "sensor_msgs/msg/Image"
_COMPRESSED = "sensor_msgs/msg/CompressedImage"
_INFO = "sensor_msgs/msg/CameraInfo"
_POSE = "geometry_msgs/msg/PoseStamped"
_CLOCK = "rosgraph_msgs/msg/Clock"


@functools.lru_cache(maxsize=1)
def _typestore() -> Any:
    """The ROS 2 Kilted message definitions of ``rosbags`` (built once per process)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_KILTED)


def _stamp_ns(stamp: float) -> int:
    """Seconds → integer nanoseconds (ROS stamps are non-negative)."""
    ns = int(round(stamp * 1e9))
    if ns < 0:
        raise ValueError(f"frame stamp {stamp} is negative; ROS time starts at 0")
    return ns


class _Messages:
    """Builds the ROS messages of one frame from a typestore."""

    def __init__(self, ts: Any, frame_id: str) -> None:
        self.ts = ts
        self.t = ts.types
        self.frame_id = frame_id

    def header(self, ns: int, frame_id: str) -> Any:
        """std_msgs/Header at ``ns`` nanoseconds."""
        time = self.t["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
        return self.t["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)

    def image(self, ns: int, array: np.ndarray, encoding: str) -> Any:
        """sensor_msgs/Image of an H×W(×C) array, little-endian, no row padding."""
        fields = image_codec.encode_image(array, encoding)
        return self.t[_IMAGE](header=self.header(ns, self.frame_id), height=fields.height, width=fields.width,
                              encoding=fields.encoding, is_bigendian=fields.is_bigendian, step=fields.step,
                              data=np.frombuffer(fields.data, dtype=np.uint8))

    def compressed(self, ns: int, fmt: str, payload: bytes) -> Any:
        """sensor_msgs/CompressedImage with an image_transport format string."""
        return self.t[_COMPRESSED](header=self.header(ns, self.frame_id), format=fmt,
                                   data=np.frombuffer(payload, dtype=np.uint8))

    def camera_info(self, ns: int, K: np.ndarray, w: int, h: int) -> Any:
        """sensor_msgs/CameraInfo of an undistorted pinhole camera (plumb_bob, zero distortion)."""
        P = np.zeros((3, 4))
        P[:, :3] = K
        roi = self.t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return self.t[_INFO](header=self.header(ns, self.frame_id), height=h, width=w, distortion_model="plumb_bob",
                             d=np.zeros(5), k=K.reshape(-1).astype(np.float64), r=np.eye(3).reshape(-1),
                             p=P.reshape(-1), binning_x=0, binning_y=0, roi=roi)

    def pose(self, ns: int, T: np.ndarray) -> Any:
        """geometry_msgs/PoseStamped of a 4×4 optical camera-to-map pose."""
        p, q = position_quat_from_pose(T)
        g = "geometry_msgs/msg/"
        pose = self.t[g + "Pose"](position=self.t[g + "Point"](x=p[0], y=p[1], z=p[2]),
                                  orientation=self.t[g + "Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3]))
        return self.t[_POSE](header=self.header(ns, MAP_FRAME), pose=pose)

    def clock(self, ns: int) -> Any:
        """rosgraph_msgs/Clock for ``use_sim_time`` replays."""
        time = self.t["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
        return self.t[_CLOCK](clock=time)


def write_rgbd_bag(
    frames: Iterable[Frame],
    path: str | Path,
    color_topic: str = COLOR_TOPIC,
    depth_topic: str = DEPTH_TOPIC,
    info_topic: str = INFO_TOPIC,
    pose_topic: str = POSE_TOPIC,
    frame_id: str = "camera_color_optical_frame",
    depth_encoding: str = "16UC1",
    compressed: bool = False,
    jpeg_quality: int = 95,
    pose_as: str = "topic",
    custom_data: Optional[dict[str, str]] = None,
) -> int:
    """Write posed RGB-D frames to a new rosbag2 MCAP folder ``path``; returns the number of frames written.

    Every message of a frame carries the frame's stamp (header and log time). ``compressed`` writes
    ``<color_topic>/compressed`` (JPEG) and ``<depth_topic>/compressedDepth`` (16UC1 PNG, millimetres).
    ``pose_as="tf"`` writes the poses as robots record them instead of on ``pose_topic``: ``/tf`` map →
    ``camera_link`` (REP 103 body frame) per frame and one ``/tf_static`` camera_link → ``frame_id`` (optical;
    transient-local QoS in the metadata). ``custom_data`` goes into the bag's metadata (e.g. ``scene_id``).
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    if depth_encoding not in ("16UC1", "32FC1"):
        raise ValueError(f"depth_encoding must be 16UC1 or 32FC1, got {depth_encoding!r}")
    if compressed and depth_encoding != "16UC1":
        raise ValueError("compressedDepth is written as 16UC1 PNG: use depth_encoding='16UC1' with compressed=True")
    if pose_as not in ("topic", "tf"):
        raise ValueError(f"pose_as must be topic or tf, got {pose_as!r}")
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; rosbag2 writes a new folder")
    ts = _typestore()
    msgs = _Messages(ts, frame_id)
    n = 0
    with Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP) as writer:
        img_type = _COMPRESSED if compressed else _IMAGE
        conns = {
            "color": writer.add_connection(color_topic + ("/compressed" if compressed else ""), img_type, typestore=ts),
            "depth": writer.add_connection(depth_topic + ("/compressedDepth" if compressed else ""), img_type,
                                           typestore=ts),
            "info": writer.add_connection(info_topic, _INFO, typestore=ts),
            "clock": writer.add_connection(CLOCK_TOPIC, _CLOCK, typestore=ts),
        }
        for key, value in (custom_data or {}).items():
            writer.set_custom_data(key, str(value))
        tf_writer = _TfWriter(writer, ts, frame_id) if pose_as == "tf" else None
        if tf_writer is None:
            conns["pose"] = writer.add_connection(pose_topic, _POSE, typestore=ts)
        for f in frames:
            ns = _stamp_ns(f.stamp)
            if tf_writer is not None:
                tf_writer.write(ns, f.pose)
            if compressed:
                color = msgs.compressed(ns, *image_codec.encode_compressed_colour(f.rgb, "jpeg", jpeg_quality))
                depth = msgs.compressed(ns, *image_codec.encode_compressed_depth(f.depth, "16UC1"))
            else:
                color = msgs.image(ns, f.rgb, "rgb8")
                d = image_codec.metres_to_millimetres(f.depth) if depth_encoding == "16UC1" else f.depth
                depth = msgs.image(ns, d, depth_encoding)
            for key, msg, typ in (
                ("clock", msgs.clock(ns), _CLOCK),
                ("info", msgs.camera_info(ns, f.K, f.width, f.height), _INFO),
                ("pose", msgs.pose(ns, f.pose) if tf_writer is None else None, _POSE),
                ("color", color, img_type),
                ("depth", depth, img_type),
            ):
                if msg is not None:
                    writer.write(conns[key], ns, ts.serialize_cdr(msg, typ))
            n += 1
    return n


class _TfWriter:
    """``--pose-as tf``: map → camera_link on /tf per frame, camera_link → optical once on /tf_static."""

    BODY_FRAME = "camera_link"

    def __init__(self, writer: Any, ts: Any, optical_frame: str) -> None:
        from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

        from leovl_ros.io import tf_buffer

        def qos(durability: Any) -> Any:
            never = QosTime(0x7FFFFFFF, 0xFFFFFFFF)
            return Qos(QosHistory.KEEP_LAST, 100 if durability == QosDurability.VOLATILE else 1,
                       QosReliability.RELIABLE, durability, never, never, QosLiveliness.AUTOMATIC, never, False)

        self._tf = tf_buffer
        self.writer, self.ts, self.optical = writer, ts, optical_frame
        self.dynamic = writer.add_connection(tf_buffer.TF_TOPIC, tf_buffer.TF_TYPE, typestore=ts,
                                             offered_qos_profiles=[qos(QosDurability.VOLATILE)])
        self.static = writer.add_connection(tf_buffer.TF_STATIC_TOPIC, tf_buffer.TF_TYPE, typestore=ts,
                                            offered_qos_profiles=[qos(QosDurability.TRANSIENT_LOCAL)])
        # REP 103 body (x forward, z up) → optical (z forward, y down): the BASE_TO_OPTICAL rotation of the nodes
        self.link_to_optical = np.eye(4)
        self.link_to_optical[:3, :3] = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
        self._static_written = False

    def write(self, ns: int, pose: np.ndarray) -> None:
        """The frame's map → camera_link (and, before the first, the static extrinsic)."""
        if not self._static_written:
            msg = self._tf.tf_message(self.ts, [(self.BODY_FRAME, self.optical, ns, self.link_to_optical)])
            self.writer.write(self.static, ns, self.ts.serialize_cdr(msg, self._tf.TF_TYPE))
            self._static_written = True
        link = np.asarray(pose, dtype=np.float64) @ np.linalg.inv(self.link_to_optical)
        msg = self._tf.tf_message(self.ts, [(MAP_FRAME, self.BODY_FRAME, ns, link)])
        self.writer.write(self.dynamic, ns, self.ts.serialize_cdr(msg, self._tf.TF_TYPE))


def _header_ns(msg: Any) -> int:
    """Header stamp of a message in nanoseconds."""
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def _nearest(queue: deque, ns: int, slop_ns: int) -> Optional[tuple[int, Any]]:
    """Queued (stamp, message) closest to ``ns`` if within ``slop_ns``."""
    best = min(queue, key=lambda item: abs(item[0] - ns), default=None)
    return best if best is not None and abs(best[0] - ns) <= slop_ns else None


def _resolve_topic(available: dict[str, str], topic: str, transport: Optional[str] = None) -> Optional[str]:
    """``topic`` if the bag has it, else its image_transport variant ``topic/transport``."""
    for t in (topic, f"{topic}/{transport}") if transport else (topic,):
        if t in available:
            return t
    return None


def read_rgbd_bag(
    path: str | Path,
    color_topic: str = COLOR_TOPIC,
    depth_topic: str = DEPTH_TOPIC,
    info_topic: str = INFO_TOPIC,
    pose_topic: str = POSE_TOPIC,
    slop: float = 0.005,
    queue_size: int = 64,
) -> Iterator[Frame]:
    """Frames from a rosbag2 (MCAP or sqlite3): colour paired with depth and pose within ``slop`` s, latest K.

    Raw or compressed topics are both accepted (``…/compressed``, ``…/compressedDepth``). Frames are yielded
    in bag order; colour images that never find a partner are skipped and counted in a log line.
    """
    from rosbags.rosbag2 import Reader

    ts = _typestore()
    slop_ns = int(round(slop * 1e9))
    with Reader(path) as reader:
        available = {c.topic: c.msgtype for c in reader.connections}
        topics = {
            "color": _resolve_topic(available, color_topic, "compressed"),
            "depth": _resolve_topic(available, depth_topic, "compressedDepth"),
            "info": _resolve_topic(available, info_topic),
            "pose": _resolve_topic(available, pose_topic),
        }
        missing = [k for k, t in topics.items() if t is None]
        if missing:
            raise ValueError(f"{path}: no topic for {missing}; the bag has {sorted(available)}")
        kind_of = {t: k for k, t in topics.items()}
        conns = [c for c in reader.connections if c.topic in kind_of]
        queues: dict[str, deque] = {k: deque(maxlen=queue_size) for k in ("color", "depth", "pose")}
        K: Optional[np.ndarray] = None
        unmatched = 0
        for conn, _, raw in reader.messages(connections=conns):
            kind = kind_of[conn.topic]
            msg = ts.deserialize_cdr(raw, conn.msgtype)
            if kind == "info":
                K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
            else:
                queues[kind].append((_header_ns(msg), msg))
            while queues["color"]:
                cns, cmsg = queues["color"][0]
                d = _nearest(queues["depth"], cns, slop_ns)
                p = _nearest(queues["pose"], cns, slop_ns)
                if d is not None and p is not None and K is not None:
                    queues["color"].popleft()
                    for k, (mns, _) in (("depth", d), ("pose", p)):
                        while queues[k] and queues[k][0][0] <= mns:
                            queues[k].popleft()
                    pm = p[1].pose
                    pose = pose_from_position_quat(
                        [pm.position.x, pm.position.y, pm.position.z],
                        [pm.orientation.x, pm.orientation.y, pm.orientation.z, pm.orientation.w])
                    yield Frame(rgb=image_codec.decode_colour(cmsg), depth=image_codec.decode_depth(d[1]), K=K,
                                pose=pose, stamp=cns * 1e-9, frame_id=cmsg.header.frame_id)
                    continue
                late = [queues[k] and queues[k][-1][0] > cns + slop_ns for k, m in (("depth", d), ("pose", p))
                        if m is None]
                if any(late):
                    queues["color"].popleft()
                    unmatched += 1
                    continue
                break
        unmatched += len(queues["color"])
        if unmatched:
            LOG.warning("%s: %d colour images had no depth/pose within %.3f s (or no camera_info yet)",
                        path, unmatched, slop)


def bag_info(path: str | Path) -> dict:
    """Summary of a bag: storage, duration, and per topic its type and message count."""
    from rosbags.rosbag2 import Reader

    with Reader(path) as reader:
        topics = {c.topic: {"type": c.msgtype, "count": c.msgcount} for c in reader.connections}
        return {
            "path": str(path),
            "duration_s": reader.duration * 1e-9,
            "start_s": reader.start_time * 1e-9,
            "messages": reader.message_count,
            "topics": topics,
        }


def _source_frames(args: argparse.Namespace) -> Iterable[Frame]:
    """Frames of the CLI's ``--source`` (readers align to REP 103; sim renders a seeded synthetic scene)."""
    if args.source == "sim":
        from leovl_ros.sim.render import render_sequence
        from leovl_ros.sim.world import generate_scene

        return render_sequence(generate_scene(args.seed), args.frames or 60, seed=args.seed)
    if args.input is None:
        raise SystemExit(f"--input is required for --source {args.source}")
    from leovl_ros.io import rgbd

    reader = {"redwood": rgbd.read_redwood, "3dmatch": rgbd.read_3dmatch, "scannet": rgbd.read_scannet}[args.source]
    seq = reader(args.input)
    return seq[: args.frames] if args.frames else seq


def _parser() -> argparse.ArgumentParser:
    """Argument parser of ``leovl-bag`` (subcommands write, info)."""
    p = argparse.ArgumentParser(prog="leovl-bag", description=__doc__.split("\n\n")[0].replace("``", ""),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write a dataset folder or a synthetic scene to a rosbag2 MCAP bag",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    w.add_argument("--source", required=True, choices=["redwood", "3dmatch", "scannet", "sim"],
                   help="dataset layout of --input, or sim for a rendered synthetic scene")
    w.add_argument("--input", type=Path, help="dataset folder (not used with --source sim)")
    w.add_argument("--seed", type=int, default=0, help="scene and trajectory seed for --source sim")
    w.add_argument("--frames", type=int, default=None, help="number of frames (sim default 60; datasets: all)")
    w.add_argument("--out", type=Path, required=True, help="bag folder to create (must not exist)")
    w.add_argument("--depth-encoding", choices=["16UC1", "32FC1"], default="16UC1", help="raw depth encoding")
    w.add_argument("--compressed", action="store_true", help="JPEG colour + compressedDepth PNG topics")
    w.add_argument("--frame-id", default="camera_color_optical_frame", help="header frame of the images")
    w.add_argument("--pose-as", choices=["topic", "tf"], default="topic",
                   help="camera poses as a PoseStamped topic, or as /tf map → camera_link + a static /tf_static "
                        "camera_link → optical frame (how robots record)")
    w.add_argument("--no-annotations", action="store_true",
                   help="--source sim: do not write the room's questions to <out>/annotations.json")
    sub.add_parser("play", help="publish a bag over ROS 2 with /clock (see: leovl-bag play --help)", add_help=False)
    i = sub.add_parser("info", help="print topics, types, counts and duration of a bag as JSON")
    i.add_argument("bag", type=Path, help="rosbag2 folder")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """``leovl-bag``: write posed RGB-D to a rosbag2 MCAP bag, or summarise one."""
    import json

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["play"]:  # the ROS side, imported only here so io/ stays ROS-free
        from leovl_ros.ros.bag_player import main as play_main

        return play_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "info":
        print(json.dumps(bag_info(args.bag), indent=2))
        return 0
    from tqdm import tqdm

    frames = _source_frames(args)
    total = len(frames) if hasattr(frames, "__len__") else args.frames
    custom: dict[str, str] = {}
    visibility = None
    if args.source == "sim":
        from leovl_ros.sim.render import TRAINING_STRIDE, Visibility
        from leovl_ros.sim.tasks import scene_id_for

        custom["scene_id"] = scene_id_for(args.seed)
        visibility = Visibility(stride=TRAINING_STRIDE)
        frames = map(visibility.add, frames)
    n = write_rgbd_bag(tqdm(frames, total=total, desc="frames", unit="frame"), args.out,
                       frame_id=args.frame_id, depth_encoding=args.depth_encoding, compressed=args.compressed,
                       pose_as=args.pose_as, custom_data=custom)
    summary: dict[str, Any] = {"bag": str(args.out), "frames": n, **custom}
    if visibility is not None and not args.no_annotations:
        from leovl_ros.io.bag_annotations import ANNOTATIONS_NAME, sim_bag_questions, write_bag_annotations
        from leovl_ros.sim.world import generate_scene

        items = sim_bag_questions(generate_scene(args.seed), visibility.seen(min_pixels=1), args.seed)
        summary["annotations"] = str(write_bag_annotations(items, args.out / ANNOTATIONS_NAME))
        summary["questions"] = len(items)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
