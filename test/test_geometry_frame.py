"""The Frame type validates shapes and masks invalid depth per pixel (0, NaN, ±Inf, out of range)."""

from __future__ import annotations

import numpy as np
import pytest

from leovl_ros.geometry import Frame


def _frame(depth: np.ndarray) -> Frame:
    h, w = depth.shape
    return Frame(rgb=np.zeros((h, w, 3), np.uint8), depth=depth, K=np.eye(3), pose=np.eye(4))


def test_valid_depth_mask_rejects_each_invalid_kind() -> None:
    depth = np.array([[0.0, np.nan, np.inf, -np.inf], [-1.0, 0.05, 2.0, 12.0]], np.float32)
    mask = _frame(depth).valid_depth_mask(min_depth=0.1, max_depth=10.0)
    assert mask.tolist() == [[False, False, False, False], [False, False, True, False]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rgb": np.zeros((4, 4), np.uint8)}, "rgb"),
        ({"rgb": np.zeros((4, 4, 3), np.float32)}, "rgb"),
        ({"depth": np.zeros((3, 4), np.float32)}, "depth"),
        ({"K": np.eye(4)}, "K"),
        ({"pose": np.eye(3)}, "pose"),
        ({"instance": np.zeros((2, 2), np.int32)}, "instance"),
    ],
)
def test_malformed_frames_raise_clear_errors(kwargs: dict, message: str) -> None:
    base = {"rgb": np.zeros((4, 4, 3), np.uint8), "depth": np.ones((4, 4), np.float32), "K": np.eye(3),
            "pose": np.eye(4)}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Frame(**base)
