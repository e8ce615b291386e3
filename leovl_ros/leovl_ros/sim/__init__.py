"""Procedural indoor rooms, Open3D ray-cast rendering and ground truth (the embedded default world)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from leovl_ros.sim.furnish import SceneConfig, generate_scene
from leovl_ros.sim.scene import (
    CEILING_ID,
    CLASSES,
    COLOURS,
    FLOOR_ID,
    NO_HIT,
    WALL_ID,
    Opening,
    Room,
    Scene,
    SceneObject,
    nearest_colour,
)

_LAZY = {
    "Renderer": "leovl_ros.sim.render",
    "RenderConfig": "leovl_ros.sim.render",
    "default_intrinsics": "leovl_ros.sim.render",
    "render_sequence": "leovl_ros.sim.render",
    "Visibility": "leovl_ros.sim.render",
    "robot_trajectory": "leovl_ros.sim.trajectory",
    "scan_poses": "leovl_ros.sim.trajectory",
    "TrajectoryConfig": "leovl_ros.sim.trajectory",
}
"""Names whose modules import Open3D, loaded on first use so ground-truth-only users stay light."""

__all__ = [
    "CEILING_ID", "CLASSES", "COLOURS", "FLOOR_ID", "NO_HIT", "WALL_ID", "Opening", "Room", "Scene", "SceneConfig",
    "SceneObject", "generate_scene", "nearest_colour", *_LAZY,
]


def __getattr__(name: str) -> Any:
    """Import the rendering side of the package on first access."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'leovl_ros.sim' has no attribute {name!r}")
