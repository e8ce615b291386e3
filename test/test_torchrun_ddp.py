"""training/train.py under `torchrun --nproc_per_node 2` on gloo: both ranks train on their own share of the
samples (their local losses differ), yet end with bit-identical trainable parameters (DDP averaged the gradients),
the digest they report is that of the saved resume state, and the saved checkpoint loads and answers."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch
import yaml

from leovl_ros.agent.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

from tiny_pretrained import TRAIN_SCRIPT, tiny_data, tiny_recipe

pytestmark = pytest.mark.slow  # two processes each load torch, MiniLM and the data: ~1 minute on 2 cores


def _digest(model: torch.nn.Module) -> str:
    """sha256 of the trainable parameters in module order (as training/train.py's Loop.report_replicas)."""
    h = hashlib.sha256()
    for p in model.parameters():
        if p.requires_grad:
            h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def test_two_gloo_ranks_stay_in_sync(tmp_path):
    if importlib.util.find_spec("torch.distributed.run") is None or not torch.distributed.is_available():
        pytest.skip("torch.distributed / torchrun is not available in this torch build")
    from leovl_ros.model.checkpoint import load_checkpoint
    from training.data import load_scenes, read_heldout
    from training.evaluate import answer_all
    from training.train import build_model

    data, tower = tiny_data()
    cfg, preset = tiny_recipe("quick", tmp_path, sft_steps=3)
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(TRAIN_SCRIPT),
           "--stage", "2", "--preset", str(preset), "--data", str(data), "--run-dir", str(run),
           "--encoder", str(tower)]
    done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    replicas = json.loads((run / "replicas.json").read_text())
    ranks = replicas["ranks"]
    assert replicas["world_size"] == 2 and [r["rank"] for r in ranks] == [0, 1]
    assert ranks[0]["local_loss"] != ranks[1]["local_loss"]  # each rank saw its own samples ...
    assert ranks[0]["trainable_sha256"] == ranks[1]["trainable_sha256"]  # ... and took the same averaged steps
    assert yaml.safe_load((run / "config.yml").read_text())["_run"]["world_size"] == 2
    assert [h["step"] for h in json.loads((run / "history.json").read_text())] == [1, 2, 3]

    # rank 0's resume state is the model both ranks reported
    model = build_model(cfg, data, tower, use_scene=True)
    missing, unexpected = model.load_state_dict(torch.load(run / "state.pt", weights_only=False)["model"],
                                                strict=False)
    assert not missing and not unexpected and _digest(model) == ranks[0]["trainable_sha256"]

    # the saved checkpoint loads and answers a held-out question
    question = read_heldout(data)[0]
    answer = answer_all(load_checkpoint(run / "model"), [question], load_scenes(data, {question.scene_id}), 4)[0]
    assert isinstance(answer.text, str) and answer.scene_attention.numel() > 0
