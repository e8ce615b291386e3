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
    assert np.array_equal(store.camera_pose, np.eye(4))  # the newest fused camera: "where are you?"
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
    from leovl_ros.cfg import compiled, warm_up

    store = VoxelStore(VoxelStoreConfig(feature_dim=8))
    seconds = warm_up(store.config, PooledColourEncoder(feature_dim=8, stride=16), (48, 64))
    assert seconds > 0 and len(store) == 0 and store.version == 0
    if compiled.AVAILABLE:  # every compiled loop of the per-frame path has a compiled specialisation now
        for name in ("lift_points", "reduce_frame", "find_slots", "append_new", "merge_sorted", "accumulate"):
            assert getattr(compiled, name).signatures, name


def _messages(h: int, w: int) -> tuple:
    """Image / CameraInfo stand-ins: plain objects with the messages' fields (what the codec reads)."""
    from types import SimpleNamespace

    header = SimpleNamespace(frame_id="cam", stamp=SimpleNamespace(sec=0, nanosec=0))
    rgb = np.full((h, w, 3), 90, np.uint8)
    mm = np.full((h, w), 2000, np.uint16)
    colour = SimpleNamespace(header=header, height=h, width=w, encoding="rgb8", is_bigendian=0, step=3 * w,
                             data=rgb.tobytes())
    depth = SimpleNamespace(header=header, height=h, width=w, encoding="16UC1", is_bigendian=0, step=2 * w,
                            data=mm.tobytes())
    k = [0.8 * w, 0.0, (w - 1) / 2, 0.0, 0.8 * w, (h - 1) / 2, 0.0, 0.0, 1.0]
    info = SimpleNamespace(height=h, width=w, k=k)
    return colour, depth, info


def test_frame_fuser_prepares_and_fuses_a_frame_of_any_message_like_objects():
    from leovl_ros.cfg.pipeline import FrameFuser, FrameFuserConfig

    fuser = FrameFuser(PooledColourEncoder(feature_dim=8, stride=16), FrameFuserConfig(input_width=64,
                                                                                       input_height=48))
    frame = fuser.prepare(*_messages(96, 128), np.eye(4), stamp_ns=1_500_000_000)
    assert frame.rgb.shape == (48, 64, 3) and frame.K[0, 0] == 0.8 * 64 and frame.stamp == 1.5
    store = VoxelStore(VoxelStoreConfig(feature_dim=8))
    assert fuser.fuse(store, frame) == 3 * 4 and len(store) > 0


def test_frame_fuser_rejects_images_below_min_image_size():
    """A 1×1 image with a matching 1×1 camera_info is rejected (size), as is anything below min_image_size."""
    import pytest

    from leovl_ros.agent.validation import InputRejected, Reason
    from leovl_ros.cfg.pipeline import FrameFuser, FrameFuserConfig

    fuser = FrameFuser(PooledColourEncoder(feature_dim=8, stride=16), FrameFuserConfig(min_image_size=16))
    for h, w in ((1, 1), (15, 64), (64, 15)):
        with pytest.raises(InputRejected) as err:
            fuser.prepare(*_messages(h, w), np.eye(4))
        assert err.value.rejection.reason == Reason.SIZE and "min_image_size" in err.value.rejection.detail
    fuser.decode(*_messages(16, 16))  # exactly the minimum passes
