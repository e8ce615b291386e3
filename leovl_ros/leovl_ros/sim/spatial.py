"""Geometric relations between ground-truth objects (z-up world): footprints, gaps, bearings, viewpoints.

Every relation the task generator asks about is computed here, in one place, so questions and tests use the
same definitions. Functions that can be ambiguous return ``None`` when a value lies within a margin of a
decision boundary: the generator skips such questions instead of teaching a coin flip.
"""

from __future__ import annotations

import math

import numpy as np

SECTORS: tuple[str, ...] = ("front", "left", "behind", "right")
"""Agent-relative directions, counter-clockwise from the facing direction (z up: +angle = left)."""


def footprint(center: np.ndarray, size: np.ndarray, yaw: float) -> np.ndarray:
    """Corners (4, 2) of an oriented box's floor footprint, counter-clockwise."""
    c, s = math.cos(yaw), math.sin(yaw)
    hx, hy = 0.5 * float(size[0]), 0.5 * float(size[1])
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.asarray(center, dtype=float)[:2]


def object_footprint(obj) -> np.ndarray:
    """Footprint corners (4, 2) of a ``SceneObject``."""
    return footprint(obj.center, obj.size, obj.yaw)


def top_z(obj) -> float:
    """Height of an object's top surface above the floor (metres)."""
    return float(obj.center[2] + 0.5 * obj.size[2])


def volume(obj) -> float:
    """Volume of an object's bounding box (m³), the measure behind 'bigger/smaller'."""
    return float(np.prod(obj.size))


def xy(obj_or_point) -> np.ndarray:
    """Floor-plane position (2,) of an object's centre or of a 2/3-vector."""
    p = obj_or_point.center if hasattr(obj_or_point, "center") else obj_or_point
    return np.asarray(p, dtype=float)[:2]


def centre_distance(a, b) -> float:
    """Horizontal (floor-plane) distance between two objects' centres or points, metres."""
    return float(np.linalg.norm(xy(a) - xy(b)))


def _polygons_overlap(p: np.ndarray, q: np.ndarray) -> bool:
    """Separating-axis test for two convex polygons (corners in order)."""
    for poly in (p, q):
        edges = np.roll(poly, -1, axis=0) - poly
        for nx, ny in np.stack([-edges[:, 1], edges[:, 0]], axis=1):
            pp = p @ (nx, ny)
            qq = q @ (nx, ny)
            if pp.max() < qq.min() or qq.max() < pp.min():
                return False
    return True


def _points_to_polygon_edges(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distances (P,) from each 2D point to the nearest edge of a polygon (its boundary, not its interior)."""
    a = poly[None, :, :]
    ab = np.roll(poly, -1, axis=0)[None, :, :] - a
    ap = pts[:, None, :] - a
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(ap - t[..., None] * ab, axis=-1).min(axis=1)


def polygon_gap(p: np.ndarray, q: np.ndarray) -> float:
    """Smallest distance between two convex polygons (0 when they overlap)."""
    if _polygons_overlap(p, q):
        return 0.0
    return float(min(_points_to_polygon_edges(p, q).min(), _points_to_polygon_edges(q, p).min()))


def gap(a, b) -> float:
    """Floor-plane gap between two objects' footprints (0 when they touch, overlap or stack)."""
    return polygon_gap(object_footprint(a), object_footprint(b))


def points_gap(points: np.ndarray, obj) -> np.ndarray:
    """Floor-plane distances (N,) from points (N, 2+) to an object's footprint rectangle (0 inside)."""
    c, s = math.cos(obj.yaw), math.sin(obj.yaw)
    rel = np.atleast_2d(np.asarray(points, dtype=float))[:, :2] - np.asarray(obj.center, dtype=float)[:2]
    local = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]], axis=1)
    outside = np.maximum(np.abs(local) - 0.5 * np.asarray(obj.size, dtype=float)[:2], 0.0)
    return np.linalg.norm(outside, axis=1)


def point_gap(point: np.ndarray, obj) -> float:
    """Floor-plane distance from a point to an object's footprint (0 inside)."""
    return float(points_gap(point, obj)[0])


def heading(yaw: float) -> np.ndarray:
    """Unit facing vector (2,) for a yaw about z (0 = +x, counter-clockwise)."""
    return np.array([math.cos(yaw), math.sin(yaw)])


def bearing(position: np.ndarray, yaw: float, point: np.ndarray) -> float:
    """Angle (rad, in (-pi, pi]) of ``point`` seen from an agent at ``position`` facing ``yaw``; + = left.

    Computed from the cross product (left/right) and dot product (front/back) of facing and offset.
    """
    f = heading(yaw)
    d = np.asarray(point, dtype=float)[:2] - np.asarray(position, dtype=float)[:2]
    cross = f[0] * d[1] - f[1] * d[0]
    return math.atan2(cross, float(np.dot(f, d)))


def side(position: np.ndarray, yaw: float, point: np.ndarray, margin_deg: float = 20.0) -> str | None:
    """'left' or 'right' of the agent, or None when the point is within ``margin_deg`` of straight ahead/behind."""
    a = math.degrees(bearing(position, yaw, point))
    if margin_deg <= a <= 180.0 - margin_deg:
        return "left"
    if -180.0 + margin_deg <= a <= -margin_deg:
        return "right"
    return None


def sector(position: np.ndarray, yaw: float, point: np.ndarray, margin_deg: float = 15.0) -> str | None:
    """One of ``SECTORS`` (90° wide each, front centred on the facing), or None within ``margin_deg`` of a border."""
    a = math.degrees(bearing(position, yaw, point))
    idx = int(math.floor((a + 45.0) / 90.0)) % 4
    centre = idx * 90.0 if idx < 3 else -90.0
    off = abs((a - centre + 180.0) % 360.0 - 180.0)
    if off > 45.0 - margin_deg:
        return None
    return SECTORS[idx]


def sector_offset(position: np.ndarray, yaw: float, point: np.ndarray, name: str) -> float:
    """Angle (degrees, 0-180) between a point's bearing and the centre direction of sector ``name``."""
    centre = {"front": 0.0, "left": 90.0, "behind": 180.0, "right": -90.0}[name]
    a = math.degrees(bearing(position, yaw, point))
    return abs((a - centre + 180.0) % 360.0 - 180.0)


def viewpoint_left_right(
    viewer: np.ndarray, yaw: float, a: np.ndarray, b: np.ndarray, margin: float = 0.3
) -> str | None:
    """Is ``a`` 'left' or 'right' of ``b`` for a viewer at ``viewer`` facing ``yaw``? None within ``margin`` metres.

    Uses the viewer's lateral axis: the offset a - b projected onto the viewer's left direction; both points must
    lie in front of the viewer.
    """
    f = heading(yaw)
    left = np.array([-f[1], f[0]])
    v = np.asarray(viewer, dtype=float)[:2]
    pa, pb = np.asarray(a, dtype=float)[:2], np.asarray(b, dtype=float)[:2]
    if np.dot(pa - v, f) <= 0.3 or np.dot(pb - v, f) <= 0.3:
        return None
    lateral = float(np.dot(pa - pb, left))
    if abs(lateral) < margin:
        return None
    return "left" if lateral > 0 else "right"


def between(a: np.ndarray, mid: np.ndarray, c: np.ndarray, max_offset: float = 0.5) -> bool:
    """Is ``mid`` between ``a`` and ``c`` on the floor plan (projects inside the middle 70 % of a-c, close to it)?"""
    pa, pm, pc = (np.asarray(p, dtype=float)[:2] for p in (a, mid, c))
    ac = pc - pa
    length2 = float(np.dot(ac, ac))
    if length2 < 1e-6:
        return False
    t = float(np.dot(pm - pa, ac)) / length2
    off = float(np.linalg.norm(pm - (pa + t * ac)))
    return 0.15 <= t <= 0.85 and off <= max_offset


def round_half(value: float, tolerance: float = 0.08) -> float | None:
    """``value`` rounded to the nearest 0.5, or None when it lies within ``tolerance`` of a rounding boundary."""
    frac = (value * 2.0) % 1.0
    if abs(frac - 0.5) < 2.0 * tolerance:
        return None
    return round(value * 2.0) / 2.0


def unique_extreme(values: dict[int, float], keys_to_group: dict[int, str], margin: float, largest: bool) -> int | None:
    """Id with the extreme value, or None unless every item of another group is worse by ``margin``.

    ``keys_to_group`` maps each id to its answer label (e.g. class): ties inside one group are harmless because
    the answer is the same.
    """
    if not values:
        return None
    sign = -1.0 if largest else 1.0
    order = sorted(values, key=lambda i: sign * values[i])
    best = order[0]
    for other in order[1:]:
        if keys_to_group[other] == keys_to_group[best]:
            continue
        if abs(values[other] - values[best]) < margin:
            return None
        break
    return best
