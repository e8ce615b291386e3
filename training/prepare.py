"""Prepare training data: stage-1 frames, then per-scene fused + condensed CFG inputs and task samples.

    python training/prepare.py frames --preset quick --out data_cache/quick
    python training/prepare.py scenes --preset quick --out data_cache/quick --encoder runs/quick/stage1

``frames`` renders a few training scenes and stores RGB + per-cell class/colour targets for stage 1.
``scenes`` renders every training and held-out scene along a robot-like walk, encodes each frame with the frozen
2D encoder, fuses it into a voxel store, condenses the store (token budget) and caches the ColumnBatch as
safetensors; it writes the task samples (only objects seen in the walk) as shards, and the held-out QA set.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import DataConfig, RecipeConfig, load_preset
from training.data import (
    DATA_CONFIG,
    HELDOUT,
    HELDOUT_UNSEEN,
    SAMPLES,
    SCENES,
    SPLITS,
    STAGE1,
    cell_targets,
    save_scene,
)

if TYPE_CHECKING:
    from leovl_ros.sim.render import RenderConfig


def split_seeds(split: str, n: int, start: int = 0) -> list[int]:
    """The first n scene seeds (from ``start``) that belong to a split."""
    from leovl_ros.sim.shards import split_for_seed

    out = []
    for seed in count(start):
        if len(out) >= n:
            return out
        if split_for_seed(seed) == split:
            out.append(seed)
    return out


def render_config(cfg: DataConfig, scene_seed: int) -> RenderConfig:
    """The renderer settings of one room: the data config's appearance randomisation if the room falls in its
    ``appearance_share`` (a fixed hash of the room seed), else the flat renderer."""
    from leovl_ros.sim.appearance import AppearanceConfig
    from leovl_ros.sim.render import RenderConfig

    randomised = np.random.default_rng([scene_seed, 0xA99E]).random() < cfg.appearance_share
    return RenderConfig(appearance=AppearanceConfig(**(cfg.appearance if randomised else {})))


def prepare_frames(cfg: DataConfig, out: Path, stride: int = 8) -> Path:
    """Render stage-1 frames with per-cell targets into one npz (rgb, cls, colour)."""
    from tqdm import tqdm

    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.world import generate_scene

    rgbs, classes, colours = [], [], []
    for seed in tqdm(split_seeds("train", cfg.stage1_scenes), desc="stage-1 scenes", unit="scene"):
        scene = generate_scene(seed)
        for frame in render_sequence(scene, cfg.stage1_frames, seed=seed + 1000, width=cfg.width, height=cfg.height,
                                     config=render_config(cfg, seed)):
            cls, col = cell_targets(frame.instance, scene, stride)
            rgbs.append(frame.rgb)
            classes.append(cls)
            colours.append(col)
    out.mkdir(parents=True, exist_ok=True)
    path = out / STAGE1
    np.savez_compressed(path, rgb=np.stack(rgbs), cls=np.stack(classes), colour=np.stack(colours))
    return path


_WORKER: dict = {}


def _init_worker(encoder_dir: str, cfg: DataConfig) -> None:
    """Load the frozen 2D encoder (a SmallCNN or a Hugging Face vision tower) once per worker process (one thread
    each)."""
    import torch

    from training.real_data import load_encoder

    torch.set_num_threads(1)
    _WORKER.update(encoder=load_encoder(encoder_dir), cfg=cfg)


def fuse_scene(seed: int) -> tuple[int, object, list]:
    """Render one scene's walk, fuse every frame, condense; returns (seed, ColumnBatch, samples on seen objects)."""
    from leovl_ros.cfg.condense import CondenseConfig, condense
    from leovl_ros.cfg.pipeline import fuse_frame
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    cfg: DataConfig = _WORKER["cfg"]
    encoder = _WORKER["encoder"]
    scene = generate_scene(seed)
    store = VoxelStore(VoxelStoreConfig(voxel_size=cfg.voxel_size, feature_dim=encoder.feature_dim,
                                        initial_slots=65536))
    seen: set[int] = set()
    for frame in render_sequence(scene, cfg.frames, seed=seed, width=cfg.width, height=cfg.height,
                                 config=render_config(cfg, seed)):
        fuse_frame(store, frame, encoder)
        ids = np.unique(frame.instance[::4, ::4])
        seen.update(int(i) for i in ids if i >= 0)
    batch = condense(store, CondenseConfig(**cfg.condense))
    rng = np.random.default_rng([seed, 0x7A5C])
    samples = generate_samples(scene, rng, TaskConfig(**cfg.tasks), seen_objects=seen)
    return seed, batch, samples


def prepare_scenes(cfg: DataConfig, out: Path, encoder_dir: Path, workers: Optional[int] = None,
                   vocab_size: int = 1024) -> dict:
    """Fuse/condense/cache all training and held-out scenes (in parallel); write sample shards, held-out QA and
    the tokenizer (BPE merges from the task vocabulary)."""
    from multiprocessing import get_context

    from tqdm import tqdm

    from leovl_ros.model.tokenizer import default_corpus, train_tokenizer
    from leovl_ros.sim.shards import ShardWriter, build_heldout_qa_wordings, split_for_seed
    from leovl_ros.sim.tasks import scene_id_for

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(default_corpus(cfg.tokenizer_scenes), vocab_size)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    train, test = split_seeds("train", cfg.train_scenes), split_seeds("test", cfg.test_scenes)
    wordings = build_heldout_qa_wordings(test, cfg.heldout_questions, min(cfg.heldout_min_scenes, len(test)))
    heldout = wordings["seen"]
    for name, wording in ((HELDOUT, "seen"), (HELDOUT_UNSEEN, "unseen")):
        (out / name).write_text("".join(json.dumps(s.to_json()) + "\n" for s in wordings[wording]))
    tokens, voxels = [], []
    writers = {s: ShardWriter(out / SAMPLES, 5000, s) for s in ("train", "test")}
    n = workers or cfg.workers
    with get_context("spawn").Pool(n, initializer=_init_worker, initargs=(str(encoder_dir), cfg)) as pool:
        # in seed order (imap, not imap_unordered): the shards, hence the training stream, repeat run to run
        for seed, batch, samples in tqdm(pool.imap(fuse_scene, train + test), total=len(train) + len(test),
                                         desc="scenes", unit="scene"):
            save_scene(batch, out / SCENES / f"{scene_id_for(seed)}.safetensors")
            writers[split_for_seed(seed)].write_all(samples)
            tokens.append(len(batch))
            voxels.append(batch.voxel_tokens)
    for w in writers.values():
        w.close()
    splits = {"train": [scene_id_for(s) for s in train], "test": [scene_id_for(s) for s in test]}
    (out / SPLITS).write_text(json.dumps(splits, indent=1))
    stats = {
        "train_scenes": len(train), "test_scenes": len(test), "heldout_questions": len(heldout),
        "train_samples": writers["train"].total, "test_samples": writers["test"].total,
        "scene_tokens_mean": float(np.mean(tokens)), "scene_tokens_median": float(np.median(tokens)),
        "voxel_tokens_mean": float(np.mean(voxels)),
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=1))
    (out / DATA_CONFIG).write_text(json.dumps(asdict(cfg), indent=1))
    return stats


def vocab_size(recipe: RecipeConfig) -> int:
    """The tokenizer size the preset's LLM asks for."""
    from leovl_ros.model.config import LLMConfig

    return int(recipe.model.get("llm", {}).get("vocab_size", LLMConfig().vocab_size))


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["frames", "scenes"], help="stage-1 frames, or fused scenes + samples")
    ap.add_argument("--preset", default="quick", help="preset name (training/presets) or YAML path")
    ap.add_argument("--out", type=Path, required=True, help="data folder")
    ap.add_argument("--encoder", type=Path, help="trained SmallCNN folder (scenes)")
    ap.add_argument("--workers", type=int, help="parallel processes (default: the preset's)")
    ap.add_argument("--source", choices=["synthetic", "scannet"], default="synthetic",
                    help="scenes from the synthetic generator, or ScanNet-layout scans + annotations "
                         "(training/real_data.py; its options below)")
    from training.real_data import add_arguments as add_real_arguments

    add_real_arguments(ap)
    args = ap.parse_args(argv)
    recipe = load_preset(args.preset)
    cfg = recipe.data
    if args.what == "frames":
        print(prepare_frames(cfg, args.out))
    else:
        if args.encoder is None:
            ap.error("scenes needs --encoder (the stage-1 output folder)")
        if args.source == "scannet":
            from training.real_data import run as prepare_real

            print(json.dumps(prepare_real(args, cfg, vocab_size(recipe))))
        else:
            print(json.dumps(prepare_scenes(cfg, args.out, args.encoder, args.workers, vocab_size(recipe))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
