"""Gravity alignment on synthetic scenes whose tilt and floor height are known."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.geometry.alignment import (
    Y_DOWN_TO_Z_UP,
    Y_UP_TO_Z_UP,
    backproject_with_normals,
    fit_floor,
    gravity_alignment,
)
from leovl_ros.geometry.transforms import angle_between_deg, is_rotation, quat_xyzw_to_matrix, transform_points


def _room(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """z-up points + normals: 4×4 m floor, a larger-sampled table top at 0.7 m, two walls, a few stray points."""
    def patch(n, x, y, z, normal):
        p = np.stack([rng.uniform(*x, n), rng.uniform(*y, n), rng.uniform(*z, n)], axis=1)
        nrm = np.tile(np.asarray(normal, float), (n, 1)) + rng.normal(0, 0.05, (n, 3))
        return p + rng.normal(0, 0.004, (n, 3)), nrm / np.linalg.norm(nrm, axis=1, keepdims=True)

    parts = [
        patch(3000, (0, 4), (0, 4), (0, 0), (0, 0, 1)),  # floor
        patch(5000, (1, 2.2), (1, 2.2), (0.7, 0.7), (0, 0, 1)),  # table top: more points than the floor
        patch(2000, (0, 0), (0, 4), (0, 2.5), (1, 0, 0)),  # wall
        patch(2000, (0, 4), (4, 4), (0, 2.5), (0, -1, 0)),  # wall
        patch(30, (1, 2), (1, 2), (-0.6, -0.4), (0, 0, 1)),  # stray reflections below the floor
    ]
    return np.concatenate([p for p, _ in parts]), np.concatenate([n for _, n in parts])


@pytest.mark.parametrize("use_normals", [True, False])
@pytest.mark.parametrize("base", ["y_down", "y_up"])
def test_recovers_tilt_and_floor_height(use_normals: bool, base: str) -> None:
    rng = np.random.default_rng(3)
    pts, nrm = _room(rng)
    tilt = quat_xyzw_to_matrix(np.array([np.sin(np.radians(4)), np.sin(np.radians(-3)), 0.1, 1.0]))
    base_R = Y_DOWN_TO_Z_UP if base == "y_down" else Y_UP_TO_Z_UP
    # Dataset world: z-up world tilted by a few degrees, shifted, then expressed in the dataset's axes.
    G = np.eye(4)
    G[:3, :3] = base_R.T @ tilt
    G[:3, 3] = base_R.T @ np.array([0.3, -0.2, -1.1])
    pts_ds, nrm_ds = transform_points(G, pts), nrm @ G[:3, :3].T
    up_hint = base_R.T @ np.array([0.0, 0.0, 1.0])
    fit = fit_floor(pts_ds, nrm_ds if use_normals else None, up_hint, base_R)
    assert fit.found
    T = fit.transform
    assert is_rotation(T[:3, :3], 1e-9)
    # The composite true-world → aligned-world map must keep z: a yaw plus an xy shift at most.
    C = T @ G
    assert angle_between_deg(C[:3, :3] @ [0, 0, 1], [0, 0, 1]) < 0.3
    assert abs(C[2, 3]) < 0.01
    aligned = transform_points(T, pts_ds)
    assert np.abs(aligned[:3000, 2]).max() < 0.03  # floor at z = 0
    assert np.median(aligned[3000:8000, 2]) == pytest.approx(0.7, abs=0.01)  # table stays above
    assert fit.correction_deg == pytest.approx(angle_between_deg(tilt @ [0, 0, 1], [0, 0, 1]), abs=0.3)
    assert fit.below_fraction < 0.01
    assert np.abs(fit.floor_points[:, 2]).max() < 0.03 and len(fit.floor_points) > 2000
    assert np.allclose(gravity_alignment(pts_ds, up_hint, nrm_ds if use_normals else None, base_R), T)


def test_without_a_horizontal_surface_keeps_fixed_rotation() -> None:
    rng = np.random.default_rng(0)
    pts = np.stack([np.zeros(500), rng.uniform(0, 3, 500), rng.uniform(0, 2, 500)], axis=1)
    nrm = np.tile([1.0, 0.0, 0.0], (500, 1))
    fit = fit_floor(pts, nrm, np.array([0.0, 0.0, 1.0]))
    assert not fit.found
    assert np.allclose(fit.transform, np.eye(4))


def test_backprojection_of_a_floor_seen_from_above() -> None:
    """A camera 1.5 m above a floor, looking down 30°: every back-projected point lies on z = 0, normals +z."""
    K = np.array([[500.0, 0, 159.5], [0, 500.0, 119.5], [0, 0, 1]])
    pitch = np.radians(30)
    # Optical axes in a z-up world: x right, y down, z forward (forward = +x tilted down by 30°).
    fwd = np.array([np.cos(pitch), 0.0, -np.sin(pitch)])
    right = np.array([0.0, -1.0, 0.0])
    down = np.cross(fwd, right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, fwd], axis=1)
    pose[:3, 3] = [0, 0, 1.5]
    v, u = np.mgrid[0:240, 0:320].astype(float)
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1) @ pose[:3, :3].T
    with np.errstate(divide="ignore"):
        depth = np.where(rays[..., 2] < -1e-3, -1.5 / rays[..., 2], 0.0).astype(np.float32)
    depth[depth > 20] = 0
    p, n = backproject_with_normals(depth, K, pose, stride=2, max_depth=20.0)
    assert len(p) > 5000
    assert np.abs(p[:, 2]).max() < 1e-3
    assert np.all(n[:, 2] > 0.999)
