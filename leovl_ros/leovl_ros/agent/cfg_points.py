"""The CFG and the voxel map as plain point arrays: what ``~/cfg`` publishes, ``leovl-map export`` writes and the
rerun recording shows, computed once, ROS-free.

One point per CFG cell at (cell centre x, y, the column's weighted mean height), its mean colour and its weight
(fused points); one point per store voxel at its centre. Colours leave as 8-bit RGB by one rule,
``round(c · 255)`` clipped to 0–255 on the float32 colour, the rule the ``~/cfg`` cloud packs into its ``rgb``
field, so a PLY, a recording and the topic carry the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """Tensor or array-like → numpy (no torch import needed)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def colours_to_uint8(colour: Any) -> np.ndarray:
    """N×3 colours (0–1 floats, or already uint8) → N×3 uint8: ``clip(rint(c · 255), 0, 255)`` in float32."""
    c = to_numpy(colour)
    if c.dtype == np.uint8:
        return c.reshape(-1, 3)
    c32 = c.astype(np.float32).reshape(-1, 3)
    return np.clip(np.rint(c32 * 255.0), 0, 255).astype(np.uint8)


def cfg_columns(batch: Any) -> dict[str, np.ndarray]:
    """ColumnBatch → numpy per cell: xyz (x, y, mean height), colour 0–1, weight (sum), cell_size, top.

    Float32 throughout, the values ``~/cfg`` and ``~/cfg_markers`` publish.
    """
    xy = to_numpy(batch.xy).astype(np.float32).reshape(-1, 2)
    n = xy.shape[0]
    weights = to_numpy(batch.weights).astype(np.float32)
    mask = to_numpy(batch.mask).astype(bool)
    return {
        "xyz": np.column_stack([xy, to_numpy(batch.mean_height).astype(np.float32).reshape(n)]),
        "colour": to_numpy(batch.colour).astype(np.float32).reshape(n, 3),
        "weight": (weights * mask).sum(axis=-1).reshape(n),
        "cell_size": to_numpy(batch.cell_size).astype(np.float32).reshape(n),
        "top": to_numpy(batch.top_height).astype(np.float32).reshape(n),
    }


def voxel_points(store: Any) -> dict[str, np.ndarray]:
    """VoxelStore → numpy per voxel, in key order: xyz (voxel centre), colour 0–1, weight, mean_height (float32)."""
    return {
        "xyz": to_numpy(store.voxel_centers()).astype(np.float32).reshape(-1, 3),
        "colour": to_numpy(store.mean_colours()).astype(np.float32).reshape(-1, 3),
        "weight": to_numpy(store.weights()).astype(np.float32).reshape(-1),
        "mean_height": to_numpy(store.mean_heights()).astype(np.float32).reshape(-1),
    }
