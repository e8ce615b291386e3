"""Every frame accounted for, over real DDS: a camera whose stamp sequence has holes is reported in ``~/status``
as ``lost_inferred`` (separately from the middleware's ``lost``), with the nominal rate it was measured against;
and the 2D encoder's runtime is named there."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from ros_helpers import RosProbe, node_process
from sensor_msgs.msg import CameraInfo, Image

from leovl_interfaces.msg import FusionStatus
from leovl_ros.ros import conversions as conv

pytestmark = pytest.mark.ros

W, H = 80, 60
K = np.array([[70.0, 0.0, 39.5], [0.0, 70.0, 29.5], [0.0, 0.0, 1.0]])
PARAMS = {"mode": "eval", "status_rate": 10.0, "publish_rate": 2.0, "max_frame_age": 0.0, "encoder_width": 80,
          "encoder_height": 60, "log_throttle": 60.0}
RATE_HZ = 20.0
FRAMES = 40
MISSING = {12, 20, 21, 33}
"""Frame indices the 'camera' never sends: four holes in the stamps."""


def _pose() -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T[:3, 3] = (0.0, 0.0, 1.2)
    return T


def test_stamp_gaps_are_counted_as_lost_inferred(tmp_path) -> None:
    env = {"ROS_HOME": str(tmp_path / "ros_home")}
    with node_process("leovl_ros.ros.fusion_node", {**PARAMS, "backend": "onnxruntime-cpu"}, env=env) as fusion, \
            RosProbe() as probe:
        assert fusion.wait_for_log("fusion ready", 90.0), fusion.log()
        assert "2D encoder runtime: onnxruntime-cpu" in fusion.log()
        statuses = probe.collect(FusionStatus, "/fusion/status")
        pubs = {name: probe.publisher(t, topic, conv_qos) for name, t, topic, conv_qos in (
            ("colour", Image, "/camera/color/image_raw", None),
            ("depth", Image, "/camera/aligned_depth_to_color/image_raw", None),
            ("info", CameraInfo, "/camera/color/camera_info", None),
            ("pose", PoseStamped, "/camera/pose", None))}
        for pub in pubs.values():
            probe.wait_for_subscribers(pub)
        probe.spin_for(0.5)
        rgb = np.full((H, W, 3), 120, np.uint8)
        depth = np.full((H, W), 2.0, np.float32)
        t0 = 1_700_000_000_000_000_000
        for i in range(FRAMES):
            if i in MISSING:
                continue
            stamp = t0 + int(i * 1e9 / RATE_HZ)
            cam = conv.make_header("camera", stamp)
            pubs["info"].publish(conv.camera_info_from_intrinsics(K, W, H, cam))
            pubs["pose"].publish(conv.pose_stamped_from_matrix(_pose(), conv.make_header("map", stamp)))
            pubs["depth"].publish(conv.depth_image_from_metres(depth, "32FC1", cam))
            pubs["colour"].publish(conv.image_from_array(rgb, "rgb8", cam))
            probe.spin_for(0.02)
        sent = FRAMES - len(MISSING)
        ok = probe.spin_until(lambda: bool(statuses) and statuses[-1].frames_fused >= sent - 2, 60.0, fusion)
        assert ok, f"{[(s.frames_received, s.frames_fused) for s in statuses[-1:]]}\n{fusion.log()}"
        probe.spin_for(0.3)
        status = statuses[-1]
        assert status.frames_received == sent
        assert status.lost_inferred == len(MISSING)
        assert status.nominal_rate_hz == pytest.approx(RATE_HZ, rel=0.02)
        assert status.encoder_backend == "onnxruntime-cpu"
        assert dict(zip(status.drop_reasons, status.drop_counts))["lost"] == 0
    assert fusion.returncode == 0, fusion.log()
