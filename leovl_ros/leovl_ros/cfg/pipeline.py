"""One frame into the store: 2D encoder → lifting → voxel fusion."""

from __future__ import annotations

from typing import Optional, Protocol

import numpy as np
import torch

from leovl_ros.cfg.lifting import LiftConfig, lift
from leovl_ros.cfg.voxel_store import VoxelStore
from leovl_ros.geometry import Frame


class FeatureSource(Protocol):
    """What fusion needs of a 2D encoder (the ImageEncoder contract of ``leovl_ros.model``)."""

    feature_dim: int

    def encode(self, rgb: np.ndarray) -> torch.Tensor:
        """H×W×3 uint8 image → [B, D, h, w] float32 features."""
        ...


def fuse_frame(
    store: VoxelStore,
    frame: Frame,
    encoder2d: FeatureSource,
    lift_config: Optional[LiftConfig] = None,
    mask: Optional[np.ndarray] = None,
) -> int:
    """Encode, lift to the feature grid and fuse (weight = pixels pooled per point); returns points fused."""
    feats = encoder2d.encode(frame.rgb)
    if feats.ndim != 4 or feats.shape[0] != 1:
        raise ValueError(f"encoder must return [1, D, h, w] for one image, got {tuple(feats.shape)}")
    D, h, w = feats.shape[1:]
    lifted = lift(frame.depth, frame.K, frame.pose, (h, w), rgb=frame.rgb, config=lift_config, mask=mask)
    per_point = feats[0].reshape(D, h * w).T.to(lifted.cell_index.device)[lifted.cell_index]
    store.fuse(lifted.points, per_point, lifted.colours, weights=lifted.pixels)
    return len(lifted)
