"""Lift a depth image to one world point per feature-map cell (and its mean colour).

Back-projection ``p = R·K⁻¹·(u·z, v·z, z) + t`` is linear in ``(u·z, v·z, z)``, so the mean 3D point of the
pixels a feature covers equals the back-projection of their mean ``(u·z, v·z, z)``. We therefore pool those
three numbers (and the colour) per feature cell first — as two small matmuls with one-hot row/column assignment
matrices, which sums exactly the pixels of each cell for any feature-map size, divisible or not, and runs at BLAS
speed on CPU and GPU — and apply ``K⁻¹`` and the pose to the few thousand pooled points only.

Pixel ``(u, v)`` (integer column/row, pixel centres at integers, as in OpenCV/ROS ``K``) belongs to feature cell
``(floor(v·h/H), floor(u·w/W))``. By default every 2nd pixel in u and v is pooled (``pixel_step``): an unbiased
estimate of the cell mean at a quarter of the per-pixel work; ``pixel_step=1`` pools every pixel. A pixel is
valid when its depth is finite, > 0 and within ``[min_depth, max_depth]`` (and inside the optional caller mask).
With ``foreground_band`` set, a cell pools only the pixels within the band behind its nearest valid pixel, so a
cell straddling a depth edge gives a point on the front surface instead of a "flying" point between two surfaces;
cells with no valid pixel are skipped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

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


def _as_tensor(x: ArrayLike, device: Optional[torch.device], dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Numpy or torch input → tensor on ``device`` (no copy when already there)."""
    if isinstance(x, np.ndarray):
        with warnings.catch_warnings():  # read-only arrays (decoded images) are only read here
            warnings.simplefilter("ignore", UserWarning)
            t = torch.as_tensor(np.ascontiguousarray(x))
    else:
        t = x
    return t.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else t


@dataclass
class _Grid:
    """The sampled pixel lattice (every ``step``-th row/column) and the feature cell of each sampled row/column."""

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
    """Every cell covers the same number of consecutive sampled rows and columns (fast reshape paths)."""

    @staticmethod
    def make(H: int, W: int, h: int, w: int, step: int, device: torch.device) -> _Grid:
        """Lattice of every step-th pixel of an H×W image over an h×w feature map."""
        v = torch.arange(0, H, step, device=device)
        u = torch.arange(0, W, step, device=device)
        return _Grid(u=u.float(), v=v.float(), rows=torch.div(v * h, H, rounding_mode="floor"),
                     cols=torch.div(u * w, W, rounding_mode="floor"), h=h, w=w,
                     uniform=H % (h * step) == 0 and W % (w * step) == 0)

    def col_assignment(self) -> torch.Tensor:
        """[w, Ws] float32 one-hot matrix of sampled columns to feature columns."""
        return (self.cols[None, :] == torch.arange(self.w, device=self.cols.device)[:, None]).float()

    def row_sums(self, x: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[Hs, X] → [k, h, X]: per feature row, Σ over its sampled rows of weights[k, Hs]·x (k = 1 unweighted).

        Uniform grids use one batched matmul over [h, Hs/h, X] blocks (Hs·X·k multiply-adds); others a matmul with
        the one-hot [h, Hs] row-assignment matrix.
        """
        Hs, X = x.shape
        wts = torch.ones(1, Hs, dtype=x.dtype, device=x.device) if weights is None else weights
        k, h = wts.shape[0], self.h
        if self.uniform:
            sh = Hs // h
            return torch.matmul(wts.view(k, h, sh).transpose(0, 1), x.view(h, sh, X)).transpose(0, 1)
        onehot = (self.rows[None, :] == torch.arange(h, device=x.device)[:, None]).to(x.dtype)
        return (onehot[None] * wts[:, None, :]) @ x

    def cell_min(self, z: torch.Tensor) -> torch.Tensor:
        """[Hs, Ws] → [h, w] minimum per feature cell."""
        Hs, Ws = z.shape
        h, w = self.h, self.w
        if self.uniform:  # reduce the contiguous axis first: much faster than one 4D reduction
            return z.view(Hs, w, Ws // w).amin(-1).view(h, Hs // h, w).amin(1)
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
    z = z[::st, ::st]
    # NaN fails both comparisons and ±Inf fails one, so two comparisons validate the depth
    valid = ((z > 0) if cfg.min_depth <= 0 else (z >= cfg.min_depth)) & (z <= cfg.max_depth)
    if mask is not None:
        valid &= _as_tensor(mask, dev, torch.bool)[::st, ::st]
    if cfg.foreground_band is not None:
        z_inf = z.masked_fill(~valid, float("inf"))
        limit = grid.cell_min(z_inf) * (1.0 + cfg.foreground_band) + cfg.foreground_band_abs
        valid &= grid.within(z_inf, limit)
    vf = valid.to(torch.float32)
    zv = z.masked_fill(~valid, 0.0)

    # per-cell sums: rows first (blocked batched matmul, or a one-hot matmul when the cells are uneven),
    # then columns on the h×Ws row sums with small one-hot matmuls
    Ac = grid.col_assignment()  # [w, Ws]
    z_rows = grid.row_sums(zv, torch.stack([torch.ones_like(grid.v), grid.v]))  # [2, h, Ws]: Σ z, Σ v·z
    planes = [
        (z_rows[0] @ (Ac * grid.u).T)[None],  # Σ u·z
        (z_rows[1] @ Ac.T)[None],  # Σ v·z
        (z_rows[0] @ Ac.T)[None],  # Σ z
        grid.row_sums(vf) @ Ac.T,  # valid pixel count
    ]
    if rgb is not None:  # channels-last on the colour lattice (colour_step-th sampled pixel): rows, then columns
        cs = cfg.colour_step
        cgrid = _Grid.make(H, W, h, w, st * cs, dev) if cs > 1 else grid
        vs = vf[::cs, ::cs]
        Hs, Ws = vs.shape
        Acs = cgrid.col_assignment()
        col = _as_tensor(rgb, dev)[:: st * cs, :: st * cs].to(torch.float32)
        for c in (col * vs.unsqueeze(-1), col):  # Σ rgb over valid samples, then over all samples (fallback)
            planes.append(cgrid.row_sums(c.view(Hs, Ws * 3))[0].view(h, Ws, 3).permute(2, 0, 1) @ Acs.T)
        planes.append(cgrid.row_sums(vs) @ Acs.T)  # valid colour samples
        planes.append(cgrid.row_sums(torch.ones_like(vs)) @ Acs.T)  # all colour samples
    pooled = torch.cat(planes).reshape(-1, h * w)
    count = pooled[3]
    keep = count >= cfg.min_pixels
    cell_index = torch.nonzero(keep).squeeze(1)
    n = count[cell_index]
    uzvz = (pooled[:3, cell_index] / n).to(torch.float64)  # [3, M] mean (u·z, v·z, z)

    Kt = _as_tensor(K, dev, torch.float64)
    T = _as_tensor(pose, dev, torch.float64)
    cam = torch.linalg.solve(Kt, uzvz)  # K⁻¹ on the pooled points only
    world = (T[:3, :3] @ cam + T[:3, 3:4]).T.to(torch.float32)
    colours = None
    if rgb is not None:  # a cell whose valid pixels all fall between colour samples takes its samples' mean
        n_col = pooled[10, cell_index]
        samples = pooled[11, cell_index]
        valid_mean = pooled[4:7, cell_index] / n_col.clamp_min(1.0)
        mean = torch.where(n_col > 0, valid_mean, pooled[7:10, cell_index] / samples)
        colours = (mean * (1.0 / 255.0)).T.contiguous()
    return Lifted(points=world.contiguous(), cell_index=cell_index, colours=colours, pixels=n.to(torch.int64))
