"""``leovl-map export``: PLY/PCD of the CFG cells and the voxel map, read back with Open3D's tensor reader.

One saved map gives both sides: the ``~/cfg`` PointCloud2 the fusion node would publish for it (condense with the
node's grid, ``conversions.cfg_to_cloud``) and the exported files; positions and colours must be equal, in order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dialogue_fixtures import fused_store

from leovl_ros.agent import map_export
from leovl_ros.agent.cfg_points import colours_to_uint8
from leovl_ros.cfg.voxel_store import VoxelStore

pytest.importorskip("open3d")


@pytest.fixture(scope="module")
def saved_map(tmp_path_factory) -> Path:
    """A fused map saved the way ``~/save_map`` saves it (``VoxelStore.save``, safetensors)."""
    path = tmp_path_factory.mktemp("map") / "map.safetensors"
    fused_store(seed=3).save(path)
    return path


def cfg_topic_points(map_path: Path, cell_size: float = 0.3, budget: int = 750) -> np.ndarray:
    """The ``~/cfg`` cloud of the fusion node for this map, as a structured array (x, y, z, rgb, weight)."""
    from std_msgs.msg import Header

    from leovl_ros.agent.node_config import FusionConfig
    from leovl_ros.cfg.condense import condense
    from leovl_ros.ros import conversions as conv

    grid = FusionConfig(cell_size=cell_size, token_budget=budget).condense_config()  # what _publish_cfg condenses
    batch = condense(VoxelStore.from_file(map_path), grid)
    return conv.cloud_to_structured(conv.cfg_to_cloud(batch, Header(frame_id="map")))


@pytest.mark.parametrize("suffix", [".ply", ".pcd"])
def test_export_reads_back_equal_to_the_cfg_topic(saved_map: Path, tmp_path: Path, suffix: str) -> None:
    from leovl_ros.ros import conversions as conv

    out = tmp_path / f"cfg{suffix}"
    assert map_export.main(["export", str(saved_map), f"--{suffix[1:]}", str(out)]) == 0
    back = map_export.read_points(out)
    topic = cfg_topic_points(saved_map)
    assert len(topic) > 10 and back["positions"].shape == (len(topic), 3)
    assert back["positions"].dtype == np.float32 and back["colors"].dtype == np.uint8
    xyz = np.column_stack([topic["x"], topic["y"], topic["z"]])
    assert np.array_equal(back["positions"], xyz), "positions differ from ~/cfg's"
    assert np.array_equal(back["colors"], conv.unpack_rgb(topic["rgb"])), "colours differ from ~/cfg's"
    assert np.array_equal(back["weight"], topic["weight"])
    assert not (tmp_path / f"cfg_voxels{suffix}").exists(), "voxels written without --voxels"


def test_voxels_and_grid_options(saved_map: Path, tmp_path: Path) -> None:
    ply, pcd = tmp_path / "out" / "cells.ply", tmp_path / "cells.pcd"
    params = tmp_path / "agent.yaml"
    params.write_text("/**/fusion:\n  ros__parameters:\n    cell_size: 0.6\n    token_budget: 40\n")
    code = map_export.main(["export", str(saved_map), "--ply", str(ply), "--pcd", str(pcd), "--voxels",
                            "--params", str(params)])
    assert code == 0
    store = VoxelStore.from_file(saved_map)
    for path in (ply, pcd):
        cells = map_export.read_points(path)
        topic = cfg_topic_points(saved_map, cell_size=0.6, budget=40)
        assert len(cells["positions"]) == len(topic) <= 40
        assert np.array_equal(cells["positions"][:, 2], topic["z"])
        levels = np.log2(cells["cell_size"] / 0.6)
        assert np.allclose(levels, np.round(levels), atol=1e-5) and levels.max() >= 1, "0.6 m cells, merged"
        vox = map_export.read_points(map_export.voxels_path(path))
        assert len(vox["positions"]) == len(store)
        assert np.allclose(vox["positions"], store.voxel_centers().numpy(), atol=1e-6)
        assert np.array_equal(vox["colors"], colours_to_uint8(store.mean_colours()))
        assert np.allclose(vox["weight"], store.weights().numpy())
    # an option beats the file
    assert map_export.main(["export", str(saved_map), "--ply", str(ply), "--params", str(params),
                            "--token-budget", "750"]) == 0
    assert len(map_export.read_points(ply)["positions"]) == len(cfg_topic_points(saved_map, cell_size=0.6))


def test_bad_inputs_exit_2(saved_map: Path, tmp_path: Path, capsys) -> None:
    assert map_export.main(["export", str(saved_map)]) == 2
    assert map_export.main(["export", str(saved_map), "--ply", str(tmp_path / "x.obj")]) == 2
    assert map_export.main(["export", str(tmp_path / "missing.safetensors"), "--ply", str(tmp_path / "x.ply")]) == 2
    (tmp_path / "bad.safetensors").write_bytes(b"not a map")
    assert map_export.main(["export", str(tmp_path / "bad.safetensors"), "--pcd", str(tmp_path / "x.pcd")]) == 2
    assert "error" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.p[lc][yd]")) and not list(tmp_path.glob(".*"))


def test_info_and_empty_map(saved_map: Path, tmp_path: Path, capsys) -> None:
    from leovl_ros.cfg.voxel_store import VoxelStoreConfig

    assert map_export.main(["info", str(saved_map)]) == 0
    assert "voxels" in capsys.readouterr().out
    empty = tmp_path / "empty.safetensors"
    VoxelStore(VoxelStoreConfig(feature_dim=16)).save(empty)
    assert map_export.main(["export", str(empty), "--ply", str(tmp_path / "e.ply")]) == 2
    assert "empty" in capsys.readouterr().err and not (tmp_path / "e.ply").exists()
    assert map_export.main(["info", str(empty)]) == 0
