"""Explicit cases of the ROS-free validation: intrinsics, sizes, depth rules, poses, stamps, questions, sessions."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.agent.validation import (
    COLOUR_ENCODINGS,
    Reason,
    check_depth,
    check_image_fields,
    check_intrinsics,
    check_pose_matrix,
    check_question,
    check_same_size,
    check_session_id,
    check_stamp_order,
    check_translation,
)
from leovl_ros.geometry.frame import valid_depth_mask

K = [525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(("k", "info_hw", "reason"), [
    (K, (480, 640), None),
    (K, (0, 0), None),
    ([0.0] * 9, (480, 640), Reason.CAMERA_INFO),
    ([float("nan")] + K[1:], (480, 640), Reason.CAMERA_INFO),
    ([-525.0] + K[1:], (480, 640), Reason.CAMERA_INFO),
    (K[:8], (480, 640), Reason.CAMERA_INFO),
    (K[:8] + [2.0], (480, 640), Reason.CAMERA_INFO),
    (K[:2] + [900.0] + K[3:], (480, 640), Reason.CAMERA_INFO),
    (K, (240, 320), Reason.SIZE),
])
def test_intrinsics(k, info_hw, reason) -> None:
    result = check_intrinsics(k, info_hw, (480, 640))
    assert (result.reason if result else None) == reason


def test_image_fields_and_sizes() -> None:
    assert check_image_fields("rgb8", 640, 480, 1920, 1920 * 480, COLOUR_ENCODINGS) is None
    assert check_image_fields("rgb8", 640, 480, 2048, 2048 * 480, COLOUR_ENCODINGS) is None  # padded rows
    assert check_image_fields("rgb8", 640, 480, 1919, 1919 * 480, COLOUR_ENCODINGS).reason == Reason.SIZE
    assert check_image_fields("yuv422", 640, 480, 1280, 1280 * 480, COLOUR_ENCODINGS).reason == Reason.ENCODING
    assert check_same_size((480, 640), (480, 640)) is None
    assert check_same_size((480, 640), (240, 320)).reason == Reason.SIZE


def test_depth_rules() -> None:
    d = np.array([[0.0, np.nan, np.inf, -np.inf], [-1.0, 0.05, 2.0, 9.0]], np.float32)
    mask = valid_depth_mask(d, 0.1, 8.0)
    assert mask.tolist() == [[False] * 4, [False, False, True, False]]
    cleaned, rejection = check_depth(d, 0.1, 8.0, max_invalid_fraction=0.9)
    assert rejection is None and cleaned[1, 2] == 2.0 and np.count_nonzero(cleaned) == 1
    _, rejection = check_depth(d, 0.1, 8.0, max_invalid_fraction=0.5)
    assert rejection.reason == Reason.DEPTH_INVALID and "87.5%" in rejection.detail
    _, rejection = check_depth(np.full((3, 3), np.nan, np.float32), 0.1, 8.0, 1.0)
    assert rejection.reason == Reason.DEPTH_INVALID and "all 9" in rejection.detail


def test_pose_and_stamps() -> None:
    assert check_pose_matrix(np.eye(4)) is None
    flip = np.diag([1.0, 1.0, -1.0, 1.0])
    assert "determinant" in check_pose_matrix(flip).detail
    assert check_translation(1.0, 2.0, 3.0) is None and check_translation(1e9, 0, 0) is not None
    assert check_stamp_order(10, None) is None and check_stamp_order(11, 10) is None
    assert check_stamp_order(10, 10).reason == Reason.OUT_OF_ORDER


@pytest.mark.parametrize(("question", "reason"), [
    ("how many chairs are in the room?", None),
    ("Wie viele Stühle? 椅子は何脚?", None),
    ("", Reason.QUESTION_EMPTY),
    ("   \n\t", Reason.QUESTION_EMPTY),
    ("x" * 10_000, Reason.QUESTION_TOO_LONG),
    (b"\xff\xfe\x00chairs", Reason.QUESTION_ENCODING),
    ("chairs\x00\x01", Reason.QUESTION_ENCODING),
    ("what is \ufffd this", Reason.QUESTION_ENCODING),
    (b"where is the lamp?", None),
])
def test_questions(question, reason) -> None:
    result = check_question(question, max_chars=1000)
    assert (result.reason if result else None) == reason


def test_session_ids() -> None:
    assert check_session_id("") is None and check_session_id("robot-1:kitchen") is None
    assert check_session_id("a" * 65).reason == Reason.SESSION_INVALID
    assert check_session_id("bad id").reason == Reason.SESSION_INVALID
