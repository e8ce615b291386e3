"""Question files that travel with a bag: Beacon3D-style QA with SQA3D situation fields, and the bag's scene id.

``annotations.json`` (written by ``leovl-bag write --source sim`` inside the bag folder, read by ``leovl-eval``)
is a Beacon3D QA list (``question_id, scene_id, question, object_ids, object_names, answers`` + ``question_type``)
whose situated entries also carry SQA3D's fields: ``situation`` (text), ``position`` ``{x, y, z}`` and
``rotation`` ``{_x, _y, _z, _w}``; an optional ``bag_time_s`` asks the question at that bag time instead of at
the end. ``read_bag_annotations`` also accepts a plain Beacon3D file or an SQA3D questions + annotations pair.
The scene id sits in the bag's ``metadata.yaml`` under ``custom_data: {scene_id: ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from leovl_ros.io.annotations import QAItem, read_beacon3d_qa, read_sqa3d

ANNOTATIONS_NAME = "annotations.json"
"""File name of a bag's questions inside its folder."""
EVAL_TASKS = ("qa", "situated_qa")
"""Sim task families a bag evaluation asks (single-turn, short answers)."""


@dataclass
class BagQuestion:
    """A question to ask during/after a replay: the QA item plus when to ask it."""

    item: QAItem
    """Question, references, type, situation and pose."""
    bag_time_s: Optional[float] = None
    """Bag time (s from the bag's start) at which to ask; None = after the whole bag."""


def _entry(item: QAItem, bag_time_s: Optional[float] = None) -> dict[str, Any]:
    """One JSON entry (Beacon3D keys, SQA3D situation keys where set)."""
    entry: dict[str, Any] = {
        "question_id": str(item.question_id), "scene_id": item.scene_id, "question": item.question,
        "object_ids": [int(o) for o in item.object_ids], "object_names": list(item.object_names),
        "answers": list(item.answers), "question_type": item.question_type,
    }
    if item.situation is not None:
        entry["situation"] = item.situation
    if item.position is not None and item.rotation_xyzw is not None:
        x, y, z = (float(v) for v in np.asarray(item.position).reshape(3))
        qx, qy, qz, qw = (float(v) for v in np.asarray(item.rotation_xyzw).reshape(4))
        entry["position"] = {"x": x, "y": y, "z": z}
        entry["rotation"] = {"_x": qx, "_y": qy, "_z": qz, "_w": qw}
    if bag_time_s is not None:
        entry["bag_time_s"] = float(bag_time_s)
    return entry


def write_bag_annotations(questions: Iterable[BagQuestion | QAItem], path: str | Path) -> Path:
    """Write ``annotations.json`` (atomic); returns the path."""
    from leovl_ros.io.annotations import _write_json

    entries = [_entry(q.item, q.bag_time_s) if isinstance(q, BagQuestion) else _entry(q) for q in questions]
    _write_json(entries, path)
    return Path(path)


def read_bag_annotations(paths: Sequence[str | Path]) -> list[BagQuestion]:
    """Questions from ``annotations.json`` / a Beacon3D file (one path) or an SQA3D pair (two paths).

    ``ValueError`` (naming the file) for anything malformed.
    """
    paths = [Path(p) for p in paths]
    if len(paths) == 2:
        first = json.loads(paths[0].read_text(encoding="utf-8"))
        qs, anns = (paths[0], paths[1]) if isinstance(first, dict) and "questions" in first else (paths[1], paths[0])
        return [BagQuestion(item) for item in read_sqa3d(qs, anns)]
    if len(paths) != 1:
        raise ValueError("annotations: one Beacon3D-style file or two SQA3D files (questions, annotations)")
    items = read_beacon3d_qa(paths[0])
    raw = json.loads(paths[0].read_text(encoding="utf-8"))
    out = []
    for i, (item, entry) in enumerate(zip(items, raw)):
        if entry.get("situation"):
            item.situation = str(entry["situation"])
        pos, rot = entry.get("position"), entry.get("rotation")
        if pos is not None and rot is not None:
            try:
                item.position = np.array([pos["x"], pos["y"], pos["z"]], dtype=np.float64)
                item.rotation_xyzw = np.array([rot["_x"], rot["_y"], rot["_z"], rot["_w"]], dtype=np.float64)
            except (KeyError, TypeError) as exc:
                raise ValueError(f"{paths[0]}[{i}]: position needs x, y, z and rotation _x, _y, _z, _w "
                                 f"(SQA3D fields): {exc}") from exc
        t = entry.get("bag_time_s")
        if t is not None and not isinstance(t, (int, float)):
            raise ValueError(f"{paths[0]}[{i}]: bag_time_s must be a number, got {t!r}")
        out.append(BagQuestion(item, None if t is None else float(t)))
    return out


def sim_bag_questions(scene: Any, seen: Optional[set[int]], seed: int, limit: Optional[int] = None) -> list[QAItem]:
    """The room's single-turn QA and situated QA (ground truth from ``leovl_ros.sim.tasks``) as QA items."""
    from leovl_ros.sim.tasks import generate_samples

    items = []
    for s in generate_samples(scene, seed, seen_objects=seen):
        if s.task not in EVAL_TASKS or s.history:
            continue
        items.append(QAItem(question_id=s.question_id, scene_id=s.scene_id, question=s.question,
                            answers=list(s.answers), question_type=s.question_type,
                            object_ids=list(s.object_ids), object_names=list(s.object_names),
                            situation=s.situation, position=s.position, rotation_xyzw=s.rotation_xyzw))
    return items[:limit] if limit else items


def bag_custom_data(bag: str | Path) -> dict[str, str]:
    """``custom_data`` of a rosbag2 folder's metadata.yaml (empty when absent or for a single file)."""
    import yaml

    meta = Path(bag) / "metadata.yaml"
    if not meta.is_file():
        return {}
    info = (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("rosbag2_bagfile_information", {})
    return {str(k): str(v) for k, v in (info.get("custom_data") or {}).items()}
