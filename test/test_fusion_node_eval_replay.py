"""``mode: eval`` fuses every frame of a bag played at its own speed, without the player waiting for the node.

A replayer (``leovl-bag play``, like ``ros2 bag play``) sends small pose messages far ahead of the 2 MB images
they belong to; the sync must keep them until their images arrive instead of dropping them as stale.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from ros_helpers import RosProbe, node_process, reliable_qos

from leovl_interfaces.msg import FusionStatus
from leovl_ros.io.bag import write_rgbd_bag
from leovl_ros.sim.render import render_sequence
from leovl_ros.sim.world import generate_scene

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAMES = 60


def test_eval_mode_fuses_every_frame_of_a_free_running_replay(tmp_path) -> None:
    frames = render_sequence(generate_scene(0), FRAMES, seed=0, width=640, height=480)
    write_rgbd_bag(frames, tmp_path / "bag")
    params = {"mode": "eval", "max_frame_age": 0.0, "status_rate": 10.0}
    with node_process("leovl_ros.ros.fusion_node", params) as node, RosProbe() as probe:
        statuses = probe.collect(FusionStatus, "/fusion/status", reliable_qos(10))
        assert node.wait_for_log("fusion path warmed up", 120.0), node.log()
        play = subprocess.run([sys.executable, "-m", "leovl_ros.io.bag", "play", str(tmp_path / "bag"), "--rate", "1",
                               "--wait-for-subscribers", "30"], capture_output=True, text=True, timeout=300)
        assert play.returncode == 0, play.stdout + play.stderr

        def settled() -> bool:
            s = statuses[-1] if statuses else None
            return s is not None and s.frames_fused + s.frames_dropped >= FRAMES

        probe.spin_until(settled, 180.0, node)
        last = statuses[-1]
        drops = {r: c for r, c in zip(last.drop_reasons, last.drop_counts) if c}
        assert (last.frames_fused, drops) == (FRAMES, {}), node.log()[-3000:]
