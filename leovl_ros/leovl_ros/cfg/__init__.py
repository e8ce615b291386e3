"""The incremental Condensed Feature Grid: lifting, voxel store, condensation, CFG encoder."""

from leovl_ros.cfg.condense import TRAINING_BUDGET, ColumnBatch, CondenseConfig, condense
from leovl_ros.cfg.encoder import CFGEncoder, CFGEncoderConfig
from leovl_ros.cfg.lifting import LiftConfig, Lifted, lift
from leovl_ros.cfg.pipeline import fuse_frame, warm_up
from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

__all__ = [
    "TRAINING_BUDGET",
    "CFGEncoder",
    "CFGEncoderConfig",
    "ColumnBatch",
    "CondenseConfig",
    "LiftConfig",
    "Lifted",
    "VoxelStore",
    "VoxelStoreConfig",
    "condense",
    "fuse_frame",
    "lift",
    "warm_up",
]
