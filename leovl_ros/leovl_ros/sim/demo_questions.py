"""The demo's question script: ground-truth questions about the objects a rendered camera path saw.

"Seen" follows training's rule (:class:`~leovl_ros.sim.render.Visibility` on every
:data:`~leovl_ros.sim.render.TRAINING_STRIDE`-th pixel, any pixel in any frame), so the demo asks about exactly
the objects a model trained here would have been asked about after the same walk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from leovl_ros.sim.scene import Scene
from leovl_ros.sim.tasks import Sample, TaskConfig, generate_samples

DEMO_QA_ORDER: tuple[str, ...] = (
    "counting", "colour", "spatial_relation", "existence", "nearest", "class", "size", "distance", "farthest",
)
"""Plain QA types in the order the demo asks them (one each)."""

DEMO_SITUATED = 2
"""Situated questions the demo asks after the plain ones."""


def seen_along(scene: Scene, poses: np.ndarray | Sequence[np.ndarray], K: np.ndarray, width: int, height: int
               ) -> set[int]:
    """Ids of the objects a camera following ``poses`` ([T, 4, 4] optical camera-to-world) sees, by training's rule.

    Renders every pose (occlusion included) and keeps objects with any pixel on the training stride grid.
    """
    from leovl_ros.sim.render import TRAINING_STRIDE, Renderer, Visibility

    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 4, 4)
    if len(poses) == 0:
        return set()
    renderer = Renderer(scene, width, height, K)
    visibility = Visibility(stride=TRAINING_STRIDE)
    for pose in poses:
        visibility.add(renderer.render(pose))
    return visibility.seen(min_pixels=1)


def demo_script(samples: list[Sample], limit: int) -> list[Sample]:
    """One plain QA sample per :data:`DEMO_QA_ORDER` type, :data:`DEMO_SITUATED` situated ones, then one dialogue.

    The dialogue sample comes last and carries its earlier turns in ``history``; every history turn counts
    against ``limit`` like a question, so asking the history turns and then the sample asks at most ``limit``.
    """
    first: dict[str, Sample] = {}
    for s in samples:
        if s.task == "qa":
            first.setdefault(s.question_type, s)
    chosen = [first[t] for t in DEMO_QA_ORDER if t in first]
    chosen += [s for s in samples if s.task == "situated_qa"][:DEMO_SITUATED]
    dialogue = next((s for s in samples if s.task == "dialogue" and s.history), None)
    budget = max(0, limit - len(dialogue.history) - 1) if dialogue is not None else limit
    chosen = chosen[:budget]
    if dialogue is not None and len(dialogue.history) + 1 <= limit:
        chosen.append(dialogue)
    return chosen


def select_demo_questions(scene: Scene, poses: np.ndarray | Sequence[np.ndarray], K: np.ndarray, width: int,
                          height: int, seed: int, limit: int, unseen_wordings: int = 4,
                          seen: set[int] | None = None) -> list[Sample]:
    """The demo's questions about what a camera following ``poses`` saw, in asking order (see :func:`demo_script`).

    ``seed`` seeds the task generator (same scene, poses and seed → same questions). The first
    ``unseen_wordings`` plain/situated questions are asked in held-out wordings (phrasing families training never
    uses, ``sample.wording == "unseen"``); the others in training wordings. A dialogue sample, when present, is
    last: ask its ``history`` questions in one session first, then its own question. ``seen``: the result of
    :func:`seen_along` for these poses when the caller has it already (it renders every pose).
    """
    if seen is None:
        seen = seen_along(scene, poses, K, width, height)
    script = demo_script(generate_samples(scene, seed, seen_objects=seen), limit)
    if unseen_wordings <= 0:
        return script
    # Same scene, rng and visibility → the same facts and question ids, worded with held-out families.
    unseen = {s.question_id: s for s in generate_samples(scene, seed, TaskConfig(wording="unseen"), seen)}
    out, swapped = [], 0
    for s in script:
        if swapped < unseen_wordings and s.task in ("qa", "situated_qa") and s.question_id in unseen:
            out.append(unseen[s.question_id])
            swapped += 1
        else:
            out.append(s)
    return out
