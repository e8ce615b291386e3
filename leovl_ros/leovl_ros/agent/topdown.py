"""Top-down picture of a condensed feature grid: cells in their colour, grounded cells highlighted, camera path.

ROS-free (matplotlib, Agg backend): the demo and reports call it on the fields of a ``ColumnBatch``
(``leovl_ros.cfg.condense``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

PathLike = Union[str, Path]


def _as_numpy(x: Any) -> np.ndarray:
    """Tensor or array → float64 numpy array (no gradient, on CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def plot_topdown(
    xy: np.ndarray,
    cell_size: np.ndarray,
    colour: np.ndarray,
    out_path: PathLike,
    highlight: Sequence[int] = (),
    highlight_xyz: Sequence[Sequence[float]] = (),
    camera_path: Optional[np.ndarray] = None,
    title: str = "",
) -> Path:
    """Draw one square per cell (centre ``xy`` [N,2], side ``cell_size`` [N], RGB ``colour`` [N,3] in 0–1) to a PNG.

    ``highlight`` are cell indices drawn with a thick outline; ``highlight_xyz`` are grounded world points
    (stars); ``camera_path`` is a [T,2+] array of camera positions drawn as a line from start (circle) to
    end (triangle). Returns the written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    xy = _as_numpy(xy).reshape(-1, 2)
    sizes = np.broadcast_to(_as_numpy(cell_size).reshape(-1), (len(xy),))
    colours = np.clip(_as_numpy(colour).reshape(-1, 3), 0.0, 1.0) if len(xy) else np.zeros((0, 3))
    fig, ax = plt.subplots(figsize=(7, 7), dpi=110)
    cells = [Rectangle((x - s / 2, y - s / 2), s, s) for (x, y), s in zip(xy, sizes)]
    ax.add_collection(PatchCollection(cells, facecolors=colours, edgecolors="none"))
    chosen = sorted({int(i) for i in highlight if 0 <= int(i) < len(xy)})
    if chosen:
        marks = [Rectangle((xy[i, 0] - sizes[i] / 2, xy[i, 1] - sizes[i] / 2), sizes[i], sizes[i]) for i in chosen]
        ax.add_collection(PatchCollection(marks, facecolors="none", edgecolors="magenta", linewidths=2.0))
    points = _as_numpy(highlight_xyz).reshape(-1, 3) if len(highlight_xyz) else np.zeros((0, 3))
    if len(points):
        ax.scatter(points[:, 0], points[:, 1], marker="*", s=220, c="magenta", edgecolors="black", zorder=4,
                   label="grounded")
    extent = [xy] if len(xy) else []
    if camera_path is not None and len(camera_path):
        path = _as_numpy(camera_path)[:, :2]
        ax.plot(path[:, 0], path[:, 1], "-", color="black", lw=1.2, zorder=3, label="camera path")
        ax.plot(path[0, 0], path[0, 1], "o", color="green", ms=8, zorder=4)
        ax.plot(path[-1, 0], path[-1, 1], "^", color="red", ms=8, zorder=4)
        extent.append(path)
    if len(points):
        extent.append(points[:, :2])
    if extent:
        allxy = np.concatenate(extent)
        pad = float(sizes.max()) if len(sizes) else 0.25
        ax.set_xlim(allxy[:, 0].min() - pad, allxy[:, 0].max() + pad)
        ax.set_ylim(allxy[:, 1].min() - pad, allxy[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m] (map)")
    ax.set_ylabel("y [m] (map)")
    ax.set_title(title or f"CFG top-down: {len(xy)} cells, {len(chosen)} grounded")
    ax.grid(True, lw=0.3, alpha=0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
