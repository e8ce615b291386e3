"""Real frames: fusing the 211 livingroom frames reproduces the extents of the seen corner of the room.

Expected numbers are derived from the data here, independently of the library: every valid pixel of every frame
(0.1–8 m) is back-projected at full resolution with plain numpy and histogrammed at 1 cm per axis; its 1st–99th
percentiles are the reference (about 1.6 × 3.1 m of floor, heights from the floor to ~1.35 m). The store's
weighted percentiles (weights = pixels pooled) of its voxel centres (x, y) and mean heights (z) must agree within
5 cm: one store voxel (x, y are quantised to the 5 cm lattice) — pooling 16 × 16 pixels moves points by well
under a voxel, and the 1 cm histogram adds at most 1 cm.
"""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.cfg import CondenseConfig, VoxelStore, VoxelStoreConfig, condense, fuse_frame
from leovl_ros.cfg.stand_in import PooledColourEncoder

pytestmark = pytest.mark.slow  # 211 frames read, fused and back-projected at full resolution (~30-60 s)

RES, LO, BINS = 0.01, -10.0, 2000


def _weighted_percentile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    return float(x[order][np.searchsorted(cw, q)])


def _hist_percentile(h: np.ndarray, q: float) -> float:
    return LO + RES * float(np.searchsorted(np.cumsum(h) / h.sum(), q))


@pytest.fixture(scope="module")
def livingroom(shared_data):
    from leovl_ros.io.rgbd import read_redwood

    seq = read_redwood(shared_data / "rgbd" / "livingroom1_clean_micro")
    store = VoxelStore(VoxelStoreConfig(feature_dim=16))
    enc = PooledColourEncoder(feature_dim=16, stride=16)
    hist = np.zeros((3, BINS))
    for f in seq:
        fuse_frame(store, f, enc)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(f.depth) & (f.depth >= 0.1) & (f.depth <= 8.0)
        v, u = np.nonzero(valid)
        z = f.depth[valid].astype(np.float64)
        pw = f.pose[:3, :3] @ (np.linalg.inv(f.K) @ np.stack([u * z, v * z, z])) + f.pose[:3, 3:4]
        for a in range(3):
            hist[a] += np.bincount(np.clip(((pw[a] - LO) / RES).astype(np.int64), 0, BINS - 1), minlength=BINS)
    return len(seq), store, hist


def test_extents_match_full_resolution_backprojection(livingroom):
    n, store, hist = livingroom
    assert n == 211
    c, w = store.voxel_centers().numpy(), store.weights().numpy()
    values = [c[:, 0], c[:, 1], store.mean_heights().numpy()]
    for a in range(3):
        for q in (0.01, 0.99):
            ref, got = _hist_percentile(hist[a], q), _weighted_percentile(values[a], w, q)
            assert abs(got - ref) <= 0.05, (a, q, ref, got)
    ref_ext = [_hist_percentile(hist[a], 0.99) - _hist_percentile(hist[a], 0.01) for a in range(3)]
    # the data README's description: ~3.1 × 1.5 m of floor, floor to ~1.3-1.7 m, floor at z = 0 after alignment
    assert sorted(ref_ext[:2]) == pytest.approx([1.57, 3.12], abs=0.05)
    assert abs(_hist_percentile(hist[2], 0.01)) <= 0.03 and 1.2 <= _hist_percentile(hist[2], 0.99) <= 1.8


def test_livingroom_condenses_far_below_the_budget(livingroom):
    _, store, _ = livingroom
    b = condense(store, CondenseConfig())
    assert 0 < b.unclipped_tokens <= 750 and len(b) <= 750
    assert b.voxel_tokens >= 2 * b.unclipped_tokens
