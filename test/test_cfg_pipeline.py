"""fuse_frame: encoder features land in the voxels of the points lifted from the same cells."""

from __future__ import annotations

import numpy as np
import torch

from leovl_ros.cfg import LiftConfig, VoxelStore, VoxelStoreConfig, fuse_frame
from leovl_ros.cfg.stand_in import PooledColourEncoder
from leovl_ros.geometry import Frame

K = np.array([[100.0, 0.0, 31.5], [0.0, 100.0, 23.5], [0.0, 0.0, 1.0]])


def test_fuse_frame_assigns_each_cell_feature_to_its_point():
    """A wall 2 m ahead in two colours: every voxel's mean feature is the encoder feature of its colour."""
    rgb = np.zeros((48, 64, 3), dtype=np.uint8)
    rgb[:, :32] = (200, 30, 30)
    rgb[:, 32:] = (30, 70, 210)
    frame = Frame(rgb=rgb, depth=np.full((48, 64), 2.0, np.float32), K=K, pose=np.eye(4))
    enc = PooledColourEncoder(feature_dim=8, stride=16)
    store = VoxelStore(VoxelStoreConfig(feature_dim=8, voxel_size=0.05))
    n = fuse_frame(store, frame, enc)
    assert n == 3 * 4 and len(store) == n and store.version == 1
    feats = enc.encode(rgb)[0]  # [8, 3, 4]
    left, right = feats[:, 0, 0].double(), feats[:, 0, 3].double()
    x = store.voxel_centers()[:, 0]
    mf = store.mean_features()
    torch.testing.assert_close(mf[x < 0], left.expand(int((x < 0).sum()), 8))
    torch.testing.assert_close(mf[x > 0], right.expand(int((x > 0).sum()), 8))
    per_cell = (16 // LiftConfig().pixel_step) ** 2  # sampled pixels per 16×16 cell
    torch.testing.assert_close(store.weights(), torch.full((n,), float(per_cell), dtype=torch.float64))
    torch.testing.assert_close(store.mean_colours()[x < 0][0], torch.tensor([200, 30, 30]).double() / 255)


def test_warm_up_runs_the_whole_path_and_leaves_the_map_alone():
    """The start-up warm-up fuses into its own scratch store (compiling the CPU loops), never into the map."""
    from leovl_ros.cfg import cpu_kernels, warm_up

    store = VoxelStore(VoxelStoreConfig(feature_dim=8))
    seconds = warm_up(store.config, PooledColourEncoder(feature_dim=8, stride=16), (48, 64))
    assert seconds > 0 and len(store) == 0 and store.version == 0
    if cpu_kernels.AVAILABLE:  # every compiled loop of the per-frame path has a compiled specialisation now
        for name in ("lift_points", "reduce_frame", "find_slots", "append_new", "merge_sorted", "accumulate"):
            assert getattr(cpu_kernels, name).signatures, name
