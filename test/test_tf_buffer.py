"""The ROS-free TF buffer: chains, interpolation, errors, and poses written as /tf read back from a bag."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.geometry.transforms import pose_from_position_quat, quat_xyzw_to_matrix
from leovl_ros.io.tf_buffer import TfBuffer, TfLookupError, buffer_from_bag


def _T(xyz, yaw: float = 0.0) -> np.ndarray:
    c, s = np.cos(yaw / 2), np.sin(yaw / 2)
    return pose_from_position_quat(np.asarray(xyz, float), np.array([0.0, 0.0, s, c]))


def test_chain_static_and_dynamic_interpolated() -> None:
    buf = TfBuffer()
    buf.set_transform("map", "odom", 0, _T([1, 0, 0]), static=True)
    buf.set_transform("/odom", "base", 0, _T([0, 0, 0], 0.0))
    buf.set_transform("odom", "base", 1_000_000_000, _T([2, 0, 0], np.pi / 2))
    buf.set_transform("base", "cam", 0, _T([0, 1, 0]), static=True)
    got = buf.lookup("map", "cam", 500_000_000)
    expected = _T([1, 0, 0]) @ _T([1, 0, 0], np.pi / 4) @ _T([0, 1, 0])
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # inverse direction and a sibling lookup through the common ancestor
    np.testing.assert_allclose(buf.lookup("cam", "map", 500_000_000), np.linalg.inv(expected), atol=1e-9)
    np.testing.assert_allclose(buf.lookup("odom", "odom", 3), np.eye(4))
    np.testing.assert_allclose(buf.lookup("map", "cam", None), _T([1, 0, 0]) @ _T([2, 0, 0], np.pi / 2)
                               @ _T([0, 1, 0]), atol=1e-9)


def test_lookup_errors_name_the_problem() -> None:
    buf = TfBuffer()
    buf.set_transform("map", "base", 0, np.eye(4))
    buf.set_transform("map", "base", 10, np.eye(4))
    with pytest.raises(TfLookupError, match="after the newest"):
        buf.lookup("map", "base", 11)
    with pytest.raises(TfLookupError, match="'cam' is not in the TF tree"):
        buf.lookup("map", "cam", 5)
    buf.set_transform("world", "other", 0, np.eye(4))
    with pytest.raises(TfLookupError, match="unconnected"):
        buf.lookup("map", "other", 5)
    assert TfBuffer(tolerance_ns=2).can_transform("map", "map")
    tolerant = TfBuffer(tolerance_ns=2)
    tolerant.set_transform("map", "base", 10, np.eye(4))
    assert tolerant.can_transform("map", "base", 12) and not tolerant.can_transform("map", "base", 13)


def test_slerp_takes_the_short_way() -> None:
    buf = TfBuffer()
    buf.set_transform("map", "b", 0, _T([0, 0, 0], np.deg2rad(170)))
    buf.set_transform("map", "b", 2, _T([0, 0, 0], np.deg2rad(-170)))
    R = buf.lookup("map", "b", 1)[:3, :3]
    np.testing.assert_allclose(R, quat_xyzw_to_matrix(np.array([0, 0, 1.0, 0])), atol=1e-9)


def test_pose_as_tf_bag_gives_back_the_poses(tmp_path) -> None:
    from leovl_ros.geometry.frame import Frame
    from leovl_ros.io.bag import write_rgbd_bag

    rng = np.random.default_rng(0)
    frames = []
    for i in range(4):
        q = rng.normal(size=4)
        pose = pose_from_position_quat(rng.normal(size=3), q / np.linalg.norm(q))
        frames.append(Frame(rgb=np.zeros((8, 10, 3), np.uint8), depth=np.ones((8, 10), np.float32),
                            K=np.array([[5.0, 0, 5], [0, 5, 4], [0, 0, 1]]), pose=pose, stamp=0.1 * i, frame_id="x"))
    write_rgbd_bag(frames, tmp_path / "bag", pose_as="tf", custom_data={"scene_id": "s1"})
    buf = buffer_from_bag(tmp_path / "bag")
    for f in frames:
        ns = int(round(f.stamp * 1e9))
        np.testing.assert_allclose(buf.lookup("map", "camera_color_optical_frame", ns), f.pose, atol=1e-9)
    from leovl_ros.io.bag_annotations import bag_custom_data

    assert bag_custom_data(tmp_path / "bag") == {"scene_id": "s1"}
