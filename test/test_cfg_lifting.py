"""Lifting: pooled per-cell points equal the mean of the per-pixel back-projections, for any feature-map size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import LiftConfig, lift

pytestmark = pytest.mark.usefixtures("cfg_backend")  # every test on the compiled and the torch path

K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])


def _pose(seed: int) -> np.ndarray:
    """A random rigid camera-to-world transform."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    T = np.eye(4)
    T[:3, :3] = q * np.sign(np.linalg.det(q))
    T[:3, 3] = rng.normal(size=3)
    return T


def _reference(depth, rgb, K, T, hw, cfg):
    """Plain numpy: back-project every valid (sampled) pixel, then average per cell (floor(v·h/H), floor(u·w/W))."""
    H, W = depth.shape
    h, w = hw
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth) & (depth > 0) & (depth >= cfg.min_depth) & (depth <= cfg.max_depth)
    lattice = np.zeros_like(valid)
    lattice[:: cfg.pixel_step, :: cfg.pixel_step] = True
    valid &= lattice
    v, u = np.nonzero(valid)
    z = depth[valid].astype(np.float64)
    cam = np.linalg.inv(K) @ np.stack([u * z, v * z, z])
    world = (T[:3, :3] @ cam + T[:3, 3:4]).T
    cell = (v * h // H) * w + (u * w // W)
    n = np.bincount(cell, minlength=h * w)
    sums = np.stack([np.bincount(cell, world[:, i], h * w) for i in range(3)], 1)
    cols = np.stack([np.bincount(cell, rgb[valid][:, i] / 255.0, h * w) for i in range(3)], 1)
    idx = np.nonzero(n)[0]
    return idx, sums[idx] / n[idx, None], cols[idx] / n[idx, None], n[idx]


def _frame(seed: int, H: int = 480, W: int = 640):
    """Random depth with holes, NaN, Inf and out-of-range pixels, plus a random image."""
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.3, 6.0, (H, W)).astype(np.float32)
    depth[rng.random((H, W)) < 0.05] = 0.0
    depth[rng.random((H, W)) < 0.02] = np.nan
    depth[rng.random((H, W)) < 0.01] = np.inf
    depth[rng.random((H, W)) < 0.02] = 9.5  # beyond max_depth
    depth[rng.random((H, W)) < 0.02] = 0.05  # below min_depth
    depth[:32, :48] = 0.0  # whole cells without valid depth are skipped
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    return depth, rgb


@pytest.mark.parametrize("hw,step", [((30, 40), 1), ((60, 80), 1), ((29, 41), 1), ((17, 23), 1), ((480, 640), 1),
                                     ((30, 40), 2), ((29, 41), 2), ((17, 23), 3)])
def test_lift_equals_mean_of_pixel_backprojections(hw, step):
    depth, rgb = _frame(1)
    T = _pose(2)
    cfg = LiftConfig(foreground_band=None, pixel_step=step, colour_step=1)
    out = lift(depth, K, T, hw, rgb=rgb, config=cfg)
    idx, pts, cols, n = _reference(depth, rgb, K, T, hw, cfg)
    np.testing.assert_array_equal(out.cell_index.numpy(), idx)
    np.testing.assert_array_equal(out.pixels.numpy(), n)
    np.testing.assert_allclose(out.points.numpy(), pts, atol=2e-4)
    np.testing.assert_allclose(out.colours.numpy(), cols, atol=1e-5)
    assert out.points.dtype == torch.float32 and out.cell_index.dtype == torch.int64


def test_lift_accepts_torch_input_and_caller_mask():
    depth, rgb = _frame(3)
    mask = np.zeros(depth.shape, dtype=bool)
    mask[:, 320:] = True
    cfg = LiftConfig(foreground_band=None, pixel_step=1)
    T = torch.from_numpy(_pose(0))
    out = lift(torch.from_numpy(depth), torch.from_numpy(K), T, (30, 40), config=cfg, mask=mask)
    assert out.colours is None
    assert bool((out.cell_index % 40 >= 20).all())  # only the right half of the feature map
    ref = lift(np.where(mask, depth, 0.0).astype(np.float32), K, _pose(0), (30, 40), config=cfg)
    torch.testing.assert_close(out.points, ref.points)


def test_colour_subsampling_is_close_to_full_colour_on_smooth_images():
    depth, _ = _frame(4)
    yy, xx = np.mgrid[0:480, 0:640]
    rgb = np.stack([xx * 255 // 639, yy * 255 // 479, np.full_like(xx, 128)], -1).astype(np.uint8)
    full = lift(depth, K, np.eye(4), (30, 40), rgb=rgb, config=LiftConfig(pixel_step=1, colour_step=1))
    sub = lift(depth, K, np.eye(4), (30, 40), rgb=rgb, config=LiftConfig(pixel_step=1, colour_step=2))
    # the ramp changes 16 · (255/639) / 255 ≈ 0.025 across one 16-px cell: sampling can shift a mean by at most that
    assert float((full.colours - sub.colours).abs().max()) <= 0.026
    assert float((full.colours - sub.colours).abs().mean()) < 0.005


def test_foreground_band_keeps_cells_on_the_front_surface():
    """A cell straddling a depth edge (1 m object in front of a 3 m wall) lifts onto the object, not in between."""
    depth = np.full((480, 640), 3.0, dtype=np.float32)
    depth[:, :328] = 1.0  # edge inside the 16-px cell spanning columns 320..335
    on = lift(depth, K, np.eye(4), (30, 40))
    off = lift(depth, K, np.eye(4), (30, 40), config=LiftConfig(foreground_band=None))
    z_on, z_off = on.points[:, 2].numpy(), off.points[:, 2].numpy()
    assert set(np.round(z_on, 4)) == {1.0, 3.0}
    assert np.any((z_off > 1.5) & (z_off < 2.5))  # plain averaging makes flying points


def test_pixel_step_never_skips_feature_cells():
    depth = np.random.default_rng(5).uniform(0.5, 4.0, (480, 640)).astype(np.float32)
    full = lift(depth, K, np.eye(4), (240, 320), config=LiftConfig(foreground_band=None, pixel_step=1))
    stepped = lift(depth, K, np.eye(4), (240, 320), config=LiftConfig(foreground_band=None, pixel_step=4))
    assert len(full) == 240 * 320
    assert torch.equal(full.cell_index, stepped.cell_index)  # step capped at the 2-px stride: nothing skipped


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError):
        LiftConfig(min_depth=5.0, max_depth=1.0)
    with pytest.raises(ValueError):
        lift(np.ones((4, 4), np.float32), K, np.eye(4), (8, 8))
    empty = lift(np.zeros((48, 64), np.float32), K, np.eye(4), (3, 4))
    assert len(empty) == 0 and empty.points.shape == (0, 3)


@pytest.mark.parametrize("extra", [{}, {"min_depth": 0.0}, {"foreground_band": None, "colour_step": 1},
                                   {"pixel_step": 1, "min_pixels": 20}])
def test_compiled_and_torch_paths_agree(extra, monkeypatch):
    """The fused CPU loop and the tensor path pool the same pixels: same cells and counts, points to float32
    rounding (band, mask, NaN/Inf/zero depth and uneven grids included)."""
    from leovl_ros.cfg import compiled

    depth, rgb = _frame(7)
    mask = np.random.default_rng(8).random(depth.shape) > 0.1
    outs = []
    for available in (True, False):
        monkeypatch.setattr(compiled, "AVAILABLE", available)
        outs.append([lift(depth, K, _pose(9), hw, rgb=rgb, config=LiftConfig(**extra), mask=mask)
                     for hw in ((30, 40), (60, 80), (29, 41))])
    for a, b in zip(*outs):
        assert torch.equal(a.cell_index, b.cell_index) and torch.equal(a.pixels, b.pixels)
        torch.testing.assert_close(a.points, b.points, rtol=0, atol=2e-5)
        torch.testing.assert_close(a.colours, b.colours, rtol=0, atol=1e-6)
