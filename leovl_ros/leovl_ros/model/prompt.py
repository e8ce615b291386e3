"""Prompt assembly: system text around the scene tokens (the cacheable prefix), then situation, history, question."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
from transformers import PreTrainedTokenizerBase

from leovl_ros.model.config import PromptConfig

History = Sequence[tuple[str, str]]


@dataclass
class PromptIds:
    """Token ids of one prompt, split where the scene embeddings go and where the answer starts."""

    before_scene: list[int]
    """BOS + system text up to the scene placeholder."""
    after_scene: list[int]
    """System text after the placeholder (still part of the cached scene prefix)."""
    query: list[int]
    """Situation, history and question, ending with 'answer:'."""
    question_start: int = 0
    """Index in ``query`` where the current question (' question: … answer:') begins."""
    pose: Optional[tuple[float, float, float]] = None
    """The situation pose as map-frame (x, y, yaw), or None (not situated): what the text says, as numbers."""
    question: str = ""
    """The current question's text (what the question encoder reads)."""


def yaw_from_quaternion(q_xyzw: Sequence[float]) -> float:
    """Heading (rotation about world z, radians) of an x,y,z,w quaternion."""
    x, y, z, w = (float(v) for v in q_xyzw)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def planar_pose(pose: object) -> tuple[float, float, float]:
    """Map-frame (x, y, yaw) of a 4×4 body-to-map matrix (x forward), a 7-vector x,y,z,qx,qy,qz,qw, or
    (position, quaternion xyzw)."""
    if isinstance(pose, (tuple, list)) and len(pose) == 2:
        pos, yaw = np.asarray(pose[0], float), yaw_from_quaternion(pose[1])
    else:
        arr = np.asarray(pose, dtype=float)
        if arr.shape == (4, 4):
            pos, yaw = arr[:3, 3], math.atan2(arr[1, 0], arr[0, 0])
        elif arr.shape == (7,):
            pos, yaw = arr[:3], yaw_from_quaternion(arr[3:])
        else:
            raise ValueError(f"situation pose must be 4×4, 7-vector or (position, quaternion), got {arr.shape}")
    return float(pos[0]), float(pos[1]), yaw


def pose_text(pose: object) -> str:
    """Agent pose as short text: 'at x 1.5 y 2.0 facing 90 degrees' (0.5 m / 45° steps, z-up map frame); the
    pose as :func:`planar_pose` accepts it."""
    x, y, yaw = planar_pose(pose)
    deg = int(round(math.degrees(yaw) / 45.0) * 45) % 360
    return f"at x {round(x * 2) / 2:g} y {round(y * 2) / 2:g} facing {deg} degrees"


def query_parts(
    question: str, situation_text: str = "", situation_pose: object = None, history: Optional[History] = None
) -> tuple[str, str]:
    """The per-question part of the prompt (after the cached scene prefix): context (situation, history) and the
    current question."""
    parts = []
    situation = (situation_text or "").strip()
    if situation_pose is not None:
        situation = f"{situation} {pose_text(situation_pose)}".strip()
    if situation:
        parts.append(f" situation: {situation}")
    for q, a in history or ():
        parts.append(f" question: {q.strip()} answer: {a.strip()}")
    return "".join(parts), f" question: {question.strip()} answer:"


def build_prompt(
    tokenizer: PreTrainedTokenizerBase,
    config: PromptConfig,
    question: str,
    situation_text: str = "",
    situation_pose: object = None,
    history: Optional[History] = None,
) -> PromptIds:
    """Tokenise the prompt into the scene prefix parts and the query (history cut to ``config.max_history``)."""
    before, sep, after = config.system.partition(config.scene_placeholder)
    if not sep:
        raise ValueError(f"prompt system text lacks the scene placeholder {config.scene_placeholder!r}")
    hist = list(history or ())[-config.max_history :] if config.max_history > 0 else []
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    enc = lambda s: tokenizer(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    context, current = query_parts(question, situation_text, situation_pose, hist)
    context_ids = enc(context) if context else []
    return PromptIds(
        before_scene=bos + enc(before),
        after_scene=enc(after),
        query=context_ids + enc(current),
        question_start=len(context_ids),
        pose=planar_pose(situation_pose) if situation_pose is not None else None,
        question=question.strip(),
    )


def answer_ids(tokenizer: PreTrainedTokenizerBase, answer: str) -> list[int]:
    """Target ids of an answer: ' answer' + EOS."""
    return tokenizer(" " + answer.strip(), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
