"""Gravity alignment: a dataset's fixed up-convention rotation refined by a floor fit (floor → z = 0, normal → +z)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from leovl_ros.geometry.frame import Frame, valid_depth_mask
from leovl_ros.geometry.transforms import angle_between_deg, rotation_between

LOG = logging.getLogger(__name__)

Z_UP = np.array([0.0, 0.0, 1.0])

Y_DOWN_TO_Z_UP = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
"""Optical-style world (x right, y down, z forward) → REP 103 (x forward, y left, z up); Redwood/Open3D logs."""

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""y-up world (3DMatch / SUN3D) → z up, a +90° turn about x."""


@dataclass
class FloorFitConfig:
    """Parameters of the floor fit that refines a dataset's fixed up rotation."""

    n_frames: int = 12
    """Frames sampled evenly from a sequence for the fit."""
    stride: int = 4
    """Pixel step when back-projecting depth (4 → 160×120 points from a 640×480 frame)."""
    min_depth: float = 0.1
    """Nearest depth used, metres."""
    max_depth: float = 5.0
    """Farthest depth used, metres (far depth is noisy and its normals poor)."""
    max_tilt_deg: float = 35.0
    """Largest angle between the dataset's up hint and true up that the fit recovers."""
    horizontal_deg: float = 12.0
    """Normal tolerance around the estimated up for a point to count as lying on a horizontal surface."""
    bin_size: float = 0.02
    """Height histogram bin, metres, used to find the lowest large horizontal layer."""
    min_layer_fraction: float = 0.05
    """Share of horizontal points a height layer must hold to count as a large plane (rejects stray points)."""
    slab: float = 0.10
    """Half-thickness of the height slab around the lowest layer in which RANSAC looks for the floor, metres."""
    inlier_threshold: float = 0.02
    """RANSAC / refinement inlier distance to the plane, metres."""
    ransac_iterations: int = 300
    """RANSAC plane hypotheses."""
    seed: int = 0
    """Random seed of the RANSAC sampling (the fit is deterministic)."""


@dataclass
class FloorFit:
    """Result of a floor fit: the 4×4 alignment and what it was computed from (for checks and reports)."""

    transform: np.ndarray
    """4×4 dataset-world → REP 103 world (floor at z = 0, floor normal = +z)."""
    found: bool
    """False where no large horizontal layer was seen; ``transform`` is then the fixed rotation only."""
    floor_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    """N×3 points the fit calls floor, in the aligned world."""
    correction_deg: float = 0.0
    """Angle between the fixed rotation's up and the fitted floor normal (how far the dataset was tilted)."""
    rmse: float = 0.0
    """RMS distance of the floor points to the fitted plane, metres."""
    below_fraction: float = 0.0
    """Share of all sampled points more than 5 cm below the floor after alignment (should be ~0)."""
    n_points: int = 0
    """Points the fit sampled."""


def camera_grid(
    depth: np.ndarray, K: np.ndarray, stride: int = 4, min_depth: float = 0.0, max_depth: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame points [h, w, 3] of a strided depth image and the mask of valid (finite, in-range) depth."""
    d = np.asarray(depth, dtype=np.float64)[::stride, ::stride]
    h, w = d.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64) * stride
    valid = valid_depth_mask(d, min_depth, max_depth)
    z = np.where(valid, d, 0.0)
    return np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=-1), valid


def backproject(
    depth: np.ndarray, K: np.ndarray, pose: np.ndarray, stride: int = 4, min_depth: float = 0.0,
    max_depth: float = np.inf,
) -> np.ndarray:
    """World points [N, 3] of the valid pixels of a strided depth image."""
    P, valid = camera_grid(depth, K, stride, min_depth, max_depth)
    return P[valid] @ pose[:3, :3].T + pose[:3, 3]


def backproject_with_normals(
    depth: np.ndarray, K: np.ndarray, pose: np.ndarray, stride: int = 4, min_depth: float = 0.1,
    max_depth: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """World points and camera-facing unit normals (from image-grid neighbours) of a strided depth image."""
    P, valid = camera_grid(depth, K, stride, min_depth, max_depth)
    z = P[..., 2]
    tx = P[:-1, 1:] - P[:-1, :-1]
    ty = P[1:, :-1] - P[:-1, :-1]
    n = np.cross(tx, ty)
    zc = z[:-1, :-1]
    ok = valid[:-1, :-1] & valid[:-1, 1:] & valid[1:, :-1]
    ok &= np.abs(z[:-1, 1:] - zc) < 0.05 * zc + 0.01
    ok &= np.abs(z[1:, :-1] - zc) < 0.05 * zc + 0.01
    norm = np.linalg.norm(n, axis=-1)
    ok &= norm > 1e-12
    p, n = P[:-1, :-1][ok], n[ok] / norm[ok][:, None]
    n[np.einsum("ij,ij->i", n, p) > 0] *= -1.0
    R, t = pose[:3, :3], pose[:3, 3]
    return p @ R.T + t, n @ R.T


def _normals_from_neighbours(points: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Unit normals from local neighbourhoods (Open3D), oriented toward ``up`` (used when the caller has none)."""
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=0.1, max_nn=30))
    n = np.asarray(cloud.normals)
    n[n @ up < 0] *= -1.0
    return n


def _refine_up(normals: np.ndarray, config: FloorFitConfig) -> np.ndarray:
    """Dominant up direction: mean of upward normals, re-estimated with a narrowing cone around +z."""
    up = Z_UP.copy()
    for cone in (config.max_tilt_deg, 2.0 * config.horizontal_deg, config.horizontal_deg):
        sel = normals @ up > np.cos(np.radians(cone))
        if sel.sum() < 3:
            break
        m = normals[sel].mean(axis=0)
        up = m / np.linalg.norm(m)
    return up


def _lowest_layer(heights: np.ndarray, config: FloorFitConfig) -> Optional[float]:
    """Height of the lowest histogram peak holding at least ``min_layer_fraction`` of the horizontal points."""
    lo, hi = float(heights.min()), float(heights.max())
    nbins = max(1, int(np.ceil((hi - lo) / config.bin_size)) + 1)
    counts = np.bincount(((heights - lo) / config.bin_size).astype(int), minlength=nbins).astype(np.float64)
    smooth = np.convolve(counts, np.ones(3), mode="same")
    large = np.flatnonzero(smooth >= config.min_layer_fraction * len(heights))
    if large.size == 0:
        return None
    i = int(large[0])
    while i + 1 < nbins and smooth[i + 1] >= smooth[i]:
        i += 1
    return lo + (i + 0.5) * config.bin_size


def _ransac_plane(
    pts: np.ndarray, up: np.ndarray, config: FloorFitConfig
) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Horizontal-ish plane with most inliers (RANSAC), refined by least squares: (unit normal toward up, centroid)."""
    if len(pts) < 3:
        return None
    rng = np.random.default_rng(config.seed)
    cos_tol = np.cos(np.radians(config.horizontal_deg))
    best, best_count = None, 0
    for _ in range(config.ransac_iterations):
        a, b, c = pts[rng.choice(len(pts), 3, replace=False)]
        n = np.cross(b - a, c - a)
        nn = np.linalg.norm(n)
        if nn < 1e-12:
            continue
        n /= nn
        if n @ up < 0:
            n = -n
        if n @ up < cos_tol:
            continue
        count = int((np.abs((pts - a) @ n) < config.inlier_threshold).sum())
        if count > best_count:
            best, best_count = (n, a), count
    if best is None:
        return None
    n, p0 = best
    for _ in range(3):
        inl = pts[np.abs((pts - p0) @ n) < config.inlier_threshold]
        if len(inl) < 3:
            break
        p0 = inl.mean(axis=0)
        n = np.linalg.svd(inl - p0, full_matrices=False)[2][2]
        if n @ up < 0:
            n = -n
    return n, p0


def fit_floor(
    points: np.ndarray,
    normals: Optional[np.ndarray],
    up_hint: np.ndarray,
    base_rotation: Optional[np.ndarray] = None,
    config: Optional[FloorFitConfig] = None,
) -> FloorFit:
    """Fit the lowest large horizontal plane and return the alignment putting it at z = 0 with normal +z.

    ``base_rotation`` is the dataset's fixed rotation to z up (default: the smallest rotation taking
    ``up_hint`` to +z); the floor fit then removes the remaining tilt without changing the heading.
    """
    config = config or FloorFitConfig()
    up_hint = np.asarray(up_hint, dtype=np.float64) / np.linalg.norm(up_hint)
    R0 = rotation_between(up_hint, Z_UP) if base_rotation is None else np.asarray(base_rotation, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    T = np.eye(4)
    T[:3, :3] = R0
    if normals is None:
        normals = _normals_from_neighbours(points, up_hint)
    P = points @ R0.T
    N = np.asarray(normals, dtype=np.float64) @ R0.T
    up = _refine_up(N, config)
    horizontal = N @ up > np.cos(np.radians(config.horizontal_deg))
    layer = _lowest_layer(P[horizontal] @ up, config) if horizontal.sum() >= 3 else None
    plane = None
    if layer is not None:
        cand = P[horizontal & (np.abs(P @ up - layer) < config.slab)]
        plane = _ransac_plane(cand, up, config)
    if plane is None:
        LOG.warning("no floor found among %d points: using the fixed up rotation only", len(P))
        return FloorFit(transform=T, found=False, n_points=len(P))
    n, p0 = plane
    R1 = rotation_between(n, Z_UP)
    T[:3, :3] = R1 @ R0
    T[2, 3] = -float((R1 @ p0)[2])
    dist = (P - p0) @ n
    floor = P[horizontal & (np.abs(dist) < config.inlier_threshold)]
    return FloorFit(
        transform=T,
        found=True,
        floor_points=floor @ R1.T + T[:3, 3],
        correction_deg=angle_between_deg(n, Z_UP),
        rmse=float(np.sqrt(np.mean(dist[np.abs(dist) < config.inlier_threshold] ** 2))),
        below_fraction=float(np.mean(dist < -0.05)),
        n_points=len(P),
    )


def gravity_alignment(points_world: np.ndarray, up_hint: np.ndarray, normals: Optional[np.ndarray] = None,
                      base_rotation: Optional[np.ndarray] = None, config: Optional[FloorFitConfig] = None
                      ) -> np.ndarray:
    """4×4 taking the floor normal to +z and the floor to z = 0 (see ``fit_floor``)."""
    return fit_floor(points_world, normals, up_hint, base_rotation, config).transform


def sample_points(frames: Sequence[Frame], config: FloorFitConfig) -> tuple[np.ndarray, np.ndarray]:
    """Back-projected points and normals from ``config.n_frames`` frames spread evenly over a sequence."""
    idx = np.unique(np.linspace(0, len(frames) - 1, min(config.n_frames, len(frames))).round().astype(int))
    pts, nrm = [], []
    for i in idx:
        f = frames[int(i)]
        p, n = backproject_with_normals(f.depth, f.K, f.pose, config.stride, config.min_depth, config.max_depth)
        pts.append(p)
        nrm.append(n)
    return np.concatenate(pts), np.concatenate(nrm)


def estimate_alignment(
    frames: Sequence[Frame], up_hint: np.ndarray, base_rotation: Optional[np.ndarray] = None,
    config: Optional[FloorFitConfig] = None,
) -> FloorFit:
    """Floor-fit alignment of a posed sequence (frames in the dataset's own world) from a few sampled frames."""
    config = config or FloorFitConfig()
    if len(frames) == 0:
        raise ValueError("cannot estimate the floor of an empty sequence")
    points, normals = sample_points(frames, config)
    return fit_floor(points, normals, up_hint, base_rotation, config)
