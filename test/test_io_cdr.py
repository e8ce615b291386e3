"""Stamps and Image fields read straight from serialised messages (leovl_ros.io.cdr) agree with rclpy's own
deserialisation, for every layout the alignment rules produce; a raw subscription over DDS delivers such bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, Image

from leovl_ros.io import cdr
from leovl_ros.io import image_codec as codec
from leovl_ros.ros import conversions as conv


def _image(arr: np.ndarray, encoding: str, frame_id: str, stamp_ns: int, pad: int = 0,
           bigendian: bool = False) -> Image:
    """An Image message with optional row padding and big-endian payload."""
    h, w = arr.shape[:2]
    rows = arr.reshape(h, -1)
    if bigendian:
        rows = rows.astype(rows.dtype.newbyteorder(">"))
    raw = rows.view(np.uint8)
    if pad:
        raw = np.concatenate([raw, np.full((h, pad), 7, np.uint8)], axis=1)
    msg = Image(header=conv.make_header(frame_id, stamp_ns), height=h, width=w, encoding=encoding,
                is_bigendian=int(bigendian), step=raw.shape[1])
    msg.data = raw.tobytes()
    return msg


@pytest.mark.parametrize("frame_id", ["", "c", "cam", "camera_color_optical_frame", "ü-frame"])
@pytest.mark.parametrize("stamp_ns", [0, 1_796_418_847_359_932_456, -1_500_000_000])
def test_header_stamp_matches_rclpy(frame_id: str, stamp_ns: int) -> None:
    for msg in (_image(np.zeros((2, 3, 3), np.uint8), "rgb8", frame_id, stamp_ns),
                PoseStamped(header=conv.make_header(frame_id, stamp_ns)),
                CameraInfo(header=conv.make_header(frame_id, stamp_ns), width=640, height=480)):
        buf = serialize_message(msg)
        back = deserialize_message(buf, type(msg))
        assert cdr.header_stamp_ns(buf) == conv.stamp_to_ns(back.header.stamp) == stamp_ns


@pytest.mark.parametrize("encoding,dtype,channels", [("rgb8", np.uint8, 3), ("bgra8", np.uint8, 4),
                                                     ("mono8", np.uint8, 1), ("16UC1", np.uint16, 1),
                                                     ("32FC1", np.float32, 1)])
@pytest.mark.parametrize("frame_id", ["", "ab", "abc", "camera_color_optical_frame"])
@pytest.mark.parametrize("pad", [0, 1, 3])
def test_image_fields_match_rclpy(encoding: str, dtype: type, channels: int, frame_id: str, pad: int) -> None:
    rng = np.random.default_rng(len(frame_id) + pad)
    arr = (rng.random((5, 7, channels)) * 200).astype(dtype)
    msg = _image(arr if channels > 1 else arr[..., 0], encoding, frame_id, 1_234_567_890_123, pad=pad)
    buf = serialize_message(msg)
    ref = deserialize_message(buf, Image)
    got = cdr.image_fields(buf)
    assert (got.height, got.width, got.encoding, got.is_bigendian, got.step) == \
        (ref.height, ref.width, ref.encoding, ref.is_bigendian, ref.step)
    assert got.header.frame_id == ref.header.frame_id
    assert (got.header.stamp.sec, got.header.stamp.nanosec) == (ref.header.stamp.sec, ref.header.stamp.nanosec)
    assert bytes(got.data) == bytes(ref.data)
    decode = codec.depth_from_image if encoding in ("16UC1", "32FC1") else codec.colour_from_image
    np.testing.assert_array_equal(decode(got), decode(ref))


def test_big_endian_payload_decodes_like_rclpy() -> None:
    depth = np.arange(12, dtype=np.uint16).reshape(3, 4) * 300
    buf = serialize_message(_image(depth, "16UC1", "cam", 5, bigendian=True))
    got = cdr.image_fields(buf)
    assert got.is_bigendian == 1
    np.testing.assert_allclose(codec.depth_from_image(got), depth * 0.001, rtol=1e-6)


def test_data_is_a_view_of_the_buffer() -> None:
    buf = bytearray(serialize_message(_image(np.zeros((4, 4, 3), np.uint8), "rgb8", "cam", 1)))
    got = cdr.image_fields(buf)
    buf[-1] = 99  # the last payload byte
    assert got.data[-1] == 99


def test_big_endian_encapsulation() -> None:
    # offsets from the body start: stamp 0-8, frame_id 8-14, pad 2, height/width 16-24, encoding 24-34,
    # is_bigendian 34, pad 1, step 36, data length 40, data 44
    buf = (b"\x00\x00\x00\x00" + struct.pack(">iI", 12, 34) + struct.pack(">I", 2) + b"a\x00" + b"\x00\x00"
           + struct.pack(">III", 1, 1, 6) + b"mono8\x00" + b"\x00" + b"\x00" + struct.pack(">II", 1, 1) + b"\x2a")
    assert cdr.header_stamp_ns(buf) == 12 * 1_000_000_000 + 34
    got = cdr.image_fields(buf)
    assert (got.header.frame_id, got.height, got.width, got.encoding, got.step, bytes(got.data)) == \
        ("a", 1, 1, "mono8", 1, b"\x2a")


@pytest.mark.parametrize("cut", [0, 3, 10, 20, 40, -1])
def test_truncated_buffers_raise(cut: int) -> None:
    buf = serialize_message(_image(np.zeros((2, 2, 3), np.uint8), "rgb8", "camera", 1))
    with pytest.raises(ValueError):
        cdr.image_fields(buf[:cut])


def test_unknown_encapsulation_and_bad_strings_raise() -> None:
    buf = bytearray(serialize_message(_image(np.zeros((2, 2, 3), np.uint8), "rgb8", "camera", 1)))
    xcdr2 = b"\x00\x07" + bytes(buf[2:])
    with pytest.raises(ValueError, match="encapsulation"):
        cdr.header_stamp_ns(xcdr2)
    buf[12 + 4 + 6] = ord("x")  # the frame_id's NUL terminator ("camera" + NUL after its length at byte 12)
    with pytest.raises(ValueError, match="NUL"):
        cdr.image_fields(bytes(buf))


def test_raw_subscription_over_dds_delivers_parseable_bytes() -> None:
    """A publisher and a raw subscription on real DDS (one private context): the bytes parse to what was sent."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from leovl_ros.ros.qos import sensor_qos

    context = Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("cdr_probe", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        got: list[bytes] = []
        node.create_subscription(Image, "cdr_test/image", got.append, sensor_qos(), raw=True)
        pub = node.create_publisher(Image, "cdr_test/image", sensor_qos())
        rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        for i in range(200):
            if got:
                break
            pub.publish(_image(rgb, "rgb8", "cam", 1_000_000_000 + i))
            executor.spin_once(timeout_sec=0.05)
        assert got, "no raw message arrived within 10 s"
        assert isinstance(got[0], bytes)
        fields = cdr.image_fields(got[0])
        assert cdr.header_stamp_ns(got[0]) == conv.stamp_to_ns(fields.header.stamp) >= 1_000_000_000
        np.testing.assert_array_equal(codec.colour_from_image(fields), rgb)
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
