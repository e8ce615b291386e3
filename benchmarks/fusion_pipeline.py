"""Per-frame cost of the fusion node's worker path, in-process (no DDS), one JSON line.

Stages per 640×480 synthetic frame: decode raw messages (rgb8 + 16UC1), decode compressed ones (jpeg +
compressedDepth PNG), depth validation/masking, resize to the encoder input, ``fuse_frame`` (2D encoder +
lifting + voxel fusion; first pass over new geometry, then the same views again) and the periodic output
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

from leovl_ros.agent.validation import check_depth
from leovl_ros.cfg.condense import condense
from leovl_ros.cfg.lifting import LiftConfig
from leovl_ros.cfg.pipeline import fuse_frame
from leovl_ros.geometry import Frame
from leovl_ros.ros import conversions as conv
from leovl_ros.ros.fusion_node import FusionConfig, load_encoder, new_map_handle, resize_frame
from leovl_ros.sim.render import render_sequence
from leovl_ros.sim.world import generate_scene


class _PrintLogger:
    def warning(self, text: str) -> None:
        print(f"# {text}")


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
    config = FusionConfig()
    frames = list(render_sequence(generate_scene(0), args.frames, seed=0))
    header = conv.make_header("cam", 0)
    raw = [(conv.image_from_array(f.rgb, "rgb8", header), conv.depth_image_from_metres(f.depth, "16UC1", header))
           for f in frames]
    compressed = [(conv.compressed_from_colour(f.rgb, header), conv.compressed_from_depth(f.depth, header))
                  for f in frames]
    decode_raw_ms, decoded = _median_ms(lambda m: (conv.colour_from_image(m[0]), conv.depth_from_image(m[1])), raw)
    decode_comp_ms, _ = _median_ms(lambda m: (conv.colour_from_compressed(m[0]), conv.depth_from_compressed(m[1])),
                                   compressed)
    mask_ms, masked = _median_ms(lambda d: check_depth(d[1], config.min_depth, config.max_depth,
                                                       config.max_invalid_fraction)[0], decoded)
    size = (config.encoder_width, config.encoder_height)
    resize_ms, small = _median_ms(lambda i: resize_frame(decoded[i][0], masked[i], frames[i].K, size),
                                  list(range(len(frames))))
    encoder = load_encoder(config, _PrintLogger())
    handle = new_map_handle(config, int(encoder.feature_dim))
    lift = LiftConfig(min_depth=config.min_depth, max_depth=config.max_depth)

    def fuse(i: int) -> int:
        rgb, depth, K = small[i]
        with handle.locked() as store:
            return fuse_frame(store, Frame(rgb=rgb, depth=depth, K=K, pose=frames[i].pose), encoder, lift)

    fuse(0)  # warm-up (first convolution)
    fuse_ms, _ = _median_ms(fuse, list(range(len(frames))), "fuse_frame_cpu_ms")  # first pass: map grows
    revisit_ms, _ = _median_ms(fuse, list(range(len(frames))))  # second pass: the same views again

    def publish(_: int) -> int:
        with handle.locked() as store:
            batch = condense(store, config.condense_config())
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
