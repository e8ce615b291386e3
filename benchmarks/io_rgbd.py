"""Reader, alignment and bag throughput plus the gravity-alignment figures of the real sequences (one JSON line)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from leovl_ros.agent.paths import shared_data_dir
from leovl_ros.geometry.alignment import backproject
from leovl_ros.geometry.transforms import angle_between_deg
from leovl_ros.io.bag import read_rgbd_bag, write_rgbd_bag
from leovl_ros.io.rgbd import RGBDSequence, read_3dmatch, read_redwood


def _fused(seq: RGBDSequence, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """All frames back-projected at a pixel stride (aligned world) and the camera positions."""
    pts, cams = [], []
    for f in seq:
        pts.append(backproject(f.depth, f.K, f.pose, stride))
        cams.append(f.pose[:3, 3])
    return np.concatenate(pts), np.array(cams)


def _independent_floor(pts: np.ndarray) -> tuple[float, float]:
    """Tilt (degrees) and height of Open3D's RANSAC plane through the lowest 15 % of the fused points."""
    import open3d as o3d

    low = pts[pts[:, 2] < np.percentile(pts[:, 2], 15)]
    o3d.utility.random.seed(0)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(low))
    (a, b, c, _), inliers = cloud.segment_plane(distance_threshold=0.02, ransac_n=3, num_iterations=500)
    n = np.array([a, b, c])
    return angle_between_deg(n if c > 0 else -n, [0, 0, 1]), float(low[inliers, 2].mean())


def _figures(seq: RGBDSequence, stride: int) -> dict:
    """Alignment quality and the extent of what the camera saw, in the aligned world."""
    t = time.perf_counter()
    fit = seq.floor_fit
    fit_s = time.perf_counter() - t
    fp = fit.floor_points
    n = np.linalg.svd(fp - fp.mean(0), full_matrices=False)[2][2]
    pts, cams = _fused(seq, stride)
    floor = pts[np.abs(pts[:, 2]) < 0.03]
    o3d_tilt, o3d_height = _independent_floor(pts)
    pct = lambda a, q: [round(float(x), 3) for x in np.percentile(a, q)]  # noqa: E731
    return {
        "frames": len(seq),
        "fit_s": round(fit_s, 3),
        "tilt_corrected_deg": round(fit.correction_deg, 3),
        "floor_residual_tilt_deg": round(angle_between_deg(n if n[2] > 0 else -n, [0, 0, 1]), 4),
        "floor_height_m": round(float(fp[:, 2].mean()), 5),
        "open3d_floor_tilt_deg": round(o3d_tilt, 3),
        "open3d_floor_height_m": round(o3d_height, 4),
        "floor_rmse_m": round(fit.rmse, 4),
        "below_floor_share": round(float(np.mean(pts[:, 2] < -0.05)), 5),
        "floor_extent_x_p1_p99": pct(floor[:, 0], [1, 99]),
        "floor_extent_y_p1_p99": pct(floor[:, 1], [1, 99]),
        "points_extent_x_p1_p99": pct(pts[:, 0], [1, 99]),
        "points_extent_y_p1_p99": pct(pts[:, 1], [1, 99]),
        "height_p1_p99_max": pct(pts[:, 2], [1, 99]) + [round(float(pts[:, 2].max()), 3)],
        "camera_height_min_max": [round(float(cams[:, 2].min()), 3), round(float(cams[:, 2].max()), 3)],
    }


def main() -> None:
    """Measure and print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--stride", type=int, default=8, help="pixel stride of the fused cloud for the extents")
    ap.add_argument("--bag-frames", type=int, default=20, help="frames written to and read from a bag")
    args = ap.parse_args()
    rgbd = shared_data_dir() / "rgbd"
    living = read_redwood(rgbd / "livingroom1_clean_micro")
    out: dict = {"livingroom1_clean_micro": _figures(living, args.stride),
                 "studyroom_3dmatch": _figures(read_3dmatch(rgbd / "studyroom_3dmatch"), args.stride)}
    t = time.perf_counter()
    frames = [living[i] for i in range(args.bag_frames)]
    out["read_frames_per_s"] = round(args.bag_frames / (time.perf_counter() - t), 1)
    with tempfile.TemporaryDirectory() as tmp:
        write_rgbd_bag(frames[:1], Path(tmp) / "warmup")  # first use builds the CDR (de)serialisers: untimed
        list(read_rgbd_bag(Path(tmp) / "warmup"))
        for enc, compressed in (("16UC1", False), ("32FC1", False), ("16UC1", True)):
            bag = Path(tmp) / f"{enc}{compressed}"
            t = time.perf_counter()
            write_rgbd_bag(frames, bag, depth_encoding=enc, compressed=compressed)
            w = time.perf_counter() - t
            t = time.perf_counter()
            n = sum(1 for _ in read_rgbd_bag(bag))
            r = time.perf_counter() - t
            size = sum(p.stat().st_size for p in bag.iterdir())
            key = f"bag_{enc}{'_compressed' if compressed else ''}"
            out[key] = {"write_frames_per_s": round(len(frames) / w, 1), "read_frames_per_s": round(n / r, 1),
                        "mb_per_frame": round(size / len(frames) / 1e6, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
