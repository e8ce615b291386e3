"""Free floor space of a room as a grid: clearance to object footprints and walls, components, shortest paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


@dataclass
class Footprint:
    """An oriented rectangle on the floor (the xy shadow of an object's box)."""

    center: np.ndarray
    """(2,) centre in world metres."""
    half: np.ndarray
    """(2,) half extents along the rectangle's own axes."""
    yaw: float
    """Rotation of the rectangle's x axis from world x, radians."""


def footprint_distance(points: np.ndarray, fp: Footprint) -> np.ndarray:
    """Euclidean distance from (N, 2) points to a footprint (0 inside)."""
    c, s = np.cos(fp.yaw), np.sin(fp.yaw)
    rel = np.asarray(points, dtype=np.float64) - fp.center
    local = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]], axis=1)
    outside = np.maximum(np.abs(local) - fp.half, 0.0)
    return np.linalg.norm(outside, axis=1)


@dataclass
class FreeGrid:
    """Cells of a room's floor whose centres are at least the requested clearance from obstacles and walls."""

    room_size: np.ndarray
    """(2,) room extent in metres; the grid covers [0, size] from the origin corner."""
    resolution: float
    """Cell edge in metres."""
    clearance: np.ndarray
    """(ny, nx) distance of each cell centre to the nearest footprint or wall, metres."""

    @classmethod
    def build(cls, room_size: np.ndarray, footprints: list[Footprint], resolution: float = 0.05) -> FreeGrid:
        """Compute the clearance of every cell centre to the walls and the given footprints."""
        size = np.asarray(room_size, dtype=np.float64)
        nx, ny = (int(np.floor(v / resolution)) for v in size)
        xs = (np.arange(nx) + 0.5) * resolution
        ys = (np.arange(ny) + 0.5) * resolution
        gx, gy = np.meshgrid(xs, ys)
        wall = np.minimum.reduce([gx, size[0] - gx, gy, size[1] - gy])
        dist = wall.ravel().copy()
        pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        for fp in footprints:
            np.minimum(dist, footprint_distance(pts, fp), out=dist)
        return cls(room_size=size, resolution=resolution, clearance=dist.reshape(ny, nx))

    def cell_center(self, cells: np.ndarray) -> np.ndarray:
        """World xy of (N, 2) (row, col) cells."""
        cells = np.asarray(cells)
        return np.stack([(cells[:, 1] + 0.5) * self.resolution, (cells[:, 0] + 0.5) * self.resolution], axis=1)

    def cell_of(self, xy: np.ndarray) -> tuple[int, int]:
        """(row, col) of the cell holding a world xy point, clipped to the grid."""
        ny, nx = self.clearance.shape
        col = int(np.clip(np.floor(xy[0] / self.resolution), 0, nx - 1))
        row = int(np.clip(np.floor(xy[1] / self.resolution), 0, ny - 1))
        return row, col

    def clearance_at(self, xy: np.ndarray) -> np.ndarray:
        """Clearance of the cells holding (N, 2) world points (nearest-cell lookup)."""
        xy = np.atleast_2d(xy)
        ny, nx = self.clearance.shape
        cols = np.clip(np.floor(xy[:, 0] / self.resolution).astype(int), 0, nx - 1)
        rows = np.clip(np.floor(xy[:, 1] / self.resolution).astype(int), 0, ny - 1)
        return self.clearance[rows, cols]

    def largest_component(self, min_clearance: float) -> np.ndarray:
        """Boolean mask of the largest 8-connected set of cells with clearance ≥ min_clearance."""
        remaining = self.clearance >= min_clearance
        best = np.zeros_like(remaining)
        while remaining.sum() > best.sum():
            seed = np.unravel_index(int(np.argmax(remaining)), remaining.shape)
            region = wavefront(remaining, seed) >= 0
            if region.sum() > best.sum():
                best = region
            remaining &= ~region
        return best

    def shortest_path(self, mask: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> np.ndarray:
        """(N, 2) (row, col) cells of a shortest 8-connected path inside mask from start to goal."""
        steps = wavefront(mask, goal)
        if steps[start] < 0:
            raise ValueError(f"no path from {start} to {goal} in the free grid")
        ny, nx = mask.shape
        path = [start]
        while path[-1] != goal:
            r, c = path[-1]
            for dr, dc in _NEIGHBOURS:
                rr, cc = r + dr, c + dc
                if 0 <= rr < ny and 0 <= cc < nx and steps[rr, cc] == steps[r, c] - 1:
                    path.append((rr, cc))
                    break
        return np.array(path, dtype=np.int64)

    def segment_free(self, mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the straight segment between world points a and b stays inside mask."""
        n = max(2, int(np.ceil(np.linalg.norm(b - a) / (0.5 * self.resolution))) + 1)
        pts = a[None, :] + np.linspace(0.0, 1.0, n)[:, None] * (b - a)[None, :]
        ny, nx = mask.shape
        cols = np.clip(np.floor(pts[:, 0] / self.resolution).astype(int), 0, nx - 1)
        rows = np.clip(np.floor(pts[:, 1] / self.resolution).astype(int), 0, ny - 1)
        return bool(mask[rows, cols].all())


def wavefront(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """8-connected step count from seed to every cell of mask reachable from it (-1 elsewhere)."""
    steps = np.full(mask.shape, -1, dtype=np.int32)
    if not mask[seed]:
        return steps
    steps[seed] = 0
    front = np.zeros(mask.shape, dtype=bool)
    front[seed] = True
    k = 0
    while front.any():
        k += 1
        # 8-neighbour dilation as a row pass followed by a column pass.
        rows = front.copy()
        rows[:, 1:] |= front[:, :-1]
        rows[:, :-1] |= front[:, 1:]
        grown = rows.copy()
        grown[1:, :] |= rows[:-1, :]
        grown[:-1, :] |= rows[1:, :]
        front = grown & mask & (steps < 0)
        steps[front] = k
    return steps
