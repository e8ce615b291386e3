"""One frame into the store: 2D encoder → lifting → voxel fusion."""

from __future__ import annotations

import time
from typing import Optional, Protocol

import numpy as np
import torch

from leovl_ros.cfg.lifting import LiftConfig, lift
from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
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
    lifted = lift(frame.depth, frame.K, frame.pose, tuple(feats.shape[2:]), rgb=frame.rgb, config=lift_config,
                  mask=mask)
    store.fuse(lifted.points, lifted.gather(feats[0]), lifted.colours, weights=lifted.pixels)
    return len(lifted)


def warm_up(store_config: VoxelStoreConfig, encoder2d: FeatureSource, image_hw: tuple[int, int],
            lift_config: Optional[LiftConfig] = None) -> float:
    """Fuse two synthetic frames (a wall 2 m ahead) into a scratch store with ``store_config``'s layout, so the first
    real frame does not pay for compiling the CPU loops (numba: ~10 s once per install, ~0.5 s from its disk cache)
    or for the encoder's first call. Returns the seconds it took."""
    t0 = time.perf_counter()
    H, W = image_hw
    K = np.array([[0.8 * W, 0.0, (W - 1) / 2], [0.0, 0.8 * W, (H - 1) / 2], [0.0, 0.0, 1.0]])
    depth = np.full((H, W), 2.0, dtype=np.float32)
    depth[: H // 4] = 0.0  # a few invalid pixels, as real cameras give
    rgb = np.full((H, W, 3), 128, dtype=np.uint8)
    scratch = VoxelStore(store_config)  # same layout and path; only its initial slots are allocated
    for shift in (0.0, 0.5):  # the second frame finds, adds to and merges into existing voxels
        pose = np.eye(4)
        pose[0, 3] = shift
        fuse_frame(scratch, Frame(rgb=rgb, depth=depth, K=K, pose=pose), encoder2d, lift_config)
    return time.perf_counter() - t0
