"""Test builders for the dialogue side: a tiny untrained LEO-VL checkpoint and a small fused map.

The checkpoint goes through MODEL's real code (tokenizer training, ``LeoVLModel``, ``save_checkpoint``) with
random weights, so answers are gibberish but the answer path (condense, CFG encoder, KV prefix, generation,
grounding) is the real one. The map is fused from synthetic points with the real ``VoxelStore``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

FEATURE_DIM = 16
"""Feature width of the tiny test maps and model."""

CORPUS = ["how many chairs are in the room", "what colour is the sofa", "the red chair is left of the table",
          "is there a lamp", "what is on my right", "two", "three", "red", "blue", "yes", "no"] * 10
"""Tokenizer corpus of the tiny model."""


def build_tiny_model(path: Path, feature_dim: int = FEATURE_DIM, seed: int = 0) -> Path:
    """Save an untrained tiny checkpoint (2 layers, width 64) to ``path`` and return it."""
    from leovl_ros.model.checkpoint import save_checkpoint
    from leovl_ros.model.config import LeoVLConfig, LLMConfig, PromptConfig
    from leovl_ros.model.leovl import LeoVLModel
    from leovl_ros.model.tokenizer import train_tokenizer

    torch.manual_seed(seed)
    tokenizer = train_tokenizer(CORPUS, vocab_size=300)
    config = LeoVLConfig(
        cfg_encoder={"feature_dim": feature_dim, "hidden_dim": 32, "num_heads": 2},
        llm=LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                      vocab_size=300),
        prompt=PromptConfig(max_new_tokens=6),
    )
    save_checkpoint(LeoVLModel(config, tokenizer), path)
    return path


def fused_store(feature_dim: int = FEATURE_DIM, seed: int = 0, n_points: int = 4000):
    """A ``VoxelStore`` holding a 4 m × 3 m floor with two boxes, fused from random points in three batches."""
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

    rng = np.random.default_rng(seed)
    store = VoxelStore(VoxelStoreConfig(voxel_size=0.05, feature_dim=feature_dim, capacity=200_000))
    floor = np.c_[rng.uniform(0, 4, n_points), rng.uniform(0, 3, n_points), np.zeros(n_points)]
    box_a = rng.uniform([1.0, 1.0, 0.0], [1.5, 1.5, 0.8], (n_points // 4, 3))
    box_b = rng.uniform([3.0, 2.0, 0.0], [3.4, 2.6, 0.5], (n_points // 4, 3))
    for points in (floor, box_a, box_b):
        feats = rng.normal(size=(len(points), feature_dim))
        colours = rng.uniform(0, 1, (len(points), 3))
        store.fuse(torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(feats, dtype=torch.float32),
                   torch.as_tensor(colours, dtype=torch.float32))
    return store
