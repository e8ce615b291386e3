"""Geometry on synthetic rooms: fused columns match the seen floor + object footprints; fused colours name objects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import CondenseConfig, VoxelStore, VoxelStoreConfig, condense, fuse_frame, lift
from leovl_ros.cfg.stand_in import PooledColourEncoder

sim = pytest.importorskip("leovl_ros.sim.render", reason="synthetic renderer (helper SIM) not available")
from leovl_ros.sim import COLOURS, FLOOR_ID, generate_scene  # noqa: E402

CELL = CondenseConfig().cell_size
VOXEL = VoxelStoreConfig().voxel_size


def _columns_of(points: np.ndarray) -> set[tuple[int, int]]:
    """Grid columns (as condense bins them: via the 5 cm voxel centre) of world points."""
    centres = np.floor(points[:, :2] / VOXEL + 0.5) * VOXEL
    ij = np.floor(centres / CELL + 1e-9).astype(np.int64)
    return set(map(tuple, np.unique(ij, axis=0)))


def _backproject(frame, keep: np.ndarray) -> np.ndarray:
    """Full-resolution world points of the kept pixels (exact rendered depth)."""
    v, u = np.nonzero(keep)
    z = frame.depth[keep].astype(np.float64)
    cam = np.linalg.inv(frame.K) @ np.stack([u * z, v * z, z])
    return (frame.pose[:3, :3] @ cam + frame.pose[:3, 3:4]).T


pytestmark = pytest.mark.slow  # renders and fuses 2 × 40 frames (~1-2 min on 2 busy cores)


@pytest.fixture(scope="module", params=[3, 11])
def fused_room(request):
    """Render a short robot walk through a synthetic room and fuse floor + objects (walls masked out)."""
    scene = generate_scene(request.param)
    frames = list(sim.render_sequence(scene, 40, seed=request.param, width=320, height=240))
    enc = PooledColourEncoder(feature_dim=16, stride=8)
    store = VoxelStore(VoxelStoreConfig(feature_dim=16))
    colour_sum: dict[int, np.ndarray] = {}
    gt_cols: set[tuple[int, int]] = set()
    for f in frames:
        target = (f.instance >= 0) | (f.instance == FLOOR_ID)
        fuse_frame(store, f, enc, mask=target)
        gt_cols |= _columns_of(_backproject(f, target & (f.depth > 0)))
        for i in np.unique(f.instance[f.instance >= 0]):  # per-instance lifting for the colour check
            li = lift(f.depth, f.K, f.pose, (30, 40), rgb=f.rgb, mask=f.instance == i)  # same grid as enc
            w = li.pixels.double()
            acc = colour_sum.setdefault(int(i), np.zeros(4))
            acc[:3] += (li.colours.double() * w[:, None]).sum(0).numpy()
            acc[3] += float(w.sum())
    return scene, store, gt_cols, colour_sum


def test_occupied_columns_match_seen_floor_and_footprints(fused_room):
    scene, store, gt_cols, _ = fused_room
    batch = condense(store, CondenseConfig(refine=False, budget=10**6))
    pred = set(map(tuple, np.floor((batch.xy.numpy() + VOXEL / 2) / CELL).astype(np.int64).tolist()))
    iou = len(pred & gt_cols) / len(pred | gt_cols)
    assert iou >= 0.9, f"IoU {iou:.3f} ({len(pred)} predicted, {len(gt_cols)} ground-truth columns)"
    # the tall columns are where objects stand: every predicted column above 0.3 m lies in an object's footprint
    tall = batch.xy[batch.top_height > 0.3].numpy().astype(np.float64)
    in_fp = np.zeros(len(tall), dtype=bool)
    for obj in scene.objects:
        for dx in (-CELL / 2, 0.0, CELL / 2):  # any part of the cell
            for dy in (-CELL / 2, 0.0, CELL / 2):
                p = np.column_stack([tall[:, 0] + dx, tall[:, 1] + dy, np.full(len(tall), obj.center[2])])
                in_fp |= obj.contains(p, tol=0.05)
    assert in_fp.mean() >= 0.95, f"{(~in_fp).sum()} of {len(tall)} tall columns outside every footprint"


def _shaded_distance(mean: np.ndarray, named: np.ndarray, min_shade: float = 0.35) -> np.ndarray:
    """Distance of a fused colour to each named colour under the renderer's shading (a factor in [min_shade, 1]).

    The renderer multiplies an object's colour by a part shade × Lambert factor (ambient 0.6), so a blue object can
    come out as (14, 32, 96) — plain RGB distance would call that black.
    """
    s = np.clip(named @ mean / np.maximum((named * named).sum(1), 1e-12), min_shade, 1.0)
    return np.linalg.norm(named * s[:, None] - mean, axis=1)


def test_fused_colour_names_each_object(fused_room):
    scene, _, _, colour_sum = fused_room
    names = list(COLOURS)
    table = np.array([COLOURS[n] for n in names], dtype=np.float64) / 255.0
    wrong, checked = [], 0
    for oid, acc in colour_sum.items():
        if acc[3] < 50:  # glimpsed by a handful of pixels only
            continue
        mean = acc[:3] / acc[3]
        d = _shaded_distance(mean, table)
        true = scene.object_by_id(oid).colour
        checked += 1
        # nearest named colour, up to shading ties (white shaded to 45 % is gray): true one within 0.02 of the best
        if d[names.index(true)] > d.min() + 0.02:
            wrong.append((oid, true, names[int(np.argmin(d))], np.round(mean * 255)))
    assert not wrong, wrong
    assert checked >= 3


def test_condensed_tokens_within_budget(fused_room):
    _, store, _, _ = fused_room
    b = condense(store)
    assert b.unclipped_tokens <= 750 and len(b) <= 750
    assert b.voxel_tokens > b.unclipped_tokens
    assert torch.isfinite(b.features).all()
