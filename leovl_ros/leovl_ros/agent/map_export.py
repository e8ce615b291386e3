"""``leovl-map``: a saved map as point clouds any tool opens (PLY, PCD), without ROS.

``leovl-map export MAP --ply cfg.ply [--pcd cfg.pcd] [--voxels]`` loads a map saved by the fusion node's
``~/save_map`` (or ``leovl-demo``), condenses it as the fusion node does for ``~/cfg`` (``--cell-size`` and
``--token-budget``, the node's parameters ``cell_size`` and ``token_budget``, or both read from ``--params``) and
writes one point per CFG cell: position (cell centre, the column's mean height), 8-bit RGB and the attributes
``weight`` (fused points) and ``cell_size`` (metres). The points, their order and their colours are exactly those of
the ``~/cfg`` PointCloud2 for the same map (``cfg_points``). ``--voxels`` also writes the voxel map (one point per
store voxel at its centre, with ``weight`` and ``mean_height``) next to each file as ``<name>_voxels.<ext>``.

Files are written with Open3D's tensor I/O (binary PLY/PCD, float32 positions, uint8 colours, extra attributes
kept) through a temporary file renamed into place; read them back with ``o3d.t.io.read_point_cloud`` —
Open3D's legacy reader converts colours to floats. ``leovl-map info MAP`` prints voxels, CFG cells and extent.
Exit code 2 on a bad or empty map, parameter file or output name.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml

from leovl_ros.agent.cfg_points import cfg_columns, colours_to_uint8, voxel_points

SUFFIXES = (".ply", ".pcd")
"""Output formats, chosen by file suffix."""


def condense_config_from_params(path: Optional[Path], cell_size: Optional[float], token_budget: Optional[int]) -> Any:
    """The fusion node's CFG grid: ``cell_size`` / ``token_budget`` from a parameter YAML, overridden by options."""
    from leovl_ros.cfg.condense import CondenseConfig

    values: dict[str, Any] = {}
    if path is not None:
        data = yaml.safe_load(Path(path).read_text()) or {}
        for key, section in data.items():
            if str(key).rsplit("/", 1)[-1] == "fusion" and isinstance(section, dict):
                values.update(section.get("ros__parameters") or {})
    default = CondenseConfig()
    return CondenseConfig(cell_size=float(cell_size if cell_size is not None else values.get("cell_size",
                                                                                                default.cell_size)),
                          budget=int(token_budget if token_budget is not None else values.get("token_budget",
                                                                                               default.budget)))


def cfg_points_of(store: Any, condense_config: Any = None) -> dict[str, np.ndarray]:
    """The ``~/cfg`` points of a store: xyz float32, colour uint8, weight and cell_size float32 (one per cell)."""
    from leovl_ros.cfg.condense import condense

    cols = cfg_columns(condense(store, condense_config))
    return {"positions": cols["xyz"], "colors": colours_to_uint8(cols["colour"]), "weight": cols["weight"],
            "cell_size": cols["cell_size"]}


def voxel_points_of(store: Any) -> dict[str, np.ndarray]:
    """The voxel map's points: centre xyz float32, colour uint8, weight and mean_height float32 (key order)."""
    vox = voxel_points(store)
    return {"positions": vox["xyz"], "colors": colours_to_uint8(vox["colour"]), "weight": vox["weight"],
            "mean_height": vox["mean_height"]}


def write_points(path: str | os.PathLike, points: dict[str, np.ndarray]) -> Path:
    """Write ``positions`` (N×3), ``colors`` (N×3 uint8) and any N-vector attributes as binary PLY/PCD, atomically."""
    import open3d as o3d

    target = Path(path).expanduser()
    if target.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{target}: the file name must end in {' or '.join(SUFFIXES)}")
    cloud = o3d.t.geometry.PointCloud()
    for name, values in points.items():
        arr = np.ascontiguousarray(values)
        cloud.point[name] = o3d.core.Tensor(arr if arr.ndim == 2 else arr.reshape(-1, 1))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix.lower(), dir=target.parent)
    os.close(fd)
    try:
        if not o3d.t.io.write_point_cloud(tmp, cloud, write_ascii=False):
            raise OSError(f"Open3D could not write {target}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def read_points(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A PLY/PCD read with Open3D's tensor reader: every attribute as numpy (N-vectors flattened)."""
    import open3d as o3d

    cloud = o3d.t.io.read_point_cloud(str(path))
    out = {}
    for name in cloud.point:
        arr = cloud.point[name].numpy()
        out[name] = arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr
    return out


def voxels_path(path: Path) -> Path:
    """Where ``--voxels`` writes the voxel map for an output ``path``: ``<name>_voxels<suffix>``."""
    return path.with_name(f"{path.stem}_voxels{path.suffix}")


def export_map(map_path: str | os.PathLike, outputs: list[Path], voxels: bool = False,
               condense_config: Any = None) -> list[Path]:
    """Load ``map_path`` and write its CFG cells (and with ``voxels`` the voxel map) to each output; the paths."""
    from leovl_ros.cfg.voxel_store import VoxelStore

    for out in outputs:
        if Path(out).suffix.lower() not in SUFFIXES:
            raise ValueError(f"{out}: the file name must end in {' or '.join(SUFFIXES)}")
    store = VoxelStore.from_file(map_path)
    if len(store) == 0:
        raise ValueError(f"{map_path}: the map is empty (nothing fused yet), nothing to export")
    cells = cfg_points_of(store, condense_config)
    vox = voxel_points_of(store) if voxels else None
    written = []
    for out in outputs:
        written.append(write_points(out, cells))
        if vox is not None:
            written.append(write_points(voxels_path(Path(out)), vox))
    return written


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``leovl-map``."""
    parser = argparse.ArgumentParser(prog="leovl-map", description=__doc__.split("\n\n")[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write the CFG cells (and the voxel map) as PLY/PCD",
                            epilog="example: leovl-map export demo_out/map.safetensors --ply cfg.ply --voxels")
    export.add_argument("map", type=Path, metavar="MAP", help="saved map (.safetensors from ~/save_map)")
    export.add_argument("--ply", type=Path, action="append", default=[], metavar="FILE", help="PLY output")
    export.add_argument("--pcd", type=Path, action="append", default=[], metavar="FILE", help="PCD output")
    export.add_argument("--voxels", action="store_true", help="also write the voxel map as <FILE>_voxels.<ext>")
    export.add_argument("--params", type=Path, metavar="YAML",
                        help="take cell_size and token_budget from this parameter file's fusion section")
    export.add_argument("--cell-size", type=float, help="base CFG cell edge in metres (fusion cell_size; 0.3)")
    export.add_argument("--token-budget", type=int, help="maximum CFG cells (fusion token_budget; 750)")
    info = sub.add_parser("info", help="print the map's voxels, CFG cells and extent")
    info.add_argument("map", type=Path, metavar="MAP")
    info.add_argument("--params", type=Path, metavar="YAML")
    info.add_argument("--cell-size", type=float)
    info.add_argument("--token-budget", type=int)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-map``."""
    args = build_parser().parse_args(argv)
    try:
        config = condense_config_from_params(args.params, args.cell_size, args.token_budget)
        if args.command == "export":
            outputs = [*args.ply, *args.pcd]
            if not outputs:
                raise ValueError("nothing to write: give --ply FILE and/or --pcd FILE")
            bad = [str(p) for p in args.ply if p.suffix.lower() != ".ply"] + \
                [str(p) for p in args.pcd if p.suffix.lower() != ".pcd"]
            if bad:
                raise ValueError(f"{', '.join(bad)}: --ply needs a .ply name and --pcd a .pcd name")
            for path in export_map(args.map, outputs, args.voxels, config):
                print(f"wrote {path}")
            return 0
        from leovl_ros.cfg.voxel_store import VoxelStore

        store = VoxelStore.from_file(args.map)
        cells = cfg_points_of(store, config)
        xyz = voxel_points(store)["xyz"]
        extent = (f"x {xyz[:, 0].min():.2f}..{xyz[:, 0].max():.2f} y {xyz[:, 1].min():.2f}..{xyz[:, 1].max():.2f} "
                  f"z {xyz[:, 2].min():.2f}..{xyz[:, 2].max():.2f} m" if len(xyz) else "empty")
        print(f"{args.map}: {len(store)} voxels of {store.config.voxel_size} m, {len(cells['positions'])} CFG cells "
              f"(cell_size {config.cell_size}, budget {config.budget}), {extent}")
        return 0
    except (ValueError, OSError, yaml.YAMLError) as exc:
        print(f"leovl-map: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
