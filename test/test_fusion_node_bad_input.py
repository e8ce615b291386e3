"""Bad input over real DDS: each cause is rejected with its counter, the map stays unchanged, the node keeps running.

One fusion node process serves the whole file (start-up costs seconds); the probe publishes hand-made messages
and reads ``~/status`` after each step. Services (reset/save/load, corrupt file) run against the same node.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from ros_helpers import NodeProcess, RosProbe, node_process
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import Trigger

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import MapFile
from leovl_ros.ros import conversions as conv

pytestmark = pytest.mark.ros

W, H = 80, 60
K = np.array([[70.0, 0.0, 39.5], [0.0, 70.0, 29.5], [0.0, 0.0, 1.0]])
PARAMS = {"mode": "eval", "status_rate": 20.0, "publish_rate": 5.0, "sync_queue_size": 3, "max_frame_age": 1.0,
          "max_pose_age": 0.05, "max_invalid_fraction": 0.9, "encoder_width": 160, "encoder_height": 120,
          "log_throttle": 60.0}


def camera_pose(t: float = 0.0) -> np.ndarray:
    """Optical frame 1.2 m above the floor looking along +x (world z up), shifted a little with t."""
    T = np.eye(4)
    T[:3, :3] = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T[:3, 3] = (0.1 * t, 0.0, 1.2)
    return T


def wall_depth(value: float = 2.0) -> np.ndarray:
    """A slanted wall in front of the camera (metres)."""
    return (value + 0.01 * np.arange(W)[None, :] + np.zeros((H, 1))).astype(np.float32)


def colour_image() -> np.ndarray:
    """A colourful gradient image."""
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, W)[None, :]
    rgb[..., 1] = np.linspace(0, 255, H)[:, None]
    rgb[..., 2] = 90
    return rgb


class Rig:
    """Publishers for one camera plus helpers to read the fusion node's status."""

    def __init__(self, probe: RosProbe, proc: NodeProcess) -> None:
        self.probe, self.proc = probe, proc
        self.colour = probe.publisher(Image, "/camera/color/image_raw")
        self.depth = probe.publisher(Image, "/camera/aligned_depth_to_color/image_raw")
        self.info = probe.publisher(CameraInfo, "/camera/color/camera_info")
        self.pose = probe.publisher(PoseStamped, "/camera/pose")
        self.statuses = probe.collect(FusionStatus, "/fusion/status")
        for pub in (self.colour, self.depth, self.info, self.pose):
            probe.wait_for_subscribers(pub, 1, timeout=60.0)
        assert probe.spin_until(lambda: bool(self.statuses), 20.0, proc), proc.log()

    def now(self) -> int:
        return self.probe.node.get_clock().now().nanoseconds

    def status(self) -> FusionStatus:
        self.probe.spin_for(0.15)
        return self.statuses[-1]

    def send_info(self, k: np.ndarray = K, size: tuple[int, int] = (W, H)) -> None:
        self.info.publish(conv.camera_info_from_intrinsics(k, size[0], size[1], conv.make_header("cam", self.now())))
        self.probe.spin_for(0.2)

    def send(self, stamp: Optional[int] = None, *, rgb: Optional[np.ndarray] = None,
             depth: Optional[np.ndarray] = None, depth_encoding: str = "32FC1", colour_encoding: str = "rgb8",
             pose: Optional[np.ndarray] = None, pose_stamp: Optional[int] = None, pose_frame: str = "map",
             with_pose: bool = True, edit: Optional[Callable[[Image, Image, PoseStamped], None]] = None) -> int:
        """Publish one frame (pose, depth, then colour, as a camera driver would); returns its stamp."""
        stamp = self.now() if stamp is None else stamp
        header = conv.make_header("cam", stamp)
        rgb = colour_image() if rgb is None else rgb
        colour_msg = conv.image_from_array(rgb, "rgb8", header)
        colour_msg.encoding = colour_encoding
        depth_msg = conv.depth_image_from_metres(wall_depth() if depth is None else depth, depth_encoding, header)
        pose_msg = conv.pose_stamped_from_matrix(camera_pose() if pose is None else pose,
                                                 conv.make_header(pose_frame, stamp if pose_stamp is None
                                                                  else pose_stamp))
        if edit is not None:
            edit(colour_msg, depth_msg, pose_msg)
        if with_pose:
            self.pose.publish(pose_msg)
        self.depth.publish(depth_msg)
        self.colour.publish(colour_msg)
        return stamp

    def reset(self) -> None:
        client = self.probe.wait_for_service(Trigger, "/fusion/reset", proc=self.proc)
        assert self.probe.call(client, Trigger.Request()).success

    def map_file(self, op: str, path: str) -> Any:
        client = self.probe.wait_for_service(MapFile, f"/fusion/{op}_map", proc=self.proc)
        return self.probe.call(client, MapFile.Request(path=path), timeout=20.0)


def counts(status: FusionStatus) -> dict[str, int]:
    return dict(zip(status.drop_reasons, status.drop_counts))


def expect_rejected(rig: Rig, reason: str, publish: Callable[[], Any], fused_extra: int = 0) -> None:
    """Publish, wait for the ``reason`` counter to rise; the map must not change (unless good frames were sent)."""
    before = rig.status()
    publish()
    ok = rig.probe.spin_until(lambda: counts(rig.statuses[-1]).get(reason, 0) > counts(before)[reason], 15.0,
                              rig.proc)
    assert ok, f"{reason} not counted: {counts(rig.statuses[-1])}\n{rig.proc.log()}"
    rig.probe.spin_until(lambda: rig.statuses[-1].frames_fused >= before.frames_fused + fused_extra, 15.0)
    after = rig.status()
    assert after.frames_fused == before.frames_fused + fused_extra, (reason, counts(after))
    if fused_extra == 0:
        assert after.map_version == before.map_version and after.voxels == before.voxels, reason
    assert reason in after.last_error or fused_extra, after.last_error
    assert rig.proc.alive(), rig.proc.log()


def fuse_good(rig: Rig, **kwargs: Any) -> FusionStatus:
    before = rig.status()
    rig.send(**kwargs)
    ok = rig.probe.spin_until(lambda: rig.statuses[-1].frames_fused > before.frames_fused, 30.0, rig.proc)
    assert ok, f"good frame not fused: {counts(rig.statuses[-1])} {rig.statuses[-1].last_error}\n{rig.proc.log()}"
    return rig.status()


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    with node_process("leovl_ros.ros.fusion_node", PARAMS) as proc, RosProbe() as probe:
        assert proc.wait_for_log("fusion ready", 60.0), proc.log()
        yield Rig(probe, proc)
    assert proc.returncode == 0, proc.log()


def test_missing_inputs_then_good_frame(rig: Rig) -> None:
    # No pose at all: frames wait in the bounded sync queue (3) and the overflow is counted as pose_missing.
    expect_rejected(rig, "pose_missing", lambda: [rig.send(with_pose=False) for _ in range(4)])
    rig.reset()
    expect_rejected(rig, "camera_info", lambda: rig.send())
    rig.send_info()
    status = fuse_good(rig)
    assert status.voxels > 0 and status.frames_fused == 1


def test_each_bad_frame_is_rejected_and_counted(rig: Rig) -> None:
    rig.send_info()
    fuse_good(rig)
    nan = np.float32(np.nan)
    invalid = wall_depth()
    invalid[::3] = nan
    invalid[1::3, ::2] = np.inf
    invalid[1::3, 1::2] = -np.inf
    invalid[2::3] = -1.0
    invalid[0, 0] = 0.0
    mostly = np.full((H, W), nan, np.float32)
    mostly[:3] = 2.0  # 5 % valid < 1 − max_invalid_fraction
    cases = [
        ("encoding", dict(colour_encoding="yuv422")),
        ("encoding", dict(colour_encoding="8UC3")),
        ("encoding", dict(depth_encoding="16UC1", edit=lambda c, d, p: setattr(d, "encoding", "8UC1"))),
        ("size_mismatch", dict(depth=wall_depth()[:30, :40])),
        ("size_mismatch", dict(edit=lambda c, d, p: setattr(c, "data", bytes(c.data)[:-7]))),
        ("depth_invalid", dict(depth=np.full((H, W), nan, np.float32))),
        ("depth_invalid", dict(depth=invalid)),
        ("depth_invalid", dict(depth=np.zeros((H, W)), depth_encoding="16UC1")),
        ("depth_invalid", dict(depth=np.full((H, W), 20.0, np.float32))),  # beyond max_depth 8 m
        ("depth_invalid", dict(depth=mostly)),
        ("pose_invalid", dict(edit=lambda c, d, p: setattr(p.pose.orientation, "w", 0.0) or
                              setattr(p.pose.orientation, "x", 0.0))),
        ("pose_invalid", dict(edit=lambda c, d, p: setattr(p.pose.position, "x", float("nan")))),
        ("pose_invalid", dict(pose_frame="odom")),
    ]
    for reason, kwargs in cases:
        expect_rejected(rig, reason, lambda kw=kwargs: rig.send(**kw))
    log = rig.proc.log()
    assert log.count("rejected frame [encoding]") == 1, "each cause is logged once (throttled)"
    assert log.count("rejected frame [depth_invalid]") == 1


def test_bad_camera_info(rig: Rig) -> None:
    rig.send_info()
    fuse_good(rig)
    rig.send_info(np.zeros((3, 3)))  # uncalibrated camera: all-zero K
    expect_rejected(rig, "camera_info", lambda: rig.send())
    rig.send_info(K, size=(640, 480))  # camera_info of another resolution
    expect_rejected(rig, "size_mismatch", lambda: rig.send())
    tiny_k = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    rig.send_info(tiny_k, size=(1, 1))  # a 1×1 image with a matching 1×1 camera_info: below min_image_size
    expect_rejected(rig, "size_mismatch", lambda: rig.send(rgb=np.full((1, 1, 3), 90, np.uint8),
                                                           depth=np.full((1, 1), 2.0, np.float32)))
    rig.send_info()
    fuse_good(rig)


def test_stamp_and_pose_timing(rig: Rig) -> None:
    rig.send_info()
    good = fuse_good(rig)
    # Out of order: older than the last fused frame (but not stale by the clock).
    t = rig.now()
    expect_rejected(rig, "out_of_order", lambda: rig.send(t - 300_000_000, pose_stamp=t - 300_000_000))
    # Stale by the node clock.
    expect_rejected(rig, "frame_stale", lambda: rig.send(rig.now() - 3_000_000_000))
    # Stale pose: 0.5 s from the frame; decided when a newer pose arrives (the next, good frame gets fused).
    t = rig.now()
    expect_rejected(rig, "pose_stale", lambda: (rig.send(t, pose_stamp=t - 500_000_000), rig.probe.spin_for(0.2),
                                                 rig.send(t + 200_000_000)), fused_extra=1)
    # Partially invalid depth (NaN, ±Inf, negative pixels) is masked per pixel and the frame is fused.
    depth = wall_depth()
    depth[::4] = np.nan
    depth[1::4, :10] = np.inf
    depth[2::4, :10] = -0.5
    after = fuse_good(rig, depth=depth)
    assert after.map_version > good.map_version
    assert counts(after)["depth_invalid"] == counts(good)["depth_invalid"]


def test_map_services(rig: Rig, tmp_path: Path) -> None:
    rig.send_info()
    fuse_good(rig)
    fused = fuse_good(rig, pose=camera_pose(1.0))
    saved = tmp_path / "maps" / "room.safetensors"
    reply = rig.map_file("save", str(saved))
    assert reply.success and saved.is_file(), reply.message
    assert not list(saved.parent.glob("*.tmp")), "atomic save leaves no temp file"
    assert not rig.map_file("save", "").success
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(os.urandom(4096))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(saved.read_bytes()[:100])
    for bad in (corrupt, truncated, tmp_path / "missing.safetensors"):
        reply = rig.map_file("load", str(bad))
        assert not reply.success and "map unchanged" in reply.message, reply.message
    status = rig.status()
    assert (status.voxels, status.map_version) == (fused.voxels, fused.map_version), "failed load changed the map"
    rig.reset()
    assert rig.probe.spin_until(lambda: rig.statuses[-1].voxels == 0, 10.0)
    reply = rig.map_file("load", str(saved))
    assert reply.success, reply.message
    assert rig.probe.spin_until(lambda: rig.statuses[-1].voxels == fused.voxels, 10.0)
    assert rig.proc.alive()
