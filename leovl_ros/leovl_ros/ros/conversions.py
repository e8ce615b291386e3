"""ROS message construction and pose messages (cv_bridge and sensor_msgs_py are not on PyPI); no rclpy.

Headers and stamps; Image / CompressedImage messages from the payloads of ``leovl_ros.io.image_codec`` (which
decodes them too, ROS-free); CameraInfo from K; PoseStamped / Odometry ↔ 4×4 (rotations from
``leovl_ros.geometry.transforms``); the CFG as PointCloud2 (x, y, z, rgb packed in a float, weight) and
MarkerArray (a cube per cell). Malformed poses raise ``InputRejected`` carrying the counted ``Rejection``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, PoseStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from leovl_ros.agent.cfg_points import cfg_columns, colours_to_uint8
from leovl_ros.agent.validation import pose_matrix
from leovl_ros.geometry.transforms import matrix_to_quat_xyzw
from leovl_ros.io import image_codec as codec

# ----------------------------------------------------------------------------------------------- stamps / headers


def stamp_to_ns(stamp: Time) -> int:
    """builtin_interfaces/Time → integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Integer nanoseconds → builtin_interfaces/Time."""
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def make_header(frame_id: str, stamp_ns: int) -> Header:
    """A std_msgs/Header."""
    return Header(frame_id=frame_id, stamp=ns_to_stamp(stamp_ns))


# --------------------------------------------------------------------------------------------------------- images


def _image(fields: codec.EncodedImage, header: Header) -> Image:
    """An Image message of encoded fields."""
    msg = Image(header=header, height=fields.height, width=fields.width, encoding=fields.encoding,
                is_bigendian=fields.is_bigendian, step=fields.step)
    msg.data = fields.data
    return msg


def image_from_array(arr: np.ndarray, encoding: str, header: Header) -> Image:
    """H×W[×C] array → Image of ``encoding`` (rgb8, bgr8, mono8, 16UC1, 32FC1, ...), native little-endian."""
    return _image(codec.encode_image(arr, encoding), header)


def depth_image_from_metres(depth: np.ndarray, encoding: str, header: Header) -> Image:
    """Float metres → 16UC1 millimetres (invalid → 0) or 32FC1 metres (NaN kept, REP 118)."""
    return _image(codec.encode_depth_image(depth, encoding), header)


def compressed_from_colour(rgb: np.ndarray, header: Header, fmt: str = "jpeg", quality: int = 90) -> CompressedImage:
    """H×W×3 uint8 RGB → CompressedImage as image_transport writes it (``rgb8; jpeg compressed bgr8``)."""
    form, data = codec.encode_compressed_colour(rgb, fmt, quality)
    msg = CompressedImage(header=header, format=form)
    msg.data = data
    return msg


def compressed_from_depth(depth: np.ndarray, header: Header, encoding: str = "16UC1", depth_max: float = 10.0,
                          quantization: float = 100.0) -> CompressedImage:
    """Float metres → ``compressedDepth`` PNG as image_transport encodes it (16UC1 mm or 32FC1 inverse depth)."""
    form, data = codec.encode_compressed_depth(depth, encoding, depth_max, quantization)
    msg = CompressedImage(header=header, format=form)
    msg.data = data
    return msg


# ------------------------------------------------------------------------------------------------------- cameras


def camera_info_from_intrinsics(K: np.ndarray, width: int, height: int, header: Header) -> CameraInfo:
    """3×3 K → CameraInfo (rectified pinhole: no distortion, R = I, P = [K | 0])."""
    k = np.asarray(K, dtype=np.float64).reshape(3, 3)
    p = np.zeros((3, 4))
    p[:, :3] = k
    return CameraInfo(header=header, width=int(width), height=int(height), distortion_model="plumb_bob",
                      d=[0.0] * 5, k=k.reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(),
                      p=p.reshape(-1).tolist())


# --------------------------------------------------------------------------------------------------------- poses


def pose_to_matrix(pose: Pose) -> np.ndarray:
    """Validated geometry_msgs/Pose → 4×4 (InputRejected for NaN, non-unit quaternion, absurd position)."""
    return pose_matrix(pose.position, pose.orientation)


def odometry_to_matrix(msg: Odometry, base_to_optical: np.ndarray) -> np.ndarray:
    """Odometry (world ← base) composed with the static base → camera-optical extrinsic: world ← optical."""
    return pose_to_matrix(msg.pose.pose) @ np.asarray(base_to_optical, dtype=np.float64)


def matrix_to_pose(T: np.ndarray) -> Pose:
    """4×4 rigid transform → geometry_msgs/Pose."""
    m = np.asarray(T, dtype=np.float64)
    x, y, z, w = (float(v) for v in matrix_to_quat_xyzw(m[:3, :3]))
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in m[:3, 3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = x, y, z, w
    return pose


def pose_stamped_from_matrix(T: np.ndarray, header: Header) -> PoseStamped:
    """4×4 → PoseStamped."""
    return PoseStamped(header=header, pose=matrix_to_pose(T))


# ------------------------------------------------------------------------------------------- CFG → cloud/markers

CLOUD_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<f4"), ("weight", "<f4")])
"""Point layout of ``~/cfg``: position, colour packed as 0x00RRGGBB in a float (Rviz convention), weight."""

_FIELD_DTYPES = {PointField.INT8: "i1", PointField.UINT8: "u1", PointField.INT16: "i2", PointField.UINT16: "u2",
                 PointField.INT32: "i4", PointField.UINT32: "u4", PointField.FLOAT32: "f4", PointField.FLOAT64: "f8"}


def pack_rgb(colour: np.ndarray) -> np.ndarray:
    """N×3 colours (0–1 floats or uint8) → N float32 holding 0x00RRGGBB bit patterns."""
    c8 = colours_to_uint8(colour).astype(np.uint32)
    packed = (c8[:, 0] << 16) | (c8[:, 1] << 8) | c8[:, 2]
    return packed.astype("<u4").view("<f4")


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """N float32 packed colours → N×3 uint8."""
    u = np.asarray(packed, dtype="<f4").view("<u4")
    return np.stack([(u >> 16) & 255, (u >> 8) & 255, u & 255], axis=1).astype(np.uint8)


def cloud_from_arrays(xyz: np.ndarray, colour: np.ndarray, weight: np.ndarray, header: Header) -> PointCloud2:
    """N×3 points, N×3 colours, N weights → unorganised PointCloud2 with fields x, y, z, rgb, weight."""
    xyz = np.asarray(xyz, dtype=np.float32).reshape(-1, 3)
    n = xyz.shape[0]
    points = np.empty(n, dtype=CLOUD_DTYPE)
    points["x"], points["y"], points["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    points["rgb"] = pack_rgb(np.asarray(colour).reshape(n, 3)) if n else np.zeros(0, np.float32)
    points["weight"] = np.asarray(weight, dtype=np.float32).reshape(n)
    fields = [PointField(name=name, offset=CLOUD_DTYPE.fields[name][1], datatype=PointField.FLOAT32, count=1)
              for name in CLOUD_DTYPE.names]
    msg = PointCloud2(header=header, height=1, width=n, fields=fields, is_bigendian=False,
                      point_step=CLOUD_DTYPE.itemsize, row_step=CLOUD_DTYPE.itemsize * n, is_dense=True)
    msg.data = points.tobytes()
    return msg


def cloud_to_structured(msg: PointCloud2) -> np.ndarray:
    """Any PointCloud2 with scalar fields → structured numpy array of width·height points."""
    endian = ">" if msg.is_bigendian else "<"
    dtype = np.dtype({"names": [f.name for f in msg.fields],
                      "formats": [endian + _FIELD_DTYPES[f.datatype] for f in msg.fields],
                      "offsets": [f.offset for f in msg.fields], "itemsize": msg.point_step})
    n = int(msg.width) * int(msg.height)
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(int(msg.height), int(msg.row_step))
    return np.ascontiguousarray(rows[:, : int(msg.width) * msg.point_step]).view(dtype).reshape(n)


def cfg_to_cloud(batch: Any, header: Header) -> PointCloud2:
    """ColumnBatch → ``~/cfg`` cloud: one point per CFG cell at its mean height."""
    cols = cfg_columns(batch)
    return cloud_from_arrays(cols["xyz"], cols["colour"], cols["weight"], header)


def cfg_to_markers(batch: Any, header: Header, ns: str = "cfg", alpha: float = 0.8) -> MarkerArray:
    """ColumnBatch → MarkerArray: DELETEALL, then one CUBE_LIST per cell size (a coloured cube per cell)."""
    cols = cfg_columns(batch)
    markers: list[Marker] = [Marker(header=header, ns=ns, action=Marker.DELETEALL)]
    sizes = np.unique(np.round(cols["cell_size"], 4)) if len(cols["cell_size"]) else np.zeros(0)
    for i, size in enumerate(sizes):
        sel = np.flatnonzero(np.isclose(cols["cell_size"], size, atol=1e-4))
        m = Marker(header=header, ns=ns, id=i, type=Marker.CUBE_LIST, action=Marker.ADD,
                   lifetime=Duration(sec=0, nanosec=0), frame_locked=False)
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = float(size)
        m.scale.z = float(size)
        m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in cols["xyz"][sel]]
        m.colors = [ColorRGBA(r=float(c[0]), g=float(c[1]), b=float(c[2]), a=float(alpha)) for c in cols["colour"][sel]]
        markers.append(m)
    return MarkerArray(markers=markers)

