"""The one codec of the camera wire formats, ROS-free: decodes and encodes the *fields* of image messages.

Decoders take any object with the message's fields — rclpy messages and ``rosbags`` messages alike:
raw ``sensor_msgs/Image`` (colour rgb8/bgr8/rgba8/bgra8/mono8; depth 16UC1/mono16 mm or 32FC1 m, row padding,
big-endian), ``CompressedImage`` colour (jpeg/png) and image_transport's ``compressedDepth`` (12-byte header
``int32 format, float32 depthQuantA, float32 depthQuantB`` then a 16-bit PNG: raw millimetres for 16UC1,
quantised inverse depth for 32FC1), and ``CameraInfo`` → K. Colour decodes to H×W×3 uint8 RGB, depth to H×W
float32 metres with invalid pixels kept the way the wire says them: 0 where 16-bit depth has no return, NaN
where 32FC1 has none (raw NaN stays NaN, a compressed 32FC1 zero becomes NaN too). Malformed fields raise
``InputRejected`` carrying the counted ``Rejection``.

Encoders return the payload (``EncodedImage`` fields, or a compressed format string and bytes); the ROS adapters
(``leovl_ros.ros.conversions``) and the bag writer (``leovl_ros.io.bag``) wrap them in their message types.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from leovl_ros.agent.validation import (
    COLOUR_ENCODINGS,
    DEPTH_ENCODINGS,
    InputRejected,
    Reason,
    Rejection,
    check_image_fields,
    check_intrinsics,
)

_ITEM_DTYPES = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.float32)}
COMPRESSED_DEPTH_HEADER = struct.Struct("<iff")
"""image_transport compressedDepth ConfigHeader: format enum (0 = INV_DEPTH), depthQuantA, depthQuantB."""


@dataclass
class EncodedImage:
    """The payload fields of a ``sensor_msgs/Image`` (little-endian, no row padding)."""

    height: int
    width: int
    encoding: str
    step: int
    data: bytes
    is_bigendian: int = 0


def is_compressed(msg: Any) -> bool:
    """A CompressedImage-like object (has ``format``) rather than a raw Image (has ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


# ------------------------------------------------------------------------------------------------------- decoding


def image_to_array(msg: Any, allowed: dict[str, tuple[int, int]]) -> np.ndarray:
    """Validated Image fields → native-endian H×W×C array (row padding removed)."""
    data = msg.data
    rejection = check_image_fields(msg.encoding, int(msg.width), int(msg.height), int(msg.step), len(data), allowed)
    if rejection is not None:
        raise InputRejected(rejection)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    channels, item = allowed[msg.encoding]
    dtype = _ITEM_DTYPES[item].newbyteorder(">" if msg.is_bigendian else "<")
    rows = np.frombuffer(bytes(data) if isinstance(data, (list, tuple)) else data, dtype=np.uint8)
    rows = rows.reshape(h, step)[:, : w * channels * item]
    arr = np.ascontiguousarray(rows).view(dtype).reshape(h, w, channels)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def colour_from_image(msg: Any) -> np.ndarray:
    """rgb8/bgr8/rgba8/bgra8/mono8 Image → H×W×3 uint8 RGB."""
    arr = image_to_array(msg, COLOUR_ENCODINGS)
    enc = msg.encoding
    if enc == "mono8":
        return np.repeat(arr, 3, axis=2)
    rgb = arr[..., 2::-1] if enc.startswith("bgr") else arr[..., :3]
    return np.ascontiguousarray(rgb)


def depth_from_image(msg: Any) -> np.ndarray:
    """16UC1/mono16 (millimetres) or 32FC1 (metres) Image → H×W float32 metres (invalid values kept as-is)."""
    arr = image_to_array(msg, DEPTH_ENCODINGS)[..., 0]
    if msg.encoding == "32FC1":
        return np.array(arr, dtype=np.float32)
    return arr.astype(np.float32) / np.float32(1000.0)


def _decode_pil(data: bytes, what: str) -> Any:
    """Decode a jpeg/png byte string with Pillow; InputRejected on failure."""
    from PIL import Image as PILImage

    try:
        img = PILImage.open(io.BytesIO(data))
        img.load()
        return img
    except Exception as exc:
        raise InputRejected(Rejection(Reason.ENCODING, f"cannot decode {what}: {exc}")) from exc


def colour_from_compressed(msg: Any) -> np.ndarray:
    """CompressedImage (jpeg/png, image_transport ``compressed``) → H×W×3 uint8 RGB."""
    if "compresseddepth" in msg.format.lower():
        raise InputRejected(Rejection(Reason.ENCODING, f"colour topic carries depth format {msg.format!r}"))
    img = _decode_pil(bytes(msg.data), f"compressed colour ({msg.format!r})")
    return np.array(img.convert("RGB"), dtype=np.uint8)


def _depth_format_encoding(fmt: str) -> str:
    """The source encoding in a compressedDepth format string (``16UC1; compressedDepth png`` → 16UC1)."""
    head = fmt.split(";")[0].strip()
    return head if head in DEPTH_ENCODINGS else ""


def depth_from_compressed(msg: Any) -> np.ndarray:
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
    if len(data) <= COMPRESSED_DEPTH_HEADER.size:
        raise InputRejected(Rejection(Reason.SIZE, f"compressedDepth message of {len(data)} bytes has no image"))
    _, quant_a, quant_b = COMPRESSED_DEPTH_HEADER.unpack_from(data)
    raw = np.asarray(_decode_pil(data[COMPRESSED_DEPTH_HEADER.size:], "compressedDepth PNG"))
    if raw.ndim != 2:
        raise InputRejected(Rejection(Reason.ENCODING, f"compressedDepth PNG has shape {raw.shape}, expected 2-D"))
    values = raw.astype(np.float32)
    if encoding != "32FC1":
        return values / np.float32(1000.0)
    if not (np.isfinite(quant_a) and np.isfinite(quant_b)) or quant_a == 0:
        raise InputRejected(Rejection(Reason.ENCODING, f"bad inverse-depth quantisation A={quant_a} B={quant_b}"))
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.float32(quant_a) / (values - np.float32(quant_b))
    return np.where(raw > 0, depth, np.float32(np.nan)).astype(np.float32)


def decode_colour(msg: Any) -> np.ndarray:
    """Image or CompressedImage colour → H×W×3 uint8 RGB."""
    return colour_from_compressed(msg) if is_compressed(msg) else colour_from_image(msg)


def decode_depth(msg: Any) -> np.ndarray:
    """Image (16UC1/mono16/32FC1) or compressedDepth → H×W float32 metres (0 or NaN where there is no return)."""
    return depth_from_compressed(msg) if is_compressed(msg) else depth_from_image(msg)


def intrinsics_from_camera_info(msg: Any, image_hw: tuple[int, int]) -> np.ndarray:
    """Validated CameraInfo fields → 3×3 K for an image of ``image_hw`` (all-zero K = uncalibrated → InputRejected)."""
    rejection = check_intrinsics(msg.k, (int(msg.height), int(msg.width)), image_hw)
    if rejection is not None:
        raise InputRejected(rejection)
    return np.asarray(msg.k, dtype=np.float64).reshape(3, 3)


# ------------------------------------------------------------------------------------------------------- encoding


def encode_image(arr: np.ndarray, encoding: str) -> EncodedImage:
    """H×W[×C] array → Image fields of ``encoding`` (rgb8, bgr8, mono8, 16UC1, 32FC1, ...), little-endian."""
    table = {**COLOUR_ENCODINGS, **DEPTH_ENCODINGS}
    if encoding not in table:
        raise ValueError(f"unsupported encoding {encoding!r}")
    channels, item = table[encoding]
    a = np.ascontiguousarray(arr, dtype=_ITEM_DTYPES[item].newbyteorder("<"))
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] != channels:
        raise ValueError(f"array of shape {np.shape(arr)} does not fit {encoding} ({channels} channels)")
    h, w = a.shape[:2]
    return EncodedImage(height=h, width=w, encoding=encoding, step=w * channels * item, data=a.tobytes())


def metres_to_millimetres(depth: np.ndarray) -> np.ndarray:
    """Float metres → uint16 millimetres; NaN/Inf/negative/too-far → 0 (the 16-bit 'no return' value)."""
    d = np.asarray(depth, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d > 0) & (d * 1000.0 < 65535.5)
    return np.where(ok, np.rint(np.where(ok, d, 0.0) * 1000.0), 0).astype(np.uint16)


def encode_depth_image(depth: np.ndarray, encoding: str) -> EncodedImage:
    """Float metres → 16UC1 millimetres (invalid → 0) or 32FC1 metres (NaN kept, REP 118)."""
    if encoding == "32FC1":
        return encode_image(np.asarray(depth, np.float32), encoding)
    return encode_image(metres_to_millimetres(depth), encoding)


def encode_compressed_colour(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> tuple[str, bytes]:
    """H×W×3 uint8 RGB → (format string, bytes) as image_transport writes them (``rgb8; jpeg compressed bgr8``)."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format=fmt.upper(), quality=quality)
    return f"rgb8; {fmt} compressed bgr8", buf.getvalue()


def encode_compressed_depth(depth: np.ndarray, encoding: str = "16UC1", depth_max: float = 10.0,
                            quantization: float = 100.0) -> tuple[str, bytes]:
    """Float metres → (format string, bytes) of ``compressedDepth`` PNG (16UC1 mm or 32FC1 inverse depth)."""
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
    header = COMPRESSED_DEPTH_HEADER.pack(0, np.float32(quant_a), np.float32(quant_b))
    return f"{encoding}; compressedDepth png", header + buf.getvalue()
