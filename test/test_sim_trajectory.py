"""Camera trajectories: valid optical poses, inside the room and clear of objects, robot-like spacing, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.geometry.alignment import camera_grid
from leovl_ros.geometry.transforms import transform_points
from leovl_ros.sim.render import Renderer, Visibility
from leovl_ros.sim.trajectory import TrajectoryConfig, look_pose, robot_trajectory, scan_poses, wall_distance
from leovl_ros.sim.world import WALL_ID, Room, Scene, generate_scene

SEEDS = range(8)


@pytest.fixture(scope="module")
def trajectories() -> list[tuple[Scene, list[np.ndarray]]]:
    """Scenes with a 120-frame trajectory each."""
    return [(scene, robot_trajectory(scene, 120, seed=0)) for scene in map(generate_scene, SEEDS)]


def _footprint_distance(obj, xy: np.ndarray) -> np.ndarray:
    """Distance from world xy points to an object's footprint, computed in the object's frame."""
    local = obj.to_local(np.column_stack([xy, np.full(len(xy), obj.center[2])]))[:, :2]
    return np.linalg.norm(np.maximum(np.abs(local) - obj.size[:2] / 2, 0.0), axis=1)


def test_look_pose_is_an_optical_frame() -> None:
    down = look_pose(np.array([1.0, 2.0, 1.2]), 0.7, np.pi / 2)
    assert np.allclose(down[:3, 2], [0.0, 0.0, -1.0]) and np.allclose(down[:3, 3], [1.0, 2.0, 1.2])
    level = look_pose(np.zeros(3), 0.0, 0.0)
    assert np.allclose(level[:3, :3], [[0, 0, 1], [-1, 0, 0], [0, -1, 0]])


def test_poses_are_valid_optical_poses(trajectories) -> None:
    for _, poses in trajectories:
        assert len(poses) == 120
        for T in poses:
            R = T[:3, :3]
            assert np.allclose(R.T @ R, np.eye(3), atol=1e-9) and np.linalg.det(R) == pytest.approx(1.0)
            assert T[2, 3] == pytest.approx(1.2) and np.array_equal(T[3], [0, 0, 0, 1])
            assert abs(T[2, 0]) < 1e-9  # no roll: the image x axis stays horizontal


def test_head_tilts_between_floor_and_walls(trajectories) -> None:
    """Down 15-25° at the lowest, up to 30° higher: every tour looks down at the floor and up the walls."""
    for scene, poses in trajectories:
        pitch = np.array([np.degrees(np.arcsin(-T[2, 2])) for T in poses])  # + is looking down
        assert pitch.max() <= 25.0 + 1e-9 and pitch.min() >= 15.0 - 30.0 - 1e-9, scene.seed
        assert pitch.max() >= 12.0 and pitch.min() <= 0.0, scene.seed
    level = robot_trajectory(generate_scene(0), 60, seed=0, config=TrajectoryConfig(tilt_deg=0.0))
    assert np.ptp([np.arcsin(-T[2, 2]) for T in level]) < 1e-9
    with pytest.raises(ValueError, match="tilt"):
        TrajectoryConfig(tilt_period=0.0)


def test_path_stays_in_free_space(trajectories) -> None:
    for scene, poses in trajectories:
        xy = np.array([T[:2, 3] for T in poses])
        assert (xy >= 0.3).all() and (xy <= scene.room.size - 0.3).all(), scene.seed
        for obj in scene.objects:
            if obj.support is None:
                assert _footprint_distance(obj, xy).min() >= 0.3, (scene.seed, obj.id)


def test_spacing_and_smoothness(trajectories) -> None:
    for _, poses in trajectories:
        xy = np.array([T[:2, 3] for T in poses])
        step = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        assert step.max() < 1.5 * np.median(step) + 1e-6  # constant speed along the path
        assert np.ptp(xy, axis=0).max() > 1.0 and step.sum() > 2.0  # short runs still tour the room
    scene = generate_scene(0)
    long = robot_trajectory(scene, 2000, seed=0, fps=30.0)
    step = np.linalg.norm(np.diff(np.array([T[:2, 3] for T in long]), axis=0), axis=1)
    assert np.median(step) == pytest.approx(0.3 / 30.0, rel=0.05)  # 0.3 m/s at 30 Hz when frames suffice


def test_camera_looks_around(trajectories) -> None:
    for scene, poses in trajectories:
        xy = np.array([T[:2, 3] for T in poses])
        travel = np.arctan2(*np.gradient(xy, axis=0)[:, ::-1].T)
        look = np.array([np.arctan2(T[1, 2], T[0, 2]) for T in poses])
        off = np.degrees(np.abs(np.mod(look - travel + np.pi, 2 * np.pi) - np.pi))
        assert off.max() > 35.0, scene.seed
        assert wall_distance(scene.room.size, xy, look).min() > 0.6


def test_deterministic_and_seeded() -> None:
    scene = generate_scene(3)
    a = robot_trajectory(scene, 30, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, robot_trajectory(generate_scene(3), 30, seed=1)))
    b = robot_trajectory(scene, 30, seed=2)
    assert not all(np.allclose(x, y) for x, y in zip(a, b))
    one = robot_trajectory(scene, 1, seed=0)
    assert len(one) == 1
    with pytest.raises(ValueError):
        robot_trajectory(scene, 0)
    with pytest.raises(ValueError):
        TrajectoryConfig(clearance=0.1, min_clearance=0.3)


def test_most_objects_are_seen() -> None:
    shares = []
    for seed in (0, 4, 9):
        scene = generate_scene(seed)
        renderer = Renderer(scene, 96, 72)
        visibility = Visibility()
        for pose in robot_trajectory(scene, 40, seed=0):
            visibility.add(renderer.render(pose))
        seen = visibility.seen(min_pixels=10)
        assert seen <= {o.id for o in scene.objects}
        shares.append(len(seen) / len(scene.objects))
    assert np.mean(shares) >= 0.8, shares


def test_tiny_free_space_still_gives_all_frames() -> None:
    scene = Scene(0, Room(np.array([1.1, 1.1]), 2.5, []), [])
    poses = robot_trajectory(scene, 50, seed=0)
    xy = np.array([T[:2, 3] for T in poses])
    assert len(poses) == 50 and (np.abs(xy - 0.55) < 0.1).all()


def _wall_top_coverage(renderer: Renderer, poses: list[np.ndarray], scene: Scene, band: float = 0.3) -> float:
    """Share of the room's perimeter, in band-long pieces, where some frame sees the top band of the wall."""
    lx, ly = scene.room.size
    seen: set[int] = set()
    for T in poses:
        frame = renderer.render(T)
        points, valid = camera_grid(frame.depth, frame.K, stride=1)
        world = transform_points(T, points[valid & (frame.instance == WALL_ID)])
        x, y = np.clip(world[world[:, 2] > scene.room.height - band, :2], 0.0, [lx, ly]).T
        wall = np.stack([y, lx - x, ly - y, x]).argmin(axis=0)  # nearest of the walls y=0, x=lx, y=ly, x=0
        along = np.choose(wall, [x, lx + y, lx + ly + (lx - x), 2 * lx + ly + (ly - y)])
        seen |= set(np.floor(along / band).astype(int).tolist())
    return len(seen) / int(np.ceil(2 * (lx + ly) / band))


def test_scan_sees_every_wall_to_the_top() -> None:
    """The complete scan (the benchmark's --views scan) sees what the robot's near-level tour misses."""
    tour, scan = [], []
    for seed in (0, 2, 3, 4):
        scene = generate_scene(seed)
        poses = scan_poses(scene, seed)
        assert len(poses) == 6 * 2 * 12 * 4
        assert {round(T[2, 3], 6) for T in poses} == {0.8, 1.6}
        pitch = sorted({round(float(np.degrees(np.arcsin(-T[2, 2]))), 6) for T in poses})
        assert pitch == [-55.0, -25.0, 10.0, 40.0]
        renderer = Renderer(scene, 96, 72)
        tour.append(_wall_top_coverage(renderer, robot_trajectory(scene, 60, seed), scene))
        scan.append(_wall_top_coverage(renderer, poses, scene))
    assert min(scan) >= 0.98, scan
    assert np.mean(tour) < 0.9, tour
    with pytest.raises(ValueError, match="places"):
        scan_poses(generate_scene(0), places=0)
