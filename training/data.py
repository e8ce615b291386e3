"""Training data: per-scene CFG inputs (safetensors cache), streamed task samples, stage-1 targets, prompt items."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import torch

from leovl_ros.model.leovl import SCENE_FIELDS, LeoVLModel, TrainItem
from leovl_ros.sim.tasks import Sample

if TYPE_CHECKING:
    from training.config import DataConfig

SCENES = "scenes"
"""Sub-folder of a data folder with one ``{scene_id}.safetensors`` per scene."""
SAMPLES = "samples"
"""Sub-folder with the sharded task samples (``leovl_ros.sim.shards`` layout)."""
HELDOUT = "heldout_qa.jsonl"
"""The fixed held-out QA set (one Sample per line), in training wordings (seen phrasing families)."""
HELDOUT_UNSEEN = "heldout_qa_unseen.jsonl"
"""The same questions (ids, facts, answers, order) in held-out wordings: phrasing families never trained on."""
STAGE1 = "stage1.npz"
"""Frames + per-cell class/colour targets for the 2D encoder."""
SPLITS = "scene_splits.json"
"""Which cached scenes belong to which split ({"train": [scene ids], "test": [...]}), written by prepare.py."""
DATA_CONFIG = "data_config.json"
"""The DataConfig the synthetic scenes were rendered and fused with (``read_data_config``), written by prepare.py."""
EXTRA_FIELDS = ("mean_height", "colour")
"""ColumnBatch fields cached beside the encoder inputs (grounding, diagnostics)."""


def read_data_config(data: Path) -> DataConfig:
    """The DataConfig a data folder's scenes were prepared with (``DATA_CONFIG``), so rooms added later (evaluate.py
    ``--questions``) are rendered the same way — with the same appearance randomisation; the defaults for folders
    prepared before the file existed."""
    from leovl_ros.model.config import from_dict
    from training.config import DataConfig

    path = Path(data) / DATA_CONFIG
    return from_dict(DataConfig, json.loads(path.read_text())) if path.is_file() else DataConfig()


def target_vocab() -> tuple[list[str], list[str]]:
    """Stage-1 label names: object classes + floor/wall/ceiling/nothing, colour names + none."""
    from leovl_ros.sim.world import CLASSES, COLOURS

    return [*CLASSES, "floor", "wall", "ceiling", "nothing"], [*COLOURS, "none"]


def cell_targets(instance: np.ndarray, scene, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Class and colour index per feature cell, read at each cell's centre pixel of the instance image."""
    from leovl_ros.sim.world import CEILING_ID, FLOOR_ID, WALL_ID

    classes, colours = target_vocab()
    ids = instance[stride // 2 :: stride, stride // 2 :: stride]
    cls = np.full(ids.shape, classes.index("nothing"), np.int64)
    col = np.full(ids.shape, colours.index("none"), np.int64)
    for special, name in ((FLOOR_ID, "floor"), (WALL_ID, "wall"), (CEILING_ID, "ceiling")):
        cls[ids == special] = classes.index(name)
    for obj in scene.objects:
        sel = ids == obj.id
        cls[sel] = classes.index(obj.cls)
        col[sel] = colours.index(obj.colour)
    return cls, col


def save_scene(batch, path: Path) -> None:
    """Cache a ColumnBatch's encoder inputs (features as float16) + grounding fields as safetensors."""
    from safetensors.torch import save_file

    tensors = {k: getattr(batch, k).detach().cpu().contiguous() for k in (*SCENE_FIELDS, *EXTRA_FIELDS)}
    tensors["features"] = tensors["features"].half()
    meta = {"voxel_tokens": str(batch.voxel_tokens), "tokens": str(len(batch))}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


def object_columns(scene, xy: torch.Tensor, cell_size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Object ids [M] and, per object, which condensed columns [M, N] overlap its footprint (a column's square
    grown to the box: centre within half a cell of it) — the grounding targets of questions about that object."""
    points = np.zeros((xy.shape[0], 3))
    points[:, :2] = xy.double().numpy()
    half = cell_size.double().numpy()[:, None] / 2
    masks = []
    for obj in scene.objects:
        local = np.abs(obj.to_local(points)[:, :2])
        masks.append((local <= obj.size[:2] / 2 + half).all(1))
    ids = torch.tensor([o.id for o in scene.objects], dtype=torch.long)
    cols = torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, xy.shape[0]), dtype=torch.bool)
    return ids, cols


def present_classes(scene) -> torch.Tensor:
    """Class-presence labels of a room over the stage-1 class names [C]: 1 for each object class placed in it, 0
    for the others, −1 (unknown, not trained on) for floor, wall, ceiling and nothing."""
    from leovl_ros.sim.world import CLASSES

    placed = {o.cls for o in scene.objects}
    return torch.tensor([float(c in placed) if c in CLASSES else -1.0 for c in target_vocab()[0]])


def load_scenes(data_dir: str | Path, scene_ids: Optional[set[str]] = None) -> dict[str, dict[str, torch.Tensor]]:
    """Cached scenes (float32) keyed by scene id; small enough to keep in memory (≈ 100 kB per scene). Synthetic
    scenes also get ``object_ids`` / ``object_columns`` (see :func:`object_columns`), ``object_classes`` (each
    object's index in the stage-1 class names) and ``present_classes`` (see :func:`present_classes`), regenerated
    from the seed."""
    from safetensors.torch import load_file

    from leovl_ros.sim.tasks import seed_for_scene_id
    from leovl_ros.sim.world import generate_scene

    out = {}
    names = target_vocab()[0]
    for path in sorted((Path(data_dir) / SCENES).glob("*.safetensors")):
        if scene_ids is None or path.stem in scene_ids:
            t = load_file(str(path))
            t["features"] = t["features"].float()
            seed = seed_for_scene_id(path.stem)
            if seed is not None:
                scene = generate_scene(seed)
                t["object_ids"], t["object_columns"] = object_columns(scene, t["xy"], t["cell_size"])
                t["object_classes"] = torch.tensor([names.index(o.cls) for o in scene.objects], dtype=torch.long)
                t["present_classes"] = present_classes(scene)
            out[path.stem] = t
    if not out:
        raise FileNotFoundError(f"no cached scenes under {Path(data_dir) / SCENES}; run training/prepare.py first")
    return out


def scene_split_ids(data_dir: str | Path, split: str) -> set[str]:
    """Scene ids of one split of a data folder: from its ``scene_splits.json``, or (folders prepared before it
    existed) from each cached synthetic scene's seed. Training reads the "train" ones only: held-out rooms are never
    seen in training, not even as SceneDPO's wrong scenes."""
    from leovl_ros.sim.shards import split_for_seed
    from leovl_ros.sim.tasks import seed_for_scene_id

    path = Path(data_dir) / SPLITS
    if path.is_file():
        return set(json.loads(path.read_text()).get(split, []))
    out = set()
    for file in (Path(data_dir) / SCENES).glob("*.safetensors"):
        seed = seed_for_scene_id(file.stem)
        if seed is not None and split_for_seed(seed) == split:
            out.add(file.stem)
    return out


def stream_samples(
    data_dir: str | Path, split: str, tasks: list[str], rank: int = 0, world: int = 1, seed: int = 0,
    shuffle_buffer: int = 4096, epochs: Optional[int] = None,
) -> Iterator[Sample]:
    """Endless (or ``epochs``) shuffled stream of a split's samples of the given tasks, this rank's share only."""
    from leovl_ros.sim.shards import iter_samples

    rng = random.Random(seed + 7919 * rank)
    epoch = 0
    while epochs is None or epoch < epochs:
        buf: list[Sample] = []
        for i, s in enumerate(iter_samples(Path(data_dir) / SAMPLES, split)):
            if i % world != rank or s.task not in tasks:
                continue
            buf.append(s)
            if len(buf) >= shuffle_buffer:
                yield buf.pop(rng.randrange(len(buf)))
        rng.shuffle(buf)
        yield from buf
        epoch += 1


def read_heldout(data_dir: str | Path, wording: str = "seen") -> list[Sample]:
    """The held-out QA set written by prepare.py in 'seen' (training) or 'unseen' (held-out) wordings; [] when a
    folder prepared before the unseen-wording split has no such file."""
    path = Path(data_dir) / (HELDOUT_UNSEEN if wording == "unseen" else HELDOUT)
    if wording == "unseen" and not path.is_file():
        return []
    return [Sample.from_json(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def situation_pose(sample: Sample) -> object:
    """A sample's agent pose as (position, quaternion xyzw), or None."""
    if sample.position is None or sample.rotation_xyzw is None:
        return None
    return (sample.position, sample.rotation_xyzw)


def grounding_target(sample: Sample, scene: Optional[dict[str, torch.Tensor]]) -> Optional[torch.Tensor]:
    """Bool [columns]: the columns of the sample's objects, or None (no objects, or a scene without ids)."""
    if scene is None or not sample.object_ids or "object_columns" not in scene:
        return None
    target = _columns_of(scene, sample.object_ids)
    return target if bool(target.any()) else None


def _columns_of(scene: dict[str, torch.Tensor], object_ids: list[int]) -> torch.Tensor:
    """Bool [columns]: the columns covered by any of these objects."""
    ids = scene["object_ids"]
    return scene["object_columns"][torch.isin(ids, torch.tensor(object_ids, device=ids.device))].any(0)


def relation_targets(sample: Sample, scene: Optional[dict[str, torch.Tensor]], heads: int) -> Optional[torch.Tensor]:
    """Bool [heads, columns] for a reader with a second hop: head 0 on the first asked object, the others on the
    rest ('nearest to the bed' → the bed, then the answer object); None where the objects play one role (one
    object, or all of one class: counting, existence) or a role has no column, so every head takes the union
    (``grounding_target``)."""
    if scene is None or len(sample.object_ids) < 2 or "object_columns" not in scene:
        return None
    if sample.object_names and len(set(sample.object_names)) == 1:
        return None
    first, rest = _columns_of(scene, sample.object_ids[:1]), _columns_of(scene, sample.object_ids[1:])
    if not (bool(first.any()) and bool(rest.any())):
        return None
    return torch.stack([first] + [rest] * (heads - 1))


def make_item(model: LeoVLModel, sample: Sample, scene: Optional[dict[str, torch.Tensor]],
              answer: Optional[str] = None) -> TrainItem:
    """Prompt + target ids of a sample (the first reference answer unless ``answer`` is given) + its grounding
    target and the reader's per-head targets (head 0 the first asked object, the others the rest)."""
    prompt = model.prompt(sample.question, sample.situation or "", situation_pose(sample), sample.history)
    target = grounding_target(sample, scene)
    heads = relation_targets(sample, scene, model.config.reader.heads)
    return TrainItem(scene=scene, prompt=prompt, answer=model.answer_ids(answer or sample.answers[0]), target=target,
                     head_target=heads)
