"""rosbag2 MCAP writer/reader: round trips, validity for other MCAP tools, pairing and the leovl-bag CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import quat_xyzw_to_matrix
from leovl_ros.io.bag import (
    COLOR_TOPIC,
    DEPTH_TOPIC,
    INFO_TOPIC,
    POSE_TOPIC,
    _Messages,
    _typestore,
    bag_info,
    main,
    read_rgbd_bag,
    write_rgbd_bag,
)
from leovl_ros.io.image_codec import metres_to_millimetres


def _frames(n: int = 5, h: int = 24, w: int = 32, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    K = np.array([[30.0, 0.0, 15.5], [0.0, 30.0, 11.5], [0.0, 0.0, 1.0]])
    out = []
    for i in range(n):
        depth = rng.uniform(0.2, 8.0, (h, w)).astype(np.float32)
        depth[rng.random((h, w)) < 0.1] = 0.0
        depth[0, 0] = np.nan
        pose = np.eye(4)
        pose[:3, :3] = quat_xyzw_to_matrix(rng.normal(size=4))
        pose[:3, 3] = rng.normal(size=3)
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out.append(Frame(rgb=rgb, depth=depth, K=K, pose=pose, stamp=12.5 + i / 30.0, frame_id=str(i)))
    return out


def _assert_same(a: Frame, b: Frame, depth_tol: float) -> None:
    assert np.allclose(a.pose, b.pose, atol=1e-12)
    assert np.array_equal(a.K, b.K)
    assert b.stamp == pytest.approx(a.stamp, abs=1e-9)
    va = np.isfinite(a.depth) & (a.depth > 0)
    assert np.abs(a.depth[va] - b.depth[va]).max() <= depth_tol
    assert not np.any(np.nan_to_num(b.depth[~va]) > 0)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_round_trip(tmp_path: Path, encoding: str) -> None:
    frames = _frames()
    bag = tmp_path / "bag"
    assert write_rgbd_bag(iter(frames), bag, depth_encoding=encoding) == 5
    assert list(bag.glob("*.mcap")) and (bag / "metadata.yaml").is_file()
    back = list(read_rgbd_bag(bag))
    assert len(back) == 5
    for a, b in zip(frames, back):
        assert np.array_equal(a.rgb, b.rgb)
        assert b.frame_id == "camera_color_optical_frame"
        _assert_same(a, b, 0.0005 if encoding == "16UC1" else 0.0)
    if encoding == "32FC1":
        assert all(np.array_equal(a.depth, b.depth, equal_nan=True) for a, b in zip(frames, back))
    info = bag_info(bag)
    assert info["topics"][COLOR_TOPIC] == {"type": "sensor_msgs/msg/Image", "count": 5}
    assert info["topics"]["/clock"]["count"] == 5
    assert info["duration_s"] == pytest.approx(4 / 30.0, abs=1e-6)


def test_compressed_round_trip(tmp_path: Path) -> None:
    frames = _frames(3)
    for f in frames:  # smooth colour so JPEG error is small and meaningful
        f.rgb = np.broadcast_to(np.linspace(0, 255, f.width, dtype=np.uint8)[None, :, None], f.rgb.shape).copy()
    write_rgbd_bag(frames, tmp_path / "bag", compressed=True)
    topics = bag_info(tmp_path / "bag")["topics"]
    assert topics[COLOR_TOPIC + "/compressed"]["type"] == "sensor_msgs/msg/CompressedImage"
    assert DEPTH_TOPIC + "/compressedDepth" in topics
    back = list(read_rgbd_bag(tmp_path / "bag"))
    assert len(back) == 3
    for a, b in zip(frames, back):
        assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() < 4
        _assert_same(a, b, 0.0005)
    with pytest.raises(ValueError):
        write_rgbd_bag(frames, tmp_path / "bad", compressed=True, depth_encoding="32FC1")


def test_bag_is_valid_mcap_for_other_tools(tmp_path: Path) -> None:
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    frames = _frames(5)
    write_rgbd_bag(frames, tmp_path / "bag")
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    seen: dict[str, int] = {}
    with open(mcap_file, "rb") as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        for schema, channel, message, ros_msg in reader.iter_decoded_messages():
            seen[channel.topic] = seen.get(channel.topic, 0) + 1
            i = round((message.log_time * 1e-9 - 12.5) * 30)
            if channel.topic == COLOR_TOPIC:
                assert schema.name == "sensor_msgs/msg/Image" and ros_msg.encoding == "rgb8"
                assert bytes(ros_msg.data) == frames[i].rgb.tobytes()
            if channel.topic == POSE_TOPIC:
                assert ros_msg.header.frame_id == "map"
                assert ros_msg.pose.position.x == pytest.approx(frames[i].pose[0, 3])
            if channel.topic == INFO_TOPIC:
                assert list(ros_msg.k) == frames[i].K.reshape(-1).tolist()
    assert seen == {COLOR_TOPIC: 5, DEPTH_TOPIC: 5, INFO_TOPIC: 5, POSE_TOPIC: 5, "/clock": 5}


def test_pairing_tolerates_offsets_and_drops_unpaired(tmp_path: Path) -> None:
    """Pose stamped 2 ms after its image still pairs; an image whose depth is missing is skipped."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    frames = _frames(4)
    ts = _typestore()
    m = _Messages(ts, "cam")
    with Writer(tmp_path / "bag", version=8, storage_plugin=StoragePlugin.MCAP) as w:
        c = {t: w.add_connection(t, typ, typestore=ts) for t, typ in (
            (COLOR_TOPIC, "sensor_msgs/msg/Image"), (DEPTH_TOPIC, "sensor_msgs/msg/Image"),
            (INFO_TOPIC, "sensor_msgs/msg/CameraInfo"), (POSE_TOPIC, "geometry_msgs/msg/PoseStamped"))}
        for i, f in enumerate(frames):
            ns = int(f.stamp * 1e9)
            w.write(c[COLOR_TOPIC], ns, ts.serialize_cdr(m.image(ns, f.rgb, "rgb8"), "sensor_msgs/msg/Image"))
            if i != 1:
                d = metres_to_millimetres(f.depth)
                w.write(c[DEPTH_TOPIC], ns, ts.serialize_cdr(m.image(ns, d, "16UC1"), "sensor_msgs/msg/Image"))
            pns = ns + 2_000_000
            w.write(c[POSE_TOPIC], pns, ts.serialize_cdr(m.pose(pns, f.pose), "geometry_msgs/msg/PoseStamped"))
            # camera_info last: the final frame can only pair once it arrives
            w.write(c[INFO_TOPIC], pns, ts.serialize_cdr(m.camera_info(pns, f.K, f.width, f.height),
                                                         "sensor_msgs/msg/CameraInfo"))
    back = list(read_rgbd_bag(tmp_path / "bag"))
    assert [round(b.stamp, 4) for b in back] == [round(frames[i].stamp, 4) for i in (0, 2, 3)]
    assert np.allclose(back[1].pose, frames[2].pose)
    assert list(read_rgbd_bag(tmp_path / "bag", slop=0.001)) == []
    with pytest.raises(ValueError, match="no topic"):
        list(read_rgbd_bag(tmp_path / "bag", pose_topic="/nope"))


def test_cli_write_and_info(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    bag = tmp_path / "study"
    assert main(["write", "--source", "3dmatch", "--input", str(shared_data / "rgbd" / "studyroom_3dmatch"),
                 "--frames", "3", "--out", str(bag)]) == 0
    capsys.readouterr()
    assert main(["info", str(bag)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["topics"][DEPTH_TOPIC]["count"] == 3
    frames = list(read_rgbd_bag(bag))
    assert len(frames) == 3 and frames[0].rgb.shape == (480, 640, 3)
    assert abs(frames[0].pose[2, 3] - 1.5) < 0.2  # aligned world (z up) went into the bag


def test_rclpy_deserialises_the_messages(tmp_path: Path) -> None:
    """The CDR payloads are the real ROS types: rclpy's own deserialiser reads them."""
    from geometry_msgs.msg import PoseStamped
    from mcap.reader import make_reader
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image

    frames = _frames(2)
    write_rgbd_bag(frames, tmp_path / "bag", depth_encoding="32FC1")
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    types = {COLOR_TOPIC: Image, DEPTH_TOPIC: Image, INFO_TOPIC: CameraInfo, POSE_TOPIC: PoseStamped}
    checked = 0
    with open(mcap_file, "rb") as fh:
        for _, channel, message in make_reader(fh).iter_messages(topics=list(types)):
            msg = deserialize_message(message.data, types[channel.topic])
            f = frames[round((message.log_time * 1e-9 - 12.5) * 30)]
            if channel.topic == DEPTH_TOPIC:
                d = np.frombuffer(bytes(msg.data), dtype="<f4").reshape(msg.height, msg.width)
                assert msg.encoding == "32FC1" and np.array_equal(d, f.depth, equal_nan=True)
            elif channel.topic == POSE_TOPIC:
                assert msg.pose.position.z == pytest.approx(f.pose[2, 3])
            elif channel.topic == INFO_TOPIC:
                assert (msg.width, msg.height) == (f.width, f.height) and msg.k[0] == f.K[0, 0]
            checked += 1
    assert checked == 8


def test_reads_inverse_depth_compressed_32fc1(tmp_path: Path) -> None:
    """compressedDepth of a 32FC1 image as image_transport encodes it (quantised inverse depth in a PNG)."""
    import io
    import struct

    from PIL import Image
    from rosbags.rosbag2 import StoragePlugin, Writer

    f = _frames(1)[0]
    qa = 100.0 * 101.0  # depth_quantization · (depth_quantization + 1), ROS defaults with depth_max 10 m
    qb = 1.0 - qa / 10.0
    valid = np.isfinite(f.depth) & (f.depth > 0)
    inv = np.zeros(f.depth.shape, np.uint16)
    inv[valid] = np.round(qa / f.depth[valid] + qb).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(inv).save(buf, format="PNG")
    ts = _typestore()
    m = _Messages(ts, "cam")
    ns = int(f.stamp * 1e9)
    with Writer(tmp_path / "bag", version=8, storage_plugin=StoragePlugin.MCAP) as w:
        msgs = [(COLOR_TOPIC, m.image(ns, f.rgb, "rgb8"), "sensor_msgs/msg/Image"),
                (DEPTH_TOPIC + "/compressedDepth",
                 m.compressed(ns, "32FC1; compressedDepth png", struct.pack("<iff", 0, qa, qb) + buf.getvalue()),
                 "sensor_msgs/msg/CompressedImage"),
                (INFO_TOPIC, m.camera_info(ns, f.K, f.width, f.height), "sensor_msgs/msg/CameraInfo"),
                (POSE_TOPIC, m.pose(ns, f.pose), "geometry_msgs/msg/PoseStamped")]
        for topic, msg, typ in msgs:
            w.write(w.add_connection(topic, typ, typestore=ts), ns, ts.serialize_cdr(msg, typ))
    (b,) = list(read_rgbd_bag(tmp_path / "bag"))
    assert np.all(np.isnan(b.depth[~valid]))  # a 32FC1 'no return' decodes to NaN, as on the node path
    rel = np.abs(b.depth[valid] - f.depth[valid]) / f.depth[valid]
    assert rel.max() < 0.01 + f.depth[valid].max() / qa  # quantisation error grows with depth²


@pytest.mark.parametrize("transport", ["raw-16UC1", "raw-32FC1", "compressed-16UC1", "compressed-32FC1", "jpeg"])
def test_bag_reader_and_fusion_node_decode_the_same_messages_identically(tmp_path: Path, transport: str) -> None:
    """One codec: the same bytes read from a bag (rosbags messages) and received by the fusion node (rclpy messages,
    ``FrameFuser.decode``) give identical colour and depth — a 32FC1 'no return' is NaN on both paths."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from leovl_ros.cfg.pipeline import FrameFuser
    from leovl_ros.ros import conversions as conv

    f = _frames(1)[0]
    ns = int(f.stamp * 1e9)
    header = conv.make_header("cam", ns)
    kind, _, encoding = transport.partition("-")
    if kind == "raw":
        colour = conv.image_from_array(f.rgb, "rgb8", header)
        depth = conv.depth_image_from_metres(f.depth, encoding, header)
    else:
        colour = conv.compressed_from_colour(f.rgb, header, fmt="png" if kind == "compressed" else "jpeg")
        depth = conv.compressed_from_depth(f.depth, header, encoding or "16UC1")
    info = conv.camera_info_from_intrinsics(f.K, f.width, f.height, header)
    node_rgb, node_depth, node_K = FrameFuser(None).decode(colour, depth, info)

    ts = _typestore()
    m = _Messages(ts, "cam")

    def bag_msg(msg):  # the same fields and bytes as a rosbags message
        if hasattr(msg, "format"):
            return m.compressed(ns, msg.format, bytes(msg.data))
        return ts.types["sensor_msgs/msg/Image"](
            header=m.header(ns, "cam"), height=msg.height, width=msg.width, encoding=msg.encoding,
            is_bigendian=msg.is_bigendian, step=msg.step, data=np.frombuffer(bytes(msg.data), np.uint8))

    suffix = ("/compressed", "/compressedDepth") if kind != "raw" else ("", "")
    typ = "sensor_msgs/msg/CompressedImage" if kind != "raw" else "sensor_msgs/msg/Image"
    with Writer(tmp_path / "bag", version=8, storage_plugin=StoragePlugin.MCAP) as w:
        for topic, msg, t in ((COLOR_TOPIC + suffix[0], bag_msg(colour), typ),
                              (DEPTH_TOPIC + suffix[1], bag_msg(depth), typ),
                              (INFO_TOPIC, m.camera_info(ns, f.K, f.width, f.height), "sensor_msgs/msg/CameraInfo"),
                              (POSE_TOPIC, m.pose(ns, f.pose), "geometry_msgs/msg/PoseStamped")):
            w.write(w.add_connection(topic, t, typestore=ts), ns, ts.serialize_cdr(msg, t))
    (b,) = list(read_rgbd_bag(tmp_path / "bag"))
    np.testing.assert_array_equal(b.rgb, node_rgb)
    np.testing.assert_array_equal(b.depth, node_depth)  # NaN == NaN here
    np.testing.assert_array_equal(b.K, node_K)
    no_return = ~(np.isfinite(f.depth) & (f.depth > 0))
    if transport == "raw-32FC1":  # raw metres travel as they are: 0 stays 0, NaN stays NaN
        np.testing.assert_array_equal(node_depth[no_return], f.depth[no_return])
    elif encoding == "32FC1":  # inverse-depth PNG: every no-return pixel is 0 on the wire, NaN decoded
        assert np.all(np.isnan(node_depth[no_return]))
    else:
        assert np.all(node_depth[no_return] == 0)
