"""Ask latency of the LEO-VL model on CPU: scene prefix (encode + prefill) and cached answers at 256 / 750 scene
tokens, plus the 2D encoder's per-frame cost at 320×240. Prints one JSON line.

    .venv/bin/python benchmarks/model_ask_latency.py [--model models/default] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from leovl_ros.model.image_encoder import ImageEncoderConfig, SmallCNNEncoder, load_image_encoder
from leovl_ros.model.leovl import load_model


def fake_scene(n: int, levels: int, dim: int) -> dict[str, torch.Tensor]:
    """A synthetic condensed grid of n column tokens (random features, plausible geometry)."""
    g = torch.Generator().manual_seed(n)
    side = int(np.ceil(np.sqrt(n)))
    ij = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij"), -1).reshape(-1, 2)[:n]
    return {"features": torch.randn(n, levels, dim, generator=g).tanh(),
            "heights": torch.linspace(0.15, 2.85, levels).expand(n, levels).clone(),
            "weights": torch.rand(n, levels, generator=g) * 20, "mask": torch.rand(n, levels, generator=g) > 0.4,
            "xy": ij.float() * 0.3 + 0.15, "cell_size": torch.full((n,), 0.3),
            "colour": torch.rand(n, 3, generator=g), "mean_height": torch.rand(n, generator=g) * 2}


def median_ms(fn, repeats: int) -> float:
    """Median wall time of fn() in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    """Measure and print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: models/default)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--repeats", type=int, default=5, help="timed repetitions per figure")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    out: dict = {"params": model.parameter_count(), "threads": args.threads}
    dim = model.cfg_encoder.config.feature_dim
    question = "how many chairs are in the room?"
    for n in (256, 750):
        scene = fake_scene(n, 10, dim)
        with torch.inference_mode():
            out[f"prefix_ms_{n}"] = median_ms(lambda s=scene: model.scene_prefix(s), args.repeats)
            prefix = model.scene_prefix(scene)
            gen = model.generate(prefix, question, max_new_tokens=8)
            out[f"answer_ms_{n}"] = median_ms(lambda p=prefix: model.generate(p, question, max_new_tokens=8),
                                                  args.repeats)
            out[f"answer_tokens_{n}"] = len(gen.token_ids)
    enc_dir = (args.model or model_dir_default()) / "image_encoder"
    enc = load_image_encoder(ImageEncoderConfig(path=str(enc_dir))) if enc_dir.is_dir() else SmallCNNEncoder()
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out["encode_320x240_ms"] = median_ms(lambda: enc.encode(rgb), args.repeats * 4)
    print(json.dumps(out))


def model_dir_default() -> Path:
    """The shipped model folder."""
    from leovl_ros.agent.paths import default_model_dir

    return default_model_dir()


if __name__ == "__main__":
    main()
