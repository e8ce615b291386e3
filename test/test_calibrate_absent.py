"""Absent-gate calibration: the thresholds keep the shares they promise, and only the records they should count."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibrate_absent import is_absent_answer, thresholds


def records(presence: list[float], absent: bool, names_class: bool = True) -> list[dict]:
    return [{"presence": p, "absent": absent, "names_class": names_class} for p in presence]


def test_thresholds_keep_the_promised_shares():
    present = list(np.linspace(0.0, 1.0, 201))  # 0, 0.005, …: one value below 0.005
    absent = [0.0] * 98 + [0.5, 0.9]
    unnamed = records([0.0] * 50, absent=False, names_class=False)  # the gate never forces these: not counted
    found = thresholds(records(present, False) + records(absent, True) + unnamed, false_absent=0.005,
                       lost_absent=0.02)
    below, above = found["absent_below"], found["absent_above"]
    assert below == pytest.approx(0.005)
    assert np.mean(np.array(present) < below) <= 0.005
    assert np.mean(np.array(absent) > above) <= 0.02 and above == pytest.approx(0.01)
    stricter = thresholds(records(present, False) + records(absent, True), false_absent=0.0, lost_absent=0.0)
    assert stricter == {"absent_below": 0.0, "absent_above": 0.9}


def test_thresholds_need_both_kinds_of_question():
    with pytest.raises(ValueError, match="both present and absent"):
        thresholds(records([0.2, 0.4], absent=False), 0.01, 0.02)


def test_absent_answers_are_the_forms_the_gate_may_force():
    assert is_absent_answer("there is no sofa", "colour") and is_absent_answer("zero", "counting")
    assert is_absent_answer("no", "existence") and not is_absent_answer("no", "spatial_relation")
    assert not is_absent_answer("zero", "distance") and not is_absent_answer("red", "colour")
