"""The synthetic world's data model: rooms with doors and windows, objects as oriented boxes, and scenes.

Rooms are rectangles with the floor corner at the origin, x along the first side, y along the second and z up
(REP 103). Each object is an oriented 3D box (centre, size (W, D, H) in its own frame, yaw about z) whose front
faces local +y; it stands on the floor or on the support surface of another object (``support``). Scenes are made
by :mod:`leovl_ros.sim.furnish` and round-trip through JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leovl_ros.sim.freespace import Footprint
from leovl_ros.sim.meshes import support_surface as _class_surface

CLASSES: tuple[str, ...] = (
    "chair", "table", "sofa", "bed", "cabinet", "shelf", "desk", "lamp", "tv", "plant",
    "box", "trash can", "monitor", "pillow", "toilet", "stool", "nightstand",
)
"""Object classes of the synthetic world."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 30, 30),
    "green": (40, 160, 50),
    "blue": (30, 70, 210),
    "yellow": (235, 210, 40),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "brown": (120, 70, 30),
    "gray": (110, 110, 110),
    "orange": (245, 130, 20),
    "purple": (130, 50, 170),
}
"""Named object colours (RGB 0–255), far apart so a fused colour maps back to its name."""


def nearest_colour(rgb: np.ndarray, min_brightness: float = 0.45) -> str:
    """Name of the colour whose RGB, dimmed by any factor in [min_brightness, 1] (shading), is closest to rgb."""
    base = np.array(list(COLOURS.values()), dtype=np.float64)
    rgb = np.asarray(rgb, dtype=np.float64).reshape(3)
    k = np.clip(base @ rgb / np.einsum("ij,ij->i", base, base), min_brightness, 1.0)
    return list(COLOURS)[int(np.argmin(np.linalg.norm(k[:, None] * base - rgb, axis=1)))]


NO_HIT = -1
"""Instance id of pixels whose ray hits nothing (depth 0)."""
FLOOR_ID = -2
"""Instance id of the floor."""
WALL_ID = -3
"""Instance id of the walls."""
CEILING_ID = -4
"""Instance id of the ceiling (only when the room has one)."""

WALLS = ("south", "east", "north", "west")
"""Wall names by index: 0 at y = 0, 1 at x = Lx, 2 at y = Ly, 3 at x = 0."""


@dataclass
class Opening:
    """A door (gap down to the floor) or a window (hole above a sill) in one wall."""

    kind: str
    """"door" or "window"."""
    wall: int
    """Wall index (see WALLS)."""
    center: float
    """Position of the opening's centre along the wall (x for walls 0/2, y for walls 1/3), metres."""
    width: float
    """Horizontal extent, metres."""
    bottom: float
    """Lower edge height (0 for doors), metres."""
    top: float
    """Upper edge height, metres."""

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"kind": self.kind, "wall": self.wall, "center": self.center, "width": self.width,
                "bottom": self.bottom, "top": self.top}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Opening:
        """Inverse of to_json."""
        return cls(str(d["kind"]), int(d["wall"]), float(d["center"]), float(d["width"]), float(d["bottom"]),
                   float(d["top"]))


@dataclass
class Room:
    """A rectangular room with its floor corner at the origin."""

    size: np.ndarray
    """(2,) x and y extent, metres."""
    height: float
    """Wall height, metres."""
    openings: list[Opening] = field(default_factory=list)
    """Doors and windows."""
    kind: str = "studio"
    """Room kind (see ROOM_KINDS)."""
    floor_rgb: tuple[int, int, int] = (150, 120, 90)
    """Base floor colour."""
    wall_rgb: tuple[int, int, int] = (225, 220, 205)
    """Wall colour."""
    floor_tile: float = 0.5
    """Edge of the floor's tile pattern, metres."""
    ceiling: bool = False
    """Whether the room is closed by a ceiling."""
    wall_thickness: float = 0.1
    """Walls extend this far outside the room rectangle, metres."""

    def __post_init__(self) -> None:
        self.size = np.asarray(self.size, dtype=np.float64).reshape(2)

    def wall_length(self, wall: int) -> float:
        """Length of a wall along its own axis."""
        return float(self.size[0] if wall in (0, 2) else self.size[1])

    def wall_point(self, wall: int, along: float, inward: float = 0.0) -> np.ndarray:
        """World xy of a point `along` a wall and `inward` from it into the room."""
        lx, ly = self.size
        return {
            0: np.array([along, inward]),
            1: np.array([lx - inward, along]),
            2: np.array([along, ly - inward]),
            3: np.array([inward, along]),
        }[wall]

    def contains(self, points: np.ndarray, tol: float = 1e-6) -> np.ndarray:
        """Whether (N, 3) world points lie inside the room volume."""
        p = np.atleast_2d(points)
        lo, hi = -tol, np.array([self.size[0], self.size[1], self.height]) + tol
        return ((p >= lo) & (p <= hi)).all(axis=1)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"size": self.size.tolist(), "height": self.height, "openings": [o.to_json() for o in self.openings],
                "kind": self.kind, "floor_rgb": list(self.floor_rgb), "wall_rgb": list(self.wall_rgb),
                "floor_tile": self.floor_tile, "ceiling": self.ceiling, "wall_thickness": self.wall_thickness}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Room:
        """Inverse of to_json."""
        return cls(size=np.array(d["size"], dtype=np.float64), height=float(d["height"]),
                   openings=[Opening.from_json(o) for o in d["openings"]], kind=str(d["kind"]),
                   floor_rgb=tuple(int(v) for v in d["floor_rgb"]), wall_rgb=tuple(int(v) for v in d["wall_rgb"]),
                   floor_tile=float(d["floor_tile"]), ceiling=bool(d["ceiling"]),
                   wall_thickness=float(d["wall_thickness"]))


@dataclass
class SceneObject:
    """One object: an oriented 3D box (world coordinates, z up) with a class, a colour and a support."""

    id: int
    """Instance id (≥ 0), also the per-pixel id in rendered frames."""
    cls: str
    """Class name from CLASSES."""
    colour: str
    """Colour name from COLOURS."""
    center: np.ndarray
    """(3,) box centre, metres."""
    size: np.ndarray
    """(3,) box extent (W along local x, D along local y, H along z), metres."""
    yaw: float
    """Rotation of local x from world x about z, radians; the front faces local +y."""
    support: int | None = None
    """Id of the object this one stands on; None = the floor."""

    def __post_init__(self) -> None:
        self.center = np.asarray(self.center, dtype=np.float64).reshape(3)
        self.size = np.asarray(self.size, dtype=np.float64).reshape(3)
        self.yaw = float(self.yaw)

    @property
    def bottom(self) -> float:
        """Height of the box's lowest face."""
        return float(self.center[2] - self.size[2] / 2)

    @property
    def top(self) -> float:
        """Height of the box's highest face."""
        return float(self.center[2] + self.size[2] / 2)

    @property
    def rgb(self) -> tuple[int, int, int]:
        """RGB of the object's colour name."""
        return COLOURS[self.colour]

    def rotation(self) -> np.ndarray:
        """3×3 rotation from the object frame to the world."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def front(self) -> np.ndarray:
        """Unit world vector the object's front faces (local +y)."""
        return self.rotation()[:, 1]

    def footprint(self) -> Footprint:
        """The box's shadow on the floor."""
        return Footprint(self.center[:2].copy(), self.size[:2] / 2, self.yaw)

    def corners(self) -> np.ndarray:
        """(8, 3) world corners of the box."""
        signs = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=np.float64) - 0.5
        return self.center + (signs * self.size) @ self.rotation().T

    def to_local(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points in the object's frame (origin at the box centre)."""
        return (np.atleast_2d(points) - self.center) @ self.rotation()

    def contains(self, points: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """Whether (N, 3) world points lie inside the box grown by tol."""
        return (np.abs(self.to_local(points)) <= self.size / 2 + tol).all(axis=1)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"id": self.id, "class": self.cls, "colour": self.colour, "center": self.center.tolist(),
                "size": self.size.tolist(), "yaw": self.yaw, "support": self.support}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SceneObject:
        """Inverse of to_json."""
        support = d.get("support")
        return cls(int(d["id"]), str(d["class"]), str(d["colour"]), np.array(d["center"]), np.array(d["size"]),
                   float(d["yaw"]), None if support is None else int(support))


@dataclass
class Scene:
    """A generated room, its objects and the seed that produced them."""

    seed: int
    """Generator seed."""
    room: Room
    """The room shell."""
    objects: list[SceneObject]
    """Objects, ids unique."""

    FORMAT = 1
    """Version of the JSON layout written by to_json."""

    def object_by_id(self, i: int) -> SceneObject:
        """The object with id i (KeyError if none)."""
        for obj in self.objects:
            if obj.id == i:
                return obj
        raise KeyError(f"no object with id {i} in scene {self.seed}")

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON ground truth."""
        return {"format": self.FORMAT, "seed": self.seed, "room": self.room.to_json(),
                "objects": [o.to_json() for o in self.objects]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scene:
        """Inverse of to_json (ValueError on an unknown format)."""
        if int(d.get("format", 0)) != cls.FORMAT:
            raise ValueError(f"scene JSON format {d.get('format')!r}, expected {cls.FORMAT}")
        return cls(int(d["seed"]), Room.from_json(d["room"]), [SceneObject.from_json(o) for o in d["objects"]])

    def save(self, path: str | Path) -> None:
        """Write the ground truth as JSON."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Scene:
        """Read ground truth written by save."""
        return cls.from_json(json.loads(Path(path).read_text()))


def support_surface(obj: SceneObject) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(world height, local xy lower corner, local xy upper corner) of the area others may stand on, or None."""
    surface = _class_surface(obj.cls, obj.size)
    if surface is None:
        return None
    lo = np.array([surface.x[0], surface.y[0]])
    hi = np.array([surface.x[1], surface.y[1]])
    return obj.bottom + surface.z, lo, hi


def boxes_overlap(a: SceneObject, b: SceneObject, margin: float = 0.0) -> bool:
    """Whether two oriented boxes come closer than margin (separating-axis test on z and the footprints)."""
    if a.bottom >= b.top + margin or b.bottom >= a.top + margin:
        return False
    ra, rb = a.rotation()[:2, :2], b.rotation()[:2, :2]
    ha, hb = a.size[:2] / 2 + margin / 2, b.size[:2] / 2 + margin / 2
    delta = b.center[:2] - a.center[:2]
    for axis in (ra[:, 0], ra[:, 1], rb[:, 0], rb[:, 1]):
        reach = np.abs(ra.T @ axis) @ ha + np.abs(rb.T @ axis) @ hb
        if abs(delta @ axis) >= reach:
            return False
    return True
