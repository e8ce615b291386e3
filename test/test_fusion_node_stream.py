"""Fusion node over real DDS: frames streamed by sim_camera_node (another process) are fused and published."""

from __future__ import annotations

import numpy as np
import pytest
from ros_helpers import RosProbe, node_process
from sensor_msgs.msg import PointCloud2

from leovl_interfaces.msg import FusionStatus
from leovl_ros.ros.conversions import cloud_to_structured, unpack_rgb
from leovl_ros.ros.qos import latched_qos

pytestmark = pytest.mark.ros

BASE = {"status_rate": 5.0, "publish_rate": 2.0}
CAMERA = {"frames": 12, "width": 320, "height": 240, "rate": 15.0, "loop": False, "wait_for_subscribers": 1}
VARIANTS = {
    # eval mode: reliable, every frame fused, raw 16UC1 depth, wall clock.
    "eval-raw": ({"mode": "eval", "max_frame_age": 0.0}, {"depth_encoding": "16UC1"}),
    # live mode on sim time: compressed colour + compressedDepth 32FC1, stamps from /clock; a node that aged
    # frames by the wall clock would reject every one of them as stale.
    "live-compressed-simtime": ({"mode": "live", "qos": "sensor", "compressed_inputs": True, "use_sim_time": True,
                                 "max_frame_age": 1.0},
                                {"compressed": True, "depth_encoding": "32FC1", "publish_clock": True,
                                 "qos": "sensor", "rate": 10.0}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_streamed_frames_are_fused_and_published(variant: str) -> None:
    fusion_params, camera_params = VARIANTS[variant]
    live = fusion_params["mode"] == "live"
    with node_process("leovl_ros.ros.fusion_node", {**BASE, **fusion_params}) as fusion, RosProbe() as probe:
        assert fusion.wait_for_log("fusion ready", 60.0), fusion.log()
        clouds = probe.collect(PointCloud2, "/fusion/cfg")
        statuses = probe.collect(FusionStatus, "/fusion/status")

        def settled() -> bool:
            s = statuses[-1] if statuses else None
            if s is None:
                return False
            return s.frames_fused >= 1 and camera.proc.poll() is not None if live else s.frames_fused >= 12

        with node_process("leovl_ros.ros.sim_camera_node", {**CAMERA, **camera_params}) as camera:
            ok = probe.spin_until(settled, 90.0, fusion)
            summary = [(s.frames_received, s.frames_fused, dict(zip(s.drop_reasons, s.drop_counts)), s.last_error)
                       for s in statuses[-1:]]
            assert ok, f"received, fused, drops, last error: {summary}\n{fusion.log()}\n{camera.log()}"
            assert probe.spin_until(lambda: bool(clouds) and clouds[-1].width > 0, 20.0, fusion)
            camera.proc.wait(timeout=30.0)
            assert camera.proc.returncode == 0, camera.log()
        status = statuses[-1]
        drops = dict(zip(status.drop_reasons, status.drop_counts))
        assert list(drops)[:3] == ["unsynced", "behind", "out_of_order"]
        if live:  # best effort may lose messages and a slow worker may skip frames, but only as counted drops
            accounted = status.frames_fused + status.frames_dropped
            assert status.frames_received - 10 <= accounted <= status.frames_received, "≤ sync queue still waiting"
            assert set(k for k, v in drops.items() if v) <= {"unsynced", "behind", "lost"}, drops
        else:
            assert status.frames_received == 12 and status.frames_dropped == 0, drops
        assert status.voxels > 1000 and status.map_version >= status.frames_fused
        cloud = cloud_to_structured(clouds[-1])
        assert set(cloud.dtype.names) == {"x", "y", "z", "rgb", "weight"}
        xyz = np.stack([cloud["x"], cloud["y"], cloud["z"]], axis=1)
        assert np.isfinite(xyz).all() and (cloud["weight"] > 0).all()
        assert -0.5 < xyz[:, 2].min() and xyz[:, 2].max() < 4.0, "column heights outside a room (z up)"
        assert unpack_rgb(cloud["rgb"]).std() > 5, "cells should carry the scene's colours"
        assert probe.spin_until(lambda: statuses[-1].tokens == cloud.shape[0], 5.0)
        late = probe.collect(PointCloud2, "/fusion/cfg", latched_qos())  # an Rviz opened after mapping
        assert probe.spin_until(lambda: bool(late), 5.0, fusion), "~/cfg is transient-local: a late joiner gets it"
        # the map may still change (the sync queue's last frames): compare with the cloud of the same stamp
        stamp = (late[0].header.stamp.sec, late[0].header.stamp.nanosec)
        same = lambda: [c for c in clouds if (c.header.stamp.sec, c.header.stamp.nanosec) == stamp]  # noqa: E731
        assert probe.spin_until(lambda: bool(same()), 5.0, fusion), "the late joiner's cloud was published to all"
        assert late[0].width == same()[-1].width
    assert fusion.returncode == 0, fusion.log()
