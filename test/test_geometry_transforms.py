"""Quaternion / matrix / pose helpers: round trips and rotation checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leovl_ros.geometry.transforms import (
    angle_between_deg,
    is_rotation,
    matrix_to_quat_xyzw,
    pose_from_position_quat,
    position_quat_from_pose,
    quat_xyzw_to_matrix,
    rotation_between,
    transform_points,
)

finite = st.floats(-1.0, 1.0, allow_nan=False)
quats = st.tuples(finite, finite, finite, finite).map(np.array).filter(lambda q: np.linalg.norm(q) > 1e-3)
vectors = st.tuples(finite, finite, finite).map(np.array).filter(lambda v: np.linalg.norm(v) > 1e-3)


@settings(max_examples=300, deadline=None)
@given(quats)
def test_quaternion_matrix_round_trip(q: np.ndarray) -> None:
    R = quat_xyzw_to_matrix(q)
    assert is_rotation(R, 1e-9)
    q2 = matrix_to_quat_xyzw(R)
    qn = q / np.linalg.norm(q)
    assert q2[3] >= 0
    assert np.allclose(q2, qn, atol=1e-9) or np.allclose(q2, -qn, atol=1e-9)
    assert np.allclose(quat_xyzw_to_matrix(q2), R, atol=1e-12)


def test_known_rotations() -> None:
    # 90° about z, as ROS writes it: (0, 0, sin 45°, cos 45°).
    R = quat_xyzw_to_matrix(np.array([0.0, 0.0, np.sqrt(0.5), np.sqrt(0.5)]))
    assert np.allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    # 180° about x: the w ≈ 0 branch of the matrix → quaternion conversion.
    q = matrix_to_quat_xyzw(np.diag([1.0, -1.0, -1.0]))
    assert np.allclose(np.abs(q), [1.0, 0.0, 0.0, 0.0])
    assert np.allclose(matrix_to_quat_xyzw(np.eye(3)), [0.0, 0.0, 0.0, 1.0])


def test_is_rotation_rejects_non_rotations() -> None:
    assert is_rotation(np.eye(3))
    assert not is_rotation(np.diag([1.0, 1.0, -1.0]))  # reflection
    assert not is_rotation(2.0 * np.eye(3))
    assert not is_rotation(np.full((3, 3), np.nan))
    assert not is_rotation(np.eye(4))
    R = quat_xyzw_to_matrix(np.array([0.1, 0.2, 0.3, 0.9]))
    assert not is_rotation(R + 1e-3, tol=1e-6)
    assert is_rotation(R + 1e-9, tol=1e-6)


def test_zero_quaternion_is_an_error() -> None:
    with pytest.raises(ValueError):
        quat_xyzw_to_matrix(np.zeros(4))


@settings(max_examples=100, deadline=None)
@given(quats, vectors)
def test_pose_round_trip(q: np.ndarray, t: np.ndarray) -> None:
    T = pose_from_position_quat(t, q)
    assert np.allclose(T[3], [0, 0, 0, 1]) and np.allclose(T[:3, 3], t)
    p, q2 = position_quat_from_pose(T)
    assert np.allclose(pose_from_position_quat(p, q2), T, atol=1e-12)
    pts = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    assert np.allclose(transform_points(T, pts), pts @ T[:3, :3].T + t)


@settings(max_examples=200, deadline=None)
@given(vectors, vectors)
def test_rotation_between_maps_a_onto_b(a: np.ndarray, b: np.ndarray) -> None:
    R = rotation_between(a, b)
    assert is_rotation(R, 1e-9)
    assert np.allclose(R @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-9)


def test_rotation_between_opposite_and_angle() -> None:
    a = np.array([0.0, 0.0, 1.0])
    R = rotation_between(a, -a)
    assert is_rotation(R) and np.allclose(R @ a, -a)
    assert angle_between_deg([1, 0, 0], [0, 1, 0]) == pytest.approx(90.0)
    assert angle_between_deg([1, 0, 0], [1, 0, 0]) == pytest.approx(0.0)
