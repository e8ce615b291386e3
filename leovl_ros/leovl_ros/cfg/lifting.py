"""Lift a depth image to one world point per feature-map cell (and its mean colour).

Back-projection ``p = R·K⁻¹·(u·z, v·z, z) + t`` is linear in ``(u·z, v·z, z)``, so the mean 3D point of the
pixels a feature covers equals the back-projection of their mean ``(u·z, v·z, z)``. We therefore pool those
three numbers (and the colour) per feature cell first — by reshaping and summing when the cells tile the image
evenly (one pass over the pixels), else with one-hot row/column assignment matmuls, which sum exactly the pixels of
each cell for any feature-map size — and apply ``K⁻¹`` and the pose to the few thousand pooled points only.

Pixel ``(u, v)`` (integer column/row, pixel centres at integers, as in OpenCV/ROS ``K``) belongs to feature cell
``(floor(v·h/H), floor(u·w/W))``. By default every 2nd pixel in u and v is pooled (``pixel_step``): an unbiased
estimate of the cell mean at a quarter of the per-pixel work; ``pixel_step=1`` pools every pixel. A pixel is
valid when its depth is finite, > 0 and within ``[min_depth, max_depth]`` (and inside the optional caller mask).
With ``foreground_band`` set, a cell pools only the pixels within the band behind its nearest valid pixel, so a
cell straddling a depth edge gives a point on the front surface instead of a "flying" point between two surfaces;
cells with no valid pixel are skipped.

Two implementations compute the same result: on CPU (``LiftConfig.compiled``, numba installed) one compiled
loop does validation, band and sums in two passes over the sampled pixels (``compiled.lift_points``, float64
sums); elsewhere (CUDA, or without numba) the tensor passes below run. Tests check they agree.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

from leovl_ros.cfg import compiled

ArrayLike = Union[np.ndarray, torch.Tensor]


@dataclass
class LiftConfig:
    """How depth pixels are validated and pooled per feature cell."""

    min_depth: float = 0.1
    """Depth below this (metres) is invalid (sensor blind zone)."""
    max_depth: float = 8.0
    """Depth beyond this (metres) is invalid (too noisy to map)."""
    foreground_band: Optional[float] = 0.10
    """Relative depth band: a cell pools pixels with z ≤ z_near·(1 + band) + band_abs; None pools all valid ones."""
    foreground_band_abs: float = 0.05
    """Absolute part of the foreground band (metres)."""
    min_pixels: int = 1
    """Cells with fewer pooled pixels than this are skipped."""
    pixel_step: int = 2
    """Pool every pixel_step-th pixel in u and v (2: a 4× cheaper, unbiased estimate of the cell mean from 64 of
    a 16×16 cell's 256 pixels; capped at the feature stride); 1 pools every pixel exactly."""
    colour_step: int = 2
    """Colour uses every colour_step-th pixel of that lattice (colour is for display: with pixel_step 2, every
    4th pixel, 16 per 16×16 cell, at a quarter of the cost)."""
    device: Optional[str] = None
    """Torch device for the computation; None uses the depth tensor's device (CPU for numpy input)."""
    compiled: bool = True
    """On CPU, pool with one compiled loop (``compiled.py``, numba) instead of ~20 tensor passes; False (or no
    numba) runs the torch path, which is also what CUDA runs."""

    def __post_init__(self) -> None:
        if not (0.0 <= self.min_depth < self.max_depth):
            raise ValueError(f"need 0 <= min_depth < max_depth, got {self.min_depth}, {self.max_depth}")
        if self.foreground_band is not None and self.foreground_band < 0:
            raise ValueError("foreground_band must be >= 0 or None")
        if min(self.min_pixels, self.pixel_step, self.colour_step) < 1:
            raise ValueError("min_pixels, pixel_step and colour_step must be >= 1")


@dataclass
class Lifted:
    """The pooled points of one frame: one per feature cell that had valid depth."""

    points: torch.Tensor
    """[M, 3] float32 world coordinates (mean of the cell's valid pixels)."""
    cell_index: torch.Tensor
    """[M] int64 flattened index (row·w + col) into the h×w feature map."""
    colours: Optional[torch.Tensor]
    """[M, 3] float32 mean RGB in 0–1, or None when no image was given."""
    pixels: Optional[torch.Tensor] = None
    """[M] int64 number of (sampled) pixels pooled into each point — the fusion weight."""

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def gather(self, features: torch.Tensor) -> torch.Tensor:
        """[D, h, w] feature map → [M, D] the feature of each lifted point (a strided view: no transpose copy)."""
        D = features.shape[0]
        return features.reshape(D, -1).index_select(1, self.cell_index.to(features.device)).T


def _as_tensor(x: ArrayLike, device: Optional[torch.device], dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Numpy or torch input → tensor on ``device`` (no copy when already there)."""
    if isinstance(x, np.ndarray):
        with warnings.catch_warnings():  # read-only arrays (decoded images) are only read here
            warnings.simplefilter("ignore", UserWarning)
            t = torch.as_tensor(np.ascontiguousarray(x))
    else:
        t = x
    return t.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else t


@dataclass(frozen=True)
class _Grid:
    """The sampled pixel lattice (every ``step``-th row/column) over an h×w feature map, with per-cell reductions."""

    u: torch.Tensor
    """[Ws] float32 image column of each sampled column."""
    v: torch.Tensor
    """[Hs] float32 image row of each sampled row."""
    rows: torch.Tensor
    """[Hs] int64 feature row floor(v·h/H)."""
    cols: torch.Tensor
    """[Ws] int64 feature column floor(u·w/W)."""
    h: int
    w: int
    uniform: bool
    """Every cell covers the same number of consecutive sampled rows and columns (reshape-and-sum reductions)."""

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def make(H: int, W: int, h: int, w: int, step: int, device: torch.device) -> _Grid:
        """Lattice of every step-th pixel of an H×W image over an h×w feature map (cached: cameras keep their size)."""
        v = torch.arange(0, H, step, device=device)
        u = torch.arange(0, W, step, device=device)
        return _Grid(u=u.float(), v=v.float(), rows=torch.div(v * h, H, rounding_mode="floor"),
                     cols=torch.div(u * w, W, rounding_mode="floor"), h=h, w=w,
                     uniform=H % (h * step) == 0 and W % (w * step) == 0)

    @functools.cached_property
    def _onehots(self) -> tuple[torch.Tensor, torch.Tensor]:
        """[h, Hs] and [w, Ws] float32 one-hot assignment of sampled rows/columns to feature rows/columns."""
        dev = self.rows.device
        return ((self.rows[None, :] == torch.arange(self.h, device=dev)[:, None]).float(),
                (self.cols[None, :] == torch.arange(self.w, device=dev)[:, None]).float())

    def cell_sums(self, x: torch.Tensor) -> torch.Tensor:
        """[r, Hs, Ws] float32 planes → [r, h·w]: each plane's sum over each feature cell's sampled pixels.

        Uniform grids reshape and sum: rows first (whole image rows added with vector instructions, one pass),
        then the few columns of each cell on the sh× smaller result; uneven grids multiply by the one-hot row and
        column assignment matrices, which handles any feature-map size.
        """
        r, Hs, Ws = x.shape
        h, w = self.h, self.w
        if self.uniform:
            return x.view(r, h, Hs // h, Ws).sum(2).view(r, h, w, Ws // w).sum(-1).view(r, h * w)
        rows, cols = self._onehots
        return (rows @ x @ cols.T).reshape(r, h * w)

    def cell_min(self, z: torch.Tensor) -> torch.Tensor:
        """[Hs, Ws] → [h, w] minimum per feature cell."""
        Hs, Ws = z.shape
        h, w = self.h, self.w
        if self.uniform:  # rows first (vectorised over whole rows), then each cell's few columns
            return z.view(h, Hs // h, Ws).amin(1).view(h, w, Ws // w).amin(-1)
        flat = (self.rows[:, None] * w + self.cols[None, :]).reshape(-1)
        out = torch.full((h * w,), float("inf"), dtype=z.dtype, device=z.device)
        return out.scatter_reduce_(0, flat, z.reshape(-1), reduce="amin").reshape(h, w)

    def within(self, z: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
        """[Hs, Ws] bool: value ≤ its cell's [h, w] limit."""
        Hs, Ws = z.shape
        h, w = self.h, self.w
        if self.uniform:
            return (z.view(h, Hs // h, w, Ws // w) <= limit.view(h, 1, w, 1)).view(Hs, Ws)
        return z <= limit[self.rows[:, None], self.cols[None, :]]


def lift(
    depth: ArrayLike,
    K: ArrayLike,
    pose: ArrayLike,
    feat_hw: tuple[int, int],
    rgb: Optional[ArrayLike] = None,
    config: Optional[LiftConfig] = None,
    mask: Optional[ArrayLike] = None,
) -> Lifted:
    """Pool a (H, W) metric depth image to one world point per valid cell of an h×w feature map.

    ``K`` is the 3×3 intrinsics, ``pose`` the 4×4 camera(optical)-to-world transform, ``rgb`` an optional
    H×W×3 uint8 image lifted alongside, ``mask`` an optional H×W bool mask of pixels allowed to contribute.
    """
    cfg = config or LiftConfig()
    device = torch.device(cfg.device) if cfg.device else (depth.device if isinstance(depth, torch.Tensor) else None)
    z = _as_tensor(depth, device, torch.float32)
    if z.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {tuple(z.shape)}")
    dev = z.device
    H, W = z.shape
    h, w = int(feat_hw[0]), int(feat_hw[1])
    if not (0 < h <= H and 0 < w <= W):
        raise ValueError(f"feature map {h}×{w} must be non-empty and no larger than the image {H}×{W}")

    st = max(1, min(cfg.pixel_step, H // h, W // w))  # never skip whole feature rows/columns
    grid = _Grid.make(H, W, h, w, st, dev)
    # R·K⁻¹ and t from host copies of the 3×3 / 4×4 matrices (a 3×3 inverse is not worth a device op)
    T = np.asarray(pose.cpu() if isinstance(pose, torch.Tensor) else pose, dtype=np.float64)
    Kn = np.asarray(K.cpu() if isinstance(K, torch.Tensor) else K, dtype=np.float64)
    rot, trans = T[:3, :3] @ np.linalg.inv(Kn), np.ascontiguousarray(T[:3, 3])
    if compiled.enabled(dev, cfg.compiled):
        return _lift_compiled(z, grid, st, cfg, rgb, mask, rot, trans)
    return _lift_torch(z, grid, st, cfg, rgb, mask, rot, trans)


def _lift_torch(z: torch.Tensor, grid: _Grid, st: int, cfg: LiftConfig, rgb: Optional[ArrayLike],
                mask: Optional[ArrayLike], rot: np.ndarray, trans: np.ndarray) -> Lifted:
    """``lift`` as tensor passes over the sampled pixels (the reference, and the CUDA path)."""
    dev = z.device
    H, W = z.shape
    z = z[::st, ::st].contiguous()  # one copy: every later pass reads contiguous memory
    # NaN fails both comparisons and ±Inf fails one, so two comparisons validate the depth
    valid = ((z > 0) if cfg.min_depth <= 0 else (z >= cfg.min_depth)) & (z <= cfg.max_depth)
    if mask is not None:
        valid &= _as_tensor(mask, dev, torch.bool)[::st, ::st]
    if cfg.foreground_band is not None:
        z_inf = torch.where(valid, z, float("inf"))
        limit = grid.cell_min(z_inf) * (1.0 + cfg.foreground_band) + cfg.foreground_band_abs
        valid &= grid.within(z_inf, limit)
    zv = torch.where(valid, z, 0.0)
    # per-cell Σ u·z, Σ v·z, Σ z and the valid pixel count in one reduction
    sums = grid.cell_sums(torch.stack([zv * grid.u, zv * grid.v[:, None], zv, valid.to(torch.float32)]))
    cell_index = torch.nonzero(sums[3] >= cfg.min_pixels).squeeze(1)
    picked = sums.index_select(1, cell_index)
    n = picked[3]
    uzvz = (picked[:3] / n).to(torch.float64)  # [3, M] mean (u·z, v·z, z)
    world = (torch.from_numpy(rot).to(dev) @ uzvz + torch.from_numpy(trans).to(dev)[:, None]).T.to(torch.float32)
    colours = None
    if rgb is not None:  # on the colour lattice (every colour_step-th sampled pixel), channels first
        cs = cfg.colour_step
        cgrid = _Grid.make(H, W, grid.h, grid.w, st * cs, dev) if cs > 1 else grid
        lattice = _as_tensor(rgb, dev)[:: st * cs, :: st * cs].permute(2, 0, 1)
        col = torch.empty(lattice.shape, dtype=torch.float32, device=dev).copy_(lattice)  # [3, Hc, Wc]
        vs = valid[::cs, ::cs].to(torch.float32)
        # Σ rgb over valid samples | valid samples | Σ rgb over all samples | all samples (fallback)
        csum = cgrid.cell_sums(torch.cat([col * vs, vs[None], col, torch.ones_like(vs)[None]]))
        csum = csum.index_select(1, cell_index)
        n_col = csum[3]
        # a cell whose valid pixels all fall between colour samples takes its samples' mean
        mean = torch.where(n_col > 0, csum[:3] / n_col.clamp_min(1.0), csum[4:7] / csum[7])
        colours = (mean * (1.0 / 255.0)).T.contiguous()
    return Lifted(points=world.contiguous(), cell_index=cell_index, colours=colours, pixels=n.to(torch.int64))


def _lift_compiled(z: torch.Tensor, grid: _Grid, st: int, cfg: LiftConfig, rgb: Optional[ArrayLike],
                mask: Optional[ArrayLike], rot: np.ndarray, trans: np.ndarray) -> Lifted:
    """``lift`` on CPU as one compiled loop (``compiled.lift_points``; float64 sums, same result to ~1e-6)."""
    mask_np = _NO_MASK if mask is None else np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask,
                                                       dtype=bool)
    rgb_np = _NO_RGB if rgb is None else (rgb.cpu().numpy() if isinstance(rgb, torch.Tensor) else np.asarray(rgb))
    band = cfg.foreground_band
    cell_index, points, colours, pixels = compiled.lift_points(
        z.numpy(), mask_np, mask is not None, st, cfg.colour_step, grid.rows.numpy(), grid.cols.numpy(), grid.w,
        grid.h * grid.w, float(cfg.min_depth), float(cfg.max_depth), float(band or 0.0),
        float(cfg.foreground_band_abs), band is not None, float(cfg.min_pixels), rgb_np, rgb is not None, rot, trans)
    return Lifted(points=torch.from_numpy(points), cell_index=torch.from_numpy(cell_index),
                  colours=torch.from_numpy(colours) if rgb is not None else None, pixels=torch.from_numpy(pixels))


_NO_MASK = np.zeros((1, 1), dtype=bool)
_NO_RGB = np.zeros((1, 1, 3), dtype=np.uint8)
