"""Geometric relations behind the task answers: bearings, sectors, footprint gaps, viewpoints, rounding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leovl_ros.geometry.transforms import quat_xyzw_to_yaw, yaw_to_quat_xyzw
from leovl_ros.sim import spatial


@given(st.floats(-math.pi + 1e-6, math.pi))
def test_quaternion_roundtrip_and_unit(yaw: float) -> None:
    """yaw → xyzw → yaw is the identity and the quaternion is a unit rotation about z only."""
    q = yaw_to_quat_xyzw(yaw)
    assert np.isclose(np.linalg.norm(q), 1.0)
    assert q[0] == 0.0 and q[1] == 0.0
    assert math.isclose(math.cos(quat_xyzw_to_yaw(q) - yaw), 1.0, abs_tol=1e-9)


def test_quaternion_matches_rotation_matrix() -> None:
    """The quaternion's rotated +x axis is the heading vector (checked through the rotation matrix)."""
    yaw = 2.1
    x, y, z, w = yaw_to_quat_xyzw(yaw)
    r00 = 1 - 2 * (y * y + z * z)
    r10 = 2 * (x * y + z * w)
    assert np.allclose([r00, r10], spatial.heading(yaw))


@given(st.floats(-math.pi, math.pi), st.floats(-math.pi, math.pi), st.floats(0.5, 5.0))
def test_bearing_matches_cross_product(yaw: float, ang: float, r: float) -> None:
    """Positive bearing ⇔ positive z of facing × offset (left in a z-up frame)."""
    pos = np.array([1.0, 2.0])
    pt = pos + r * np.array([math.cos(ang), math.sin(ang)])
    f = spatial.heading(yaw)
    d = pt - pos
    cross = f[0] * d[1] - f[1] * d[0]
    b = spatial.bearing(pos, yaw, pt)
    if abs(cross) > 1e-6:
        assert (b > 0) == (cross > 0)
    assert math.isclose(math.cos(b), float(np.dot(f, d)) / r, abs_tol=1e-6)


def test_sector_and_side() -> None:
    """Agent at origin facing +y: +y is front, -x is left, +x is right, -y behind; borders are ambiguous."""
    pos, yaw = np.zeros(2), math.pi / 2
    assert spatial.sector(pos, yaw, np.array([0.0, 2.0])) == "front"
    assert spatial.sector(pos, yaw, np.array([-2.0, 0.1])) == "left"
    assert spatial.sector(pos, yaw, np.array([2.0, -0.1])) == "right"
    assert spatial.sector(pos, yaw, np.array([0.1, -2.0])) == "behind"
    assert spatial.sector(pos, yaw, np.array([1.0, 1.0])) is None
    assert spatial.side(pos, yaw, np.array([-1.0, 1.0])) == "left"
    assert spatial.side(pos, yaw, np.array([1.0, -1.0])) == "right"
    assert spatial.side(pos, yaw, np.array([0.0, 3.0])) is None


def test_gap_between_boxes() -> None:
    """Axis-aligned and rotated footprints: separated, touching and overlapping."""
    a = spatial.footprint(np.array([0.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), 0.0)
    b = spatial.footprint(np.array([3.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), 0.0)
    assert spatial.polygon_gap(a, b) == pytest.approx(2.0)
    c = spatial.footprint(np.array([1.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), 0.0)
    assert spatial.polygon_gap(a, c) == 0.0
    d = spatial.footprint(np.array([2.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0]), math.pi / 4)
    assert spatial.polygon_gap(a, d) == pytest.approx(1.5 - math.sqrt(0.5), abs=1e-9)


def test_viewpoint_left_right() -> None:
    """Viewer at the origin facing +x: a point with larger y is to the left."""
    v = np.zeros(2)
    assert spatial.viewpoint_left_right(v, 0.0, np.array([3.0, 1.0]), np.array([3.0, -1.0])) == "left"
    assert spatial.viewpoint_left_right(v, 0.0, np.array([3.0, -1.0]), np.array([3.0, 1.0])) == "right"
    assert spatial.viewpoint_left_right(v, 0.0, np.array([3.0, 0.1]), np.array([4.0, 0.0])) is None
    assert spatial.viewpoint_left_right(v, 0.0, np.array([-3.0, 1.0]), np.array([3.0, 0.0])) is None


def test_between_and_rounding() -> None:
    """'between' needs a point near the middle of the segment; rounding refuses values near x.25/x.75."""
    assert spatial.between(np.array([0.0, 0.0]), np.array([1.0, 0.2]), np.array([2.0, 0.0]))
    assert not spatial.between(np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([2.0, 0.0]))
    assert not spatial.between(np.array([0.0, 0.0]), np.array([2.5, 0.0]), np.array([2.0, 0.0]))
    assert spatial.round_half(1.6) == 1.5
    assert spatial.round_half(1.9) == 2.0
    assert spatial.round_half(1.74) is None


def test_unique_extreme_margin() -> None:
    """The winner must beat other classes by the margin; same-class ties are fine."""
    groups = {1: "chair", 2: "chair", 3: "table"}
    assert spatial.unique_extreme({1: 1.0, 2: 1.05, 3: 2.0}, groups, 0.3, largest=False) == 1
    assert spatial.unique_extreme({1: 1.0, 2: 3.0, 3: 1.1}, groups, 0.3, largest=False) is None
    assert spatial.unique_extreme({1: 1.0, 2: 3.0, 3: 1.1}, groups, 0.3, largest=True) == 2


def test_point_gap_rotated_box() -> None:
    """Point-to-footprint distance: 0 inside, edge and corner distances for a box rotated by 45°."""
    from types import SimpleNamespace

    box = SimpleNamespace(center=np.array([1.0, 1.0, 0.5]), size=np.array([2.0, 1.0, 1.0]), yaw=math.pi / 4)
    assert spatial.point_gap(np.array([1.2, 1.1]), box) == 0.0
    # Along the box's local +y axis (world direction (-1, 1)/√2), 1.5 m from the centre: 1.0 m past the edge.
    p = np.array([1.0, 1.0]) + 1.5 * np.array([-1.0, 1.0]) / math.sqrt(2)
    assert spatial.point_gap(p, box) == pytest.approx(1.0)
    corner = spatial.object_footprint(box)[2]
    far = corner + 0.3 * (corner - box.center[:2]) / np.linalg.norm(corner - box.center[:2])
    assert spatial.point_gap(far, box) == pytest.approx(0.3)
