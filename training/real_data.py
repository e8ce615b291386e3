"""Real scans in: ScanNet-layout scans + SQA3D / ScanQA / Scan2Cap / Beacon3D annotations → the scene caches and
sample shards that ``training/prepare.py`` writes for synthetic rooms, so ``training/train.py`` and
``training/evaluate.py`` read them unchanged.

    python -m training.prepare scenes --source scannet --preset default --scans scans/ \\
        --annotations annotations/ --out data_cache/real --encoder runs/default/stage1/encoder \\
        --split train=scannetv2_train.txt --split val=scannetv2_val.txt \\
        [--mix-synthetic data_cache/default --weights real=1,synthetic=1]

Inputs
- ``--scans DIR``: one folder per scene, named by its ScanNet id, in the exported layout ``leovl_ros.io.rgbd.
  read_scannet`` reads (``color/N.jpg, depth/N.png, pose/N.txt, intrinsic/``), optionally beside ScanNet's own
  files in the same folder: ``<id>.txt`` (``axisAlignment = …``, 16 numbers), ``<id>[_vh_clean].aggregation.json``,
  ``<id>_vh_clean_2.0.010000.segs.json`` and ``<id>_vh_clean_2.ply``. Poses and mesh are moved into the
  axis-aligned frame (the frame SQA3D's agent positions are given in; identity where ``<id>.txt`` is missing,
  counted). Frames are subsampled (``frame_stride``, ``max_frames``), resized to the preset's render size and fused
  with the 2D encoder into a voxel store, condensed with the preset's ``condense`` settings and cached.
- ``--annotations DIR``: the datasets' own file names: SQA3D ``v1_balanced_questions_<split>_scannetv2.json`` +
  ``v1_balanced_sqa_annotations_<split>_scannetv2.json`` (or ``sqa3d_<split>_questions*.json`` +
  ``sqa3d_<split>_annotations*.json``), ScanQA ``ScanQA_v1.0_<split>.json``, Scan2Cap ``ScanRefer*_<split>.json`` /
  ``Scan2Cap*_<split>.json``, Beacon3D ``beacon3d*qa*.json``. The split is the train/val/test word in the name.
- Scene splits: user-given files (one ScanNet id a line, ``#`` comments), e.g. ScanNet's ``scannetv2_train.txt``;
  ``--split NAME=FILE`` or, by default, ``scannetv2_{train,val,test}.txt`` in the annotations or scans folder. A
  train split file is required.

Evaluation sets stay out of training: every val/test annotation file and every Beacon3D file is evaluation-only;
their scenes, the scenes of the val/test split files, and their questions (by id and by scene + normalised text)
never reach a training shard, even where a train file or the train split lists them (dropped and counted).

Outputs (the synthetic folder's layout): ``scenes/<id>.safetensors`` (plus ``object_ids`` / ``object_columns`` from
the aggregation/segs/mesh files where present: the grounding targets; otherwise none, counted),
``samples/`` shards (train: the mix; val/test: evaluation samples), ``heldout_qa.jsonl`` (the evaluation QA with
answers, what ``evaluate.py`` scores), ``eval/<source>_<split>.jsonl`` per evaluation set, ``eval_guard.json``
(evaluation scenes and question ids), ``scene_splits.json``, ``tokenizer.json`` and ``stats.json``.

Task families: SQA3D → ``situated_qa`` (question type: SQA3D's first-word type; situation text, position and
rotation as given), ScanQA and Beacon3D → ``qa`` (Beacon3D-style type from the id or the text), Scan2Cap →
``object_caption`` ("Describe the <object name>.", answers = every description of that object in the file).
Mixing: the training stream holds each source in proportion to its weight; the total is the sum of the sources'
sizes (a source above its share is cut, one below it is repeated).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import DataConfig

SOURCES: tuple[str, ...] = ("sqa3d", "scanqa", "scan2cap", "beacon3d")
"""Annotation sources this module reads."""
EVAL_SPLITS: frozenset[str] = frozenset({"val", "test"})
"""Annotation/scene splits that are evaluation-only (Beacon3D files are too, whatever their name)."""
STAGING = "_real_train"
"""Sub-folder holding the real training shards before mixing (removed afterwards)."""
GUARD = "eval_guard.json"
"""File listing the evaluation scenes and question ids that no training shard may hold."""
EVAL_DIR = "eval"
"""Sub-folder with one JSONL of Samples per evaluation set."""


@dataclass
class RealDataConfig:
    """How real scans are read and fused and how the sources are mixed (the rest comes from the preset's data)."""

    frame_stride: int = 10
    """Fuse every frame_stride-th frame of a scan (ScanNet records 30 Hz)."""
    max_frames: int = 300
    """At most this many frames per scan (evenly spaced after the stride; 0 = no cap)."""
    budget: Optional[int] = None
    """Token budget of the condensed grid; None keeps the preset's ``condense`` (the model is trained with it)."""
    weights: dict[str, float] = field(default_factory=lambda: {"real": 1.0, "synthetic": 1.0})
    """Mixing weights of the training stream per source (a source without data is left out)."""
    samples_per_shard: int = 5000
    """Samples per shard file."""
    grounding_grid: float = 0.05
    """Mesh vertices are deduplicated on this grid (metres) before they are matched to columns."""

    def __post_init__(self) -> None:
        if self.frame_stride < 1 or self.max_frames < 0:
            raise ValueError("frame_stride must be >= 1 and max_frames >= 0")
        if any(w < 0 for w in self.weights.values()) or not any(w > 0 for w in self.weights.values()):
            raise ValueError(f"mixing weights must be >= 0 with one positive, got {self.weights}")


@dataclass
class AnnotationSet:
    """One annotation file (or SQA3D file pair) as Samples, with where it came from."""

    source: str
    """One of :data:`SOURCES`."""
    split: str
    """'train', 'val' or 'test' (Beacon3D: 'test')."""
    files: list[str]
    """File names read."""
    samples: list[Any]
    """The annotations as :class:`~leovl_ros.sim.tasks.Sample` (question ids prefixed with the source)."""

    @property
    def name(self) -> str:
        """``<source>_<split>``."""
        return f"{self.source}_{self.split}"

    @property
    def eval_only(self) -> bool:
        """Whether no sample of this set may be trained on."""
        return self.source == "beacon3d" or self.split in EVAL_SPLITS


# ---------------------------------------------------------------------------------------------------------------
# annotations → samples


def _split_of(name: str) -> Optional[str]:
    """The train/val/test word of a file name (ScanQA's test_w_obj / test_wo_obj count as test)."""
    words = re.split(r"[^a-z]+", name.lower())
    for split in ("train", "val", "test"):
        if split in words:
            return split
    return None


def _norm_text(text: str) -> str:
    """Lower-case, single-spaced, without trailing punctuation (to spot the same question in two files)."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _qa_sample(item: Any, task: str, source: str) -> Any:
    from leovl_ros.sim.tasks import Sample

    return Sample(task=task, question_type=item.question_type, question=item.question, answers=list(item.answers),
                  situation=item.situation, position=item.position, rotation_xyzw=item.rotation_xyzw,
                  object_ids=list(item.object_ids), object_names=list(item.object_names), scene_id=item.scene_id,
                  question_id=f"{source}:{item.question_id}")


def caption_samples(items: Iterable[Any], source: str = "scan2cap") -> list[Any]:
    """Scan2Cap items → one ``object_caption`` Sample per (scene, object): every description is a reference."""
    from leovl_ros.sim.tasks import Sample

    grouped: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for item in items:
        grouped[(item.scene_id, item.object_id)].append(item)
    out = []
    for (scene, obj), group in grouped.items():
        name = group[0].object_name.replace("_", " ")
        out.append(Sample(task="object_caption", question_type="object_caption", question=f"Describe the {name}.",
                          answers=[g.description for g in group], object_ids=[obj], object_names=[name],
                          scene_id=scene, question_id=f"{source}:{scene}:{obj}"))
    return out


def read_annotation_dir(folder: str | Path) -> tuple[list[AnnotationSet], list[str]]:
    """Every annotation set found in ``folder`` (by the datasets' file names) and the JSON files not recognised."""
    from leovl_ros.io.annotations import read_beacon3d_qa, read_scan2cap, read_scanqa, read_sqa3d

    folder = Path(folder)
    sets: list[AnnotationSet] = []
    ignored: list[str] = []
    used: set[str] = set()
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    for p in files:
        low = p.name.lower()
        split = _split_of(p.name)
        if ("sqa3d" in low or "v1_balanced" in low) and "question" in low:
            partner = next((folder / p.name.replace(a, b) for a, b in (("questions", "sqa_annotations"),
                                                                      ("questions", "annotations"))
                            if (folder / p.name.replace(a, b)).is_file()), None)
            if partner is None or split is None:
                ignored.append(p.name)
                continue
            samples = [_qa_sample(i, "situated_qa", "sqa3d") for i in read_sqa3d(p, partner)]
            sets.append(AnnotationSet("sqa3d", split, [p.name, partner.name], samples))
            used.update({p.name, partner.name})
        elif low.startswith("scanqa") and split is not None:
            samples = [_qa_sample(i, "qa", "scanqa") for i in read_scanqa(p)]
            sets.append(AnnotationSet("scanqa", split, [p.name], samples))
            used.add(p.name)
        elif ("scanrefer" in low or "scan2cap" in low) and split is not None:
            sets.append(AnnotationSet("scan2cap", split, [p.name], caption_samples(read_scan2cap(p))))
            used.add(p.name)
        elif "beacon3d" in low and "qa" in low and "grounding" not in low:
            samples = [_qa_sample(i, "qa", "beacon3d") for i in read_beacon3d_qa(p)]
            sets.append(AnnotationSet("beacon3d", "test", [p.name], samples))
            used.add(p.name)
    ignored += [p.name for p in files if p.name not in used and p.name not in ignored]
    return sets, sorted(ignored)


def read_split_file(path: str | Path) -> list[str]:
    """Scene ids of a split file: one a line, blank lines and ``#`` comments skipped."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def find_split_files(given: dict[str, Path], *folders: Path) -> dict[str, Path]:
    """The split files: those given, else ``scannetv2_<split>.txt`` in the first folder holding it."""
    out = dict(given)
    for split in ("train", "val", "test"):
        if split in out:
            continue
        for folder in folders:
            if (folder / f"scannetv2_{split}.txt").is_file():
                out[split] = folder / f"scannetv2_{split}.txt"
                break
    if "train" not in out:
        raise FileNotFoundError("no train split file: pass --split train=FILE (one ScanNet scene id a line) or put "
                                "scannetv2_train.txt in the annotations folder")
    return out


@dataclass
class Plan:
    """Which samples train, which evaluate, which are dropped and why (no scans needed to compute it)."""

    train: list[Any]
    """Training samples (train annotation files, train-split scenes, no evaluation scene or question)."""
    evaluation: dict[str, list[Any]]
    """Evaluation set name → its samples (val/test files, Beacon3D)."""
    scene_split: dict[str, str]
    """Scene id → 'train', 'val', 'test' for every scene a kept sample needs."""
    eval_scenes: set[str]
    """Scenes no training sample may use."""
    eval_question_ids: set[str]
    """Question ids of every evaluation sample."""
    dropped: Counter
    """Reason → training samples dropped."""


def plan_samples(sets: list[AnnotationSet], splits: dict[str, list[str]]) -> Plan:
    """Sort annotation samples into training and evaluation under the evaluation guard (module docstring)."""
    split_of: dict[str, str] = {}
    for split in ("train", "val", "test"):  # a scene in two files counts as the later, stricter split
        for sid in splits.get(split, []):
            split_of[sid] = split
    eval_scenes = {s for s, sp in split_of.items() if sp in EVAL_SPLITS}
    evaluation: dict[str, list[Any]] = {}
    for aset in sets:
        if aset.eval_only:
            evaluation.setdefault(aset.name, []).extend(aset.samples)
            eval_scenes.update(s.scene_id for s in aset.samples)
    eval_ids = {s.question_id for v in evaluation.values() for s in v}
    eval_texts = {(s.scene_id, _norm_text(s.question)) for v in evaluation.values() for s in v}
    train, dropped = [], Counter()
    for aset in sets:
        if aset.eval_only:
            continue
        for s in aset.samples:
            if s.scene_id in eval_scenes:
                dropped["evaluation_scene"] += 1
            elif split_of.get(s.scene_id) != "train":
                dropped["scene_not_in_train_split"] += 1
            elif s.question_id in eval_ids or (s.scene_id, _norm_text(s.question)) in eval_texts:
                dropped["evaluation_question"] += 1
            elif not s.answers:
                dropped["no_answer"] += 1
            else:
                train.append(s)
    scene_split = {s.scene_id: "train" for s in train}
    for samples in evaluation.values():
        for s in samples:
            scene_split[s.scene_id] = split_of.get(s.scene_id) if split_of.get(s.scene_id) in EVAL_SPLITS else "test"
    return Plan(train, evaluation, scene_split, eval_scenes, eval_ids, dropped)


# ---------------------------------------------------------------------------------------------------------------
# scans → scene caches


def read_axis_alignment(scan_dir: Path, scene_id: str) -> Optional[np.ndarray]:
    """The 4×4 ``axisAlignment`` of ScanNet's ``<id>.txt`` meta file, or None where there is none."""
    meta = scan_dir / f"{scene_id}.txt"
    if not meta.is_file():
        return None
    for line in meta.read_text().splitlines():
        if line.strip().startswith("axisAlignment"):
            values = [float(v) for v in line.split("=", 1)[1].split()]
            if len(values) != 16:
                raise ValueError(f"{meta}: axisAlignment has {len(values)} numbers, not 16")
            return np.array(values, dtype=np.float64).reshape(4, 4)
    return None


_PLY_TYPES = {"char": "i1", "uchar": "u1", "int8": "i1", "uint8": "u1", "short": "i2", "ushort": "u2",
              "int16": "i2", "uint16": "u2", "int": "i4", "uint": "u4", "int32": "i4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_ply_vertices(path: str | Path) -> np.ndarray:
    """Vertex positions (V, 3) float64 of a PLY file whose first element is ``vertex`` (ScanNet's meshes), ASCII or
    binary little-endian."""
    raw = Path(path).read_bytes()
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise ValueError(f"{path}: not a PLY file")
    body = raw.index(b"\n", end) + 1
    header = raw[:body].decode("ascii", "replace").splitlines()
    fmt, count, props, elements = "", 0, [], []
    for line in header:
        parts = line.split()
        if parts[:1] == ["format"]:
            fmt = parts[1]
        elif parts[:1] == ["element"]:
            elements.append(parts[1])
            if len(elements) == 1:
                count = int(parts[2])
        elif parts[:1] == ["property"] and elements == ["vertex"]:
            if parts[1] == "list":
                raise ValueError(f"{path}: list properties on vertices are not supported")
            props.append((parts[2], _PLY_TYPES[parts[1]]))
    first = elements[0] if elements else None
    if first != "vertex" or not props:
        raise ValueError(f"{path}: the first PLY element is not 'vertex' with scalar properties")
    names = [n for n, _ in props]
    if not {"x", "y", "z"} <= set(names):
        raise ValueError(f"{path}: vertices have no x, y, z")
    if fmt == "ascii":
        rows = raw[body:].decode("ascii").splitlines()[:count]
        table = np.array([[float(v) for v in r.split()[: len(names)]] for r in rows], dtype=np.float64)
        return table[:, [names.index(c) for c in "xyz"]]
    if fmt != "binary_little_endian":
        raise ValueError(f"{path}: PLY format {fmt!r} is not supported (ascii, binary_little_endian)")
    dtype = np.dtype([(n, "<" + t) for n, t in props])
    verts = np.frombuffer(raw, dtype=dtype, count=count, offset=body)
    return np.stack([verts[c].astype(np.float64) for c in "xyz"], 1)


def _scan_file(scan_dir: Path, scene_id: str, suffixes: tuple[str, ...]) -> Optional[Path]:
    for suffix in suffixes:
        if (scan_dir / f"{scene_id}{suffix}").is_file():
            return scan_dir / f"{scene_id}{suffix}"
    return None


def read_instances(scan_dir: Path, scene_id: str, alignment: np.ndarray) -> Optional[dict[int, tuple[str, np.ndarray]]]:
    """Object id → (label, its mesh vertices in the axis-aligned frame) from ScanNet's aggregation + segs + mesh
    files; None where any of the three is missing."""
    agg = _scan_file(scan_dir, scene_id, ("_vh_clean.aggregation.json", ".aggregation.json"))
    segs = _scan_file(scan_dir, scene_id, ("_vh_clean_2.0.010000.segs.json",))
    mesh = _scan_file(scan_dir, scene_id, ("_vh_clean_2.ply",))
    if agg is None or segs is None or mesh is None:
        return None
    seg_indices = np.asarray(json.loads(segs.read_text())["segIndices"], dtype=np.int64)
    verts = read_ply_vertices(mesh)
    if len(verts) != len(seg_indices):
        raise ValueError(f"{segs}: {len(seg_indices)} segment indices for {len(verts)} vertices of {mesh.name}")
    verts = verts @ alignment[:3, :3].T + alignment[:3, 3]
    out = {}
    for group in json.loads(agg.read_text())["segGroups"]:
        sel = np.isin(seg_indices, np.asarray(group["segments"], dtype=np.int64))
        out[int(group.get("objectId", group.get("id")))] = (str(group.get("label", "")), verts[sel])
    return out


def object_columns(instances: dict[int, tuple[str, np.ndarray]], xy: Any, cell_size: Any,
                   grid: float = 0.05) -> tuple[Any, Any]:
    """Object ids [M] and bool [M, N]: the condensed columns whose square holds one of the object's vertices (the
    real-scan counterpart of ``training.data.object_columns``)."""
    import torch

    centres = xy.double().numpy()
    half = cell_size.double().numpy()[:, None] / 2
    ids, masks = [], []
    for oid, (_, verts) in sorted(instances.items()):
        pts = np.unique(np.round(verts[:, :2] / grid), axis=0) * grid if len(verts) else np.zeros((0, 2))
        mask = np.zeros(len(centres), dtype=bool)
        for chunk in np.array_split(pts, max(1, len(pts) // 2048 + 1)):
            if len(chunk):
                mask |= (np.abs(centres[:, None, :] - chunk[None]) <= half[:, :, None]).all(-1).any(1)
        ids.append(oid)
        masks.append(mask)
    cols = torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, len(centres)), dtype=torch.bool)
    return torch.tensor(ids, dtype=torch.long), cols


def frame_indices(n: int, stride: int, cap: int) -> list[int]:
    """Every stride-th frame index of n, at most ``cap`` of them (evenly spaced; cap 0 = all)."""
    idx = list(range(0, n, stride))
    if cap and len(idx) > cap:
        idx = [idx[round(i * (len(idx) - 1) / (cap - 1))] for i in range(cap)] if cap > 1 else idx[:1]
    return idx


_WORKER: dict = {}


def load_encoder(path: str | Path) -> Any:
    """The frozen 2D encoder of a folder: a SmallCNN (``image_encoder.json``) or a transformers vision tower
    (``config.json``: SigLIP / CLIP / DINOv2)."""
    from leovl_ros.model.image_encoder import HFVisionEncoder, SmallCNNEncoder

    path = Path(path)
    if (path / "image_encoder.json").is_file():
        return SmallCNNEncoder.load(path)
    if (path / "config.json").is_file():
        return HFVisionEncoder(path)
    raise FileNotFoundError(f"{path}: neither a SmallCNN folder (image_encoder.json) nor a Hugging Face vision "
                            "tower (config.json)")


def _init_worker(encoder_dir: str, data: DataConfig, real: RealDataConfig, threads: int = 1) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(encoder=load_encoder(encoder_dir), data=data, real=real)


def fuse_scan(job: tuple[str, str]) -> tuple[str, Any, Optional[tuple[Any, Any]], dict[str, Any]]:
    """Fuse one scan (scene id, folder) into a condensed ColumnBatch in the axis-aligned frame; also its grounding
    targets (object ids, object columns) where the scan has aggregation/segs/mesh files, and a few counts."""
    from leovl_ros.cfg.condense import CondenseConfig, condense
    from leovl_ros.cfg.pipeline import fuse_frame, resize_frame
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
    from leovl_ros.geometry.frame import Frame
    from leovl_ros.io.rgbd import read_scannet

    scene_id, folder = job
    data: DataConfig = _WORKER["data"]
    real: RealDataConfig = _WORKER["real"]
    encoder = _WORKER["encoder"]
    scan_dir = Path(folder)
    alignment = read_axis_alignment(scan_dir, scene_id)
    aligned = alignment is not None
    alignment = np.eye(4) if alignment is None else alignment
    seq = read_scannet(scan_dir)
    store = VoxelStore(VoxelStoreConfig(voxel_size=data.voxel_size, feature_dim=encoder.feature_dim,
                                        initial_slots=65536))
    picked = frame_indices(len(seq), real.frame_stride, real.max_frames)
    for i in picked:
        f = seq[i]
        rgb, depth, K = resize_frame(f.rgb, f.depth, f.K, (data.width, data.height))
        fuse_frame(store, Frame(rgb=rgb, depth=depth, K=K, pose=alignment @ f.pose), encoder)
    condense_cfg = dict(data.condense)
    if real.budget is not None:
        condense_cfg["budget"] = real.budget
    batch = condense(store, CondenseConfig(**condense_cfg))
    instances = read_instances(scan_dir, scene_id, alignment)
    grounding = None if instances is None else object_columns(instances, batch.xy, batch.cell_size,
                                                              real.grounding_grid)
    info = {"frames": len(picked), "frames_skipped": int(seq.skipped), "axis_aligned": aligned,
            "objects": 0 if instances is None else len(instances)}
    return scene_id, batch, grounding, info


def save_real_scene(batch: Any, grounding: Optional[tuple[Any, Any]], path: Path) -> None:
    """``training.data.save_scene``'s cache plus ``object_ids`` [M] / ``object_columns`` [M, N] where known
    (``load_scenes`` keeps them for non-synthetic scenes: the grounding targets)."""
    from safetensors.torch import save_file

    from training.data import EXTRA_FIELDS
    from training.data import SCENE_FIELDS as FIELDS

    tensors = {k: getattr(batch, k).detach().cpu().contiguous() for k in (*FIELDS, *EXTRA_FIELDS)}
    tensors["features"] = tensors["features"].half()
    if grounding is not None:
        tensors["object_ids"] = grounding[0].contiguous()
        tensors["object_columns"] = grounding[1].contiguous()
    meta = {"voxel_tokens": str(batch.voxel_tokens), "tokens": str(len(batch)), "source": "scannet"}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


# ---------------------------------------------------------------------------------------------------------------
# mixing


def mix_counts(sizes: dict[str, int], weights: dict[str, float]) -> dict[str, int]:
    """Samples to draw per source: the total is the sum of the sizes of the sources with a positive weight, shared
    in proportion to the weights (largest remainders)."""
    live = {k: n for k, n in sizes.items() if n > 0 and weights.get(k, 0.0) > 0}
    if not live:
        return {k: 0 for k in sizes}
    total = sum(live.values())
    wsum = sum(weights[k] for k in live)
    raw = {k: total * weights[k] / wsum for k in live}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: out[k] - raw[k])[: total - sum(out.values())]:
        out[k] += 1
    return {k: out.get(k, 0) for k in sizes}


def _cycle(make: Any) -> Iterator[Any]:
    """Endless iteration, re-opening the stream each time it ends."""
    while True:
        empty = True
        for x in make():
            empty = False
            yield x
        if empty:
            return


def interleave(streams: dict[str, Any], counts: dict[str, int]) -> Iterator[Any]:
    """Smooth weighted round robin: ``counts[k]`` items of each stream (re-opened when it runs out), spread evenly."""
    its = {k: _cycle(streams[k]) for k, n in counts.items() if n > 0}
    total = sum(counts[k] for k in its)
    taken = dict.fromkeys(its, 0)
    for step in range(1, total + 1):
        k = max(its, key=lambda k: (counts[k] * step / total - taken[k], -list(its).index(k)))
        taken[k] += 1
        yield next(its[k])


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# ---------------------------------------------------------------------------------------------------------------
# the whole preparation


def _text_corpus(samples: Iterable[Any]) -> Iterator[str]:
    for s in samples:
        if s.situation:
            yield s.situation
        yield s.question
        yield from s.answers


def prepare_real(data: DataConfig, real: RealDataConfig, scans: Path, annotations: Path, out: Path,
                 encoder_dir: Path, split_files: Optional[dict[str, Path]] = None, workers: Optional[int] = None,
                 vocab_size: int = 1024, synthetic: Optional[Path] = None) -> dict[str, Any]:
    """Annotations + scans → scene caches, mixed training shards, evaluation shards and files (module docstring);
    returns the stats (also in ``out/stats.json``)."""
    from leovl_ros.model.tokenizer import default_corpus, train_tokenizer
    from leovl_ros.sim.shards import ShardWriter, iter_samples, read_index
    from training.data import HELDOUT, SAMPLES, SCENES, SPLITS

    t0 = time.perf_counter()
    scans, annotations, out = Path(scans), Path(annotations), Path(out)
    if (out / SAMPLES).exists() and read_index(out / SAMPLES):
        raise FileExistsError(f"{out / SAMPLES} already holds shards; prepare into an empty folder")
    sets, ignored = read_annotation_dir(annotations)
    if not sets:
        raise FileNotFoundError(f"{annotations}: no SQA3D / ScanQA / Scan2Cap / Beacon3D file recognised")
    split_paths = find_split_files(split_files or {}, annotations, scans)
    splits = {k: read_split_file(v) for k, v in split_paths.items()}
    plan = plan_samples(sets, splits)

    available = {p.name: p for p in scans.iterdir() if p.is_dir()} if scans.is_dir() else {}
    wanted = sorted(sid for sid in plan.scene_split if sid in available)
    missing_scan = sorted(set(plan.scene_split) - set(available))

    # scans → caches (in scene order, so reruns write the same files)
    out.mkdir(parents=True, exist_ok=True)
    has_grounding: dict[str, Any] = {}
    scan_info: dict[str, dict] = {}
    tokens, voxels = [], []
    jobs = [(sid, str(available[sid])) for sid in wanted]
    t_fuse = time.perf_counter()
    n = max(1, min(workers or data.workers, len(jobs) or 1))
    if n == 1:
        _init_worker(str(encoder_dir), data, real, threads=1)
        results: Iterable = map(fuse_scan, jobs)
        pool = None
    else:
        from multiprocessing import get_context

        pool = get_context("spawn").Pool(n, initializer=_init_worker, initargs=(str(encoder_dir), data, real))
        results = pool.imap(fuse_scan, jobs)
    try:
        for sid, batch, grounding, info in results:
            save_real_scene(batch, grounding, out / SCENES / f"{sid}.safetensors")
            has_grounding[sid] = None if grounding is None else set(int(i) for i in grounding[0])
            scan_info[sid] = info
            tokens.append(len(batch))
            voxels.append(batch.voxel_tokens)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    fuse_seconds = time.perf_counter() - t_fuse

    def keep(s: Any) -> bool:
        return s.scene_id in has_grounding

    ground = Counter()

    def count_grounding(s: Any) -> None:
        ids = has_grounding.get(s.scene_id)
        if not s.object_ids:
            ground["no_object_ids"] += 1
        elif ids is None:
            ground["no_instance_files"] += 1
        elif any(i in ids for i in s.object_ids):
            ground["with_target"] += 1
        else:
            ground["ids_not_in_scan"] += 1

    # real training samples → staging shards; evaluation samples → samples/{val,test}, eval/, heldout
    train = [s for s in plan.train if keep(s)]
    staging = out / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    with ShardWriter(staging, real.samples_per_shard, "train") as w:
        for s in train:
            count_grounding(s)
            w.write(s)
    eval_writers = {sp: ShardWriter(out / SAMPLES, real.samples_per_shard, sp) for sp in sorted(EVAL_SPLITS)}
    heldout, eval_counts, unanswered = [], {}, 0
    (out / EVAL_DIR).mkdir(exist_ok=True)
    for name, samples in sorted(plan.evaluation.items()):
        kept = [s for s in samples if keep(s) and s.answers]
        unanswered += sum(1 for s in samples if keep(s) and not s.answers)
        for s in kept:
            eval_writers[plan.scene_split[s.scene_id]].write(s)
            count_grounding(s)
        (out / EVAL_DIR / f"{name}.jsonl").write_text("".join(json.dumps(s.to_json()) + "\n" for s in kept))
        heldout += [s for s in kept if s.task in ("qa", "situated_qa")]
        eval_counts[name] = len(kept)
    for w in eval_writers.values():
        w.close()
    (out / HELDOUT).write_text("".join(json.dumps(s.to_json()) + "\n" for s in heldout))

    # synthetic scenes join the caches; the training stream mixes the sources
    streams: dict[str, Any] = {"real": lambda: iter_samples(staging, "train")}
    sizes = {"real": len(train)}
    synth_scenes: list[str] = []
    if synthetic is not None:
        from training.data import scene_split_ids

        synth_scenes = sorted(scene_split_ids(synthetic, "train"))
        _check_features(out / SCENES, Path(synthetic) / SCENES, synth_scenes)
        for sid in synth_scenes:
            _link_or_copy(Path(synthetic) / SCENES / f"{sid}.safetensors", out / SCENES / f"{sid}.safetensors")
        streams["synthetic"] = lambda: iter_samples(Path(synthetic) / SAMPLES, "train")
        from leovl_ros.sim.shards import count_samples

        sizes["synthetic"] = count_samples(Path(synthetic) / SAMPLES, "train")
    counts = mix_counts(sizes, real.weights)
    with ShardWriter(out / SAMPLES, real.samples_per_shard, "train") as w:
        for s in interleave(streams, counts):
            w.write(s)
        mixed_total = w.total
    shutil.rmtree(staging, ignore_errors=True)

    # tokenizer: the synthetic vocabulary + the real training text (never evaluation text)
    tokenizer = train_tokenizer(list(default_corpus(data.tokenizer_scenes)) + list(_text_corpus(train)), vocab_size)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))

    scene_splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for sid in wanted:
        scene_splits[plan.scene_split[sid]].append(sid)
    scene_splits["train"] += synth_scenes
    (out / SPLITS).write_text(json.dumps(scene_splits, indent=1))
    guard = {"scenes": sorted(plan.eval_scenes), "question_ids": sorted(plan.eval_question_ids)}
    (out / GUARD).write_text(json.dumps(guard))
    seconds = time.perf_counter() - t0
    real_samples = len(train) + sum(eval_counts.values())
    stats = {
        "annotation_sets": {a.name: {"files": a.files, "samples": len(a.samples), "eval_only": a.eval_only}
                            for a in sets},
        "ignored_files": ignored, "split_files": {k: str(v) for k, v in split_paths.items()},
        "scenes": {k: len(v) for k, v in scene_splits.items()}, "real_scenes_fused": len(wanted),
        "scenes_without_scan": len(missing_scan), "missing_scans": missing_scan[:20],
        "scenes_without_axis_alignment": sum(not i["axis_aligned"] for i in scan_info.values()),
        "scenes_with_instances": sum(v is not None for v in has_grounding.values()),
        "frames_fused": sum(i["frames"] for i in scan_info.values()),
        "train_real_samples": len(train), "train_mixed_samples": mixed_total, "mix": counts,
        "dropped_from_training": dict(plan.dropped),
        "dropped_without_scan": len(plan.train) - len(train), "eval_samples": eval_counts,
        "eval_unanswered": unanswered, "heldout_questions": len(heldout), "grounding": dict(ground),
        "scene_tokens_mean": float(np.mean(tokens)) if tokens else 0.0,
        "scene_tokens_median": float(np.median(tokens)) if tokens else 0.0,
        "voxel_tokens_mean": float(np.mean(voxels)) if voxels else 0.0,
        "seconds": seconds, "fuse_seconds": fuse_seconds, "workers": n,
        "scenes_per_s": len(wanted) / fuse_seconds if fuse_seconds > 0 else 0.0,
        "samples_per_s": real_samples / seconds if seconds > 0 else 0.0,
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=1))
    return stats


def _check_features(real_dir: Path, synth_dir: Path, synth_scenes: list[str]) -> None:
    """Mixed caches must come from one 2D encoder: the feature widths must agree."""
    from safetensors import safe_open

    def width(path: Path) -> int:
        with safe_open(str(path), "pt") as f:
            return int(f.get_slice("features").get_shape()[-1])

    real = next(iter(sorted(real_dir.glob("*.safetensors"))), None)
    if real is None or not synth_scenes:
        return
    a, b = width(real), width(synth_dir / f"{synth_scenes[0]}.safetensors")
    if a != b:
        raise ValueError(f"real scenes have {a}-wide features, synthetic ones {b}: fuse both with one 2D encoder")


def train_sample_leaks(out: str | Path) -> list[str]:
    """Question ids / scenes of the training shards that the folder's evaluation guard forbids (empty = clean)."""
    from leovl_ros.sim.shards import iter_samples
    from training.data import SAMPLES

    guard = json.loads((Path(out) / GUARD).read_text())
    scenes, ids = set(guard["scenes"]), set(guard["question_ids"])
    return [f"{s.scene_id}/{s.question_id}" for s in iter_samples(Path(out) / SAMPLES, "train")
            if s.scene_id in scenes or s.question_id in ids]


# ---------------------------------------------------------------------------------------------------------------
# CLI


def _pairs(text: str, what: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise argparse.ArgumentTypeError(f"{what}: expected NAME=VALUE, got {part!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The real-data options (shared with ``training/prepare.py scenes --source scannet``)."""
    ap.add_argument("--scans", type=Path, help="folder of ScanNet-layout scans, one sub-folder per scene id")
    ap.add_argument("--annotations", type=Path, help="folder of SQA3D / ScanQA / Scan2Cap / Beacon3D files")
    ap.add_argument("--split", action="append", default=[], metavar="NAME=FILE",
                    help="scene split file (train/val/test), repeatable; default scannetv2_<split>.txt beside "
                         "the annotations or scans")
    ap.add_argument("--mix-synthetic", type=Path, help="a prepared synthetic data folder to mix into training")
    ap.add_argument("--weights", default="real=1,synthetic=1", help="mixing weights, e.g. real=2,synthetic=1")
    ap.add_argument("--frame-stride", type=int, default=RealDataConfig.frame_stride, help="fuse every k-th frame")
    ap.add_argument("--max-frames", type=int, default=RealDataConfig.max_frames, help="frames per scan (0 = all)")
    ap.add_argument("--budget", type=int, help="token budget (default: the preset's condense budget)")


def run(args: argparse.Namespace, data: DataConfig, vocab_size: int) -> dict[str, Any]:
    """Prepare from parsed arguments (``--out``, ``--encoder``, ``--workers`` plus :func:`add_arguments`')."""
    if args.scans is None or args.annotations is None or args.encoder is None:
        raise SystemExit("--source scannet needs --scans, --annotations and --encoder")
    splits = {}
    for item in args.split:
        splits.update({k: Path(v) for k, v in _pairs(item, "--split").items()})
    weights = {k: float(v) for k, v in _pairs(args.weights, "--weights").items()}
    real = RealDataConfig(frame_stride=args.frame_stride, max_frames=args.max_frames, budget=args.budget,
                          weights=weights)
    return prepare_real(data, real, args.scans, args.annotations, args.out, args.encoder, splits, args.workers,
                        vocab_size, args.mix_synthetic)
