"""Readers and writers for 3D question-answering annotations in the field's formats (Beacon3D, SQA3D).

- Beacon3D QA: a JSON list of ``{question_id, scene_id, question, object_ids, object_names, answers}``; answers are
  strings. The file has no question-type field: the type is taken from an explicit ``question_type`` key (written
  by this module), else from the question id (Beacon3D ids end in ``_<type>_<k>``, e.g.
  ``scene0025_00_27_0_appearance_0``), else derived from the question text (:func:`question_type_from_text`).
- Beacon3D grounding: a JSON list of ``{item_id, scan_id, target_id, instance_type, utterance}`` — other key names
  than the QA file (scan_id, not scene_id; target_id is a list of ints).
- SQA3D: a questions file (``{"questions": [{question_id, scene_id, situation, alternative_situation, question}]}``)
  and an annotations file (``{"annotations": [{question_id, scene_id, answers: [{answer, answer_confidence,
  answer_id}], position: {x, y, z}, rotation: {_x, _y, _z, _w}, question_type, answer_type}]}``), merged by
  question_id. SQA3D's own files carry ``question_type: "N/A"``; the type is then derived from the first word
  of the question (LEO's SQA3D split: what / is / how / can / which / other).
- ScanQA: a JSON list of ``{question_id, scene_id, question, answers, object_ids, object_names}`` (test files
  without answers); the type is derived from the question text.
- Scan2Cap (ScanRefer format): a JSON list of ``{scene_id, object_id, object_name, ann_id, description}``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BEACON3D_TYPES: tuple[str, ...] = ("class", "appearance", "geometry", "spatial", "existence", "functionality")
"""Beacon3D's question types, as encoded in its question ids."""

SQA3D_TYPES: tuple[str, ...] = ("what", "is", "how", "can", "which", "other")
"""SQA3D's question types (by the question's first word), in LEO's order."""

_UNSET_TYPES = frozenset({"", "n/a", "none", "unknown"})

_TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("counting", re.compile(r"^how many\b|\bnumber of\b")),
    ("existence", re.compile(r"^(is|are) there\b|\bexists?\b|\bany\b")),
    ("functionality", re.compile(r"\b(use|used|usage|purpose|function|for what)\b")),
    ("appearance", re.compile(r"\b(colou?r|material|made of|pattern|look like|texture)\b")),
    ("geometry", re.compile(
        r"\b(shape|state|open|closed|size|larger|smaller|bigger|taller|shorter|longer|wider|higher|lower|large"
        r"|small|big|tall|high|long|wide|height|width|length)\b")),
    ("class", re.compile(r"^what (is|are)\b(?! (the|a|an) )|\bwhat\??$|^what (kind|type|object|furniture)\b")),
    ("spatial", re.compile(
        r"\b(where|left|right|above|below|under|beneath|behind|front|next to|near|nearest|closer|close|closest|far"
        r"|farther|farthest|between|beside|on top|opposite|facing|direction|distance|on)\b")),
    ("class", re.compile(r"^(what|which)\b")),
)


def question_type_from_text(question: str) -> str:
    """Coarse Beacon3D-style type of a question from its wording (first matching rule wins).

    Rules, in order (Beacon3D's taxonomy: shape and state count as geometry): "how many"/"number of" → counting;
    "is/are there", "exist", "any" → existence; use / purpose words → functionality; colour, material, pattern →
    appearance; shape, state (open/closed) and size words → geometry; "what is <relation> …", "… and what?" →
    class; relation / direction / distance words and "where" → spatial; other what/which questions → class;
    else "other".
    """
    text = " ".join(question.lower().split())
    for name, pattern in _TEXT_RULES:
        if pattern.search(text):
            return name
    return "other"


def sqa3d_question_type(question: str) -> str:
    """SQA3D question type from the question's first word (what / is / how / can / which / other), as LEO."""
    words = question.strip().lower().split()
    first = words[0] if words else ""
    for name in SQA3D_TYPES[:-1]:
        if first.startswith(name):
            return name
    return "other"


def _type_from_beacon3d_id(question_id: str) -> str | None:
    """The type encoded in a Beacon3D question id (``..._<type>_<k>``), or None."""
    parts = str(question_id).split("_")
    if len(parts) >= 2 and parts[-2] in BEACON3D_TYPES and parts[-1].isdigit():
        return parts[-2]
    return None


@dataclass
class QAItem:
    """One (possibly situated) question with its reference answers, independent of the file format."""

    question_id: str | int
    """Identifier as stored in the file (Beacon3D: str; SQA3D: int)."""
    scene_id: str
    """Scene the question is about (e.g. ``scene0025_00``)."""
    question: str
    """Question text."""
    answers: list[str]
    """Reference answers (plain strings; SQA3D's answer dicts are unpacked)."""
    question_type: str = "other"
    """Coarse type used for per-type accuracies (see the module docstring for where it comes from)."""
    object_ids: list[int] = field(default_factory=list)
    """Ids of the objects the question is about (Beacon3D)."""
    object_names: list[str] = field(default_factory=list)
    """Class names of those objects (Beacon3D)."""
    situation: str | None = None
    """Situation text of a situated question (SQA3D), else None."""
    position: np.ndarray | None = None
    """Agent position (3,) in the scene frame, metres (SQA3D), else None."""
    rotation_xyzw: np.ndarray | None = None
    """Agent orientation quaternion (x, y, z, w) (SQA3D's ``_x, _y, _z, _w``), else None."""
    alternative_situations: list[str] = field(default_factory=list)
    """Paraphrases of the situation (SQA3D's ``alternative_situation``)."""


@dataclass
class GroundingItem:
    """One Beacon3D grounding utterance and the object(s) it refers to."""

    item_id: str
    """Identifier (``item_id``)."""
    scene_id: str
    """Scene (the file's ``scan_id``)."""
    target_ids: list[int]
    """Ids of the referred object(s) (the file's ``target_id``, always a list)."""
    instance_type: str
    """Class name of the target."""
    utterance: str
    """The referring expression."""


def _load_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file, naming the file in any error."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def _write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON atomically (temporary file + rename), so a crash never leaves a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _require(entry: dict[str, Any], keys: Sequence[str], where: str) -> None:
    """Raise ValueError naming the missing keys of one entry."""
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ValueError(f"{where}: missing keys {missing} (has {sorted(entry)})")


def _is_set(value: Any) -> bool:
    """Whether a question-type value from a file is a real type (not N/A, empty or None)."""
    return isinstance(value, str) and value.strip().lower() not in _UNSET_TYPES


def read_beacon3d_qa(path: str | os.PathLike[str]) -> list[QAItem]:
    """Read a Beacon3D QA file (JSON list) into QAItems, deriving each question's type (module docstring)."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: a Beacon3D QA file is a JSON list, got {type(data).__name__}")
    items = []
    for i, entry in enumerate(data):
        _require(entry, ("question_id", "scene_id", "question", "answers"), f"{path}[{i}]")
        qtype = entry.get("question_type")
        if not _is_set(qtype):
            qtype = _type_from_beacon3d_id(entry["question_id"]) or question_type_from_text(entry["question"])
        items.append(QAItem(
            question_id=entry["question_id"],
            scene_id=entry["scene_id"],
            question=entry["question"],
            answers=[str(a) for a in entry["answers"]],
            question_type=qtype,
            object_ids=[int(o) for o in entry.get("object_ids", [])],
            object_names=[str(o) for o in entry.get("object_names", [])],
        ))
    return items


def write_beacon3d_qa(items: Iterable[QAItem], path: str | os.PathLike[str]) -> None:
    """Write QAItems as a Beacon3D QA file, plus a ``question_type`` key (situation/pose fields are not written)."""
    _write_json([
        {
            "question_id": item.question_id,
            "scene_id": item.scene_id,
            "question": item.question,
            "object_ids": [int(o) for o in item.object_ids],
            "object_names": list(item.object_names),
            "answers": list(item.answers),
            "question_type": item.question_type,
        }
        for item in items
    ], path)


def read_beacon3d_grounding(path: str | os.PathLike[str]) -> list[GroundingItem]:
    """Read a Beacon3D grounding file (``item_id, scan_id, target_id, instance_type, utterance``)."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: a Beacon3D grounding file is a JSON list, got {type(data).__name__}")
    items = []
    for i, entry in enumerate(data):
        _require(entry, ("item_id", "scan_id", "target_id", "instance_type", "utterance"), f"{path}[{i}]")
        targets = entry["target_id"]
        items.append(GroundingItem(
            item_id=str(entry["item_id"]),
            scene_id=str(entry["scan_id"]),
            target_ids=[int(t) for t in (targets if isinstance(targets, list) else [targets])],
            instance_type=str(entry["instance_type"]),
            utterance=str(entry["utterance"]),
        ))
    return items


def write_beacon3d_grounding(items: Iterable[GroundingItem], path: str | os.PathLike[str]) -> None:
    """Write GroundingItems in Beacon3D's grounding format."""
    _write_json([
        {
            "item_id": item.item_id,
            "scan_id": item.scene_id,
            "target_id": [int(t) for t in item.target_ids],
            "instance_type": item.instance_type,
            "utterance": item.utterance,
        }
        for item in items
    ], path)


def _list_field(data: Any, key: str, path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The list under ``key`` of an SQA3D file."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ValueError(f"{path}: expected an SQA3D file with a '{key}' list")
    return data[key]


def read_sqa3d(
    questions_path: str | os.PathLike[str], annotations_path: str | os.PathLike[str]
) -> list[QAItem]:
    """Read SQA3D questions + annotations, merged by question_id (order of the questions file)."""
    questions = _list_field(_load_json(questions_path), "questions", questions_path)
    annotations = _list_field(_load_json(annotations_path), "annotations", annotations_path)
    by_id: dict[Any, dict[str, Any]] = {}
    for i, ann in enumerate(annotations):
        _require(ann, ("question_id", "answers", "position", "rotation"), f"{annotations_path}[{i}]")
        by_id[ann["question_id"]] = ann
    unmatched = [q.get("question_id") for q in questions if q.get("question_id") not in by_id]
    if unmatched:
        raise ValueError(
            f"{len(unmatched)} SQA3D questions have no annotation in {annotations_path} (e.g. {unmatched[0]!r})"
        )
    items = []
    for i, q in enumerate(questions):
        _require(q, ("question_id", "scene_id", "question", "situation"), f"{questions_path}[{i}]")
        ann = by_id[q["question_id"]]
        pos, rot = ann["position"], ann["rotation"]
        qtype = ann.get("question_type")
        items.append(QAItem(
            question_id=q["question_id"],
            scene_id=q["scene_id"],
            question=q["question"],
            answers=[str(a["answer"]) if isinstance(a, dict) else str(a) for a in ann["answers"]],
            question_type=qtype if _is_set(qtype) else sqa3d_question_type(q["question"]),
            situation=q["situation"],
            position=np.array([pos["x"], pos["y"], pos["z"]], dtype=np.float64),
            rotation_xyzw=np.array([rot["_x"], rot["_y"], rot["_z"], rot["_w"]], dtype=np.float64),
            alternative_situations=[str(s) for s in q.get("alternative_situation", [])],
        ))
    return items


def write_sqa3d(
    items: Iterable[QAItem], questions_path: str | os.PathLike[str], annotations_path: str | os.PathLike[str]
) -> None:
    """Write situated QAItems as an SQA3D questions file and annotations file (every item needs a pose)."""
    questions, annotations = [], []
    for item in items:
        if item.situation is None or item.position is None or item.rotation_xyzw is None:
            raise ValueError(f"question {item.question_id!r}: SQA3D needs situation, position and rotation_xyzw")
        x, y, z = (float(v) for v in np.asarray(item.position, dtype=np.float64).reshape(3))
        qx, qy, qz, qw = (float(v) for v in np.asarray(item.rotation_xyzw, dtype=np.float64).reshape(4))
        questions.append({
            "scene_id": item.scene_id,
            "situation": item.situation,
            "alternative_situation": list(item.alternative_situations),
            "question": item.question,
            "question_id": item.question_id,
        })
        annotations.append({
            "scene_id": item.scene_id,
            "question_type": item.question_type,
            "answer_type": "other",
            "question_id": item.question_id,
            "answers": [
                {"answer": a, "answer_confidence": "yes", "answer_id": k + 1} for k, a in enumerate(item.answers)
            ],
            "rotation": {"_x": qx, "_y": qy, "_z": qz, "_w": qw},
            "position": {"x": x, "y": y, "z": z},
        })
    header = {"info": {"description": "SQA3D-format annotations written by leovl_ros"}, "data_type": "scannet"}
    _write_json({**header, "task_type": "Situated question answering", "questions": questions}, questions_path)
    _write_json({**header, "annotations": annotations}, annotations_path)


@dataclass
class CaptionItem:
    """One Scan2Cap (ScanRefer-format) object description."""

    scene_id: str
    """Scene (``scene_id``)."""
    object_id: int
    """Id of the described object (ScanNet aggregation ``objectId``; the file stores it as a string)."""
    object_name: str
    """Class name of the object (``object_name``; ScanRefer writes multi-word names with underscores)."""
    ann_id: str
    """Annotation number of this description for the object (``ann_id``)."""
    description: str
    """The description text."""


def read_scanqa(path: str | os.PathLike[str]) -> list[QAItem]:
    """Read a ScanQA file (JSON list of ``{question_id, scene_id, question, answers, object_ids, object_names}``).

    ScanQA's test files carry no ``answers`` (and ``test_wo_obj`` no object fields): those items get empty lists.
    The type comes from an explicit ``question_type`` key, else from the question text
    (:func:`question_type_from_text`).
    """
    data = _load_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: a ScanQA file is a JSON list, got {type(data).__name__}")
    items = []
    for i, entry in enumerate(data):
        _require(entry, ("question_id", "scene_id", "question"), f"{path}[{i}]")
        qtype = entry.get("question_type")
        items.append(QAItem(
            question_id=str(entry["question_id"]),
            scene_id=str(entry["scene_id"]),
            question=str(entry["question"]),
            answers=[str(a) for a in entry.get("answers") or []],
            question_type=qtype if _is_set(qtype) else question_type_from_text(str(entry["question"])),
            object_ids=[int(o) for o in entry.get("object_ids") or []],
            object_names=[str(o) for o in entry.get("object_names") or []],
        ))
    return items


def write_scanqa(items: Iterable[QAItem], path: str | os.PathLike[str]) -> None:
    """Write QAItems as a ScanQA file (ScanQA's keys, plus ``question_type``)."""
    _write_json([
        {
            "question_id": str(item.question_id),
            "scene_id": item.scene_id,
            "question": item.question,
            "answers": list(item.answers),
            "object_ids": [int(o) for o in item.object_ids],
            "object_names": list(item.object_names),
            "question_type": item.question_type,
        }
        for item in items
    ], path)


def read_scan2cap(path: str | os.PathLike[str]) -> list[CaptionItem]:
    """Read a Scan2Cap / ScanRefer file (JSON list of ``{scene_id, object_id, object_name, ann_id, description}``;
    other keys such as ``token`` are ignored)."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: a Scan2Cap file is a JSON list, got {type(data).__name__}")
    items = []
    for i, entry in enumerate(data):
        _require(entry, ("scene_id", "object_id", "object_name", "ann_id", "description"), f"{path}[{i}]")
        try:
            object_id = int(entry["object_id"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}[{i}]: object_id {entry['object_id']!r} is not an integer") from exc
        items.append(CaptionItem(
            scene_id=str(entry["scene_id"]),
            object_id=object_id,
            object_name=str(entry["object_name"]),
            ann_id=str(entry["ann_id"]),
            description=" ".join(str(entry["description"]).split()),
        ))
    return items


def write_scan2cap(items: Iterable[CaptionItem], path: str | os.PathLike[str]) -> None:
    """Write CaptionItems in Scan2Cap / ScanRefer's format (ids as strings, as the original files store them)."""
    _write_json([
        {
            "scene_id": item.scene_id,
            "object_id": str(item.object_id),
            "object_name": item.object_name,
            "ann_id": str(item.ann_id),
            "description": item.description,
        }
        for item in items
    ], path)
