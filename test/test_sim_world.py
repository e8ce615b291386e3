"""Procedural scenes: determinism, coverage, non-intersection, supports, room bounds and the JSON ground truth."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from leovl_ros.sim.freespace import FreeGrid
from leovl_ros.sim.meshes import PART_BUILDERS, parts_within_box
from leovl_ros.sim.world import (
    CLASS_SPECS,
    CLASSES,
    COLOURS,
    Opening,
    Room,
    Scene,
    SceneConfig,
    SceneObject,
    boxes_overlap,
    generate_scene,
    nearest_colour,
    support_surface,
)

SEEDS = range(30)


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    """Thirty generated scenes."""
    return [generate_scene(seed) for seed in SEEDS]


def _box(x: float, y: float, yaw: float, size=(1.0, 1.0, 1.0), z: float = 0.5) -> SceneObject:
    """A test box."""
    return SceneObject(0, "box", "red", np.array([x, y, z]), np.array(size), yaw)


def test_deterministic_per_seed() -> None:
    assert generate_scene(7).to_json() == generate_scene(7).to_json()
    assert generate_scene(7).to_json() != generate_scene(8).to_json()


def test_counts_classes_and_colours_cover_the_vocabulary(scenes: list[Scene]) -> None:
    classes = Counter(o.cls for s in scenes for o in s.objects)
    colours = Counter(o.colour for s in scenes for o in s.objects)
    assert len(CLASSES) >= 15 and len(COLOURS) >= 8
    assert set(classes) <= set(CLASSES) and set(colours) <= set(COLOURS)
    assert len(classes) >= 15, classes
    assert len(colours) >= 8, colours
    for s in scenes:
        assert 6 <= len(s.objects) <= 14
        assert len({o.id for o in s.objects}) == len(s.objects)
        for o in s.objects:
            allowed = CLASS_SPECS[o.cls].colours
            assert allowed is None or o.colour in allowed


def test_named_colours_are_far_apart_and_recoverable_under_shading() -> None:
    rgb = np.array(list(COLOURS.values()), dtype=float)
    d = np.linalg.norm(rgb[:, None] - rgb[None], axis=2) + np.eye(len(rgb)) * 1e9
    assert d.min() > 80
    for name, value in COLOURS.items():
        for k in (0.5, 0.75, 1.0):
            assert nearest_colour(k * np.asarray(value, dtype=float)) == name, (name, k)
    assert nearest_colour([250, 120, 10]) == "orange" and nearest_colour([60, 60, 60]) in ("gray", "black")


def test_room_sizes_and_openings(scenes: list[Scene]) -> None:
    for s in scenes:
        room = s.room
        assert ((room.size >= 3.5) & (room.size <= 6.5)).all() and 2.4 <= room.height <= 2.8
        doors = [o for o in room.openings if o.kind == "door"]
        assert doors and all(o.bottom == 0.0 and 1.9 < o.top < room.height for o in doors)
        for o in room.openings:
            assert o.center - o.width / 2 >= 0.3 - 1e-9 and o.center + o.width / 2 <= room.wall_length(o.wall) - 0.3
            if o.kind == "window":
                assert 0.5 < o.bottom < o.top < room.height
        for a, b in itertools.combinations(room.openings, 2):
            if a.wall == b.wall:
                assert abs(a.center - b.center) >= (a.width + b.width) / 2


def test_boxes_overlap_uses_orientation() -> None:
    a = _box(0.0, 0.0, 0.0)
    assert boxes_overlap(a, _box(0.9, 0.0, 0.0))
    assert not boxes_overlap(a, _box(1.1, 0.0, 0.0))
    assert boxes_overlap(a, _box(1.1, 0.0, 0.0), margin=0.15)
    # A 45° box whose AABB overlaps a's but whose corner stays clear of it.
    b = _box(0.5 + np.sqrt(0.5) + 0.05, 0.0, np.pi / 4)
    assert not boxes_overlap(a, b)
    assert boxes_overlap(a, _box(0.5 + np.sqrt(0.5) - 0.05, 0.0, np.pi / 4))
    assert not boxes_overlap(a, _box(0.0, 0.0, 0.0, z=1.6))


def test_boxes_overlap_agrees_with_point_sampling() -> None:
    rng = np.random.default_rng(0)
    disagreements = 0
    for _ in range(300):
        a = _box(0.0, 0.0, rng.uniform(-np.pi, np.pi), size=rng.uniform(0.2, 1.5, 3), z=rng.uniform(0.5, 1.0))
        b = _box(*rng.uniform(-1.5, 1.5, 2), rng.uniform(-np.pi, np.pi), size=rng.uniform(0.2, 1.5, 3),
                 z=rng.uniform(0.5, 1.0))
        sampled = a.contains(_sample_inside(b, 12)).any() or b.contains(_sample_inside(a, 12)).any()
        if sampled:
            assert boxes_overlap(a, b)  # a witness point proves the overlap
        disagreements += boxes_overlap(a, b) != sampled
    assert disagreements <= 15  # sampling misses only thin slivers


def _sample_inside(obj: SceneObject, n: int = 6) -> np.ndarray:
    """A grid of points strictly inside an object's box."""
    t = (np.arange(n) + 0.5) / n - 0.5
    g = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3) * obj.size
    return obj.center + g @ obj.rotation().T


def test_no_pairwise_intersections(scenes: list[Scene]) -> None:
    for s in scenes:
        for a, b in itertools.combinations(s.objects, 2):
            if a.support == b.id or b.support == a.id:
                continue
            assert not boxes_overlap(a, b, margin=0.02), (s.seed, a.id, b.id)
            # Independent check through point containment.
            assert not b.contains(_sample_inside(a)).any(), (s.seed, a.id, b.id)


def test_supports_are_consistent(scenes: list[Scene]) -> None:
    n_supported = 0
    for s in scenes:
        for o in s.objects:
            if o.support is None:
                assert abs(o.bottom) < 1e-3
                continue
            n_supported += 1
            host = s.object_by_id(o.support)
            assert host.cls in CLASS_SPECS[o.cls].supports
            z, lo, hi = support_surface(host)
            assert abs(o.bottom - z) < 1e-3, (s.seed, o.id)
            corners = host.to_local(o.corners())[:, :2]
            assert (corners >= lo - 1e-6).all() and (corners <= hi + 1e-6).all(), (s.seed, o.id)
            assert host.support is None
    assert n_supported >= 30


def test_objects_inside_room(scenes: list[Scene]) -> None:
    for s in scenes:
        for o in s.objects:
            assert s.room.contains(o.corners()).all(), (s.seed, o.id)


def test_robot_keeps_a_free_path(scenes: list[Scene]) -> None:
    config = SceneConfig()
    for s in scenes:
        grid = FreeGrid.build(s.room.size, [o.footprint() for o in s.objects if o.support is None], 0.1)
        free = grid.largest_component(config.robot_radius).sum() * 0.01
        assert free >= config.min_free_fraction * np.prod(s.room.size)


@pytest.mark.parametrize("cls", CLASSES)
def test_class_layouts_stay_inside_their_box(cls: str) -> None:
    rng = np.random.default_rng(0)
    spec = CLASS_SPECS[cls]
    for nominal in (spec.size, spec.on_size):
        if nominal is None:
            continue
        for _ in range(10):
            size = np.asarray(nominal) * rng.uniform(0.85, 1.15, 3)
            assert parts_within_box(cls, size), (cls, size)
    assert len(PART_BUILDERS[cls](*(spec.size or spec.on_size))) >= 1


def test_json_round_trip(tmp_path) -> None:
    scene = generate_scene(11)
    path = tmp_path / "scene.json"
    scene.save(path)
    back = Scene.load(path)
    assert back.to_json() == scene.to_json()
    for a, b in zip(scene.objects, back.objects):
        assert np.array_equal(a.center, b.center) and np.array_equal(a.size, b.size) and a.yaw == b.yaw
    assert back.object_by_id(3).cls == scene.object_by_id(3).cls
    bad = scene.to_json()
    bad["format"] = 99
    with pytest.raises(ValueError, match="format"):
        Scene.from_json(bad)


def test_config_options() -> None:
    small = generate_scene(4, SceneConfig(object_range=(3, 3), ceiling=True, side_range=(5.0, 5.0)))
    assert len(small.objects) == 3 and small.room.ceiling and np.allclose(small.room.size, 5.0)
    with pytest.raises(ValueError):
        SceneConfig(kinds=("castle",))


def test_room_geometry_helpers() -> None:
    room = Room(np.array([4.0, 5.0]), 2.5, [Opening("door", 1, 2.0, 0.9, 0.0, 2.0)])
    assert np.allclose(room.wall_point(1, 2.0, 0.5), [3.5, 2.0])
    assert np.allclose(room.wall_point(2, 1.0, 0.5), [1.0, 4.5])
    assert room.contains(np.array([[1.0, 1.0, 1.0], [4.5, 1.0, 1.0]])).tolist() == [True, False]
    o = SceneObject(0, "chair", "red", np.array([1.0, 1.0, 0.45]), np.array([0.5, 0.5, 0.9]), np.pi / 2)
    assert np.allclose(o.front(), [-1.0, 0.0, 0.0])
