"""Beacon3D / SQA3D readers and writers on the real annotation files, and metrics on their real answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from leovl_ros.eval.metrics import answer_scores
from leovl_ros.eval.report import evaluate_qa
from leovl_ros.io.annotations import (
    BEACON3D_TYPES,
    QAItem,
    question_type_from_text,
    read_beacon3d_grounding,
    read_beacon3d_qa,
    read_sqa3d,
    sqa3d_question_type,
    write_beacon3d_grounding,
    write_beacon3d_qa,
    write_sqa3d,
)


@pytest.fixture(scope="module")
def annotations_dir(shared_data: Path) -> Path:
    """The real annotation folder of the shared data."""
    return shared_data / "annotations"


@pytest.fixture(scope="module")
def beacon(annotations_dir: Path) -> list[QAItem]:
    """Beacon3D ScanNet QA items."""
    return read_beacon3d_qa(annotations_dir / "beacon3d_scannet_qa.json")


@pytest.fixture(scope="module")
def sqa(annotations_dir: Path) -> list[QAItem]:
    """The SQA3D test sample, questions merged with annotations."""
    return read_sqa3d(annotations_dir / "sqa3d_test_questions_sample.json",
                      annotations_dir / "sqa3d_test_annotations_sample.json")


def _items_equal(a: QAItem, b: QAItem) -> bool:
    """Field-by-field equality that compares numpy arrays by value."""
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or not np.allclose(x, y):
                return False
        elif x != y:
            return False
    return True


def test_beacon3d_counts_and_types(beacon: list[QAItem]) -> None:
    """1155 questions over 16 scenes; every type is one of Beacon3D's, taken from the question id."""
    assert len(beacon) == 1155
    assert len({item.scene_id for item in beacon}) == 16
    assert {item.question_type for item in beacon} <= set(BEACON3D_TYPES)
    assert all(item.answers and item.object_ids and item.object_names for item in beacon)
    first = beacon[0]
    assert first.question_type == "appearance" and first.answers == ["White"] and first.object_ids == [27]


def test_text_rule_agrees_with_beacon3d_types(beacon: list[QAItem]) -> None:
    """The text-derived coarse type agrees with Beacon3D's own type on most questions."""
    agree = np.mean([question_type_from_text(item.question) == item.question_type for item in beacon])
    assert agree > 0.8


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many chairs are in the room?", "counting"),
        ("Is there a lamp on the desk?", "existence"),
        ("What color is the sofa?", "appearance"),
        ("Is the table larger than the desk?", "geometry"),
        ("What is left of the bed?", "class"),
        ("Where is the black laptop?", "spatial"),
        ("What is the object used for?", "functionality"),
        ("Describe the scene", "other"),
    ],
)
def test_question_type_from_text(question: str, expected: str) -> None:
    """The documented text rules on one example each."""
    assert question_type_from_text(question) == expected


def test_sqa3d_merge_pose_and_answers(sqa: list[QAItem]) -> None:
    """200 merged questions with unit quaternions, z = 0 positions, non-empty answers and situations."""
    assert len(sqa) == 200
    assert len({item.question_id for item in sqa}) == 200
    quats = np.stack([item.rotation_xyzw for item in sqa])
    assert np.allclose(np.linalg.norm(quats, axis=1), 1.0, atol=1e-6)
    positions = np.stack([item.position for item in sqa])
    assert np.all(positions[:, 2] == 0.0) and np.ptp(positions[:, 0]) > 0.5
    assert all(item.answers and all(a.strip() for a in item.answers) for item in sqa)
    assert all(item.situation for item in sqa)
    assert sum(len(item.alternative_situations) == 2 for item in sqa) == 196  # a few questions have fewer
    assert {item.question_type for item in sqa} <= {"what", "is", "how", "can", "which", "other"}
    first = sqa[0]
    assert first.question_id == 220602000002 and first.answers == ["piano"]
    assert first.rotation_xyzw[2] == pytest.approx(-0.9995736030415032)


def test_sqa3d_question_type() -> None:
    """LEO's SQA3D types by the first word."""
    assert sqa3d_question_type("What is in front of me?") == "what"
    assert sqa3d_question_type("  Is the door open?") == "is"
    assert sqa3d_question_type("Which way should I go?") == "which"
    assert sqa3d_question_type("Am I facing the bed?") == "other"


def test_grounding_keys(annotations_dir: Path) -> None:
    """The grounding file's own key names map onto GroundingItem; targets are integer lists."""
    items = read_beacon3d_grounding(annotations_dir / "beacon3d_scannet_grounding.json")
    assert len(items) == 1611
    assert items[0].scene_id == "scene0025_00" and items[0].target_ids == [27]
    assert items[1].target_ids == [29, 27]
    assert all(item.utterance and item.instance_type for item in items)


def test_round_trips(beacon: list[QAItem], sqa: list[QAItem], annotations_dir: Path, tmp_path: Path) -> None:
    """Writing then reading gives the same items, for all three formats."""
    write_beacon3d_qa(beacon, tmp_path / "qa.json")
    again = read_beacon3d_qa(tmp_path / "qa.json")
    assert len(again) == len(beacon) and all(_items_equal(a, b) for a, b in zip(beacon, again))
    write_sqa3d(sqa, tmp_path / "q.json", tmp_path / "a.json")
    again = read_sqa3d(tmp_path / "q.json", tmp_path / "a.json")
    assert len(again) == len(sqa) and all(_items_equal(a, b) for a, b in zip(sqa, again))
    grounding = read_beacon3d_grounding(annotations_dir / "beacon3d_scannet_grounding.json")
    write_beacon3d_grounding(grounding, tmp_path / "g.json")
    assert read_beacon3d_grounding(tmp_path / "g.json") == grounding
    raw = json.loads((tmp_path / "g.json").read_text())
    assert set(raw[0]) == {"item_id", "scan_id", "target_id", "instance_type", "utterance"}


def test_writers_keep_synthetic_types_and_reject_missing_pose(tmp_path: Path) -> None:
    """A project-written type survives a round trip; an SQA3D item without a pose is refused."""
    item = QAItem(question_id="s1_q0", scene_id="synth_0001", question="How many chairs?", answers=["3"],
                  question_type="counting", situation="I sit on the bed.", position=np.array([1.0, 2.0, 0.0]),
                  rotation_xyzw=np.array([0.0, 0.0, 0.0, 1.0]))
    write_sqa3d([item], tmp_path / "q.json", tmp_path / "a.json")
    assert read_sqa3d(tmp_path / "q.json", tmp_path / "a.json")[0].question_type == "counting"
    write_beacon3d_qa([item], tmp_path / "b.json")
    assert read_beacon3d_qa(tmp_path / "b.json")[0].question_type == "counting"
    with pytest.raises(ValueError, match="position"):
        write_sqa3d([QAItem("x", "s", "q?", ["a"])], tmp_path / "q2.json", tmp_path / "a2.json")


def test_reader_errors_are_clear(tmp_path: Path) -> None:
    """Malformed files raise ValueError naming the file and the problem."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        read_beacon3d_qa(bad)
    bad.write_text(json.dumps([{"question_id": "q", "scene_id": "s"}]))
    with pytest.raises(ValueError, match="missing keys"):
        read_beacon3d_qa(bad)


def test_references_match_themselves(beacon: list[QAItem], sqa: list[QAItem]) -> None:
    """Every real reference answer scores EM = 1 against itself after normalisation."""
    for item in beacon + sqa:
        for answer in item.answers:
            assert answer_scores(answer, item.answers) == (True, True), answer


def test_shuffled_answers_baseline_scores_low(beacon: list[QAItem], sqa: list[QAItem]) -> None:
    """Answers shuffled across questions score far below the true answers (the metric discriminates)."""
    for items in (beacon, sqa):
        answers = [item.answers[0] for item in items]
        random.Random(0).shuffle(answers)
        records = [{"question_id": it.question_id, "question_type": it.question_type, "answers": it.answers,
                    "prediction": pred} for it, pred in zip(items, answers)]
        report = evaluate_qa(records, n_boot=200)
        truth = evaluate_qa([dict(r, prediction=it.answers[0]) for r, it in zip(records, items)], n_boot=200)
        assert truth["em"] == pytest.approx(100.0)
        assert report["em"] < 30.0 and report["ci"]["em"][1] < 40.0
