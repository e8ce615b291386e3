"""A recorded real RGB-D sequence (ICL-NUIM living room, Redwood layout) replayed by sim_camera_node and fused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ros_helpers import RosProbe, node_process
from sensor_msgs.msg import PointCloud2

from leovl_interfaces.msg import FusionStatus
from leovl_ros.ros.conversions import cloud_to_structured

pytestmark = pytest.mark.ros


def test_recorded_sequence_is_replayed_and_fused(shared_data: Path) -> None:
    root = shared_data / "rgbd" / "livingroom1_clean_micro"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    camera = {"source": "redwood", "path": str(root), "stride": 20, "frames": 8, "rate": 15.0, "loop": False,
              "wait_for_subscribers": 1}
    with node_process("leovl_ros.ros.fusion_node", {"mode": "eval", "status_rate": 5.0, "publish_rate": 2.0,
                                                "max_frame_age": 0.0}) as fusion, RosProbe() as probe:
        assert fusion.wait_for_log("fusion ready", 60.0), fusion.log()
        statuses = probe.collect(FusionStatus, "/fusion/status")
        clouds = probe.collect(PointCloud2, "/fusion/cfg")
        with node_process("leovl_ros.ros.sim_camera_node", camera) as cam:
            ok = probe.spin_until(lambda: bool(statuses) and statuses[-1].frames_fused >= 8, 90.0, fusion)
            assert ok, f"{statuses[-1] if statuses else None}\n{fusion.log()}\n{cam.log()}"
            assert probe.spin_until(lambda: bool(clouds) and clouds[-1].width > 20, 20.0, fusion)
        assert statuses[-1].frames_dropped == 0
        cloud = cloud_to_structured(clouds[-1])
        z = cloud["z"]
        # Gravity-aligned by the reader: the floor at z ≈ 0, furniture up to ~1.7 m.
        assert np.percentile(z, 5) > -0.3 and np.percentile(z, 95) < 2.2
        extent = np.ptp(np.stack([cloud["x"], cloud["y"]], axis=1), axis=0)
        assert (extent > 1.0).all() and (extent < 8.0).all(), extent
    assert fusion.returncode == 0
