"""Ray-cast rendering: analytic depths, instance ids against the ground-truth boxes, colours and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.geometry import Frame
from leovl_ros.sim.render import RenderConfig, Renderer, Visibility, default_intrinsics, render_sequence
from leovl_ros.sim.trajectory import look_pose, robot_trajectory
from leovl_ros.sim.world import (
    CEILING_ID,
    COLOURS,
    FLOOR_ID,
    NO_HIT,
    WALL_ID,
    Opening,
    Room,
    Scene,
    generate_scene,
    nearest_colour,
)


def _empty_room() -> Scene:
    """A 4 × 5 × 2.5 m room with a door and a window on the south wall only."""
    room = Room(np.array([4.0, 5.0]), 2.5, [Opening("door", 0, 1.0, 0.9, 0.0, 2.0),
                                             Opening("window", 0, 3.0, 1.0, 1.0, 2.0)])
    return Scene(0, room, [])


def _backproject(frame) -> tuple[np.ndarray, np.ndarray]:
    """World points of pixels with valid depth and their (row, col) indices."""
    v, u = np.nonzero(frame.depth > 0)
    d = frame.depth[v, u].astype(np.float64)
    cam = np.stack([u, v, np.ones_like(u)], 1) @ np.linalg.inv(frame.K).T * d[:, None]
    return cam @ frame.pose[:3, :3].T + frame.pose[:3, 3], np.stack([v, u], 1)


def test_depth_looking_down_at_the_floor() -> None:
    frame = Renderer(_empty_room(), 160, 120).render(look_pose(np.array([2.0, 2.5, 1.2]), 0.3, np.pi / 2))
    assert frame.depth.shape == (120, 160) and frame.rgb.shape == (120, 160, 3)
    assert abs(frame.depth[60, 80] - 1.2) < 1e-4
    assert np.allclose(frame.depth, 1.2, atol=1e-4)
    assert (frame.instance == FLOOR_ID).all()


def test_depth_is_along_the_optical_axis_for_a_wall() -> None:
    # Facing the west wall (x = 0) from 1 m: a plane perpendicular to the axis has the same depth everywhere.
    frame = Renderer(_empty_room(), 160, 120).render(look_pose(np.array([1.0, 2.5, 1.2]), np.pi, 0.0))
    assert (frame.instance == WALL_ID).all()
    assert np.allclose(frame.depth, 1.0, atol=1e-4)


def test_window_and_door_openings_see_outside() -> None:
    # Facing the south wall from 1.5 m: the window (x 2.5..3.5, z 1..2) shows no hit with depth 0.
    pose = look_pose(np.array([3.0, 1.5, 1.5]), -np.pi / 2, 0.0)
    frame = Renderer(_empty_room(), 160, 120).render(pose)
    assert frame.instance[60, 80] == NO_HIT and frame.depth[60, 80] == 0.0
    assert (frame.instance == WALL_ID).any()
    # The wall's face is 1.5 m away; the reveals of the openings run through its 0.1 m thickness.
    wall = frame.depth[frame.instance == WALL_ID]
    assert wall.min() > 1.5 - 1e-4 and wall.max() < 1.6 + 1e-4 and np.median(wall) == pytest.approx(1.5, abs=1e-4)


def test_ceiling_when_asked_for() -> None:
    scene = _empty_room()
    scene.room.ceiling = True
    frame = Renderer(scene, 80, 60).render(look_pose(np.array([2.0, 2.5, 1.2]), 0.0, -np.pi / 2))
    assert (frame.instance == CEILING_ID).all() and np.allclose(frame.depth, 2.5 - 1.2, atol=1e-4)


def test_any_intrinsics() -> None:
    K = np.array([[90.0, 0.0, 40.0], [0.0, 110.0, 35.0], [0.0, 0.0, 1.0]])
    frame = Renderer(_empty_room(), 100, 80, K).render(look_pose(np.array([2.0, 2.5, 1.2]), 0.0, np.pi / 2))
    assert frame.depth.shape == (80, 100) and np.array_equal(frame.K, K)
    assert np.allclose(frame.depth, 1.2, atol=1e-4)
    K0 = default_intrinsics(320, 240)
    assert K0[0, 0] == K0[1, 1] and K0[0, 2] == 159.5 and K0[1, 2] == 119.5


@pytest.fixture(scope="module")
def rendered() -> list[tuple[Scene, list]]:
    """A few frames of three generated scenes at a small size."""
    out = []
    for seed in (1, 2, 3):
        scene = generate_scene(seed)
        renderer = Renderer(scene, 160, 120)
        out.append((scene, [renderer.render(p) for p in robot_trajectory(scene, 6, seed=0)]))
    return out


def test_instance_ids_match_ground_truth_boxes(rendered) -> None:
    checked = 0
    for scene, frames in rendered:
        room = scene.room
        for frame in frames:
            points, pix = _backproject(frame)
            ids = frame.instance[pix[:, 0], pix[:, 1]]
            assert (frame.depth[frame.instance == NO_HIT] == 0).all()
            assert ((ids >= 0) | (ids == FLOOR_ID) | (ids == WALL_ID)).all()
            for obj in scene.objects:
                mine = ids == obj.id
                assert obj.contains(points[mine], tol=0.005).all(), (scene.seed, obj.id)
                checked += int(mine.sum())
            floor = points[ids == FLOOR_ID]
            assert np.abs(floor[:, 2]).max(initial=0.0) < 0.005
            walls = points[ids == WALL_ID]
            inset = np.minimum(walls[:, :2], room.size - walls[:, :2]).min(axis=1)
            assert inset.max(initial=0.0) < 0.005
    assert checked > 1000


def test_object_pixels_carry_their_named_colour(rendered) -> None:
    ambient = RenderConfig().ambient
    for scene, frames in rendered:
        for frame in frames:
            for obj in scene.objects:
                rgb = frame.rgb[frame.instance == obj.id].astype(np.float64)
                if len(rgb) == 0:
                    continue
                base = np.asarray(COLOURS[obj.colour], dtype=np.float64)
                k = rgb @ base / (base @ base)
                assert np.abs(rgb - k[:, None] * base).max() <= 2.0
                assert (k > 0.55 * ambient - 0.02).all() and (k <= 1.0 + 0.02).all()


def test_mean_object_colour_maps_back_to_its_name(rendered) -> None:
    hits = total = 0
    for scene, frames in rendered:
        for obj in scene.objects:
            rgb = np.concatenate([f.rgb[f.instance == obj.id] for f in frames]).astype(np.float64)
            if len(rgb) >= 20:
                total += 1
                hits += nearest_colour(rgb.mean(axis=0)) == obj.colour
    assert total >= 15 and hits / total >= 0.95, (hits, total)


def test_rendering_is_deterministic() -> None:
    scene = generate_scene(5)
    pose = robot_trajectory(scene, 3, seed=1)[1]
    a = Renderer(scene, 120, 90).render(pose)
    b = Renderer(generate_scene(5), 120, 90).render(pose)
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth, b.depth)
    assert np.array_equal(a.instance, b.instance)


def test_render_sequence_stamps_and_ids() -> None:
    frames = list(render_sequence(generate_scene(6), 4, seed=0, width=64, height=48, fps=10.0))
    assert [f.frame_id for f in frames] == ["0", "1", "2", "3"]
    assert [f.stamp for f in frames] == [0.0, 0.1, 0.2, 0.3]
    assert all(f.instance is not None and f.instance.dtype == np.int32 for f in frames)


def test_visibility_counts_object_pixels() -> None:
    instance = np.array([[3, 3, FLOOR_ID], [WALL_ID, 5, 3]], dtype=np.int32)
    frame = Frame(np.zeros((2, 3, 3), np.uint8), np.ones((2, 3), np.float32), np.eye(3), np.eye(4), instance=instance)
    vis = Visibility()
    assert vis.add(frame) is frame
    vis.add(frame)
    assert vis.pixels == {3: 6, 5: 2} and vis.frames == {3: 2, 5: 2}
    assert vis.seen(min_pixels=3) == {3} and vis.seen(min_pixels=1, min_frames=3) == set()
