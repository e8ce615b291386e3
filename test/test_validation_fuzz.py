"""Hypothesis fuzzing of the ROS-free input validation (5 properties × 2100 examples = 10.5k cases).

Each property states what the check must return for *any* input (never raise) against an independent oracle.
"""

from __future__ import annotations

import math
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leovl_ros.agent.validation import (
    COLOUR_ENCODINGS,
    DEPTH_ENCODINGS,
    Reason,
    check_depth,
    check_frame_age,
    check_image_fields,
    check_pose_age,
    check_pose_matrix,
    check_quaternion,
    check_question,
    check_stamp_order,
)
from leovl_ros.geometry.transforms import quat_xyzw_to_matrix

FUZZ = settings(max_examples=2100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENCODINGS = {**COLOUR_ENCODINGS, **DEPTH_ENCODINGS}


@FUZZ
@given(encoding=st.one_of(st.sampled_from(sorted(ENCODINGS)), st.text(max_size=8)),
       width=st.integers(-2, 4000), height=st.integers(-2, 3000), pad=st.integers(-16, 64),
       extra=st.sampled_from([0, 0, 0, -1, 1, -100]))
def test_image_fields(encoding: str, width: int, height: int, pad: int, extra: int) -> None:
    """Accepted iff known encoding, positive size, step ≥ row bytes and data = step·height."""
    bpp = ENCODINGS[encoding][0] * ENCODINGS[encoding][1] if encoding in ENCODINGS else 1
    step = max(width, 0) * bpp + pad
    data_len = step * max(height, 0) + extra
    result = check_image_fields(encoding, width, height, step, data_len, ENCODINGS)
    ok = encoding in ENCODINGS and width > 0 and height > 0 and pad >= 0 and extra == 0
    assert (result is None) == ok, (result, encoding, width, height, pad, extra)
    if result is not None:
        expected = Reason.ENCODING if encoding not in ENCODINGS else Reason.SIZE
        assert result.reason == expected


depth_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                         st.sampled_from([0.0, -0.0, -1.0, float("nan"), float("inf"), -float("inf"), 0.05, 9.0]),
                         st.floats(0.125, 8.0, width=32))


@FUZZ
@given(values=st.lists(depth_values, min_size=1, max_size=36), rows=st.integers(1, 6),
       lo=st.floats(0.0, 1.0), span=st.floats(0.5, 10.0), max_invalid=st.floats(0.0, 1.0))
def test_depth_masking(values: list, rows: int, lo: float, span: float, max_invalid: float) -> None:
    """Masked pixels are exactly the invalid ones (set to 0); rejection iff all invalid or share above limit."""
    cols = max(1, len(values) // rows)
    depth = np.resize(np.array(values, np.float32), (rows, cols))
    hi = lo + span
    cleaned, rejection = check_depth(depth, lo, hi, max_invalid)
    d = depth.astype(np.float64)
    finite = np.isfinite(d)
    safe = np.where(finite, d, -1.0)
    valid = finite & (safe > 0) & (safe >= np.float32(lo)) & (safe <= np.float32(hi))
    assert cleaned.shape == depth.shape and cleaned.dtype == np.float32
    assert np.all(cleaned[~valid] == 0) and np.array_equal(cleaned[valid], depth[valid])
    assert np.all(np.isfinite(cleaned)) and np.all(cleaned >= 0)
    invalid_share = 1.0 - valid.mean()
    should_reject = not valid.any() or invalid_share > max_invalid
    assert (rejection is not None) == should_reject
    if rejection is not None:
        assert rejection.reason == Reason.DEPTH_INVALID


quaternions = st.tuples(*[st.floats(-1.0, 1.0)] * 4).filter(lambda q: sum(v * v for v in q) > 1e-3)


@FUZZ
@given(q=quaternions, t=st.tuples(*[st.floats(-100, 100)] * 3),
       defect=st.sampled_from(["none", "nan", "inf", "scale", "reflect", "shear", "last_row", "shape"]),
       amount=st.floats(0.01, 10.0))
def test_pose_matrix(q: tuple, t: tuple, defect: str, amount: float) -> None:
    """Any rotation + translation is accepted; each defect (non-finite, non-orthonormal, reflection) rejected."""
    T = np.eye(4)
    T[:3, :3] = quat_xyzw_to_matrix(q)
    T[:3, 3] = t
    if defect == "nan":
        T[int(amount) % 3, 1] = np.nan
    elif defect == "inf":
        T[1, 3] = np.inf
    elif defect == "scale":
        T[:3, :3] *= 1.0 + amount
    elif defect == "reflect":
        T[:3, 0] *= -1.0
    elif defect == "shear":
        T[0, 1] += amount
    elif defect == "last_row":
        T[3, 0] = amount
    elif defect == "shape":
        T = T[:3]
    result = check_pose_matrix(T)
    assert (result is None) == (defect == "none"), (defect, result)
    if result is not None:
        assert result.reason == Reason.POSE_INVALID


@FUZZ
@given(q=st.tuples(*[st.one_of(st.floats(-2, 2), st.sampled_from([float("nan"), float("inf")]))] * 4),
       stamp=st.integers(0, 2**62), last=st.one_of(st.none(), st.integers(0, 2**62)),
       other=st.integers(0, 2**62), age=st.floats(0.0, 100.0))
def test_quaternion_and_stamps(q: tuple, stamp: int, last, other: int, age: float) -> None:
    """Unit quaternions only; stamps strictly increasing; ages against the limit in either direction."""
    res = check_quaternion(*q)
    finite = all(math.isfinite(v) for v in q)
    unit = finite and abs(math.sqrt(sum(v * v for v in q)) - 1.0) <= 1e-2
    assert (res is None) == unit
    order = check_stamp_order(stamp, last)
    assert (order is None) == (last is None or stamp > last)
    pose_age = check_pose_age(other, stamp, age)
    assert (pose_age is None) == (abs(other - stamp) * 1e-9 <= age)
    frame_age = check_frame_age(stamp, other, age)
    assert (frame_age is None) == (age <= 0 or (other - stamp) * 1e-9 <= age)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300), st.just(" \t\n"), st.just("x" * 1001),
                      st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50)))
def test_question(text) -> None:
    """Never raises; blank → empty, > 1000 chars → too long, undecodable/control chars → encoding."""
    result = check_question(text, max_chars=1000)
    if isinstance(text, bytes):
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            assert result is not None and result.reason == Reason.QUESTION_ENCODING
            return
    else:
        decoded = text
    if not decoded.strip():
        assert result is not None and result.reason == Reason.QUESTION_EMPTY
    elif len(decoded) > 1000:
        assert result is not None and result.reason == Reason.QUESTION_TOO_LONG
    elif result is not None:
        assert result.reason == Reason.QUESTION_ENCODING
        assert any((not c.isprintable() and c not in "\t\n\r") or c == "\ufffd" for c in decoded)
    else:
        forbidden = [c for c in decoded if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 0x7F
                     or 0xD800 <= ord(c) <= 0xDFFF or c == "\ufffd"]
        assert not forbidden


@FUZZ
@given(text=st.one_of(st.text(max_size=300),
                      st.lists(st.sampled_from(["the", "keys", "sofa", "man-made", "asdf", "?", "toy", "box", " ",
                                                "my", "tv", "remote", "-", "bedside table", "cats"]),
                               max_size=12).map(" ".join)))
def test_question_scope(text: str) -> None:
    """Never raises; a refusal is one of the two scope reasons and names what it refuses."""
    from leovl_ros.agent.question_scope import check_question_scope, other_objects_named, task_words

    result = check_question_scope(text, task_words())
    named = other_objects_named(text)
    if named:
        assert result is not None and result.reason == Reason.QUESTION_UNKNOWN_OBJECT
        assert all(f"'{n}'" in result.detail for n in named)
    elif result is not None:
        assert result.reason == Reason.QUESTION_UNKNOWN_WORDS
        assert not any(w in task_words() for w in re.findall(r"[a-z]+", text.lower()))
