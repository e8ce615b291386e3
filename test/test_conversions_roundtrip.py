"""ROS message ↔ numpy conversions: round trips, padding, endianness, compressed formats, poses, the CFG cloud."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import torch
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CompressedImage, Image
from visualization_msgs.msg import Marker

from leovl_ros.agent.validation import InputRejected, Reason
from leovl_ros.geometry.transforms import extrinsic_from_list
from leovl_ros.io import image_codec as codec
from leovl_ros.ros import conversions as conv

HDR = conv.make_header("cam", 1_700_000_000_123_456_789)
RNG = np.random.default_rng(0)


def random_rgb(h: int = 30, w: int = 41) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_stamps_roundtrip() -> None:
    for ns in (0, 1, 999_999_999, 1_700_000_000_123_456_789):
        assert conv.stamp_to_ns(conv.ns_to_stamp(ns)) == ns


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_colour_encodings(encoding: str) -> None:
    rgb = random_rgb()
    channels = {"rgb8": rgb, "bgr8": rgb[..., ::-1], "rgba8": np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]),
                "bgra8": np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 7, np.uint8)])}[encoding]
    msg = conv.image_from_array(channels, encoding, HDR)
    assert msg.step == rgb.shape[1] * channels.shape[2]
    assert np.array_equal(codec.colour_from_image(msg), rgb)


def test_mono8_and_padded_rows() -> None:
    grey = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    out = codec.colour_from_image(conv.image_from_array(grey, "mono8", HDR))
    assert out.shape == (5, 7, 3) and np.array_equal(out[..., 1], grey)
    rgb = random_rgb(6, 5)
    padded = np.zeros((6, 24), np.uint8)  # 15 bytes of pixels + 9 bytes padding per row
    padded[:, :15] = rgb.reshape(6, 15)
    msg = Image(header=HDR, height=6, width=5, encoding="rgb8", step=24, data=padded.tobytes())
    assert np.array_equal(codec.colour_from_image(msg), rgb)


@pytest.mark.parametrize("bigendian", [False, True])
def test_depth_encodings_and_endianness(bigendian: bool) -> None:
    mm = RNG.integers(0, 10_000, (4, 6)).astype(np.uint16)
    order = ">" if bigendian else "<"
    msg = Image(header=HDR, height=4, width=6, encoding="16UC1", is_bigendian=int(bigendian), step=12,
                data=mm.astype(order + "u2").tobytes())
    assert np.allclose(codec.depth_from_image(msg), mm / 1000.0, atol=1e-6)
    metres = RNG.uniform(0.2, 6.0, (4, 6)).astype(np.float32)
    metres[0, 0] = np.nan
    msg = Image(header=HDR, height=4, width=6, encoding="32FC1", is_bigendian=int(bigendian), step=24,
                data=metres.astype(order + "f4").tobytes())
    out = codec.depth_from_image(msg)
    assert np.isnan(out[0, 0]) and np.array_equal(out[1:], metres[1:])


def test_depth_image_from_metres() -> None:
    d = np.array([[1.2345, np.nan, -1.0, 70.0]], np.float32)
    mm = conv.depth_image_from_metres(d, "16UC1", HDR)
    assert np.allclose(codec.depth_from_image(mm), [[1.234, 0.0, 0.0, 0.0]], atol=1e-3)
    f = codec.depth_from_image(conv.depth_image_from_metres(d, "32FC1", HDR))
    assert np.array_equal(f, d, equal_nan=True)


@pytest.mark.parametrize(("encoding", "colour", "reason"), [
    ("yuv422", True, Reason.ENCODING), ("16UC1", True, Reason.ENCODING), ("rgb8", False, Reason.ENCODING)])
def test_wrong_encoding_rejected(encoding: str, colour: bool, reason: Reason) -> None:
    msg = Image(header=HDR, height=2, width=2, encoding=encoding, step=12, data=bytes(24))
    with pytest.raises(InputRejected) as err:
        (codec.colour_from_image if colour else codec.depth_from_image)(msg)
    assert err.value.rejection.reason == reason


def test_compressed_colour() -> None:
    rgb = random_rgb(24, 32)
    png = conv.compressed_from_colour(rgb, HDR, fmt="png")
    assert np.array_equal(codec.colour_from_compressed(png), rgb)
    smooth = np.repeat(np.repeat(rgb[:3, :4], 8, axis=0), 8, axis=1)
    jpeg = conv.compressed_from_colour(smooth, HDR, fmt="jpeg", quality=95)
    assert jpeg.format.startswith("rgb8; jpeg")
    assert np.abs(codec.colour_from_compressed(jpeg).astype(int) - smooth).mean() < 12
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    decoded = codec.colour_from_compressed(conv.compressed_from_colour(red, HDR))
    assert decoded[..., 0].min() > 240 and decoded[..., 1:].max() < 15, "channel order survives jpeg"
    with pytest.raises(InputRejected):
        codec.colour_from_compressed(CompressedImage(header=HDR, format="jpeg", data=b"not a jpeg"))


def test_compressed_depth_16uc1_exact() -> None:
    d = RNG.uniform(0.3, 9.0, (20, 30)).astype(np.float32)
    d[3, 4] = 0.0
    msg = conv.compressed_from_depth(d, HDR, "16UC1")
    assert msg.format == "16UC1; compressedDepth png"
    assert struct.unpack("<iff", bytes(msg.data)[:12]) == (0, 0.0, 0.0)
    out = codec.depth_from_compressed(msg)
    assert np.allclose(out, np.rint(d * 1000) / 1000, atol=1e-6) and out[3, 4] == 0


def test_compressed_depth_32fc1_inverse_quantisation() -> None:
    d = RNG.uniform(0.3, 9.5, (20, 30)).astype(np.float32)
    d[0, 0], d[0, 1] = np.nan, 12.0  # no return, beyond depth_max → both decode as NaN (no return)
    msg = conv.compressed_from_depth(d, HDR, "32FC1", depth_max=10.0, quantization=100.0)
    fmt, qa, qb = struct.unpack("<iff", bytes(msg.data)[:12])
    assert fmt == 0 and qa == pytest.approx(10100.0) and qb == pytest.approx(1.0 - 10100.0 / 10.0)
    out = codec.depth_from_compressed(msg)
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1])
    ok = np.isfinite(out)
    # Quantisation step of inverse depth: |Δd| ≈ d² / A / 2.
    assert np.all(np.abs(out[ok] - d[ok]) <= d[ok] ** 2 / 10100.0 * 0.51 + 1e-6)


def test_compressed_depth_written_by_hand_matches_image_transport_layout() -> None:
    """A message laid out as image_transport writes it (header struct + 16-bit PNG) decodes to millimetres."""
    from PIL import Image as PILImage

    mm = np.array([[0, 1000, 2500], [65535, 10, 4000]], np.uint16)
    buf = io.BytesIO()
    PILImage.fromarray(mm).save(buf, format="PNG")
    data = struct.pack("<iff", 0, 0, 0) + buf.getvalue()
    msg = CompressedImage(header=HDR, format="16UC1; compressedDepth", data=data)
    assert np.allclose(codec.depth_from_compressed(msg), mm / 1000.0, atol=1e-6)
    for bad in (CompressedImage(format="16UC1; compressedDepth", data=b"\x00" * 12),
                CompressedImage(format="16UC1; compressedDepth", data=struct.pack("<iff", 0, 0, 0) + b"garbage"),
                CompressedImage(format="png", data=buf.getvalue()),
                CompressedImage(format="16UC1; compressedDepth rvl", data=buf.getvalue())):
        with pytest.raises(InputRejected):
            codec.depth_from_compressed(bad)


def test_camera_info_roundtrip_and_zero_k() -> None:
    K = np.array([[500.0, 0, 320.5], [0, 510.0, 240.5], [0, 0, 1]])
    info = conv.camera_info_from_intrinsics(K, 640, 480, HDR)
    assert np.array_equal(codec.intrinsics_from_camera_info(info, (480, 640)), K)
    with pytest.raises(InputRejected) as err:
        codec.intrinsics_from_camera_info(info, (240, 320))
    assert err.value.rejection.reason == Reason.SIZE
    info.k = [0.0] * 9
    with pytest.raises(InputRejected) as err:
        codec.intrinsics_from_camera_info(info, (480, 640))
    assert err.value.rejection.reason == Reason.CAMERA_INFO


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def test_pose_roundtrip_including_half_turns() -> None:
    rng = np.random.default_rng(1)
    rotations = [random_rotation(rng) for _ in range(200)] + [np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]),
                                                              np.diag([-1.0, -1, 1]), np.eye(3)]
    for R in rotations:
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = R, rng.normal(size=3)
        back = conv.pose_to_matrix(conv.pose_stamped_from_matrix(T, HDR).pose)
        assert np.allclose(back, T, atol=1e-9)


def test_odometry_with_extrinsic() -> None:
    base = np.eye(4)
    base[:3, 3] = (1.0, 2.0, 0.0)
    odom = Odometry()
    odom.pose.pose = conv.matrix_to_pose(base)
    ext = extrinsic_from_list([0.1, 0.0, 1.0, -0.5, 0.5, -0.5, 0.5])
    T = conv.odometry_to_matrix(odom, ext)
    assert np.allclose(T[:3, 3], (1.1, 2.0, 1.0))
    assert np.allclose(T[:3, 2], (1.0, 0.0, 0.0)), "optical z looks along base x"
    assert np.allclose(T[:3, 1], (0.0, 0.0, -1.0)), "optical y points down"
    assert np.array_equal(extrinsic_from_list(np.eye(4).ravel()), np.eye(4))
    with pytest.raises(ValueError):
        extrinsic_from_list([1.0, 2.0])
    odom.pose.pose.orientation.w = float("nan")
    with pytest.raises(InputRejected):
        conv.odometry_to_matrix(odom, ext)


def test_cloud_roundtrip_and_rgb_packing() -> None:
    xyz = RNG.normal(size=(50, 3)).astype(np.float32)
    colour = RNG.uniform(0, 1, (50, 3)).astype(np.float32)
    weight = RNG.uniform(1, 9, 50).astype(np.float32)
    msg = conv.cloud_from_arrays(xyz, colour, weight, HDR)
    assert msg.point_step == 20 and msg.width == 50 and [f.name for f in msg.fields] == ["x", "y", "z", "rgb",
                                                                                         "weight"]
    pts = conv.cloud_to_structured(msg)
    assert np.array_equal(pts["x"], xyz[:, 0]) and np.array_equal(pts["weight"], weight)
    assert np.array_equal(conv.unpack_rgb(pts["rgb"]), np.rint(colour * 255).astype(np.uint8))
    assert conv.unpack_rgb(conv.pack_rgb(np.array([[255, 0, 16]], np.uint8))).tolist() == [[255, 0, 16]]
    empty = conv.cloud_from_arrays(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), HDR)
    assert empty.width == 0 and conv.cloud_to_structured(empty).shape == (0,)


def test_cfg_cloud_and_markers_from_a_real_store() -> None:
    from leovl_ros.cfg.condense import CondenseConfig, condense
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

    store = VoxelStore(VoxelStoreConfig(voxel_size=0.05, feature_dim=4))
    pts = torch.tensor(RNG.uniform([0, 0, 0], [3, 2, 1.5], (2000, 3)), dtype=torch.float32)
    colours = torch.tensor(RNG.uniform(0, 1, (2000, 3)), dtype=torch.float32)
    store.fuse(pts, torch.randn(2000, 4), colours)
    batch = condense(store, CondenseConfig(cell_size=0.3, budget=750))
    cloud = conv.cfg_to_cloud(batch, HDR)
    pts_out = conv.cloud_to_structured(cloud)
    assert len(pts_out) == len(batch) > 0
    assert np.all((pts_out["x"] > -0.5) & (pts_out["x"] < 3.5) & (pts_out["z"] >= 0) & (pts_out["z"] <= 1.5))
    assert np.isclose(pts_out["weight"].sum(), 2000, rtol=1e-4), "every fused point's weight lands in one column"
    markers = conv.cfg_to_markers(batch, HDR)
    assert markers.markers[0].action == Marker.DELETEALL
    cubes = markers.markers[1:]
    assert all(m.type == Marker.CUBE_LIST and len(m.points) == len(m.colors) for m in cubes)
    assert sum(len(m.points) for m in cubes) == len(batch)
    store.reset()
    assert conv.cfg_to_cloud(condense(store), HDR).width == 0
