"""Ray-cast rendering of a scene with Open3D: shaded RGB, metric depth and per-pixel instance ids.

The whole scene is one triangle mesh in an Open3D ``RaycastingScene``. Per triangle we precompute its instance
id and its Lambert-shaded colour (a fixed directional light plus ambient, both faces lit), so a frame costs one
ray generation and one ``cast_rays`` in Open3D's C++ plus two gathers. Rays come from ``create_rays_pinhole``,
whose camera-frame directions have unit z, so ``t_hit`` is the depth along the optical axis.

``RenderConfig.appearance`` (``leovl_ros.sim.appearance``) turns on camera-like randomisation: per-pixel lighting,
textures and highlights, the camera's response and a depth sensor's artefacts. Its per-frame draws follow the
renderer's ``seed`` and the number of frames it has rendered; with every effect off the output is the flat-shaded
one above, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import open3d as o3d

from leovl_ros.geometry import Frame
from leovl_ros.sim.appearance import AppearanceConfig, SceneAppearance
from leovl_ros.sim.meshes import box_mesh, object_mesh
from leovl_ros.sim.scene import CEILING_ID, FLOOR_ID, NO_HIT, WALL_ID, Room, Scene
from leovl_ros.sim.trajectory import robot_trajectory

__all__ = ["TRAINING_STRIDE", "RenderConfig", "Renderer", "Visibility", "default_intrinsics", "render_sequence",
           "robot_trajectory"]

TRAINING_STRIDE = 4
"""Pixel stride of the instance images on which training decides which objects a rendered walk saw."""


@dataclass
class RenderConfig:
    """Shading parameters of the ray-cast renderer."""

    ambient: float = 0.6
    """Share of light that reaches every face regardless of orientation (keeps colours recognisable)."""
    light_dir: tuple[float, float, float] = (0.4, 0.25, 1.0)
    """Direction towards the directional light (normalised on use)."""
    background_rgb: tuple[int, int, int] = (200, 220, 240)
    """Colour of rays that leave the room (through doors and windows)."""
    tile_contrast: float = 0.08
    """Brightness difference between neighbouring floor tiles."""
    threads: int = 0
    """Open3D ray-casting threads (0 = all cores)."""
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    """Camera-like randomisation of colour and depth (all effects off by default: the flat-shaded frames)."""


def default_intrinsics(width: int = 640, height: int = 480) -> np.ndarray:
    """Pinhole K with a Kinect-like field of view (f = 525 px at 640 wide), square pixels, centred."""
    f = 525.0 * width / 640.0
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def scene_mesh(scene: Scene,
               config: RenderConfig | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World vertices, triangles, per-triangle instance ids and per-triangle unlit RGB albedo (0–1) of the scene."""
    config = config or RenderConfig()
    verts, tris, ids, rgbs = [], [], [], []
    offset = 0

    def add(v: np.ndarray, t: np.ndarray, instance: int, rgb: np.ndarray) -> None:
        nonlocal offset
        verts.append(v)
        tris.append(t + offset)
        ids.append(np.full(len(t), instance, dtype=np.int32))
        rgbs.append(np.broadcast_to(rgb, (len(t), 3)))
        offset += len(v)

    for obj in scene.objects:
        v, t, shade = object_mesh(obj.cls, obj.size, obj.center, obj.yaw)
        add(v, t, obj.id, shade[:, None] * np.asarray(obj.rgb, dtype=np.float64) / 255.0)
    rng = np.random.default_rng([int(scene.seed), 1])
    for v, t, rgb in _floor_tiles(scene.room, rng, config.tile_contrast):
        add(v, t, FLOOR_ID, rgb)
    wall_rgb = np.asarray(scene.room.wall_rgb, dtype=np.float64) / 255.0
    for center, size in _wall_boxes(scene.room):
        v, t = box_mesh(center, size)
        add(v, t, WALL_ID, wall_rgb)
    if scene.room.ceiling:
        w = scene.room.wall_thickness
        lx, ly = scene.room.size
        v, t = box_mesh(np.array([lx / 2, ly / 2, scene.room.height + w / 2]), np.array([lx + 2 * w, ly + 2 * w, w]))
        add(v, t, CEILING_ID, wall_rgb)
    return np.vstack(verts), np.vstack(tris), np.concatenate(ids), np.vstack(rgbs)


def _lambert(vertices: np.ndarray, triangles: np.ndarray, config: RenderConfig) -> np.ndarray:
    """Per-triangle two-sided Lambert factor under the directional light plus ambient."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    light = np.asarray(config.light_dir, dtype=np.float64)
    light /= np.linalg.norm(light)
    return config.ambient + (1.0 - config.ambient) * np.abs(normals @ light)


def _floor_tiles(room: Room, rng: np.random.Generator, contrast: float):
    """Quads of a tiled floor at z = 0 with checker and per-tile brightness variation (yields v, t, rgb)."""
    base = np.asarray(room.floor_rgb, dtype=np.float64) / 255.0
    xs = np.append(np.arange(0.0, room.size[0], room.floor_tile), room.size[0])
    ys = np.append(np.arange(0.0, room.size[1], room.floor_tile), room.size[1])
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            if xs[i + 1] - xs[i] < 1e-6 or ys[j + 1] - ys[j] < 1e-6:
                continue
            v = np.array([[xs[i], ys[j], 0.0], [xs[i + 1], ys[j], 0.0], [xs[i + 1], ys[j + 1], 0.0],
                          [xs[i], ys[j + 1], 0.0]])
            t = np.array([[0, 1, 2], [0, 2, 3]])
            factor = 1.0 - contrast * ((i + j) % 2) + rng.uniform(-contrast, contrast) / 2
            yield v, t, np.clip(base * factor, 0.0, 1.0)


def _wall_boxes(room: Room) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, size) boxes of the four walls outside the room rectangle, with the openings left out."""
    lx, ly = room.size
    w, h = room.wall_thickness, room.height
    boxes = []
    for wall in range(4):
        length = room.wall_length(wall)
        lo, hi = (-w, length + w) if wall in (0, 2) else (0.0, length)
        holes = sorted((o for o in room.openings if o.wall == wall), key=lambda o: o.center)
        cuts = sorted({lo, hi, *(o.center - o.width / 2 for o in holes), *(o.center + o.width / 2 for o in holes)})
        for a, b in zip(cuts[:-1], cuts[1:]):
            mid = (a + b) / 2
            hole = next((o for o in holes if o.center - o.width / 2 <= mid <= o.center + o.width / 2), None)
            spans = [(0.0, h)] if hole is None else [(0.0, hole.bottom), (hole.top, h)]
            for z0, z1 in spans:
                if z1 - z0 < 1e-6 or b - a < 1e-6:
                    continue
                along, across = (a + b) / 2, {0: -w / 2, 1: lx + w / 2, 2: ly + w / 2, 3: -w / 2}[wall]
                if wall in (0, 2):
                    center, size = np.array([along, across, (z0 + z1) / 2]), np.array([b - a, w, z1 - z0])
                else:
                    center, size = np.array([across, along, (z0 + z1) / 2]), np.array([w, b - a, z1 - z0])
                boxes.append((center, size))
    return boxes


class Renderer:
    """Renders frames of one scene for one camera (image size and intrinsics fixed at construction)."""

    def __init__(self, scene: Scene, width: int = 640, height: int = 480, K: np.ndarray | None = None,
                 config: RenderConfig | None = None, seed: int = 0) -> None:
        """``seed`` picks the per-frame draws of ``config.appearance`` (unused while it is off)."""
        self.scene = scene
        self.width, self.height = int(width), int(height)
        self.K = default_intrinsics(self.width, self.height) if K is None else np.asarray(K, dtype=np.float64)
        self.config = config or RenderConfig()
        self.seed = int(seed)
        self.frames_rendered = 0
        """Frames rendered so far: the n-th frame's appearance draws come from (scene seed, seed, n)."""
        vertices, triangles, ids, albedo = scene_mesh(scene, self.config)
        self._appearance: SceneAppearance | None = None
        if self.config.appearance.enabled:
            self._appearance = SceneAppearance(scene, vertices, triangles, ids, albedo, self.config.appearance,
                                               self.config.light_dir, self.config.ambient, self.config.background_rgb)
        colours = albedo * _lambert(vertices, triangles, self.config)[:, None]
        self._raycaster = o3d.t.geometry.RaycastingScene()
        self._raycaster.add_triangles(o3d.core.Tensor(vertices.astype(np.float32)),
                                      o3d.core.Tensor(triangles.astype(np.uint32)))
        self._n_tris = len(triangles)
        # One extra entry at index n_tris stands for "no hit" (Open3D reports the max uint32 there).
        background = np.asarray(self.config.background_rgb, dtype=np.float64)[None, :] / 255.0
        self._tri_rgb = np.round(np.vstack([colours, background]) * 255.0).clip(0, 255).astype(np.uint8)
        self._tri_id = np.append(ids, np.int32(NO_HIT)).astype(np.int32)
        # Open3D samples pixel centres at (u + 0.5, v + 0.5); shifting the principal point by half a pixel makes
        # ray (u, v) pass through K⁻¹ [u, v, 1] as everywhere else in this project. Its camera-frame directions
        # have z = 1, so t_hit is the depth along the optical axis.
        self._K_rays = o3d.core.Tensor(self.K + np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]))

    @property
    def n_triangles(self) -> int:
        """Triangles in the scene mesh."""
        return self._n_tris

    def rays(self, pose: np.ndarray) -> o3d.core.Tensor:
        """(H, W, 6) world rays of a camera pose: origin and direction with unit optical-z component."""
        world_to_camera = np.linalg.inv(np.asarray(pose, dtype=np.float64))
        return o3d.t.geometry.RaycastingScene.create_rays_pinhole(self._K_rays, o3d.core.Tensor(world_to_camera),
                                                                   self.width, self.height)

    def cast(self, rays: o3d.core.Tensor) -> dict[str, o3d.core.Tensor]:
        """Open3D's raw ray cast (no shading): the cost floor of render()."""
        return self._raycaster.cast_rays(rays, nthreads=self.config.threads)

    def render(self, pose: np.ndarray, stamp: float = 0.0, frame_id: str = "") -> Frame:
        """RGB, depth (metres along optical z; 0 where nothing is hit) and instance ids seen from pose."""
        rays = self.rays(pose)
        hit = self.cast(rays)
        index = np.minimum(hit["primitive_ids"].numpy(), self._n_tris)
        depth = hit["t_hit"].numpy()
        depth[index == self._n_tris] = 0.0
        if self._appearance is None:
            rgb = np.take(self._tri_rgb, index, axis=0)
        else:
            rng = np.random.default_rng([int(self.scene.seed), self.seed, self.frames_rendered, 0xF4A3])
            rgb, facts = self._appearance.colour(index, rays.numpy(), depth, self.K, rng)
            depth = self._appearance.depth(depth, facts, self.K, rng)
        self.frames_rendered += 1
        return Frame(rgb=rgb, depth=depth, K=self.K.copy(), pose=np.array(pose, dtype=np.float64), stamp=stamp,
                     frame_id=frame_id, instance=np.take(self._tri_id, index))


def render_sequence(scene: Scene, n_frames: int, seed: int = 0, width: int = 640, height: int = 480,
                    fps: float = 30.0, K: np.ndarray | None = None, config: RenderConfig | None = None
                    ) -> Iterator[Frame]:
    """Frames along robot_trajectory(scene, n_frames, seed), stamped i / fps, frame ids "0", "1", …; ``config``'s
    appearance randomisation (if on) draws per frame from ``seed`` too."""
    renderer = Renderer(scene, width, height, K, config, seed=seed)
    for i, pose in enumerate(robot_trajectory(scene, n_frames, seed, fps=fps)):
        yield renderer.render(pose, stamp=i / fps, frame_id=str(i))


@dataclass
class Visibility:
    """How much of each object a sequence of rendered frames shows (from their instance ids).

    ``Visibility(stride=TRAINING_STRIDE).seen(min_pixels=1)`` is the rule training uses to decide which objects a
    walk saw (any pixel of the object on every ``stride``-th row and column of any frame).
    """

    stride: int = 1
    """Count every stride-th row and column of the instance image (1 = every pixel)."""
    pixels: dict[int, int] = field(default_factory=dict)
    """Object id → visible pixels summed over frames."""
    frames: dict[int, int] = field(default_factory=dict)
    """Object id → number of frames in which it is visible."""

    def add(self, frame: Frame) -> Frame:
        """Count one frame's object pixels; returns the frame so the call can sit inside a pipeline."""
        ids, counts = np.unique(frame.instance[:: self.stride, :: self.stride], return_counts=True)
        for i, c in zip(ids.tolist(), counts.tolist()):
            if i >= 0:
                self.pixels[i] = self.pixels.get(i, 0) + c
                self.frames[i] = self.frames.get(i, 0) + 1
        return frame

    def seen(self, min_pixels: int = 50, min_frames: int = 1) -> set[int]:
        """Ids of objects with at least min_pixels visible pixels over at least min_frames frames."""
        return {i for i, n in self.pixels.items() if n >= min_pixels and self.frames[i] >= min_frames}
