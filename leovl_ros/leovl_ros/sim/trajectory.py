"""Camera trajectories a robot would drive: a smooth tour through free floor space, looking around.

The planner works on the room's free-space grid (cells far enough from walls and object footprints), links
spread-out waypoints by grid shortest paths, pulls the string taut, smooths it and samples camera poses along
it. The camera (optical frame: x right, y down, z forward) rides at a fixed height and looks around as a robot
scanning a room does: its yaw sweeps about the direction of travel so most objects are seen, and its head tilts
between looking down (floor and low objects) and slightly up (walls, tall furniture) as it drives; the tops of
walls close by stay out of view. ``scan_poses`` gives a complete scan that sees the walls to the top all around.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leovl_ros.sim.freespace import FreeGrid
from leovl_ros.sim.scene import Scene


@dataclass
class TrajectoryConfig:
    """Parameters of the camera trajectory."""

    speed: float = 0.3
    """Nominal driving speed, m/s (frames are speed/fps apart unless the tour needs wider spacing)."""
    clearance: float = 0.5
    """Planning clearance of the path from object footprints and walls, metres."""
    min_clearance: float = 0.3
    """Clearance the final smoothed path keeps in any case, metres."""
    waypoints: int = 5
    """Spread-out places the tour visits (the tour is extended when more frames are asked for)."""
    smoothing: float = 0.4
    """Length of the moving-average window that rounds the corners of the path, metres."""
    pitch_deg: tuple[float, float] = (15.0, 25.0)
    """Range of the lowest (most downward) camera pitch, degrees (drawn per trajectory)."""
    tilt_deg: float = 30.0
    """Head-tilt sweep: the pitch rises from the drawn downward pitch by up to this much, degrees (0 = fixed)."""
    tilt_period: float = 3.4
    """Distance travelled per full head-tilt sweep, metres."""
    sweep_deg: float = 60.0
    """Amplitude of the look-around yaw sweep about the direction of travel, degrees."""
    sweep_period: float = 2.0
    """Distance travelled per full look-around sweep, metres."""
    min_view: float = 1.8
    """Views that would face a wall closer than this turn towards the room centre (fully at half of it), metres."""
    resolution: float = 0.05
    """Free-space grid cell, metres."""

    def __post_init__(self) -> None:
        if self.speed <= 0 or self.min_clearance <= 0 or self.clearance < self.min_clearance:
            raise ValueError("need speed > 0 and clearance ≥ min_clearance > 0")
        if self.tilt_deg < 0 or self.tilt_period <= 0:
            raise ValueError("need tilt_deg ≥ 0 and tilt_period > 0")


def look_pose(position: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """4×4 optical camera-to-world pose at position, heading yaw (from world x) and pitched down by pitch (rad)."""
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    forward = np.array([cp * cy, cp * sy, -sp])
    right = np.array([sy, -cy, 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, position
    return pose


def robot_trajectory(scene: Scene, n_frames: int, seed: int = 0, camera_height: float = 1.2, fps: float = 30.0,
                     config: TrajectoryConfig | None = None) -> list[np.ndarray]:
    """n_frames 4×4 optical camera-to-world poses along a robot-like tour of the scene's free floor."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be ≥ 1, got {n_frames}")
    config = config or TrajectoryConfig()
    rng = np.random.default_rng([int(scene.seed), int(seed)])
    grid = FreeGrid.build(scene.room.size, [o.footprint() for o in scene.objects if o.support is None],
                          config.resolution)
    path = _plan_path(scene, grid, rng, config, min_length=(n_frames - 1) * config.speed / fps)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    step = max(config.speed / fps, arc[-1] / max(n_frames - 1, 1))
    s = np.minimum(np.arange(n_frames) * step, arc[-1])
    xy = np.stack([np.interp(s, arc, path[:, 0]), np.interp(s, arc, path[:, 1])], axis=1)
    ahead = np.stack([np.interp(s + 0.2, arc, path[:, 0]), np.interp(s + 0.2, arc, path[:, 1])], axis=1)
    behind = np.stack([np.interp(s - 0.2, arc, path[:, 0]), np.interp(s - 0.2, arc, path[:, 1])], axis=1)
    tangent = ahead - behind
    heading = np.unwrap(np.arctan2(tangent[:, 1], tangent[:, 0]))
    phase = rng.uniform(0, 2 * np.pi)
    yaw = heading + np.radians(config.sweep_deg) * np.sin(2 * np.pi * s / config.sweep_period + phase)
    yaw = _turn_from_walls(scene, xy, yaw, config.min_view)
    pitch0 = np.radians(rng.uniform(*config.pitch_deg))
    tilt_phase = rng.uniform(0, 2 * np.pi)
    pitch = pitch0 - np.radians(config.tilt_deg) * 0.5 * (1 + np.sin(2 * np.pi * s / config.tilt_period + tilt_phase))
    return [look_pose(np.array([x, y, camera_height]), float(a), float(p)) for (x, y), a, p in zip(xy, yaw, pitch)]


def scan_poses(scene: Scene, seed: int = 0, places: int = 6, heights: tuple[float, ...] = (0.8, 1.6),
               headings: int = 12, pitch_deg: tuple[float, ...] = (-55.0, -25.0, 10.0, 40.0)) -> list[np.ndarray]:
    """Poses of a complete scan, as the whole-room reconstructions of ScanNet see a room: at `places` points spread
    along the robot's tour, at each of `heights`, looking all around (`headings` yaws) at each pitch (negative = up).

    The robot's own tour keeps its camera at 1.2 m and its head near level, so it misses the tops of walls next to
    it; this scan sees the walls to the top all around, and token counts comparable to the paper's are measured on it.
    """
    if places < 1 or headings < 1 or not heights or not pitch_deg:
        raise ValueError("need places ≥ 1, headings ≥ 1 and at least one height and one pitch")
    xy = [T[:2, 3] for T in robot_trajectory(scene, places, seed)]
    yaws = np.linspace(0.0, 2 * np.pi, headings, endpoint=False)
    return [look_pose(np.array([x, y, h]), float(a), float(np.radians(p)))
            for x, y in xy for h in heights for a in yaws for p in pitch_deg]


def wall_distance(room_size: np.ndarray, xy: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Distance from (N, 2) points inside the room rectangle to its walls along headings yaw (N,)."""
    d = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
    with np.errstate(divide="ignore"):
        t = np.where(d > 0, (np.asarray(room_size) - xy) / d, np.where(d < 0, -xy / d, np.inf))
    return t.min(axis=1)


def _turn_from_walls(scene: Scene, xy: np.ndarray, yaw: np.ndarray, min_view: float) -> np.ndarray:
    """Blend headings that face a near wall towards the room centre (a camera staring at a wall sees nothing)."""
    near = np.clip((min_view - wall_distance(scene.room.size, xy, yaw)) / (min_view / 2), 0.0, 1.0)
    to_centre = scene.room.size / 2 - xy
    target = np.arctan2(to_centre[:, 1], to_centre[:, 0])
    delta = np.mod(target - yaw + np.pi, 2 * np.pi) - np.pi
    return yaw + near * delta


def _plan_path(scene: Scene, grid: FreeGrid, rng: np.random.Generator, config: TrajectoryConfig,
               min_length: float) -> np.ndarray:
    """(N, 2) smooth world path through the largest free region, at least min_length long where possible."""
    clearance = config.clearance
    mask = grid.largest_component(clearance)
    while mask.sum() < 4 and clearance > config.min_clearance:
        clearance = max(config.min_clearance, clearance - 0.05)
        mask = grid.largest_component(clearance)
    if not mask.any():
        raise ValueError(f"scene {scene.seed} has no free floor with {config.min_clearance} m clearance")
    cells = np.argwhere(mask)
    current = _start_cell(scene, grid, cells, rng)
    # Waypoints come from the more open half of the region, so the robot does not drive up to walls.
    open_cells = cells[grid.clearance[mask] >= np.median(grid.clearance[mask])]
    targets = _spread_cells(open_cells, current, config.waypoints, rng)
    pieces = [grid.cell_center(np.array([current]))]
    length = round_start = 0.0
    while targets or length < min_length:
        if not targets:
            if length <= round_start:
                break  # a tour that does not move (a single free spot) cannot get longer
            round_start = length
            targets = _spread_cells(open_cells, current, config.waypoints, rng)
        goal = targets.pop(0)
        cell_path = grid.shortest_path(mask, current, goal)
        piece = _string_pull(grid, mask, grid.cell_center(cell_path))
        pieces.append(piece[1:])
        length += float(np.linalg.norm(np.diff(piece, axis=0), axis=1).sum())
        current = goal
    polyline = np.vstack(pieces)
    return _smooth(grid, polyline, config)


def _start_cell(scene: Scene, grid: FreeGrid, cells: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """The free cell nearest to just inside a door (a random free cell when the room has no door)."""
    doors = [o for o in scene.room.openings if o.kind == "door"]
    if not doors:
        return tuple(int(v) for v in cells[rng.integers(len(cells))])
    door = doors[int(rng.integers(len(doors)))]
    target = scene.room.wall_point(door.wall, door.center, 0.6)
    d = np.linalg.norm(grid.cell_center(cells) - target, axis=1)
    return tuple(int(v) for v in cells[int(np.argmin(d))])


def _spread_cells(cells: np.ndarray, start: tuple[int, int], k: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """k cells spread over the region (randomised farthest-point sampling), ordered as a nearest-neighbour tour."""
    chosen = [np.array(start)]
    dist = np.linalg.norm(cells - chosen[0], axis=1)
    for _ in range(k):
        far = np.argsort(dist)[-max(1, len(cells) // 10):]
        pick = cells[far[rng.integers(len(far))]]
        chosen.append(pick)
        dist = np.minimum(dist, np.linalg.norm(cells - pick, axis=1))
    tour, rest = [], chosen[1:]
    here = chosen[0]
    while rest:
        i = int(np.argmin([np.linalg.norm(c - here) for c in rest]))
        here = rest.pop(i)
        tour.append(tuple(int(v) for v in here))
    return tour


def _string_pull(grid: FreeGrid, mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Drop intermediate points of a polyline while the shortcut stays inside the free mask."""
    out = [points[0]]
    i = 0
    while i < len(points) - 1:
        j = i + 1
        while j + 1 < len(points) and grid.segment_free(mask, points[i], points[j + 1]):
            j += 1
        out.append(points[j])
        i = j
    return np.array(out)


def _smooth(grid: FreeGrid, polyline: np.ndarray, config: TrajectoryConfig) -> np.ndarray:
    """Resample a polyline every 2 cm and round its corners, keeping min_clearance (narrower window if needed)."""
    seg = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return polyline[:1]
    s = np.linspace(0.0, arc[-1], max(2, int(np.ceil(arc[-1] / 0.02)) + 1))
    dense = np.stack([np.interp(s, arc, polyline[:, 0]), np.interp(s, arc, polyline[:, 1])], axis=1)
    window = int(round(config.smoothing / 0.02))
    while window > 1:
        kernel = np.ones(window) / window
        padded = np.pad(dense, ((window // 2, window - 1 - window // 2), (0, 0)), mode="edge")
        smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
        if (grid.clearance_at(smooth) >= config.min_clearance).all():
            return smooth
        window //= 2
    return dense
