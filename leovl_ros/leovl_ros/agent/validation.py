"""Validation of what arrives over ROS (image fields, depth, intrinsics, poses, stamps, questions), ROS-free.

Every check takes plain values and returns ``None`` (accept) or a ``Rejection`` whose ``reason`` is one of the
``Reason`` values the nodes count in their status messages. Checks never raise on any input (hypothesis-fuzzed),
so a malformed message is a counted rejection, never a crashed callback.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Union

import numpy as np

from leovl_ros.geometry.frame import valid_depth_mask


class Reason(str, Enum):
    """Why an input was rejected or dropped (the status counter names)."""

    ENCODING = "encoding"
    SIZE = "size_mismatch"
    CAMERA_INFO = "camera_info"
    DEPTH_INVALID = "depth_invalid"
    POSE_INVALID = "pose_invalid"
    POSE_STALE = "pose_stale"
    POSE_MISSING = "pose_missing"
    TF_TIMEOUT = "tf_timeout"
    TF_EXTRAPOLATION = "tf_extrapolation"
    OUT_OF_ORDER = "out_of_order"
    FRAME_STALE = "frame_stale"
    UNSYNCED = "unsynced"
    LOST = "lost"
    BEHIND = "behind"
    FUSION_ERROR = "fusion_error"
    QUESTION_EMPTY = "question_empty"
    QUESTION_TOO_LONG = "question_too_long"
    QUESTION_ENCODING = "question_encoding"
    QUESTION_UNKNOWN_WORDS = "question_unknown_words"
    QUESTION_UNKNOWN_OBJECT = "question_unknown_object"
    SESSION_INVALID = "session_invalid"
    BUSY = "busy"


@dataclass(frozen=True)
class Rejection:
    """A rejected input: the counted reason and a human-readable detail for the log."""

    reason: Reason
    """Counter name (``Reason``)."""
    detail: str
    """What exactly was wrong, with the offending values."""

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


class InputRejected(ValueError):
    """Raised by converters when a message fails validation; carries the ``Rejection``."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(str(rejection))
        self.rejection = rejection


COLOUR_ENCODINGS: dict[str, tuple[int, int]] = {
    "rgb8": (3, 1), "bgr8": (3, 1), "rgba8": (4, 1), "bgra8": (4, 1), "mono8": (1, 1),
}
"""Colour encodings the fusion node accepts: encoding → (channels, bytes per channel)."""
DEPTH_ENCODINGS: dict[str, tuple[int, int]] = {"16UC1": (1, 2), "mono16": (1, 2), "32FC1": (1, 4)}
"""Depth encodings: 16UC1/mono16 in millimetres, 32FC1 in metres."""


def check_image_fields(encoding: str, width: int, height: int, step: int, data_len: int,
                       allowed: dict[str, tuple[int, int]]) -> Optional[Rejection]:
    """sensor_msgs/Image header fields: known encoding, positive size, row step ≥ row bytes, data = step·height."""
    if encoding not in allowed:
        return Rejection(Reason.ENCODING, f"encoding {encoding!r} not in {sorted(allowed)}")
    if width <= 0 or height <= 0:
        return Rejection(Reason.SIZE, f"empty image {width}x{height}")
    channels, depth_bytes = allowed[encoding]
    row_bytes = width * channels * depth_bytes
    if step < row_bytes:
        return Rejection(Reason.SIZE, f"step {step} < {row_bytes} bytes per row for {width} px {encoding}")
    if data_len != step * height:
        return Rejection(Reason.SIZE, f"data has {data_len} bytes, expected step {step} x height {height}")
    return None


def check_min_size(image_hw: tuple[int, int], min_size: int) -> Optional[Rejection]:
    """An image must be at least ``min_size`` pixels on each side (a 1×1 "image" carries no scene)."""
    h, w = int(image_hw[0]), int(image_hw[1])
    if h < min_size or w < min_size:
        return Rejection(Reason.SIZE, f"image {w}x{h} is smaller than min_image_size {min_size} px per side")
    return None


def check_same_size(colour_hw: tuple[int, int], depth_hw: tuple[int, int]) -> Optional[Rejection]:
    """Colour and depth must be pixel-aligned (same height and width)."""
    if tuple(colour_hw) != tuple(depth_hw):
        return Rejection(Reason.SIZE, f"colour {colour_hw[1]}x{colour_hw[0]} != depth {depth_hw[1]}x{depth_hw[0]}")
    return None


def check_intrinsics(K: Union[Sequence[float], np.ndarray], info_hw: tuple[int, int],
                     image_hw: tuple[int, int]) -> Optional[Rejection]:
    """CameraInfo: a finite pinhole K (fx, fy > 0, K[2,2] = 1, principal point inside) of the image's size.

    An all-zero K means an uncalibrated camera and is rejected; ``info_hw`` (0, 0) means "not given".
    """
    k = np.asarray(K, dtype=np.float64).reshape(-1)
    if k.size != 9:
        return Rejection(Reason.CAMERA_INFO, f"K has {k.size} values, expected 9")
    k = k.reshape(3, 3)
    if not np.all(np.isfinite(k)):
        return Rejection(Reason.CAMERA_INFO, "K has non-finite values")
    if not np.any(k):
        return Rejection(Reason.CAMERA_INFO, "K is all zero (uncalibrated camera)")
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        return Rejection(Reason.CAMERA_INFO, f"focal lengths must be positive, got fx={k[0, 0]} fy={k[1, 1]}")
    if abs(k[2, 2] - 1.0) > 1e-6 or k[1, 0] != 0 or k[2, 0] != 0 or k[2, 1] != 0:
        return Rejection(Reason.CAMERA_INFO, f"K is not an upper-triangular pinhole matrix: {k.tolist()}")
    h, w = int(image_hw[0]), int(image_hw[1])
    if info_hw[0] and info_hw[1] and (int(info_hw[0]), int(info_hw[1])) != (h, w):
        return Rejection(Reason.SIZE, f"camera_info is {info_hw[1]}x{info_hw[0]}, image is {w}x{h}")
    if not (0.0 <= k[0, 2] <= w and 0.0 <= k[1, 2] <= h):
        return Rejection(Reason.CAMERA_INFO, f"principal point ({k[0, 2]}, {k[1, 2]}) outside {w}x{h} image")
    return None


def check_depth(depth: np.ndarray, min_depth: float, max_depth: float,
                max_invalid_fraction: float) -> tuple[np.ndarray, Optional[Rejection]]:
    """Mask invalid pixels to 0 (returned copy) and reject all-invalid frames or too large an invalid share."""
    d = np.asarray(depth, dtype=np.float32)
    mask = valid_depth_mask(d, min_depth, max_depth)
    cleaned = np.where(mask, d, np.float32(0.0)).astype(np.float32, copy=False)
    total = int(mask.size)
    valid = int(np.count_nonzero(mask))
    if total == 0 or valid == 0:
        return cleaned, Rejection(Reason.DEPTH_INVALID, f"all {total} depth pixels invalid "
                                                        f"(0/NaN/Inf/negative or outside [{min_depth}, {max_depth}] m)")
    invalid_fraction = 1.0 - valid / total
    if invalid_fraction > max_invalid_fraction:
        return cleaned, Rejection(Reason.DEPTH_INVALID, f"{invalid_fraction:.1%} of depth invalid "
                                                        f"> max_invalid_fraction {max_invalid_fraction:.1%}")
    return cleaned, None


def check_pose_matrix(T: np.ndarray, tol: float = 1e-3) -> Optional[Rejection]:
    """A rigid 4×4 transform: finite, last row (0, 0, 0, 1), rotation orthonormal within ``tol``, det +1."""
    m = np.asarray(T, dtype=np.float64)
    if m.shape != (4, 4):
        return Rejection(Reason.POSE_INVALID, f"pose shape {m.shape}, expected (4, 4)")
    if not np.all(np.isfinite(m)):
        return Rejection(Reason.POSE_INVALID, "pose has NaN/Inf")
    if np.max(np.abs(m[3] - np.array([0.0, 0.0, 0.0, 1.0]))) > tol:
        return Rejection(Reason.POSE_INVALID, f"last row {m[3].tolist()} is not (0, 0, 0, 1)")
    R = m[:3, :3]
    err = float(np.max(np.abs(R.T @ R - np.eye(3))))
    if not err <= tol:
        return Rejection(Reason.POSE_INVALID, f"rotation not orthonormal (max |RᵀR − I| = {err:.3g})")
    det = float(np.linalg.det(R))
    if not abs(det - 1.0) <= tol:
        return Rejection(Reason.POSE_INVALID, f"rotation determinant {det:.3g} != +1 (reflection)")
    return None


def check_quaternion(x: float, y: float, z: float, w: float, tol: float = 1e-2) -> Optional[Rejection]:
    """A finite unit quaternion (|q| within ``tol`` of 1; messages are normalised only to float precision)."""
    q = (x, y, z, w)
    if not all(math.isfinite(v) for v in q):
        return Rejection(Reason.POSE_INVALID, f"quaternion has NaN/Inf: {q}")
    norm = math.sqrt(sum(v * v for v in q))
    if not abs(norm - 1.0) <= tol:
        return Rejection(Reason.POSE_INVALID, f"quaternion norm {norm:.4g} is not 1")
    return None


def check_translation(x: float, y: float, z: float, max_abs: float = 1e6) -> Optional[Rejection]:
    """A finite position within ``max_abs`` metres of the origin."""
    if not all(math.isfinite(v) and abs(v) <= max_abs for v in (x, y, z)):
        return Rejection(Reason.POSE_INVALID, f"position ({x}, {y}, {z}) not finite or beyond {max_abs} m")
    return None


def pose_matrix(position: object, orientation: object) -> np.ndarray:
    """A message's position (x, y, z) and orientation (x, y, z, w) fields → validated 4×4 (``InputRejected`` for
    NaN, a non-unit quaternion or an absurd position). Works on rclpy and rosbags messages alike."""
    from leovl_ros.geometry.transforms import quat_xyzw_to_matrix

    p, o = position, orientation
    rejection = check_quaternion(o.x, o.y, o.z, o.w) or check_translation(p.x, p.y, p.z)  # type: ignore[attr-defined]
    if rejection is not None:
        raise InputRejected(rejection)
    T = np.eye(4)
    T[:3, :3] = quat_xyzw_to_matrix((o.x, o.y, o.z, o.w))  # type: ignore[attr-defined]
    T[:3, 3] = (p.x, p.y, p.z)  # type: ignore[attr-defined]
    return T


def check_pose_age(pose_stamp_ns: int, frame_stamp_ns: int, max_age_s: float) -> Optional[Rejection]:
    """The pose must be within ``max_age_s`` of the frame it is used for (either side)."""
    gap = abs(pose_stamp_ns - frame_stamp_ns) * 1e-9
    if gap > max_age_s:
        return Rejection(Reason.POSE_STALE, f"pose is {gap:.3f} s from the frame (max_pose_age {max_age_s} s)")
    return None


def check_frame_age(frame_stamp_ns: int, now_ns: int, max_age_s: float) -> Optional[Rejection]:
    """Against the node clock (sim time during bag replay): reject frames older than ``max_age_s`` (≤ 0: off)."""
    age = (now_ns - frame_stamp_ns) * 1e-9
    if max_age_s > 0 and age > max_age_s:
        return Rejection(Reason.FRAME_STALE,
                         f"frame is {age:.3f} s old by the node clock (max_frame_age {max_age_s} s)")
    return None


def check_stamp_order(stamp_ns: int, last_stamp_ns: Optional[int]) -> Optional[Rejection]:
    """Stamps must strictly increase (an equal stamp is a duplicate, an older one a reordered/looped stream)."""
    if last_stamp_ns is not None and stamp_ns <= last_stamp_ns:
        return Rejection(Reason.OUT_OF_ORDER, f"stamp {stamp_ns * 1e-9:.6f} s not after the last fused "
                                              f"{last_stamp_ns * 1e-9:.6f} s")
    return None


def check_question(text: Union[str, bytes], max_chars: int = 1000) -> Optional[Rejection]:
    """A question: valid UTF-8 text, not blank, at most ``max_chars``, no control or replacement characters."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejection(Reason.QUESTION_ENCODING, f"question is not UTF-8 ({exc.reason} at byte {exc.start})")
    if not text.strip():
        return Rejection(Reason.QUESTION_EMPTY, "question is empty")
    if len(text) > max_chars:
        return Rejection(Reason.QUESTION_TOO_LONG, f"question has {len(text)} characters (max {max_chars})")
    for ch in text:
        if ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\t\n\r"):
            return Rejection(Reason.QUESTION_ENCODING, f"question contains non-text character U+{ord(ch):04X}")
    return None


def check_session_id(session_id: str, max_chars: int = 64) -> Optional[Rejection]:
    """A session id: empty (default session) or up to ``max_chars`` of letters, digits, ``-_.:@``."""
    if len(session_id) > max_chars:
        return Rejection(Reason.SESSION_INVALID, f"session id has {len(session_id)} characters (max {max_chars})")
    bad = [c for c in session_id if not (c.isascii() and (c.isalnum() or c in "-_.:@"))]
    if bad:
        return Rejection(Reason.SESSION_INVALID, f"session id contains {bad[0]!r}")
    return None
