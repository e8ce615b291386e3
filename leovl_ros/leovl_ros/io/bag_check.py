"""Checks a posed RGB-D bag before a replay evaluation and names exactly what is missing (``leovl-eval`` step 1).

Checked: the bag opens (a truncated or foreign file is named), the colour / depth / camera_info topics exist
(raw or ``…/compressed`` / ``…/compressedDepth``) with the right types, the first messages decode (colour and
depth encodings), depth looks like metres after decoding (16UC1 millimetres or 32FC1 metres: a median valid
depth outside 0.1–20 m is a units error), image and camera_info sizes agree, frame ids are set, a pose source
exists — a ``PoseStamped`` topic in ``map`` or ``/tf`` (+ ``/tf_static``) that composes map ← the image frame at
the first image's stamp — and the bag's ``scene_id`` (metadata ``custom_data``) is one the annotations name.
Every problem is one line; ``BagCheck.ok`` is False when any exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from leovl_ros.io.bag import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC, MAP_FRAME, POSE_TOPIC

_IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
_POSE_TYPE = "geometry_msgs/msg/PoseStamped"
_TF_TYPE = "tf2_msgs/msg/TFMessage"


@dataclass
class BagCheck:
    """What ``check_bag`` found."""

    path: str
    problems: list[str] = field(default_factory=list)
    """One line per problem (empty: the bag can be evaluated)."""
    topics: dict[str, str] = field(default_factory=dict)
    """Role (colour, depth, info, pose) → topic found."""
    pose_source: str = ""
    """'topic' or 'tf' ('' when none)."""
    frames: int = 0
    """Colour images in the bag."""
    duration_s: float = 0.0
    """Bag duration."""
    scene_id: str = ""
    """The bag's scene id (metadata custom_data), '' when it has none."""
    image_size: tuple[int, int] = (0, 0)
    """Width, height of the first colour image."""
    encodings: dict[str, str] = field(default_factory=dict)
    """Role → encoding / format of the first message."""
    frame_id: str = ""
    """Header frame of the first colour image."""

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def summary(self) -> str:
        """The first problem (or 'ok') with how many more there are."""
        if self.ok:
            return "ok"
        more = f" (+{len(self.problems) - 1} more: {'; '.join(self.problems[1:])})" if len(self.problems) > 1 else ""
        return self.problems[0] + more


def _pick(available: dict[str, str], topic: str, suffix: Optional[str]) -> Optional[str]:
    for t in (topic, f"{topic}/{suffix}") if suffix else (topic,):
        if t in available:
            return t
    return None


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def check_bag(path: str | Path, annotation_scenes: Iterable[str] = (), colour_topic: str = COLOR_TOPIC,
              depth_topic: str = DEPTH_TOPIC, info_topic: str = INFO_TOPIC, pose_topic: str = POSE_TOPIC,
              map_frame: str = MAP_FRAME, scene_id: Optional[str] = None) -> BagCheck:
    """Check a bag for a replay evaluation (module docstring); ``scene_id`` overrides the bag's metadata."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    from leovl_ros.io.bag_annotations import bag_custom_data

    path = Path(path)
    result = BagCheck(str(path))
    problems = result.problems
    if not path.exists():
        problems.append(f"{path}: no such bag")
        return result
    ts = get_typestore(Stores.ROS2_KILTED)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:
        problems.append(f"{path}: cannot open as a rosbag2 (truncated or not a bag?): {type(exc).__name__}: {exc}")
        return result
    try:
        available = {c.topic: c.msgtype for c in reader.connections}
        counts: dict[str, int] = {}
        for c in reader.connections:
            counts[c.topic] = counts.get(c.topic, 0) + c.msgcount
        result.duration_s = reader.duration * 1e-9
        roles = {"colour": _pick(available, colour_topic, "compressed"),
                 "depth": _pick(available, depth_topic, "compressedDepth"),
                 "info": _pick(available, info_topic, None)}
        expected = {"colour": _IMAGE_TYPES, "depth": _IMAGE_TYPES, "info": (_INFO_TYPE,)}
        for role, topic in roles.items():
            if topic is None:
                want = {"colour": f"{colour_topic} (or /compressed)", "depth": f"{depth_topic} (or /compressedDepth)",
                        "info": info_topic}[role]
                problems.append(f"no {role} topic {want}; the bag has {sorted(available)}")
            elif available[topic] not in expected[role]:
                problems.append(f"{topic} is {available[topic]}, expected {' or '.join(expected[role])}")
                roles[role] = None
            else:
                result.topics[role] = topic
        if pose_topic in available and available[pose_topic] == _POSE_TYPE:
            result.pose_source, result.topics["pose"] = "topic", pose_topic
        elif available.get("/tf") == _TF_TYPE:
            result.pose_source, result.topics["pose"] = "tf", "/tf"
        else:
            problems.append(f"no poses: neither {pose_topic} (geometry_msgs/msg/PoseStamped) nor /tf "
                            f"(tf2_msgs/msg/TFMessage) is in the bag")
        result.frames = counts.get(roles["colour"], 0) if roles["colour"] else 0
        if roles["colour"] and result.frames == 0:
            problems.append(f"{roles['colour']} has no messages")
        if roles["colour"] and roles["depth"] and counts.get(roles["depth"], 0) < result.frames:
            problems.append(f"{roles['depth']} has {counts.get(roles['depth'], 0)} messages for {result.frames} "
                            f"colour images")
        first: dict[str, Any] = {}
        wanted = {t: r for r, t in result.topics.items() if r != "pose" or result.pose_source == "topic"}
        conns = [c for c in reader.connections if c.topic in wanted]
        try:
            for conn, _, raw in reader.messages(connections=conns):
                role = wanted[conn.topic]
                if role not in first:
                    first[role] = ts.deserialize_cdr(raw, conn.msgtype)
                if len(first) == len(set(wanted.values())):
                    break
        except Exception as exc:
            problems.append(f"{path}: reading messages failed (truncated?): {type(exc).__name__}: {exc}")
            return result
        _check_first_messages(result, first, available, map_frame)
    finally:
        reader.close()
    if result.pose_source == "tf" and result.frame_id:
        _check_tf(result, path, map_frame)
    result.scene_id = scene_id if scene_id is not None else bag_custom_data(path).get("scene_id", "")
    scenes = sorted({s for s in annotation_scenes if s})
    if scenes:
        if not result.scene_id:
            problems.append(f"the bag has no scene_id in its metadata (custom_data) and the annotations name "
                            f"{', '.join(scenes[:3])}{' …' if len(scenes) > 3 else ''}: pass --scene-id")
        elif result.scene_id not in scenes:
            problems.append(f"the annotations are for scene {', '.join(scenes[:3])}"
                            f"{' …' if len(scenes) > 3 else ''}, the bag is scene {result.scene_id}")
    return result


def _check_first_messages(result: BagCheck, first: dict[str, Any], available: dict[str, str], map_frame: str) -> None:
    """Encodings, depth units, sizes and frame ids of the first message of each role."""
    from leovl_ros.io import image_codec

    problems = result.problems
    rgb = depth = None
    if "colour" in first:
        msg = first["colour"]
        result.encodings["colour"] = getattr(msg, "encoding", None) or getattr(msg, "format", "")
        result.frame_id = msg.header.frame_id
        if not result.frame_id:
            problems.append(f"{result.topics['colour']}: empty header.frame_id (the pose of the image frame is "
                            f"looked up by it)")
        try:
            rgb = image_codec.decode_colour(msg)
            result.image_size = (rgb.shape[1], rgb.shape[0])
        except Exception as exc:
            problems.append(f"{result.topics['colour']}: cannot decode colour ({result.encodings['colour']!r}): {exc}")
    if "depth" in first:
        msg = first["depth"]
        result.encodings["depth"] = getattr(msg, "encoding", None) or getattr(msg, "format", "")
        try:
            depth = image_codec.decode_depth(msg)
        except Exception as exc:
            problems.append(f"{result.topics['depth']}: cannot decode depth ({result.encodings['depth']!r}): {exc}")
        if depth is not None:
            valid = depth[np.isfinite(depth) & (depth > 0)]
            if valid.size == 0:
                problems.append(f"{result.topics['depth']}: the first depth image has no valid pixel")
            else:
                median = float(np.median(valid))
                if not 0.1 <= median <= 20.0:
                    hint = ("millimetres stored as 32FC1? 32FC1 is metres (REP 118)" if median > 20 else
                            "metres stored as 16UC1? 16UC1 is millimetres (REP 118)")
                    problems.append(f"{result.topics['depth']}: median depth {median:.3g} m after decoding "
                                    f"{result.encodings['depth']} — {hint}")
    if rgb is not None and depth is not None and rgb.shape[:2] != depth.shape[:2]:
        problems.append(f"colour is {rgb.shape[1]}×{rgb.shape[0]} but depth is {depth.shape[1]}×{depth.shape[0]}: "
                        f"depth must be aligned to colour")
    if "info" in first:
        info = first["info"]
        result.encodings["info"] = "CameraInfo"
        if not np.any(np.asarray(info.k)):
            problems.append(f"{result.topics['info']}: camera_info K is all zeros (uncalibrated)")
        if rgb is not None and (int(info.width), int(info.height)) not in ((rgb.shape[1], rgb.shape[0]), (0, 0)):
            problems.append(f"{result.topics['info']}: camera_info is {info.width}×{info.height}, the images are "
                            f"{rgb.shape[1]}×{rgb.shape[0]}")
    if "pose" in first:
        frame = first["pose"].header.frame_id.lstrip("/")
        result.encodings["pose"] = frame
        if frame and frame != map_frame:
            problems.append(f"{result.topics['pose']}: poses are in frame {frame!r}, expected {map_frame!r} "
                            f"(set --map-frame)")


def _check_tf(result: BagCheck, path: Path, map_frame: str) -> None:
    """map ← image frame composes from the bag's TF (at the first image's stamp, else at any time)."""
    from leovl_ros.io.tf_buffer import TfLookupError, buffer_from_bag

    try:
        buffer = buffer_from_bag(path)
        buffer.lookup(map_frame, result.frame_id, None)
    except TfLookupError as exc:
        result.problems.append(f"/tf: no pose for the image frame {result.frame_id!r}: {exc}")
    except Exception as exc:
        result.problems.append(f"/tf: cannot read the TF messages: {type(exc).__name__}: {exc}")
