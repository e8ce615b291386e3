"""The persistent, incremental voxel store: a sparse hash from integer voxel keys to running sums.

Layout. Voxel ``(i, j, k) = round(p / voxel_size)`` (voxels are *centred* on lattice points, so a gravity-aligned
floor at z = 0 lies in the middle of one voxel layer rather than on a boundary). The three integers are packed
into one int64 key (21 bits each, offset by 2^20: ±52 km at 5 cm). Per voxel the store keeps, in *slots* of
preallocated, geometrically grown tensors: one float64 row of sums (feature sum [D], weight, Σz, Σz², colour sum [3],
colour weight — one ``index_add_`` updates them all), min/max z, the tick (fuse call number) it was last fused in,
and its first and last *seen times*. A sorted key array with the matching slot ids is the hash index: a frame's keys
are found with ``torch.searchsorted``; new keys are merged into it in O(n).

Update. ``fuse`` packs the frame's keys, reduces the frame to its unique voxels (``torch.unique(return_inverse)`` +
``index_add_``), finds them in the index, appends empty slots for the new ones and adds the frame's sums into the
slots — vectorised, no Python loop over points. On CPU (``VoxelStoreConfig.compiled``, numba installed) each of
those steps is one compiled loop (``compiled.py``) instead of ~50 small tensor ops; the additions happen in the
same order, so both paths build bit-identical stores (tested).

Exactness. All sums are float64 (inputs are float32, so each addend is exact); fusing frames one by one, as one
batch, or in any order gives means and weights equal to ~1e-15 relative (float64 rounding of a different
summation order), far inside the 1e-6 the tests require. Min/max are exact in any order.

Time. ``fuse(..., stamp=t)`` passes the frame's sensor time (float64 seconds: the header stamp of the frame's
colour image, or the bag's), and every voxel the frame hits widens its ``[first_seen, last_seen]`` to include t:
first_seen is the earliest stamp of a frame that hit it, last_seen the latest (min/max, so order-invariant like the
sums; with the increasing stamps the fusion node enforces, last_seen is the stamp of the last frame that hit it).
A frame without a stamp (None or NaN) leaves the times alone; a voxel never hit by a stamped frame has NaN times
("unknown", never 0). float64 holds a Unix-epoch stamp to ~0.2 µs.

Capacity. At most ``capacity`` voxels are kept. When a frame would exceed it, the least-recently-seen voxels
(smallest last-seen tick; ties by key) are evicted — ``evict_fraction·capacity`` extra at once so eviction runs
rarely — never a voxel the current frame touches (recency here is the fuse-call tick, not the stamps, so a
replayed or re-stamped stream evicts the same way). If the frame alone brings more new voxels than fit, the new
voxels with the lowest weight (ties by key) are dropped. Both are counted in ``stats()``. Memory is bounded by
``capacity`` slots.

Persistence. ``save`` writes safetensors (arrays in key order + metadata: format, format version, voxel size,
feature dim, counters) to a temporary file in the target folder, fsyncs it and ``os.replace``s it over the target
(then fsyncs the folder): a crash mid-save keeps the previous file. ``load`` validates everything before it
touches the store; a corrupt or mismatched file raises ``ValueError`` and leaves the store as it was. Format
version 2 stores the tick as ``last_tick`` and the times as float64 ``first_seen`` / ``last_seen``; version-1 files
(written before the times existed: the tick under the name ``last_seen``, no times) still load, with unknown (NaN)
times.
"""

from __future__ import annotations

import glob
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from leovl_ros.cfg import compiled

FORMAT = "leovl-voxel-store"
FORMAT_VERSION = 2
"""Written by ``save``; ``load`` also reads version 1 (no seen times)."""
_BITS = 21
_OFFSET = 1 << (_BITS - 1)
_MASK = (1 << _BITS) - 1
_FIELDS_F64 = ("feature_sum", "weight", "z_sum", "z_sq_sum", "z_min", "z_max", "colour_sum", "colour_weight")
_FIELDS = {1: ("keys", *_FIELDS_F64, "last_seen"),
           2: ("keys", *_FIELDS_F64, "last_tick", "first_seen", "last_seen")}
"""Arrays of a saved store per format version (version 1 saved the tick as ``last_seen``, and no times)."""
_INT_FIELDS = {1: ("keys", "last_seen"), 2: ("keys", "last_tick")}
"""The int64 arrays per format version (the rest are float64)."""
_N_EXTRA = 7
"""Columns after the D feature sums in the sums matrix: weight, Σz, Σz², Σrgb (3), colour weight."""

_NO_COLOURS = np.zeros((1, 3), dtype=np.float32)
_NO_WEIGHTS = np.zeros(1, dtype=np.float64)
"""Placeholders for absent colours / weights (compiled loops take arrays of one type)."""


@dataclass
class VoxelStoreConfig:
    """Voxel size, feature width, capacity and device of a voxel store."""

    voxel_size: float = 0.05
    """Edge of a store voxel (metres). 5 cm: the coarsest edge whose voxels tile every cell size in 0.1 m steps and
    its refined half (0.1-0.6 m), at ~22k voxels per synthetic room; the CFG itself barely changes with it
    (``benchmarks/voxel_size.py``)."""
    feature_dim: int = 64
    """Width D of the fused 2D features."""
    capacity: int = 1_000_000
    """Maximum number of voxels kept (D·8 + 128 bytes each); past it the least-recently-seen are evicted."""
    evict_fraction: float = 0.05
    """Extra share of ``capacity`` freed per eviction so that eviction runs rarely."""
    initial_slots: int = 4096
    """Slots allocated up front; storage doubles when full, up to ``capacity``."""
    device: str = "cpu"
    """Torch device holding the store."""
    compiled: bool = True
    """On CPU, run the per-frame update as compiled loops (``compiled.py``, numba) instead of ~50 small tensor
    ops; False (or no numba) runs the torch path, which is also what CUDA runs."""

    def __post_init__(self) -> None:
        if self.voxel_size <= 0:
            raise ValueError("voxel_size must be > 0")
        if self.feature_dim < 1 or self.capacity < 1:
            raise ValueError("feature_dim and capacity must be >= 1")
        if not 0.0 <= self.evict_fraction < 1.0:
            raise ValueError("evict_fraction must be in [0, 1)")


def pack_keys(ijk: torch.Tensor) -> torch.Tensor:
    """[M, 3] int64 voxel indices → [M] int64 keys (21 bits per axis, order-preserving in (i, j, k))."""
    if ijk.numel() and (int(ijk.min()) < -_OFFSET or int(ijk.max()) >= _OFFSET):
        raise ValueError(f"voxel index out of the ±{_OFFSET} range a key can hold")
    o = ijk + _OFFSET
    return (o[:, 0] << (2 * _BITS)) | (o[:, 1] << _BITS) | o[:, 2]


def unpack_keys(keys: torch.Tensor) -> torch.Tensor:
    """[M] int64 keys → [M, 3] int64 voxel indices."""
    return torch.stack([(keys >> (2 * _BITS)) & _MASK, (keys >> _BITS) & _MASK, keys & _MASK], dim=1) - _OFFSET


class VoxelStore:
    """Sparse incremental voxel map of fused features, weights, height statistics and colours."""

    def __init__(self, config: Optional[VoxelStoreConfig] = None) -> None:
        self.config = config or VoxelStoreConfig()
        self.device = torch.device(self.config.device)
        self.version = 0
        self._init_state()

    # ------------------------------------------------------------------ state
    def _init_state(self) -> None:
        """Empty index, empty slots, zeroed counters."""
        self._data = self._alloc(min(self.config.initial_slots, self.config.capacity))
        self._n = 0
        self._index_keys = torch.empty(0, dtype=torch.int64, device=self.device)
        self._index_slots = torch.empty(0, dtype=torch.int64, device=self.device)
        self._tick = 0
        self._counters = {"fused_points": 0, "fuse_calls": 0, "evicted": 0, "dropped_new": 0, "evictions": 0}
        self.camera_pose: Optional[np.ndarray] = None
        """[4, 4] float64 camera-to-map pose of the newest fused frame (:meth:`note_camera`; "where are you?"),
        None before the first; saved with the map."""

    def _alloc(self, n: int) -> dict[str, torch.Tensor]:
        """Uninitialised slot storage for n voxels: keys, one float64 matrix of sums, z range, last tick, seen
        times ([first, last] seconds)."""
        dev = self.device
        return {
            "keys": torch.empty(n, dtype=torch.int64, device=dev),
            "sums": torch.empty(n, self.config.feature_dim + _N_EXTRA, dtype=torch.float64, device=dev),
            "z_range": torch.empty(n, 2, dtype=torch.float64, device=dev),
            "last_tick": torch.empty(n, dtype=torch.int64, device=dev),
            "seen": torch.empty(n, 2, dtype=torch.float64, device=dev),
        }

    def _named(self, sums: torch.Tensor, z_range: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named column views of the sums matrix and z range (the file format's arrays)."""
        D = self.config.feature_dim
        return {"feature_sum": sums[:, :D], "weight": sums[:, D], "z_sum": sums[:, D + 1], "z_sq_sum": sums[:, D + 2],
                "colour_sum": sums[:, D + 3:D + 6], "colour_weight": sums[:, D + 6], "z_min": z_range[:, 0],
                "z_max": z_range[:, 1]}

    def _ensure_slots(self, n: int) -> None:
        """Grow slot storage (doubling, capped at capacity) to hold n voxels."""
        have = self._data["keys"].shape[0]
        if n <= have:
            return
        new = self._alloc(min(max(n, 2 * have), self.config.capacity))
        for k, v in self._data.items():
            new[k][: self._n] = v[: self._n]
        self._data = new

    def note_camera(self, pose: Any) -> None:
        """Keep the camera-to-map pose ([4, 4]) of the frame just fused as :attr:`camera_pose`; a pose that is not a
        finite 4×4 matrix is ignored."""
        pose = np.asarray(pose, dtype=np.float64)
        if pose.shape == (4, 4) and np.isfinite(pose).all():
            self.camera_pose = pose.copy()

    def reset(self) -> None:
        """Forget every voxel (a new map); the version still increases."""
        self._init_state()
        self.version += 1

    def __len__(self) -> int:
        return self._n

    # ----------------------------------------------------------------- fusion
    def voxel_keys(self, points: torch.Tensor) -> torch.Tensor:
        """[M, 3] world points → [M] int64 packed keys of the voxels (centred on lattice points) holding them."""
        ijk = torch.floor(points.to(torch.float64) / self.config.voxel_size + 0.5).to(torch.int64)
        return pack_keys(ijk)

    def fuse(
        self,
        points: torch.Tensor,
        features: torch.Tensor,
        colours: Optional[torch.Tensor] = None,
        weights: Optional[torch.Tensor] = None,
        stamp: Optional[float] = None,
    ) -> None:
        """Add M points with [M, D] features (and [M, 3] 0–1 colours, [M] weights, default 1) seen at sensor time
        ``stamp`` (seconds; None or NaN = unknown) to the store."""
        dev = self.device
        points = torch.as_tensor(points).to(dev)
        features = torch.as_tensor(features).to(dev)
        M = points.shape[0]
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must be [M, 3], got {tuple(points.shape)}")
        if features.shape != (M, self.config.feature_dim):
            raise ValueError(f"features must be [{M}, {self.config.feature_dim}], got {tuple(features.shape)}")
        if colours is not None and tuple(colours.shape) != (M, 3):
            raise ValueError(f"colours must be [{M}, 3], got {tuple(colours.shape)}")
        stamp = None if stamp is None or math.isnan(stamp) else float(stamp)
        if stamp is not None and math.isinf(stamp):
            raise ValueError(f"stamp must be finite seconds (or None / NaN for unknown), got {stamp}")
        if M == 0:
            return
        use_compiled = self._compiled
        reduce = self._reduce_compiled if use_compiled else self._reduce_torch
        ukeys, fr_sums, fr_zr = reduce(points, features, colours, weights)
        # find the frame's voxels in the index (-1: new); make room for the new ones (evict the least recently
        # seen, else drop the weakest new voxels: their slot becomes -2 and they are skipped)
        self._tick += 1
        slots = self._find(ukeys)
        n_new = int((slots < 0).sum())
        if self._n + n_new > self.config.capacity:
            new_rows = torch.nonzero(slots < 0).squeeze(1)
            keep_new = self._make_room(ukeys[new_rows], fr_sums[new_rows, self.config.feature_dim], slots[slots >= 0])
            slots = self._find(ukeys)  # eviction moved the slots
            slots[new_rows[~keep_new]] = -2
            n_new = int(keep_new.sum())
        if n_new:
            self._ensure_slots(self._n + n_new)
            (self._append_compiled if use_compiled else self._append_torch)(ukeys, slots)
            self._n += n_new
        # add the frame's sums into the slots, widen the z ranges and seen times, mark them with the tick
        d = self._data
        if use_compiled:
            compiled.accumulate(d["sums"].numpy(), d["z_range"].numpy(), d["last_tick"].numpy(), d["seen"].numpy(),
                                slots.numpy(), fr_sums.numpy(), fr_zr.numpy(), self._tick,
                                math.nan if stamp is None else stamp)
        else:
            rows = torch.nonzero(slots >= 0).squeeze(1)
            s = slots.index_select(0, rows)
            d["sums"].index_add_(0, s, fr_sums.index_select(0, rows))
            zr_old, zr_fr = d["z_range"].index_select(0, s), fr_zr.index_select(0, rows)
            d["z_range"][s] = torch.stack([torch.minimum(zr_old[:, 0], zr_fr[:, 0]),
                                           torch.maximum(zr_old[:, 1], zr_fr[:, 1])], 1)
            d["last_tick"][s] = self._tick
            if stamp is not None:  # fmin/fmax: a NaN (unknown) time takes the stamp
                t, seen = torch.tensor(stamp, dtype=torch.float64, device=dev), d["seen"].index_select(0, s)
                d["seen"][s] = torch.stack([torch.fmin(seen[:, 0], t), torch.fmax(seen[:, 1], t)], 1)
        self._counters["fused_points"] += M
        self._counters["fuse_calls"] += 1
        self.version += 1

    def _append_torch(self, ukeys: torch.Tensor, slots: torch.Tensor) -> None:
        """Give the new frame voxels (slot -1) empty slots from ``_n`` on, in key order, and merge their keys into
        the sorted index; ``slots`` is updated in place."""
        new_rows = torch.nonzero(slots == -1).squeeze(1)
        m, d = new_rows.shape[0], self._data
        new_keys = ukeys.index_select(0, new_rows)
        new_slots = torch.arange(self._n, self._n + m, device=self.device)
        sl = slice(self._n, self._n + m)
        d["keys"][sl] = new_keys
        d["sums"][sl] = 0.0
        d["z_range"][sl, 0] = float("inf")
        d["z_range"][sl, 1] = float("-inf")
        d["seen"][sl] = math.nan
        slots[new_rows] = new_slots
        self._merge_index(new_keys, new_slots)

    def _append_compiled(self, ukeys: torch.Tensor, slots: torch.Tensor) -> None:
        """``_append_torch`` as compiled loops (``compiled.append_new`` + ``merge_sorted``)."""
        d = self._data
        new_keys, new_slots = compiled.append_new(d["keys"].numpy(), d["sums"].numpy(), d["z_range"].numpy(),
                                                  d["seen"].numpy(), ukeys.numpy(), slots.numpy(), self._n)
        merged = compiled.merge_sorted(self._index_keys.numpy(), self._index_slots.numpy(), new_keys, new_slots)
        self._index_keys, self._index_slots = (torch.from_numpy(a) for a in merged)

    @property
    def _compiled(self) -> bool:
        """Run the per-frame steps as compiled CPU loops (``compiled``) rather than tensor ops."""
        return compiled.enabled(self.device, self.config.compiled)

    def _reduce_torch(self, points: torch.Tensor, features: torch.Tensor, colours: Optional[torch.Tensor],
                      weights: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A frame's points → its unique voxels: sorted keys [U], sums [U, D + 7] (the sums matrix's columns) and
        z range [U, 2], float64, with tensor ops (the reference, and the CUDA path)."""
        dev, f64, D, M = self.device, torch.float64, self.config.feature_dim, points.shape[0]
        # one sum is non-finite iff an element is NaN/±Inf (or the total overflows, which no real map reaches):
        # a full isfinite pass over the features costs more than the rest of the update
        if not bool(torch.isfinite(points.sum(dtype=f64) + features.sum(dtype=f64))):
            raise ValueError("points and features must be finite")
        # [f·w | w | z·w | z²·w | rgb·w | colour w] — column layout of the sums matrix, filled in place
        z = points[:, 2].to(f64)
        per_point = torch.empty(M, D + _N_EXTRA, dtype=f64, device=dev)
        per_point[:, :D] = features
        per_point[:, D] = 1.0
        per_point[:, D + 1] = z
        per_point[:, D + 2] = z * z
        if colours is not None:
            per_point[:, D + 3 : D + 6] = torch.as_tensor(colours)
            per_point[:, D + 6] = 1.0
        else:
            per_point[:, D + 3 :] = 0.0
        if weights is not None:
            per_point *= torch.as_tensor(weights).to(dev, f64).reshape(M, 1)
        ukeys, inv = torch.unique(self.voxel_keys(points), sorted=True, return_inverse=True)
        U = ukeys.shape[0]
        fr_sums = torch.zeros(U, per_point.shape[1], dtype=f64, device=dev).index_add_(0, inv, per_point)
        fr_zr = torch.empty(U, 2, dtype=f64, device=dev)
        fr_zr[:, 0] = float("inf")
        fr_zr[:, 1] = float("-inf")
        fr_zr[:, 0].scatter_reduce_(0, inv, z, "amin")
        fr_zr[:, 1].scatter_reduce_(0, inv, z, "amax")
        return ukeys, fr_sums, fr_zr

    def _reduce_compiled(self, points: torch.Tensor, features: torch.Tensor, colours: Optional[torch.Tensor],
                      weights: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``_reduce_torch`` (keys, finiteness check included) as one sort and one compiled pass."""
        M = points.shape[0]
        col = _NO_COLOURS if colours is None else torch.as_tensor(colours).detach().cpu().numpy()
        w = _NO_WEIGHTS if weights is None else torch.as_tensor(weights).detach().cpu().reshape(-1).numpy()
        if weights is not None and w.shape[0] != M:
            raise ValueError(f"weights must have {M} entries, got {w.shape[0]}")
        out = compiled.reduce_frame(points.detach().numpy(), features.detach().numpy(), col, colours is not None,
                                       w, weights is not None, self.config.voxel_size, _OFFSET, _BITS)
        return tuple(torch.from_numpy(a) for a in out)

    def _find(self, ukeys: torch.Tensor) -> torch.Tensor:
        """[U] sorted keys → [U] their slots, -1 for keys not in the store."""
        n_idx = self._index_keys.shape[0]
        if not n_idx:
            return torch.full_like(ukeys, -1)
        if self._compiled:
            return torch.from_numpy(compiled.find_slots(self._index_keys.numpy(), self._index_slots.numpy(),
                                                           ukeys.numpy()))
        pos = torch.searchsorted(self._index_keys, ukeys).clamp_(max=n_idx - 1)
        found = self._index_keys.index_select(0, pos) == ukeys
        return torch.where(found, self._index_slots.index_select(0, pos), -1)

    def _merge_index(self, new_keys: torch.Tensor, new_slots: torch.Tensor) -> None:
        """Merge sorted, absent new keys into the sorted index: one searchsorted of the m new keys, then the old
        keys shift by the count of new keys inserted before them (bincount + cumsum, no n·log m search)."""
        old = self._index_keys
        n, m = old.shape[0], new_keys.shape[0]
        insert_at = torch.searchsorted(old, new_keys)
        shift = torch.cumsum(torch.bincount(insert_at, minlength=n + 1)[:n], 0)
        dst_old = torch.arange(n, device=self.device) + shift
        dst_new = torch.arange(m, device=self.device) + insert_at
        keys = torch.empty(n + m, dtype=torch.int64, device=self.device)
        slots = torch.empty(n + m, dtype=torch.int64, device=self.device)
        keys[dst_old], keys[dst_new] = old, new_keys
        slots[dst_old], slots[dst_new] = self._index_slots, new_slots
        self._index_keys, self._index_slots = keys, slots

    def _make_room(self, new_keys: torch.Tensor, new_weight: torch.Tensor, touched: torch.Tensor) -> torch.Tensor:
        """Evict stale voxels so the new ones fit; return the mask of new voxels kept (all, unless too many)."""
        cap, m = self.config.capacity, new_keys.shape[0]
        keep = torch.ones(m, dtype=torch.bool, device=self.device)
        excess = self._n + m - cap
        if excess <= 0:
            return keep
        untouched = torch.ones(self._n, dtype=torch.bool, device=self.device)
        untouched[touched] = False
        candidates = torch.nonzero(untouched).squeeze(1)
        target = min(excess + int(self.config.evict_fraction * cap), candidates.shape[0])
        if target > 0:
            # least recently seen first; ties broken by key (lexsort via two stable sorts)
            cand = candidates[torch.argsort(self._data["keys"][candidates], stable=True)]
            cand = cand[torch.argsort(self._data["last_tick"][cand], stable=True)]
            self._evict(cand[:target])
        overflow = self._n + m - cap
        if overflow > 0:
            order = torch.argsort(new_keys, stable=True)
            order = order[torch.argsort(-new_weight[order], stable=True)]
            keep[order[m - overflow:]] = False
            self._counters["dropped_new"] += overflow
        return keep

    def _evict(self, victims: torch.Tensor) -> None:
        """Remove the given slots: compact the storage and rebuild the index (runs rarely)."""
        alive = torch.ones(self._n, dtype=torch.bool, device=self.device)
        alive[victims] = False
        remap = torch.cumsum(alive, 0) - 1
        for v in self._data.values():
            v[: int(alive.sum())] = v[: self._n][alive].clone()
        keep_idx = alive[self._index_slots]
        self._index_keys = self._index_keys[keep_idx]
        self._index_slots = remap[self._index_slots[keep_idx]]
        self._n = int(alive.sum())
        self._counters["evicted"] += int(victims.shape[0])
        self._counters["evictions"] += 1

    # --------------------------------------------------------------- queries
    def arrays(self) -> dict[str, torch.Tensor]:
        """Every per-voxel array (the file format's names) in ascending key order (independent of insertion order)."""
        slots, d = self._index_slots, self._data
        seen = d["seen"][slots]
        return {"keys": d["keys"][slots], **self._named(d["sums"][slots], d["z_range"][slots]),
                "last_tick": d["last_tick"][slots], "first_seen": seen[:, 0], "last_seen": seen[:, 1]}

    def keys(self) -> torch.Tensor:
        """[n] int64 packed voxel keys, ascending."""
        return self._index_keys.clone()

    def voxel_indices(self) -> torch.Tensor:
        """[n, 3] int64 voxel lattice indices, in key order."""
        return unpack_keys(self._index_keys)

    def voxel_centers(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[n, 3] float64 voxel centres (metres), in key order (only of the voxels at key-order positions ``index``
        when given)."""
        keys = self._index_keys if index is None else self._index_keys[index]
        return unpack_keys(keys).to(torch.float64) * self.config.voxel_size

    def _slots(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Storage slots in key order (only of the voxels at key-order positions ``index`` when given)."""
        return self._index_slots if index is None else self._index_slots[index]

    def _sums(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[n, D + 7] sums matrix in key order (only the voxels at key-order positions ``index`` when given)."""
        return self._data["sums"][self._slots(index)]

    def voxels_in_squares(self, centres: torch.Tensor, sizes: torch.Tensor, min_z: float = -math.inf) -> torch.Tensor:
        """Ascending key-order positions of the voxels in any of the floor cells (``centres`` [M, 2] and edge
        ``sizes`` [M], m, as ``cfg.condense`` writes them: cells bounded by voxel boundaries, so the voxels of a cell
        are exactly those condensation put in it) whose centres stand at ``min_z`` or above. Keys sort by (i, j, k),
        so each (i, j) column of voxels is one contiguous key range: two binary searches per voxel column, whatever
        the map's size."""
        vs = self.config.voxel_size
        centres, sizes = centres.to(torch.float64).cpu().reshape(-1, 2), sizes.to(torch.float64).cpu().reshape(-1)
        edge = torch.round(sizes / vs).to(torch.int64)  # voxels per cell edge
        first = torch.round(centres / vs + 0.5 - edge[:, None] / 2).to(torch.int64)  # the cell's lowest (i, j)
        ij = []
        for n in torch.unique(edge).tolist():
            steps = torch.stack(torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij"), -1).reshape(-1, 2)
            ij.append((first[edge == n][:, None, :] + steps[None]).reshape(-1, 2))
        ij = torch.cat(ij) if ij else torch.zeros(0, 2, dtype=torch.int64)
        ij = ij[((ij >= -_OFFSET) & (ij < _OFFSET)).all(1)]
        lowest = torch.unique(pack_keys(torch.cat([ij, torch.full((len(ij), 1), -_OFFSET, dtype=torch.int64)], 1)))
        k_low = -_OFFSET if math.isinf(min_z) else min(max(-_OFFSET, math.ceil(min_z / vs - 1e-6)), _OFFSET)
        keys = self._index_keys.cpu()  # an (i, j) column's keys run from its lowest (k = -OFFSET) to lowest + MASK
        start = torch.searchsorted(keys, lowest + (k_low + _OFFSET))
        end = torch.searchsorted(keys, lowest + _MASK, right=True)
        lengths = (end - start).clamp_min(0)
        within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
        return torch.sort(torch.repeat_interleave(start, lengths) + within).values.to(self._index_slots.device)

    def weights(self) -> torch.Tensor:
        """[n] float64 accumulated weights (pixels fused into each voxel), in key order."""
        return self._sums()[:, self.config.feature_dim]

    def mean_features(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[n, D] float64 weighted mean feature per voxel, in key order (of the voxels at ``index`` when given)."""
        s, D = self._sums(index), self.config.feature_dim
        return s[:, :D] / s[:, D:D + 1]

    def mean_heights(self) -> torch.Tensor:
        """[n] float64 weighted mean z of the points in each voxel, in key order."""
        s, D = self._sums(), self.config.feature_dim
        return s[:, D + 1] / s[:, D]

    def mean_colours(self) -> torch.Tensor:
        """[n, 3] float64 mean colour (0–1) per voxel; 0 where no colour was fused; in key order."""
        s, D = self._sums(), self.config.feature_dim
        return s[:, D + 3:D + 6] / s[:, D + 6:D + 7].clamp_min(1e-12)

    def first_seen(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[n] float64 sensor time (s) of the earliest stamped frame that hit each voxel, NaN if none; key order
        (only of the voxels at key-order positions ``index`` when given)."""
        return self._data["seen"][self._slots(index), 0]

    def last_seen(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[n] float64 sensor time (s) of the latest stamped frame that hit each voxel, NaN if none; key order (of the
        voxels at ``index`` when given)."""
        return self._data["seen"][self._slots(index), 1]

    def newest_stamp(self) -> Optional[float]:
        """The latest seen time in the map (s): the stamp of the newest stamped frame fused; None if there is none."""
        times = self.last_seen()
        times = times[~times.isnan()]
        return float(times.max()) if times.numel() else None

    def stats(self) -> dict[str, Union[int, float]]:
        """Counters for status messages: voxels, capacity, evictions, dropped voxels, memory."""
        mem = sum(v.element_size() * v.numel() for v in self._data.values())
        mem += 16 * self._index_keys.shape[0]
        return {"voxels": self._n, "capacity": self.config.capacity, "version": self.version,
                "tick": self._tick, "memory_bytes": int(mem), **self._counters}

    # ------------------------------------------------------------ persistence
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the store to a safetensors file atomically (temp file in the same folder, fsync, rename); temp
        files of earlier saves to the same path that were killed before their rename are removed first."""
        from safetensors.torch import save as st_save

        path = Path(path)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.arrays().items()}
        meta = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "voxel_size": repr(float(self.config.voxel_size)),
            "feature_dim": str(self.config.feature_dim),
            "tick": str(self._tick),
            "counters": json.dumps(self._counters),
        }
        if self.camera_pose is not None:  # optional: files without it load with no camera pose
            meta["camera_pose"] = json.dumps(self.camera_pose.ravel().tolist())
        blob = st_save(tensors, metadata=meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a save that was killed
            stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike], config: Optional[VoxelStoreConfig] = None) -> VoxelStore:
        """A store loaded from a saved map, its voxel size and feature width taken from the file's metadata
        (other settings from ``config``). Raises ``ValueError`` naming the file on a missing or corrupt file."""
        source = Path(path).expanduser()
        if not source.is_file():
            raise ValueError(f"map file not found: {source}")
        try:
            with source.open("rb") as f:
                (hlen,) = struct.unpack("<Q", f.read(8))
                meta = json.loads(f.read(hlen)).get("__metadata__") or {}
            layout = {"voxel_size": float(meta["voxel_size"]), "feature_dim": int(meta["feature_dim"])}
        except Exception as exc:  # any header problem means "not a map file" to the caller
            raise ValueError(f"{source} is not a saved leovl map (voxel store): {exc}") from exc
        store = cls(replace(config or VoxelStoreConfig(), **layout))
        store.load(source)
        return store

    def load(self, path: Union[str, os.PathLike]) -> None:
        """Replace the store's content with a saved file; on any problem raise ValueError and change nothing."""
        tensors, meta = _read_store_file(Path(path), self.config)  # any version, as version-2 arrays
        n = tensors["keys"].shape[0]
        if n > self.config.capacity:
            raise ValueError(f"{path}: {n} voxels exceed this store's capacity {self.config.capacity}")
        data = self._alloc(max(n, min(self.config.initial_slots, self.config.capacity)))
        data["keys"][:n] = tensors["keys"].to(self.device)
        data["last_tick"][:n] = tensors["last_tick"].to(self.device)
        data["seen"][:n] = torch.stack([tensors["first_seen"], tensors["last_seen"]], 1).to(self.device)
        for k, view in self._named(data["sums"][:n], data["z_range"][:n]).items():
            view.copy_(tensors[k].to(self.device))
        self._data, self._n = data, n
        self._index_keys = data["keys"][:n].clone()
        self._index_slots = torch.arange(n, device=self.device)
        self._tick = int(meta["tick"])
        self._counters = {k: int(v) for k, v in json.loads(meta["counters"]).items()}
        self.camera_pose = None
        if "camera_pose" in meta:
            self.note_camera(np.reshape(json.loads(meta["camera_pose"]), (4, 4)))
        self.version += 1


def _read_store_file(path: Path, config: VoxelStoreConfig) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read and validate a saved store of any supported format version; returns its arrays under the current
    version's names (a version-1 file's tick as ``last_tick``, its unknown times as NaN). Any defect raises
    ValueError naming the file and the problem."""
    from safetensors.torch import load as st_load

    try:
        blob = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read voxel store file {path}: {e}") from e
    try:
        (hlen,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + hlen])
        meta = header.get("__metadata__") or {}
        tensors = st_load(blob)
    except Exception as e:  # any parse failure means a corrupt file
        raise ValueError(f"{path} is not a valid safetensors voxel store (corrupt or truncated): {e}") from e
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (format={meta.get('format')!r})")
    version = {str(v): v for v in _FIELDS}.get(meta.get("format_version"))
    if version is None:
        raise ValueError(f"{path}: format version {meta.get('format_version')} is not one this code reads "
                         f"({', '.join(str(v) for v in _FIELDS)})")
    try:
        voxel_size, feature_dim = float(meta["voxel_size"]), int(meta["feature_dim"])
        int(meta["tick"])
        json.loads(meta["counters"])
        if "camera_pose" in meta:
            np.reshape(np.asarray(json.loads(meta["camera_pose"]), dtype=np.float64), (4, 4))
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: missing or malformed metadata: {e}") from e
    if voxel_size != config.voxel_size:
        raise ValueError(f"{path}: voxel_size {voxel_size} does not match the store's {config.voxel_size}")
    if feature_dim != config.feature_dim:
        raise ValueError(f"{path}: feature_dim {feature_dim} does not match the store's {config.feature_dim}")
    missing = [k for k in _FIELDS[version] if k not in tensors]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing}")
    n = tensors["keys"].shape[0]
    shapes = {"feature_sum": (n, feature_dim), "colour_sum": (n, 3)}
    for k in _FIELDS[version]:
        t = tensors[k]
        want_dtype = torch.int64 if k in _INT_FIELDS[version] else torch.float64
        if t.dtype != want_dtype or tuple(t.shape) != shapes.get(k, (n,)):
            raise ValueError(f"{path}: array {k} has {t.dtype} {tuple(t.shape)}, expected {want_dtype} "
                             f"{shapes.get(k, (n,))}")
    if n > 1 and not bool((tensors["keys"][1:] > tensors["keys"][:-1]).all()):
        raise ValueError(f"{path}: voxel keys are not strictly ascending")
    if not bool((tensors["weight"] > 0).all()) or not all(bool(torch.isfinite(tensors[k]).all())
                                                          for k in ("feature_sum", "weight", "z_sum", "colour_sum")):
        raise ValueError(f"{path}: non-finite or non-positive accumulators")
    if version == 1:  # the tick was called last_seen; no times were kept
        tensors["last_tick"] = tensors.pop("last_seen")
        tensors["first_seen"] = torch.full((n,), math.nan, dtype=torch.float64)
        tensors["last_seen"] = torch.full((n,), math.nan, dtype=torch.float64)
    first, last = tensors["first_seen"], tensors["last_seen"]
    known = first.isfinite() & last.isfinite() & (first <= last)
    if not bool((known | (first.isnan() & last.isnan())).all()):
        raise ValueError(f"{path}: seen times must be both unknown (NaN) or finite with first_seen <= last_seen")
    return tensors, meta
