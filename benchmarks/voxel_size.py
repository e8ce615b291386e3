"""Sweep the voxel store's edge: what each size costs and what it changes in the CFG; prints ONE JSON line + a plot.

For each size it runs ``benchmarks/fusion.py``'s measurement on the same frames (10 synthetic rooms + the
livingroom by default): ``fuse_ms`` and Open3D's TSDF at that size, the median store size per scene (voxels, and MB
allocated) and the token counts. Condensation sums whole store voxels into each cell and height bin
(``condense.check_grid`` refuses a size that does not divide the cells), so the size moves the CFG only by its
half-voxel grid shift; what it does decide is the cost, and which cell sizes a map can later be condensed at
(``cell_sizes``: of 0.1-0.6 m, those whose cells and refined half-cells hold whole voxels). Sizes compared: 2.5, 5,
7.5 and 15 cm, the divisors of the default 0.15 m half-cell.

    python benchmarks/voxel_size.py [--rooms 10] [--sizes 0.025 0.05 0.075 0.15] [--no-open3d]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import fusion  # benchmarks/fusion.py: the per-size measurement

FIGURES = ("voxel_size_m", "fuse_ms", "open3d_tsdf_ms", "speedup_vs_open3d", "fuse_cpu_ms", "open3d_tsdf_cpu_ms",
           "median_store_mb", "median_voxel_tokens", "median_cfg_tokens_unclipped", "voxel_to_cfg_ratio")
"""The figures of each ``fusion.run`` kept per size."""
CELL_SIZES = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.6)
"""Cell edges (m) checked for each voxel size: a map can be condensed at those it divides (refined halves too)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=float, nargs="+", default=[0.025, 0.05, 0.075, 0.15],
                   help="store voxel edges to compare (m); each must divide the 0.15 m half-cell")
    p.add_argument("--rooms", type=int, default=10, help="synthetic rooms (seeds 0..N-1), as fusion.py")
    p.add_argument("--frames", type=int, default=60, help="frames rendered per synthetic room, as fusion.py")
    p.add_argument("--no-open3d", action="store_true", help="skip the Open3D TSDF baseline")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                   help="folder for voxel_size.png")
    return p.parse_args(argv)


def plot(rows: list[dict], default: float, path: Path) -> None:
    """Three panels against the voxel edge: per-frame time (ours, Open3D), store memory, token counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    cm = [100 * r["voxel_size_m"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].plot(cm, [r["fuse_ms"] for r in rows], "o-", label="voxel store (ours)")
    if all(r["open3d_tsdf_ms"] for r in rows):
        axes[0].plot(cm, [r["open3d_tsdf_ms"] for r in rows], "s--", label="Open3D VoxelBlockGrid TSDF")
    axes[0].set(ylabel="ms per 640×480 frame (median)", ylim=(0, None))
    axes[0].legend()
    axes[1].plot(cm, [r["median_store_voxels"] / 1000 for r in rows], "o-")
    axes[1].set(ylabel="store voxels per scene, thousands (median)", ylim=(0, None))
    axes[2].plot(cm, [r["median_voxel_tokens"] for r in rows], "o-", label="voxel tokens (0.3 m cubes)")
    axes[2].plot(cm, [r["median_cfg_tokens_unclipped"] for r in rows], "s-", label="CFG columns")
    axes[2].set(ylabel="tokens per scene (median)", ylim=(0, None))
    axes[2].legend()
    for ax in axes:
        ax.axvline(100 * default, color="grey", ls=":")
        ax.set(xlabel="store voxel edge (cm)", xscale="log", xticks=cm, xticklabels=[f"{c:g}" for c in cm])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
    fig.suptitle("voxel size sweep (dotted: the default)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cell_sizes(voxel_size: float) -> list[float]:
    """The cell edges of ``CELL_SIZES`` that a store of this voxel size can be condensed at (refinement on)."""
    from leovl_ros.cfg.condense import CondenseConfig, check_grid

    fits = []
    for c in CELL_SIZES:
        try:
            check_grid(voxel_size, CondenseConfig(cell_size=c))
        except ValueError:
            continue
        fits.append(c)
    return fits


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from leovl_ros.cfg import CondenseConfig, VoxelStoreConfig
    from leovl_ros.cfg.condense import check_grid

    for v in args.sizes:  # refuse a size the grid cannot use before any rendering
        check_grid(v, CondenseConfig())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in tqdm(args.sizes, desc="voxel sizes", file=sys.stderr):
            fusion_args = ["--rooms", str(args.rooms), "--token-rooms", "0", "--frames", str(args.frames),
                           "--voxel-size", str(v), "--out", tmp] + (["--no-open3d"] if args.no_open3d else [])
            result = fusion.run(fusion.parse_args(fusion_args))
            voxels = statistics.median(s["store_voxels"] for s in result["scenes"])
            rows.append({**{k: result[k] for k in FIGURES}, "median_store_voxels": voxels, "cell_sizes": cell_sizes(v)})
    default = VoxelStoreConfig().voxel_size
    png = args.out / "voxel_size.png"
    plot(rows, default, png)
    print(json.dumps({"default_voxel_size_m": default, "frames": result["frames"], "sizes": rows, "png": str(png)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
