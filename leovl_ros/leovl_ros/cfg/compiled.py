"""Compiled CPU loops (numba) for the per-frame hot paths of lifting and the voxel store.

The PyTorch code in ``lifting.py`` and ``voxel_store.py`` is the reference and the CUDA path: there each step is
one kernel over all pixels or voxels. On a CPU the same steps cost ~40 separate tensor passes and dispatches per
frame; these loops do the work of each step in one pass over the data (validity, foreground band and per-cell
sums over the depth pixels; per-voxel reduction of a frame; accumulation into the store; the sorted-index merge).
Tests check both paths agree. ``AVAILABLE`` is False when numba is not installed, and the torch path runs instead.
"""

from __future__ import annotations

import numpy as np
import torch

try:
    import numba
except ImportError as exc:  # optional (e.g. an apt NumPy older than numba supports): the torch path covers all
    numba = None
    UNAVAILABLE_REASON: str | None = f"numba cannot be imported ({exc})"
else:
    UNAVAILABLE_REASON = None

AVAILABLE = numba is not None
"""Whether the compiled loops exist here; ``UNAVAILABLE_REASON`` says why not (for start-up logs)."""


def enabled(device: torch.device | str, wanted: bool = True) -> bool:
    """Whether the compiled loops serve a computation on ``device``: CPU only, when wanted and numba is installed."""
    return wanted and AVAILABLE and torch.device(device).type == "cpu"


def _njit(fn):
    """Compile ``fn`` with numba (cached on disk, GIL released) when it is installed; else leave it uncompiled."""
    return numba.njit(cache=True, nogil=True)(fn) if AVAILABLE else fn


@_njit
def lift_points(depth, mask, use_mask, step, colour_step, rows, cols, n_cells_w, n_cells, min_depth, max_depth,
                band, band_abs, use_band, min_pixels, rgb, use_rgb, rot, trans):
    """``lift`` on CPU: sample and validate the depth, find each cell's band limit, sum per cell, then colour —
    a few passes over the sampled pixels, then one over the cells.

    ``rows`` / ``cols`` map each sampled row/column to its feature row/column (runs of equal values). A pixel is
    valid when ``min_depth ≤ z ≤ max_depth`` (``z > 0`` when ``min_depth ≤ 0``; NaN fails both) and the mask
    allows it; with the band, only pixels with ``z ≤ z_near·(1 + band) + band_abs`` of their cell count (float32,
    as the torch path). Sums accumulate in float64, per run of pixels in one cell. Returns, for the cells with at
    least ``min_pixels`` pooled pixels: cell index [M], world points ``rot·mean(u·z, v·z, z) + trans`` [M, 3]
    float32, mean colour 0–1 [M, 3] float32 (valid colour samples, else all of the cell's samples) and pixel
    count [M].
    """
    Hs, Ws = rows.shape[0], cols.shape[0]
    inf = np.float32(np.inf)
    # the sampled depth, invalid pixels set to +inf (fails every later ≤)
    # (min_depth ≤ 0 means z > 0: the smallest positive float32 as the lower bound; NaN fails both comparisons)
    lo = np.float32(min_depth) if min_depth > 0.0 else np.nextafter(np.float32(0.0), np.float32(1.0))
    hi = np.float32(max_depth)
    zs = np.empty((Hs, Ws), dtype=np.float32)
    for i in range(Hs):
        for j in range(Ws):
            z = depth[i * step, j * step]
            zs[i, j] = z if z >= lo and z <= hi else inf
    if use_mask:
        for i in range(Hs):
            for j in range(Ws):
                if not mask[i * step, j * step]:
                    zs[i, j] = inf
    limit = np.full(n_cells, inf, dtype=np.float32)  # without the band every valid pixel passes
    if use_band:  # each cell's nearest valid depth, widened by the band
        for i in range(Hs):
            base = rows[i] * n_cells_w
            for j in range(Ws):
                c = base + cols[j]
                limit[c] = min(limit[c], zs[i, j])
        gain, offset = np.float32(1.0 + band), np.float32(band_abs)
        for c in range(n_cells):
            limit[c] = limit[c] * gain + offset
    # Σu·z, Σv·z, Σz and the count of the in-band pixels, accumulated per run of pixels in one cell
    sums = np.zeros((n_cells, 4))
    for i in range(Hs):
        y, base = i * step, rows[i] * n_cells_w
        j = 0
        while j < Ws:
            cj = cols[j]
            lim = limit[base + cj]
            su = sz = cnt = 0.0
            while j < Ws and cols[j] == cj:
                z = zs[i, j]
                if z <= lim and z < inf:
                    su += (j * step) * np.float64(z)
                    sz += z
                    cnt += 1.0
                j += 1
            c = base + cj
            sums[c, 0] += su
            sums[c, 1] += y * sz
            sums[c, 2] += sz
            sums[c, 3] += cnt
    # colour: Σrgb and count over the valid colour samples, and over all of them (fallback)
    csums = np.zeros((n_cells, 8))
    if use_rgb:
        for i in range(0, Hs, colour_step):
            y, base = i * step, rows[i] * n_cells_w
            for j in range(0, Ws, colour_step):
                x, c = j * step, base + cols[j]
                z = zs[i, j]
                ok = z <= limit[c] and z < inf
                for k in range(3):
                    v = np.float64(rgb[y, x, k])
                    csums[c, 4 + k] += v
                    if ok:
                        csums[c, k] += v
                csums[c, 7] += 1.0
                if ok:
                    csums[c, 3] += 1.0
    M = 0
    for c in range(n_cells):
        if sums[c, 3] >= min_pixels:
            M += 1
    cell_index = np.empty(M, dtype=np.int64)
    points = np.empty((M, 3), dtype=np.float32)
    colours = np.empty((M, 3), dtype=np.float32)
    pixels = np.empty(M, dtype=np.int64)
    m = 0
    for c in range(n_cells):
        n = sums[c, 3]
        if n < min_pixels:
            continue
        uz, vz, zz = sums[c, 0] / n, sums[c, 1] / n, sums[c, 2] / n
        for k in range(3):
            points[m, k] = rot[k, 0] * uz + rot[k, 1] * vz + rot[k, 2] * zz + trans[k]
            if use_rgb:  # valid colour samples, else all of the cell's samples
                mean = csums[c, k] / csums[c, 3] if csums[c, 3] > 0 else csums[c, 4 + k] / csums[c, 7]
                colours[m, k] = mean / 255.0
        cell_index[m] = c
        pixels[m] = np.int64(n)
        m += 1
    return cell_index, points, colours, pixels


@_njit
def reduce_frame(points, features, colours, use_colours, weights, use_weights, voxel_size, offset, bits):
    """A frame's points → its unique voxels: ascending packed keys [U], sums [U, D + 7] float64 (the store's
    column layout: Σf·w, Σw, Σz·w, Σz²·w, Σrgb·w, colour Σw) and z range [U, 2]. Keys, the finiteness check and
    the arithmetic are those of the torch path (same order of additions: stable sort), in one sort and one pass."""
    M, D = features.shape
    keys = np.empty(M, dtype=np.int64)
    for p in range(M):
        key = 0
        for a in range(3):
            x = np.float64(points[p, a])
            if not np.isfinite(x):
                raise ValueError("points and features must be finite")
            i = np.int64(np.floor(x / voxel_size + 0.5))
            if i < -offset or i >= offset:
                raise ValueError("voxel index out of the range a key can hold")
            key = (key << bits) | (i + offset)
        keys[p] = key
    # unique keys (ascending) and each point's voxel
    order = np.argsort(keys, kind="mergesort")
    inv = np.empty(M, dtype=np.int64)
    U = 0
    for a in range(M):
        if a > 0 and keys[order[a]] != keys[order[a - 1]]:
            U += 1
        inv[order[a]] = U
    U = U + 1 if M else 0
    ukeys = np.empty(U, dtype=np.int64)
    zr = np.empty((U, 2))
    zr[:, 0] = np.inf
    zr[:, 1] = -np.inf
    w = np.ones(M)
    for p in range(M):
        u = inv[p]
        ukeys[u] = keys[p]
        zp = np.float64(points[p, 2])
        zr[u, 0] = min(zr[u, 0], zp)
        zr[u, 1] = max(zr[u, 1], zp)
        if use_weights:
            w[p] = weights[p]
    # sums in point order within each voxel (the torch path's index_add order: bit-identical results); the
    # loop nest follows the feature layout (the gathered features are usually a transposed view)
    sums = np.zeros((U, D + 7))
    if features.strides[0] < features.strides[1]:
        for d in range(D):
            for p in range(M):
                sums[inv[p], d] += np.float64(features[p, d]) * w[p]
    else:
        for p in range(M):
            u, wp = inv[p], w[p]
            for d in range(D):
                sums[u, d] += np.float64(features[p, d]) * wp
    for p in range(M):
        u, wp, zp = inv[p], w[p], np.float64(points[p, 2])
        sums[u, D] += wp
        sums[u, D + 1] += zp * wp
        sums[u, D + 2] += zp * zp * wp
        if use_colours:
            for k in range(3):
                sums[u, D + 3 + k] += np.float64(colours[p, k]) * wp
            sums[u, D + 6] += wp
    for u in range(U):  # a NaN/±Inf feature makes its voxel's sum non-finite (checked before anything is stored)
        for d in range(D):
            if not np.isfinite(sums[u, d]):
                raise ValueError("points and features must be finite")
    return ukeys, sums, zr


@_njit
def find_slots(index_keys, index_slots, keys):
    """Slots of ascending ``keys`` in the sorted index (-1 where absent): one binary search per key, each starting
    where the previous key's ended."""
    n, U = index_keys.shape[0], keys.shape[0]
    out = np.full(U, -1, dtype=np.int64)
    lo = 0
    for u in range(U):
        k = keys[u]
        hi = n
        while lo < hi:  # first index ≥ k, searching only past the previous key's position
            mid = (lo + hi) >> 1
            if index_keys[mid] < k:
                lo = mid + 1
            else:
                hi = mid
        if lo < n and index_keys[lo] == k:
            out[u] = index_slots[lo]
    return out


@_njit
def accumulate(store_sums, store_zr, last_tick, store_seen, slots, frame_sums, frame_zr, tick, stamp):
    """Add frame voxel i's sums and z range into store slot ``slots[i]`` (skipped when < 0), mark it with the tick
    and widen its [first, last] seen times to include ``stamp`` (left alone when ``stamp`` is NaN; a NaN time
    takes the stamp: torch's fmin/fmax)."""
    K = frame_sums.shape[1]
    has_stamp = not np.isnan(stamp)
    for i in range(slots.shape[0]):
        s = slots[i]
        if s < 0:
            continue
        for k in range(K):
            store_sums[s, k] += frame_sums[i, k]
        store_zr[s, 0] = min(store_zr[s, 0], frame_zr[i, 0])
        store_zr[s, 1] = max(store_zr[s, 1], frame_zr[i, 1])
        last_tick[s] = tick
        if has_stamp:
            if not store_seen[s, 0] <= stamp:  # NaN compares false
                store_seen[s, 0] = stamp
            if not store_seen[s, 1] >= stamp:
                store_seen[s, 1] = stamp


@_njit
def append_new(store_keys, store_sums, store_zr, store_seen, keys, slots, n):
    """Give each new frame voxel (slot -1) the next empty slot from ``n`` on, in key order: write its key, zero
    its sums, empty its z range, unknown (NaN) seen times, update ``slots`` in place. Returns the new keys and their
    slots."""
    m = 0
    for u in range(keys.shape[0]):
        if slots[u] == -1:
            m += 1
    new_keys = np.empty(m, dtype=np.int64)
    new_slots = np.empty(m, dtype=np.int64)
    j = 0
    for u in range(keys.shape[0]):
        if slots[u] != -1:
            continue
        s = n + j
        store_keys[s] = keys[u]
        store_sums[s, :] = 0.0
        store_zr[s, 0] = np.inf
        store_zr[s, 1] = -np.inf
        store_seen[s, 0] = np.nan
        store_seen[s, 1] = np.nan
        slots[u] = s
        new_keys[j], new_slots[j] = keys[u], s
        j += 1
    return new_keys, new_slots


@_njit
def merge_sorted(keys, slots, new_keys, new_slots):
    """Merge two ascending, disjoint key arrays (with their slot ids) into one ascending pair, in one pass."""
    n, m = keys.shape[0], new_keys.shape[0]
    out_keys = np.empty(n + m, dtype=np.int64)
    out_slots = np.empty(n + m, dtype=np.int64)
    a = b = 0
    for o in range(n + m):
        if b >= m or (a < n and keys[a] < new_keys[b]):
            out_keys[o], out_slots[o] = keys[a], slots[a]
            a += 1
        else:
            out_keys[o], out_slots[o] = new_keys[b], new_slots[b]
            b += 1
    return out_keys, out_slots
