"""Per-frame cost of the fusion node's worker path, in-process (no DDS), one JSON line.

Stages per 640×480 synthetic frame, each a step of ``cfg.pipeline.FrameFuser`` (what the node's worker runs):
decode raw messages (rgb8 + 16UC1 + camera_info), decode compressed ones (jpeg + compressedDepth PNG), depth
validation/masking, resize to the encoder input, fuse (2D encoder + lifting + voxel fusion; first pass over new
geometry, then the same views again) and the periodic output
(condense + PointCloud2 + MarkerArray). ``max_fused_fps_*`` is the worker's ceiling (1000 / sum of the
per-frame wall times) for raw and compressed input; ``*_cpu_ms`` are CPU times (all threads) of the heavy
stages; ``load_avg_1min`` tells how busy the machine was (figures from a loaded machine are indicative only).

    python benchmarks/fusion_pipeline.py [--frames 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from leovl_ros.agent.map_handle import new_map_handle
from leovl_ros.cfg.condense import CondenseConfig, condense
from leovl_ros.cfg.pipeline import FrameFuser, FrameFuserConfig, load_encoder
from leovl_ros.geometry import Frame
from leovl_ros.ros import conversions as conv
from leovl_ros.sim.render import render_sequence
from leovl_ros.sim.world import generate_scene

CPU_MS: dict[str, float] = {}
"""Median process CPU time (ms, all threads) per stage: robust to other processes competing for the cores."""


def _median_ms(fn: Callable[[Any], Any], items: list, name: str = "") -> tuple[float, list]:
    """Median wall time (ms) of ``fn`` over ``items`` and the results; CPU time goes to ``CPU_MS[name]``."""
    times, cpu, out = [], [], []
    for item in items:
        t0, c0 = time.perf_counter(), time.process_time()
        out.append(fn(item))
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    if name:
        CPU_MS[name] = round(float(np.median(cpu)), 2)
    return float(np.median(times)), out


def main(argv: list[str] | None = None) -> None:
    """Render frames, time each stage, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30, help="frames to time (rendered first)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = FrameFuserConfig()  # the fusion node's defaults
    frames = list(render_sequence(generate_scene(0), args.frames, seed=0))
    header = conv.make_header("cam", 0)
    infos = [conv.camera_info_from_intrinsics(f.K, f.width, f.height, header) for f in frames]
    raw = [(conv.image_from_array(f.rgb, "rgb8", header), conv.depth_image_from_metres(f.depth, "16UC1", header))
           for f in frames]
    compressed = [(conv.compressed_from_colour(f.rgb, header), conv.compressed_from_depth(f.depth, header))
                  for f in frames]
    encoder = load_encoder(warn=lambda text: print(f"# {text}"))
    fuser = FrameFuser(encoder, config)  # the fusion node's worker path
    decode_raw_ms, decoded = _median_ms(lambda i: fuser.decode(*raw[i], infos[i]), list(range(len(frames))))
    decode_comp_ms, _ = _median_ms(lambda i: fuser.decode(*compressed[i], infos[i]), list(range(len(frames))))
    mask_ms, masked = _median_ms(lambda d: fuser.mask(d[1]), decoded)
    resize_ms, small = _median_ms(lambda i: fuser.resize(decoded[i][0], masked[i], decoded[i][2]),
                                  list(range(len(frames))))
    handle = new_map_handle(int(encoder.feature_dim))
    size = (config.input_width, config.input_height)

    def fuse(i: int) -> int:
        rgb, depth, K = small[i]
        with handle.locked() as store:
            return fuser.fuse(store, Frame(rgb=rgb, depth=depth, K=K, pose=frames[i].pose))

    fuse(0)  # warm-up (first convolution)
    fuse_ms, _ = _median_ms(fuse, list(range(len(frames))), "fuse_frame_cpu_ms")  # first pass: map grows
    revisit_ms, _ = _median_ms(fuse, list(range(len(frames))))  # second pass: the same views again

    def publish(_: int) -> int:
        with handle.locked() as store:
            batch = condense(store, CondenseConfig())  # the node's cell_size and token_budget defaults
        conv.cfg_to_cloud(batch, header)
        conv.cfg_to_markers(batch, header)
        return len(batch)

    output_ms, tokens = _median_ms(publish, [0, 1, 2], "cfg_output_cpu_ms")
    per_frame_raw = decode_raw_ms + mask_ms + resize_ms + fuse_ms
    per_frame_comp = decode_comp_ms + mask_ms + resize_ms + fuse_ms
    print(json.dumps({
        "benchmark": "fusion_pipeline", "frames": len(frames), "image": "640x480", "encoder_input": f"{size[0]}x"
        f"{size[1]}", "encoder": type(encoder).__name__, "torch_threads": args.threads,
        "decode_raw_ms": round(decode_raw_ms, 2), "decode_compressed_ms": round(decode_comp_ms, 2),
        "depth_mask_ms": round(mask_ms, 2), "resize_ms": round(resize_ms, 2), "fuse_frame_ms": round(fuse_ms, 2),
        "fuse_frame_revisit_ms": round(revisit_ms, 2),
        "cfg_output_ms": round(output_ms, 2), **CPU_MS, "load_avg_1min": round(os.getloadavg()[0], 1),
        "voxels": len(handle), "tokens": int(tokens[-1]),
        "max_fused_fps_raw": round(1000.0 / per_frame_raw, 1),
        "max_fused_fps_compressed": round(1000.0 / per_frame_comp, 1),
    }))


if __name__ == "__main__":
    main()
