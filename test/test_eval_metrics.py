"""EM / EM-R, Beacon3D Case/Obj, bootstrap CIs and the paired test on hand-checked inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leovl_ros.eval.metrics import (
    answer_scores,
    beacon3d_scores,
    bootstrap_ci,
    exact_match,
    is_yes_no,
    paired_test,
    refined_exact_match,
)


@pytest.mark.parametrize(
    ("pred", "refs", "em", "em_r"),
    [
        ("Chair.", ["chair"], True, True),
        ("the chair", ["A chair"], True, True),
        ("2", ["two"], True, True),
        ("brown wooden chair", ["chair"], False, True),  # reference inside prediction
        ("chair", ["brown chair"], False, True),  # prediction inside reference
        ("night stand", ["nightstand"], False, True),  # whitespace removed before the substring test
        ("tv stand", ["tvstand"], False, False),  # LEO quirk: "TV" is upper-cased only as a whole word
        ("table", ["chair", "sofa"], False, False),
        ("sofa", ["chair", "sofa"], True, True),  # any reference counts
        ("", ["chair"], False, False),  # project rule: empty prediction scores 0 (LEO: EM-R match)
        ("?!", ["chair"], False, False),  # empty after normalisation
        ("chair", [""], False, False),  # an empty reference never matches by substring
        ("chair", "chair", True, True),  # a single reference string
    ],
)
def test_answer_scores(pred: str, refs: list[str] | str, em: bool, em_r: bool) -> None:
    """EM and EM-R on hand-checked cases, including the empty-prediction rule."""
    assert answer_scores(pred, refs) == (em, em_r)
    assert exact_match(pred, refs) is em
    assert refined_exact_match(pred, refs) is em_r


def test_normalize_false_compares_raw_strings() -> None:
    """With normalize=False the inputs are compared as given (for already-normalised text)."""
    assert not exact_match("Chair", ["chair"], normalize=False)
    assert exact_match("chair", ["chair"], normalize=False)


def test_is_yes_no() -> None:
    """Yes/no questions are recognised from their normalised references."""
    assert is_yes_no(["Yes."]) and is_yes_no(["no"])
    assert not is_yes_no(["White"]) and not is_yes_no([])


def _beacon_records() -> list[dict]:
    """Two objects with three questions each: object 1 all right, object 2 one wrong."""
    return [
        {"question_id": "scene0001_00_1_0_appearance_0", "prediction": "white", "answers": ["White"]},
        {"question_id": "scene0001_00_1_1_spatial_0", "prediction": "yes, it is", "answers": ["Yes"]},
        {"question_id": "scene0001_00_1_2_class_0", "prediction": "Chair", "answers": ["chair"]},
        {"question_id": "scene0001_00_2_0_appearance_0", "prediction": "black", "answers": ["Black"]},
        {"question_id": "scene0001_00_2_1_geometry_0", "prediction": "larger table", "answers": ["Larger"]},
        {"question_id": "scene0001_00_2_2_existence_0", "prediction": "no", "answers": ["No"]},
    ]


def test_beacon3d_scores_without_judge() -> None:
    """EM-R counts for yes/no questions only; Case = (mean − 1)/4·100; Obj = objects with all questions ≥ 4."""
    result = beacon3d_scores(_beacon_records())
    # scores: 5, 5 (EM-R on yes/no), 5 | 5, 1 (EM-R only, not yes/no), 5 -> mean 26/6
    assert result["case"] == pytest.approx((26 / 6 - 1) / 4 * 100)
    assert result["obj"] == pytest.approx(50.0)
    assert result["n_objects"] == 2 and result["n_questions"] == 6


def test_beacon3d_scores_with_judge_and_object_ids() -> None:
    """Judge scores replace the fallback 1; objects can be given by scene_id + object_ids."""
    records = [dict(r, scene_id="scene0001_00", object_ids=[int(r["question_id"].split("_")[2])])
               for r in _beacon_records()]
    result = beacon3d_scores(records, judge_scores={"scene0001_00_2_1_geometry_0": 4})
    assert result["case"] == pytest.approx((29 / 6 - 1) / 4 * 100)
    assert result["obj"] == pytest.approx(100.0)


def test_bootstrap_ci_brackets_mean_and_is_seeded() -> None:
    """The CI contains the mean, shrinks with more data and repeats exactly with the same seed."""
    rng = np.random.default_rng(1)
    small = rng.random(50) < 0.6
    large = rng.random(5000) < 0.6
    mean, lo, hi = bootstrap_ci(small, n=500, seed=3)
    assert lo <= mean <= hi
    assert mean == pytest.approx(small.mean())
    assert bootstrap_ci(small, n=500, seed=3) == (mean, lo, hi)
    _, lo_l, hi_l = bootstrap_ci(large, n=500, seed=3)
    assert hi_l - lo_l < (hi - lo) / 4
    # binomial standard error check: the 95 % width is about 2 * 1.96 * sqrt(p(1-p)/n)
    expected = 2 * 1.96 * math.sqrt(0.24 / 5000)
    assert hi_l - lo_l == pytest.approx(expected, rel=0.2)


def test_bootstrap_ci_resamples_rows_together() -> None:
    """A statistic of paired columns (a ratio of medians, as the fusion benchmark's tokens) sees whole rows: with
    the first column exactly 3x the second every resample gives 3; noisy pairs give an interval around the ratio."""
    rng = np.random.default_rng(2)
    cfg = rng.integers(200, 400, size=11).astype(float)
    ratio_of_medians = lambda s: np.median(s[..., 0], axis=1) / np.median(s[..., 1], axis=1)  # noqa: E731
    assert bootstrap_ci(np.stack([3 * cfg, cfg], axis=1), n=300, statistic=ratio_of_medians) == (3.0, 3.0, 3.0)
    noisy = np.stack([cfg * rng.uniform(2.5, 3.5, size=11), cfg], axis=1)
    est, lo, hi = bootstrap_ci(noisy, n=300, statistic=ratio_of_medians)
    assert est == pytest.approx(np.median(noisy[:, 0]) / np.median(noisy[:, 1]))
    assert 2.5 <= lo < est < hi <= 3.5


def test_bootstrap_ci_constant_and_empty() -> None:
    """A constant sample has a zero-width interval; an empty one is an error."""
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_paired_test_exact_binomial() -> None:
    """0/1 scores: the exact sign-flip test equals the two-sided binomial (McNemar) p-value."""
    a = [1] * 10 + [0] * 90
    b = [0] * 10 + [0] * 90
    assert paired_test(a, b) == pytest.approx(2 * 0.5**10)
    a2 = [1] * 7 + [0] * 3 + [1] * 10
    b2 = [0] * 7 + [1] * 3 + [1] * 10
    # 7 wins, 3 losses out of 10 discordant pairs: P(|2B - 10| >= 4) = 2 * (1 + 10 + 45 + 120) / 1024
    assert paired_test(a2, b2) == pytest.approx(2 * 176 / 1024)
    assert paired_test(a2, a2) == 1.0
    # many discordant pairs (no float overflow): 5200 vs 4800 wins is z = 4 -> p ~ 6.3e-5 (normal approximation)
    big = np.r_[np.ones(5200), np.zeros(4800)]
    assert paired_test(big, 1 - big) == pytest.approx(6.3e-5, rel=0.1)


def test_paired_test_monte_carlo_detects_shift() -> None:
    """Real-valued scores: a clear shift gives a small p-value, no shift a large one."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=200)
    shifted = base + 0.5 + rng.normal(scale=0.3, size=200)
    noise = base + rng.normal(scale=0.3, size=200)
    assert paired_test(shifted, base, n=2000) < 0.01
    assert paired_test(noise, base, n=2000) > 0.05
    with pytest.raises(ValueError):
        paired_test([1, 2], [1])
