"""The absent-object figures of training/evaluate.py on records whose answers are known."""

from __future__ import annotations

import sys

import pytest

from leovl_ros.agent.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

from training.evaluate import absent_scores


def _r(qtype: str, gold: str, pred: str) -> dict:
    return {"question_type": qtype, "answers": [gold], "prediction": pred}


def test_absent_em_and_false_absent() -> None:
    records = [
        _r("colour", "there is no sofa", "there is no sofa"),  # absent, right
        _r("colour", "there is no sofa", "there is no bed"),  # absent, wrong class
        _r("counting", "zero", "Zero."),  # absent, right after normalisation
        _r("spatial_relation", "there is no lamp", "table"),  # absent, answered as present
        _r("colour", "red", "there is no chair"),  # present, answered absent: false absent
        _r("counting", "two", "zero"),  # present, answered absent: false absent
        _r("counting", "one", "one"),  # present, right
        _r("spatial_relation", "desk", "desk"),  # present, right
        _r("existence", "no", "no"),  # not a type with absent questions: not counted
    ]
    got = absent_scores(records)
    assert got["n"] == 4 and got["em"] == pytest.approx(50.0)
    assert got["n_present"] == 4 and got["false_absent"] == pytest.approx(50.0)


def test_no_absent_questions() -> None:
    assert absent_scores([_r("class", "chair", "chair")]) == {"em": 0.0, "n": 0, "false_absent": 0.0, "n_present": 0}


def test_says_absent_reads_raw_answers_as_the_evaluator_cleans_them():
    from leovl_ros.eval.normalize import says_absent
    from leovl_ros.sim.tasks.qa import absent_answer

    assert says_absent(absent_answer("sofa")) and says_absent("There is no TV.")
    assert says_absent("zero", "counting") and not says_absent("zero", "colour") and not says_absent("zero")
    assert not says_absent("the chair is there") and not says_absent("no")


def test_presence_scores_over_known_pairs() -> None:
    from training.evaluate import presence_scores

    records = [{"scene_id": "a", "logits": [3.0, -2.0, 1.0, 9.0], "labels": [1, 0, 1, -1]},  # unknown 4th left out
               {"scene_id": "b", "logits": [-1.0, 0.5, 2.0, -9.0], "labels": [0, 0, 1, -1]}]
    out = presence_scores(records)
    assert out["n"] == 6 and out["present_share"] == pytest.approx(50.0)
    assert out["accuracy"] == pytest.approx(100 * 5 / 6)  # the absent 0.5 is called present
    assert out["auc"] == pytest.approx(1.0)  # every present logit (1, 2, 3) above every absent one (-2, -1, 0.5)
    assert out["absent_found_at_2pct_false_absent"] == pytest.approx(100.0)
    assert presence_scores([{"scene_id": "c", "logits": [1.0], "labels": [1]}]) == {"n": 1}
