"""Top-down picture of a scene: walls with doors and windows, coloured labelled objects and the camera path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leovl_ros.sim.scene import Scene


def plot_scene(scene: Scene, path: str | Path, poses: list[np.ndarray] | None = None, dpi: int = 120) -> None:
    """Write a PNG plan view of the scene (and of the camera trajectory when poses are given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    room = scene.room
    lx, ly = room.size
    fig, ax = plt.subplots(figsize=(1.4 * lx + 1.5, 1.4 * ly + 1.0))
    ax.add_patch(Polygon([[0, 0], [lx, 0], [lx, ly], [0, ly]], closed=True, color=np.array(room.floor_rgb) / 255,
                         alpha=0.35, zorder=0))
    for wall in range(4):
        _draw_wall(ax, scene, wall)
    for obj in sorted(scene.objects, key=lambda o: (o.support is not None, o.bottom)):
        corners = obj.corners()[[0, 1, 3, 2], :2]
        ax.add_patch(Polygon(corners, closed=True, facecolor=np.array(obj.rgb) / 255, edgecolor="black",
                             linewidth=0.8, linestyle="--" if obj.support is not None else "-",
                             zorder=2 + (obj.support is not None)))
        tip = obj.center[:2] + obj.front()[:2] * obj.size[1] / 2
        ax.plot(*zip(obj.center[:2], tip), color="black", linewidth=0.6, zorder=4)
        ax.text(obj.center[0], obj.center[1], f"{obj.id} {obj.cls}", fontsize=6.5, ha="center", va="center",
                zorder=6, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "linewidth": 0})
    if poses:
        xy = np.array([p[:2, 3] for p in poses])
        ax.plot(xy[:, 0], xy[:, 1], color="crimson", linewidth=1.2, zorder=5, label="camera path")
        ax.plot(*xy[0], marker="o", color="crimson", zorder=5)
        for p in poses[:: max(1, len(poses) // 25)]:
            look = p[:2, 2] / max(np.linalg.norm(p[:2, 2]), 1e-9) * 0.25
            ax.arrow(p[0, 3], p[1, 3], look[0], look[1], width=0.01, head_width=0.06, color="crimson", zorder=5)
        ax.legend(loc="upper right", fontsize=7)
    ax.set_xlim(-0.4, lx + 0.4)
    ax.set_ylim(-0.4, ly + 0.4)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(f"scene {scene.seed}: {room.kind}, {lx:.1f} × {ly:.1f} × {room.height:.1f} m, "
                 f"{len(scene.objects)} objects", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _draw_wall(ax, scene: Scene, wall: int) -> None:
    """One wall as a thick line, doors as gaps and windows as light-blue segments."""
    room = scene.room
    length = room.wall_length(wall)
    openings = sorted((o for o in room.openings if o.wall == wall), key=lambda o: o.center)
    start = 0.0
    for o in [*openings, None]:
        end = length if o is None else o.center - o.width / 2
        a, b = room.wall_point(wall, start), room.wall_point(wall, end)
        ax.plot([a[0], b[0]], [a[1], b[1]], color="dimgray", linewidth=4, solid_capstyle="butt", zorder=1)
        if o is None:
            break
        a, b = room.wall_point(wall, end), room.wall_point(wall, o.center + o.width / 2)
        if o.kind == "window":
            ax.plot([a[0], b[0]], [a[1], b[1]], color="lightskyblue", linewidth=4, solid_capstyle="butt", zorder=1)
        else:
            mid = room.wall_point(wall, o.center, -0.2)
            ax.text(mid[0], mid[1], "door", fontsize=6, ha="center", va="center", color="dimgray")
        start = o.center + o.width / 2
