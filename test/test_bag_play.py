"""``leovl-bag play`` over real DDS: every message arrives as recorded, /clock follows the bag, remaps and topic
selection work, poses recorded as /tf come out as PoseStamped, and a bad bag is one line with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from ros_helpers import RosProbe, reliable_qos
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image

from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import pose_from_position_quat
from leovl_ros.io.bag import write_rgbd_bag
from leovl_ros.ros.conversions import pose_to_matrix

pytestmark = pytest.mark.ros

N = 6


def _frames() -> list[Frame]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(N):
        q = rng.normal(size=4)
        out.append(Frame(rgb=np.full((12, 16, 3), i, np.uint8), depth=np.full((12, 16), 1.0 + i, np.float32),
                         K=np.array([[10.0, 0, 8], [0, 10, 6], [0, 0, 1]]),
                         pose=pose_from_position_quat(rng.normal(size=3), q / np.linalg.norm(q)),
                         stamp=1.0 + i / 30.0, frame_id="x"))
    return out


def _play(bag, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "leovl_ros.io.bag", "play", str(bag), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("pose_as", ["topic", "tf"])
def test_play_publishes_every_frame_with_clock_and_remap(tmp_path, pose_as: str) -> None:
    frames = _frames()
    write_rgbd_bag(frames, tmp_path / "bag", pose_as=pose_as)
    with RosProbe() as probe:
        images = probe.collect(Image, "/rs/color", reliable_qos(100))
        poses = probe.collect(PoseStamped, "/camera/pose", reliable_qos(100))
        clocks = probe.collect(Clock, "/clock", reliable_qos(100))
        infos = probe.collect(CameraInfo, "/camera/color/camera_info", reliable_qos(100))
        proc = _play(tmp_path / "bag", "--rate", "2", "--remap", "/camera/color/image_raw:=/rs/color",
                     "--colour-topic", "/camera/color/image_raw", "--wait-for-subscribers", "20")
        try:
            ok = probe.spin_until(lambda: len(images) == N and len(poses) == N and proc.poll() is not None, 60.0)
            out = proc.communicate(timeout=20)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
        assert ok and proc.returncode == 0, (len(images), len(poses), proc.returncode, out)
        assert [int(np.frombuffer(m.data, np.uint8)[0]) for m in images] == list(range(N))
        assert len(infos) == N
        for f, p in zip(frames, poses):
            assert p.header.frame_id == "map"
            assert abs(p.header.stamp.sec + p.header.stamp.nanosec * 1e-9 - f.stamp) < 1e-6
            np.testing.assert_allclose(pose_to_matrix(p.pose), f.pose, atol=1e-6)
        stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in clocks]
        assert stamps == sorted(stamps) and abs(stamps[-1] - frames[-1].stamp) < 1e-6
        if pose_as == "tf":
            assert "poses from /tf" in out


def test_play_topics_selects(tmp_path) -> None:
    write_rgbd_bag(_frames(), tmp_path / "bag")
    with RosProbe() as probe:
        images = probe.collect(Image, "/camera/color/image_raw", reliable_qos(100))
        infos = probe.collect(CameraInfo, "/camera/color/camera_info", reliable_qos(100))
        proc = _play(tmp_path / "bag", "--rate", "0", "--topics", "/camera/color/image_raw",
                     "--wait-for-subscribers", "20")
        try:
            probe.spin_until(lambda: len(images) == N and proc.poll() is not None, 60.0)
            probe.spin_for(0.3)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert len(images) == N and not infos


def test_play_bad_bag_is_one_line_exit_2(tmp_path) -> None:
    write_rgbd_bag(_frames(), tmp_path / "bag")
    mcap = next((tmp_path / "bag").glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[:200])
    for bag in (tmp_path / "bag", tmp_path / "missing"):
        result = subprocess.run([sys.executable, "-m", "leovl_ros.io.bag", "play", str(bag)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
