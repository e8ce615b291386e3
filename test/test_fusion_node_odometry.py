"""pose_source 'odometry': the base pose from nav_msgs/Odometry composed with the base → optical extrinsic."""

from __future__ import annotations

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from ros_helpers import RosProbe, node_process
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from leovl_interfaces.msg import FusionStatus
from leovl_ros.ros import conversions as conv

pytestmark = pytest.mark.ros

W, H = 80, 60
K = np.array([[60.0, 0.0, 39.5], [0.0, 60.0, 29.5], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("frame", ["map", "odom"])
def test_odometry_pose_source_places_the_wall_in_front_of_the_base(frame: str) -> None:
    """Odometry in map, or in odom with a static map → odom (here: odom is map shifted by (+1, +2, 0), turned
    90° about z), gives the same map: the base at (1, 2, 0) in map looking along +x."""
    params = {"mode": "eval", "pose_source": "odometry", "odometry_topic": "/odom", "status_rate": 10.0,
              "publish_rate": 5.0, "max_frame_age": 0.0, "encoder_width": 160, "encoder_height": 120,
              "base_to_optical": [0.0, 0.0, 1.0, -0.5, 0.5, -0.5, 0.5],  # camera 1 m above the base, looking ahead
              "map_to_odom": [1.0, 2.0, 0.0, 0.0, 0.0, 0.7071067811865476, 0.7071067811865476]}
    with node_process("leovl_ros.ros.fusion_node", params) as fusion, RosProbe() as probe:
        assert fusion.wait_for_log("fusion ready", 60.0), fusion.log()
        pubs = {name: probe.publisher(t, topic) for name, t, topic in (
            ("colour", Image, "/camera/color/image_raw"), ("depth", Image, "/camera/aligned_depth_to_color/image_raw"),
            ("info", CameraInfo, "/camera/color/camera_info"), ("odom", Odometry, "/odom"))}
        for pub in pubs.values():
            probe.wait_for_subscribers(pub, 1, timeout=60.0)
        statuses = probe.collect(FusionStatus, "/fusion/status")
        clouds = probe.collect(PointCloud2, "/fusion/cfg")
        base = np.eye(4)
        base[:3, 3] = (1.0, 2.0, 0.0)
        if frame == "odom":  # the same base pose expressed in odom: inverse(map → odom) · base
            from leovl_ros.geometry.transforms import extrinsic_from_list

            base = np.linalg.inv(extrinsic_from_list(params["map_to_odom"])) @ base
        rgb = np.full((H, W, 3), 200, np.uint8)
        depth = np.full((H, W), 2.0, np.float32)  # a wall 2 m ahead of the camera
        for _ in range(3):
            stamp = probe.node.get_clock().now().nanoseconds
            header = conv.make_header("camera_color_optical_frame", stamp)
            odom = Odometry(header=conv.make_header(frame, stamp), child_frame_id="base_link")
            odom.pose.pose = conv.matrix_to_pose(base)
            pubs["info"].publish(conv.camera_info_from_intrinsics(K, W, H, header))
            pubs["odom"].publish(odom)
            pubs["depth"].publish(conv.depth_image_from_metres(depth, "32FC1", header))
            pubs["colour"].publish(conv.image_from_array(rgb, "rgb8", header))
            probe.spin_for(0.2)
        ok = probe.spin_until(lambda: bool(statuses) and statuses[-1].frames_fused >= 3, 30.0, fusion)
        assert ok, (statuses[-1] if statuses else None, fusion.log())
        assert probe.spin_until(lambda: bool(clouds) and clouds[-1].width > 0, 10.0, fusion)
        cloud = conv.cloud_to_structured(clouds[-1])
        # Optical frame at (1, 2, 1) looking along +x: the wall is the plane x = 3 m, centred on y = 2, z = 1.
        assert np.all(np.abs(cloud["x"] - 3.0) < 0.4), cloud["x"]
        assert abs(np.average(cloud["y"], weights=cloud["weight"]) - 2.0) < 0.3
        assert abs(np.average(cloud["z"], weights=cloud["weight"]) - 1.0) < 0.3
