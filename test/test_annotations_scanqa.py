"""ScanQA and Scan2Cap readers/writers on hand-written files in the original formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leovl_ros.io.annotations import (
    CaptionItem,
    read_scan2cap,
    read_scanqa,
    write_scan2cap,
    write_scanqa,
)

SCANQA = [
    {"answers": ["brown wooden chair", "chair"], "object_ids": [8], "object_names": ["chair"],
     "question": "What is placed in front of the desk?", "question_id": "train-scene0000-0",
     "scene_id": "scene0000_00"},
    {"answers": ["two"], "object_ids": [3, 4], "object_names": ["chair", "chair"],
     "question": "How many chairs are by the table?", "question_id": "train-scene0000-1",
     "scene_id": "scene0000_00"},
]
SCANQA_TEST = [  # ScanQA's test_wo_obj: no answers, no object fields
    {"question": "What colour is the couch?", "question_id": "test-scene0707-0", "scene_id": "scene0707_00"},
]
SCAN2CAP = [  # ScanRefer keys, ids as strings, an extra token list
    {"scene_id": "scene0000_00", "object_id": "8", "object_name": "office_chair", "ann_id": "0",
     "description": "this is a brown  chair.\nit is in front of the desk.", "token": ["this", "is"]},
    {"scene_id": "scene0000_00", "object_id": "8", "object_name": "office_chair", "ann_id": "1",
     "description": "a wooden chair by the desk.", "token": []},
]


def _dump(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_scanqa_fields_and_types(tmp_path: Path) -> None:
    """Every ScanQA key lands in its QAItem field; the type is derived from the wording."""
    items = read_scanqa(_dump(tmp_path, "ScanQA_v1.0_train.json", SCANQA))
    assert [i.question_id for i in items] == ["train-scene0000-0", "train-scene0000-1"]
    assert items[0].answers == ["brown wooden chair", "chair"] and items[0].object_ids == [8]
    assert items[1].object_names == ["chair", "chair"] and items[1].scene_id == "scene0000_00"
    assert [i.question_type for i in items] == ["class", "counting"]
    assert items[0].situation is None and items[0].position is None


def test_scanqa_test_split_without_answers(tmp_path: Path) -> None:
    """A test file without answers/objects reads with empty lists (evaluation-only input)."""
    (item,) = read_scanqa(_dump(tmp_path, "ScanQA_v1.0_test_wo_obj.json", SCANQA_TEST))
    assert item.answers == [] and item.object_ids == [] and item.question_type == "appearance"


def test_scanqa_roundtrip(tmp_path: Path) -> None:
    """write_scanqa → read_scanqa keeps every field, the type included."""
    items = read_scanqa(_dump(tmp_path, "a.json", SCANQA))
    items[0].question_type = "class"
    write_scanqa(items, tmp_path / "b.json")
    again = read_scanqa(tmp_path / "b.json")
    assert again == items


def test_scanqa_errors(tmp_path: Path) -> None:
    """Not a list, or a missing key: a ValueError naming the file and entry."""
    with pytest.raises(ValueError, match="JSON list"):
        read_scanqa(_dump(tmp_path, "x.json", {"questions": SCANQA}))
    with pytest.raises(ValueError, match=r"x2\.json\[0\].*question_id"):
        read_scanqa(_dump(tmp_path, "x2.json", [{"scene_id": "s", "question": "q"}]))


def test_scan2cap_fields_and_roundtrip(tmp_path: Path) -> None:
    """Ids become ints, whitespace in descriptions collapses, extra keys are ignored; the writer round-trips."""
    items = read_scan2cap(_dump(tmp_path, "ScanRefer_filtered_train.json", SCAN2CAP))
    assert items[0] == CaptionItem("scene0000_00", 8, "office_chair", "0",
                                   "this is a brown chair. it is in front of the desk.")
    assert items[1].ann_id == "1"
    write_scan2cap(items, tmp_path / "out.json")
    raw = json.loads((tmp_path / "out.json").read_text())
    assert raw[0]["object_id"] == "8" and set(raw[0]) == {"scene_id", "object_id", "object_name", "ann_id",
                                                          "description"}
    assert read_scan2cap(tmp_path / "out.json") == items


def test_scan2cap_errors(tmp_path: Path) -> None:
    """A non-integer object id or a missing description is an error naming the entry."""
    bad = [dict(SCAN2CAP[0], object_id="chair")]
    with pytest.raises(ValueError, match="not an integer"):
        read_scan2cap(_dump(tmp_path, "bad.json", bad))
    missing = [{k: v for k, v in SCAN2CAP[0].items() if k != "description"}]
    with pytest.raises(ValueError, match="description"):
        read_scan2cap(_dump(tmp_path, "missing.json", missing))
