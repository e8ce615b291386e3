"""Condensation: columns, cubic voxel tokens, padding, ordering and the multi-resolution budget rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import TRAINING_BUDGET, CondenseConfig, VoxelStore, VoxelStoreConfig, condense

D = 4


def _room_store(side: float = 6.0, seed: int = 0) -> VoxelStore:
    """A floor of side × side metres (z = 0, red) and two 1 m tall walls of a box (blue) in a corner, at 2 cm.

    Cells cover [k·0.3 − 0.025, (k+1)·0.3 − 0.025) (whole 5 cm store voxels), so the floor stops at side − 0.03.
    """
    g = np.arange(0.01, side - 0.03, 0.02)
    xx, yy = np.meshgrid(g, g)
    floor = np.column_stack([xx.ravel(), yy.ravel(), np.zeros(xx.size)])
    zz = np.arange(0.01, 1.0, 0.02)
    bx, bz = np.meshgrid(np.arange(0.01, 0.56, 0.02), zz)
    box = np.concatenate([np.column_stack([bx.ravel(), np.full(bx.size, y), bz.ravel()]) for y in (0.01, 0.55)])
    pts = torch.tensor(np.concatenate([floor, box]), dtype=torch.float32)
    feats = torch.zeros(len(pts), D)
    feats[len(floor):, 0] = 1.0
    cols = torch.zeros(len(pts), 3)
    cols[: len(floor), 0] = 1.0
    cols[len(floor):, 2] = 1.0
    s = VoxelStore(VoxelStoreConfig(feature_dim=D))
    s.fuse(pts, feats, cols)
    return s


def test_columns_tokens_and_padding():
    s = _room_store()
    b = condense(s, CondenseConfig(cell_size=0.3, refine=False))
    assert b.unclipped_tokens == 20 * 20 == len(b)  # 6 m / 0.3 m
    # floor: one 0.3 m cubic voxel per column; the box columns (x, y < 0.6) have bins at z = 0, .3, .6, .9
    assert b.voxel_tokens == 400 + 4 * 3
    assert b.features.shape == (400, 4, D) and b.mask.shape == (400, 4)
    assert int(b.mask.sum()) == b.voxel_tokens
    assert torch.equal(b.key, torch.sort(b.key).values)  # deterministic order
    tall = b.top_height > 0.5
    assert int(tall.sum()) == 4
    torch.testing.assert_close(b.xy[tall].min(0).values, torch.tensor([0.125, 0.125]))
    torch.testing.assert_close(b.colour[~tall], torch.tensor([[1.0, 0.0, 0.0]]).expand(396, 3))
    # bins are bottom-up, padding is zero and masked
    h = b.heights[tall]
    assert bool((h[:, 1:] > h[:, :-1]).all())
    assert float(b.weights[~b.mask].abs().sum()) == 0.0
    torch.testing.assert_close(b.cell_size, torch.full((400,), 0.3))


def test_voxel_tokens_without_condensation_are_the_occupied_cubic_voxels():
    s = _room_store()
    cols = condense(s, CondenseConfig(cell_size=0.3, refine=False))
    vox = condense(s, CondenseConfig(cell_size=0.3, budget=10, voxel_tokens=True))  # no budget applies
    assert len(vox) == cols.voxel_tokens == 412 and vox.mask.shape == (412, 1) and bool(vox.mask.all())
    assert torch.equal(vox.key, torch.sort(vox.key).values) and vox.key.unique().numel() == 412
    # the same bins, one per token, at their column's centre
    torch.testing.assert_close(vox.features[:, 0], cols.features[cols.mask])
    torch.testing.assert_close(vox.heights[:, 0], cols.heights[cols.mask])
    torch.testing.assert_close(vox.xy, cols.xy[torch.nonzero(cols.mask)[:, 0]])
    assert int((vox.top_height > 0.5).sum()) == 4 * 2  # the box's bins at z = .6 and .9


def test_refinement_splits_detailed_columns_within_budget():
    s = _room_store()
    b = condense(s, CondenseConfig(cell_size=0.3, budget=750))
    fine = b.level == -1
    assert int(fine.sum()) == 16  # only the 4 base columns holding the box split, each into 4 half-size columns
    assert bool((b.xy[fine] < 0.6).all()) and int((b.top_height[fine] > 0.5).sum()) == 8
    assert len(b) <= 750 and b.unclipped_tokens == 400
    torch.testing.assert_close(b.cell_size[fine], torch.full((int(fine.sum()),), 0.15))
    tight = condense(s, CondenseConfig(cell_size=0.3, budget=401))
    assert len(tight) <= 401


def test_coarsening_merges_flat_floor_first_and_respects_budget():
    s = _room_store(side=9.0)  # 30 × 30 = 900 base columns > 750
    b = condense(s)
    assert b.unclipped_tokens == 900 and len(b) <= 750 and b.clipped_tokens == 0
    assert bool((b.level[b.top_height > 0.5] == 0).all())  # detailed columns keep the base resolution
    assert int((b.level > 0).sum()) > 0
    small = condense(s, CondenseConfig(budget=TRAINING_BUDGET))
    assert len(small) <= TRAINING_BUDGET
    # total weight is conserved by merging
    torch.testing.assert_close(small.weights.sum().double(), s.weights().sum(), rtol=1e-6, atol=0)
    tiny = condense(s, CondenseConfig(budget=3, max_level=2))
    assert len(tiny) == 3 and tiny.clipped_tokens > 0


def test_empty_store_gives_an_empty_batch():
    b = condense(VoxelStore(VoxelStoreConfig(feature_dim=D)))
    assert len(b) == 0 and b.features.shape[0] == 0 and b.voxel_tokens == 0


def test_cells_must_hold_whole_voxel_columns():
    pts, feats = torch.rand(200, 3) * 2, torch.randn(200, D)
    coarse = VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=0.1))
    coarse.fuse(pts, feats)
    # 0.3 m cells hold 3 × 3 voxel columns, but the refined 0.15 m halves would hold 1.5 × 1.5
    with pytest.raises(ValueError, match=r"cell_size / 2 .* 0\.15 m is not a whole number of 0\.1 m voxels.*0\.075"):
        condense(coarse)
    assert condense(coarse, CondenseConfig(refine=False)).unclipped_tokens > 0
    assert condense(coarse, CondenseConfig(voxel_tokens=True)).voxel_tokens > 0  # no refinement there
    odd = VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=0.07))
    odd.fuse(pts, feats)
    with pytest.raises(ValueError, match=r"cell_size = 0\.3 m is not a whole number of 0\.07 m voxels.*0\.06 m"):
        condense(odd, CondenseConfig(refine=False))
    for v in (0.025, 0.05, 0.075, 0.15):  # the sizes that divide the default 0.15 m half-cell
        s = VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=v))
        s.fuse(pts, feats)
        assert len(condense(s)) > 0


def test_height_bins_hold_whole_voxel_layers():
    # 0.3 m bins centred on z = 0, shifted down by half a 5 cm voxel: bin 0 = [-0.175, 0.125), bin 1 = [0.125, 0.425)
    z = [-0.18, -0.17, 0.0, 0.12, 0.13, 0.14, 0.42, 0.43]
    s = VoxelStore(VoxelStoreConfig(feature_dim=D))
    s.fuse(torch.tensor([[0.0, 0.0, h] for h in z]), torch.randn(len(z), D))
    b = condense(s, CondenseConfig(refine=False))
    assert b.voxel_tokens == 4 and len(b) == 1
    assert b.weights[0].tolist() == [1, 3, 3, 1]
    assert np.allclose(b.heights[0].numpy(), [-0.18, (-0.17 + 0.0 + 0.12) / 3, (0.13 + 0.14 + 0.42) / 3, 0.43],
                       atol=1e-6), "each bin keeps its points' mean height"
