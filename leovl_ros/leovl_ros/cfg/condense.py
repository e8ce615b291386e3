"""Condensation: voxel store → multi-resolution (x, y) columns → padded batch for the CFG encoder.

Grid. The world floor plane (gravity-aligned, z up) is cut into square cells of ``cell_size`` (a multiple of the
store voxel size v); each store voxel goes to the column containing its centre, so cell k covers
[k·c − v/2, (k+1)·c − v/2) — whole store voxels, the grid shifted by half a voxel from the origin (store voxels are
centred on lattice points). Vertically, voxels go by their centres to bins of ``height_bin`` h (default =
``cell_size``, so column × bin is a cubic voxel) centred on z = 0: bin k holds the points in
[(k − ½)·h − v/2, (k + ½)·h − v/2) (whole voxel layers, the same half-voxel shift), so a floor at z = 0 sits near
the middle of bin 0. The occupied cubic voxels
at the base cell size are the paper's *voxel tokens* (before condensation); the occupied base columns are the
*unclipped CFG tokens*.

Multi-resolution rule (budget B, default 750; training recipes may use fewer, e.g. 256):
1. *Detail score* of a base column = its height extent (max z − min z of the points fused in it, metres).
2. Over budget (base columns > B): coarsen. For level ℓ = 1, 2, …, ``max_level``: group the current tokens in
   2^ℓ × 2^ℓ blocks of base cells; a block's score is the largest score of its members; merge blocks into one
   coarse token (cell size ``cell_size·2^ℓ``) in ascending score order (flat floor-only areas first, ties by
   block key) until the count is within B. If the coarsest level is still over B, keep the B tokens with the
   largest weight (counted as ``clipped_tokens``).
3. Under budget and ``refine``: base columns with score ≥ ``split_height`` (objects, furniture, walls) are split
   into their occupied half-size sub-columns, in descending score order (ties by key), as long as the total stays
   within B.
With ``voxel_tokens`` none of this applies: every occupied cubic voxel of the base columns is its own one-bin token
(the paper's uncondensed ablation, no budget).
Each token's column holds the cubic-bin voxels (bin height ``height_bin``) of all store voxels it covers: bin
feature = weight-averaged store features, bin height = weight-averaged z, bin weight = fused point count. Tokens
are ordered by their packed (level, x, y) key, bins within a column bottom-up; a column keeps at most
``max_height / height_bin`` bins (the lowest).

Time. Each token also gets the seen times of what stands in it: ``first_seen`` the earliest, ``last_seen`` the
latest seen time of its store voxels above the floor bin (bin 0: voxel centres lower than half a bin, 0.15 m by
default), or of all its voxels where none above the floor bin has a time (a floor-only cell): the floor around a
chair is in view in frames that miss the chair (the figures: docs/model.md, time in the map). Float64 seconds of
sensor time; voxels with unknown (NaN) times are ignored; NaN when none has one. The dialogue answer's ``last_seen``
is read from them (``agent/answering.py``); the model never sees them.

Alignment. Every cell edge the rule draws (``cell_size``, and ``cell_size / 2`` when refining) must be a whole
number of store voxels, or a cell would take some voxel columns and not others and its token would sit off the
centre of what it holds; :func:`check_grid` enforces it (the fusion node at start-up, ``condense`` on every call).
Bins and cells then hold whole voxels, so the store's voxel size changes the CFG only by that half-voxel shift of
the grid: sums of whole voxels are sums of their points (``benchmarks/voxel_size.py`` measures it).

Default cell size 0.3 m: a fully seen 6.5 × 6.5 m synthetic room (the largest SIM builds) has 22 × 22 floor
columns plus its walls (≈ 570 tokens) and a typical ScanNet room (≈ 30–60 m²) 330–670, all within the 750 grid
the paper caps at; the 0.25 m alternative already gives ≈ 780 on the largest synthetic rooms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Optional

import torch

from leovl_ros.cfg.voxel_store import VoxelStore

_BITS = 21
_OFFSET = 1 << (_BITS - 1)
_EPS = 1e-9
TRAINING_BUDGET = 256
"""Token budget the default training recipes use for synthetic rooms (short LLM prompts)."""


@dataclass
class CondenseConfig:
    """Cell size, token budget and multi-resolution rule of the condensed feature grid."""

    cell_size: float = 0.3
    """Base column edge (metres); see the module docstring for why 0.3 m."""
    budget: int = 750
    """Maximum number of column tokens handed to the encoder (the paper's grid cap)."""
    height_bin: Optional[float] = None
    """Vertical bin height inside a column (metres); None = cell_size (cubic voxels)."""
    max_height: float = 3.0
    """Height span a column covers (metres); caps the bins per column at max_height / height_bin."""
    refine: bool = True
    """Split detailed base columns into half-size columns while the budget allows."""
    split_height: float = 0.3
    """Height extent (metres) from which a base column counts as detailed (a candidate for splitting)."""
    max_level: int = 4
    """Coarsest merge level: blocks of 2^max_level base cells."""
    min_weight: float = 0.0
    """Store voxels with a weight below this are ignored (noise filter)."""
    voxel_tokens: bool = False
    """No condensation (the paper's ablation): every occupied cubic voxel of the base columns is its own token, one
    bin each, no budget (``budget`` and ``refine`` are ignored); see :func:`split_voxels`."""

    def __post_init__(self) -> None:
        if self.cell_size <= 0 or self.budget < 1 or self.max_height <= 0:
            raise ValueError("cell_size, budget and max_height must be positive")
        if self.height_bin is not None and self.height_bin <= 0:
            raise ValueError("height_bin must be positive or None")

    @property
    def bin_height(self) -> float:
        """The vertical bin height actually used."""
        return self.height_bin if self.height_bin is not None else self.cell_size

    @property
    def max_bins(self) -> int:
        """The most height bins a column holds (``max_height / bin_height``)."""
        return max(1, math.ceil(self.max_height / self.bin_height - _EPS))


@dataclass
class ColumnBatch:
    """Padded per-column inputs of the CFG encoder plus per-token summaries (N tokens, L bins, D features)."""

    features: torch.Tensor
    """[N, L, D] float32 mean feature of each bin."""
    heights: torch.Tensor
    """[N, L] float32 mean z (metres) of each bin."""
    weights: torch.Tensor
    """[N, L] float32 fused point count of each bin (0 where padded)."""
    mask: torch.Tensor
    """[N, L] bool, True where the bin exists."""
    xy: torch.Tensor
    """[N, 2] float32 cell centres (metres)."""
    cell_size: torch.Tensor
    """[N] float32 cell edge (metres) of each token."""
    colour: torch.Tensor
    """[N, 3] float32 mean colour 0–1 (0 where no colour was fused)."""
    mean_height: torch.Tensor
    """[N] float32 weighted mean z of the column's points."""
    top_height: torch.Tensor
    """[N] float32 highest z fused in the column."""
    level: torch.Tensor
    """[N] int64 resolution level: −1 fine (cell/2), 0 base, ℓ > 0 merged (cell·2^ℓ)."""
    key: torch.Tensor
    """[N] int64 packed (level, x, y) key; tokens are sorted by it."""
    voxel_tokens: int = 0
    """Occupied cubic voxels at the base cell size (tokens before condensation)."""
    unclipped_tokens: int = 0
    """Occupied base columns (tokens after condensation, before any budget rule)."""
    clipped_tokens: int = 0
    """Tokens dropped because even the coarsest level exceeded the budget."""
    first_seen: Optional[torch.Tensor] = None
    """[N] float64 sensor time (s) of the earliest stamped frame that hit the column, NaN if unknown; None in a
    batch built without times (e.g. the training scene caches, which do not store them)."""
    last_seen: Optional[torch.Tensor] = None
    """[N] float64 sensor time (s) of the latest stamped frame that hit the column, NaN if unknown; None as above."""

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def to(self, device: torch.device | str) -> ColumnBatch:
        """Copy of the batch with every tensor on ``device``."""
        return ColumnBatch(**{f.name: (getattr(self, f.name).to(device) if isinstance(getattr(self, f.name),
                                                                                   torch.Tensor)
                                       else getattr(self, f.name)) for f in fields(self)})


def check_grid(voxel_size: float, config: CondenseConfig) -> None:
    """Raise ``ValueError`` unless each cell edge the rule uses is a whole number of ``voxel_size`` voxels."""
    edges = {"cell_size": config.cell_size}
    if config.refine and not config.voxel_tokens:
        edges["cell_size / 2 (refined cells)"] = config.cell_size / 2
    for name, edge in edges.items():
        n = edge / voxel_size
        if round(n) < 1 or abs(n - round(n)) > 1e-6 * n:
            fit = edge / math.ceil(n - 1e-6)
            raise ValueError(f"{name} = {edge:g} m is not a whole number of {voxel_size:g} m voxels, so cells would "
                             f"split voxel columns unevenly; use a voxel size that divides it (e.g. {fit:g} m), "
                             f"or another cell size" + (", or refine=False" if "refined" in name else ""))


def _pack2(level: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(level ∈ [−1, 14], x, y) → int64 key ordered by level, then x, then y."""
    return ((level + 1) << (2 * _BITS)) | ((x + _OFFSET) << _BITS) | (y + _OFFSET)


def _floor_div(a: torch.Tensor, s: float) -> torch.Tensor:
    """floor(a / s) as int64, robust to float rounding on exact lattice multiples."""
    return torch.floor(a / s + _EPS).to(torch.int64)


def _pair_keys(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distinct int64 key per (a, b) pair of int64 tensors (a ≥ 0): a·span + (b − min b)."""
    if b.numel() == 0:
        return a
    lo = b.min()
    return a * (b.max() - lo + 1) + (b - lo)


def _group_count(group: torch.Tensor, item: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Number of distinct ``item`` values per ``group`` index ([n_groups] int64)."""
    _, inv = torch.unique(item, return_inverse=True)
    pairs = torch.unique(_pair_keys(group, inv))
    return torch.bincount(torch.div(pairs, int(inv.max()) + 1 if inv.numel() else 1, rounding_mode="floor"),
                          minlength=n_groups)


def _coarsen(bx, by, score, budget: int, max_level: int):
    """Merge low-score blocks level by level until ≤ budget; returns (level, tx, ty) per base column + clipped."""
    n = bx.shape[0]
    level = torch.zeros(n, dtype=torch.int64, device=bx.device)
    tx, ty = bx.clone(), by.clone()
    count = n
    for lv in range(1, max_level + 1):
        if count <= budget:
            break
        s = 2 ** lv
        blk = _pack2(torch.zeros_like(bx), torch.div(bx, s, rounding_mode="floor"),
                     torch.div(by, s, rounding_mode="floor"))
        ublk, binv = torch.unique(blk, return_inverse=True)
        tok = _pack2(level, tx, ty)
        savings = _group_count(binv, tok, ublk.shape[0]) - 1
        bscore = torch.full((ublk.shape[0],), -math.inf, dtype=score.dtype, device=bx.device)
        bscore.scatter_reduce_(0, binv, score, "amax")
        order = torch.argsort(ublk, stable=True)  # ties by block key
        order = order[torch.argsort(bscore[order], stable=True)]
        order = order[savings[order] > 0]
        csum = torch.cumsum(savings[order], 0)
        excess = count - budget
        n_take = int(torch.searchsorted(csum, torch.tensor([excess], device=bx.device))[0]) + 1
        chosen = torch.zeros(ublk.shape[0], dtype=torch.bool, device=bx.device)
        chosen[order[:n_take]] = True
        sel = chosen[binv]
        level[sel] = lv
        tx[sel] = torch.div(bx[sel], s, rounding_mode="floor")
        ty[sel] = torch.div(by[sel], s, rounding_mode="floor")
        count -= int(csum[min(n_take, csum.shape[0]) - 1]) if csum.numel() else 0
    return level, tx, ty


def _refine(fx, fy, col_inv, score, n_cols: int, slack: int, split_height: float) -> torch.Tensor:
    """Choose base columns to split into half-size sub-columns within ``slack`` extra tokens ([n_cols] bool)."""
    fine = _pack2(torch.zeros_like(fx), fx, fy)
    cost = _group_count(col_inv, fine, n_cols) - 1
    cand = torch.nonzero((score >= split_height) & (cost > 0)).squeeze(1)  # already in key order
    cand = cand[torch.argsort(-score[cand], stable=True)]
    ok = torch.cumsum(cost[cand], 0) <= slack
    split = torch.zeros(n_cols, dtype=torch.bool, device=fx.device)
    split[cand[ok]] = True
    return split


def condense(store: VoxelStore, config: Optional[CondenseConfig] = None) -> ColumnBatch:
    """Group the store's voxels into multi-resolution (x, y) columns under the token budget."""
    cfg = config or CondenseConfig()
    check_grid(store.config.voxel_size, cfg)
    a = store.arrays()
    keep = a["weight"] > cfg.min_weight
    a = {k: v[keep] for k, v in a.items()}
    dev, vs, c, hb = a["keys"].device, store.config.voxel_size, cfg.cell_size, cfg.bin_height
    ijk = store.voxel_indices()[keep].to(torch.float64) * vs  # voxel centres
    bx, by = _floor_div(ijk[:, 0], c), _floor_div(ijk[:, 1], c)
    fx, fy = _floor_div(ijk[:, 0], c / 2), _floor_div(ijk[:, 1], c / 2)
    iz = torch.floor(ijk[:, 2] / hb + 0.5 + _EPS).to(torch.int64)  # bins centred on z = 0

    # base columns and their detail scores
    ucol, col_inv = torch.unique(_pack2(torch.zeros_like(bx), bx, by), return_inverse=True)
    n_cols = ucol.shape[0]
    zmin = torch.full((n_cols,), math.inf, dtype=torch.float64, device=dev).scatter_reduce_(
        0, col_inv, a["z_min"], "amin")
    zmax = torch.full((n_cols,), -math.inf, dtype=torch.float64, device=dev).scatter_reduce_(
        0, col_inv, a["z_max"], "amax")
    score = zmax - zmin
    voxel_tokens = int(torch.unique(_pair_keys(col_inv, iz)).shape[0]) if n_cols else 0
    col_bx = torch.zeros(n_cols, dtype=torch.int64, device=dev).scatter_(0, col_inv, bx)
    col_by = torch.zeros(n_cols, dtype=torch.int64, device=dev).scatter_(0, col_inv, by)

    # multi-resolution rule → (level, tx, ty) per store voxel
    if cfg.voxel_tokens:
        utok, tok_inv = torch.unique(_pack2(torch.zeros_like(bx), bx, by), return_inverse=True)
        return split_voxels(_pack_batch(a, utok, tok_inv, iz, cfg, vs, voxel_tokens, n_cols, 0))
    if n_cols > cfg.budget:
        lev_c, tx_c, ty_c = _coarsen(col_bx, col_by, score, cfg.budget, cfg.max_level)
        lev, tx, ty = lev_c[col_inv], tx_c[col_inv], ty_c[col_inv]
    else:
        split = (_refine(fx, fy, col_inv, score, n_cols, cfg.budget - n_cols, cfg.split_height) if cfg.refine
                 else torch.zeros(n_cols, dtype=torch.bool, device=dev))[col_inv]
        lev = torch.where(split, -1, 0)
        tx, ty = torch.where(split, fx, bx), torch.where(split, fy, by)
    tok_key = _pack2(lev, tx, ty)
    utok, tok_inv = torch.unique(tok_key, return_inverse=True)

    # final clip: only when even the coarsest level is over budget (largest total weight kept)
    tokw = torch.zeros(utok.shape[0], dtype=torch.float64, device=dev).index_add_(0, tok_inv, a["weight"])
    clipped = max(0, utok.shape[0] - cfg.budget)
    if clipped:
        order = torch.argsort(-tokw, stable=True)
        kept_tok = torch.zeros(utok.shape[0], dtype=torch.bool, device=dev)
        kept_tok[order[: cfg.budget]] = True
        sel = kept_tok[tok_inv]
        a = {k: v[sel] for k, v in a.items()}
        tok_key, iz = tok_key[sel], iz[sel]
        utok, tok_inv = torch.unique(tok_key, return_inverse=True)
    return _pack_batch(a, utok, tok_inv, iz, cfg, vs, voxel_tokens, n_cols, clipped)


def split_voxels(batch: ColumnBatch) -> ColumnBatch:
    """One token per occupied (column, bin): the voxel tokens before condensation, each a column of one bin at its
    column's centre. Keys stay sorted (column key · L + bin), colour and seen times are the column's, top_height the
    bin's mean z."""
    t, r = torch.nonzero(batch.mask, as_tuple=True)  # row-major: columns in key order, bins bottom-up
    L = batch.mask.shape[1]
    return ColumnBatch(
        features=batch.features[t, r][:, None], heights=batch.heights[t, r][:, None],
        weights=batch.weights[t, r][:, None], mask=torch.ones(t.shape[0], 1, dtype=torch.bool, device=t.device),
        xy=batch.xy[t], cell_size=batch.cell_size[t], colour=batch.colour[t], mean_height=batch.heights[t, r],
        top_height=batch.heights[t, r], level=batch.level[t], key=batch.key[t] * L + r,
        voxel_tokens=batch.voxel_tokens, unclipped_tokens=batch.unclipped_tokens, clipped_tokens=0,
        first_seen=None if batch.first_seen is None else batch.first_seen[t],
        last_seen=None if batch.last_seen is None else batch.last_seen[t],
    )


def _pack_batch(a, utok, tok_inv, iz, cfg: CondenseConfig, vs: float, voxel_tokens: int, n_cols: int,
                clipped: int) -> ColumnBatch:
    """Aggregate store voxels into (token, bin) cells and pad them into a ColumnBatch."""
    dev = utok.device
    N, D = utok.shape[0], a["feature_sum"].shape[1]
    f64 = torch.float64
    zoff = int(iz.min()) if iz.numel() else 0
    span = (int(iz.max()) - zoff + 1) if iz.numel() else 1
    ubin, bin_inv = torch.unique(tok_inv * span + (iz - zoff), return_inverse=True)
    B = ubin.shape[0]

    def agg(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((B, *x.shape[1:]), dtype=f64, device=dev).index_add_(0, bin_inv, x)

    bw, bf, bz = agg(a["weight"]), agg(a["feature_sum"]), agg(a["z_sum"])
    btok = torch.div(ubin, span, rounding_mode="floor")
    start = torch.searchsorted(btok, torch.arange(N, device=dev))
    rank = torch.arange(B, device=dev) - start[btok]
    L = max(1, min(int(rank.max()) + 1 if B else 1, cfg.max_bins))
    ok = rank < L
    features = torch.zeros(N, L, D, dtype=torch.float32, device=dev)
    heights = torch.zeros(N, L, dtype=torch.float32, device=dev)
    weights = torch.zeros(N, L, dtype=torch.float32, device=dev)
    mask = torch.zeros(N, L, dtype=torch.bool, device=dev)
    t, r = btok[ok], rank[ok]
    features[t, r] = (bf[ok] / bw[ok, None]).float()
    heights[t, r] = (bz[ok] / bw[ok]).float()
    weights[t, r] = bw[ok].float()
    mask[t, r] = True

    def tok_sum(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((N, *x.shape[1:]), dtype=f64, device=dev).index_add_(0, tok_inv, x)

    tw = tok_sum(a["weight"])
    colour = tok_sum(a["colour_sum"]) / tok_sum(a["colour_weight"]).clamp_min(1e-12)[:, None]
    top = torch.full((N,), -math.inf, dtype=f64, device=dev).scatter_reduce_(0, tok_inv, a["z_max"], "amax")
    standing = iz > 0  # above the floor bin (see "Time" in the module docstring)
    first_seen = _seen_time(a["first_seen"], standing, tok_inv, N, "amin")
    last_seen = _seen_time(a["last_seen"], standing, tok_inv, N, "amax")
    level = (utok >> (2 * _BITS)) - 1
    tx = ((utok >> _BITS) & ((1 << _BITS) - 1)) - _OFFSET
    ty = (utok & ((1 << _BITS) - 1)) - _OFFSET
    size = cfg.cell_size * torch.pow(2.0, level.to(f64))
    half = 0.5 * vs  # cells are aligned to store-voxel boundaries (see module docstring)
    xy = torch.stack([(tx.to(f64) + 0.5) * size - half, (ty.to(f64) + 0.5) * size - half], 1)
    return ColumnBatch(
        features=features, heights=heights, weights=weights, mask=mask, xy=xy.float(), cell_size=size.float(),
        colour=colour.float(), mean_height=(tok_sum(a["z_sum"]) / tw.clamp_min(1e-12)).float(), top_height=top.float(),
        level=level, key=utok, voxel_tokens=voxel_tokens, unclipped_tokens=n_cols, clipped_tokens=clipped,
        first_seen=first_seen, last_seen=last_seen,
    )


def _seen_time(times: torch.Tensor, standing: torch.Tensor, index: torch.Tensor, n: int, reduce: str) -> torch.Tensor:
    """Per-token seen time: ``reduce`` of the known times of its ``standing`` voxels, or of all its voxels where
    none of those has a time."""
    above = _nan_reduce(times.masked_fill(~standing, math.nan), index, n, reduce)
    return torch.where(above.isnan(), _nan_reduce(times, index, n, reduce), above)


def _nan_reduce(values: torch.Tensor, index: torch.Tensor, n: int, reduce: str) -> torch.Tensor:
    """Per-group min (``amin``) or max (``amax``) of float64 ``values`` ignoring NaN; NaN where a group has none."""
    empty = math.inf if reduce == "amin" else -math.inf
    out = torch.full((n,), empty, dtype=torch.float64, device=values.device)
    out.scatter_reduce_(0, index, values.masked_fill(values.isnan(), empty), reduce)
    return out.masked_fill_(out == empty, math.nan)
