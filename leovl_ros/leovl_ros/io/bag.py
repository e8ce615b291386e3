"""rosbag2 (MCAP) writer and reader for posed RGB-D, with the ``leovl-bag`` command; uses ``rosbags`` (no rclpy).

A bag holds sensor_msgs/Image (rgb8) colour, depth (16UC1 mm or 32FC1 m), sensor_msgs/CameraInfo,
geometry_msgs/PoseStamped of the optical frame in ``map`` and /clock, under the RealSense topic names the
nodes subscribe to; ``compressed=True`` writes CompressedImage (``…/compressed`` JPEG colour and
``…/compressedDepth`` PNG depth, as image_transport names and encodes them).
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import struct
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import pose_from_position_quat, position_quat_from_pose

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
_DEPTH_HEADER = struct.Struct("<iff")
"""compressed_depth_image_transport ConfigHeader: format (0 inverse depth, 1 PNG), two depth parameters."""


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
        h, w = array.shape[:2]
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        return self.t[_IMAGE](header=self.header(ns, self.frame_id), height=h, width=w, encoding=encoding,
                              is_bigendian=0, step=data.size // h, data=data)

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


def _depth_mm(depth: np.ndarray) -> np.ndarray:
    """Metres → uint16 millimetres; invalid (0, NaN, ±Inf, out of range) → 0 as REP 118 allows for 16UC1."""
    with np.errstate(invalid="ignore"):
        mm = np.round(np.nan_to_num(depth.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0) * 1000.0)
    mm[(mm < 0) | (mm > 65535)] = 0
    return mm.astype(np.uint16)


def _encode(img: np.ndarray, fmt: str, **kw: Any) -> bytes:
    """Image bytes in a PIL format (JPEG, PNG)."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, **kw)
    return buf.getvalue()


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
) -> int:
    """Write posed RGB-D frames to a new rosbag2 MCAP folder ``path``; returns the number of frames written.

    Every message of a frame carries the frame's stamp (header and log time). ``compressed`` writes
    ``<color_topic>/compressed`` (JPEG) and ``<depth_topic>/compressedDepth`` (16UC1 PNG, millimetres).
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    if depth_encoding not in ("16UC1", "32FC1"):
        raise ValueError(f"depth_encoding must be 16UC1 or 32FC1, got {depth_encoding!r}")
    if compressed and depth_encoding != "16UC1":
        raise ValueError("compressedDepth is written as 16UC1 PNG: use depth_encoding='16UC1' with compressed=True")
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
            "pose": writer.add_connection(pose_topic, _POSE, typestore=ts),
            "clock": writer.add_connection(CLOCK_TOPIC, _CLOCK, typestore=ts),
        }
        for f in frames:
            ns = _stamp_ns(f.stamp)
            if compressed:
                color = msgs.compressed(ns, "rgb8; jpeg compressed bgr8", _encode(f.rgb, "JPEG", quality=jpeg_quality))
                header = _DEPTH_HEADER.pack(1, 0.0, 0.0)
                depth = msgs.compressed(ns, "16UC1; compressedDepth png", header + _encode(_depth_mm(f.depth), "PNG"))
            else:
                color = msgs.image(ns, f.rgb, "rgb8")
                d = _depth_mm(f.depth) if depth_encoding == "16UC1" else f.depth.astype("<f4")
                depth = msgs.image(ns, d, depth_encoding)
            for key, msg, typ in (
                ("clock", msgs.clock(ns), _CLOCK),
                ("info", msgs.camera_info(ns, f.K, f.width, f.height), _INFO),
                ("pose", msgs.pose(ns, f.pose), _POSE),
                ("color", color, img_type),
                ("depth", depth, img_type),
            ):
                writer.write(conns[key], ns, ts.serialize_cdr(msg, typ))
            n += 1
    return n


def _decode_color(msg: Any, msgtype: str) -> np.ndarray:
    """sensor_msgs Image (rgb8, bgr8, rgba8, bgra8, mono8) or CompressedImage → H×W×3 uint8 RGB."""
    if msgtype == _COMPRESSED:
        return np.asarray(Image.open(io.BytesIO(bytes(msg.data))).convert("RGB"))
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}
    if msg.encoding not in channels:
        raise ValueError(f"unsupported colour encoding {msg.encoding!r}")
    c = channels[msg.encoding]
    a = np.asarray(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * c]
    a = a.reshape(msg.height, msg.width, c)
    if c == 1:
        return np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a[..., 2::-1] if msg.encoding.startswith("bgr") else a[..., :3])


def _decode_depth(msg: Any, msgtype: str) -> np.ndarray:
    """Image 16UC1 (mm) / 32FC1 (m) or compressedDepth (PNG or inverse-depth PNG) → float32 metres."""
    if msgtype == _COMPRESSED:
        if "rvl" in msg.format.lower():
            raise ValueError(f"compressedDepth format {msg.format!r} (RVL) is not supported; use png")
        raw = bytes(msg.data)
        fmt, a, b = _DEPTH_HEADER.unpack_from(raw)
        img = np.asarray(Image.open(io.BytesIO(raw[_DEPTH_HEADER.size:]))).astype(np.float64)
        if msg.format.split(";")[0].strip() == "32FC1" and fmt == 0:
            with np.errstate(divide="ignore"):
                return np.where(img > 0, a / (img - b), 0.0).astype(np.float32)
        return (img / 1000.0).astype(np.float32)
    dtypes = {"16UC1": "u2", "mono16": "u2", "32FC1": "f4"}
    if msg.encoding not in dtypes:
        raise ValueError(f"unsupported depth encoding {msg.encoding!r}")
    dt = np.dtype((">" if msg.is_bigendian else "<") + dtypes[msg.encoding])
    rows = np.asarray(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * dt.itemsize]
    d = np.ascontiguousarray(rows).view(dt).reshape(msg.height, msg.width)
    return d.astype(np.float32) if dt.kind == "f" else (d.astype(np.float32) / np.float32(1000.0))


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
                    yield Frame(rgb=_decode_color(cmsg, available[topics["color"]]),
                                depth=_decode_depth(d[1], available[topics["depth"]]), K=K, pose=pose,
                                stamp=cns * 1e-9, frame_id=cmsg.header.frame_id)
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
    p = argparse.ArgumentParser(prog="leovl-bag", description=__doc__.split("\n")[0],
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
    i = sub.add_parser("info", help="print topics, types, counts and duration of a bag as JSON")
    i.add_argument("bag", type=Path, help="rosbag2 folder")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """``leovl-bag``: write posed RGB-D to a rosbag2 MCAP bag, or summarise one."""
    import json

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "info":
        print(json.dumps(bag_info(args.bag), indent=2))
        return 0
    from tqdm import tqdm

    frames = _source_frames(args)
    total = len(frames) if hasattr(frames, "__len__") else args.frames
    n = write_rgbd_bag(tqdm(frames, total=total, desc="frames", unit="frame"), args.out,
                       frame_id=args.frame_id, depth_encoding=args.depth_encoding, compressed=args.compressed)
    print(json.dumps({"bag": str(args.out), "frames": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
