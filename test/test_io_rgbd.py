"""RGB-D readers and the ScanNet writer: real-data gravity alignment, format traps and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from leovl_ros.geometry.frame import Frame
from leovl_ros.geometry.transforms import angle_between_deg, quat_xyzw_to_matrix
from leovl_ros.io.rgbd import (
    RGBDSequence,
    read_3dmatch,
    read_redwood,
    read_scannet,
    read_trajectory_log,
    write_scannet,
)


def _cloud(frames: list[Frame], stride: int = 4) -> np.ndarray:
    """World points of valid depth pixels (computed here independently of the readers' own helpers)."""
    out = []
    for f in frames:
        d = f.depth[::stride, ::stride]
        v, u = np.mgrid[0: d.shape[0], 0: d.shape[1]] * stride
        m = d > 0
        z = d[m].astype(np.float64)
        cam = np.stack([(u[m] - f.K[0, 2]) / f.K[0, 0] * z, (v[m] - f.K[1, 2]) / f.K[1, 1] * z, z], axis=1)
        out.append(cam @ f.pose[:3, :3].T + f.pose[:3, 3])
    return np.concatenate(out)


def _plane_normal(points: np.ndarray) -> np.ndarray:
    c = points.mean(axis=0)
    n = np.linalg.svd(points - c, full_matrices=False)[2][2]
    return n if n[2] >= 0 else -n


def _check_floor(seq: RGBDSequence, frames: list[Frame]) -> None:
    """Floor horizontal within 2° at z = 0 and the lowest large surface, checked two independent ways."""
    import open3d as o3d

    fit = seq.floor_fit
    assert fit is not None and fit.found
    # 1. The points the alignment calls floor: a plane fitted to them is horizontal at z = 0.
    assert len(fit.floor_points) > 1000
    assert angle_between_deg(_plane_normal(fit.floor_points), [0, 0, 1]) < 2.0
    assert abs(fit.floor_points[:, 2].mean()) < 0.01
    # 2. Independently (other frames, Open3D's RANSAC): the dominant plane among the lowest points.
    pts = _cloud(frames)
    assert np.mean(pts[:, 2] < -0.05) <= 0.01, "points below the floor: it is not the lowest surface"
    low = pts[pts[:, 2] < np.percentile(pts[:, 2], 15)]
    o3d.utility.random.seed(0)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(low))
    (a, b, c, d), inliers = cloud.segment_plane(distance_threshold=0.02, ransac_n=3, num_iterations=500)
    assert len(inliers) > 0.5 * len(low)
    n = np.array([a, b, c])
    assert angle_between_deg(n if c > 0 else -n, [0, 0, 1]) < 2.0
    assert abs(low[inliers, 2].mean()) < 0.02


def test_redwood_livingroom_alignment(shared_data: Path) -> None:
    seq = read_redwood(shared_data / "rgbd" / "livingroom1_clean_micro")
    assert len(seq) == 211 and seq.skipped == 0
    frames = [seq[i] for i in range(5, 211, 20)]
    _check_floor(seq, frames)
    cam_z = np.array([f.pose[2, 3] for f in frames])
    assert np.all((cam_z > 0.2) & (cam_z < 2.0))
    # Heading kept from the fixed rotation: frame 0's optical axis (its world z) points along +x after alignment.
    fwd0 = seq[0].pose[:3, 2]
    assert angle_between_deg(fwd0[:2], [1, 0]) < 5.0


def test_redwood_header_trap(shared_data: Path) -> None:
    """The first header integer is the image number (the third is index + 1)."""
    root = shared_data / "rgbd" / "livingroom1_clean_micro"
    traj = read_trajectory_log(root / "trajectory.log")
    headers = [ln.split() for ln in (root / "trajectory.log").read_text().splitlines()[::5]]
    assert [int(h[2]) for h in headers] == [i + 1 for i, _ in traj]
    raw = read_redwood(root, align=False)
    assert [f.frame_id for f in (raw[0], raw[1], raw[210])] == ["00000", "00001", "00210"]
    assert np.allclose(raw[0].pose, np.eye(4), atol=1e-7)
    assert np.array_equal(raw[210].pose, traj[210][1])
    assert raw[3].stamp == pytest.approx(3 / 30.0)


def test_redwood_synthetic_log_uses_first_header_integer(tmp_path: Path) -> None:
    (tmp_path / "image").mkdir()
    (tmp_path / "depth").mkdir()
    blocks = []
    for i in range(3):
        Image.fromarray(np.full((4, 6, 3), 10 * i, np.uint8)).save(tmp_path / "image" / f"{i:05d}.jpg")
        Image.fromarray(np.full((4, 6), 1000 + i, np.uint16)).save(tmp_path / "depth" / f"{i:05d}.png")
        T = np.eye(4)
        T[0, 3] = i
        blocks.append(f"{i} {i} {i + 1}\n" + "".join(" ".join(f"{x:.8f}" for x in r) + "\n" for r in T))
    (tmp_path / "trajectory.log").write_text("".join(reversed(blocks)))
    seq = read_redwood(tmp_path, align=False)
    assert len(seq) == 3
    for f in seq:
        i = int(f.frame_id)
        assert f.pose[0, 3] == i
        assert np.allclose(f.depth, (1000 + i) / 1000.0)
        assert f.depth.dtype == np.float32 and f.rgb.shape == (4, 6, 3)
    (tmp_path / "bad.log").write_text("0 0 1\n1 0 0 0\n")
    with pytest.raises(ValueError):
        read_redwood(tmp_path, trajectory="bad.log")


def test_3dmatch_studyroom_alignment(shared_data: Path) -> None:
    seq = read_3dmatch(shared_data / "rgbd" / "studyroom_3dmatch")
    assert [f.frame_id for f in seq] == [f"frame-{i:06d}" for i in (0, 1, 2, 116, 422)]
    frames = list(seq)
    _check_floor(seq, frames)
    cam_z = np.array([f.pose[2, 3] for f in frames])
    assert np.all(np.abs(cam_z - 1.5) < 0.2), cam_z
    assert frames[0].K[0, 0] == pytest.approx(570.342205)
    raw = read_3dmatch(shared_data / "rgbd" / "studyroom_3dmatch", align=False)
    assert np.allclose(raw[0].pose, np.loadtxt(shared_data / "rgbd" / "studyroom_3dmatch" / "frame-000000.pose.txt"))
    assert np.allclose(seq.alignment @ raw[4].pose, frames[4].pose)


def _synthetic_frames(n: int, h: int = 48, w: int = 64, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    K = np.array([[60.0, 0.0, 31.5], [0.0, 60.0, 23.5], [0.0, 0.0, 1.0]])
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        rgb = np.stack([xx * 4 % 256, yy * 5 % 256, np.full_like(xx, 40 * i % 256)], -1).astype(np.uint8)
        depth = rng.uniform(0.3, 6.0, (h, w)).astype(np.float32)
        depth[rng.random((h, w)) < 0.1] = 0.0
        depth[0, :3] = [np.nan, np.inf, -1.0]
        pose = np.eye(4)
        pose[:3, :3] = quat_xyzw_to_matrix(rng.normal(size=4))
        pose[:3, 3] = rng.normal(size=3) * 3
        frames.append(Frame(rgb=rgb, depth=depth, K=K, pose=pose, stamp=i / 30.0, frame_id=str(i)))
    return frames


def test_scannet_round_trip(tmp_path: Path) -> None:
    frames = _synthetic_frames(4)
    write_scannet(iter(frames), tmp_path)
    assert np.allclose(np.loadtxt(tmp_path / "intrinsic" / "intrinsic_depth.txt")[:3, :3], frames[0].K)
    assert np.loadtxt(tmp_path / "intrinsic" / "intrinsic_color.txt").shape == (4, 4)
    seq = read_scannet(tmp_path)
    assert len(seq) == 4 and seq.skipped == 0
    for a, b in zip(frames, seq):
        assert np.array_equal(a.pose, b.pose)  # bit-exact
        assert np.array_equal(a.K, b.K)
        valid = np.isfinite(a.depth) & (a.depth > 0)
        assert np.abs(a.depth[valid] - b.depth[valid]).max() <= 0.001
        assert np.all(b.depth[~valid] == 0)
        assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() < 3.0
        assert b.stamp == pytest.approx(a.stamp)
    assert len(seq[1:3]) == 2 and seq[1:3][0].frame_id == "1" and seq[-1].frame_id == "3"


def test_scannet_skips_invalid_poses_and_resizes_colour(tmp_path: Path) -> None:
    frames = _synthetic_frames(5)
    write_scannet(frames, tmp_path)
    (tmp_path / "pose" / "2.txt").write_text("-inf -inf -inf -inf\n" * 4)
    (tmp_path / "pose" / "4.txt").write_text("nan 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    seq = read_scannet(tmp_path)
    assert [f.frame_id for f in seq] == ["0", "1", "3"] and seq.skipped == 2
    # ScanNet-like: colour at twice the depth size, only intrinsic_color.txt (of the colour camera).
    Kc = np.array([[120.0, 0.0, 63.5], [0.0, 120.0, 47.5], [0.0, 0.0, 1.0]])
    Image.fromarray(np.zeros((96, 128, 3), np.uint8)).save(tmp_path / "color" / "0.jpg")
    (tmp_path / "intrinsic" / "intrinsic_depth.txt").unlink()
    Kc4 = np.eye(4)
    Kc4[:3, :3] = Kc
    np.savetxt(tmp_path / "intrinsic" / "intrinsic_color.txt", Kc4)
    f0 = read_scannet(tmp_path)[0]
    assert f0.rgb.shape == (48, 64, 3)
    assert np.allclose(f0.K, frames[0].K)  # pixel-centre scaling of the colour K lands on the depth K


def test_write_scannet_rejects_mixed_intrinsics(tmp_path: Path) -> None:
    frames = _synthetic_frames(2)
    frames[1].K = frames[1].K * np.array([[2.0], [2.0], [1.0]])
    with pytest.raises(ValueError):
        write_scannet(frames, tmp_path)
    with pytest.raises(ValueError):
        write_scannet([], tmp_path / "empty")


def test_simulated_scene_round_trip_and_alignment(tmp_path: Path) -> None:
    """A rendered synthetic room (floor exactly at z = 0) written as ScanNet: the floor fit finds ~identity."""
    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.world import generate_scene

    frames = list(render_sequence(generate_scene(3), 4, seed=3, width=160, height=120))
    write_scannet(frames, tmp_path)
    raw = read_scannet(tmp_path)
    assert all(np.array_equal(a.pose, b.pose) for a, b in zip(frames, raw))
    aligned = read_scannet(tmp_path, align=True)
    fit = aligned.floor_fit
    assert fit is not None and fit.found
    assert fit.correction_deg < 0.5
    assert abs(aligned.alignment[2, 3]) < 0.01
    assert np.allclose(aligned.alignment[:2, :2], np.eye(2), atol=0.01)


def test_alignment_is_computed_once_and_shared_by_slices(shared_data: Path) -> None:
    seq = read_3dmatch(shared_data / "rgbd" / "studyroom_3dmatch")
    fit = seq.floor_fit
    assert seq.floor_fit is fit
    part = seq[1:3]
    assert isinstance(part, RGBDSequence) and part.floor_fit is fit
    assert np.array_equal(part[0].pose, seq[1].pose)
    assert read_3dmatch(shared_data / "rgbd" / "studyroom_3dmatch", align=False).floor_fit is None
