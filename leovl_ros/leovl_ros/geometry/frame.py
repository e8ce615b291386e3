"""The one RGB-D frame type every reader, the simulator and the nodes produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class Frame:
    """A posed RGB-D frame in a REP 103 world (metres, z up).

    ``pose`` is the camera-to-world transform of the camera *optical* frame (x right, y down,
    z forward). Invalid depth pixels are 0 or NaN; consumers mask them per pixel.
    """

    rgb: np.ndarray
    """H×W×3 uint8 colour image."""
    depth: np.ndarray
    """H×W float32 depth in metres along the optical axis; 0 or NaN where invalid."""
    K: np.ndarray
    """3×3 float64 pinhole intrinsics of the depth-aligned colour camera."""
    pose: np.ndarray
    """4×4 float64 camera(optical)-to-world transform, world z up."""
    stamp: float = 0.0
    """Capture time in seconds."""
    frame_id: str = ""
    """Source identifier (file stem, image number or ROS header frame)."""
    instance: Optional[np.ndarray] = None
    """H×W int32 instance ids (simulator ground truth only): object ids ≥ 0, else ``leovl_ros.sim.world``'s
    NO_HIT (-1), FLOOR_ID (-2), WALL_ID (-3), CEILING_ID (-4)."""

    def __post_init__(self) -> None:
        self.rgb = np.asarray(self.rgb)
        self.depth = np.asarray(self.depth, dtype=np.float32)
        self.K = np.asarray(self.K, dtype=np.float64)
        self.pose = np.asarray(self.pose, dtype=np.float64)
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(f"rgb must be H×W×3 uint8, got {self.rgb.shape} {self.rgb.dtype}")
        if self.depth.shape != self.rgb.shape[:2]:
            raise ValueError(f"depth {self.depth.shape} does not match rgb {self.rgb.shape[:2]}")
        if self.K.shape != (3, 3):
            raise ValueError(f"K must be 3×3, got {self.K.shape}")
        if self.pose.shape != (4, 4):
            raise ValueError(f"pose must be 4×4, got {self.pose.shape}")
        if self.instance is not None and self.instance.shape != self.depth.shape:
            raise ValueError(f"instance {self.instance.shape} does not match depth {self.depth.shape}")

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])

    def valid_depth_mask(self, min_depth: float = 0.0, max_depth: float = float("inf")) -> np.ndarray:
        """Per-pixel mask of usable depth (``valid_depth_mask`` of this frame's depth)."""
        return valid_depth_mask(self.depth, min_depth, max_depth)


def valid_depth_mask(depth: np.ndarray, min_depth: float = 0.0, max_depth: float = float("inf")) -> np.ndarray:
    """Per-pixel usable depth: finite, > 0 and within [min_depth, max_depth] (REP 118: 0, NaN, ±Inf = no return).

    The one definition of valid depth (the node's masking, frame consumers, alignment); the lifting kernels
    apply the same rule on their sampled pixels."""
    d = np.asarray(depth)
    with np.errstate(invalid="ignore"):
        return np.isfinite(d) & (d > 0) & (d >= min_depth) & (d <= max_depth)
