"""ROS message ↔ numpy conversions (cv_bridge and sensor_msgs_py are not on PyPI); message modules only, no rclpy.

Images: raw ``sensor_msgs/Image`` (colour rgb8/bgr8/rgba8/bgra8/mono8; depth 16UC1 mm / 32FC1 m, row padding,
big-endian), ``CompressedImage`` colour (jpeg/png) and image_transport's ``compressedDepth`` (12-byte header
``int32 format, float32 depthQuantA, float32 depthQuantB`` then a 16-bit PNG: raw millimetres for 16UC1,
quantised inverse depth for 32FC1). Camera: CameraInfo ↔ K. Poses: PoseStamped / Odometry ↔ 4×4.
Outputs: the CFG as PointCloud2 (x, y, z, rgb packed in a float, weight) and MarkerArray (a cube per cell).
Malformed inputs raise ``InputRejected`` carrying the counted ``Rejection``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, PoseStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from leovl_ros.agent.validation import (
    COLOUR_ENCODINGS,
    DEPTH_ENCODINGS,
    InputRejected,
    Reason,
    Rejection,
    check_image_fields,
    check_intrinsics,
    check_quaternion,
    check_translation,
)

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


# ----------------------------------------------------------------------------------------------------- raw images

_ITEM_DTYPES = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.float32)}


def image_to_array(msg: Image, allowed: dict[str, tuple[int, int]]) -> np.ndarray:
    """Validated Image → native-endian H×W×C array (row padding removed, a view where possible)."""
    rejection = check_image_fields(msg.encoding, int(msg.width), int(msg.height), int(msg.step), len(msg.data),
                                   allowed)
    if rejection is not None:
        raise InputRejected(rejection)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    channels, item = allowed[msg.encoding]
    dtype = _ITEM_DTYPES[item].newbyteorder(">" if msg.is_bigendian else "<")
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(h, step)[:, : w * channels * item]
    arr = np.ascontiguousarray(rows).view(dtype).reshape(h, w, channels)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def colour_from_image(msg: Image) -> np.ndarray:
    """rgb8/bgr8/rgba8/bgra8/mono8 Image → H×W×3 uint8 RGB."""
    arr = image_to_array(msg, COLOUR_ENCODINGS)
    enc = msg.encoding
    if enc == "mono8":
        return np.repeat(arr, 3, axis=2)
    rgb = arr[..., 2::-1] if enc.startswith("bgr") else arr[..., :3]
    return np.ascontiguousarray(rgb)


def depth_from_image(msg: Image) -> np.ndarray:
    """16UC1/mono16 (millimetres) or 32FC1 (metres) Image → H×W float32 metres (invalid values kept as-is)."""
    arr = image_to_array(msg, DEPTH_ENCODINGS)[..., 0]
    if msg.encoding == "32FC1":
        return np.array(arr, dtype=np.float32)
    return arr.astype(np.float32) * np.float32(0.001)


def image_from_array(arr: np.ndarray, encoding: str, header: Header) -> Image:
    """H×W[×C] array → Image of ``encoding`` (rgb8, bgr8, mono8, 16UC1, 32FC1, ...), native little-endian."""
    table = {**COLOUR_ENCODINGS, **DEPTH_ENCODINGS}
    if encoding not in table:
        raise ValueError(f"unsupported encoding {encoding!r}")
    channels, item = table[encoding]
    a = np.ascontiguousarray(arr, dtype=_ITEM_DTYPES[item].newbyteorder("<"))
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] != channels:
        raise ValueError(f"array of shape {arr.shape} does not fit {encoding} ({channels} channels)")
    h, w = a.shape[:2]
    msg = Image(header=header, height=h, width=w, encoding=encoding, is_bigendian=0, step=w * channels * item)
    msg.data = a.tobytes()
    return msg


def depth_image_from_metres(depth: np.ndarray, encoding: str, header: Header) -> Image:
    """Float metres → 16UC1 millimetres (invalid → 0) or 32FC1 metres (NaN kept, REP 118)."""
    if encoding == "32FC1":
        return image_from_array(np.asarray(depth, np.float32), encoding, header)
    return image_from_array(metres_to_millimetres(depth), encoding, header)


def metres_to_millimetres(depth: np.ndarray) -> np.ndarray:
    """Float metres → uint16 millimetres; NaN/Inf/negative/too-far → 0 (the 16-bit 'no return' value)."""
    d = np.asarray(depth, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d > 0) & (d * 1000.0 < 65535.5)
    return np.where(ok, np.rint(np.where(ok, d, 0.0) * 1000.0), 0).astype(np.uint16)


# ---------------------------------------------------------------------------------------------- compressed images

_COMPRESSED_DEPTH_HEADER = struct.Struct("<iff")
"""image_transport compressedDepth ConfigHeader: format enum (0 = INV_DEPTH), depthQuantA, depthQuantB."""


def _decode_pil(data: bytes, what: str) -> Any:
    """Decode a jpeg/png byte string with Pillow; InputRejected on failure."""
    from PIL import Image as PILImage

    try:
        img = PILImage.open(io.BytesIO(data))
        img.load()
        return img
    except Exception as exc:
        raise InputRejected(Rejection(Reason.ENCODING, f"cannot decode {what}: {exc}")) from exc


def colour_from_compressed(msg: CompressedImage) -> np.ndarray:
    """CompressedImage (jpeg/png, image_transport ``compressed``) → H×W×3 uint8 RGB."""
    if "compresseddepth" in msg.format.lower():
        raise InputRejected(Rejection(Reason.ENCODING, f"colour topic carries depth format {msg.format!r}"))
    img = _decode_pil(bytes(msg.data), f"compressed colour ({msg.format!r})")
    return np.array(img.convert("RGB"), dtype=np.uint8)


def compressed_from_colour(rgb: np.ndarray, header: Header, fmt: str = "jpeg", quality: int = 90) -> CompressedImage:
    """H×W×3 uint8 RGB → CompressedImage as image_transport writes it (``rgb8; jpeg compressed bgr8``)."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format=fmt.upper(), quality=quality)
    msg = CompressedImage(header=header, format=f"rgb8; {fmt} compressed bgr8")
    msg.data = buf.getvalue()
    return msg


def _depth_format_encoding(fmt: str) -> str:
    """The source encoding in a compressedDepth format string (``16UC1; compressedDepth png`` → 16UC1)."""
    head = fmt.split(";")[0].strip()
    return head if head in DEPTH_ENCODINGS else ""


def depth_from_compressed(msg: CompressedImage) -> np.ndarray:
    """image_transport ``compressedDepth`` (PNG) → H×W float32 metres; NaN where 32FC1 had no return."""
    fmt = msg.format
    if "compresseddepth" not in fmt.lower():
        raise InputRejected(Rejection(Reason.ENCODING, f"depth topic format {fmt!r} is not compressedDepth"))
    if "rvl" in fmt.lower():
        raise InputRejected(Rejection(Reason.ENCODING, "compressedDepth RVL is not supported; publish png"))
    encoding = _depth_format_encoding(fmt)
    if not encoding:
        raise InputRejected(Rejection(Reason.ENCODING, f"compressedDepth format {fmt!r} names no 16UC1/32FC1"))
    data = bytes(msg.data)
    if len(data) <= _COMPRESSED_DEPTH_HEADER.size:
        raise InputRejected(Rejection(Reason.SIZE, f"compressedDepth message of {len(data)} bytes has no image"))
    _, quant_a, quant_b = _COMPRESSED_DEPTH_HEADER.unpack_from(data)
    raw = np.asarray(_decode_pil(data[_COMPRESSED_DEPTH_HEADER.size:], "compressedDepth PNG"))
    if raw.ndim != 2:
        raise InputRejected(Rejection(Reason.ENCODING, f"compressedDepth PNG has shape {raw.shape}, expected 2-D"))
    values = raw.astype(np.float32)
    if encoding != "32FC1":
        return values * np.float32(0.001)
    if not (np.isfinite(quant_a) and np.isfinite(quant_b)) or quant_a == 0:
        raise InputRejected(Rejection(Reason.ENCODING, f"bad inverse-depth quantisation A={quant_a} B={quant_b}"))
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.float32(quant_a) / (values - np.float32(quant_b))
    return np.where(raw > 0, depth, np.float32(np.nan)).astype(np.float32)


def compressed_from_depth(depth: np.ndarray, header: Header, encoding: str = "16UC1", depth_max: float = 10.0,
                          quantization: float = 100.0) -> CompressedImage:
    """Float metres → ``compressedDepth`` PNG as image_transport encodes it (16UC1 mm or 32FC1 inverse depth)."""
    from PIL import Image as PILImage

    if encoding == "16UC1":
        raw = metres_to_millimetres(depth)
        quant_a = quant_b = 0.0
    elif encoding == "32FC1":
        quant_a = quantization * (quantization + 1.0)
        quant_b = 1.0 - quant_a / depth_max
        d = np.asarray(depth, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.isfinite(d) & (d > 0) & (d < depth_max)
            inv = np.where(ok, quant_a / np.where(ok, d, 1.0) + quant_b, 0.0)
        raw = np.clip(np.rint(inv), 0, 65535).astype(np.uint16)
    else:
        raise ValueError(f"compressedDepth supports 16UC1 and 32FC1, not {encoding!r}")
    buf = io.BytesIO()
    PILImage.fromarray(raw).save(buf, format="PNG")
    msg = CompressedImage(header=header, format=f"{encoding}; compressedDepth png")
    msg.data = _COMPRESSED_DEPTH_HEADER.pack(0, np.float32(quant_a), np.float32(quant_b)) + buf.getvalue()
    return msg


# ------------------------------------------------------------------------------------------------------- cameras


def intrinsics_from_camera_info(msg: CameraInfo, image_hw: tuple[int, int]) -> np.ndarray:
    """Validated CameraInfo → 3×3 K for an image of ``image_hw`` (all-zero K = uncalibrated → InputRejected)."""
    rejection = check_intrinsics(msg.k, (int(msg.height), int(msg.width)), image_hw)
    if rejection is not None:
        raise InputRejected(rejection)
    return np.asarray(msg.k, dtype=np.float64).reshape(3, 3)


def camera_info_from_intrinsics(K: np.ndarray, width: int, height: int, header: Header) -> CameraInfo:
    """3×3 K → CameraInfo (rectified pinhole: no distortion, R = I, P = [K | 0])."""
    k = np.asarray(K, dtype=np.float64).reshape(3, 3)
    p = np.zeros((3, 4))
    p[:, :3] = k
    return CameraInfo(header=header, width=int(width), height=int(height), distortion_model="plumb_bob",
                      d=[0.0] * 5, k=k.reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(),
                      p=p.reshape(-1).tolist())


# --------------------------------------------------------------------------------------------------------- poses


def quaternion_to_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Unit quaternion (normalised here) → 3×3 rotation matrix."""
    q = np.array([x, y, z, w], dtype=np.float64)
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quaternion(R: np.ndarray) -> tuple[float, float, float, float]:
    """3×3 rotation → unit quaternion (x, y, z, w) with w ≥ 0 (Shepperd's method, stable for all angles)."""
    m = np.asarray(R, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    qa = np.asarray(q) / np.linalg.norm(q)
    if qa[3] < 0:
        qa = -qa
    return float(qa[0]), float(qa[1]), float(qa[2]), float(qa[3])


def pose_to_matrix(pose: Pose) -> np.ndarray:
    """Validated geometry_msgs/Pose → 4×4 (InputRejected for NaN, non-unit quaternion, absurd position)."""
    p, o = pose.position, pose.orientation
    rejection = check_quaternion(o.x, o.y, o.z, o.w) or check_translation(p.x, p.y, p.z)
    if rejection is not None:
        raise InputRejected(rejection)
    T = np.eye(4)
    T[:3, :3] = quaternion_to_matrix(o.x, o.y, o.z, o.w)
    T[:3, 3] = (p.x, p.y, p.z)
    return T


def odometry_to_matrix(msg: Odometry, base_to_optical: np.ndarray) -> np.ndarray:
    """Odometry (world ← base) composed with the static base → camera-optical extrinsic: world ← optical."""
    return pose_to_matrix(msg.pose.pose) @ np.asarray(base_to_optical, dtype=np.float64)


def matrix_to_pose(T: np.ndarray) -> Pose:
    """4×4 rigid transform → geometry_msgs/Pose."""
    m = np.asarray(T, dtype=np.float64)
    x, y, z, w = matrix_to_quaternion(m[:3, :3])
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in m[:3, 3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = x, y, z, w
    return pose


def pose_stamped_from_matrix(T: np.ndarray, header: Header) -> PoseStamped:
    """4×4 → PoseStamped."""
    return PoseStamped(header=header, pose=matrix_to_pose(T))


def extrinsic_from_list(values: Sequence[float]) -> np.ndarray:
    """Parameter list → 4×4: 16 values (row-major matrix) or 7 values (x, y, z, qx, qy, qz, qw)."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 16:
        return v.reshape(4, 4)
    if v.size == 7:
        T = np.eye(4)
        T[:3, :3] = quaternion_to_matrix(*v[3:])
        T[:3, 3] = v[:3]
        return T
    raise ValueError(f"extrinsic needs 16 (matrix) or 7 (x y z qx qy qz qw) values, got {v.size}")


# ------------------------------------------------------------------------------------------- CFG → cloud/markers

CLOUD_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<f4"), ("weight", "<f4")])
"""Point layout of ``~/cfg``: position, colour packed as 0x00RRGGBB in a float (Rviz convention), weight."""

_FIELD_DTYPES = {PointField.INT8: "i1", PointField.UINT8: "u1", PointField.INT16: "i2", PointField.UINT16: "u2",
                 PointField.INT32: "i4", PointField.UINT32: "u4", PointField.FLOAT32: "f4", PointField.FLOAT64: "f8"}


def _to_numpy(x: Any) -> np.ndarray:
    """Tensor or array-like → numpy (no torch import needed)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def pack_rgb(colour: np.ndarray) -> np.ndarray:
    """N×3 colours (0–1 floats or uint8) → N float32 holding 0x00RRGGBB bit patterns."""
    c = np.asarray(colour)
    c8 = c.astype(np.uint32) if c.dtype == np.uint8 else np.clip(np.rint(c * 255.0), 0, 255).astype(np.uint32)
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


def cfg_columns(batch: Any) -> dict[str, np.ndarray]:
    """ColumnBatch → numpy per column: xyz (x, y, mean height), colour 0–1, weight (sum), cell_size, top."""
    xy = _to_numpy(batch.xy).astype(np.float32).reshape(-1, 2)
    n = xy.shape[0]
    weights = _to_numpy(batch.weights).astype(np.float32)
    mask = _to_numpy(batch.mask).astype(bool)
    return {
        "xyz": np.column_stack([xy, _to_numpy(batch.mean_height).astype(np.float32).reshape(n)]),
        "colour": _to_numpy(batch.colour).astype(np.float32).reshape(n, 3),
        "weight": (weights * mask).sum(axis=-1).reshape(n),
        "cell_size": _to_numpy(batch.cell_size).astype(np.float32).reshape(n),
        "top": _to_numpy(batch.top_height).astype(np.float32).reshape(n),
    }


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

