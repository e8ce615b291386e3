"""Rotation and pose helpers (quaternions x, y, z, w as ROS orders them; 4×4 homogeneous poses)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    """3×3 rotation of a quaternion (x, y, z, w); the quaternion is normalised first, a zero one is an error."""
    q = np.asarray(q, dtype=np.float64).reshape(4)
    n = float(np.linalg.norm(q))
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError(f"quaternion must be finite and non-zero, got {q.tolist()}")
    x, y, z, w = q / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat_xyzw(R: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) with w ≥ 0 of a 3×3 rotation (Shepperd's method: stable for every angle)."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3):
        raise ValueError(f"rotation must be 3×3, got {R.shape}")
    tr = R[0, 0] + R[1, 1] + R[2, 2]
    diag = (R[0, 0], R[1, 1], R[2, 2])
    if tr >= max(diag):
        s = 2.0 * np.sqrt(max(1.0 + tr, 0.0))
        q = np.array([(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, 0.25 * s])
    elif diag[0] >= diag[1] and diag[0] >= diag[2]:
        s = 2.0 * np.sqrt(max(1.0 + R[0, 0] - R[1, 1] - R[2, 2], 0.0))
        q = np.array([0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s])
    elif diag[1] >= diag[2]:
        s = 2.0 * np.sqrt(max(1.0 - R[0, 0] + R[1, 1] - R[2, 2], 0.0))
        q = np.array([(R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s])
    else:
        s = 2.0 * np.sqrt(max(1.0 - R[0, 0] - R[1, 1] + R[2, 2], 0.0))
        q = np.array([(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s, (R[1, 0] - R[0, 1]) / s])
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def yaw_to_quat_xyzw(yaw: float) -> np.ndarray:
    """Quaternion (x, y, z, w) of a rotation by ``yaw`` radians about +z (a heading in a z-up map)."""
    return np.array([0.0, 0.0, np.sin(0.5 * yaw), np.cos(0.5 * yaw)])


def quat_xyzw_to_yaw(q: np.ndarray) -> float:
    """Yaw about +z (radians) of a quaternion (x, y, z, w): the heading of the rotated +x axis."""
    x, y, z, w = (float(v) for v in np.asarray(q, dtype=np.float64).reshape(4))
    return float(np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))


def is_rotation(R: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether R is a finite 3×3 proper rotation: RᵀR = I and det R = +1 within tol."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        return False
    return bool(np.abs(R.T @ R - np.eye(3)).max() <= tol and abs(np.linalg.det(R) - 1.0) <= tol)


def pose_from_position_quat(position: np.ndarray, quat_xyzw: np.ndarray) -> np.ndarray:
    """4×4 pose from a translation (x, y, z) and an orientation quaternion (x, y, z, w)."""
    T = np.eye(4)
    T[:3, :3] = quat_xyzw_to_matrix(quat_xyzw)
    T[:3, 3] = np.asarray(position, dtype=np.float64).reshape(3)
    return T


def position_quat_from_pose(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translation (x, y, z) and quaternion (x, y, z, w) of a 4×4 pose; inverse of ``pose_from_position_quat``."""
    T = np.asarray(T, dtype=np.float64)
    return T[:3, 3].copy(), matrix_to_quat_xyzw(T[:3, :3])


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest 3×3 rotation taking direction a onto direction b (Rodrigues; a 180° turn picks any axis ⟂ a)."""
    a = np.asarray(a, dtype=np.float64) / np.linalg.norm(a)
    b = np.asarray(b, dtype=np.float64) / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        axis = np.cross(a, np.eye(3)[int(np.argmin(np.abs(a)))])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx * ((1.0 - c) / (s * s))


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4×4 transform to N×3 points."""
    T = np.asarray(T, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ T[:3, :3].T + T[:3, 3]


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two direction vectors."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def extrinsic_from_list(values: Sequence[float]) -> np.ndarray:
    """Parameter list → 4×4: 16 values (row-major matrix) or 7 values (x, y, z, qx, qy, qz, qw)."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 16:
        return v.reshape(4, 4)
    if v.size == 7:
        T = np.eye(4)
        T[:3, :3] = quat_xyzw_to_matrix(v[3:])
        T[:3, 3] = v[:3]
        return T
    raise ValueError(f"extrinsic needs 16 (matrix) or 7 (x y z qx qy qz qw) values, got {v.size}")
