"""Held-out rooms never reach training: the training scenes (SFT and SceneDPO's wrong scenes) are the train split's
only, from the data folder's scene_splits.json or, for older folders, from each synthetic room's seed."""

from __future__ import annotations

import json
import random
import sys

import torch

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.sim.shards import split_for_seed
from leovl_ros.sim.tasks import scene_id_for

sys.path.insert(0, str(REPO_ROOT))

from training.data import SCENES, SPLITS, scene_split_ids
from training.train import training_scenes, wrong_scene


def _fake_data(root, seeds):
    from safetensors.torch import save_file

    (root / SCENES).mkdir(parents=True)
    for seed in seeds:
        t = {"features": torch.zeros(2, 1, 4, dtype=torch.float16), "heights": torch.zeros(2, 1),
             "weights": torch.ones(2, 1), "mask": torch.ones(2, 1, dtype=torch.bool), "xy": torch.zeros(2, 2),
             "cell_size": torch.full((2,), 0.3)}
        save_file(t, str(root / SCENES / f"{scene_id_for(seed)}.safetensors"))


def test_training_scenes_and_scenedpo_negatives_exclude_held_out_rooms(tmp_path):
    seeds = list(range(12))
    train = [s for s in seeds if split_for_seed(s) == "train"]
    test = [s for s in seeds if split_for_seed(s) == "test"]
    assert train and test
    _fake_data(tmp_path, seeds)
    by_seed = scene_split_ids(tmp_path, "train")  # no scene_splits.json: the seeds tell
    assert by_seed == {scene_id_for(s) for s in train}
    (tmp_path / SPLITS).write_text(json.dumps({"train": [scene_id_for(s) for s in train[:2]],
                                               "test": [scene_id_for(s) for s in test]}))
    assert scene_split_ids(tmp_path, "train") == {scene_id_for(s) for s in train[:2]}  # the file wins
    scenes = training_scenes(tmp_path, torch.device("cpu"))
    assert set(scenes) == {scene_id_for(s) for s in train[:2]}
    ids, rng = sorted(scenes), random.Random(0)
    held = {scene_id_for(s) for s in test}
    negatives = {wrong_scene(ids, ids[0], rng) for _ in range(50)}
    assert negatives == {ids[1]} and not negatives & held
