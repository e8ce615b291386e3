"""Object classes as box/cylinder primitives with class-typical proportions, and their triangle meshes.

Every layout is expressed in the object's local frame: origin at the centre of its oriented box of size
(W, D, H), x along the width, y from back (−D/2) to front (+D/2), z up. The support surfaces that other
objects may stand on come from the same proportions, so geometry and ground truth cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DARK = 0.6
"""Colour multiplier of secondary parts (legs, frames, stands): a darker shade of the object's colour."""

CYLINDER_SEGMENTS = 16
"""Facets of every cylinder."""


@dataclass(frozen=True)
class Part:
    """One primitive of an object, in the object's local frame."""

    shape: str
    """"box" or "cylinder" (a vertical cylinder whose diameter is size[0])."""
    center: tuple[float, float, float]
    """Centre of the primitive's bounding box, metres."""
    size: tuple[float, float, float]
    """Extent of the primitive's bounding box along local x, y, z, metres."""
    shade: float = 1.0
    """Multiplier applied to the object's colour for this part."""


@dataclass(frozen=True)
class Surface:
    """A horizontal rectangle of an object that other objects may stand on (local frame)."""

    z: float
    """Height of the surface above the object's bottom, metres."""
    x: tuple[float, float]
    """Local x range of the usable area."""
    y: tuple[float, float]
    """Local y range of the usable area."""


def _box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float, shade: float = 1.0) -> Part:
    """Box part from its local coordinate ranges."""
    return Part("box", ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2), (x1 - x0, y1 - y0, z1 - z0), shade)


def _cyl(x: float, y: float, diameter: float, z0: float, z1: float, shade: float = 1.0) -> Part:
    """Vertical cylinder part from its axis position, diameter and height range."""
    return Part("cylinder", (x, y, (z0 + z1) / 2), (diameter, diameter, z1 - z0), shade)


def _legs(w: float, d: float, z0: float, z1: float, leg: float, inset: float = 0.0) -> list[Part]:
    """Four dark square legs at the corners of a w×d rectangle."""
    xs = (-w / 2 + inset, w / 2 - inset - leg)
    ys = (-d / 2 + inset, d / 2 - inset - leg)
    return [_box(x, x + leg, y, y + leg, z0, z1, DARK) for x in xs for y in ys]


def chair_parts(w: float, d: float, h: float) -> list[Part]:
    """Seat on four legs with a backrest at the rear."""
    b, seat = -h / 2, 0.5 * h
    return [
        *_legs(w, d, b, b + seat - 0.05, 0.04),
        _box(-w / 2, w / 2, -d / 2, d / 2, b + seat - 0.05, b + seat),
        _box(-w / 2, w / 2, -d / 2, -d / 2 + 0.05, b + seat, h / 2),
    ]


def stool_parts(w: float, d: float, h: float) -> list[Part]:
    """Round seat on four legs."""
    b = -h / 2
    return [*_legs(0.8 * w, 0.8 * d, b, h / 2 - 0.05, 0.035), _cyl(0.0, 0.0, min(w, d), h / 2 - 0.05, h / 2)]


def table_parts(w: float, d: float, h: float) -> list[Part]:
    """Top slab on four legs."""
    b = -h / 2
    return [*_legs(w, d, b, h / 2 - 0.04, 0.06, inset=0.04), _box(-w / 2, w / 2, -d / 2, d / 2, h / 2 - 0.04, h / 2)]


def desk_parts(w: float, d: float, h: float) -> list[Part]:
    """Top, a drawer pedestal on the left, a side panel on the right and a modesty panel at the back."""
    b, top = -h / 2, h / 2 - 0.04
    ped = 0.35 * w
    return [
        _box(-w / 2, w / 2, -d / 2, d / 2, top, h / 2),
        _box(-w / 2, -w / 2 + ped, -d / 2, d / 2 - 0.02, b, top),
        _box(-w / 2 + ped / 2 - 0.06, -w / 2 + ped / 2 + 0.06, d / 2 - 0.02, d / 2, b + 0.6 * h, b + 0.63 * h, DARK),
        _box(w / 2 - 0.04, w / 2, -d / 2, d / 2, b, top, DARK),
        _box(-w / 2 + ped, w / 2 - 0.04, -d / 2, -d / 2 + 0.02, b + 0.3 * h, top, DARK),
    ]


def _sofa_dims(w: float, d: float, h: float) -> tuple[float, float, float]:
    """(arm width, back depth, seat height) of a sofa."""
    return 0.11 * w, 0.22 * d, 0.5 * h


def sofa_parts(w: float, d: float, h: float) -> list[Part]:
    """Seat block, backrest and two armrests."""
    arm, back, seat = _sofa_dims(w, d, h)
    b = -h / 2
    return [
        _box(-w / 2 + arm, w / 2 - arm, -d / 2 + back, d / 2, b, b + seat),
        _box(-w / 2, w / 2, -d / 2, -d / 2 + back, b, h / 2),
        _box(-w / 2, -w / 2 + arm, -d / 2 + back, d / 2, b, b + 0.72 * h, DARK),
        _box(w / 2 - arm, w / 2, -d / 2 + back, d / 2, b, b + 0.72 * h, DARK),
    ]


def _bed_dims(w: float, d: float, h: float) -> tuple[float, float]:
    """(headboard depth, mattress top height) of a bed."""
    return 0.06, 0.55 * h


def bed_parts(w: float, d: float, h: float) -> list[Part]:
    """Frame, mattress and a headboard at the rear."""
    head, mattress = _bed_dims(w, d, h)
    b = -h / 2
    return [
        _box(-w / 2, w / 2, -d / 2 + head, d / 2, b, b + 0.3 * h, DARK),
        _box(-w / 2 + 0.02, w / 2 - 0.02, -d / 2 + head, d / 2 - 0.02, b + 0.3 * h, b + mattress),
        _box(-w / 2, w / 2, -d / 2, -d / 2 + head, b, h / 2, DARK),
    ]


def cabinet_parts(w: float, d: float, h: float) -> list[Part]:
    """Body on a dark plinth with two door handles at the front."""
    b = -h / 2
    return [
        _box(-w / 2 + 0.03, w / 2 - 0.03, -d / 2 + 0.03, d / 2 - 0.05, b, b + 0.08, DARK),
        _box(-w / 2, w / 2, -d / 2, d / 2 - 0.02, b + 0.08, h / 2),
        _box(-0.08, -0.04, d / 2 - 0.02, d / 2, b + 0.55 * h, b + 0.75 * h, DARK),
        _box(0.04, 0.08, d / 2 - 0.02, d / 2, b + 0.55 * h, b + 0.75 * h, DARK),
    ]


def nightstand_parts(w: float, d: float, h: float) -> list[Part]:
    """Small body with one drawer handle."""
    b = -h / 2
    return [
        _box(-w / 2, w / 2, -d / 2, d / 2 - 0.02, b, h / 2),
        _box(-0.07, 0.07, d / 2 - 0.02, d / 2, b + 0.75 * h, b + 0.8 * h, DARK),
    ]


def shelf_parts(w: float, d: float, h: float) -> list[Part]:
    """Open bookshelf: two sides, a back panel, a top, a bottom and three inner planks."""
    b, t = -h / 2, 0.03
    parts = [
        _box(-w / 2, -w / 2 + t, -d / 2, d / 2, b, h / 2),
        _box(w / 2 - t, w / 2, -d / 2, d / 2, b, h / 2),
        _box(-w / 2 + t, w / 2 - t, -d / 2, -d / 2 + 0.015, b, h / 2, DARK),
    ]
    for frac in (0.0, 0.25, 0.5, 0.75):
        z = b + frac * (h - t)
        parts.append(_box(-w / 2 + t, w / 2 - t, -d / 2 + 0.015, d / 2, z, z + t))
    parts.append(_box(-w / 2 + t, w / 2 - t, -d / 2 + 0.015, d / 2, h / 2 - t, h / 2))
    return parts


def lamp_parts(w: float, d: float, h: float) -> list[Part]:
    """Round base, thin pole and a cylindrical shade on top."""
    b = -h / 2
    shade_h = 0.3 * h
    return [
        _cyl(0.0, 0.0, 0.6 * min(w, d), b, b + 0.04, DARK),
        _cyl(0.0, 0.0, 0.08 * min(w, d) + 0.015, b + 0.04, h / 2 - shade_h, DARK),
        _cyl(0.0, 0.0, min(w, d), h / 2 - shade_h, h / 2),
    ]


def _screen_parts(w: float, d: float, h: float, panel: float) -> list[Part]:
    """A panel of height panel·h on a neck and a foot (shared by tv and monitor)."""
    b = -h / 2
    return [
        _box(-w / 2, w / 2, -0.03, 0.03, h / 2 - panel * h, h / 2),
        _box(-w / 2 + 0.02, w / 2 - 0.02, 0.03, 0.035, h / 2 - panel * h + 0.02, h / 2 - 0.02, 0.8),
        _box(-0.03, 0.03, -0.05, -0.03, b + 0.02, h / 2 - panel * h + 0.05, DARK),
        _box(-0.25 * w, 0.25 * w, -d / 2, d / 2, b, b + 0.02, DARK),
    ]


def tv_parts(w: float, d: float, h: float) -> list[Part]:
    """Wide flat panel on a low stand."""
    return _screen_parts(w, d, h, 0.85)


def monitor_parts(w: float, d: float, h: float) -> list[Part]:
    """Flat panel on a taller neck."""
    return _screen_parts(w, d, h, 0.7)


def plant_parts(w: float, d: float, h: float) -> list[Part]:
    """Pot with foliage: a wide body and a narrower crown."""
    b = -h / 2
    m = min(w, d)
    return [
        _cyl(0.0, 0.0, 0.55 * m, b, b + 0.35 * h, DARK),
        _cyl(0.0, 0.0, m, b + 0.35 * h, b + 0.8 * h),
        _cyl(0.0, 0.0, 0.6 * m, b + 0.8 * h, h / 2),
    ]


def box_parts(w: float, d: float, h: float) -> list[Part]:
    """Cardboard-style box with a darker tape strip across the lid."""
    return [
        _box(-w / 2, w / 2, -d / 2, d / 2, -h / 2, h / 2 - 0.005),
        _box(-0.04, 0.04, -d / 2, d / 2, h / 2 - 0.005, h / 2, DARK),
    ]


def trash_can_parts(w: float, d: float, h: float) -> list[Part]:
    """Cylindrical bin with a dark rim."""
    m = min(w, d)
    return [_cyl(0.0, 0.0, 0.94 * m, -h / 2, h / 2 - 0.03), _cyl(0.0, 0.0, m, h / 2 - 0.03, h / 2, DARK)]


def pillow_parts(w: float, d: float, h: float) -> list[Part]:
    """Flat cushion: a full-size core with a thinner border."""
    return [
        _box(-w / 2, w / 2, -d / 2, d / 2, -h / 4, h / 4, 0.9),
        _box(-w / 2 + 0.04, w / 2 - 0.04, -d / 2 + 0.04, d / 2 - 0.04, -h / 2, h / 2),
    ]


def toilet_parts(w: float, d: float, h: float) -> list[Part]:
    """Pedestal, round bowl with a lid, and a cistern at the rear."""
    b = -h / 2
    tank = 0.25 * d
    bowl = min(w, d - tank)
    yb = -d / 2 + tank + bowl / 2
    return [
        _box(-0.3 * w, 0.3 * w, -d / 2 + tank, yb + 0.2 * bowl, b, b + 0.25 * h, DARK),
        _cyl(0.0, yb, bowl, b + 0.25 * h, b + 0.5 * h),
        _cyl(0.0, yb, 0.95 * bowl, b + 0.5 * h, b + 0.53 * h, 0.9),
        _box(-w / 2, w / 2, -d / 2, -d / 2 + tank, b + 0.45 * h, h / 2),
    ]


PART_BUILDERS: dict[str, Callable[[float, float, float], list[Part]]] = {
    "chair": chair_parts,
    "table": table_parts,
    "sofa": sofa_parts,
    "bed": bed_parts,
    "cabinet": cabinet_parts,
    "shelf": shelf_parts,
    "desk": desk_parts,
    "lamp": lamp_parts,
    "tv": tv_parts,
    "plant": plant_parts,
    "box": box_parts,
    "trash can": trash_can_parts,
    "monitor": monitor_parts,
    "pillow": pillow_parts,
    "toilet": toilet_parts,
    "stool": stool_parts,
    "nightstand": nightstand_parts,
}
"""Part layout of every class, called with the object's (W, D, H)."""


def support_surface(cls: str, size: np.ndarray) -> Surface | None:
    """The area of an object of this class and size that others may stand on, or None."""
    w, d, h = (float(v) for v in size)
    if cls in ("table", "desk", "cabinet", "nightstand", "shelf"):
        return Surface(h, (-w / 2, w / 2), (-d / 2, d / 2))
    if cls == "sofa":
        arm, back, seat = _sofa_dims(w, d, h)
        return Surface(seat, (-w / 2 + arm, w / 2 - arm), (-d / 2 + back, d / 2))
    if cls == "bed":
        head, mattress = _bed_dims(w, d, h)
        return Surface(mattress, (-w / 2 + 0.02, w / 2 - 0.02), (-d / 2 + head, d / 2 - 0.02))
    return None


def box_mesh(center: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(8, 3) vertices and (12, 3) outward-wound triangles of an axis-aligned box."""
    lo = np.asarray(center, dtype=np.float64) - np.asarray(size, dtype=np.float64) / 2
    corners = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=np.float64)
    vertices = lo + corners * np.asarray(size, dtype=np.float64)
    faces = np.array(
        [
            [0, 2, 1], [1, 2, 3],  # z min
            [4, 5, 6], [5, 7, 6],  # z max
            [0, 1, 4], [1, 5, 4],  # y min
            [2, 6, 3], [3, 6, 7],  # y max
            [0, 4, 2], [2, 4, 6],  # x min
            [1, 3, 5], [3, 7, 5],  # x max
        ],
        dtype=np.int64,
    )
    return vertices, faces


def cylinder_mesh(center: np.ndarray, diameter: float, height: float,
                  segments: int = CYLINDER_SEGMENTS) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of a closed vertical cylinder (side quads and fan caps)."""
    a = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(a), np.sin(a)], axis=1) * diameter / 2
    c = np.asarray(center, dtype=np.float64)
    z0, z1 = c[2] - height / 2, c[2] + height / 2
    bottom = np.column_stack([ring + c[:2], np.full(segments, z0)])
    top = np.column_stack([ring + c[:2], np.full(segments, z1)])
    vertices = np.vstack([bottom, top, [[c[0], c[1], z0], [c[0], c[1], z1]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    side = np.concatenate([np.stack([i, j, segments + i], 1), np.stack([j, segments + j, segments + i], 1)])
    caps = np.concatenate([
        np.stack([np.full(segments, 2 * segments), j, i], 1),
        np.stack([np.full(segments, 2 * segments + 1), segments + i, segments + j], 1),
    ])
    return vertices, np.concatenate([side, caps]).astype(np.int64)


def part_mesh(part: Part) -> tuple[np.ndarray, np.ndarray]:
    """Triangle mesh of one part in the object's local frame."""
    if part.shape == "box":
        return box_mesh(np.array(part.center), np.array(part.size))
    if part.shape == "cylinder":
        return cylinder_mesh(np.array(part.center), part.size[0], part.size[2])
    raise ValueError(f"unknown primitive shape {part.shape!r}")


def object_mesh(cls: str, size: np.ndarray, center: np.ndarray,
                yaw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World vertices, triangles and per-triangle colour multipliers of one object."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    verts, tris, shades, offset = [], [], [], 0
    for part in PART_BUILDERS[cls](*(float(v) for v in size)):
        v, t = part_mesh(part)
        verts.append(v @ rot.T + np.asarray(center, dtype=np.float64))
        tris.append(t + offset)
        shades.append(np.full(len(t), part.shade))
        offset += len(v)
    return np.vstack(verts), np.vstack(tris), np.concatenate(shades)


def parts_within_box(cls: str, size: np.ndarray, tol: float = 1e-9) -> bool:
    """Whether every part of the layout lies inside the object's box (a check on the layouts above)."""
    half = np.asarray(size, dtype=np.float64) / 2
    for part in PART_BUILDERS[cls](*(float(v) for v in size)):
        lo = np.array(part.center) - np.array(part.size) / 2
        hi = np.array(part.center) + np.array(part.size) / 2
        if (lo < -half - tol).any() or (hi > half + tol).any() or (np.array(part.size) <= 0).any():
            return False
    return True
