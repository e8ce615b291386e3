"""Procedural indoor rooms and their ground truth: one import point for the data model and the furnisher.

The data model (rooms, openings, objects, scenes, class and colour names, instance ids) lives in
:mod:`leovl_ros.sim.scene`; the procedural placement (:func:`generate_scene`, class specs, room kinds) in
:mod:`leovl_ros.sim.furnish`. Much of the project imports both from here, so this module re-exports them.
"""

from __future__ import annotations

from leovl_ros.sim.furnish import CLASS_SPECS, ROOM_KINDS, ClassSpec, SceneConfig, generate_scene
from leovl_ros.sim.scene import (
    CEILING_ID,
    CLASSES,
    COLOURS,
    FLOOR_ID,
    NO_HIT,
    WALL_ID,
    WALLS,
    Opening,
    Room,
    Scene,
    SceneObject,
    boxes_overlap,
    nearest_colour,
    support_surface,
)

__all__ = [
    "CEILING_ID", "CLASSES", "CLASS_SPECS", "COLOURS", "FLOOR_ID", "NO_HIT", "ROOM_KINDS", "WALLS", "WALL_ID",
    "ClassSpec", "Opening", "Room", "Scene", "SceneConfig", "SceneObject", "boxes_overlap", "generate_scene",
    "nearest_colour", "support_surface",
]
