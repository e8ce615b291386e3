"""`leovl-sim`: the written ScanNet folder reads back with the ScanNet reader and matches the renderer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leovl_ros.sim.cli import main
from leovl_ros.sim.render import Renderer
from leovl_ros.sim.trajectory import robot_trajectory
from leovl_ros.sim.world import Scene, generate_scene


def test_cli_writes_a_scannet_folder_the_reader_loads(tmp_path) -> None:
    from leovl_ros.io.rgbd import read_scannet

    out, png = tmp_path / "scene2", tmp_path / "plan.png"
    assert main(["--seed", "2", "--out", str(out), "--frames", "5", "--width", "160", "--height", "120",
                 "--preview", str(png)]) == 0
    seq = read_scannet(out)
    assert len(seq) == 5
    scene = Scene.load(out / "scene.json")
    assert scene.to_json() == generate_scene(2).to_json()
    poses = robot_trajectory(scene, 5, 0)
    renderer = Renderer(scene, 160, 120)
    for i, frame in enumerate(seq):
        expected = renderer.render(poses[i])
        assert np.allclose(frame.pose, poses[i]) and np.allclose(frame.K, expected.K)
        assert frame.depth.shape == (120, 160)
        assert np.abs(frame.depth - expected.depth).max() <= 0.0005 + 1e-6  # millimetre PNG depth
        assert np.abs(frame.rgb.astype(int) - expected.rgb).mean() < 6.0  # JPEG
    visibility = json.loads((out / "visibility.json").read_text())
    assert visibility["frames"] == 5
    assert {int(k) for k in visibility["pixels"]} <= {o.id for o in scene.objects}
    assert png.stat().st_size > 10_000


def test_cli_needs_an_output(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--seed", "1"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["--seed", "-3", "--preview", "x.png"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "ScanNet" in capsys.readouterr().out
