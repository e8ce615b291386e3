"""Grounding targets: which condensed columns belong to the objects a question is about."""

from __future__ import annotations

import sys

import numpy as np
import torch

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.sim.tasks import Sample, scene_id_for, seed_for_scene_id
from leovl_ros.sim.world import generate_scene

sys.path.insert(0, str(REPO_ROOT))

from training.data import grounding_target, object_columns, relation_targets


def grid(scene, cell: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = np.meshgrid(np.arange(cell / 2, scene.room.size[0], cell), np.arange(cell / 2, scene.room.size[1], cell))
    xy = torch.tensor(np.stack([xs.ravel(), ys.ravel()], 1), dtype=torch.float32)
    return xy, torch.full((xy.shape[0],), cell)


def test_columns_cover_each_footprint_and_nothing_far_from_it():
    scene = generate_scene(7)
    xy, size = grid(scene)
    ids, cols = object_columns(scene, xy, size)
    assert ids.tolist() == [o.id for o in scene.objects] and cols.shape == (len(scene.objects), xy.shape[0])
    for obj, mask in zip(scene.objects, cols):
        centre = int(torch.cdist(xy.double(), torch.tensor(obj.center[None, :2])).argmin())
        assert mask[centre]  # the column under the box centre
        # every marked column's square touches the box grown by half a cell; columns a metre away never do
        gap = np.abs(obj.to_local(np.c_[xy.numpy(), np.full(len(xy), obj.center[2])])[:, :2]) - obj.size[:2] / 2
        assert (gap[mask.numpy()] <= 0.15 + 1e-6).all() and not mask[(gap > 1.0).any(1)].any()


def test_sample_target_is_the_union_of_its_objects_and_none_without_ids():
    scene = generate_scene(7)
    xy, size = grid(scene)
    ids, cols = object_columns(scene, xy, size)
    tensors = {"object_ids": ids, "object_columns": cols}
    a, b = scene.objects[0].id, scene.objects[1].id
    both = Sample("qa", "spatial_relation", "q", ["a"], object_ids=[a, b])
    assert torch.equal(grounding_target(both, tensors), cols[0] | cols[1])
    assert grounding_target(Sample("qa", "existence", "q", ["no"]), tensors) is None
    assert grounding_target(both, {"features": torch.zeros(1)}) is None  # a real scan: no ground truth


def test_relation_targets_split_the_roles_and_fall_back_to_the_union():
    scene = generate_scene(7)
    xy, size = grid(scene)
    ids, cols = object_columns(scene, xy, size)
    tensors = {"object_ids": ids, "object_columns": cols}
    a, b, c = scene.objects[:3]
    nearest = Sample("qa", "nearest", "q", ["x"], object_ids=[a.id, b.id, c.id], object_names=["bed", "lamp", "tv"])
    heads = relation_targets(nearest, tensors, 3)
    assert heads.shape == (3, xy.shape[0])
    assert torch.equal(heads[0], cols[0]) and torch.equal(heads[1], cols[1] | cols[2])
    assert torch.equal(heads[2], heads[1])
    counting = Sample("qa", "counting", "q", ["two"], object_ids=[a.id, b.id], object_names=["chair", "chair"])
    assert relation_targets(counting, tensors, 2) is None  # one role: every head takes the union
    assert relation_targets(Sample("qa", "colour", "q", ["red"], object_ids=[a.id]), tensors, 2) is None
    unseen = Sample("qa", "nearest", "q", ["x"], object_ids=[a.id, 10_000], object_names=["bed", "tv"])
    assert relation_targets(unseen, tensors, 2) is None  # a role without a column


def test_scene_ids_map_back_to_seeds():
    assert seed_for_scene_id(scene_id_for(123)) == 123
    assert seed_for_scene_id("scene0000_00") is None and seed_for_scene_id("synthx") is None
