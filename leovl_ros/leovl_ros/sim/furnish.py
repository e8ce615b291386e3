"""The furnisher: procedural rooms with doors and windows, furniture placed by class rules, deterministic in the seed.

A scene is fully determined by its seed (and config): a room shell (size, colours, openings), then the room kind's
core classes and weighted draws, each placed against a wall, beside a partner, free-standing or on another
object's support surface, never intersecting anything else and keeping a connected free area for the robot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leovl_ros.sim.freespace import FreeGrid
from leovl_ros.sim.scene import (
    CLASSES,
    COLOURS,
    Opening,
    Room,
    Scene,
    SceneObject,
    boxes_overlap,
    support_surface,
)


@dataclass(frozen=True)
class ClassSpec:
    """How a class is sized, placed and coloured."""

    size: tuple[float, float, float] | None
    """Nominal (W, D, H) when standing on the floor; None if it never does."""
    on_size: tuple[float, float, float] | None = None
    """Nominal (W, D, H) when standing on another object; None if it never does."""
    placement: str = "free"
    """"wall" (back against a wall, facing the room) or "free" (anywhere with clearance)."""
    supports: tuple[str, ...] = ()
    """Classes it may stand on."""
    max_count: int = 2
    """Most instances per room."""
    round: bool = False
    """Circular footprint (W = D)."""
    colours: tuple[str, ...] | None = None
    """Allowed colour names; None = all."""


CLASS_SPECS: dict[str, ClassSpec] = {
    "chair": ClassSpec((0.46, 0.50, 0.90), max_count=4),
    "stool": ClassSpec((0.36, 0.36, 0.55), max_count=3, round=True),
    "table": ClassSpec((1.20, 0.80, 0.75)),
    "desk": ClassSpec((1.30, 0.65, 0.75), placement="wall"),
    "sofa": ClassSpec((1.90, 0.90, 0.85), placement="wall", max_count=1),
    "bed": ClassSpec((1.50, 2.00, 1.00), placement="wall", max_count=1),
    "cabinet": ClassSpec((0.90, 0.45, 0.90), placement="wall"),
    "shelf": ClassSpec((0.90, 0.35, 1.80), placement="wall"),
    "nightstand": ClassSpec((0.45, 0.40, 0.55), placement="wall"),
    "toilet": ClassSpec((0.40, 0.68, 0.78), placement="wall", max_count=1,
                        colours=("white", "gray", "black", "blue")),
    "trash can": ClassSpec((0.30, 0.30, 0.45), round=True),
    "lamp": ClassSpec((0.40, 0.40, 1.60), (0.25, 0.25, 0.45), supports=("table", "desk", "nightstand", "cabinet"),
                      round=True),
    "plant": ClassSpec((0.45, 0.45, 1.00), (0.25, 0.25, 0.40), round=True,
                       supports=("table", "desk", "cabinet", "shelf", "nightstand"),
                       colours=("green", "red", "yellow", "orange", "purple")),
    "box": ClassSpec((0.50, 0.40, 0.40), (0.30, 0.22, 0.20), max_count=3,
                     supports=("table", "desk", "cabinet", "shelf", "nightstand", "bed")),
    "tv": ClassSpec(None, (1.00, 0.20, 0.65), supports=("cabinet", "desk", "table"), max_count=1),
    "monitor": ClassSpec(None, (0.55, 0.20, 0.48), supports=("desk", "table")),
    "pillow": ClassSpec(None, (0.50, 0.35, 0.14), supports=("bed", "sofa"), max_count=3),
}
"""Sizes, placement rules and colours of every class in CLASSES."""

ROOM_KINDS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "bedroom": (("bed", "nightstand", "pillow"),
                {"lamp": 2, "cabinet": 1, "shelf": 1, "plant": 1, "box": 1, "chair": 1, "desk": 1, "trash can": 1,
                 "pillow": 1, "tv": 1, "nightstand": 1, "stool": 1}),
    "living room": (("sofa", "table"),
                    {"chair": 2, "tv": 2, "cabinet": 1, "lamp": 2, "plant": 2, "pillow": 2, "shelf": 1, "box": 1,
                     "stool": 1, "trash can": 1}),
    "office": (("desk", "chair", "monitor"),
               {"chair": 1, "shelf": 2, "cabinet": 1, "lamp": 1, "plant": 1, "box": 2, "trash can": 2, "monitor": 1,
                "table": 1, "stool": 1}),
    "bathroom": (("toilet", "trash can"),
                 {"cabinet": 2, "shelf": 1, "plant": 1, "box": 2, "stool": 1, "lamp": 1, "trash can": 1}),
    "studio": ((), {c: 1.0 for c in CLASSES}),
}
"""Room kinds: classes always placed first, then weights of the classes drawn for the rest."""


@dataclass
class SceneConfig:
    """Parameters of the procedural room generator."""

    side_range: tuple[float, float] = (3.5, 6.5)
    """Range of each horizontal room side, metres (keeps the condensed grid within its 750-token budget)."""
    height_range: tuple[float, float] = (2.4, 2.8)
    """Range of the wall height, metres."""
    object_range: tuple[int, int] = (6, 14)
    """Inclusive range of the number of objects per room."""
    doors: tuple[int, int] = (1, 2)
    """Inclusive range of the number of doors."""
    windows: tuple[int, int] = (0, 2)
    """Inclusive range of the number of windows."""
    ceiling: bool = False
    """Close the room with a ceiling (off by default so top-down views stay clean)."""
    size_jitter: float = 0.15
    """Relative uniform jitter of every object dimension."""
    gap: float = 0.03
    """Smallest gap between any two objects' boxes, metres (the overlap-test margin)."""
    free_clearance: float = 0.25
    """Smallest gap around free-standing objects (chairs pushed to a table excepted), metres."""
    robot_radius: float = 0.35
    """Clearance the robot needs from objects and walls, metres."""
    min_free_fraction: float = 0.25
    """Smallest share of the floor that stays reachable by the robot (connected, robot_radius clear)."""
    kinds: tuple[str, ...] = tuple(ROOM_KINDS)
    """Room kinds to draw from."""
    attempts: int = 60
    """Placement attempts per object."""

    def __post_init__(self) -> None:
        if not 0 < self.side_range[0] <= self.side_range[1]:
            raise ValueError(f"bad side_range {self.side_range}")
        if not 0 < self.object_range[0] <= self.object_range[1]:
            raise ValueError(f"bad object_range {self.object_range}")
        unknown = set(self.kinds) - set(ROOM_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"unknown room kinds {sorted(unknown)}; known: {sorted(ROOM_KINDS)}")


def generate_scene(seed: int, config: SceneConfig | None = None) -> Scene:
    """A furnished room, deterministic in (seed ≥ 0, config)."""
    if seed < 0:
        raise ValueError(f"scene seeds are non-negative integers, got {seed}")
    config = config or SceneConfig()
    root = np.random.default_rng(seed)
    room = _make_room(root, config)
    best: list[SceneObject] = []
    for attempt in range(10):
        rng = np.random.default_rng([seed, attempt])
        objects = _Furnisher(room, config, rng).furnish()
        if len(objects) >= config.object_range[0]:
            return Scene(int(seed), room, objects)
        best = max(best, objects, key=len)
    return Scene(int(seed), room, best)


def _make_room(rng: np.random.Generator, config: SceneConfig) -> Room:
    """Room shell with random size, colours, doors and windows."""
    size = rng.uniform(*config.side_range, size=2)
    height = float(rng.uniform(*config.height_range))
    kind = str(rng.choice(list(config.kinds)))
    floor_base = np.array([[150, 115, 80], [170, 165, 155], [120, 95, 70], [190, 175, 140], [95, 95, 100]])
    wall_base = np.array([[228, 224, 212], [215, 222, 228], [232, 218, 200], [205, 205, 200], [220, 230, 215]])
    floor = floor_base[rng.integers(len(floor_base))] + rng.integers(-10, 11, 3)
    wall = wall_base[rng.integers(len(wall_base))] + rng.integers(-8, 9, 3)
    floor_rgb = tuple(int(v) for v in np.clip(floor, 0, 255))
    wall_rgb = tuple(int(v) for v in np.clip(wall, 0, 255))
    room = Room(size=size, height=height, kind=kind, floor_rgb=floor_rgb, wall_rgb=wall_rgb,
                floor_tile=float(rng.uniform(0.35, 0.8)), ceiling=config.ceiling)
    wanted = [("door", int(rng.integers(config.doors[0], config.doors[1] + 1))),
              ("window", int(rng.integers(config.windows[0], config.windows[1] + 1)))]
    for kind_name, count in wanted:
        placed = 0
        for _ in range(50 * count):
            if placed == count:
                break
            opening = _random_opening(rng, room, kind_name)
            if opening is not None:
                room.openings.append(opening)
                placed += 1
    return room


def _random_opening(rng: np.random.Generator, room: Room, kind: str) -> Opening | None:
    """A door or window on a random wall that keeps 0.3 m from corners and other openings (None if it does not fit)."""
    wall = int(rng.integers(4))
    length = room.wall_length(wall)
    if kind == "door":
        width, bottom, top = rng.uniform(0.8, 1.0), 0.0, min(rng.uniform(2.0, 2.15), room.height - 0.15)
    else:
        width = rng.uniform(0.8, 1.6)
        bottom = rng.uniform(0.8, 1.0)
        top = min(bottom + rng.uniform(1.0, 1.3), room.height - 0.2)
    if length - width < 0.6:
        return None
    center = rng.uniform(0.3 + width / 2, length - 0.3 - width / 2)
    for other in room.openings:
        if other.wall == wall and abs(other.center - center) < (other.width + width) / 2 + 0.3:
            return None
    return Opening(kind, wall, float(center), float(width), float(bottom), float(top))


def _wall_zone(room: Room, opening: Opening, width: float, depth: float) -> SceneObject:
    """A 2 m tall box of the given width and depth in front of an opening, inside the room."""
    xy = room.wall_point(opening.wall, opening.center, depth / 2)
    yaw = 0.0 if opening.wall in (0, 2) else np.pi / 2
    return SceneObject(-1, "zone", "white", np.array([*xy, 1.0]), np.array([width, depth, 2.0]), yaw)


class _Furnisher:
    """Places the objects of one room: wall pieces, free-standing pieces, then items on supports."""

    def __init__(self, room: Room, config: SceneConfig, rng: np.random.Generator) -> None:
        self.room, self.config, self.rng = room, config, rng
        self.objects: list[SceneObject] = []
        # The floor in front of every door stays empty.
        self.keep_out = [_wall_zone(room, o, o.width + 0.4, 1.0) for o in room.openings if o.kind == "door"]

    def furnish(self) -> list[SceneObject]:
        """Objects for the room: the kind's core classes first, then weighted draws up to the drawn count."""
        core, weights = ROOM_KINDS[self.room.kind]
        target = int(self.rng.integers(self.config.object_range[0], self.config.object_range[1] + 1))
        for cls in core:
            self._place(cls)
        names = list(weights)
        p = np.array([weights[n] for n in names], dtype=np.float64)
        for _ in range(8 * target):
            if len(self.objects) >= target:
                break
            cls = str(self.rng.choice(names, p=p / p.sum()))
            if sum(o.cls == cls for o in self.objects) < CLASS_SPECS[cls].max_count:
                self._place(cls)
        return self.objects

    def _new(self, cls: str, size: np.ndarray, xy: np.ndarray, z_bottom: float, yaw: float,
             support: int | None) -> SceneObject:
        """A candidate object (not yet placed) with a colour allowed for its class."""
        allowed = CLASS_SPECS[cls].colours or tuple(COLOURS)
        colour = str(allowed[int(self.rng.integers(len(allowed)))])
        center = np.array([xy[0], xy[1], z_bottom + size[2] / 2])
        return SceneObject(len(self.objects), cls, colour, center, size, float(np.mod(yaw + np.pi, 2 * np.pi) - np.pi),
                           support)

    def _jittered(self, nominal: tuple[float, float, float], round_: bool) -> np.ndarray:
        """Nominal size with a uniform relative jitter per dimension (W = D for round classes)."""
        j = self.config.size_jitter
        size = np.asarray(nominal) * self.rng.uniform(1 - j, 1 + j, 3)
        if round_:
            size[1] = size[0]
        return size

    def _place(self, cls: str) -> bool:
        """Try to place one object of a class, on a support or on the floor as the class allows."""
        spec = CLASS_SPECS[cls]
        hosts = [o for o in self.objects if o.cls in spec.supports]
        on_support = spec.on_size is not None and hosts and (spec.size is None or self.rng.random() < 0.6)
        if on_support:
            return self._place_on(cls, hosts)
        if spec.size is None:
            return False
        return self._place_on_floor(cls)

    def _place_on_floor(self, cls: str) -> bool:
        """Place a floor object against a wall, beside its partner or free-standing, keeping the robot's path."""
        spec = CLASS_SPECS[cls]
        for _ in range(self.config.attempts):
            size = self._jittered(spec.size, spec.round)
            candidate, gap = self._floor_pose(cls, size)
            if candidate is None or not self._fits(candidate, gap, wall_piece=spec.placement == "wall"):
                continue
            if not self._keeps_path(candidate):
                continue
            self.objects.append(candidate)
            return True
        return False

    def _floor_pose(self, cls: str, size: np.ndarray) -> tuple[SceneObject | None, float]:
        """A candidate floor pose for the class and the gap it must keep to other objects."""
        spec = CLASS_SPECS[cls]
        partners = {"chair": ("table", "desk"), "stool": ("table",), "nightstand": ("bed",)}.get(cls, ())
        hosts = [o for o in self.objects if o.cls in partners]
        if hosts and self.rng.random() < 0.75:
            host = hosts[int(self.rng.integers(len(hosts)))]
            return self._beside(cls, size, host), self.config.gap
        if spec.placement == "wall":
            return self._against_wall(cls, size), self.config.gap
        margin = np.linalg.norm(size[:2]) / 2 + 0.05
        lo, hi = np.full(2, margin), self.room.size - margin
        if (hi <= lo).any():
            return None, 0.0
        xy = self.rng.uniform(lo, hi)
        if spec.round:
            yaw = self.rng.uniform(-np.pi, np.pi)
        else:
            yaw = self.rng.integers(4) * np.pi / 2 + self.rng.normal(0, 0.15)
        return self._new(cls, size, xy, 0.0, yaw, None), self.config.free_clearance

    def _against_wall(self, cls: str, size: np.ndarray) -> SceneObject | None:
        """Back against a random wall, front facing into the room."""
        wall = int(self.rng.integers(4))
        length = self.room.wall_length(wall)
        if length < size[0] + 0.1:
            return None
        along = self.rng.uniform(size[0] / 2 + 0.05, length - size[0] / 2 - 0.05)
        xy = self.room.wall_point(wall, along, size[1] / 2 + 0.02)
        yaw = {0: 0.0, 1: np.pi / 2, 2: np.pi, 3: -np.pi / 2}[wall]
        return self._new(cls, size, xy, 0.0, yaw, None)

    def _beside(self, cls: str, size: np.ndarray, host: SceneObject) -> SceneObject:
        """Next to a partner: chairs facing a table or desk, nightstands beside a bed's head."""
        r = host.rotation()[:2, :2]
        hw, hd = host.size[:2] / 2
        gap = self.rng.uniform(0.04, 0.12)
        if cls == "nightstand":
            side = self.rng.choice([-1.0, 1.0])
            local = np.array([side * (hw + gap + size[0] / 2), -hd + size[1] / 2])
            return self._new(cls, size, host.center[:2] + r @ local, 0.0, host.yaw, None)
        sides = [0] if host.cls == "desk" else [0, 1, 2, 3]
        side = int(self.rng.choice(sides))
        # Side 0 is the host's front (+y); the chair's front (+y) must face the host.
        normal = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]])[side]
        along_half = hw if side in (0, 2) else hd
        reach = hd if side in (0, 2) else hw
        tangent = np.array([-normal[1], normal[0]])
        offset = self.rng.uniform(-1, 1) * max(along_half - size[0] / 2, 0.0)
        local = normal * (reach + gap + size[1] / 2) + tangent * offset
        face = np.arctan2(-normal[1], -normal[0]) - np.pi / 2
        return self._new(cls, size, host.center[:2] + r @ local, 0.0, host.yaw + face + self.rng.normal(0, 0.1), None)

    def _place_on(self, cls: str, hosts: list[SceneObject]) -> bool:
        """Stand an object on the support surface of one of the hosts."""
        spec = CLASS_SPECS[cls]
        for _ in range(self.config.attempts):
            host = hosts[int(self.rng.integers(len(hosts)))]
            z, lo, hi = support_surface(host)
            size = self._jittered(spec.on_size, spec.round)
            rel = 0.0 if cls in ("tv", "monitor", "pillow") else self.rng.uniform(-np.pi, np.pi)
            rel += self.rng.normal(0, 0.08)
            c, s = abs(np.cos(rel)), abs(np.sin(rel))
            half = np.array([c * size[0] + s * size[1], s * size[0] + c * size[1]]) / 2 + 0.01
            if (hi - lo < 2 * half).any() or z + size[2] > self.room.height - 0.1:
                continue
            local = self.rng.uniform(lo + half, hi - half)
            xy = host.center[:2] + host.rotation()[:2, :2] @ local
            candidate = self._new(cls, size, xy, z, host.yaw + rel, host.id)
            if self._fits(candidate, self.config.gap, wall_piece=False, ignore=host.id):
                self.objects.append(candidate)
                return True
        return False

    def _fits(self, obj: SceneObject, gap: float, wall_piece: bool, ignore: int | None = None) -> bool:
        """Inside the room, clear of other objects (by gap), of door zones and, for tall wall pieces, of windows."""
        xy = obj.corners()[:, :2]
        if (xy < 0.01).any() or (xy > self.room.size - 0.01).any() or obj.top > self.room.height - 0.05:
            return False
        for other in self.objects:
            if other.id == ignore:
                continue
            if boxes_overlap(obj, other, max(gap, self.config.gap)):
                return False
        if obj.support is None and any(boxes_overlap(obj, zone) for zone in self.keep_out):
            return False
        return not (wall_piece and self._blocks_window(obj))

    def _blocks_window(self, obj: SceneObject) -> bool:
        """Whether a wall piece reaches above the sill of a window it stands in front of."""
        for o in self.room.openings:
            if o.kind != "window" or obj.top < o.bottom:
                continue
            if boxes_overlap(obj, _wall_zone(self.room, o, o.width, 0.8)):
                return True
        return False

    def _keeps_path(self, candidate: SceneObject) -> bool:
        """Whether the robot still has a connected free area of the required share after adding candidate."""
        footprints = [o.footprint() for o in [*self.objects, candidate] if o.support is None]
        grid = FreeGrid.build(self.room.size, footprints, resolution=0.1)
        free = grid.largest_component(self.config.robot_radius)
        return free.sum() * grid.resolution ** 2 >= self.config.min_free_fraction * float(np.prod(self.room.size))
