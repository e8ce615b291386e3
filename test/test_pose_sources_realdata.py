"""Poses as robots give them, over real DDS on a real RGB-D sequence (ICL-NUIM living room): Odometry in ``odom``
with a static map → odom and the camera extrinsic from /tf_static, and ``pose_source: tf`` over /tf + /tf_static,
each fused next to a node fed the same frames with the optical-frame PoseStamped; the two maps must occupy the
same columns (voxel xy columns and 0.3 m CFG cells, in ``map``). The TF node also shows its waiting: a frame older
than the TF history is dropped at once (tf_extrapolation), a frame whose TF comes late waits and then fuses, and
a frame whose TF never comes is dropped after tf_timeout (tf_timeout)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import PoseStamped, TransformStamped
from nav_msgs.msg import Odometry
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import NodeProcess, RosProbe, node_process
from sensor_msgs.msg import CameraInfo, Image

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import MapFile
from leovl_ros.agent.node_config import BASE_TO_OPTICAL
from leovl_ros.eval.bag_report import column_iou
from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import extrinsic_from_list, matrix_to_quat_xyzw
from leovl_ros.ros import conversions as conv

pytestmark = pytest.mark.ros
tf2_msgs = pytest.importorskip("tf2_msgs.msg", reason="tf2_msgs missing: `make setup` builds vendor/tf2_msgs")

FRAMES, STRIDE, W, H = 8, 20, 320, 240
CAMERA, BASE = "camera_color_optical_frame", "base_link"
MAP_TO_ODOM = [1.5, -0.7, 0.0, 0.0, 0.0, float(np.sin(np.pi / 12)), float(np.cos(np.pi / 12))]  # 30° about z
PITCH = np.deg2rad(10.0)
BASE_TO_CAMERA = [0.12, 0.03, 0.9, *(float(v) for v in matrix_to_quat_xyzw(
    np.array([[np.cos(PITCH), 0, np.sin(PITCH)], [0, 1, 0], [-np.sin(PITCH), 0, np.cos(PITCH)]])
    @ extrinsic_from_list(BASE_TO_OPTICAL)[:3, :3]))]
"""base_link → optical: 12 cm ahead, 3 cm left, 0.9 m up, looking ahead and 10° down."""
T0_NS = 1_000 * 1_000_000_000
NODE = {"mode": "eval", "status_rate": 10.0, "publish_rate": 2.0, "max_frame_age": 0.0, "encoder_width": 160,
        "encoder_height": 120, "backend": "pytorch"}
"""Common parameters: eval mode (every frame fused, reliable), stamps from the recording (no age check)."""


@pytest.fixture(scope="module")
def livingroom(shared_data: Path) -> list[Frame]:
    """Every 20th frame of the living-room sequence at 320×240 (poses gravity-aligned, z up)."""
    from leovl_ros.io.rgbd import read_redwood, scale_intrinsics

    root = shared_data / "rgbd" / "livingroom1_clean_micro"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    sequence = read_redwood(root)
    frames = []
    for i in range(0, STRIDE * FRAMES, STRIDE):
        f = sequence[i]
        frames.append(Frame(rgb=np.ascontiguousarray(f.rgb[::2, ::2]), depth=np.ascontiguousarray(f.depth[::2, ::2]),
                            K=scale_intrinsics(f.K, (f.rgb.shape[1], f.rgb.shape[0]), (W, H)), pose=f.pose,
                            stamp=i / 30.0, frame_id=CAMERA))
    return frames


def stamp_of(k: int) -> int:
    """Stamp of the k-th replayed frame (10 Hz)."""
    return T0_NS + k * 100_000_000


def transform(parent: str, child: str, stamp_ns: int, T: np.ndarray) -> TransformStamped:
    """A TransformStamped parent ← child."""
    pose = conv.matrix_to_pose(T)
    ts = TransformStamped(header=conv.make_header(parent, stamp_ns), child_frame_id=child)
    ts.transform.translation.x, ts.transform.translation.y, ts.transform.translation.z = \
        pose.position.x, pose.position.y, pose.position.z
    ts.transform.rotation = pose.orientation
    return ts


class Camera:
    """The probe's publishers: images, camera_info, the reference PoseStamped, Odometry and TF."""

    def __init__(self, probe: RosProbe, readers: int) -> None:
        self.probe = probe
        self.tf_type = tf2_msgs.TFMessage
        self.pubs = {name: probe.publisher(t, topic) for name, t, topic in (
            ("colour", Image, "/camera/color/image_raw"), ("depth", Image, "/camera/aligned_depth_to_color/image_raw"),
            ("info", CameraInfo, "/camera/color/camera_info"), ("pose", PoseStamped, "/camera/pose"))}
        self.readers = readers
        self.statuses: dict[str, list[FusionStatus]] = {}

    def add(self, name: str, msg_type: Any, topic: str, static: bool = False) -> None:
        """One more publisher (TF topics with tf2's QoS: reliable, transient local for /tf_static)."""
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if static else DurabilityPolicy.VOLATILE)
        self.pubs[name] = self.probe.publisher(msg_type, topic, qos)

    def wait_for_readers(self, counts: dict[str, int]) -> None:
        """Discovery: each publisher matched by its readers."""
        for name, pub in self.pubs.items():
            self.probe.wait_for_subscribers(pub, counts.get(name, self.readers), timeout=90.0)

    def camera_info(self, f: Frame) -> None:
        """camera_info ahead of the first images (topics are not ordered with each other)."""
        self.pubs["info"].publish(conv.camera_info_from_intrinsics(f.K, W, H, conv.make_header(CAMERA, T0_NS)))
        self.probe.spin_for(0.5)

    def images(self, f: Frame, stamp_ns: int, pose: bool = True) -> None:
        """camera_info, the reference pose (unless ``pose`` is False), depth, colour of one frame."""
        header = conv.make_header(CAMERA, stamp_ns)
        self.pubs["info"].publish(conv.camera_info_from_intrinsics(f.K, W, H, header))
        if pose:
            self.pubs["pose"].publish(conv.pose_stamped_from_matrix(f.pose, conv.make_header("map", stamp_ns)))
        self.pubs["depth"].publish(conv.depth_image_from_metres(f.depth, "32FC1", header))
        self.pubs["colour"].publish(conv.image_from_array(f.rgb, "rgb8", header))

    def tf(self, name: str, *transforms: TransformStamped) -> None:
        """Publish a TFMessage on ``name`` ('tf' or 'tf_static')."""
        self.pubs[name].publish(self.tf_type(transforms=list(transforms)))

    def watch(self, node: str) -> None:
        """Collect ``/<node>/status``."""
        self.statuses[node] = self.probe.collect(FusionStatus, f"/{node}/status")

    def drops(self, node: str) -> dict[str, int]:
        """The latest drop counters of ``node``."""
        s = self.statuses[node]
        return dict(zip(s[-1].drop_reasons, s[-1].drop_counts)) if s else {}

    def fused(self, node: str) -> int:
        """Frames ``node`` fused so far (latest status)."""
        s = self.statuses[node]
        return int(s[-1].frames_fused) if s else 0

    def wait_fused(self, node: str, n: int, proc: NodeProcess, timeout: float = 120.0) -> None:
        """Until ``node`` fused ``n`` frames."""
        ok = self.probe.spin_until(lambda: self.fused(node) >= n, timeout, proc)
        assert ok, f"{node}: {self.statuses[node][-1] if self.statuses[node] else None}\n{proc.log()}"


@contextlib.contextmanager
def nodes(tmp_path: Path, **params: dict[str, Any]) -> Iterator[NodeProcess]:
    """Fusion nodes named by the keywords (each with ``NODE`` + its parameters), side by side in one process
    (``fusion_pair``), up and ready."""
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump({f"/{name}": {"ros__parameters": {**NODE, **p}} for name, p in params.items()}))
    with node_process("fusion_pair", extra_args=[str(path), *params], env={"PYTHONPATH": str(Path(__file__).parent)}) \
            as proc:
        deadline = time.monotonic() + 180.0
        while proc.log().count("fusion ready") < len(params):
            assert proc.alive() and time.monotonic() < deadline, proc.log()
            time.sleep(0.1)
        yield proc


def occupied_columns(probe: RosProbe, node: str, path: Path, proc: NodeProcess) -> dict[str, np.ndarray]:
    """The node's map saved and read back: its voxel xy columns and its 0.3 m CFG cells (map frame)."""
    from leovl_ros.cfg.voxel_store import VoxelStore

    client = probe.wait_for_service(MapFile, f"/{node}/save_map", timeout=30.0, proc=proc)
    reply = probe.call(client, MapFile.Request(path=str(path)), timeout=30.0)
    assert reply.success, reply.message
    store = VoxelStore.from_file(path)
    ijk = store.voxel_indices().numpy()
    centres = store.voxel_centers().numpy()
    return {"voxel_columns": np.unique(ijk[:, :2], axis=0),
            "cfg_cells": np.unique(np.floor(centres[:, :2] / 0.3).astype(np.int64), axis=0)}


def assert_same_columns(probe: RosProbe, proc: NodeProcess, tmp_path: Path, subject: str) -> None:
    """The subject's map occupies the reference's columns (IoU ≥ 0.95 for voxel columns and CFG cells)."""
    ref = occupied_columns(probe, "reference", tmp_path / "reference.safetensors", proc)
    got = occupied_columns(probe, subject, tmp_path / f"{subject}.safetensors", proc)
    ious = {k: column_iou(ref[k], got[k]) for k in ref}
    print(f"{subject} vs reference: IoU {ious} ({len(ref['voxel_columns'])} / {len(got['voxel_columns'])} voxel "
          f"columns, {len(ref['cfg_cells'])} / {len(got['cfg_cells'])} CFG cells)")
    assert len(ref["voxel_columns"]) > 300, len(ref["voxel_columns"])  # the room, not a few stray voxels
    assert all(v >= 0.95 for v in ious.values()), ious


def test_odometry_in_odom_with_extrinsic_from_tf_static(livingroom: list[Frame], tmp_path: Path) -> None:
    """Odometry of base_link in odom, map → odom from a parameter, base_link → optical from /tf_static (sent after
    the first frame: it waits for the extrinsic, then fuses) ≡ the optical-frame PoseStamped."""
    M, E = extrinsic_from_list(MAP_TO_ODOM), extrinsic_from_list(BASE_TO_CAMERA)
    odometry = {"pose_source": "odometry", "odometry_topic": "/odom", "map_to_odom": MAP_TO_ODOM,
                "base_to_optical": [], "tf_timeout": 10.0}
    with nodes(tmp_path, reference={}, odometry=odometry) as proc, RosProbe() as probe:
        assert "extrinsic from /tf_static <child_frame_id>-><image frame_id>" in proc.log(), proc.log()
        cam = Camera(probe, readers=2)
        cam.add("odom", Odometry, "/odom")
        cam.add("tf_static", cam.tf_type, "/tf_static", static=True)
        cam.wait_for_readers({"pose": 1, "odom": 1, "tf_static": 1})
        for node in ("reference", "odometry"):
            cam.watch(node)
        cam.camera_info(livingroom[0])
        for k, f in enumerate(livingroom):
            odom = Odometry(header=conv.make_header("odom", stamp_of(k)), child_frame_id=BASE)
            odom.pose.pose = conv.matrix_to_pose(np.linalg.inv(M) @ f.pose @ np.linalg.inv(E))
            cam.pubs["odom"].publish(odom)
            cam.images(f, stamp_of(k))
            if k == 0:
                probe.spin_for(1.0)
                assert cam.fused("odometry") == 0 and sum(cam.drops("odometry").values()) == 0, \
                    cam.statuses["odometry"][-1:]
                cam.tf("tf_static", transform(BASE, CAMERA, 0, E))
            probe.spin_for(0.1)
        for node in ("reference", "odometry"):
            cam.wait_fused(node, len(livingroom), proc)
        assert "extrinsic from /tf_static base_link->camera_color_optical_frame" in proc.log()
        assert sum(cam.drops("odometry").values()) == 0, cam.drops("odometry")
        assert_same_columns(probe, proc, tmp_path, "odometry")


def test_tf_pose_source_waits_for_late_tf_and_drops_what_never_comes(livingroom: list[Frame],
                                                                     tmp_path: Path) -> None:
    """pose_source tf through the ROS-free buffer: map → odom and base_link → optical on /tf_static, odom →
    base_link on /tf (two samples bracketing each image stamp, so every lookup interpolates), sent after the
    images: the frames wait for it. Same columns as the PoseStamped reference; the too-old and the never-posed
    frame are dropped with their counted reasons."""
    try:
        import tf2_ros  # noqa: F401
        pytest.skip("tf2_ros imports here: the node uses it, not the ROS-free buffer (see the tf2_ros test)")
    except ImportError:
        pass
    M, E = extrinsic_from_list(MAP_TO_ODOM), extrinsic_from_list(BASE_TO_CAMERA)
    with nodes(tmp_path, reference={}, tf={"pose_source": "tf", "tf_timeout": 2.0}) as proc, RosProbe() as probe:
        assert "poses: tf map <- <image frame_id> (ROS-free buffer over /tf + /tf_static" in proc.log()
        cam = Camera(probe, readers=2)
        cam.add("tf", cam.tf_type, "/tf")
        cam.add("tf_static", cam.tf_type, "/tf_static", static=True)
        cam.wait_for_readers({"pose": 1, "tf": 1, "tf_static": 1})
        for node in ("reference", "tf"):
            cam.watch(node)
        cam.camera_info(livingroom[0])
        cam.tf("tf_static", transform("map", "odom", 0, M), transform(BASE, CAMERA, 0, E))

        def base_tf(k: int) -> None:
            """odom → base_link 5 ms either side of frame k's stamp (the same pose: interpolation is exact)."""
            B = np.linalg.inv(M) @ livingroom[k].pose @ np.linalg.inv(E)
            cam.tf("tf", transform("odom", BASE, stamp_of(k) - 5_000_000, B),
                   transform("odom", BASE, stamp_of(k) + 5_000_000, B))

        base_tf(0)
        probe.spin_for(0.3)
        cam.images(livingroom[0], stamp_of(-3), pose=False)  # older than all of odom → base_link
        assert probe.spin_until(lambda: cam.drops("tf").get("tf_extrapolation") == 1, 20.0, proc), \
            cam.drops("tf")
        for k, f in enumerate(livingroom):
            if k == 1:
                cam.wait_fused("tf", 1, proc)  # frame 0, whose TF came first
            cam.images(f, stamp_of(k))
            if k == 1:  # its TF comes a second late: the frame waits, then fuses
                probe.spin_for(1.0)
                assert cam.fused("tf") == 1 and cam.drops("tf").get("tf_timeout") == 0, cam.statuses["tf"][-1:]
            if k > 0:
                probe.spin_for(0.05)
                base_tf(k)
            probe.spin_for(0.1)
        cam.wait_fused("tf", len(livingroom), proc)
        cam.images(livingroom[-1], stamp_of(len(livingroom)), pose=False)  # no TF ever comes for this one
        assert probe.spin_until(lambda: cam.drops("tf").get("tf_timeout") == 1, 20.0, proc), cam.drops("tf")
        assert "waited tf_timeout 2.0 s" in proc.log()
        cam.wait_fused("reference", len(livingroom), proc)
        drops = {k: v for k, v in cam.drops("tf").items() if v}
        assert drops == {"tf_extrapolation": 1, "tf_timeout": 1}, drops
        assert cam.fused("tf") == len(livingroom)
        assert_same_columns(probe, proc, tmp_path, "tf")


def test_tf_pose_source_through_tf2_ros(livingroom: list[Frame], tmp_path: Path) -> None:
    """Where tf2_ros imports (apt ROS 2), pose_source tf looks poses up with tf2_ros.Buffer/TransformListener."""
    pytest.importorskip("tf2_ros", reason="tf2_ros is not installed (the PyPI ROS 2 wheels have none)")
    E = extrinsic_from_list(BASE_TO_CAMERA)
    with nodes(tmp_path, tf={"pose_source": "tf", "tf_timeout": 2.0}) as proc, RosProbe() as probe:
        assert "poses: tf map <- <image frame_id> (tf2_ros" in proc.log(), proc.log()
        cam = Camera(probe, readers=1)
        cam.add("tf", cam.tf_type, "/tf")
        cam.add("tf_static", cam.tf_type, "/tf_static", static=True)
        cam.wait_for_readers({"pose": 0})
        cam.watch("tf")
        cam.camera_info(livingroom[0])
        cam.tf("tf_static", transform(BASE, CAMERA, 0, E))
        for k, f in enumerate(livingroom[:3]):
            cam.images(f, stamp_of(k), pose=False)
            probe.spin_for(0.2)  # late TF: the frame waits for it
            B = f.pose @ np.linalg.inv(E)
            cam.tf("tf", transform("map", BASE, stamp_of(k) - 5_000_000, B),
                   transform("map", BASE, stamp_of(k) + 5_000_000, B))
        cam.wait_fused("tf", 3, proc)
        assert sum(cam.drops("tf").values()) == 0, cam.drops("tf")
