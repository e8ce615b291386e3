"""Benchmark the incremental CFG against Open3D's TSDF fusion and count tokens; prints ONE JSON line.

Per frame (640×480, features given): ``fuse_ms`` = lifting + voxel-store update at 5 cm (``--voxel-size``), and
``open3d_tsdf_ms`` = ``VoxelBlockGrid`` block allocation + TSDF integration of the same frame at the same size. Both
update a 3D map from one frame — ours from the ~1200 feature-cell points, Open3D along every pixel ray. The two run
interleaved on each frame so machine load affects them alike. Per scene, at the default token-grid cell size:
``voxel_tokens`` (occupied cubic voxels, the paper's count before condensation), ``cfg_tokens_unclipped`` (occupied
columns), ``cfg_tokens`` (after the multi-resolution rule and the budget) and ``store_mb`` (the voxel store's memory;
``benchmarks/voxel_size.py`` sweeps the voxel size). The ratio of the median token counts comes with a bootstrap 95 %
interval over the scenes. Also writes a top-down PNG of one condensed map and ``token_counts.png`` (CFG against voxel
tokens per scene, with the one-third line and the paper's medians).

Token sample. Ten rooms give too wide an interval to tell whether the median CFG count is within a third of the
median voxel count. So the run goes on, after the timed scenes, with more rooms of the same generator
(``--token-rooms``, default 200: seeds 0..199, the timed ones included) that are fused and counted but not timed,
and reports the same token figures over that sample under ``token_sample``. The top-level token figures stay those
of the timed scenes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

VIDEO_TOKENS = (3096, 6720)
"""Scene tokens of LLaVA-3D and Video-3D LLM as the LEO-VL paper reports them."""
PAPER_SCANNET_TOKENS = (1297, 417)
"""LEO-VL's median voxel tokens and CFG tokens per ScanNet scene."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rooms", type=int, default=10, help="timed synthetic rooms (seeds 0..N-1), run through Open3D too")
    p.add_argument("--frames", type=int, default=60, help="frames rendered per synthetic room")
    p.add_argument("--token-rooms", type=int, default=200,
                   help="synthetic rooms (seeds 0..N-1, the --rooms timed ones included) whose token counts make up "
                        "the token_sample figures; the rooms past --rooms are fused and counted, not timed and not "
                        "run through Open3D (about 1 s each here). 0 or <= --rooms: the timed scenes only")
    p.add_argument("--objects", type=int, nargs=2, metavar=("MIN", "MAX"), default=None,
                   help="objects requested per synthetic room, walls/floor/doors/windows aside (default: the "
                        "generator's SceneConfig.object_range). The paper counts tokens on ScanNet, whose scenes "
                        "are denser: the 16 Beacon3D scenes in the shared annotations name instance ids up to "
                        "20-56 (median 34), so 20 35 is closer to them; the generator places fewer where free "
                        "space runs out")
    p.add_argument("--views", choices=("tour", "scan"), default="tour",
                   help="camera poses in the synthetic rooms: tour = the robot's --frames-frame drive (camera at "
                        "1.2 m, head near level); scan = a complete scan, like the whole-room reconstructions the "
                        "paper counts tokens on: 6 places along the tour × heights 0.8 and 1.6 m × 12 headings × "
                        "4 pitches (576 frames per room, sim.trajectory.scan_poses)")
    p.add_argument("--livingroom", type=Path, default=None,
                   help="Redwood livingroom folder (default: <shared data>/rgbd/livingroom1_clean_micro; "
                        "skipped when absent)")
    p.add_argument("--livingroom-frames", type=int, default=211, help="livingroom frames to use")
    p.add_argument("--voxel-size", type=float, default=None,
                   help="store voxel edge (m), ours and Open3D's alike (default: VoxelStoreConfig's, 5 cm); it must "
                        "divide the 0.15 m half-cell (e.g. 0.025, 0.05, 0.075, 0.15)")
    p.add_argument("--feature-dim", type=int, default=64, help="width of the (stand-in) 2D features")
    p.add_argument("--stride", type=int, default=16, help="2D feature stride (16 → 30×40 cells at 640×480)")
    p.add_argument("--device", default="cpu", help="torch device for lifting/fusion/encoder (cpu, cuda)")
    p.add_argument("--cores", type=int, default=0,
                   help="pin the process (torch and Open3D) to this many CPU cores (0 = all)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch intra-op threads (1 = recommended for per-frame fusion: its ops are small, and "
                        "spinning worker threads slow it down badly on a busy CPU; 0 = torch default)")
    p.add_argument("--no-open3d", action="store_true", help="skip the Open3D TSDF baseline")
    p.add_argument("--torch-path", action="store_true",
                   help="fuse with the torch ops (the CUDA path) instead of the compiled CPU loops")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                   help="folder for the top-down PNG")
    p.add_argument("--team-copy", type=Path, default=None, help="also copy the PNG here")
    return p.parse_args(argv)


def _synthetic_rooms(args: argparse.Namespace, seeds: range, timed: bool
                     ) -> Iterator[tuple[str, int, Iterator, int | None, bool]]:
    """(name, n_frames, frame iterator, objects placed, timed) of the synthetic rooms with these seeds."""
    from leovl_ros.sim import SceneConfig, generate_scene
    from leovl_ros.sim.render import Renderer
    from leovl_ros.sim.trajectory import robot_trajectory, scan_poses

    config = SceneConfig(object_range=tuple(args.objects)) if args.objects else None
    for seed in seeds:
        scene = generate_scene(seed, config)
        poses = scan_poses(scene, seed) if args.views == "scan" else robot_trajectory(scene, args.frames, seed)
        renderer = Renderer(scene)
        yield f"synthetic_{seed}", len(poses), map(renderer.render, poses), len(scene.objects), timed


def _scenes(args: argparse.Namespace) -> Iterator[tuple[str, int, Iterator, int | None, bool]]:
    """(name, n_frames, frame iterator, objects placed or None, timed) for the timed synthetic rooms, the livingroom,
    then the untimed rooms up to ``--token-rooms``."""
    from leovl_ros.agent.paths import shared_data_dir

    try:
        import leovl_ros.sim.render  # noqa: F401  (the renderer needs Open3D)
    except ImportError as e:
        print(f"synthetic rooms skipped: {e}", file=sys.stderr)
        have_sim = False
    else:
        have_sim = True
        yield from _synthetic_rooms(args, range(args.rooms), timed=True)
    root = args.livingroom or shared_data_dir() / "rgbd" / "livingroom1_clean_micro"
    if root.is_dir():
        from leovl_ros.io.rgbd import read_redwood

        seq = read_redwood(root)[: args.livingroom_frames]
        yield "livingroom", len(seq), iter(seq), None, True
    else:
        print(f"livingroom skipped: {root} not found", file=sys.stderr)
    if have_sim:
        yield from _synthetic_rooms(args, range(args.rooms, args.token_rooms), timed=False)


def token_figures(scenes: list[dict]) -> dict:
    """The token figures over ``scenes``: medians, their ratio with a bootstrap 95 % interval (whole scenes
    resampled), the one-third and 750 targets, and the ratio to the video-based LLMs' token counts."""
    from leovl_ros.eval.metrics import bootstrap_ci

    vt = statistics.median(s["voxel_tokens"] for s in scenes)
    ct = statistics.median(s["cfg_tokens_unclipped"] for s in scenes)
    _, ratio_lo, ratio_hi = bootstrap_ci(
        np.array([(s["voxel_tokens"], s["cfg_tokens_unclipped"]) for s in scenes]), n=2000,
        statistic=lambda r: np.median(r[..., 0], axis=1) / np.median(r[..., 1], axis=1))
    return {
        "median_voxel_tokens": vt, "median_cfg_tokens_unclipped": ct,
        "median_cfg_tokens": statistics.median(s["cfg_tokens"] for s in scenes),
        "voxel_to_cfg_ratio": round(vt / ct, 3), "cfg_median_within_third_of_voxels": 3 * ct <= vt,
        "voxel_to_cfg_ratio_ci95": [round(ratio_lo, 3), round(ratio_hi, 3)],
        "max_cfg_tokens_unclipped": max(s["cfg_tokens_unclipped"] for s in scenes),
        "all_unclipped_within_750": all(s["cfg_tokens_unclipped"] <= 750 for s in scenes),
        "video_tokens": list(VIDEO_TOKENS), "video_to_cfg_ratio": [round(v / ct, 2) for v in VIDEO_TOKENS],
    }


class _Open3DTSDF:
    """Open3D VoxelBlockGrid TSDF at the same voxel size (uint16 mm depth + uint8 colour)."""

    def __init__(self, voxel_size: float, max_depth: float) -> None:
        import open3d as o3d
        import open3d.core as o3c

        self.o3d, self.o3c = o3d, o3c
        self.max_depth = max_depth
        self.grid = o3d.t.geometry.VoxelBlockGrid(
            attr_names=("tsdf", "weight", "color"), attr_dtypes=(o3c.float32, o3c.float32, o3c.float32),
            attr_channels=((1), (1), (3)), voxel_size=voxel_size, block_resolution=8, block_count=50000,
            device=o3c.Device("CPU:0"))

    def integrate_ms(self, frame) -> float:
        """Allocate blocks and integrate one frame; returns the time taken (ms), 0 for a frame that touches no block
        (Open3D raises on one: no valid depth, as when a scan looks up into the open ceiling)."""
        o3d, o3c = self.o3d, self.o3c
        depth_mm = np.nan_to_num(frame.depth * 1000.0, nan=0.0, posinf=0.0).clip(0, 65535).astype(np.uint16)
        depth = o3d.t.geometry.Image(o3c.Tensor(depth_mm))
        colour = o3d.t.geometry.Image(o3c.Tensor(np.ascontiguousarray(frame.rgb)))
        K = o3c.Tensor(frame.K, o3c.float64)
        extrinsic = o3c.Tensor(np.linalg.inv(frame.pose), o3c.float64)
        t0 = time.perf_counter()
        try:
            blocks = self.grid.compute_unique_block_coordinates(depth, K, extrinsic, 1000.0, self.max_depth)
        except RuntimeError as e:
            if "No block is touched" in str(e):
                return 0.0
            raise
        self.grid.integrate(blocks, depth, colour, K, K, extrinsic, 1000.0, self.max_depth)
        return (time.perf_counter() - t0) * 1000.0


def _topdown_png(batch, path: Path, title: str) -> None:
    """Draw each condensed cell as a square of its size, filled with its mean colour (the demo's plotter)."""
    from leovl_ros.agent.topdown import plot_topdown

    plot_topdown(batch.xy.cpu().numpy(), batch.cell_size.cpu().numpy(), batch.colour.cpu().numpy(), path,
                 title=title)


def run(args: argparse.Namespace) -> dict:
    """Fuse, condense and encode every scene of ``args``; the figures as one dict (what ``main`` prints)."""
    if args.cores > 0:  # pin the process (Open3D's own thread pools included) to that many cores
        os.environ["OMP_NUM_THREADS"] = str(args.cores)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    import torch
    from tqdm import tqdm

    from leovl_ros.cfg import (
        CFGEncoder,
        CFGEncoderConfig,
        CondenseConfig,
        LiftConfig,
        VoxelStore,
        VoxelStoreConfig,
        compiled,
        condense,
        lift,
        warm_up,
    )
    from leovl_ros.cfg.condense import check_grid
    from leovl_ros.cfg.stand_in import PooledColourEncoder
    from leovl_ros.eval.plots import plot_token_counts

    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    use_compiled = not args.torch_path
    lift_cfg = LiftConfig(device=args.device, compiled=use_compiled)
    store_cfg = VoxelStoreConfig(voxel_size=args.voxel_size or VoxelStoreConfig().voxel_size,
                                 feature_dim=args.feature_dim, device=args.device, compiled=use_compiled)
    enc2d = PooledColourEncoder(feature_dim=args.feature_dim, stride=args.stride)
    encoder = CFGEncoder(CFGEncoderConfig(feature_dim=args.feature_dim)).to(dev).eval()
    ccfg = CondenseConfig()
    check_grid(store_cfg.voxel_size, ccfg)  # fail before rendering anything

    # compile / load the CPU loops before timing (the nodes do the same at start-up)
    warm_s = warm_up(store_cfg, enc2d, (480, 640), lift_cfg)
    fuse_ms, o3d_ms, condense_ms, encoder_ms, scenes, token_scenes = [], [], [], [], [], []
    fuse_cpu, o3d_cpu = [], []  # process CPU time: robust to other load on a shared machine
    png_batch = None
    n_scenes = max(args.rooms, args.token_rooms) + 1  # the livingroom too, where present
    for name, n, frames, n_objects, timed in tqdm(_scenes(args), total=n_scenes, desc="scenes", file=sys.stderr):
        store = VoxelStore(store_cfg)
        tsdf = None if args.no_open3d or not timed else _Open3DTSDF(store.config.voxel_size, lift_cfg.max_depth)
        for frame in tqdm(frames, total=n, desc=name, leave=False, file=sys.stderr):
            feats = enc2d.encode(frame.rgb)[0].to(dev)  # features are given: not timed
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            lifted = lift(frame.depth, frame.K, frame.pose, tuple(feats.shape[1:]), rgb=frame.rgb, config=lift_cfg)
            store.fuse(lifted.points, lifted.gather(feats), lifted.colours, weights=lifted.pixels)
            sync()
            if timed:
                fuse_ms.append((time.perf_counter() - t0) * 1000.0)
                fuse_cpu.append((time.process_time() - c0) * 1000.0)
            if tsdf is not None:
                c0 = time.process_time()
                o3d_ms.append(tsdf.integrate_ms(frame))
                o3d_cpu.append((time.process_time() - c0) * 1000.0)
        sync()
        t0 = time.perf_counter()
        batch = condense(store, ccfg)
        sync()
        counts = {"scene": name, "objects": n_objects, "voxel_tokens": batch.voxel_tokens,
                  "cfg_tokens_unclipped": batch.unclipped_tokens, "cfg_tokens": len(batch)}
        token_scenes.append(counts)
        if not timed:
            continue
        condense_ms.append((time.perf_counter() - t0) * 1000.0)
        with torch.no_grad():
            args_enc = (batch.features, batch.heights, batch.weights, batch.mask, batch.xy, batch.cell_size)
            encoder(*args_enc)  # warm-up
            sync()
            t0 = time.perf_counter()
            encoder(*args_enc)
            sync()
            encoder_ms.append((time.perf_counter() - t0) * 1000.0)
        scenes.append({**counts, "frames": n, "store_voxels": len(store),
                       "store_mb": round(store.stats()["memory_bytes"] / 2**20, 2)})
        if name == "livingroom" or png_batch is None:
            png_batch = (batch, name)

    room_ratios = [s["voxel_tokens"] / s["cfg_tokens_unclipped"] for s in token_scenes]
    token_sample = {"scenes": len(token_scenes), **token_figures(token_scenes),
                    "per_scene_ratio_range": [round(min(room_ratios), 2), round(max(room_ratios), 2)],
                    "share_of_scenes_within_third": round(sum(r >= 3 for r in room_ratios) / len(room_ratios), 3)}
    fuse_med = statistics.median(fuse_ms)
    o3d_med = statistics.median(o3d_ms) if o3d_ms else None
    png = args.out / "cfg_topdown.png"
    _topdown_png(png_batch[0], png, f"condensed feature grid: {png_batch[1]} ({len(png_batch[0])} tokens)")
    if args.team_copy:
        shutil.copyfile(png, args.team_copy)
    tokens_png = plot_token_counts(token_scenes, args.out / "token_counts.png", highlight=[s["scene"] for s in scenes],
                                   highlight_label=f"timed scenes ({len(scenes)})", reference=PAPER_SCANNET_TOKENS)
    return {
        "device": str(dev),
        "path": "compiled" if compiled.enabled(dev, use_compiled) else "torch",
        "threads": torch.get_num_threads(), "cores": len(os.sched_getaffinity(0)),
        "frames": len(fuse_ms), "views": args.views,
        "voxel_size_m": store_cfg.voxel_size, "cell_size_m": ccfg.cell_size, "budget": ccfg.budget,
        "warm_up_s": round(warm_s, 2),
        "fuse_ms": round(fuse_med, 3), "fuse_ms_mean": round(statistics.fmean(fuse_ms), 3),
        "open3d_tsdf_ms": round(o3d_med, 3) if o3d_med else None,
        "speedup_vs_open3d": round(o3d_med / fuse_med, 2) if o3d_med else None,
        "fuse_cpu_ms": round(statistics.median(fuse_cpu), 3),
        "open3d_tsdf_cpu_ms": round(statistics.median(o3d_cpu), 3) if o3d_cpu else None,
        "speedup_vs_open3d_cpu_time": (round(statistics.median(o3d_cpu) / statistics.median(fuse_cpu), 2)
                                       if o3d_cpu else None),
        "condense_ms": round(statistics.median(condense_ms), 3), "encoder_ms": round(statistics.median(encoder_ms), 3),
        "median_store_mb": round(statistics.median(s["store_mb"] for s in scenes), 2),
        **token_figures(scenes),  # the timed scenes'
        "token_sample": token_sample,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "png": str(png), "token_png": str(tokens_png), "scenes": scenes,
    }


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(run(parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
